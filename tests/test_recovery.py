"""The recovery schedule's rules, one pass at a time, on the configured database and
broker (the worker tests prove the schedule runs: tests/test_runs_worker.py)."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from previews import execution, runs
from previews.models import PreviewChunk, PreviewRun, SupplierPreview

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


# --------------------------------------------------------------------------- chunks


@pytest.fixture
def chunked_run(buyer, stocked_cart, private_broker, settings):
    """A run of three suppliers planned in chunks of one; the test ages its chunks."""
    settings.PREVIEW_CHUNK_SIZE = 1
    address, lines = stocked_cart(
        buyer,
        {"A": [(670291644950, "", 1)], "B": [(612345001100, "", 2)], "C": [(623456001200, "", 3)]},
    )
    run = start_run(buyer, address, lines)
    assert runs.claim_run(run_id=run.pk, token="planner")
    chunk_ids = runs.plan_chunks(run_id=run.pk, token="planner")
    assert len(chunk_ids) == 3
    return run, chunk_ids


def _age_chunk(chunk_id, *, heartbeat: float, executions: int = 1):
    then = timezone.now() - timedelta(seconds=heartbeat)
    PreviewChunk.objects.filter(pk=chunk_id).update(
        status="running", worker_token="dead-host/1/x", executions=executions, started_at=then,
        heartbeat_at=then, dispatched_at=then, created_at=then - timedelta(minutes=5),
    )  # fmt: skip


def test_a_planned_run_is_not_taken_back_as_a_whole(chunked_run, settings):
    """Its chunks carry it: no run-level heartbeat, yet the run is neither put back nor
    failed, and a late delivery of the run's task plans nothing again."""
    run, _chunk_ids = chunked_run
    PreviewRun.objects.filter(pk=run.pk).update(started_at=timezone.now() - timedelta(hours=1))
    counts = runs.recover_runs()
    assert counts["resumed"] == counts["failed_worker_lost"] == counts["failed_overdue"] == 0
    assert PreviewRun.objects.get(pk=run.pk).status == "running"
    assert not runs.claim_run(run_id=run.pk, token="late")
    assert PreviewChunk.objects.filter(run=run).count() == 3


def test_a_dead_workers_chunk_goes_back_to_the_queue_and_is_sent(chunked_run, settings):
    run, chunk_ids = chunked_run
    _age_chunk(chunk_ids[1], heartbeat=settings.PREVIEW_WORKER_LOST_AFTER_SECONDS + 1)
    counts = runs.recover_runs()
    assert counts["chunks_resumed"] == 1
    chunk = PreviewChunk.objects.get(pk=chunk_ids[1])
    assert chunk.status == "queued" and chunk.worker_token == ""
    # The waiting chunks are sent, at most PREVIEW_RUN_LANES of the run at once.
    sent = PreviewChunk.objects.filter(run=run, dispatched_at__isnull=False).count()
    assert counts["chunks_sent"] == sent == min(3, settings.PREVIEW_RUN_LANES)


def test_a_chunk_whose_workers_keep_dying_fails_its_suppliers_and_the_run_goes_on(
    chunked_run, sandbox_url, settings
):
    run, chunk_ids = chunked_run
    _age_chunk(chunk_ids[0], heartbeat=60, executions=settings.PREVIEW_MAX_EXECUTIONS)
    counts = runs.recover_runs()
    assert counts["chunks_failed_worker_lost"] == 1
    for chunk_id in chunk_ids[1:]:
        execution.execute_chunk(chunk_id=chunk_id, config=sandbox_config(sandbox_url))
    run.refresh_from_db()
    statuses = list(run.suppliers.order_by("position").values_list("status", "error_kind"))
    assert run.status == "done"
    assert statuses == [("failed", "worker_lost"), ("ok", ""), ("ok", "")]


def test_a_chunk_executed_twice_calls_the_gateway_once(chunked_run, sandbox_url):
    run, chunk_ids = chunked_run
    before = sandbox_calls(sandbox_url)["total"]
    for _ in range(2):
        for chunk_id in chunk_ids:
            execution.execute_chunk(chunk_id=chunk_id, config=sandbox_config(sandbox_url))
    assert sandbox_calls(sandbox_url)["total"] - before == 3
    run.refresh_from_db()
    assert run.status == "done"
    assert set(PreviewChunk.objects.filter(run=run).values_list("executed_by", flat=True)) != {""}
