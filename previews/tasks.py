"""Celery entry points: thin, they take ids and call services."""

from celery import shared_task


@shared_task(name="previews.ping", ignore_result=False)
def ping(token: str) -> dict:
    """Answer with the token and who ran it: proves a worker consumes the queue."""
    import os
    import socket

    return {"token": token, "host": socket.gethostname(), "pid": os.getpid()}
