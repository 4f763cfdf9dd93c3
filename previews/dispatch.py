"""Sending a background job to the workers once, however many callers try at once.

A job (a preview run, a lookup batch) is a row with a `dispatched_at` column. The send is
claimed by a conditional UPDATE on the rows still waiting, so of concurrent callers
exactly one publishes the task; if the broker cannot be reached the claim is given back
and the row waits for the workers' recovery schedule.
"""

from __future__ import annotations

import logging

from celery import current_app
from django.db.models import QuerySet
from django.utils import timezone

logger = logging.getLogger(__name__)


def send_once(*, waiting: QuerySet, job_id: int, task: str) -> bool:
    """Publish `task(job_id)` if the row `job_id` of `waiting` (the rows still waiting to
    be sent) can be claimed. Returns False only when the broker is away (the claim is
    given back); True when this call or an earlier one sent it, or it is not waiting."""
    claimed_at = timezone.now()
    if not waiting.filter(pk=job_id, dispatched_at__isnull=True).update(dispatched_at=claimed_at):
        return True
    try:
        current_app.send_task(task, args=[job_id], retry=False)
    except Exception as problem:  # kombu raises several kinds when the broker is away
        logger.warning("%s %s not sent, the broker is unreachable: %s", task, job_id, problem)
        waiting.model.objects.filter(pk=job_id, dispatched_at=claimed_at).update(dispatched_at=None)
        return False
    return True
