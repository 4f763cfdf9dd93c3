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
    name: str = "test",
):
    """Run a real `celery worker` process (under `manage.py run_worker` when supervised);
    stop it and its children at the end. Several at once need different `name`s."""
    log_file = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115
    options = [
        "--loglevel=INFO", f"--concurrency={concurrency}",
        "--without-gossip", "--without-mingle", "--hostname", f"{name}-{os.getpid()}@%h",
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
def web_server(env: dict[str, str], *, log: Path, workers: int = 1, threads: int = 4,
               access_log: bool = True):  # fmt: skip
    """The product served by gunicorn (as in production) in its own process on a free
    port, with its access log (unless not wanted), error log and Django's log written to
    `log`; yields its base URL."""
    import requests

    port = free_port()
    log_file = open(log, "ab")  # noqa: SIM115
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "procurement.wsgi", "--bind", f"127.0.0.1:{port}",
         "--workers", str(workers), "--threads", str(threads), "--error-logfile", "-",
         *(["--access-logfile", "-"] if access_log else [])],
        cwd=ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"

    def ready():
        if process.poll() is not None:
            raise AssertionError(f"the web server exited at start-up: {log.read_text()[-2000:]}")
        try:
            return requests.get(f"{url}/accounts/login/", timeout=5).status_code == 200
        except (requests.ConnectionError, requests.Timeout):  # still starting
            return False

    try:
        wait_until(ready, timeout=30, what="the web server to listen")
        yield url
    finally:
        stop_process_group(process)
        log_file.close()


def sandbox_calls(url: str) -> dict:
    """How many preview calls the sandbox received: {"total": n, "by_offer": {offer: n}}."""
    import requests

    return requests.get(f"{url}/calls", timeout=5).json()


# --------------------------------------------------------------------------- PostgreSQL

POSTGRESQL_BINARIES = "/usr/lib/postgresql"


def postgresql_bin() -> Path:
    """The newest PostgreSQL server binaries on this machine (Debian's layout)."""
    found = sorted(Path(POSTGRESQL_BINARIES).glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]))
    if not found:
        require_service(f"no PostgreSQL server binaries under {POSTGRESQL_BINARIES}")
    return found[-1].parent


class PrivatePostgreSQL:
    """A PostgreSQL server of the test's own, on a free port in a temporary folder, with
    trust authentication; the test may stop, start and restart it at will (the shared
    cluster others use is never touched). As root, the server runs as `postgres`."""

    def __init__(self):
        import pwd
        import tempfile

        self.bin = postgresql_bin()
        self.port = free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="private-pg-"))
        self.data = self.folder / "data"
        self.as_user: list[str] = []
        if os.geteuid() == 0:  # initdb and postgres refuse to run as root
            try:
                owner = pwd.getpwnam("postgres")
            except KeyError:
                require_service("no `postgres` user to run a private PostgreSQL server as")
            os.chown(self.folder, owner.pw_uid, owner.pw_gid)
            self.as_user = ["runuser", "-u", "postgres", "--"]

    def url(self, database: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, *command: str, timeout: float = 60) -> None:
        # Output to a file, not a pipe: a server started by pg_ctl would hold a pipe open.
        output = self.folder / "commands.log"
        with open(output, "ab") as sink:
            done = subprocess.run(
                [*self.as_user, *command], timeout=timeout, stdout=sink, stderr=sink
            )
        if done.returncode:
            raise AssertionError(f"{command[0]} failed: {output.read_text()[-2000:]}")

    def _pg_ctl(self, action: str, *options: str) -> None:
        self._run(str(self.bin / "pg_ctl"), action, "-D", str(self.data), "-w", "-t", "60",
                  *options)  # fmt: skip

    def init(self) -> None:
        self._run(str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres",
                  "-A", "trust", "-E", "UTF8", "--no-locale", "--no-sync")  # fmt: skip
        server_options = (f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 "
                          "-c fsync=off -c full_page_writes=off")  # fmt: skip
        self._pg_ctl("start", "-l", str(self.folder / "server.log"), "-o", server_options)

    def restart(self) -> None:
        """A fast restart: every open connection is cut, as in a real database restart."""
        self._pg_ctl("restart", "-m", "fast", "-l", str(self.folder / "server.log"))

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._pg_ctl("stop", "-m", "immediate")

    def execute(self, database: str, sql: str, params=()) -> list[tuple]:
        """One statement on a fresh connection (so it works across restarts)."""
        import psycopg

        with psycopg.connect(self.url(database), autocommit=True, connect_timeout=5) as conn:
            cursor = conn.execute(sql, params)
            return cursor.fetchall() if cursor.description else []

    def log(self) -> str:
        path = self.folder / "server.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def remove(self) -> None:
        import shutil

        try:
            self.stop()
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)


@contextlib.contextmanager
def private_postgresql():
    """Start a `PrivatePostgreSQL`; stop and delete it at the end."""
    server = PrivatePostgreSQL()
    try:
        server.init()
        yield server
    finally:
        server.remove()


def run_django(env: dict[str, str], function: str, *args) -> object:
    """Call `function` ("module:name") in a child Python process with Django set up in
    `env` (e.g. another DATABASE_URL); return what it returned, through JSON."""
    import json

    module, name = function.split(":")
    code = (
        "import json, sys, django; django.setup(); from importlib import import_module; "
        f"result = getattr(import_module({module!r}), {name!r})(*json.loads(sys.argv[1])); "
        "print('RESULT=' + json.dumps(result))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, json.dumps(list(args))],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    if done.returncode:
        raise AssertionError(f"{function} failed in a child process:\n{done.stderr[-3000:]}")
    line = next(x for x in reversed(done.stdout.splitlines()) if x.startswith("RESULT="))
    return json.loads(line.removeprefix("RESULT="))
