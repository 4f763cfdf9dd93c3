"""End to end: the web form, a real Celery worker process, the sandbox over HTTP, and the
configured database and broker (SQLite + embedded broker, or PostgreSQL + Redis in CI)."""

import os
import signal
import subprocess
import time
import uuid

import pytest
from django.conf import settings
from django.urls import reverse

from previews.breakdown import build_breakdown, runs_with_results
from previews.models import PreviewLine, PreviewRecord, PreviewRun, SupplierPreview
from previews.tasks import execute_preview_run

from .conftest import start_run, wait_for_status
from .processes import (
    celery_worker,
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


def test_a_task_delivered_twice_stores_one_result(buyer, stocked_cart, worker_env, tmp_path):
    from previews import services

    address, lines = stocked_cart(
        buyer, {"A": [(670291644950, "", 1)], "B": [(612345001100, "", 2)]}
    )
    with celery_worker(worker_env, concurrency=2, log=tmp_path / "worker.log"):
        run, _ = services.start_preview(
            owner=buyer, address=address, lines=lines, flow="general", submission_token=uuid.uuid4()
        )
        execute_preview_run.delay(run.pk)  # a second delivery of the same task, at once
        wait_finished(run.pk)
        execute_preview_run.delay(run.pk)  # and a late one
        time.sleep(1.5)
    assert PreviewRecord.objects.filter(supplier_preview__run=run).count() == 2
    assert PreviewLine.objects.filter(record__supplier_preview__run=run).count() == 2
    assert PreviewRun.objects.get(pk=run.pk).status == "done"


def _children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


SLOW = {"Slow": [(667788001952, "", 1)], "Fast": [(670291644950, "", 1)]}


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


def test_whole_worker_killed_leaves_no_run_running_forever(
    buyer, buyer_client, stocked_cart, worker_env, tmp_path, settings
):

    address, lines = stocked_cart(buyer, SLOW)
    with celery_worker(worker_env, log=tmp_path / "worker.log") as worker:
        run = start_run(buyer, address, lines)
        wait_for_status(run.pk)
        stop_process_group(worker, sig=signal.SIGKILL)
    settings.PREVIEW_STALE_AFTER_SECONDS = 1  # instead of the hard time limit + 30 s
    time.sleep(1.5)
    html = buyer_client.get(reverse("previews:run-detail", args=[run.pk])).content.decode()
    run.refresh_from_db()
    assert run.status == "failed"
    assert "The worker stopped while previewing this run" in html
    assert SupplierPreview.objects.filter(run=run, status="pending").count() == 0
    # the buyer runs it again, and it completes
    with celery_worker(worker_env, log=tmp_path / "worker2.log"):
        buyer_client.post(
            reverse("previews:run-rerun", args=[run.pk]), {"submission_token": str(uuid.uuid4())}
        )
        again = wait_finished(PreviewRun.objects.latest("pk").pk)
    assert again.rerun_of_id == run.pk and again.status == "done"


def test_run_saved_while_the_broker_is_down_is_sent_when_it_is_back(
    buyer, buyer_client, stocked_cart, worker_env, private_redis, tmp_path
):
    address, lines = stocked_cart(buyer, {"A": [(670291644950, "", 1)]})
    started = time.monotonic()
    run = submit(buyer_client, address, lines)  # no broker at all
    assert time.monotonic() - started < 10
    run.refresh_from_db()
    assert run.status == "queued" and run.dispatched_at is None
    html = buyer_client.get(reverse("previews:run-detail", args=[run.pk])).content.decode()
    assert "the job queue could not be reached" in html
    private_redis.start()
    worker_env["CELERY_BROKER_URL"] = private_redis.url
    with celery_worker(worker_env, log=tmp_path / "worker.log"):
        status_url = reverse("previews:run-status", args=[run.pk])

        def polled_and_sent():  # what the open run page does every second
            return not buyer_client.get(status_url).json()["waiting_for_broker"]

        wait_until(polled_and_sent, timeout=20, interval=1, what="the run to be sent")
        run = wait_finished(run.pk)
    assert run.status == "done" and run.dispatched_at is not None
