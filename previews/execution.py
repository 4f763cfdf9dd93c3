"""Executing a run: call the gateway for its suppliers in parallel and store the answers.

One delivery at a time claims a run (runs.py) and plans its chunks; each chunk is then
executed by one delivery at a time too (claimed, with a heartbeat), possibly in another
worker process or machine. A chunk calls the gateway for its unanswered suppliers at once,
in threads that hold no database connection, and its own thread stores each answer as it
arrives, or why there is none, under a lock on its supplier (so nothing is stored twice),
through one database connection for the length of the chunk. Writes survive a dropped
database connection: the dead connection is closed and the write retried. A crash in our
own code is stored as such ("internal"), never blamed on the gateway, and logged with its
traceback.
"""

from __future__ import annotations

import logging
import os
import queue
import socket
import time
import traceback
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.db import InterfaceError, OperationalError, connection, transaction
from django.utils import timezone

from . import failures, gateway, limits
from .limits import shorten_for_column
from .models import (
    PreviewChunk,
    PreviewLine,
    PreviewPromotion,
    PreviewRecord,
    SupplierPreview,
)
from .money import yuan_to_fen
from .runs import (
    ADDRESS_FIELDS,
    ChunkHeartbeat,
    claim_chunk,
    claim_run,
    dispatch_chunk,
    finish_chunk,
    finish_run,
    plan_chunks,
)

logger = logging.getLogger(__name__)


def gateway_config() -> gateway.GatewayConfig:
    """The gateway settings of this deployment; credentials are read here, in the worker."""
    return gateway.GatewayConfig(
        base_url=settings.DAJI_API_URL,
        app_key=settings.DAJI_APP_KEY,
        app_secret=settings.DAJI_APP_SECRET,
        connect_timeout=settings.DAJI_CONNECT_TIMEOUT,
        read_timeout=settings.DAJI_READ_TIMEOUT,
        call_deadline=settings.DAJI_CALL_DEADLINE,
        product_auth=settings.DAJI_PRODUCT_AUTH,
        max_attempts=settings.DAJI_MAX_ATTEMPTS,
        retry_budget=settings.DAJI_RETRY_BUDGET,
        rate_limit=settings.DAJI_RATE_LIMIT,
        quota_store=settings.DAJI_QUOTA_STORE,
        pool_size=settings.CELERY_WORKER_CONCURRENCY * settings.PREVIEW_MAX_PARALLEL_CALLS,
        isv_biz_type=settings.DAJI_ISV_BIZ_TYPE,
        buyer_order_list_path=settings.DAJI_BUYER_ORDER_LIST_PATH,
    )


def address_param(snapshot: dict) -> gateway.Address:
    """The gateway's address parameter from a run's address snapshot."""
    return gateway.Address(**{field: snapshot.get(field, "") for field in ADDRESS_FIELDS})


def _token() -> str:
    return f"{socket.gethostname()}/{os.getpid()}/{uuid.uuid4().hex[:12]}"


def worker_name() -> str:
    """This process as `executed_by` names it: host/pid."""
    return f"{socket.gethostname()}/{os.getpid()}"


def start_run(*, run_id: int, config: gateway.GatewayConfig | None = None) -> None:
    """The task of a run: claim it, plan its chunks, send up to PREVIEW_RUN_LANES - 1 of
    them to the workers and execute the first one here (a small run is done without a
    further message).

    Safe to deliver twice: only the delivery that claims the queued run plans it (a
    duplicate exits without calling the gateway), a finished run is left alone.
    """
    chunk_ids = _plan(run_id)
    if not chunk_ids:
        return
    first, rest = chunk_ids[0], chunk_ids[1:]
    for chunk_id in rest[: max(0, settings.PREVIEW_RUN_LANES - 1)]:
        with_database_retry(lambda chunk_id=chunk_id: dispatch_chunk(chunk_id=chunk_id), "send")
    execute_chunk(chunk_id=first, config=config)


def execute_run(*, run_id: int, config: gateway.GatewayConfig | None = None) -> None:
    """Preview every unanswered supplier of a run here, chunk after chunk, and finish it
    (what the task does spread over the workers, in one process: tests, scripts).

    Safe to deliver twice, as `start_run`; a supplier already answered is not asked again.
    """
    for chunk_id in _plan(run_id):
        execute_chunk(chunk_id=chunk_id, config=config)
    with_database_retry(lambda: finish_run(run_id=run_id), "finish")


def _plan(run_id: int) -> list[int]:
    token = _token()
    if not with_database_retry(lambda: claim_run(run_id=run_id, token=token), "claim"):
        logger.info("run %s is finished, gone or executed by another delivery: skipped", run_id)
        return []
    chunk_ids = with_database_retry(lambda: plan_chunks(run_id=run_id, token=token), "plan")
    if not chunk_ids:  # nothing left unanswered
        with_database_retry(lambda: finish_run(run_id=run_id), "finish")
    return chunk_ids


def execute_chunk(*, chunk_id: int, config: gateway.GatewayConfig | None = None) -> None:
    """Preview the unanswered suppliers of one chunk, all at once, then mark it done, send
    the next chunk of its run and finish the run when nothing is left.

    Only the delivery that claims the chunk executes it; a duplicate exits without calling
    the gateway. An answer that cannot be stored (the database stayed away) ends this
    execution; the chunk stays running and the recovery puts it back in the queue.

    When nothing else waits for the workers (no other run or chunk sent and not started),
    the run's next chunk is executed here at once rather than sent through the broker; as
    soon as something waits, it is sent instead and this slot is free for the other work.
    """
    started = time.monotonic()
    next_id: int | None = chunk_id
    while next_id is not None:
        # Within half the task's time limit only: a task must end before Celery stops it.
        go_on = time.monotonic() - started < settings.CELERY_TASK_SOFT_TIME_LIMIT / 2
        next_id = _execute_one_chunk(next_id, config, continue_here=go_on)


def _execute_one_chunk(
    chunk_id: int, config: gateway.GatewayConfig | None, *, continue_here: bool
) -> int | None:
    token = _token()
    claimed = with_database_retry(
        lambda: claim_chunk(chunk_id=chunk_id, token=token, executed_by=worker_name()), "claim"
    )
    if not claimed:
        logger.info("chunk %s is done, gone or executed by another delivery: skipped", chunk_id)
        return None
    chunk = with_database_retry(
        lambda: PreviewChunk.objects.select_related("run").get(pk=chunk_id), "read the chunk"
    )
    run = chunk.run
    pending = with_database_retry(
        lambda: list(
            SupplierPreview.objects.filter(
                pk__in=chunk.supplier_ids, status=SupplierPreview.Status.PENDING
            ).order_by("position")
        ),
        "read suppliers",
    )
    config = config or gateway_config()
    address = address_param(run.address_snapshot)
    # A run of one chunk is small: its calls take their turns in the quota before the
    # waiting calls of big runs (quota.py), so a colleague's big run does not hold it up.
    urgent = chunk.index == 0 and not with_database_retry(
        lambda: PreviewChunk.objects.filter(run_id=run.pk, index=1).exists(), "read the chunks"
    )
    with ChunkHeartbeat(run_id=chunk_id, token=token):
        if pending:
            preview_suppliers(pending, address=address, flow=run.flow, config=config, urgent=urgent)
    return with_database_retry(
        lambda: finish_chunk(chunk_id=chunk_id, token=token, continue_here=continue_here),
        "finish",
    )


STORE_GATHER_SECONDS = 0.02


def preview_suppliers(
    pending: list[SupplierPreview],
    *,
    address: gateway.Address,
    flow: str,
    config: gateway.GatewayConfig,
    urgent: bool = False,
) -> None:
    """Call the gateway for every supplier at once (at most PREVIEW_MAX_PARALLEL_CALLS
    threads, none of them touching the database) and store the outcomes here, in the
    calling thread, as they arrive (those arrived together in one transaction): one
    database connection however many suppliers."""
    outcomes: queue.SimpleQueue = queue.SimpleQueue()
    workers = min(settings.PREVIEW_MAX_PARALLEL_CALLS, len(pending))
    with ThreadPoolExecutor(workers, thread_name_prefix="preview-call") as pool:
        for supplier_preview in pending:
            pool.submit(
                _call_supplier, supplier_preview, address, flow, config, outcomes.put, urgent
            )
        left = len(pending)
        while left:
            # What arrives within STORE_GATHER_SECONDS of the first is stored with it: a
            # few round trips to the database for many answers, at a few ms of delay.
            arrived = [outcomes.get()]
            gather_until = time.monotonic() + STORE_GATHER_SECONDS
            while len(arrived) < left:
                try:
                    arrived.append(outcomes.get(timeout=max(0, gather_until - time.monotonic())))
                except queue.Empty:
                    break
            left -= len(arrived)
            _store_outcomes(arrived, config)


def _call_supplier(
    supplier_preview: SupplierPreview,
    address: gateway.Address,
    flow: str,
    config: gateway.GatewayConfig,
    deliver: Callable[[tuple], None],
    urgent: bool = False,
) -> None:
    """One supplier's call, in a thread without a database connection: its outcome goes
    to `deliver` whatever happens."""
    pk = supplier_preview.pk
    started = time.monotonic()
    try:
        cargo = [
            gateway.Cargo(
                offer_id=line["offer_id"], spec_id=line["spec_id"], quantity=line["quantity"]
            )
            for line in supplier_preview.requested_lines
        ]
        answer = gateway.preview_order(
            config, address=address, cargo=cargo, flow=flow, urgent=urgent
        )
    except gateway.GatewayError as error:
        deliver((pk, "failure", error, started))
    except BaseException as problem:  # a bug must not leave the supplier pending
        _log_crash("the preview", pk, config)
        deliver((pk, "crash", problem, started))
    else:
        deliver((pk, "answer", answer, started))


def _store_outcomes(arrived: list[tuple], config: gateway.GatewayConfig) -> None:
    """Answers together in one transaction; failures, and answers of a batch our storage
    refused (to find which one), one by one."""
    answers = [(pk, value) for pk, kind, value, _started in arrived if kind == "answer"]
    if len(answers) > 1:
        try:
            with_database_retry(lambda: record_answers(answers), "store answers")
        except (OperationalError, InterfaceError):
            raise
        except Exception:  # one answer our storage cannot take: find it below
            logger.warning("storing %d answers together failed; one by one", len(answers))
        else:
            arrived = [outcome for outcome in arrived if outcome[1] != "answer"]
    for outcome in arrived:
        _store_outcome(outcome, config)


def _store_outcome(outcome: tuple, config: gateway.GatewayConfig) -> None:
    pk, kind, value, started = outcome
    if kind == "failure":
        _store(pk, record_failure, error=value)
    elif kind == "crash":
        _store(pk, record_crash, problem=value, duration=time.monotonic() - started)
    else:
        try:
            _store(pk, record_answer, answer=value)
        except (OperationalError, InterfaceError):
            raise
        except Exception as problem:  # an answer our storage cannot take
            _log_crash("storing the answer", pk, config)
            _store(pk, record_crash, problem=problem, duration=time.monotonic() - started)


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


def _store(supplier_preview_id: int, record: Callable[..., bool], **outcome) -> None:
    with_database_retry(
        lambda: record(supplier_preview_id=supplier_preview_id, **outcome),
        f"store supplier {supplier_preview_id}",
    )


def _log_crash(what: str, supplier_preview_id: int, config: gateway.GatewayConfig) -> None:
    """Tell the team, with the traceback; credentials in it (an exception may quote the
    request) are redacted."""
    logger.error(
        "%s of supplier %s crashed in our own code (stored as an internal error):\n%s",
        what,
        supplier_preview_id,
        gateway.redact(traceback.format_exc(), config.secrets),
    )


# --------------------------------------------------------------------------- storing


def record_answer(*, supplier_preview_id: int, answer: gateway.PreviewAnswer) -> bool:
    """Store a supplier's answer. Returns False (storing nothing) if it was already stored."""
    return bool(record_answers([(supplier_preview_id, answer)]))


@transaction.atomic
def record_answers(answers: list[tuple[int, gateway.PreviewAnswer]]) -> int:
    """Store the answers of several suppliers in one transaction (a few bulk inserts, not a
    few per supplier), each under a row lock on its supplier; a supplier already answered
    is skipped. Returns how many were stored."""
    locked = SupplierPreview.objects.select_for_update().in_bulk([pk for pk, _ in answers])
    todo = [
        (locked[pk], answer)
        for pk, answer in answers
        if pk in locked and locked[pk].status == SupplierPreview.Status.PENDING
    ]
    if not todo:
        return 0
    record_rows = [
        _record_row(supplier_preview, index, record, part=_part_of(answer, index))
        for supplier_preview, answer in todo
        for index, record in enumerate(answer.records)
    ]
    PreviewRecord.objects.bulk_create(record_rows)
    records = iter(record_rows)
    lines, promotions, pairs = [], [], []
    for supplier_preview, answer in todo:
        quantities = {
            (line["offer_id"], line["spec_id"] or ""): line["quantity"]
            for line in supplier_preview.requested_lines
        }
        for record in answer.records:
            record_row = next(records)
            pairs.append((record_row, record))
            for index, line in enumerate(record.lines):
                lines.append(_line_row(record_row, index, line, quantities))
            promotions += [_promotion_row(record_row, None, p) for p in record.shop_promotions]
    PreviewLine.objects.bulk_create(lines)
    line_rows = iter(lines)
    for record_row, record in pairs:
        for line in record.lines:
            line_row = next(line_rows)
            promotions += [_promotion_row(record_row, line_row, p) for p in line.promotions]
    PreviewPromotion.objects.bulk_create(promotions)
    now = timezone.now()
    _update_answered(
        [
            (
                supplier_preview.pk,
                {
                    "status": SupplierPreview.Status.OK,
                    "trace_id": shorten_for_column(answer.trace_id, limits.TRACE_ID_LENGTH),
                    "attempts": answer.attempts,
                    "duration_ms": round(answer.duration * 1000),
                    "warnings": list(answer.warnings),
                    "post_fee_by_desc_offer_ids": list(answer.post_fee_by_desc_offer_ids),
                    "consign_offer_ids": list(answer.consign_offer_ids),
                    "unsupported_cross_border_pay_offer_ids": list(
                        answer.unsupported_cross_border_pay_offer_ids
                    ),
                    "raw_body": "\n".join(answer.raw_bodies),
                    "finished_at": now,
                },
            )
            for supplier_preview, answer in todo
        ]
    )
    return len(todo)


_ANSWER_FIELDS = (
    "status", "trace_id", "attempts", "duration_ms", "warnings", "post_fee_by_desc_offer_ids",
    "consign_offer_ids", "unsupported_cross_border_pay_offer_ids", "raw_body", "finished_at",
)  # fmt: skip


def _update_answered(rows: list[tuple[int, dict]]) -> None:
    """One UPDATE statement sent for many suppliers at once (executemany: one round trip
    with psycopg's pipeline), values prepared by each field as `save()` would."""
    meta = SupplierPreview._meta
    fields = [meta.get_field(name) for name in _ANSWER_FIELDS]
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(field.column)} = %s" for field in fields)
    table, pk_column = quote(meta.db_table), quote(meta.pk.column)
    sql = f"UPDATE {table} SET {assignments} WHERE {pk_column} = %s"  # noqa: S608 - our names
    params = [
        [field.get_db_prep_save(values[field.name], connection) for field in fields] + [pk]
        for pk, values in rows
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)


def record_failure(*, supplier_preview_id: int, error: gateway.GatewayError) -> bool:
    """Store why the gateway gave a supplier no preview: the kind, the code and the
    upstream's own words. False if the supplier already has an outcome."""
    refused = error.kind == gateway.ErrorKind.REJECTED
    return _record_outcome(
        supplier_preview_id,
        status=SupplierPreview.Status.REJECTED if refused else SupplierPreview.Status.FAILED,
        reason=error.reason,
        error_kind=str(error.kind),
        error_code=shorten_for_column(error.error_code, limits.ERROR_CODE_LENGTH),
        upstream_message=error.message,
        http_status=error.http_status,
        trace_id=shorten_for_column(error.trace_id, limits.TRACE_ID_LENGTH),
        attempts=error.attempts,
        duration_ms=round(error.duration * 1000),
        raw_body=error.raw_body,
    )


def record_crash(*, supplier_preview_id: int, problem: Exception, duration: float) -> bool:
    """Store that our own code failed on a supplier (kind "internal", not the gateway's
    fault). The reason names only the exception's type: its message may quote data.
    False if the supplier already has an outcome."""
    reason = f"{failures.stored_reason(failures.INTERNAL)} ({type(problem).__name__})"
    return _record_outcome(
        supplier_preview_id,
        status=SupplierPreview.Status.FAILED,
        reason=reason,
        error_kind=failures.INTERNAL,
        attempts=1,
        duration_ms=round(duration * 1000),
    )


@transaction.atomic
def _record_outcome(supplier_preview_id: int, **fields) -> bool:
    supplier_preview = SupplierPreview.objects.select_for_update().get(pk=supplier_preview_id)
    if supplier_preview.status != SupplierPreview.Status.PENDING:
        return False
    for name, value in fields.items():
        setattr(supplier_preview, name, value)
    supplier_preview.finished_at = timezone.now()
    supplier_preview.save()
    return True


# --------------------------------------------------------------------------- mapping


def _part_of(answer: gateway.PreviewAnswer, index: int) -> int:
    """Which of the supplier's calls (0-based) returned its `index`-th record."""
    return answer.record_parts[index] if answer.record_parts else 0


def _record_row(
    supplier_preview: SupplierPreview, index: int, record: gateway.QuotedOrder, *, part: int = 0
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
        result_code=shorten_for_column(record.result_code, limits.RESULT_CODE_LENGTH),
        flow_flag=shorten_for_column(record.flow_flag, limits.FLOW_FLAG_LENGTH),
        trade_mode_names=list(record.trade_mode_names),
        trade_modes=[
            {
                "trade_type": m.trade_type,
                "name": m.name,
                "op_support": m.op_support,
                "description": m.description or "",  # its pay window, shown when ordering
            }
            for m in record.trade_modes
        ],
        pay_channels=[
            {"name": c.name, "amount_limit_fen": c.amount_limit_fen} for c in record.pay_channels
        ],
        tao_sample_single_promotion=record.tao_sample_single_promotion,
    )


def _line_row(
    record_row: PreviewRecord, index: int, line: gateway.QuotedLine, quantities: dict
) -> PreviewLine:
    return PreviewLine(
        record=record_row,
        index=index,
        offer_id=line.offer_id,
        spec_id=shorten_for_column(line.spec_id, limits.ANSWER_SPEC_ID_LENGTH),
        sku_id=line.sku_id,
        quantity=quantities.get((line.offer_id, line.spec_id or "")),
        final_unit_price_fen=None
        if line.final_unit_price is None
        else yuan_to_fen(line.final_unit_price),
        amount_fen=None if line.amount is None else yuan_to_fen(line.amount),
        message=line.message or "",
        result_code=shorten_for_column(line.result_code, limits.RESULT_CODE_LENGTH),
    )


def _promotion_row(
    record_row: PreviewRecord, line_row: PreviewLine | None, promotion: gateway.Promotion
) -> PreviewPromotion:
    return PreviewPromotion(
        record=record_row,
        line=line_row,
        promotion_id=shorten_for_column(promotion.promotion_id, limits.PROMOTION_ID_LENGTH),
        text=shorten_for_column(promotion.text, limits.PROMOTION_TEXT_LENGTH),
        description_html=promotion.description_html,
        selected=promotion.selected,
        free_postage=promotion.free_postage,
        discount_fen=promotion.discount_fen,
    )
