"""Celery entry points: thin, they take ids and call services."""

import logging
import os
import socket

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from celery.signals import worker_ready
from django import db

from . import services

logger = logging.getLogger(__name__)


@shared_task(name="previews.ping", ignore_result=False)
def ping(token: str) -> dict:
    """Answer with the token and who ran it: proves a worker consumes the queue."""
    return {"token": token, "host": socket.gethostname(), "pid": os.getpid()}


@shared_task(name="previews.execute_preview_run")
def execute_preview_run(run_id: int) -> None:
    """Preview every supplier of a run (acks late: redelivered if the worker dies)."""
    try:
        services.execute_run(run_id=run_id)
    except SoftTimeLimitExceeded:
        services.fail_run(run_id=run_id, kind="time_limit")


@worker_ready.connect
def _recover_on_start(**_kwargs):
    """A worker coming up ends runs left by a dead worker and sends runs the broker missed."""
    try:
        swept = services.sweep_stale_runs()
        sent = services.dispatch_waiting_runs()
    finally:
        # Pool processes forked later must not inherit this process's connections.
        db.connections.close_all()
    if swept or sent:
        logger.info("worker start: %d stale run(s) failed, %d waiting run(s) sent", swept, sent)
