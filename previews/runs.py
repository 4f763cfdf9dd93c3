"""The life of a preview run: start it, send it to the workers, claim it, finish or fail it,
and the recovery rules that keep it moving.

A run snapshots the address and the lines, grouped by supplier, in one transaction. After
commit it is sent to the broker, once: the send is claimed in the database first. If the
broker is down it stays queued and unsent, and the workers' recovery schedule
(recovery.py) sends it later. One delivery at a time executes a run (execution.py): it
claims the run with an owner token and keeps it alive with a heartbeat, so the recovery
can tell a live execution from a dead worker's. Every change of state is a conditional
UPDATE, so callers racing each other change a run once.

A run's suppliers are executed in chunks (`PreviewChunk`, at most PREVIEW_CHUNK_SIZE
suppliers each), each a task of its own claimed like a run, so a big run is spread over
every worker. The delivery that claims the run plans its chunks and sends at most
PREVIEW_RUN_LANES of them at once; each chunk, when done, sends the next one of its run.
So the queue never holds more than a few chunks of one run, and a colleague's small run
submitted meanwhile is not queued behind all of a big run's work. A run whose chunks are
planned is recovered chunk by chunk (a dead worker's chunk goes back to the queue); the run
is done when every supplier has its outcome (`finish_run`).

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
from .models import CartLine, PreviewChunk, PreviewRun, ShippingAddress, SupplierPreview

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser

logger = logging.getLogger(__name__)

EXECUTE_RUN_TASK = "previews.execute_preview_run"
EXECUTE_CHUNK_TASK = "previews.execute_preview_chunk"

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
        ~Exists(PreviewChunk.objects.filter(run_id=OuterRef("pk"))),
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


# --------------------------------------------------------------------------- chunks


def plan_chunks(*, run_id: int, token: str) -> list[int]:
    """Split the claimed run's unanswered suppliers into chunks (in their order, at most
    PREVIEW_CHUNK_SIZE each), once: from then on the run is executed and recovered chunk by
    chunk, and the execution that claimed it lets it go. Returns the chunks' ids (none if
    the run is not this execution's any more, or has chunks already)."""
    size = settings.PREVIEW_CHUNK_SIZE
    with transaction.atomic():
        run = (
            PreviewRun.objects.select_for_update()
            .filter(pk=run_id, status=PreviewRun.Status.RUNNING, worker_token=token)
            .first()
        )
        if run is None or run.chunks.exists():
            return []
        pending = list(
            run.suppliers.filter(status=SupplierPreview.Status.PENDING)
            .order_by("position")
            .values_list("pk", flat=True)
        )
        chunks = PreviewChunk.objects.bulk_create(
            PreviewChunk(run=run, index=index, supplier_ids=pending[start : start + size])
            for index, start in enumerate(range(0, len(pending), size))
        )
        # The chunks carry the run from here: no run-level execution to watch any more.
        PreviewRun.objects.filter(pk=run_id).update(worker_token="", heartbeat_at=None)
    return [chunk.pk for chunk in chunks]


def dispatch_chunk(*, chunk_id: int) -> bool:
    """Send a queued chunk to the workers once (as `dispatch_run` does for runs)."""
    return send_once(
        waiting=PreviewChunk.objects.filter(status=PreviewChunk.Status.QUEUED),
        job_id=chunk_id,
        task=EXECUTE_CHUNK_TASK,
    )


def dispatch_next_chunks(*, run_id: int) -> int:
    """Send the run's next waiting chunks, in order, so that at most PREVIEW_RUN_LANES of
    its chunks are sent or executing at once. Returns how many went."""
    chunks = PreviewChunk.objects.filter(run_id=run_id, run__status=PreviewRun.Status.RUNNING)
    in_flight = chunks.filter(
        Q(status=PreviewChunk.Status.RUNNING)
        | Q(status=PreviewChunk.Status.QUEUED, dispatched_at__isnull=False)
    ).count()
    free = settings.PREVIEW_RUN_LANES - in_flight
    if free <= 0:
        return 0
    waiting = chunks.filter(status=PreviewChunk.Status.QUEUED, dispatched_at__isnull=True)
    sent = 0
    for chunk_id in waiting.order_by("index").values_list("pk", flat=True)[:free]:
        if not dispatch_chunk(chunk_id=chunk_id):
            break
        sent += 1
    return sent


def claim_chunk(*, chunk_id: int, token: str, executed_by: str) -> bool:
    """Take a chunk for the execution named `token` (as `claim_run`): a queued chunk of a
    running run, or one whose execution died. True again for the same token."""
    now = timezone.now()
    lost = now - timedelta(seconds=settings.PREVIEW_WORKER_LOST_AFTER_SECONDS)
    claimable = Q(status=PreviewChunk.Status.QUEUED) | Q(
        abandoned_since(lost),
        status=PreviewChunk.Status.RUNNING,
        executions__lt=settings.PREVIEW_MAX_EXECUTIONS,
    )
    claimed = PreviewChunk.objects.filter(
        claimable, pk=chunk_id, run__status=PreviewRun.Status.RUNNING
    ).update(
        status=PreviewChunk.Status.RUNNING,
        dispatched_at=now,
        started_at=now,
        heartbeat_at=now,
        worker_token=token,
        executed_by=executed_by,
        executions=F("executions") + 1,
    )
    return bool(claimed) or (
        PreviewChunk.objects.filter(
            pk=chunk_id, status=PreviewChunk.Status.RUNNING, worker_token=token
        ).exists()
    )


class ChunkHeartbeat(Heartbeat):
    """The heartbeat of a chunk's execution."""

    def touch(self) -> None:
        PreviewChunk.objects.filter(
            pk=self.run_id, status=PreviewChunk.Status.RUNNING, worker_token=self.token
        ).update(heartbeat_at=timezone.now())


def finish_chunk(*, chunk_id: int, token: str, continue_here: bool = False) -> int | None:
    """Mark the chunk done (its suppliers all have an outcome), send the next chunk of its
    run and finish the run if nothing is left.

    With `continue_here`, when no other run or chunk waits for the workers, the next chunk
    is not sent but taken (marked sent) and its id returned, for the caller to execute at
    once: no round trip through the broker while nobody else needs the slot."""
    now = timezone.now()
    chunk = PreviewChunk.objects.filter(pk=chunk_id).values("run_id").first()
    if chunk is None:
        return None
    run_id = chunk["run_id"]
    PreviewChunk.objects.filter(
        pk=chunk_id, status=PreviewChunk.Status.RUNNING, worker_token=token
    ).update(status=PreviewChunk.Status.DONE, finished_at=now, worker_token="")
    taken = _take_next_chunk(run_id) if continue_here and not _others_waiting(run_id) else None
    if taken is None:
        dispatch_next_chunks(run_id=run_id)
        finish_run(run_id=run_id)
    return taken


def _others_waiting(run_id: int) -> bool:
    """Whether other work was sent to the workers and not started yet."""
    return (
        PreviewRun.objects.filter(status=PreviewRun.Status.QUEUED, dispatched_at__isnull=False)
        .exclude(pk=run_id)
        .exists()
        or PreviewChunk.objects.filter(
            status=PreviewChunk.Status.QUEUED, dispatched_at__isnull=False
        )
        .exclude(run_id=run_id)
        .exists()
    )


def _take_next_chunk(run_id: int) -> int | None:
    """The run's next waiting chunk, marked sent (so nobody else sends it); None if none."""
    waiting = PreviewChunk.objects.filter(
        run_id=run_id,
        run__status=PreviewRun.Status.RUNNING,
        status=PreviewChunk.Status.QUEUED,
        dispatched_at__isnull=True,
    )
    for chunk_id in waiting.order_by("index").values_list("pk", flat=True)[:3]:
        if PreviewChunk.objects.filter(pk=chunk_id, dispatched_at__isnull=True).update(
            dispatched_at=timezone.now()
        ):
            return chunk_id
    return None


def fail_chunk(*, chunk_id: int, kind: str) -> None:
    """End a chunk that cannot finish: its unanswered suppliers fail for `kind`'s reason
    (the rest of the run goes on), and the run finishes if that was all."""
    chunk = PreviewChunk.objects.filter(pk=chunk_id).first()
    if chunk is None:
        return
    reason = failures.stored_reason(kind)
    now = timezone.now()
    with transaction.atomic():
        SupplierPreview.objects.filter(
            pk__in=chunk.supplier_ids, status=SupplierPreview.Status.PENDING
        ).update(
            status=SupplierPreview.Status.FAILED, reason=reason, error_kind=kind, finished_at=now
        )
        PreviewChunk.objects.filter(pk=chunk_id).exclude(status=PreviewChunk.Status.DONE).update(
            status=PreviewChunk.Status.DONE, finished_at=now, worker_token=""
        )
    dispatch_next_chunks(run_id=chunk.run_id)
    finish_run(run_id=chunk.run_id)


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
        PreviewChunk.objects.filter(run_id=run_id).exclude(status=PreviewChunk.Status.DONE).update(
            status=PreviewChunk.Status.DONE, finished_at=now, worker_token=""
        )
        summaries.store_run_summary(run_id=run_id)


# --------------------------------------------------------------------------- recovering


def recover_runs() -> dict[str, int]:
    """One pass of the recovery (see recovery.py); returns how many runs each step changed."""
    resumed, given_up = requeue_abandoned_runs()
    chunks_resumed, chunks_given_up = requeue_abandoned_chunks()
    return {
        "resumed": resumed,
        "failed_worker_lost": given_up,
        "failed_overdue": fail_overdue_runs(),
        "resent": forget_lost_sends(),
        "sent": dispatch_waiting_runs(),
        "chunks_resumed": chunks_resumed,
        "chunks_failed_worker_lost": chunks_given_up,
        "chunks_failed_overdue": fail_overdue_chunks(),
        "chunks_resent": forget_lost_chunk_sends(),
        "chunks_sent": dispatch_waiting_chunks(),
        "finished": finish_answered_runs(),
    }


def _chunked() -> Exists:
    return Exists(PreviewChunk.objects.filter(run_id=OuterRef("pk")))


def requeue_abandoned_runs() -> tuple[int, int]:
    """Running runs whose execution stopped beating go back to the queue (dispatched again
    by `dispatch_waiting_runs`), or fail once they have been started too often.
    Returns (put back, failed)."""
    cutoff = timezone.now() - timedelta(seconds=settings.PREVIEW_WORKER_LOST_AFTER_SECONDS)
    dead = abandoned_since(cutoff)
    abandoned = PreviewRun.objects.filter(dead, ~_chunked(), status=PreviewRun.Status.RUNNING)
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
    overdue = PreviewRun.objects.filter(
        ~_chunked(), status=PreviewRun.Status.RUNNING, started_at__lt=cutoff
    )
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


def requeue_abandoned_chunks() -> tuple[int, int]:
    """Chunks whose execution stopped beating go back to the queue (sent again by
    `dispatch_waiting_chunks`: only their unanswered suppliers are asked), or, once started
    PREVIEW_MAX_EXECUTIONS times, their unanswered suppliers fail. Returns (back, failed)."""
    cutoff = timezone.now() - timedelta(seconds=settings.PREVIEW_WORKER_LOST_AFTER_SECONDS)
    dead = abandoned_since(cutoff)
    abandoned = PreviewChunk.objects.filter(dead, status=PreviewChunk.Status.RUNNING)
    requeued = failed = 0
    for chunk_id, token, executions in abandoned.values_list("pk", "worker_token", "executions"):
        if executions >= settings.PREVIEW_MAX_EXECUTIONS:
            fail_chunk(chunk_id=chunk_id, kind=failures.WORKER_LOST)
            failed += 1
            continue
        requeued += PreviewChunk.objects.filter(
            dead, pk=chunk_id, status=PreviewChunk.Status.RUNNING, worker_token=token
        ).update(
            status=PreviewChunk.Status.QUEUED,
            dispatched_at=None,
            worker_token="",
            heartbeat_at=None,
        )
    if requeued or failed:
        logger.warning("chunks whose worker died: %d put back in the queue, %d failed",
                       requeued, failed)  # fmt: skip
    return requeued, failed


def fail_overdue_chunks() -> int:
    """Fail the unanswered suppliers of chunks executing for longer than any may take."""
    cutoff = timezone.now() - timedelta(seconds=settings.PREVIEW_STALE_AFTER_SECONDS)
    overdue = PreviewChunk.objects.filter(
        status=PreviewChunk.Status.RUNNING, started_at__lt=cutoff
    ).values_list("pk", flat=True)
    count = 0
    for chunk_id in overdue:
        fail_chunk(chunk_id=chunk_id, kind=failures.TIME_LIMIT)
        count += 1
    return count


def forget_lost_chunk_sends() -> int:
    """A chunk sent long ago and never started lost its message: send it again."""
    cutoff = timezone.now() - timedelta(seconds=settings.PREVIEW_STALE_AFTER_SECONDS)
    return PreviewChunk.objects.filter(
        status=PreviewChunk.Status.QUEUED, dispatched_at__lt=cutoff
    ).update(dispatched_at=None)


def dispatch_waiting_chunks(*, older_than: timedelta = timedelta(seconds=3)) -> int:
    """Send the waiting chunks of running runs whose lanes are not full: chunks put back
    after a dead worker, or whose send failed (the broker was away). Chunks younger than
    `older_than` are left to the execution that planned them."""
    runs = (
        PreviewChunk.objects.filter(
            status=PreviewChunk.Status.QUEUED,
            dispatched_at__isnull=True,
            created_at__lte=timezone.now() - older_than,
            run__status=PreviewRun.Status.RUNNING,
        )
        .values_list("run_id", flat=True)
        .distinct()
    )
    return sum(dispatch_next_chunks(run_id=run_id) for run_id in list(runs))


def finish_answered_runs() -> int:
    """Finish the chunked runs whose every supplier has its outcome (an execution that
    died between storing the last answer and finishing the run)."""
    waiting = SupplierPreview.objects.filter(
        run_id=OuterRef("pk"), status=SupplierPreview.Status.PENDING
    )
    answered = PreviewRun.objects.filter(
        _chunked(), ~Exists(waiting), status=PreviewRun.Status.RUNNING
    ).values_list("pk", flat=True)
    return sum(finish_run(run_id=run_id) for run_id in list(answered))
