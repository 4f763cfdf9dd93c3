"""Use cases of preview runs: start one, send it to the workers, execute it, store answers.

A run snapshots the address and the lines, grouped by supplier, in one transaction. After
commit it is sent to the broker, once: the send is claimed in the database first. If the
broker is down it stays queued and unsent, and the workers' recovery schedule sends it
later (`dispatch_waiting_runs`, see recovery.py). One delivery at a time executes a run
(claimed with an owner token, kept alive by a heartbeat); it calls the gateway for every
supplier at once and stores each answer under a lock, so nothing is stored twice. Writes
after the calls survive a dropped database connection: they are retried.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from django.conf import settings
from django.db import (
    DatabaseError,
    IntegrityError,
    InterfaceError,
    OperationalError,
    connection,
    transaction,
)
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from . import failures, gateway
from .models import (
    CartLine,
    PreviewLine,
    PreviewPromotion,
    PreviewRecord,
    PreviewRun,
    ShippingAddress,
    SupplierPreview,
)
from .money import yuan_to_fen
from .validators import shorten  # gateway text past its column: cut with a visible “…”

logger = logging.getLogger(__name__)

ADDRESS_FIELDS = (
    "full_name", "mobile", "phone", "post_code", "province_text", "city_text",
    "area_text", "town_text", "address", "district_code",
)  # fmt: skip


# --------------------------------------------------------------------------- starting


def snapshot_address(address: ShippingAddress) -> dict:
    """The address as the run will send it; the phone falls back to the mobile number."""
    snapshot = {field: getattr(address, field) for field in ADDRESS_FIELDS}
    snapshot["phone"] = snapshot["phone"] or snapshot["mobile"]
    snapshot["label"] = address.label
    return snapshot


def missing_address_fields(snapshot: dict) -> list[str]:
    return [field for field in ADDRESS_FIELDS if not str(snapshot.get(field) or "").strip()]


def group_lines(lines: Sequence[CartLine]) -> list[tuple[int | None, str, list[dict]]]:
    """Lines grouped by supplier as (supplier id, name, requested lines), by supplier name."""
    groups: dict[int, tuple[str, list[dict]]] = {}
    for line in sorted(lines, key=lambda item: (item.supplier.name, item.offer_id, item.spec_id)):
        _name, requested = groups.setdefault(line.supplier_id, (line.supplier.name, []))
        requested.append(
            {
                "offer_id": line.offer_id,
                "spec_id": line.spec_id,
                "quantity": line.quantity,
                "title": line.title,
            }
        )
    return [(supplier_id, name, requested) for supplier_id, (name, requested) in groups.items()]


def request_fingerprint(address_snapshot: dict, groups) -> str:
    """What a run asked, as a hash: the same address and lines give the same fingerprint."""
    asked = {
        "address": {field: address_snapshot.get(field, "") for field in ADDRESS_FIELDS},
        "lines": sorted(
            (line["offer_id"], line["spec_id"], line["quantity"])
            for _supplier_id, _name, requested in groups
            for line in requested
        ),
    }
    return hashlib.sha256(json.dumps(asked, sort_keys=True).encode()).hexdigest()


def start_preview(
    *,
    owner,
    address: ShippingAddress,
    lines: Sequence[CartLine],
    flow: str,
    submission_token: uuid.UUID,
    address_group: uuid.UUID | None = None,
) -> tuple[PreviewRun, bool]:
    """Create a run from the cart in one transaction and send it after commit.

    The same `submission_token` twice (a double click, a resubmitted form) returns the
    first run and False.
    """
    return _create_run(
        owner=owner,
        address=address,
        address_snapshot=snapshot_address(address),
        groups=group_lines(lines),
        flow=flow,
        submission_token=submission_token,
        address_group=address_group,
    )


def start_address_comparison(
    *,
    owner,
    addresses: Sequence[ShippingAddress],
    lines: Sequence[CartLine],
    flow: str,
    submission_token: uuid.UUID,
) -> uuid.UUID:
    """One run per address for the same lines, grouped to be shown side by side.

    The submission token names the group, so a resubmitted form starts nothing new.
    """
    for index, address in enumerate(addresses):
        start_preview(
            owner=owner,
            address=address,
            lines=lines,
            flow=flow,
            submission_token=uuid.uuid5(submission_token, str(index)),
            address_group=submission_token,
        )
    return submission_token


def rerun(*, run: PreviewRun, submission_token: uuid.UUID) -> tuple[PreviewRun, bool]:
    """A new run asking exactly what `run` asked: same address snapshot, lines and flow."""
    groups = [
        (s.supplier_id, s.supplier_name, s.requested_lines)
        for s in run.suppliers.order_by("position")
    ]
    return _create_run(
        owner=run.owner,
        address=run.address,
        address_snapshot=run.address_snapshot,
        groups=groups,
        flow=run.flow,
        submission_token=submission_token,
        rerun_of=run,
    )


def _create_run(
    *,
    owner,
    address,
    address_snapshot,
    groups,
    flow,
    submission_token,
    rerun_of=None,
    address_group=None,
):
    if not groups:
        raise ValueError("a preview run needs at least one line")
    try:
        with transaction.atomic():
            run = PreviewRun.objects.create(
                owner=owner,
                address=address,
                address_snapshot=address_snapshot,
                flow=flow,
                submission_token=submission_token,
                rerun_of=rerun_of,
                address_group=address_group,
                fingerprint=request_fingerprint(address_snapshot, groups),
            )
            SupplierPreview.objects.bulk_create(
                SupplierPreview(
                    run=run,
                    position=position,
                    supplier_id=supplier_id,
                    supplier_name=name,
                    requested_lines=requested,
                )
                for position, (supplier_id, name, requested) in enumerate(groups)
            )
            transaction.on_commit(lambda: dispatch_run(run_id=run.pk))
    except IntegrityError:
        existing = PreviewRun.objects.filter(owner=owner, submission_token=submission_token).first()
        if existing is None:
            raise
        return existing, False
    return run, True


# --------------------------------------------------------------------------- dispatching


def dispatch_run(*, run_id: int) -> bool:
    """Send a queued run to the workers once, however many callers try at the same moment.

    The send is claimed first by a conditional UPDATE (queued and not yet sent): of
    concurrent callers exactly one publishes the task. If the broker cannot be reached the
    claim is given back, so the run stays waiting for the recovery schedule. Returns False
    only then; True when the run is sent (by this call or an earlier one) or not waiting.
    """
    from .tasks import execute_preview_run

    claimed_at = timezone.now()
    claimed = PreviewRun.objects.filter(
        pk=run_id, status=PreviewRun.Status.QUEUED, dispatched_at__isnull=True
    ).update(dispatched_at=claimed_at)
    if not claimed:
        return True
    try:
        execute_preview_run.apply_async(args=[run_id], retry=False)
    except Exception as problem:  # kombu raises several kinds when the broker is away
        logger.warning("run %s not sent, the broker is unreachable: %s", run_id, problem)
        PreviewRun.objects.filter(pk=run_id, dispatched_at=claimed_at).update(dispatched_at=None)
        return False
    return True


def dispatch_waiting_runs(*, older_than: timedelta = timedelta(seconds=3)) -> int:
    """Send the runs that were saved while the broker was down. Returns how many went.

    Runs younger than `older_than` are left to the request that saved them.
    """
    waiting = PreviewRun.objects.filter(
        status=PreviewRun.Status.QUEUED,
        dispatched_at__isnull=True,
        created_at__lte=timezone.now() - older_than,
    ).order_by("created_at", "pk")
    sent = 0
    for run_id in waiting.values_list("pk", flat=True):
        if not dispatch_run(run_id=run_id):
            break
        sent += 1
    return sent


# --------------------------------------------------------------------------- executing


def gateway_config() -> gateway.GatewayConfig:
    """The gateway settings of this deployment; credentials are read here, in the worker."""
    return gateway.GatewayConfig(
        base_url=settings.DAJI_API_URL,
        app_key=settings.DAJI_APP_KEY,
        app_secret=settings.DAJI_APP_SECRET,
        connect_timeout=settings.DAJI_CONNECT_TIMEOUT,
        read_timeout=settings.DAJI_READ_TIMEOUT,
        call_deadline=settings.DAJI_CALL_DEADLINE,
        max_attempts=settings.DAJI_MAX_ATTEMPTS,
        retry_budget=settings.DAJI_RETRY_BUDGET,
    )


def address_param(snapshot: dict) -> gateway.Address:
    return gateway.Address(**{field: snapshot.get(field, "") for field in ADDRESS_FIELDS})


def execute_run(*, run_id: int, config: gateway.GatewayConfig | None = None) -> None:
    """Preview every supplier of a run that has no answer yet, all at once, and finish it.

    Safe to deliver twice: only the delivery that claims the queued run executes it (a
    duplicate exits without calling the gateway), a finished run is left alone, and a
    supplier already answered is not asked again. Database writes are retried when the
    connection drops, so a run whose answers are stored ends done.
    """
    token = f"{socket.gethostname()}/{os.getpid()}/{uuid.uuid4().hex[:12]}"
    if not with_database_retry(lambda: claim_run(run_id=run_id, token=token), "claim"):
        logger.info("run %s is finished, gone or executed by another delivery: skipped", run_id)
        return
    run = with_database_retry(lambda: PreviewRun.objects.get(pk=run_id), "read the run")
    pending = with_database_retry(
        lambda: list(run.suppliers.filter(status=SupplierPreview.Status.PENDING)), "read suppliers"
    )
    config = config or gateway_config()
    address = address_param(run.address_snapshot)
    if not connection.in_atomic_block:
        # Held idle through the calls, it would be dead after a database restart.
        connection.close()
    with Heartbeat(run_id=run_id, token=token):
        if pending:
            workers = min(settings.PREVIEW_MAX_PARALLEL_CALLS, len(pending))
            with ThreadPoolExecutor(workers, thread_name_prefix=f"run{run_id}") as pool:
                futures = [
                    pool.submit(_preview_supplier, supplier_preview, address, run.flow, config)
                    for supplier_preview in pending
                ]
            for future in futures:
                # An answer that could not be stored (the database stayed away) ends this
                # execution here; the run stays running and the recovery resumes it.
                future.result()
    with_database_retry(lambda: finish_run(run_id=run_id), "finish")


def claim_run(*, run_id: int, token: str) -> bool:
    """Take a run for the execution named `token`: a queued run, or one whose execution
    died (no heartbeat for PREVIEW_WORKER_LOST_AFTER_SECONDS) and may be started again.

    A running run with a live heartbeat belongs to its execution: False. Asking again with
    the same token answers True, so a claim that committed before a dropped connection is
    not lost on retry.
    """
    now = timezone.now()
    lost = now - timedelta(seconds=settings.PREVIEW_WORKER_LOST_AFTER_SECONDS)
    claimable = Q(status=PreviewRun.Status.QUEUED) | Q(
        abandoned_since(lost),
        status=PreviewRun.Status.RUNNING,
        executions__lt=settings.PREVIEW_MAX_EXECUTIONS,
    )
    claimed = PreviewRun.objects.filter(claimable, pk=run_id).update(
        status=PreviewRun.Status.RUNNING,
        started_at=now,
        heartbeat_at=now,
        worker_token=token,
        executions=F("executions") + 1,
    )
    return bool(claimed) or (
        PreviewRun.objects.filter(
            pk=run_id, status=PreviewRun.Status.RUNNING, worker_token=token
        ).exists()
    )


def abandoned_since(cutoff) -> Q:
    """Running runs whose execution has not beaten since `cutoff` (its worker died).
    Rows from before heartbeats existed have none: their start counts instead."""
    return Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, started_at__lt=cutoff)


def finish_run(*, run_id: int) -> bool:
    """Mark a run done if every supplier has an outcome. Idempotent: False if it is
    already finished or still has suppliers waiting."""
    waiting = SupplierPreview.objects.filter(
        run_id=OuterRef("pk"), status=SupplierPreview.Status.PENDING
    )
    return bool(
        PreviewRun.objects.filter(
            ~Exists(waiting),
            pk=run_id,
            status__in=[PreviewRun.Status.QUEUED, PreviewRun.Status.RUNNING],
        ).update(status=PreviewRun.Status.DONE, finished_at=timezone.now(), worker_token="")
    )


class Heartbeat:
    """While a run executes, touch it every PREVIEW_HEARTBEAT_SECONDS from a thread of its
    own, so the recovery can tell a live execution from a dead worker's."""

    def __init__(self, *, run_id: int, token: str):
        self.run_id, self.token = run_id, token
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"run{run_id}-heartbeat")

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *_exc):
        self._stopping.set()
        self._thread.join(timeout=10)

    def _beat(self) -> None:
        while not self._stopping.wait(settings.PREVIEW_HEARTBEAT_SECONDS):
            try:
                PreviewRun.objects.filter(
                    pk=self.run_id, status=PreviewRun.Status.RUNNING, worker_token=self.token
                ).update(heartbeat_at=timezone.now())
            except DatabaseError as problem:  # the next beat tries again
                logger.warning("run %s: heartbeat not stored: %s", self.run_id, problem)
            finally:
                connection.close()


# A database restart (PostgreSQL comes back in a second or two) or a busy SQLite file
# must not lose an answer already paid for: idempotent writes are retried for ~16 s.
DATABASE_RETRY_DELAYS = (0.2, 0.5, 1.0, 2.0, 4.0, 8.0)


def with_database_retry[T](operation: Callable[[], T], what: str) -> T:
    """Run an idempotent database `operation`; on a lost connection, close it and retry
    with a growing pause. Inside a transaction the error is raised at once."""
    for delay in (*DATABASE_RETRY_DELAYS, None):
        try:
            return operation()
        except (OperationalError, InterfaceError) as problem:
            if delay is None or connection.in_atomic_block:
                raise
            logger.warning("%s: database unavailable (%s); retrying in %s s", what, problem, delay)
            connection.close()
            time.sleep(delay)
    raise AssertionError("unreachable")


def _preview_supplier(
    supplier_preview: SupplierPreview,
    address: gateway.Address,
    flow: str,
    config: gateway.GatewayConfig,
) -> None:
    """One supplier's call and its storage, in a worker thread with its own DB connection
    (closed at the end: the pool's threads are reused, and a connection left open across
    a database restart would be dead)."""
    cargo = [
        gateway.Cargo(offer_id=line["offer_id"], spec_id=line["spec_id"], quantity=line["quantity"])
        for line in supplier_preview.requested_lines
    ]
    started = time.monotonic()
    try:
        try:
            answer = gateway.preview_order(config, address=address, cargo=cargo, flow=flow)
        except gateway.GatewayError as error:
            _store_failure(supplier_preview.pk, error)
        except Exception as problem:  # a bug must not leave the supplier pending
            logger.exception("preview of supplier %s crashed", supplier_preview.pk)
            _store_failure(supplier_preview.pk, _crash(problem, started))
        else:
            try:
                with_database_retry(
                    lambda: record_answer(supplier_preview_id=supplier_preview.pk, answer=answer),
                    f"store supplier {supplier_preview.pk}",
                )
            except (OperationalError, InterfaceError):
                raise
            except Exception as problem:  # an answer the storage cannot take
                logger.exception("storing supplier %s crashed", supplier_preview.pk)
                _store_failure(supplier_preview.pk, _crash(problem, started))
    finally:
        connection.close()


def _crash(problem: Exception, started: float) -> gateway.GatewayError:
    error = gateway.GatewayError(
        gateway.ErrorKind.MALFORMED,
        _("The preview failed unexpectedly (%(kind)s).") % {"kind": type(problem).__name__},
        retryable=False,
    )
    error.duration = time.monotonic() - started
    return error


def _store_failure(supplier_preview_id: int, error: gateway.GatewayError) -> None:
    with_database_retry(
        lambda: record_failure(supplier_preview_id=supplier_preview_id, error=error),
        f"store supplier {supplier_preview_id}",
    )


@transaction.atomic
def record_answer(*, supplier_preview_id: int, answer: gateway.PreviewAnswer) -> bool:
    """Store a supplier's answer. Returns False (storing nothing) if it was already stored."""
    supplier_preview = SupplierPreview.objects.select_for_update().get(pk=supplier_preview_id)
    if supplier_preview.status != SupplierPreview.Status.PENDING:
        return False
    quantities = {
        (line["offer_id"], line["spec_id"] or ""): line["quantity"]
        for line in supplier_preview.requested_lines
    }
    records = PreviewRecord.objects.bulk_create(
        _record_row(supplier_preview, index, record, part=_part_of(answer, index))
        for index, record in enumerate(answer.records)
    )
    lines, promotions = [], []
    for record_row, record in zip(records, answer.records, strict=True):
        for index, line in enumerate(record.lines):
            lines.append(_line_row(record_row, index, line, quantities))
        promotions += [_promotion_row(record_row, None, p) for p in record.shop_promotions]
    PreviewLine.objects.bulk_create(lines)
    line_rows = iter(lines)
    for record_row, record in zip(records, answer.records, strict=True):
        for line in record.lines:
            line_row = next(line_rows)
            promotions += [_promotion_row(record_row, line_row, p) for p in line.promotions]
    PreviewPromotion.objects.bulk_create(promotions)
    supplier_preview.status = SupplierPreview.Status.OK
    supplier_preview.trace_id = shorten(answer.trace_id, 200)
    supplier_preview.attempts = answer.attempts
    supplier_preview.duration_ms = round(answer.duration * 1000)
    supplier_preview.warnings = list(answer.warnings)
    supplier_preview.post_fee_by_desc_offer_ids = list(answer.post_fee_by_desc_offer_ids)
    supplier_preview.consign_offer_ids = list(answer.consign_offer_ids)
    supplier_preview.unsupported_cross_border_pay_offer_ids = list(
        answer.unsupported_cross_border_pay_offer_ids
    )
    supplier_preview.raw_body = "\n".join(answer.raw_bodies)
    supplier_preview.finished_at = timezone.now()
    supplier_preview.save()
    return True


def _part_of(answer: gateway.PreviewAnswer, index: int) -> int:
    """Which of the supplier's calls (0-based) returned its `index`-th record."""
    return answer.record_parts[index] if answer.record_parts else 0


def _record_row(
    supplier_preview, index, record: gateway.PreviewRecord, *, part: int = 0
) -> PreviewRecord:
    return PreviewRecord(
        supplier_preview=supplier_preview,
        index=index,
        part=part,
        orderable_through_api=record.can_order_through_api,
        sum_payment_fen=record.sum_payment_fen,
        sum_carriage_fen=record.sum_carriage_fen,
        sum_payment_no_carriage_fen=record.sum_payment_no_carriage_fen,
        discount_fen=record.discount_fen,
        additional_fee_fen=record.additional_fee_fen,
        status=record.status,
        message=record.message or "",
        result_code=shorten(record.result_code, 60),
        flow_flag=shorten(record.flow_flag, 30),
        trade_mode_names=list(record.trade_mode_names),
        trade_modes=[
            {"trade_type": m.trade_type, "name": m.name, "op_support": m.op_support}
            for m in record.trade_modes
        ],
        pay_channels=[
            {"name": c.name, "amount_limit_fen": c.amount_limit_fen} for c in record.pay_channels
        ],
        tao_sample_single_promotion=record.tao_sample_single_promotion,
    )


def _line_row(record_row, index, line: gateway.PreviewLine, quantities) -> PreviewLine:
    return PreviewLine(
        record=record_row,
        index=index,
        offer_id=line.offer_id,
        spec_id=line.spec_id or "",
        sku_id=line.sku_id,
        quantity=quantities.get((line.offer_id, line.spec_id or "")),
        final_unit_price_fen=None
        if line.final_unit_price is None
        else yuan_to_fen(line.final_unit_price),
        amount_fen=None if line.amount is None else yuan_to_fen(line.amount),
        message=line.message or "",
        result_code=shorten(line.result_code, 60),
    )


def _promotion_row(record_row, line_row, promotion: gateway.Promotion) -> PreviewPromotion:
    return PreviewPromotion(
        record=record_row,
        line=line_row,
        promotion_id=shorten(promotion.promotion_id, 200),
        text=shorten(promotion.text, 500),
        description_html=promotion.description_html,
        selected=promotion.selected,
        free_postage=promotion.free_postage,
        discount_fen=promotion.discount_fen,
    )


@transaction.atomic
def record_failure(*, supplier_preview_id: int, error: gateway.GatewayError) -> bool:
    """Store why a supplier could not be previewed. False if it already has an outcome."""
    supplier_preview = SupplierPreview.objects.select_for_update().get(pk=supplier_preview_id)
    if supplier_preview.status != SupplierPreview.Status.PENDING:
        return False
    refused = error.kind == gateway.ErrorKind.REJECTED
    supplier_preview.status = (
        SupplierPreview.Status.REJECTED if refused else SupplierPreview.Status.FAILED
    )
    supplier_preview.reason = error.reason
    supplier_preview.error_kind = str(error.kind)
    supplier_preview.error_code = shorten(error.error_code, 60)
    supplier_preview.trace_id = shorten(error.trace_id, 200)
    supplier_preview.attempts = error.attempts
    supplier_preview.duration_ms = round(error.duration * 1000)
    supplier_preview.raw_body = error.raw_body
    supplier_preview.finished_at = timezone.now()
    supplier_preview.save()
    return True


def fail_run(*, run_id: int, kind: str) -> None:
    """End a run that cannot finish (`kind` of failures.RUN_FAILURES): its unanswered
    suppliers fail for the same reason. The reason is stored in English; pages translate
    the kind."""
    reason = failures.stored_reason(kind)
    with transaction.atomic():
        now = timezone.now()
        SupplierPreview.objects.filter(run_id=run_id, status=SupplierPreview.Status.PENDING).update(
            status=SupplierPreview.Status.FAILED, reason=reason, error_kind=kind, finished_at=now
        )
        PreviewRun.objects.filter(
            pk=run_id, status__in=[PreviewRun.Status.QUEUED, PreviewRun.Status.RUNNING]
        ).update(
            status=PreviewRun.Status.FAILED,
            failure_reason=reason,
            failure_kind=kind,
            finished_at=now,
        )
