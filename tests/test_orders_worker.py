"""Orders placed exactly once with real workers (issue #13): a real Celery worker
process, the sandbox over real HTTP, the configured database and broker (PostgreSQL and
Redis in CI). Whatever happens, the orders the sandbox holds at the end (counted
through the sandbox, `GET /orders`) are exactly the intended number."""

from __future__ import annotations

import os
import re
import signal
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from celery import current_app
from django.db import connection

from previews import orders
from previews.models import OrderAttempt, OrderRequest, PlacedOrder, SupplierOrder
from previews.tasks import place_order_request

from .ordering import creates_sent, make_approver, offer, previewed_run, request_all, sandbox_orders
from .processes import celery_worker, sandbox_process, stop_process_group, wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def approver(django_user_model):
    return make_approver(django_user_model)


@pytest.fixture
def order_env(worker_env, settings):
    """A sandbox of the test's own (slow creates hang 60 s), the worker and this process
    pointing at it; short deadlines so a lost answer shows within seconds."""
    with sandbox_process(slow=60.0) as url:
        settings.DAJI_API_URL = url
        env = {
            **worker_env,
            "DAJI_API_URL": url,
            "DAJI_CALL_DEADLINE": "3",
            "DAJI_READ_TIMEOUT": "3",
            "PREVIEW_RECOVERY_INTERVAL": "1",
            "PREVIEW_HEARTBEAT_SECONDS": "1",
        }
        yield url, env


def wait_for(predicate, what, timeout=60):
    return wait_until(predicate, timeout=timeout, interval=0.2, what=what)


def log_tail(tmp_path, *names):
    return "".join(
        (tmp_path / name).read_text()[-3000:] for name in names if (tmp_path / name).exists()
    )


def test_approved_in_the_web_placed_by_the_worker(buyer, approver, order_env, tmp_path):
    url, env = order_env
    run = previewed_run(buyer, url, {"A": [(offer(970), 2)], "B": [(offer(1, 656), 1)]})
    order_request = request_all(run, buyer)
    with celery_worker(env, log=tmp_path / "worker.log"):
        orders.approve_request(order_request=order_request, approver=approver)
        assert OrderRequest.objects.get(pk=order_request.pk).dispatched_at is not None
        wait_for(
            lambda: OrderRequest.objects.get(pk=order_request.pk).state == "finished",
            "the request to be placed",
        )
        # The new orders' status is read after the placing commits (no lock is held over
        # a call), so the request can read finished a moment before the last status lands.
        wait_for(
            lambda: PlacedOrder.objects.filter(status="waitbuyerpay").count() == 2,
            "both new orders' status from order detail",
        )
    assert len(sandbox_orders(url)) == 2, log_tail(tmp_path, "worker.log")
    assert set(SupplierOrder.objects.values_list("state", flat=True)) == {"placed"}


def test_the_place_task_delivered_several_times_at_once_creates_one_order(
    buyer, approver, order_env, tmp_path
):
    """The approval sends the task; three more deliveries arrive at the same moment and
    a late one after. One order."""
    url, env = order_env
    run = previewed_run(buyer, url, {"A": [(offer(970), 2)]})
    order_request = request_all(run, buyer)
    with celery_worker(env, concurrency=4, log=tmp_path / "worker.log"):
        orders.approve_request(order_request=order_request, approver=approver)
        for _ in range(3):
            current_app.send_task(orders.PLACE_TASK, args=[order_request.pk])
        wait_for(
            lambda: OrderRequest.objects.get(pk=order_request.pk).state == "finished",
            "the request to be placed",
        )
        current_app.send_task(orders.PLACE_TASK, args=[order_request.pk])
        wait_for(lambda: creates_sent(url) >= 1, "the create")
    assert len(sandbox_orders(url)) == 1, log_tail(tmp_path, "worker.log")
    assert creates_sent(url) == 1
    assert OrderAttempt.objects.count() == 1


def test_the_task_function_run_twice_concurrently_creates_one_order(buyer, approver, order_env):
    url, _env = order_env
    run = previewed_run(buyer, url, {"A": [(offer(970), 2)], "B": [(offer(1, 656), 1)]})
    order_request = request_all(run, buyer)
    orders.approve_request(order_request=order_request, approver=approver)
    start = threading.Barrier(4)

    def deliver():
        start.wait()
        try:
            place_order_request(order_request.pk)
        finally:
            connection.close()

    with ThreadPoolExecutor(4) as pool:
        for future in [pool.submit(deliver) for _ in range(4)]:
            future.result()
    assert len(sandbox_orders(url)) == 2
    assert creates_sent(url) == 2
    assert OrderAttempt.objects.count() == 2


def test_a_double_approval_creates_one_order(
    buyer, approver, django_user_model, order_env, private_broker
):
    """Two approvers (or a double click) approve at the same moment: one approval wins,
    the other is refused, one order is created."""
    url, _env = order_env
    second = make_approver(django_user_model, "approver2")
    run = previewed_run(buyer, url, {"A": [(offer(970), 2)]})
    order_request = request_all(run, buyer)
    start = threading.Barrier(2)

    def approve(person):
        start.wait()
        try:
            orders.approve_request(order_request=order_request, approver=person)
            return "approved"
        except orders.OrderingRefused:
            return "refused"
        finally:
            connection.close()

    with ThreadPoolExecutor(2) as pool:
        outcomes = sorted(pool.map(approve, [approver, second]))
    assert outcomes == ["approved", "refused"]
    for _ in range(2):  # and the place task, twice
        place_order_request(order_request.pk)
    assert len(sandbox_orders(url)) == 1 and creates_sent(url) == 1


def test_a_lost_answer_is_resolved_in_the_background_by_its_marker(
    buyer, approver, order_env, tmp_path
):
    url, env = order_env
    run = previewed_run(buyer, url, {"A": [(offer(971), 2)]})
    order_request = request_all(run, buyer)
    with celery_worker(env, log=tmp_path / "worker.log"):
        orders.approve_request(order_request=order_request, approver=approver)
        wait_for(
            lambda: OrderAttempt.objects.filter(state="resolved_placed").exists(),
            "the lost create to be found by its marker",
        )
    attempt = OrderAttempt.objects.get()
    assert attempt.error_kind == "connection" and attempt.resolved_by is None
    held = sandbox_orders(url)
    assert len(held) == 1 and creates_sent(url) == 1, log_tail(tmp_path, "worker.log")
    assert PlacedOrder.objects.get().order_id == held[0]["orderId"]
    assert SupplierOrder.objects.get().state == "placed"


def test_a_worker_killed_in_the_middle_of_a_create_never_creates_a_second_order(
    buyer, approver, order_env, tmp_path
):
    """The sandbox makes the order and then hangs (972); the worker waiting for the
    answer is killed with SIGKILL. Another worker starts: the attempt left "sent" becomes
    outcome unknown (never sent again), then is resolved by its marker. One order."""
    url, env = order_env
    run = previewed_run(buyer, url, {"A": [(offer(972), 2)]})
    order_request = request_all(run, buyer)
    slow_env = {**env, "DAJI_CALL_DEADLINE": "120", "DAJI_READ_TIMEOUT": "120"}
    with celery_worker(slow_env, log=tmp_path / "worker.log") as worker:
        orders.approve_request(order_request=order_request, approver=approver)
        wait_for(lambda: len(sandbox_orders(url)) == 1, "the create to reach the sandbox")
        assert OrderAttempt.objects.get().state == "sent"
        stop_process_group(worker, sig=signal.SIGKILL)
    assert OrderAttempt.objects.get().state == "sent"
    with celery_worker(env, log=tmp_path / "worker2.log"):
        wait_for(
            lambda: OrderAttempt.objects.get().state == "resolved_placed",
            "the attempt to be resolved",
            timeout=90,
        )
    attempt = OrderAttempt.objects.get()
    assert attempt.error_kind == "worker_lost"
    assert list(attempt.audit_events.values_list("action", flat=True)) == [
        "sent",
        "outcome_unknown",
        "resolved",
    ]
    assert len(sandbox_orders(url)) == 1, log_tail(tmp_path, "worker.log", "worker2.log")
    assert creates_sent(url) == 1
    assert PlacedOrder.objects.count() == 1
    assert SupplierOrder.objects.get().state == "placed"


def test_a_pool_process_killed_mid_create_is_redelivered_and_sends_nothing_again(
    buyer, approver, order_env, tmp_path, settings
):
    """Only the pool process making the create dies (SIGKILL); the task goes back to the
    queue (acks late, rejected on worker lost) and is delivered again to its
    replacement, which finds the part being placed and sends nothing. The recovery of
    the same worker makes the attempt outcome unknown, then finds the order. One order."""
    if settings.CELERY_WORKER_POOL != "prefork":
        pytest.skip("the threads pool of the embedded broker has no pool process to kill")
    from .test_runs_worker import _children

    url, env = order_env
    run = previewed_run(buyer, url, {"A": [(offer(972), 2)]})
    order_request = request_all(run, buyer)
    env = {**env, "DAJI_CALL_DEADLINE": "10", "DAJI_READ_TIMEOUT": "10"}
    with celery_worker(env, log=tmp_path / "worker.log") as worker:
        orders.approve_request(order_request=order_request, approver=approver)
        wait_for(lambda: len(sandbox_orders(url)) == 1, "the create to reach the sandbox")
        for child in _children(worker.pid):
            os.kill(child, signal.SIGKILL)
        wait_for(
            lambda: OrderAttempt.objects.get().state == "resolved_placed",
            "the attempt to be resolved",
            timeout=90,
        )
    log = (tmp_path / "worker.log").read_text()
    assert "WorkerLostError" in log or "SIGKILL" in log
    received = re.findall(rf"Task {orders.PLACE_TASK}\[[^]]+\] received", log)
    assert len(received) >= 2, log[-3000:]  # delivered again to the replacement
    assert len(sandbox_orders(url)) == 1 and creates_sent(url) == 1, log[-3000:]
    assert OrderAttempt.objects.count() == 1 and PlacedOrder.objects.count() == 1


def test_an_approval_saved_while_the_broker_is_down_is_placed_when_it_is_back(
    buyer, approver, order_env, private_redis, tmp_path
):
    """The broker is away when the approval commits: the placing task is not sent, the
    approval stands. The broker comes back: the recovery sends it, one order is placed."""
    url, env = order_env
    run = previewed_run(buyer, url, {"A": [(offer(970), 2)]})
    order_request = request_all(run, buyer)
    private_redis.start()
    env = {**env, "CELERY_BROKER_URL": private_redis.url}
    env.pop("CELERY_BROKER_DIR", None)
    log = tmp_path / "worker.log"
    with celery_worker(env, log=log, supervised=True):
        wait_until(lambda: " ready." in log.read_text(), timeout=60, what="the worker")
        private_redis.stop()
        orders.approve_request(order_request=order_request, approver=approver)
        order_request.refresh_from_db()
        assert order_request.state == "approved" and order_request.dispatched_at is None
        private_redis.start()
        wait_for(
            lambda: OrderRequest.objects.get(pk=order_request.pk).state == "finished",
            "the approved request to be placed",
        )
    assert len(sandbox_orders(url)) == 1 and creates_sent(url) == 1, log.read_text()[-3000:]
