"""Helpers that start real processes for the tests: a Celery worker, the sandbox.

A test that needs a service (Redis, PostgreSQL) and finds none fails under CI=true and
only skips on a developer's machine, with the reason.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def require_service(reason: str) -> None:
    """Skip on a developer machine; fail in CI, where every service must be present."""
    if IN_CI:
        pytest.fail(f"{reason} (CI must provide it: see .ci/run)")
    pytest.skip(reason)


def redis_url() -> str:
    url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.exceptions.ConnectionError:
        require_service(f"Redis is not reachable at {url}")
    return url


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def child_database_url() -> str:
    """The URL of the test database pytest-django made, for child processes."""
    s = connection.settings_dict
    if s["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{Path(s['NAME']).resolve()}"
    auth = ""
    if s.get("USER"):
        auth = quote(s["USER"], safe="")
        if s.get("PASSWORD"):
            auth += ":" + quote(s["PASSWORD"], safe="")
        auth += "@"
    host = s.get("HOST") or "127.0.0.1"
    port = f":{s['PORT']}" if s.get("PORT") else ""
    return f"postgres://{auth}{host}{port}/{s['NAME']}"


def child_env(**overrides: str) -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("DJANGO_SETTINGS_MODULE", "procurement.settings")
    env.update(overrides)
    return env


@contextlib.contextmanager
def celery_worker(
    env: dict[str, str],
    *,
    concurrency: int = 2,
    log: Path | None = None,
    supervised: bool = False,
):
    """Run a real `celery worker` process (under `manage.py run_worker` when supervised);
    stop it and its children at the end."""
    log_file = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115
    options = [
        "--loglevel=INFO", f"--concurrency={concurrency}",
        "--without-gossip", "--without-mingle", "--hostname", f"test-{os.getpid()}@%h",
    ]  # fmt: skip
    if supervised:
        command = [sys.executable, "manage.py", "run_worker", "--restart-delay", "0.5", "--",
                   *options]  # fmt: skip
    else:
        command = [sys.executable, "-m", "celery", "-A", "procurement", "worker", *options]
    process = subprocess.Popen(
        command,
        cwd=ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    try:
        yield process
    finally:
        stop_process_group(process)
        if log:
            log_file.close()


def stop_process_group(process: subprocess.Popen, *, sig: int = signal.SIGTERM) -> None:
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)


def wait_until(predicate, *, timeout: float, interval: float = 0.1, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


@contextlib.contextmanager
def sandbox_process(*args: str, latency: float = 0.0, slow: float = 3.0):
    """The sandbox gateway in its own process on a free port; yields its base URL."""
    import requests

    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "previews.sandbox", "--port", str(port),
         "--latency", str(latency), "--slow", str(slow), *args],
        cwd=ROOT, env=child_env(SANDBOX_QUIET="1"), start_new_session=True,
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"

    def ready():
        if process.poll() is not None:
            raise AssertionError("the sandbox exited at start-up")
        try:
            return requests.get(url, timeout=0.5).status_code == 200
        except requests.ConnectionError:
            return False

    try:
        wait_until(ready, timeout=20, what="the sandbox to listen")
        yield url
    finally:
        stop_process_group(process)


@contextlib.contextmanager
def web_server(env: dict[str, str], *, log: Path):
    """The product served by gunicorn (as in production) in its own process on a free
    port, with its access log, error log and Django's log written to `log`; yields its
    base URL."""
    import requests

    port = free_port()
    log_file = open(log, "ab")  # noqa: SIM115
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "procurement.wsgi", "--bind", f"127.0.0.1:{port}",
         "--workers", "1", "--threads", "4", "--access-logfile", "-", "--error-logfile", "-"],
        cwd=ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"

    def ready():
        if process.poll() is not None:
            raise AssertionError(f"the web server exited at start-up: {log.read_text()[-2000:]}")
        try:
            return requests.get(f"{url}/accounts/login/", timeout=1).status_code == 200
        except requests.ConnectionError:
            return False

    try:
        wait_until(ready, timeout=30, what="the web server to listen")
        yield url
    finally:
        stop_process_group(process)
        log_file.close()
