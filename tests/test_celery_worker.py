"""A real worker process consumes tasks, on the embedded broker and on Redis."""

import os
import signal
import uuid
from pathlib import Path

import pytest
from celery import Celery

from .processes import celery_worker, child_env, redis_url, wait_until

pytestmark = pytest.mark.worker


@pytest.fixture(autouse=True)
def _explicit_broker_only(monkeypatch):
    # Celery lets these variables override a client app's own broker= and backend=.
    monkeypatch.delenv("CELERY_BROKER_URL", raising=False)
    monkeypatch.delenv("CELERY_RESULT_BACKEND", raising=False)


def client_app(broker: str, backend: str, transport_options: dict | None = None) -> Celery:
    app = Celery("test-client", broker=broker, backend=backend)
    app.conf.broker_transport_options = transport_options or {}
    return app


def embedded(tmp_path):
    folder = tmp_path / "broker"
    for sub in ("queue", "control", "results"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    app = client_app(
        "filesystem://",
        f"file://{folder / 'results'}",
        {"data_folder_in": str(folder / "queue"), "data_folder_out": str(folder / "queue"),
         "control_folder": str(folder / "control")},
    )  # fmt: skip
    env = child_env(CELERY_BROKER_DIR=str(folder), PROCUREMENT_VAR_DIR=str(tmp_path / "var"))
    env.pop("CELERY_BROKER_URL", None)
    return app, env


def on_redis(tmp_path):
    url = redis_url()
    import redis

    redis.Redis.from_url(url).flushdb()
    app = client_app(url, url)
    env = child_env(CELERY_BROKER_URL=url, PROCUREMENT_VAR_DIR=str(tmp_path / "var"))
    return app, env


@pytest.mark.parametrize("broker", [embedded, on_redis], ids=["embedded", "redis"])
def test_round_trip_through_a_real_worker(tmp_path, broker):
    app, env = broker(tmp_path)
    token = uuid.uuid4().hex
    with celery_worker(env, log=tmp_path / "worker.log"):
        result = app.send_task("previews.ping", args=[token])
        answer = result.get(timeout=60)
    assert answer["token"] == token
    assert answer["pid"] > 0


@pytest.mark.parametrize("broker", [embedded, on_redis], ids=["embedded", "redis"])
def test_task_queued_while_worker_is_stopped_runs_when_it_starts(tmp_path, broker):
    app, env = broker(tmp_path)
    token = uuid.uuid4().hex
    result = app.send_task("previews.ping", args=[token])
    with pytest.raises(Exception, match="time"):
        result.get(timeout=1)  # no worker yet: nothing answers
    with celery_worker(env, log=tmp_path / "worker.log"):
        assert result.get(timeout=60)["token"] == token


def test_a_killed_supervisor_takes_its_worker_with_it(tmp_path):
    """`manage.py run_worker` killed with SIGKILL (no chance to clean up) must not leave an
    unsupervised worker taking runs behind it."""
    app, env = embedded(tmp_path)
    with celery_worker(env, log=tmp_path / "worker.log", supervised=True) as supervisor:
        token = uuid.uuid4().hex
        worker_pid = app.send_task("previews.ping", args=[token]).get(timeout=60)["pid"]
        os.kill(supervisor.pid, signal.SIGKILL)
        supervisor.wait(timeout=10)
        wait_until(lambda: not _alive(worker_pid), timeout=30, what="the worker to stop")


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(") ")[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"  # a zombie has stopped; only its exit status is left to collect
