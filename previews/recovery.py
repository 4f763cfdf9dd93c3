"""Runs recovered on a schedule, so the outcome of a run never waits for a page view.

Every worker process runs `RecoveryTimer`: when it starts, and then every
PREVIEW_RECOVERY_INTERVAL seconds, it
* puts back in the queue a run whose worker died (no heartbeat for
  PREVIEW_WORKER_LOST_AFTER_SECONDS), so a live worker resumes it and previews only the
  suppliers still unanswered; a run whose worker died PREVIEW_MAX_EXECUTIONS times fails
  ("the worker stopped… run it again") instead of killing more workers;
* fails a run still executing past PREVIEW_STALE_AFTER_SECONDS (the threads pool of the
  embedded broker has no time limit of its own);
* sends again a run sent long ago that no worker ever started (a message lost with the
  worker that had fetched it: the embedded broker deletes a message when it is fetched);
* sends the runs saved while the broker was down.

Every step is a conditional UPDATE, so several workers (or a page's "Try sending now"
button) running it at once change a run once; whoever looks, the outcome is the same.
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

from django.conf import settings
from django.db import connections
from django.utils import timezone

from . import failures, services
from .models import PreviewRun

logger = logging.getLogger(__name__)


def recover_runs() -> dict[str, int]:
    """One pass of the recovery; returns how many runs each step changed."""
    resumed, given_up = requeue_abandoned_runs()
    return {
        "resumed": resumed,
        "failed_worker_lost": given_up,
        "failed_overdue": fail_overdue_runs(),
        "resent": forget_lost_sends(),
        "sent": services.dispatch_waiting_runs(),
    }


def requeue_abandoned_runs() -> tuple[int, int]:
    """Running runs whose execution stopped beating go back to the queue (dispatched again
    by `dispatch_waiting_runs`), or fail once they have been started too often.
    Returns (put back, failed)."""
    cutoff = timezone.now() - timedelta(seconds=settings.PREVIEW_WORKER_LOST_AFTER_SECONDS)
    dead = services.abandoned_since(cutoff)
    abandoned = PreviewRun.objects.filter(dead, status=PreviewRun.Status.RUNNING)
    requeued = failed = 0
    for run_id, token, executions in abandoned.values_list("pk", "worker_token", "executions"):
        if executions >= settings.PREVIEW_MAX_EXECUTIONS:
            services.fail_run(run_id=run_id, kind=failures.WORKER_LOST)
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
        services.fail_run(run_id=run_id, kind=failures.TIME_LIMIT)
        count += 1
    return count


def forget_lost_sends() -> int:
    """A run sent long ago and never started lost its message: mark it unsent, so it is
    sent again (a duplicate message is harmless: only one delivery can claim the run)."""
    cutoff = timezone.now() - timedelta(seconds=settings.PREVIEW_STALE_AFTER_SECONDS)
    return PreviewRun.objects.filter(
        status=PreviewRun.Status.QUEUED, dispatched_at__lt=cutoff
    ).update(dispatched_at=None)


class RecoveryTimer(threading.Thread):
    """`recover_runs` at once and then every PREVIEW_RECOVERY_INTERVAL seconds, in a daemon
    thread of the worker process (on any broker; no beat process to run)."""

    def __init__(self, interval: float | None = None):
        super().__init__(name="run-recovery", daemon=True)
        self.interval = interval or settings.PREVIEW_RECOVERY_INTERVAL
        self._stopping = threading.Event()

    def run(self) -> None:
        while True:
            self.tick()
            if self._stopping.wait(self.interval):
                return

    def stop(self) -> None:
        self._stopping.set()

    @staticmethod
    def tick() -> dict[str, int] | None:
        try:
            counts = recover_runs()
        except Exception:  # the database or broker is away: the next tick tries again
            logger.exception("run recovery failed; trying again at the next tick")
            return None
        finally:
            # Hold no connection between ticks (a restarted database would leave it dead).
            connections.close_all()
        if any(counts.values()):
            logger.info("run recovery: %s", counts)
        return counts
