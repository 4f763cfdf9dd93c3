"""End to end: the web form, a real Celery worker process, the sandbox over HTTP, and the
configured database and broker (SQLite + embedded broker, or PostgreSQL + Redis in CI)."""

import os
import signal
import subprocess
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from previews.breakdown import build_breakdown
from previews.models import PreviewChunk, PreviewLine, PreviewRecord, PreviewRun, SupplierPreview
from previews.selectors import runs_with_results
from previews.tasks import execute_preview_run

from .conftest import start_run, wait_for_status
from .processes import (
    celery_worker,
    sandbox_calls,
    sandbox_process,
    stop_process_group,
    wait_until,
)

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def wait_finished(run_id, timeout=60) -> PreviewRun:
    return wait_for_status(run_id, finished=True, timeout=timeout)


def submit(client, address, lines) -> PreviewRun:
    response = client.post(
        reverse("previews:preview-create"),
        {
            "address": address.pk,
            "lines": [line.pk for line in lines],
            "flow": "general",
            "submission_token": str(uuid.uuid4()),
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    return PreviewRun.objects.latest("pk")


def test_mixed_run_through_a_real_worker(buyer, buyer_client, stocked_cart, worker_env, tmp_path):
    address, lines = stocked_cart(buyer)
    with celery_worker(worker_env, log=tmp_path / "worker.log"):
        run = submit(buyer_client, address, lines)
        assert PreviewRun.objects.get(pk=run.pk).dispatched_at is not None
        run = wait_finished(run.pk)
    assert run.status == "done", (tmp_path / "worker.log").read_text()[-3000:]
    statuses = sorted(SupplierPreview.objects.filter(run=run).values_list("status", flat=True))
    assert statuses == ["failed", "ok", "ok", "ok", "rejected"]
    breakdown = build_breakdown(runs_with_results(PreviewRun.objects.filter(pk=run.pk)).get())
    example = next(s for s in breakdown.suppliers if s.name == "杭州小商品店")
    assert example.total_fen == 1671
    html = buyer_client.get(reverse("previews:run-detail", args=[run.pk])).content.decode()
    assert "¥16.71" in html
    assert f"¥{breakdown.grand_total_fen / 100:,.2f}" in html
    failed = SupplierPreview.objects.get(run=run, status="failed")
    assert failed.attempts == 2 and "HTTP 500" in failed.reason


def test_duplicate_deliveries_call_the_gateway_once(buyer, stocked_cart, worker_env, tmp_path):
    """Three more deliveries of a run's task at the same moment, and a late one: only one
    executes it; the others exit without calling the gateway."""
    from previews import runs

    address, lines = stocked_cart(buyer, FOUR)
    with sandbox_process(latency=1.5) as sandbox:
        worker_env["DAJI_API_URL"] = sandbox
        with celery_worker(worker_env, concurrency=4, log=tmp_path / "worker.log"):
            run, _ = runs.start_preview(
                owner=buyer, address=address, lines=lines, flow="general",
                submission_token=uuid.uuid4(),
            )  # fmt: skip
            for _ in range(3):
                execute_preview_run.delay(run.pk)  # duplicates of the same task, at once
            run = wait_finished(run.pk)
            execute_preview_run.delay(run.pk)  # and a late one
            time.sleep(1.5)
        calls = sandbox_calls(sandbox)
    assert run.status == "done", (tmp_path / "worker.log").read_text()[-3000:]
    assert calls["total"] == 4, calls
    assert PreviewRecord.objects.filter(supplier_preview__run=run).count() == 4
    assert PreviewLine.objects.filter(record__supplier_preview__run=run).count() == 4


def test_concurrent_polls_and_clicks_send_a_run_once(
    buyer, stocked_cart, worker_env, private_redis, tmp_path
):
    """Eight status polls and "Try sending now" clicks at the same moment, for a run saved
    while the broker was down: one task message, one gateway call per supplier."""
    address, lines = stocked_cart(buyer, FOUR)
    run = start_run(buyer, address, lines)  # the broker is down: saved, not sent
    assert PreviewRun.objects.get(pk=run.pk).dispatched_at is None
    PreviewRun.objects.filter(pk=run.pk).update(created_at=timezone.now() - timedelta(minutes=1))
    private_redis.start()
    worker_env["CELERY_BROKER_URL"] = private_redis.url
    clients = []
    for _ in range(8):
        client = Client()
        client.force_login(buyer)
        clients.append(client)
    status_url = reverse("previews:run-status", args=[run.pk])
    dispatch_url = reverse("previews:run-dispatch", args=[run.pk])
    together = threading.Barrier(len(clients))

    def poll_or_click(index: int) -> int:
        client = clients[index]
        together.wait()
        try:
            if index % 2:
                return client.post(dispatch_url).status_code
            return client.get(status_url).status_code
        finally:
            connection.close()

    with ThreadPoolExecutor(len(clients)) as pool:
        answers = list(pool.map(poll_or_click, range(len(clients))))
    assert answers == [200, 302] * 4
    assert PreviewRun.objects.get(pk=run.pk).dispatched_at is not None
    with sandbox_process(latency=1.5) as sandbox:
        worker_env["DAJI_API_URL"] = sandbox
        with celery_worker(worker_env, concurrency=4, log=tmp_path / "worker.log"):
            run = wait_finished(run.pk)
        calls = sandbox_calls(sandbox)
    assert run.status == "done", (tmp_path / "worker.log").read_text()[-3000:]
    assert calls["total"] == 4, calls
    assert PreviewRecord.objects.filter(supplier_preview__run=run).count() == 4


def _children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


SLOW = {"Slow": [(667788001952, "", 1)], "Fast": [(670291644950, "", 1)]}
FOUR = {
    "A": [(670291644950, "", 1)],
    "B": [(612345001100, "", 2)],
    "C": [(623456001200, "", 3)],
    "D": [(634567001100, "", 4)],
}


def test_worker_process_killed_mid_run_is_redelivered_and_completes(
    buyer, stocked_cart, worker_env, tmp_path
):

    if settings.CELERY_WORKER_POOL != "prefork":
        pytest.skip("the threads pool of the embedded broker has no pool process to kill")
    address, lines = stocked_cart(buyer, SLOW)
    with celery_worker(worker_env, log=tmp_path / "worker.log") as worker:
        run = start_run(buyer, address, lines)
        wait_for_status(run.pk)
        for child in _children(worker.pid):  # the pool process working on the run dies
            os.kill(child, signal.SIGKILL)
        run = wait_finished(run.pk, timeout=60)
    log = (tmp_path / "worker.log").read_text()
    assert "WorkerLostError" in log or "SIGKILL" in log
    assert run.status == "done", log[-3000:]
    assert PreviewRecord.objects.filter(supplier_preview__run=run).count() == 2


def test_whole_worker_killed_mid_run_is_resumed_without_a_page_view(
    buyer, stocked_cart, worker_env, tmp_path
):
    """The worker dies with a run half done; another worker starts. Within 30 s the run is
    done (its dead execution put back in the queue and resumed), with nobody looking."""
    address, lines = stocked_cart(buyer, SLOW)
    with celery_worker(worker_env, log=tmp_path / "worker.log") as worker:
        run = start_run(buyer, address, lines)
        # The worst moment: its chunk executing, one supplier answered, the slow one's call
        # in flight (the sandbox answers it after 3 s).
        waiting = SupplierPreview.objects.filter(run=run)
        wait_until(lambda: waiting.filter(status="ok").count() == 1, timeout=60,
                   what="the fast supplier's answer")  # fmt: skip
        stop_process_group(worker, sig=signal.SIGKILL)
    assert waiting.filter(status="pending").count() == 1  # killed mid-run, mid-call
    with celery_worker(worker_env, log=tmp_path / "worker2.log"):
        run = wait_finished(run.pk, timeout=30)
    logs = (tmp_path / "worker.log").read_text() + (tmp_path / "worker2.log").read_text()
    assert run.status == "done", logs[-3000:]
    # The chunk whose worker died was put back and executed again, once.
    (chunk,) = PreviewChunk.objects.filter(run=run)
    assert (run.executions, chunk.executions) == (1, 2), logs[-3000:]
    assert sorted(SupplierPreview.objects.filter(run=run).values_list("status", flat=True)) == [
        "ok",
        "ok",
    ]
    assert PreviewRecord.objects.filter(supplier_preview__run=run).count() == 2


def test_run_saved_while_the_broker_is_down_is_sent_without_a_page_view(
    buyer, buyer_client, stocked_cart, worker_env, private_redis, tmp_path
):
    """A worker is running; the broker goes away; a run is submitted (saved, not sent);
    the broker comes back. Within 30 s the run is sent and done, with no page view."""
    address, lines = stocked_cart(buyer, {"A": [(670291644950, "", 1)]})
    private_redis.start()
    worker_env["CELERY_BROKER_URL"] = private_redis.url
    log = tmp_path / "worker.log"
    with celery_worker(worker_env, log=log, supervised=True):
        wait_until(lambda: " ready." in log.read_text(), timeout=60, what="the worker")
        private_redis.stop()
        started = time.monotonic()
        run = submit(buyer_client, address, lines)  # no broker
        assert time.monotonic() - started < 10
        run.refresh_from_db()
        assert run.status == "queued" and run.dispatched_at is None
        private_redis.start()
        run = wait_finished(run.pk, timeout=30)
    assert run.status == "done" and run.dispatched_at is not None, log.read_text()[-3000:]


def test_a_big_run_is_spread_over_workers_and_a_small_run_overtakes_it(
    buyer, other_buyer, stocked_cart, worker_env, tmp_path
):
    """Two worker processes (2 slots each), runs in chunks of 2 suppliers, at most 3 chunks
    of a run at once: the big run's chunks are executed by both processes, and a colleague's
    1-supplier run submitted while it works finishes first, not after all of its chunks."""
    big = {f"Big {n:02d}": [((810000 + n) * 1_000_000 + 1100, "", 1)] for n in range(24)}
    small = {"Small": [(899999001100, "", 1)]}
    big_address, big_lines = stocked_cart(buyer, big)
    small_address, small_lines = stocked_cart(other_buyer, small)
    worker_env.update(PREVIEW_CHUNK_SIZE="2", PREVIEW_RUN_LANES="3")
    with sandbox_process(latency=1.0) as sandbox:
        worker_env["DAJI_API_URL"] = sandbox
        with (
            celery_worker(worker_env, name="one", log=tmp_path / "one.log") as one,
            celery_worker(worker_env, name="two", log=tmp_path / "two.log") as two,
        ):
            big_run = start_run(buyer, big_address, big_lines)
            wait_for_status(big_run.pk)
            small_run = start_run(other_buyer, small_address, small_lines)
            small_run = wait_finished(small_run.pk, timeout=120)
            big_run = wait_finished(big_run.pk, timeout=120)
            # A worker's process, or its pool processes (prefork), by worker.
            worker_of = {
                str(pid): name
                for name, worker in (("one", one), ("two", two))
                for pid in [worker.pid, *_children(worker.pid)]
            }
    logs = (tmp_path / "one.log").read_text() + (tmp_path / "two.log").read_text()
    assert (big_run.status, small_run.status) == ("done", "done"), logs[-3000:]
    assert small_run.finished_at < big_run.finished_at
    chunks = PreviewChunk.objects.filter(run=big_run)
    assert chunks.count() == 12 and set(chunks.values_list("status", flat=True)) == {"done"}
    executed_by = set(chunks.values_list("executed_by", flat=True))
    workers = {worker_of.get(name.rsplit("/", 1)[1]) for name in executed_by}
    assert workers == {"one", "two"}, (executed_by, worker_of)
    assert SupplierPreview.objects.filter(run=big_run, status="ok").count() == 24
