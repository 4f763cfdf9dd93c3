"""Ordering (issue #13), in this process against a sandbox of the test's own over real
HTTP: request, approve, place exactly once, resolve lost answers, refresh, pay, cancel.
The orders a scenario leaves are counted through the sandbox (`GET /orders`)."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import timedelta

import pytest
import requests
from django.db import connection
from django.utils import timezone

from previews import gateway, orders
from previews.models import (
    OrderAttempt,
    OrderAuditEvent,
    OrderRequest,
    PlacedOrder,
    PreviewRun,
    SupplierOrder,
)
from previews.sandbox.orders import ORDER_ID_STEP

from .ordering import (
    OTHER_SELLER,
    config,
    creates_sent,
    make_approver,
    offer,
    previewed_run,
    request_all,
    sandbox_orders,
)
from .processes import sandbox_process

pytestmark = pytest.mark.django_db

Part = SupplierOrder.State


@pytest.fixture
def sandbox(settings):
    """A sandbox of this test's own (its orders start at none); the product points at it,
    so ordering is enabled (a sandbox, not the production gateway)."""
    with sandbox_process("--cancel-too-fast", "0.5", slow=4.0) as url:
        settings.DAJI_API_URL = url
        yield url


@pytest.fixture
def approver(django_user_model):
    return make_approver(django_user_model)


def approved(run, buyer, approver, comment=""):
    order_request = request_all(run, buyer, comment)
    return orders.approve_request(order_request=order_request, approver=approver, comment="ok")


def place(order_request, url, **overrides):
    return orders.place_request(request_id=order_request.pk, config=config(url, **overrides))


def actions(order_request) -> list[str]:
    return list(
        OrderAuditEvent.objects.filter(request=order_request).values_list("action", flat=True)
    )


# --------------------------------------------------------------------------- switches


def test_ordering_is_on_against_a_sandbox_and_off_against_production(settings):
    settings.DAJI_ORDERING_ENABLED = None
    settings.DAJI_API_URL = "http://127.0.0.1:8001"
    assert orders.ordering_enabled()
    settings.DAJI_API_URL = settings.DAJI_PRODUCTION_URL
    assert not orders.ordering_enabled()
    settings.DAJI_ORDERING_ENABLED = True
    assert orders.ordering_enabled()
    settings.DAJI_API_URL = "http://127.0.0.1:8001"
    settings.DAJI_ORDERING_ENABLED = False
    assert not orders.ordering_enabled()


def test_every_page_says_whether_ordering_is_on(buyer_client, settings):
    settings.DAJI_ORDERING_ENABLED = None
    settings.DAJI_API_URL = settings.DAJI_PRODUCTION_URL
    response = buyer_client.get("/", follow=True)
    assert response.context["ordering_enabled"] is False
    settings.DAJI_API_URL = "http://127.0.0.1:8001"
    assert buyer_client.get("/", follow=True).context["ordering_enabled"] is True


def test_requesting_is_refused_against_production_without_the_switch(buyer, sandbox, settings):
    run = previewed_run(buyer, sandbox, {"A": [(offer(970), 2)]})
    settings.DAJI_API_URL = settings.DAJI_PRODUCTION_URL
    settings.DAJI_ORDERING_ENABLED = None
    with pytest.raises(orders.OrderingRefused, match="turned off"):
        request_all(run, buyer)
    assert not OrderRequest.objects.exists()


def test_the_approvers_group_holds_the_permission(approver, buyer):
    assert approver.has_perm(orders.APPROVE_PERMISSION)
    assert not buyer.has_perm(orders.APPROVE_PERMISSION)


# --------------------------------------------------------------------------- request


def test_a_request_is_bound_to_what_was_previewed(buyer, sandbox):
    run = previewed_run(
        buyer, sandbox,
        {"A": [(offer(970), 2), (offer(811), 1)], "B": [(offer(1, OTHER_SELLER), 3)]},
    )  # fmt: skip
    order_request = request_all(run, buyer, "for the Hangzhou shop")
    parts = {p.supplier_name: p for p in order_request.supplier_orders.all()}
    assert set(parts) == {"A", "B"}
    a = parts["A"]
    record = a.supplier_preview.records.get()
    assert a.previewed_total_fen == record.sum_payment_fen
    assert a.carriage_fen == record.sum_carriage_fen
    assert a.flow_flag == record.flow_flag == "general"
    assert a.cargo_params == [
        {"offerId": offer(811), "quantity": 1},
        {"offerId": offer(970), "quantity": 2},
    ]
    assert a.address_param["districtCode"] == "330108" and a.address_param["phone"]
    assert a.trade_type == "assureTrade" and "5天" in a.pay_window
    assert a.post_fee_by_desc_offer_ids == [str(offer(811))]
    assert order_request.state == OrderRequest.State.AWAITING_APPROVAL
    event = OrderAuditEvent.objects.get(request=order_request)
    assert event.action == "requested" and event.actor == buyer
    assert event.total_fen == sum(p.previewed_total_fen for p in parts.values())


def test_a_double_click_is_one_request_and_a_second_request_is_refused(buyer, sandbox):
    run = previewed_run(buyer, sandbox, {"A": [(offer(970), 2)]})
    token = uuid.uuid4()
    first = orders.request_ordering(run=run, requested_by=buyer, submission_token=token)
    again = orders.request_ordering(run=run, requested_by=buyer, submission_token=token)
    assert first.pk == again.pk
    with pytest.raises(orders.OrderingRefused):
        request_all(run, buyer)
    assert OrderRequest.objects.count() == 1


def test_stale_or_unorderable_previews_cannot_be_requested(buyer, other_buyer, sandbox):
    run = previewed_run(buyer, sandbox, {"A": [(offer(970), 2)], "B": [(offer(904, 656), 1)]})
    blocked = run.suppliers.get(supplier_name="B")
    with pytest.raises(orders.OrderingRefused, match="cannot be ordered"):
        orders.request_ordering(
            run=run, requested_by=buyer, submission_token=uuid.uuid4(),
            supplier_preview_ids=[blocked.pk],
        )  # fmt: skip
    with pytest.raises(orders.OrderingRefused):
        request_all(run, other_buyer)  # not theirs
    PreviewRun.objects.filter(pk=run.pk).update(finished_at=timezone.now() - timedelta(days=2))
    run.refresh_from_db()
    with pytest.raises(orders.OrderingRefused, match="too old"):
        request_all(run, buyer)
    assert not OrderRequest.objects.exists()


# --------------------------------------------------------------------------- approve


def test_a_buyer_cannot_approve_their_own_request_unless_the_setting_allows(
    buyer, approver, sandbox, settings, django_user_model
):
    run = previewed_run(buyer, sandbox, {"A": [(offer(970), 2)]})
    order_request = request_all(run, buyer)
    total = order_request.total_fen
    with pytest.raises(orders.OrderingRefused):
        orders.approve_request(order_request=order_request, approver=buyer)
    own = make_approver(django_user_model, "buyer-approver")
    own_run = previewed_run(own, sandbox, {"A": [(offer(970), 3)]})
    own_request = request_all(own_run, own)
    with pytest.raises(orders.OrderingRefused, match="own request"):
        orders.approve_request(order_request=own_request, approver=own)
    assert list(orders.requests_awaiting(user=approver)) == [own_request, order_request]
    assert list(orders.requests_awaiting(user=own)) == [order_request]
    assert list(orders.requests_awaiting(user=buyer)) == []

    settings.ORDER_SELF_APPROVAL = True
    settings.ORDER_SELF_APPROVAL_LIMIT_FEN = total - 1
    with pytest.raises(orders.OrderingRefused, match="up to"):
        orders.approve_request(order_request=order_request, approver=buyer)
    settings.ORDER_SELF_APPROVAL_LIMIT_FEN = total
    assert orders.can_approve(user=buyer, order_request=order_request)
    assert not orders.can_approve(user=buyer, order_request=own_request)  # not theirs
    orders.approve_request(order_request=order_request, approver=buyer)
    assert set(order_request.supplier_orders.values_list("state", flat=True)) == {"approved"}


def test_approve_twice_is_refused_the_second_time(buyer, approver, sandbox):
    run = previewed_run(buyer, sandbox, {"A": [(offer(970), 2)]})
    order_request = approved(run, buyer, approver)
    with pytest.raises(orders.OrderingRefused, match="decided already"):
        orders.approve_request(order_request=order_request, approver=approver)
    assert actions(order_request) == ["requested", "approved"]


def test_reject_needs_a_comment_and_frees_the_preview(buyer, approver, sandbox):
    run = previewed_run(buyer, sandbox, {"A": [(offer(970), 2)]})
    order_request = request_all(run, buyer)
    with pytest.raises(orders.OrderingRefused, match="why"):
        orders.reject_request(order_request=order_request, approver=approver, comment=" ")
    orders.reject_request(order_request=order_request, approver=approver, comment="too dear")
    order_request.refresh_from_db()
    assert order_request.state == "rejected" and order_request.decision_comment == "too dear"
    assert place(order_request, sandbox) == {}
    assert sandbox_orders(sandbox) == []
    request_all(run, buyer)  # a rejected request leaves the preview free to request again


# --------------------------------------------------------------------------- place


def test_placed_normally_one_order_with_its_detail(buyer, approver, sandbox):
    run = previewed_run(buyer, sandbox, {"A": [(offer(970), 2), (offer(1), 1)]})
    order_request = approved(run, buyer, approver)
    assert place(order_request, sandbox) == {"placed": 1}
    held = sandbox_orders(sandbox)
    assert len(held) == 1
    attempt = OrderAttempt.objects.get()
    assert held[0]["thirdOrderId"] == attempt.third_order_id
    assert attempt.marker in held[0]["message"] and attempt.state == "created"
    placed = PlacedOrder.objects.get()
    part = SupplierOrder.objects.get()
    assert placed.order_id == held[0]["orderId"] and int(placed.order_id) > 2**53
    assert placed.created_total_fen == part.approved_total_fen == held[0]["sumPaymentFen"]
    assert placed.total_fen == placed.expected_total_fen and not placed.price_changed
    assert placed.status == "waitbuyerpay"
    assert placed.pay_by - placed.ordered_at == timedelta(days=5)
    order_request.refresh_from_db()
    assert order_request.state == "finished" and part.state == "placed"
    assert actions(order_request) == ["requested", "approved", "sent", "placed"]
    assert place(order_request, sandbox) == {}  # again: nothing approved is left
    assert len(sandbox_orders(sandbox)) == 1


def test_refused_creates_nothing(buyer, approver, sandbox):
    run = previewed_run(buyer, sandbox, {"A": [(offer(974), 2)]})
    order_request = approved(run, buyer, approver)
    assert place(order_request, sandbox) == {"refused": 1}
    assert sandbox_orders(sandbox) == []
    attempt = OrderAttempt.objects.get()
    assert attempt.state == "refused" and attempt.error_code == "400"
    assert attempt.upstream_message == "AddressId invalid"
    assert "AddressId invalid" in SupplierOrder.objects.get().state_reason


def test_some_lines_failed(buyer, approver, sandbox):
    run = previewed_run(buyer, sandbox, {"A": [(offer(975), 2), (offer(970), 1)]})
    order_request = approved(run, buyer, approver)
    assert place(order_request, sandbox) == {"partly_placed": 1}
    assert len(sandbox_orders(sandbox)) == 1
    attempt = OrderAttempt.objects.get()
    assert attempt.failed_lines == [
        {"offer_id": offer(975), "spec_id": "", "error_code": "500_004",
         "error_message": f"商品{offer(975)}库存不足"},
    ]  # fmt: skip
    assert "failed lines" in OrderAuditEvent.objects.get(action="partly_placed").comment


def test_several_orders_from_one_create(buyer, approver, sandbox):
    run = previewed_run(buyer, sandbox, {"A": [(offer(970), 2), (offer(720), 1)]})
    order_request = approved(run, buyer, approver)
    part = SupplierOrder.objects.get()
    assert part.records == 2
    assert place(order_request, sandbox) == {"placed": 1}
    held = sandbox_orders(sandbox)
    assert len(held) == 2 and creates_sent(sandbox) == 1
    placed = PlacedOrder.objects.order_by("order_id")
    assert [p.order_id for p in placed] == sorted(o["orderId"] for o in held)
    assert sum(p.created_total_fen for p in placed) == part.approved_total_fen
    assert not any(p.price_changed for p in placed)


def test_repriced_goes_back_to_approval_and_nothing_is_ordered_until_approved_again(
    buyer, approver, sandbox
):
    run = previewed_run(buyer, sandbox, {"A": [(offer(978), 2)]})
    order_request = approved(run, buyer, approver)
    approved_total = SupplierOrder.objects.get().approved_total_fen
    assert place(order_request, sandbox) == {"repriced": 1}
    assert sandbox_orders(sandbox) == [] and creates_sent(sandbox) == 0
    part = SupplierOrder.objects.get()
    assert part.repriced_total_fen == approved_total + 100
    assert part.price_difference_fen == 100 and "+¥1.00" in part.state_reason
    order_request.refresh_from_db()
    assert order_request.state == "awaiting_approval"
    event = OrderAuditEvent.objects.get(action="repriced")
    assert (event.total_fen, event.previous_total_fen) == (approved_total + 100, approved_total)
    assert place(order_request, sandbox) == {}  # not approved: nothing placed
    orders.approve_request(order_request=order_request, approver=approver, comment="fine")
    assert SupplierOrder.objects.get().approved_total_fen == approved_total + 100
    assert place(order_request, sandbox) == {"placed": 1}
    held = sandbox_orders(sandbox)
    assert len(held) == 1 and held[0]["sumPaymentFen"] == approved_total + 100


def test_a_request_partly_placed_and_partly_repriced_says_both(buyer, approver, sandbox):
    run = previewed_run(buyer, sandbox, {"A": [(offer(970), 2)], "B": [(offer(978), 2)]})
    order_request = approved(run, buyer, approver)
    assert place(order_request, sandbox) == {"placed": 1, "repriced": 1}
    order_request = OrderRequest.objects.prefetch_related("supplier_orders").get()
    assert order_request.state == "awaiting_approval"  # it is in the approvers' queue
    assert order_request.state_label == "Partly placed, the rest awaiting approval"
    waiting = request_all(
        previewed_run(buyer, sandbox, {"C": [(offer(970, 650001), 2)]}), buyer, ""
    )
    assert waiting.state_label == "Awaiting approval"


def test_a_tolerance_lets_a_small_change_through(buyer, approver, sandbox, settings):
    settings.ORDER_PRICE_TOLERANCE_FEN = 100
    run = previewed_run(buyer, sandbox, {"A": [(offer(978), 2)]})
    order_request = approved(run, buyer, approver)
    assert place(order_request, sandbox) == {"placed": 1}
    assert len(sandbox_orders(sandbox)) == 1


@pytest.mark.parametrize("scenario", [971, 972, 973])
def test_a_lost_answer_is_never_resent_and_is_resolved_by_marker(
    buyer, approver, sandbox, scenario
):
    """971 drops the connection, 972 answers after the deadline, 973 answers HTTP 502:
    the order exists but the product cannot know. It is not sent again, whatever runs
    again; the buyer's orders show it by its marker."""
    run = previewed_run(buyer, sandbox, {"A": [(offer(scenario), 2)]})
    order_request = approved(run, buyer, approver)
    assert place(order_request, sandbox) == {"outcome_unknown": 1}
    attempt = OrderAttempt.objects.get()
    assert attempt.state == "outcome_unknown" and attempt.sent_at is not None
    order_request.refresh_from_db()
    assert order_request.state == "finished"
    assert place(order_request, sandbox) == {}  # placing again sends nothing
    assert not PlacedOrder.objects.exists()
    state = orders.resolve_attempt(attempt_id=attempt.pk, config=config(sandbox))
    assert state == "resolved_placed"
    held = sandbox_orders(sandbox)
    assert len(held) == 1 and creates_sent(sandbox) == 1
    placed = PlacedOrder.objects.get()
    assert placed.order_id == held[0]["orderId"] and placed.source == "order_list"
    assert placed.total_fen == held[0]["sumPaymentFen"]
    assert SupplierOrder.objects.get().state == "placed"
    assert actions(order_request)[-2:] == ["outcome_unknown", "resolved"]


def test_a_lost_answer_can_be_resolved_by_a_person(buyer, approver, sandbox):
    run = previewed_run(buyer, sandbox, {"A": [(offer(971), 2)]})
    order_request = approved(run, buyer, approver)
    place(order_request, sandbox)
    attempt = OrderAttempt.objects.select_related("supplier_order__request").get()
    order_id = sandbox_orders(sandbox)[0]["orderId"]
    with pytest.raises(orders.OrderingRefused, match="digits"):
        orders.mark_attempt_placed(attempt=attempt, person=buyer, order_id="12e18")
    placed = orders.mark_attempt_placed(attempt=attempt, person=buyer, order_id=order_id)
    assert placed.source == "person" and placed.order_id == order_id
    attempt.refresh_from_db()
    assert attempt.state == "resolved_placed" and attempt.resolved_by == buyer
    with pytest.raises(orders.OrderingRefused, match="already known"):
        orders.mark_attempt_not_placed(attempt=attempt, person=buyer, comment="no")
    assert orders.resolve_attempt(attempt_id=attempt.pk, config=config(sandbox)) == (
        "resolved_placed"
    )


def test_a_person_says_not_placed(buyer, approver, other_buyer, sandbox):
    run = previewed_run(buyer, sandbox, {"A": [(offer(973), 2)]})
    order_request = approved(run, buyer, approver)
    place(order_request, sandbox)
    attempt = OrderAttempt.objects.select_related("supplier_order__request").get()
    with pytest.raises(orders.OrderingRefused):
        orders.mark_attempt_not_placed(attempt=attempt, person=other_buyer, comment="x")
    with pytest.raises(orders.OrderingRefused, match="why"):
        orders.mark_attempt_not_placed(attempt=attempt, person=approver, comment="")
    orders.mark_attempt_not_placed(attempt=attempt, person=approver, comment="checked on 1688")
    attempt.refresh_from_db()
    assert attempt.state == "resolved_not_placed"
    assert SupplierOrder.objects.get().state == "not_placed"


def test_a_claimed_attempt_of_a_dead_worker_becomes_unknown_and_is_not_resent(
    buyer, approver, sandbox, settings
):
    """A worker that died after committing its claim: the recovery makes the attempt
    outcome unknown, never sends it; never sent (claimed only), it resolves not placed."""
    run = previewed_run(buyer, sandbox, {"A": [(offer(970), 2)]})
    order_request = approved(run, buyer, approver)
    part = SupplierOrder.objects.get()
    SupplierOrder.objects.filter(pk=part.pk).update(state=Part.SENDING)
    attempt = OrderAttempt.objects.create(
        supplier_order=part, third_order_id="T1", marker=gateway.order_marker("T1")
    )
    assert orders.mark_lost_attempts() == 0  # alive for all we know
    OrderAttempt.objects.filter(pk=attempt.pk).update(
        claimed_at=timezone.now() - timedelta(seconds=settings.ORDER_ATTEMPT_LOST_AFTER_SECONDS + 1)
    )
    assert orders.mark_lost_attempts() == 1
    assert orders.mark_lost_attempts() == 0
    attempt.refresh_from_db()
    assert attempt.state == "outcome_unknown"
    assert SupplierOrder.objects.get().state == "outcome_unknown"
    assert place(order_request, sandbox) == {}
    assert orders.resolve_attempt(attempt_id=attempt.pk) == "resolved_not_placed"
    assert creates_sent(sandbox) == 0 and sandbox_orders(sandbox) == []


def test_placing_the_same_part_from_two_threads_creates_one_order(buyer, approver, sandbox):
    """Two deliveries of the same task at the same moment (the claim is a conditional
    UPDATE: one wins). Sequential here (SQLite in a test transaction): the second finds
    the part taken and sends nothing; the worker tests race them for real."""
    run = previewed_run(buyer, sandbox, {"A": [(offer(970), 2)]})
    order_request = approved(run, buyer, approver)
    part = SupplierOrder.objects.get()
    first = orders.place_supplier_order(supplier_order_id=part.pk, config=config(sandbox))
    second = orders.place_supplier_order(supplier_order_id=part.pk, config=config(sandbox))
    assert (first, second) == ("placed", "placed")
    assert creates_sent(sandbox) == 1 and len(sandbox_orders(sandbox)) == 1
    assert order_request.supplier_orders.get().attempts.count() == 1


# --------------------------------------------------------------------------- after


def test_the_seller_changing_carriage_is_flagged(buyer, approver, sandbox):
    run = previewed_run(buyer, sandbox, {"A": [(offer(977), 2)]})
    order_request = approved(run, buyer, approver)
    place(order_request, sandbox)
    placed = PlacedOrder.objects.get()
    assert placed.price_changed
    assert placed.price_difference_fen == 500
    assert placed.total_fen == placed.created_total_fen + 500
    event = OrderAuditEvent.objects.get(action="price_changed")
    assert event.total_fen == placed.total_fen
    assert orders.refresh_orders(orders=[placed], actor=buyer, config=config(sandbox)) == 1
    assert OrderAuditEvent.objects.filter(action="price_changed").count() == 1
    assert OrderAuditEvent.objects.filter(action="refreshed", actor=buyer).count() == 1


def test_payment_links_are_split_beyond_thirty(buyer, approver, sandbox):
    run = previewed_run(buyer, sandbox, {"A": [(offer(970), 2)]})
    order_request = approved(run, buyer, approver)
    place(order_request, sandbox)
    attempt = OrderAttempt.objects.get()
    cfg = config(sandbox)
    address = SupplierOrder.objects.get().address_param
    for n in range(30):  # 30 more orders, made through the gateway directly
        answer = gateway.create_order(
            cfg, third_order_id=f"X{n}", flow="general", message="x",
            address_param=address, cargo_params=[{"offerId": offer(970), "quantity": 1}],
        )  # fmt: skip
        PlacedOrder.objects.create(
            attempt=attempt, order_id=answer.orders[0].order_id, source="create"
        )
    placed = list(PlacedOrder.objects.order_by("pk"))
    assert len(placed) == 31
    links = orders.payment_links(orders=placed, actor=buyer, config=cfg)
    assert [len(link.order_ids) for link in links] == [30, 1]
    assert links[1].url == f"https://trade.1688.com/order/cashier.htm?orderId={placed[30].order_id}"
    assert links[0].url.startswith("https://cashier.alipay.com/")
    assert OrderAuditEvent.objects.filter(action="payment_link").count() == 31


def test_cancel_an_unpaid_order_with_a_reason(buyer, approver, other_buyer, sandbox):
    run = previewed_run(buyer, sandbox, {"A": [(offer(970), 2)]})
    order_request = approved(run, buyer, approver)
    place(order_request, sandbox)
    placed = PlacedOrder.objects.get()
    with pytest.raises(orders.OrderingRefused):
        orders.cancel_order(placed_order=placed, person=other_buyer, reason="other")
    with pytest.raises(orders.OrderingRefused, match="reason"):
        orders.cancel_order(placed_order=placed, person=buyer, reason="")
    time.sleep(0.6)  # this sandbox refuses a cancel within 0.5 s of creation
    orders.cancel_order(
        placed_order=placed, person=buyer, reason="buyerCancel", remark="ordered twice",
        config=config(sandbox),
    )  # fmt: skip
    placed.refresh_from_db()
    assert placed.cancelled_by == buyer and placed.cancel_reason == "buyerCancel"
    assert sandbox_orders(sandbox)[0]["status"] == "cancel"
    with pytest.raises(orders.OrderingRefused, match="waiting for payment"):
        orders.cancel_order(placed_order=placed, person=buyer, reason="other")
    with pytest.raises(orders.OrderingRefused, match="None of the selected"):
        orders.payment_links(orders=[placed], actor=buyer, config=config(sandbox))


@pytest.mark.django_db(transaction=True)
def test_a_double_click_on_cancel_sends_one_cancel(buyer, approver, sandbox):
    """Four cancels of one order at the same moment (a double click, two tabs): one is
    sent and succeeds; the others are refused without reaching the gateway."""
    run = previewed_run(buyer, sandbox, {"A": [(offer(970), 2)]})
    place(approved(run, buyer, approver), sandbox)
    placed = PlacedOrder.objects.get()
    time.sleep(0.6)  # this sandbox refuses a cancel within 0.5 s of creation
    start = threading.Barrier(4)
    outcomes = []

    def cancel():
        start.wait()
        try:
            orders.cancel_order(
                placed_order=placed, person=buyer, reason="buyerCancel", config=config(sandbox)
            )
            outcomes.append("cancelled")
        except orders.OrderingRefused as refused:
            outcomes.append(refused.message)
        finally:
            connection.close()

    threads = [threading.Thread(target=cancel) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    calls = requests.get(f"{sandbox}/calls", timeout=5).json()["by_path"]
    assert calls.get(gateway.CANCEL_ORDER_PATH) == 1, (calls, outcomes)
    assert outcomes.count("cancelled") == 1, outcomes
    assert all("being sent already" in o or "waiting for payment" in o
               for o in outcomes if o != "cancelled"), outcomes  # fmt: skip
    assert OrderAuditEvent.objects.filter(action="cancelled").count() == 1
    assert not OrderAuditEvent.objects.filter(action="cancel_refused").exists()
    assert sandbox_orders(sandbox)[0]["status"] == "cancel"


def test_cancel_too_soon_says_try_again_in_a_few_seconds(buyer, approver, settings):
    with sandbox_process() as url:  # 1688's own 10 s
        settings.DAJI_API_URL = url
        run = previewed_run(buyer, url, {"A": [(offer(970), 2)]})
        order_request = approved(run, buyer, approver)
        place(order_request, url)
        placed = PlacedOrder.objects.get()
        with pytest.raises(orders.OrderingRefused, match="try again in a few seconds"):
            orders.cancel_order(
                placed_order=placed, person=buyer, reason="other", config=config(url)
            )
        assert sandbox_orders(url)[0]["status"] == "waitbuyerpay"
    assert OrderAuditEvent.objects.filter(action="cancel_refused").count() == 1
    assert PlacedOrder.objects.get().cancelled_at is None


def test_a_paid_order_cannot_be_cancelled(buyer, approver, sandbox):
    run = previewed_run(buyer, sandbox, {"A": [(offer(979), 2)]})
    place(approved(run, buyer, approver), sandbox)
    placed = PlacedOrder.objects.get()
    assert placed.status == "waitsellersend" and not placed.is_unpaid
    with pytest.raises(orders.OrderingRefused, match="waiting for payment"):
        orders.cancel_order(placed_order=placed, person=buyer, reason="other")


# --------------------------------------------------------------------------- audit


def test_the_audit_trail_exports_as_safe_csv(buyer, approver, sandbox):
    run = previewed_run(buyer, sandbox, {"=cmd|' /C calc'!A0": [(offer(970), 2)]})
    order_request = request_all(run, buyer, comment='=HYPERLINK("http://x.test")')
    orders.approve_request(order_request=order_request, approver=approver, comment="+1")
    place(order_request, sandbox)
    from previews.exports import order_audit_csv

    events = OrderAuditEvent.objects.filter(request=order_request).select_related(
        "actor", "supplier_order", "attempt", "placed_order"
    )
    text = orders.audit_csv(events).decode("utf-8-sig")
    assert text.encode("utf-8-sig") == order_audit_csv(events)
    lines = text.splitlines()
    assert lines[0].startswith('"When","Who","Action"')
    assert len(lines) == 1 + 4
    assert '"\'=HYPERLINK(""http://x.test"")"' in lines[1]  # requested, the buyer's comment
    assert '"\'+1"' in lines[2]  # approved, the approver's comment
    assert "\"'=cmd|' /C calc'!A0\"" in lines[4]  # the supplier's name on the placed step
    placed = PlacedOrder.objects.get()
    assert f'"Orders {placed.order_id}"' in lines[4] and '"(worker)"' in lines[4]


def test_the_admin_shows_the_ordering_records_read_only(admin_client, buyer, approver, sandbox):
    run = previewed_run(buyer, sandbox, {"A": [(offer(970), 2)]})
    order_request = approved(run, buyer, approver)
    place(order_request, sandbox)
    attempt = OrderAttempt.objects.get()
    placed = PlacedOrder.objects.get()
    for name, pk in [
        ("orderrequest", order_request.pk), ("supplierorder", attempt.supplier_order_id),
        ("orderattempt", attempt.pk), ("placedorder", placed.pk),
        ("orderauditevent", OrderAuditEvent.objects.first().pk),
    ]:  # fmt: skip
        assert admin_client.get(f"/admin/previews/{name}/").status_code == 200, name
        page = admin_client.get(f"/admin/previews/{name}/{pk}/change/")
        assert page.status_code == 200, name
        assert b'name="_save"' not in page.content, name
        assert admin_client.get(f"/admin/previews/{name}/add/").status_code == 403, name
        assert admin_client.get(f"/admin/previews/{name}/{pk}/delete/").status_code == 403, name
    assert placed.order_id.encode() in admin_client.get("/admin/previews/placedorder/").content


def test_the_buyer_withdraws_what_awaits_approval(buyer, approver, other_buyer, sandbox):
    run = previewed_run(buyer, sandbox, {"A": [(offer(970), 2)]})
    order_request = request_all(run, buyer)
    with pytest.raises(orders.OrderingRefused):
        orders.withdraw_request(order_request=order_request, person=other_buyer)
    with pytest.raises(orders.OrderingRefused):
        orders.withdraw_request(order_request=order_request, person=approver)
    orders.withdraw_request(order_request=order_request, person=buyer, comment="wrong lines")
    order_request.refresh_from_db()
    assert order_request.state == "withdrawn"
    with pytest.raises(orders.OrderingRefused, match="decided already"):
        orders.approve_request(order_request=order_request, approver=approver)
    assert actions(order_request) == ["requested", "withdrawn"]
    assert list(orders.requests_awaiting(user=approver)) == []
    request_all(run, buyer)  # the preview is free again


def test_no_credential_is_stored_anywhere_along_the_path(buyer, approver, settings):
    """Keyed and signed sandbox; a normal order, a refused one and a lost answer: no
    stored body, reason, message or audit comment holds the key or the secret."""
    key, secret = "ord-key-Qx81", 'ord-secret-/%"Zz'
    with sandbox_process("--app-key", key, "--app-secret", secret, "--cancel-too-fast", "0") as url:
        settings.DAJI_API_URL = url
        cfg = config(url, app_key=key, app_secret=secret)
        run = previewed_run(
            buyer, url,
            {"A": [(offer(970), 2)], "B": [(offer(974, 656), 1)], "C": [(offer(973, 657), 1)]},
            gateway_config=cfg,
        )  # fmt: skip
        order_request = approved(run, buyer, approver)
        assert orders.place_request(request_id=order_request.pk, config=cfg) == {
            "placed": 1, "refused": 1, "outcome_unknown": 1,
        }  # fmt: skip
        unknown = OrderAttempt.objects.get(state="outcome_unknown")
        orders.resolve_attempt(attempt_id=unknown.pk, config=cfg)
        placed = list(PlacedOrder.objects.all())
        orders.refresh_orders(orders=placed, actor=buyer, config=cfg)
        orders.payment_links(orders=placed, actor=buyer, config=cfg)
        orders.cancel_order(placed_order=placed[0], person=buyer, reason="other", config=cfg)
        assert len(sandbox_orders(url)) == 2
    stored = []
    for model in (OrderAttempt, PlacedOrder, OrderAuditEvent, SupplierOrder, OrderRequest):
        for row in model.objects.values():
            stored += [str(value) for value in row.values()]
    assert stored and any("AddressId invalid" in text for text in stored)
    assert not [text for text in stored if key in text or secret in text]


def test_an_order_id_already_on_record_is_never_attached_to_another_order(buyer, approver, sandbox):
    """A create answer naming a 1688 order id we already hold (a sandbox restarted, a
    gateway mix-up) must not merge two orders, perhaps two buyers': the attempt's outcome
    becomes unknown for a person to settle, and the earlier order stays as it was."""
    first = approved(previewed_run(buyer, sandbox, {"A": [(offer(970), 2)]}), buyer, approver)
    assert place(first, sandbox) == {"placed": 1}
    earlier = PlacedOrder.objects.get()
    # the id the sandbox hands out next is already recorded for the earlier attempt
    next_id = str(int(earlier.order_id) + ORDER_ID_STEP)
    PlacedOrder.objects.create(attempt=earlier.attempt, order_id=next_id)
    second = approved(previewed_run(buyer, sandbox, {"B": [(offer(1970), 1)]}), buyer, approver)
    place(second, sandbox)
    assert len(sandbox_orders(sandbox)) == 2  # 1688 did create it: once, never resent
    attempt = OrderAttempt.objects.get(supplier_order__request=second)
    assert attempt.state == "outcome_unknown" and attempt.error_kind == "id_clash"
    assert PlacedOrder.objects.get(order_id=next_id).attempt_id == earlier.attempt_id
    assert not PlacedOrder.objects.filter(attempt=attempt).exists()
    part = SupplierOrder.objects.get(request=second)
    assert part.state == "outcome_unknown" and "already recorded" in orders.describe_state(part)
    # the marker search finds the order but its id is another's: still for a person
    orders.resolve_attempt(attempt_id=attempt.pk, config=config(sandbox))
    attempt.refresh_from_db()
    assert attempt.state == "outcome_unknown"


def test_the_buyers_note_for_the_approver_is_not_sent_to_the_seller(buyer, approver, sandbox):
    run = previewed_run(buyer, sandbox, {"A": [(offer(970), 1)]})
    place(approved(run, buyer, approver, comment="for the Shenzhen project, internal"), sandbox)
    (held,) = sandbox_orders(sandbox)
    assert "Shenzhen" not in held["message"]
    assert OrderAttempt.objects.get().marker in held["message"]


def test_only_a_gateway_on_this_machine_counts_as_a_sandbox(settings):
    settings.DAJI_ORDERING_ENABLED = None
    for url in ("http://127.0.0.1:8001", "http://localhost:8001", "http://[::1]:8001"):
        settings.DAJI_API_URL = url
        assert orders.gateway_is_sandbox() and orders.ordering_enabled(), url
    production = settings.DAJI_PRODUCTION_URL
    for url in (
        "https://example.invalid",
        production.replace("https://", "http://"),
        production.upper(),
        production.rstrip("/") + ":443",
        "http://gateway-proxy.internal:8080",
    ):
        settings.DAJI_API_URL = url
        assert not orders.gateway_is_sandbox() and not orders.ordering_enabled(), url
