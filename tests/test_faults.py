"""Faults against real services: a hanging gateway, Redis restarting mid-run, PostgreSQL
restarting between runs. Every run ends done or failed with a reason; nothing twice."""

import shutil
import subprocess
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from previews.models import PreviewRecord, PreviewRun, SupplierPreview

from .conftest import start_run, wait_for_status
from .processes import (
    celery_worker,
    child_database_url,
    child_env,
    sandbox_process,
    wait_until,
)

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def finished(run_id, timeout=60) -> PreviewRun:
    return wait_for_status(run_id, finished=True, timeout=timeout)


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
            first = start_run(buyer, address, lines)
            wait_for_status(first.pk)
            other_address, other_lines = stocked_cart(
                other_buyer, {"quick": [(612345001100, "", 1)]}
            )
            second = start_run(other_buyer, other_address, other_lines)
            second = finished(second.pk)
            first = finished(first.pk)
    assert second.status == "done" and second.finished_at < first.finished_at
    assert first.status == "done"
    hung = SupplierPreview.objects.get(run=first, supplier_name="hangs")
    assert hung.status == "failed" and "did not answer within 1 s" in hung.reason
    assert hung.attempts == 2 and hung.duration_ms < 10_000
    assert SupplierPreview.objects.get(run=first, supplier_name="fine").status == "ok"


def test_redis_restarting_mid_run_loses_nothing_and_the_worker_goes_on(
    buyer, stocked_cart, sandbox_url, private_redis, tmp_path
):
    private_redis.start()
    env = child_env(DATABASE_URL=child_database_url(), DAJI_API_URL=sandbox_url,
                    CELERY_BROKER_URL=private_redis.url,
                    PROCUREMENT_VAR_DIR=str(settings.VAR_DIR))  # fmt: skip
    address, lines = stocked_cart(
        buyer, {"slow": [(613333001952, "", 1)], "fine": [(670291644950, "", 1)]}
    )
    with celery_worker(env, log=tmp_path / "worker.log", supervised=True):
        run = start_run(buyer, address, lines)
        wait_for_status(run.pk)
        private_redis.stop()
        time.sleep(1)
        private_redis.start()
        run = finished(run.pk)
        # afterwards the worker still consumes new runs
        later = start_run(buyer, address, lines[1:])
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
        first = finished(start_run(buyer, address, lines).pk)
        connection.close()
        subprocess.run(
            ["pg_ctlcluster", "--skip-systemctl-redirect", cluster, "main", "restart",
             "-m", "fast"],
            check=True, timeout=60,
        )  # fmt: skip
        wait_until(_database_answers, timeout=30, what="PostgreSQL to come back")
        second = finished(start_run(buyer, address, lines).pk)
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
