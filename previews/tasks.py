"""Celery entry points: thin, they take ids and call the use cases (execution, runs).

Nothing imports this module to send a task: tasks are sent by name (runs.EXECUTE_RUN_TASK).
"""

import os
import socket

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from celery.signals import worker_ready, worker_shutdown
from django import db

from . import execution, failures, lookups, orders, recovery, runs


@shared_task(name="previews.ping", ignore_result=False)
def ping(token: str) -> dict:
    """Answer with the token and who ran it: proves a worker consumes the queue."""
    return {"token": token, "host": socket.gethostname(), "pid": os.getpid()}


@shared_task(name=runs.EXECUTE_RUN_TASK)
def execute_preview_run(run_id: int) -> None:
    """Start a run: plan its chunks, send some to the workers, execute the first here
    (acks late: redelivered if the worker process dies).

    A delivery of a run that another live execution is planning, or that is planned or
    finished, does nothing; one whose planning died (no heartbeat) takes it over.
    """
    try:
        execution.start_run(run_id=run_id)
    except SoftTimeLimitExceeded:
        runs.fail_run(run_id=run_id, kind=failures.TIME_LIMIT)


@shared_task(name=runs.EXECUTE_CHUNK_TASK)
def execute_preview_chunk(chunk_id: int) -> None:
    """Preview the unanswered suppliers of one chunk of a run (a second delivery of a
    chunk another live execution works on does nothing)."""
    try:
        execution.execute_chunk(chunk_id=chunk_id)
    except SoftTimeLimitExceeded:
        runs.fail_chunk(chunk_id=chunk_id, kind=failures.TIME_LIMIT)


@shared_task(name=lookups.EXECUTE_LOOKUP_TASK)
def execute_lookup_batch(batch_id: int) -> None:
    """Look up every waiting offer of a batch (a second delivery asks nothing again)."""
    lookups.execute_batch(batch_id=batch_id)


@shared_task(name=orders.PLACE_TASK)
def place_order_request(request_id: int) -> None:
    """Place the approved parts of an order request. A second delivery (or a concurrent
    one) sends nothing again: each part is claimed before its create is sent."""
    orders.place_request(request_id=request_id)


_timer: recovery.RecoveryTimer | None = None


@worker_ready.connect
def _start_recovery(**_kwargs):
    """Every worker recovers runs on a schedule: it sends runs the broker missed and takes
    back runs whose worker died, whether or not anyone opens a page (see recovery.py)."""
    global _timer
    # Pool processes forked later must not inherit this process's connections.
    db.connections.close_all()
    _timer = recovery.RecoveryTimer()
    _timer.start()


@worker_shutdown.connect
def _stop_recovery(**_kwargs):
    if _timer is not None:
        _timer.stop()
