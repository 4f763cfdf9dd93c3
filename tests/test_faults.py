"""Faults against real services: a hanging gateway, Redis restarting mid-run, a private
PostgreSQL server restarting mid-run and between runs. Every run ends done or failed with
a reason; nothing twice."""

import contextlib
import subprocess
import sys
import time

import pytest
from django.conf import settings

from previews.models import PreviewRecord, PreviewRun, SupplierPreview

from .conftest import start_run, wait_for_status
from .processes import (
    ROOT,
    celery_worker,
    child_database_url,
    child_env,
    private_postgresql,
    run_django,
    sandbox_calls,
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


# --------------------------------------------------------------------------- PostgreSQL
# A server of the test's own (never the shared cluster): it runs in both CI passes, since
# the worker is pointed at it whatever DATABASE_URL the suite uses.

SUPPLIERS = {
    "A": [(670291644950, "", 1)],
    "B": [(612345001100, "", 2)],
    "C": [(623456001200, "", 3)],
    "D": [(634567001100, "", 4)],
}


def start_run_in_child(suppliers: dict) -> int:
    """(In a child process on the private server) a buyer, an address and a cart; start a
    run as the preview form does, sent to the broker after commit."""
    from django.contrib.auth import get_user_model

    from previews.models import CartLine, ShippingAddress, Supplier

    from .conftest import ADDRESS_FORM

    buyer, _ = get_user_model().objects.get_or_create(username="pg-buyer")
    address = ShippingAddress.objects.create(
        owner=buyer, **{**ADDRESS_FORM, "province_text": "浙江省", "city_text": "杭州市",
                        "area_text": "滨江区"},
    )  # fmt: skip
    lines = []
    for name, items in suppliers.items():
        supplier, _ = Supplier.objects.get_or_create(owner=buyer, name=name)
        lines += [
            CartLine.objects.get_or_create(
                owner=buyer, supplier=supplier, offer_id=offer_id, spec_id=spec_id,
                defaults={"quantity": quantity},
            )[0]
            for offer_id, spec_id, quantity in items
        ]  # fmt: skip
    return start_run(buyer, address, lines).pk


@pytest.fixture(scope="module")
def private_pg():
    """A private PostgreSQL server with a migrated template database."""
    with private_postgresql() as server:
        server.execute("postgres", "CREATE DATABASE previews_template")
        migrate = subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput"],
            cwd=ROOT, env=child_env(DATABASE_URL=server.url("previews_template")),
            capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert migrate.returncode == 0, migrate.stderr[-3000:]
        yield server


@pytest.fixture
def private_pg_env(private_pg, private_broker, request):
    """Environment of the web and worker processes on a fresh database of the private
    server (copied from the migrated template)."""
    database = f"previews_{request.node.name[5:40].lower()}"
    private_pg.execute("postgres", f'CREATE DATABASE "{database}" TEMPLATE previews_template')
    env = child_env(DATABASE_URL=private_pg.url(database), DAJI_MAX_ATTEMPTS="1",
                    PROCUREMENT_VAR_DIR=str(settings.VAR_DIR))  # fmt: skip
    env.pop("CELERY_BROKER_URL", None)
    env.update(private_broker)
    env["TEST_DATABASE"] = database
    return env


def run_state(server, database: str, run_id: int) -> tuple[str, list[str], int]:
    """(run status, suppliers' statuses, records stored), read straight from the server."""
    [(status,)] = server.execute(
        database, "SELECT status FROM previews_previewrun WHERE id = %s", [run_id]
    )
    suppliers = [row[0] for row in server.execute(
        database, "SELECT status FROM previews_supplierpreview WHERE run_id = %s "
        "ORDER BY position", [run_id])]  # fmt: skip
    [(records,)] = server.execute(
        database,
        "SELECT count(*) FROM previews_previewrecord r JOIN previews_supplierpreview s "
        "ON r.supplier_preview_id = s.id WHERE s.run_id = %s",
        [run_id],
    )
    return status, suppliers, records


def wait_finished_on(server, database: str, run_id: int, timeout: float):
    """The run's state once finished, or as it stands after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(Exception):  # the server may be restarting
            state = run_state(server, database, run_id)
            if state[0] in ("done", "failed") or time.monotonic() > deadline:
                return state
        time.sleep(0.2)


def test_postgresql_restarting_mid_run_keeps_the_outcome(private_pg, private_pg_env, tmp_path):
    database = private_pg_env["TEST_DATABASE"]
    with sandbox_process(latency=6) as slow_sandbox:
        private_pg_env["DAJI_API_URL"] = slow_sandbox
        with celery_worker(private_pg_env, log=tmp_path / "worker.log"):
            run_id = run_django(private_pg_env, "tests.test_faults:start_run_in_child", SUPPLIERS)
            wait_until(lambda: run_state(private_pg, database, run_id)[0] == "running",
                       timeout=60, what="the run to start")  # fmt: skip
            private_pg.restart()  # while every supplier's call is in flight (6 s each)
            status, suppliers, _records = run_state(private_pg, database, run_id)
            assert status == "running" and set(suppliers) == {"pending"}, "not mid-run"
            status, suppliers, records = wait_finished_on(private_pg, database, run_id, 60)
        calls = sandbox_calls(slow_sandbox)
    log = (tmp_path / "worker.log").read_text()
    assert (status, suppliers) == ("done", ["ok"] * 4), log[-4000:]
    assert records == 4
    assert calls["total"] == 4  # every supplier asked once: no answer lost and asked again


def test_postgresql_restarting_between_runs(private_pg, private_pg_env, sandbox_url, tmp_path):
    database = private_pg_env["TEST_DATABASE"]
    private_pg_env["DAJI_API_URL"] = sandbox_url
    cart = {"A": SUPPLIERS["A"]}
    with celery_worker(private_pg_env, log=tmp_path / "worker.log"):
        first = run_django(private_pg_env, "tests.test_faults:start_run_in_child", cart)
        first_state = wait_finished_on(private_pg, database, first, 60)
        private_pg.restart()
        second = run_django(private_pg_env, "tests.test_faults:start_run_in_child", cart)
        second_state = wait_finished_on(private_pg, database, second, 60)
    log = (tmp_path / "worker.log").read_text()
    assert first_state == ("done", ["ok"], 1), log[-3000:]
    assert second_state == ("done", ["ok"], 1), log[-3000:]
