"""The recovery schedule's rules, one pass at a time, on the configured database and
broker (the worker tests prove the schedule runs: tests/test_runs_worker.py)."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from previews import execution, runs
from previews.models import PreviewRun, SupplierPreview

from .conftest import sandbox_config, start_run
from .processes import sandbox_calls

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def running_run(buyer, stocked_cart, private_broker):
    """A run an execution claimed; the test sets its clocks."""
    address, lines = stocked_cart(buyer, {"A": [(670291644950, "", 1)]})
    run = start_run(buyer, address, lines)
    PreviewRun.objects.filter(pk=run.pk).update(
        status="running",
        worker_token="dead-host/1/x",
        executions=1,
        created_at=timezone.now() - timedelta(hours=2),
    )

    def aged(*, heartbeat: float, started: float, **fields) -> PreviewRun:
        now = timezone.now()
        PreviewRun.objects.filter(pk=run.pk).update(
            heartbeat_at=now - timedelta(seconds=heartbeat),
            started_at=now - timedelta(seconds=started),
            **fields,
        )
        return run

    return aged


def test_a_dead_workers_run_goes_back_to_the_queue_and_is_sent(running_run, settings):
    run = running_run(heartbeat=settings.PREVIEW_WORKER_LOST_AFTER_SECONDS + 1, started=20)
    counts = runs.recover_runs()
    run.refresh_from_db()
    assert counts["resumed"] == 1 and counts["sent"] == 1
    assert run.status == "queued" and run.worker_token == "" and run.dispatched_at is not None


def test_a_live_execution_is_left_alone(running_run, settings):
    run = running_run(heartbeat=1, started=20)
    assert not any(runs.recover_runs().values())
    run.refresh_from_db()
    assert run.status == "running" and run.worker_token == "dead-host/1/x"


def test_a_run_whose_workers_keep_dying_fails_after_three_starts(running_run, settings):
    run = running_run(heartbeat=60, started=60, executions=settings.PREVIEW_MAX_EXECUTIONS)
    assert runs.recover_runs()["failed_worker_lost"] == 1
    run.refresh_from_db()
    assert run.status == "failed" and run.failure_kind == "worker_lost"
    assert set(SupplierPreview.objects.filter(run=run).values_list("status", flat=True)) == {
        "failed"
    }


def test_an_execution_past_the_time_limit_fails(running_run, settings):
    run = running_run(heartbeat=1, started=settings.PREVIEW_STALE_AFTER_SECONDS + 1)
    assert runs.recover_runs()["failed_overdue"] == 1
    run.refresh_from_db()
    assert run.status == "failed" and run.failure_kind == "time_limit"


def test_a_run_sent_long_ago_and_never_started_is_sent_again(buyer, stocked_cart, private_broker):
    address, lines = stocked_cart(buyer, {"A": [(670291644950, "", 1)]})
    run = start_run(buyer, address, lines)
    long_ago = timezone.now() - timedelta(hours=1)
    PreviewRun.objects.filter(pk=run.pk).update(created_at=long_ago, dispatched_at=long_ago)
    counts = runs.recover_runs()
    run.refresh_from_db()
    assert counts["resent"] == 1 and counts["sent"] == 1 and run.dispatched_at > long_ago


def test_opening_the_page_changes_nothing(running_run, buyer_client, settings):
    """Whoever looks, the outcome is the schedule's: a page view neither fails nor sends."""
    run = running_run(heartbeat=3600, started=3600)
    page = buyer_client.get(reverse("previews:run-detail", args=[run.pk]))
    status = buyer_client.get(reverse("previews:run-status", args=[run.pk])).json()
    run.refresh_from_db()
    assert page.status_code == 200 and status["status"] == "running"
    assert run.status == "running"


def test_a_delivery_refuses_a_run_another_execution_is_working_on(running_run, sandbox_url):
    run = running_run(heartbeat=1, started=5)
    before = sandbox_calls(sandbox_url)["total"]
    execution.execute_run(run_id=run.pk, config=sandbox_config(sandbox_url))
    run.refresh_from_db()
    assert sandbox_calls(sandbox_url)["total"] == before  # no gateway call
    assert run.status == "running" and run.worker_token == "dead-host/1/x"


def test_a_late_redelivery_takes_over_a_dead_workers_run(running_run, sandbox_url, settings):
    run = running_run(heartbeat=settings.PREVIEW_WORKER_LOST_AFTER_SECONDS + 1, started=20)
    execution.execute_run(run_id=run.pk, config=sandbox_config(sandbox_url))
    run.refresh_from_db()
    assert run.status == "done" and run.executions == 2
    assert SupplierPreview.objects.get(run=run).status == "ok"
