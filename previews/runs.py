"""The life of a preview run: start it, send it to the workers, claim it, finish or fail it,
and the recovery rules that keep it moving.

A run snapshots the address and the lines, grouped by supplier, in one transaction. After
commit it is sent to the broker, once: the send is claimed in the database first. If the
broker is down it stays queued and unsent, and the workers' recovery schedule
(recovery.py) sends it later. One delivery at a time executes a run (execution.py): it
claims the run with an owner token and keeps it alive with a heartbeat, so the recovery
can tell a live execution from a dead worker's. Every change of state is a conditional
UPDATE, so callers racing each other change a run once.

The task is sent by name: this module never imports tasks.py.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from . import failures, rates, summaries
from .dispatch import send_once
from .models import CartLine, PreviewRun, ShippingAddress, SupplierPreview

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser

logger = logging.getLogger(__name__)

EXECUTE_RUN_TASK = "previews.execute_preview_run"

ADDRESS_FIELDS = (
    "full_name", "mobile", "phone", "post_code", "province_text", "city_text",
    "area_text", "town_text", "address", "district_code",
)  # fmt: skip


@dataclass(frozen=True)
class SupplierGroup:
    """The lines a run asks of one supplier (the gateway takes one supplier per call)."""

    supplier_id: int | None
    name: str
    lines: tuple[dict, ...]  # {"offer_id", "spec_id", "quantity", "title"}, as stored


# --------------------------------------------------------------------------- starting


def snapshot_address(address: ShippingAddress) -> dict:
    """The address as the run will send it; the phone falls back to the mobile number."""
    snapshot = {field: getattr(address, field) for field in ADDRESS_FIELDS}
    snapshot["phone"] = snapshot["phone"] or snapshot["mobile"]
    snapshot["label"] = address.label
    return snapshot


def missing_address_fields(snapshot: dict) -> list[str]:
    """The fields the gateway needs that the address snapshot leaves empty."""
    return [field for field in ADDRESS_FIELDS if not str(snapshot.get(field) or "").strip()]


def group_lines(lines: Sequence[CartLine]) -> list[SupplierGroup]:
    """Cart lines grouped by supplier, by supplier name, each group's lines by offer and spec."""
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
    return [
        SupplierGroup(supplier_id=supplier_id, name=name, lines=tuple(requested))
        for supplier_id, (name, requested) in groups.items()
    ]


def request_fingerprint(address_snapshot: dict, groups: Sequence[SupplierGroup]) -> str:
    """What a run asked, as a hash: the same address and lines give the same fingerprint."""
    asked = {
        "address": {field: address_snapshot.get(field, "") for field in ADDRESS_FIELDS},
        "lines": sorted(
            (line["offer_id"], line["spec_id"], line["quantity"])
            for group in groups
            for line in group.lines
        ),
    }
    return hashlib.sha256(json.dumps(asked, sort_keys=True).encode()).hexdigest()


def start_preview(
    *,
    owner: AbstractBaseUser,
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
    owner: AbstractBaseUser,
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
        SupplierGroup(
            supplier_id=s.supplier_id, name=s.supplier_name, lines=tuple(s.requested_lines)
        )
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
    owner: AbstractBaseUser,
    address: ShippingAddress | None,
    address_snapshot: dict,
    groups: Sequence[SupplierGroup],
    flow: str,
    submission_token: uuid.UUID,
    rerun_of: PreviewRun | None = None,
    address_group: uuid.UUID | None = None,
) -> tuple[PreviewRun, bool]:
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
                **rates.run_rate_fields(owner=owner),  # the second currency, as of now
            )
            SupplierPreview.objects.bulk_create(
                SupplierPreview(
                    run=run,
                    position=position,
                    supplier_id=group.supplier_id,
                    supplier_name=group.name,
                    requested_lines=list(group.lines),
                )
                for position, group in enumerate(groups)
            )
            transaction.on_commit(lambda: dispatch_run(run_id=run.pk))
    except IntegrityError:
        existing = PreviewRun.objects.filter(owner=owner, submission_token=submission_token).first()
        if existing is None:
            raise
        return existing, False
    return run, True


# --------------------------------------------------------------------------- sending


def dispatch_run(*, run_id: int) -> bool:
    """Send a queued run to the workers once, however many callers try at the same moment.

    The send is claimed first by a conditional UPDATE (queued and not yet sent): of
    concurrent callers exactly one publishes the task. If the broker cannot be reached the
    claim is given back, so the run stays waiting for the recovery schedule. Returns False
    only then; True when the run is sent (by this call or an earlier one) or not waiting.
    """
    return send_once(
        waiting=PreviewRun.objects.filter(status=PreviewRun.Status.QUEUED),
        job_id=run_id,
        task=EXECUTE_RUN_TASK,
    )


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


def abandoned_since(cutoff: datetime) -> Q:
    """Running runs whose execution has not beaten since `cutoff` (its worker died).
    Rows from before heartbeats existed have none: their start counts instead."""
    return Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, started_at__lt=cutoff)


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
                self.touch()
            except DatabaseError as problem:  # the next beat tries again
                logger.warning("%s: heartbeat not stored: %s", self._thread.name, problem)
            finally:
                connection.close()

    def touch(self) -> None:
        """Store one beat (a lookup batch's heartbeat overrides this)."""
        PreviewRun.objects.filter(
            pk=self.run_id, status=PreviewRun.Status.RUNNING, worker_token=self.token
        ).update(heartbeat_at=timezone.now())


def finish_run(*, run_id: int) -> bool:
    """Mark a run done if every supplier has an outcome. Idempotent: False if it is
    already finished or still has suppliers waiting."""
    waiting = SupplierPreview.objects.filter(
        run_id=OuterRef("pk"), status=SupplierPreview.Status.PENDING
    )
    finished = bool(
        PreviewRun.objects.filter(
            ~Exists(waiting),
            pk=run_id,
            status__in=[PreviewRun.Status.QUEUED, PreviewRun.Status.RUNNING],
        ).update(status=PreviewRun.Status.DONE, finished_at=timezone.now(), worker_token="")
    )
    if finished:  # it never changes again: what the runs list shows is stored now
        summaries.store_run_summary(run_id=run_id)
    return finished


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
        summaries.store_run_summary(run_id=run_id)


# --------------------------------------------------------------------------- recovering


def recover_runs() -> dict[str, int]:
    """One pass of the recovery (see recovery.py); returns how many runs each step changed."""
    resumed, given_up = requeue_abandoned_runs()
    return {
        "resumed": resumed,
        "failed_worker_lost": given_up,
        "failed_overdue": fail_overdue_runs(),
        "resent": forget_lost_sends(),
        "sent": dispatch_waiting_runs(),
    }


def requeue_abandoned_runs() -> tuple[int, int]:
    """Running runs whose execution stopped beating go back to the queue (dispatched again
    by `dispatch_waiting_runs`), or fail once they have been started too often.
    Returns (put back, failed)."""
    cutoff = timezone.now() - timedelta(seconds=settings.PREVIEW_WORKER_LOST_AFTER_SECONDS)
    dead = abandoned_since(cutoff)
    abandoned = PreviewRun.objects.filter(dead, status=PreviewRun.Status.RUNNING)
    requeued = failed = 0
    for run_id, token, executions in abandoned.values_list("pk", "worker_token", "executions"):
        if executions >= settings.PREVIEW_MAX_EXECUTIONS:
            fail_run(run_id=run_id, kind=failures.WORKER_LOST)
            failed += 1
            continue
        requeued += PreviewRun.objects.filter(
            dead, pk=run_id, status=PreviewRun.Status.RUNNING, worker_token=token
        ).update(
            status=PreviewRun.Status.QUEUED,
            dispatched_at=None,
            worker_token="",
            heartbeat_at=None,
        )
    if requeued or failed:
        logger.warning("runs whose worker died: %d put back in the queue, %d failed",
                       requeued, failed)  # fmt: skip
    return requeued, failed


def fail_overdue_runs() -> int:
    """Fail the runs an execution has worked on for longer than any run may take."""
    cutoff = timezone.now() - timedelta(seconds=settings.PREVIEW_STALE_AFTER_SECONDS)
    overdue = PreviewRun.objects.filter(status=PreviewRun.Status.RUNNING, started_at__lt=cutoff)
    count = 0
    for run_id in overdue.values_list("pk", flat=True):
        fail_run(run_id=run_id, kind=failures.TIME_LIMIT)
        count += 1
    return count


def forget_lost_sends() -> int:
    """A run sent long ago and never started lost its message: mark it unsent, so it is
    sent again (a duplicate message is harmless: only one delivery can claim the run)."""
    cutoff = timezone.now() - timedelta(seconds=settings.PREVIEW_STALE_AFTER_SECONDS)
    return PreviewRun.objects.filter(
        status=PreviewRun.Status.QUEUED, dispatched_at__lt=cutoff
    ).update(dispatched_at=None)
