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
* sends the runs saved while the broker was down;
* does the same chunk by chunk for runs executed in chunks (runs.py): a chunk whose worker
  died goes back to the queue (or, after PREVIEW_MAX_EXECUTIONS starts, its unanswered
  suppliers fail while the rest of the run goes on), a chunk executing past
  PREVIEW_STALE_AFTER_SECONDS fails its unanswered suppliers, a lost chunk send is sent
  again, waiting chunks are sent while their run has fewer than PREVIEW_RUN_LANES in
  flight, and a run whose every supplier has its outcome is finished;
* does the same for offer lookup batches (`lookups.recover_batches`): a batch whose worker
  died is sent again (only its waiting offers are looked up) or, after
  PREVIEW_MAX_EXECUTIONS starts, its waiting offers fail in words; a lost send is sent
  again; a batch saved while the broker was down is sent;
* and for orders (`orders.recover_orders`): an order attempt left "claimed" or "sent" by
  a dead worker becomes "outcome unknown" (never sent again), unknown attempts are looked
  for in the buyer's orders by their marker, an approved request whose placing task was
  lost is sent again, and placed orders' status is read every
  ORDER_REFRESH_INTERVAL_SECONDS.
* fetches the day's reference exchange rates when CURRENCY_RATES_URL is set
  (`rates.fetch_rates_if_due`: one worker a day, by a claimed row).

The rules themselves live with the rest of a run's life in runs.py (`recover_runs`).
Every step is a conditional UPDATE, so several workers (or a page's "Try sending now"
button) running it at once change a run once; whoever looks, the outcome is the same.
"""

from __future__ import annotations

import logging
import threading

from django.conf import settings
from django.db import connections

from . import lookups, orders, rates, runs

logger = logging.getLogger(__name__)


class RecoveryTimer(threading.Thread):
    """`runs.recover_runs` at once and then every PREVIEW_RECOVERY_INTERVAL seconds, in a
    daemon thread of the worker process (on any broker; no beat process to run)."""

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
            counts = runs.recover_runs()
            counts.update(lookups.recover_batches())
            counts.update(orders.recover_orders())
        except Exception:  # the database or broker is away: the next tick tries again
            logger.exception("run recovery failed; trying again at the next tick")
            return None
        finally:
            # Hold no connection between ticks (a restarted database would leave it dead).
            connections.close_all()
        if any(counts.values()):
            logger.info("run recovery: %s", counts)
        counts["rates_fetched"] = RecoveryTimer.fetch_rates()
        return counts

    @staticmethod
    def fetch_rates() -> int:
        """The daily reference rates (rates.fetch_rates_if_due), by one worker a day; its
        failure never stops the recovery."""
        try:
            return rates.fetch_rates_if_due()
        except Exception:
            logger.exception("fetching the reference rates failed; trying again later")
            return 0
        finally:
            connections.close_all()
