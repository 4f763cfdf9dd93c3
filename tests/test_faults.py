"""Faults against real services: a hanging gateway, Redis restarting mid-run, PostgreSQL
restarting between runs. Every run ends done or failed with a reason; nothing twice."""

import shutil
import subprocess
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from previews import services
from previews.models import PreviewRecord, PreviewRun, SupplierPreview

from .services import (
    celery_worker,
    child_database_url,
    child_env,
    free_port,
    sandbox_process,
    stop_process_group,
    wait_until,
)

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def start(owner, address, lines) -> PreviewRun:
    run, _ = services.start_preview(
        owner=owner, address=address, lines=lines, flow="general", submission_token=uuid.uuid4()
    )
    return run


def finished(run_id, timeout=60) -> PreviewRun:
    return wait_until(
        lambda: (run := PreviewRun.objects.get(pk=run_id)).is_finished and run,
        timeout=timeout,
        what=f"run {run_id} to finish",
    )


def test_a_hanging_gateway_times_out_and_other_buyers_are_served(
    buyer, other_buyer, stocked_cart, worker_env, tmp_path
):
    with sandbox_process(slow=60) as hanging_sandbox:
        worker_env.update(DAJI_API_URL=hanging_sandbox, DAJI_READ_TIMEOUT="1",
                          DAJI_MAX_ATTEMPTS="2")  # fmt: skip
        address, lines = stocked_cart(
            buyer, {"hangs": [(611111001952, "", 1)], "fine": [(670291644950, "", 1)]}
        )
        with celery_worker(worker_env, concurrency=2, log=tmp_path / "worker.log"):
            first = start(buyer, address, lines)
            wait_until(lambda: PreviewRun.objects.get(pk=first.pk).status == "running",
                       timeout=20)  # fmt: skip
            other_address, other_lines = stocked_cart(
                other_buyer, {"quick": [(612345001100, "", 1)]}
            )
            second = start(other_buyer, other_address, other_lines)
            second = finished(second.pk)
            first = finished(first.pk)
    assert second.status == "done" and second.finished_at < first.finished_at
    assert first.status == "done"
    hung = SupplierPreview.objects.get(run=first, supplier_name="hangs")
    assert hung.status == "failed" and "did not answer within 1 s" in hung.reason
    assert hung.attempts == 2 and hung.duration_ms < 10_000
    assert SupplierPreview.objects.get(run=first, supplier_name="fine").status == "ok"


@pytest.fixture
def private_redis(tmp_path, monkeypatch):
    """A Redis server of the test's own that it may restart; web and worker both use it."""
    from procurement.celery import app as celery_app

    from .conftest import reset_producer_pool

    port = free_port()
    command = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
               "--appendonly", "no", "--dir", str(tmp_path)]  # fmt: skip
    state = {}

    def up():
        import redis

        state["process"] = subprocess.Popen(command, stdout=subprocess.DEVNULL,
                                            start_new_session=True)  # fmt: skip
        client = redis.Redis(port=port, socket_connect_timeout=0.2)

        def pingable():
            try:
                return client.ping()
            except redis.exceptions.ConnectionError:
                return False

        wait_until(pingable, timeout=10, what="the private Redis")

    def down():
        stop_process_group(state["process"])

    url = f"redis://127.0.0.1:{port}/0"
    monkeypatch.delenv("CELERY_BROKER_URL", raising=False)
    saved = (celery_app.conf.broker_url, celery_app.conf.broker_transport_options)
    celery_app.conf.broker_url = url
    celery_app.conf.broker_transport_options = {"visibility_timeout": 300}
    reset_producer_pool()
    up()
    yield url, up, down
    down()
    celery_app.conf.broker_url, celery_app.conf.broker_transport_options = saved
    reset_producer_pool()


def test_redis_restarting_mid_run_loses_nothing_and_the_worker_goes_on(
    buyer, stocked_cart, sandbox_url, private_redis, tmp_path
):
    url, up, down = private_redis
    env = child_env(DATABASE_URL=child_database_url(), DAJI_API_URL=sandbox_url,
                    CELERY_BROKER_URL=url, PROCUREMENT_VAR_DIR=str(settings.VAR_DIR))  # fmt: skip
    address, lines = stocked_cart(
        buyer, {"slow": [(613333001952, "", 1)], "fine": [(670291644950, "", 1)]}
    )
    with celery_worker(env, log=tmp_path / "worker.log", supervised=True):
        run = start(buyer, address, lines)
        wait_until(lambda: PreviewRun.objects.get(pk=run.pk).status == "running", timeout=20)
        down()
        time.sleep(1)
        up()
        run = finished(run.pk)
        # afterwards the worker still consumes new runs
        later = start(buyer, address, lines[1:])
        later = finished(later.pk, timeout=60)
    log = (tmp_path / "worker.log").read_text()
    assert run.status == "done", log[-3000:]
    assert later.status == "done", log[-3000:]
    for each in (run, later):
        for preview in SupplierPreview.objects.filter(run=each):
            assert PreviewRecord.objects.filter(supplier_preview=preview).count() <= 1


def test_postgresql_restarting_between_runs(buyer, stocked_cart, worker_env, tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite is a file: there is no database server to restart")
    cluster = next(Path("/etc/postgresql").iterdir()).name
    if not shutil.which("pg_ctlcluster"):
        pytest.fail("pg_ctlcluster is needed to restart PostgreSQL")
    address, lines = stocked_cart(buyer, {"A": [(670291644950, "", 1)]})
    with celery_worker(worker_env, log=tmp_path / "worker.log"):
        first = finished(start(buyer, address, lines).pk)
        connection.close()
        subprocess.run(
            ["pg_ctlcluster", "--skip-systemctl-redirect", cluster, "main", "restart",
             "-m", "fast"],
            check=True, timeout=60,
        )  # fmt: skip
        wait_until(_database_answers, timeout=30, what="PostgreSQL to come back")
        second = finished(start(buyer, address, lines).pk)
    assert (first.status, second.status) == ("done", "done")
    assert PreviewRecord.objects.filter(supplier_preview__run=second).count() == 1


def _database_answers() -> bool:
    from django.db.utils import OperationalError

    try:
        connection.close()
        connection.ensure_connection()
        return True
    except OperationalError:
        return False
