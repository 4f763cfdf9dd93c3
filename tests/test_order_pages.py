"""The ordering pages (issue #13): the run page's request box, the request page with
approve/reject, the approvals queue, the orders page (status, amounts, payment links,
cancel), outcome-unknown attempts settled by a person, the audit export, the banner.

Against a sandbox of this module's own over real HTTP; placing runs in this process
(`orders.place_request`) so each step can be looked at."""

from __future__ import annotations

import csv
import io
import re
import time
import uuid
from decimal import Decimal

import pytest
import requests
from django.contrib.auth.models import Group, Permission
from django.urls import reverse

from previews import execution, gateway, orders, runs
from previews.models import (
    CartLine,
    OrderAttempt,
    OrderAuditEvent,
    OrderRequest,
    PlacedOrder,
    PreviewRun,
    ShippingAddress,
    Supplier,
    SupplierOrder,
)
from previews.money import format_fen

from .processes import sandbox_process

pytestmark = pytest.mark.django_db(transaction=True)

CANCEL_TOO_FAST = 2.0  # seconds; the sandbox's default is 1688's 10


@pytest.fixture(scope="module")
def order_sandbox():
    with sandbox_process("--cancel-too-fast", str(CANCEL_TOO_FAST), slow=4.0) as url:
        yield url


@pytest.fixture
def sandbox(settings, order_sandbox):
    """The product points at the sandbox: ordering is on (not the production gateway)."""
    settings.DAJI_API_URL = order_sandbox
    settings.DAJI_ORDERING_ENABLED = None
    return order_sandbox


def config(url: str) -> gateway.GatewayConfig:
    return gateway.GatewayConfig(
        base_url=url, max_attempts=2, backoff_base=0.01, read_timeout=2.0, call_deadline=2.0
    )


def sandbox_order_ids(url: str) -> set[str]:
    return {o["orderId"] for o in requests.get(f"{url}/orders", timeout=5).json()["orders"]}


def approvers_group() -> Group:
    """The "Order approvers" group (its migration made it; a transactional test's flush
    removes it, so it is made again as the migration does)."""
    group, _ = Group.objects.get_or_create(name=orders.APPROVERS_GROUP)
    group.permissions.add(
        Permission.objects.get(codename="approve_orderrequest", content_type__app_label="previews")
    )
    return group


@pytest.fixture
def approver(django_user_model):
    user = django_user_model.objects.create_user(username="approver", password="pw-approver-1")
    user.groups.add(approvers_group())
    return django_user_model.objects.get(pk=user.pk)  # permissions are cached per object


def login(client, user):
    client.force_login(user)
    return client


ADDRESS = {
    "label": "HZ", "full_name": "张三", "mobile": "13812345678", "phone": "0571-88886666",
    "post_code": "310051", "district_code": "330108", "province_text": "浙江省",
    "city_text": "杭州市", "area_text": "滨江区", "town_text": "长河街道",
    "address": "网商路699号", "is_default": True,
}  # fmt: skip

# Two suppliers the sandbox orders normally; scenario 971 loses the create's answer.
CART = {
    "义乌日用百货": [(612345001100, 10), (612345001200, 5)],
    "杭州小商品店": [(655123000970, 2)],
}


def previewed_run(owner, url, cart=CART) -> PreviewRun:
    """A run of `cart`, previewed in this process against the sandbox at `url`."""
    address = ShippingAddress.objects.filter(owner=owner).first()
    address = address or ShippingAddress.objects.create(owner=owner, **ADDRESS)
    lines = []
    for name, items in cart.items():
        supplier, _ = Supplier.objects.get_or_create(owner=owner, name=name)
        for offer_id, quantity in items:
            lines.append(
                CartLine.objects.create(
                    owner=owner, supplier=supplier, offer_id=offer_id, quantity=quantity
                )
            )
    run, _ = runs.start_preview(
        owner=owner, address=address, lines=lines, flow="", submission_token=uuid.uuid4()
    )
    execution.execute_run(run_id=run.pk, config=config(url))
    run.refresh_from_db()
    assert run.status == PreviewRun.Status.DONE
    return run


def request_all(run, buyer) -> OrderRequest:
    return orders.request_ordering(run=run, requested_by=buyer, submission_token=uuid.uuid4())


def placed(run, buyer, approver, url) -> OrderRequest:
    order_request = orders.approve_request(
        order_request=request_all(run, buyer), approver=approver, comment="ok"
    )
    orders.place_request(request_id=order_request.pk, config=config(url))
    order_request.refresh_from_db()
    return order_request


def text(response) -> str:
    return response.content.decode()


# --------------------------------------------------------------------------- the banner


def test_every_page_says_whether_ordering_is_live(client, buyer, settings):
    client.force_login(buyer)
    settings.DAJI_API_URL, settings.DAJI_ORDERING_ENABLED = "http://127.0.0.1:8001", None
    html = text(client.get(reverse("previews:cart")))
    assert "Sandbox: orders are simulated." in html and 'data-ordering="simulated"' in html
    settings.DAJI_API_URL = settings.DAJI_PRODUCTION_URL
    html = text(client.get(reverse("previews:cart")))
    assert 'data-testid="ordering-off-banner"' in html and "sandbox-banner" not in html
    assert "placing orders is turned off" in html
    settings.DAJI_ORDERING_ENABLED = True
    html = text(client.get(reverse("previews:order-list")))
    assert 'data-testid="ordering-live-banner"' in html and "real 1688 orders" in html
    settings.DAJI_API_URL, settings.DAJI_ORDERING_ENABLED = "http://127.0.0.1:8001", False
    assert "Ordering is turned off." in text(client.get(reverse("previews:cart")))


# --------------------------------------------------------------------------- the run page


def test_run_page_offers_one_or_all_orderable_suppliers(buyer_client, buyer, sandbox):
    run = previewed_run(buyer, sandbox)
    html = text(buyer_client.get(run.get_absolute_url()))
    assert 'data-testid="run-ordering"' in html
    assert html.count('data-testid="request-supplier"') == 2
    assert "Request ordering of all 2 orderable suppliers" in html
    for supplier in run.suppliers.all():
        total = sum(r.sum_payment_fen for r in supplier.records.all())
        assert format_fen(total) in html


def test_run_page_says_why_it_cannot_be_requested(buyer_client, buyer, sandbox, settings):
    run = previewed_run(buyer, sandbox)
    settings.PREVIEW_QUOTE_MAX_AGE_HOURS = 0.0000001
    html = text(buyer_client.get(run.get_absolute_url()))
    assert "too old to order from" in html and 'data-testid="request-all"' not in html
    assert 'data-testid="ordering-rerun"' in html
    response = buyer_client.post(
        reverse("previews:order-request-create", args=[run.pk]),
        {"submission_token": uuid.uuid4(), "supplier": "", "comment": "kept"},
    )
    assert response.status_code == 200 and "too old to order from" in text(response)
    assert not OrderRequest.objects.exists()
    settings.PREVIEW_QUOTE_MAX_AGE_HOURS = 24
    settings.DAJI_API_URL = settings.DAJI_PRODUCTION_URL
    html = text(buyer_client.get(run.get_absolute_url()))
    assert "Placing orders is turned off" in html and 'data-testid="request-all"' not in html


def test_request_one_supplier_then_the_rest(buyer_client, buyer, sandbox):
    run = previewed_run(buyer, sandbox)
    yiwu = run.suppliers.get(supplier_name="义乌日用百货")
    token = uuid.uuid4()
    url = reverse("previews:order-request-create", args=[run.pk])
    form = {"submission_token": token, "supplier": yiwu.pk, "comment": "for the shop"}
    response = buyer_client.post(url, form)
    first = OrderRequest.objects.get()
    assert response.status_code == 302 and response["Location"] == first.get_absolute_url()
    assert buyer_client.post(url, form).status_code == 302  # a double click: the same request
    assert OrderRequest.objects.count() == 1
    assert list(first.supplier_orders.values_list("supplier_name", flat=True)) == ["义乌日用百货"]
    html = text(buyer_client.get(run.get_absolute_url()))
    assert html.count('data-testid="request-supplier"') == 1
    buyer_client.post(url, {"submission_token": uuid.uuid4(), "supplier": ""})
    assert OrderRequest.objects.count() == 2
    html = text(buyer_client.get(run.get_absolute_url()))
    assert 'data-testid="ordering-all-requested"' in html
    assert html.count('data-testid="run-order-requests"') == 1
    # a page left open sends once more: refused, and the page says why
    response = buyer_client.post(url, {"submission_token": uuid.uuid4(), "supplier": yiwu.pk})
    assert response.status_code == 200 and "is already requested" in text(response)
    assert OrderRequest.objects.count() == 2


def test_a_request_posted_from_a_changed_page_says_so_and_keeps_the_note(
    buyer_client, buyer, sandbox
):
    run = previewed_run(buyer, sandbox)
    url = reverse("previews:order-request-create", args=[run.pk])
    for changed in ({"supplier": "abc"}, {"submission_token": "not-a-token"}):
        form = {"submission_token": uuid.uuid4(), "supplier": "", "comment": "for the fair"}
        response = buyer_client.post(url, {**form, **changed})
        html = text(response)
        assert response.status_code == 200
        assert "This page was out of date or changed by hand: reload it and try again." in html
        assert "for the fair</textarea>" in html
    assert not OrderRequest.objects.exists()


# --------------------------------------------------------------------------- the request page


def test_request_page_shows_exactly_what_will_be_ordered(buyer_client, buyer, sandbox):
    run = previewed_run(buyer, sandbox)
    order_request = request_all(run, buyer)
    html = text(buyer_client.get(order_request.get_absolute_url()))
    assert html.count('data-testid="supplier-order"') == 2
    assert "网商路699号" in html and "13812345678" in html and "330108" in html
    for part in order_request.supplier_orders.all():
        assert format_fen(part.previewed_total_fen) in html
        assert part.trade_mode_name and part.trade_mode_name in html
        assert part.pay_window in html
    assert html.count('data-testid="order-line"') == 3
    assert 'data-testid="waiting-for-approver"' in html  # the buyer may not approve
    assert 'data-testid="approve"' not in html
    assert 'data-action="requested"' in html


def figures_of(block: str) -> dict[str, int]:
    """The figures of a totals block (data-field → fen): "¥1,058.96" → 105896."""
    found = re.findall(r'data-field="([a-z-]+)">(?:<span data-field="total">)?(−?¥[\d,.]+)', block)
    return {name: round(Decimal(value.replace("−", "-").replace("¥", "").replace(",", "")) * 100)
            for name, value in found}  # fmt: skip


def blocks_by_supplier(html: str, section: str, block: str) -> dict[str, dict[str, int]]:
    """Each supplier's totals block of a page: {supplier: {field: fen}}."""
    found = {}
    for part in html.split(f'data-testid="{section}" data-supplier="')[1:]:
        name = part.split('"', 1)[0]
        found[name] = figures_of(part.split(f'data-testid="{block}"', 1)[1].split("</dl>")[0])
    return found


def test_a_request_shows_the_run_pages_figures_and_they_add_up(buyer_client, buyer, sandbox):
    """The 义乌 supplier has a ¥20 order discount: the request's block is the run page's
    (goods after line promotions − order discounts + carriage = total), not the goods
    with the discount already taken off and then taken off again."""
    run = previewed_run(buyer, sandbox)
    on_run_page = blocks_by_supplier(
        text(buyer_client.get(run.get_absolute_url())), "supplier-section", "supplier-totals"
    )
    order_request = request_all(run, buyer)
    on_request = blocks_by_supplier(
        text(buyer_client.get(order_request.get_absolute_url())), "supplier-order", "order-totals"
    )
    assert set(on_request) == set(CART) and on_run_page["义乌日用百货"]["order-discount"] == 2000
    for name, shown in on_request.items():
        adds_up = (shown["goods"] - shown["order-discount"] + shown["carriage"]
                   + shown.get("other-fees", 0) + shown.get("unexplained", 0))  # fmt: skip
        assert adds_up == shown["previewed-total"] == on_run_page[name]["total"]
        for field in ("goods", "order-discount", "carriage"):
            assert shown[field] == on_run_page[name][field], (name, field)


def test_a_buyer_cannot_approve_their_own_request_unless_the_setting_allows(
    buyer_client, buyer, sandbox, settings
):
    run = previewed_run(buyer, sandbox)
    order_request = request_all(run, buyer)
    approve = reverse("previews:order-request-approve", args=[order_request.pk])
    response = buyer_client.post(approve, {"comment": "mine"})
    assert response.status_code == 200
    assert "You may not approve or reject this request." in text(response)
    order_request.refresh_from_db()
    assert order_request.state == OrderRequest.State.AWAITING_APPROVAL

    settings.ORDER_SELF_APPROVAL = True
    settings.ORDER_SELF_APPROVAL_LIMIT_FEN = 100  # ¥1.00: below this request
    html = text(buyer_client.get(order_request.get_absolute_url()))
    assert 'data-testid="approve"' not in html
    response = buyer_client.post(approve, {"comment": "mine"})
    assert "You can approve your own requests up to ¥1.00" in text(response)
    assert OrderRequest.objects.get().state == OrderRequest.State.AWAITING_APPROVAL

    settings.ORDER_SELF_APPROVAL_LIMIT_FEN = None
    assert 'data-testid="approve"' in text(buyer_client.get(order_request.get_absolute_url()))
    response = buyer_client.post(approve, {"comment": "mine"})
    assert response.status_code == 302
    assert OrderRequest.objects.get().state == OrderRequest.State.APPROVED


def test_an_approver_sees_what_waits_for_them_and_nothing_else(
    client, buyer, other_buyer, approver, sandbox
):
    waiting = request_all(previewed_run(buyer, sandbox), buyer)
    other_run = previewed_run(other_buyer, sandbox, {"义乌日用百货": [(612345001300, 4)]})
    rejected = request_all(other_run, other_buyer)
    orders.reject_request(order_request=rejected, approver=approver, comment="no budget")
    login(client, approver)
    queue = text(client.get(reverse("previews:order-approvals")))
    assert f'data-request="{waiting.pk}"' in queue and f'data-request="{rejected.pk}"' not in queue
    assert "buyer" in queue
    assert client.get(waiting.get_absolute_url()).status_code == 200
    assert client.get(rejected.get_absolute_url()).status_code == 404  # decided: not theirs
    assert client.get(waiting.run.get_absolute_url()).status_code == 404  # the buyer's run
    assert text(client.get(reverse("previews:order-request-list"))).count("order-request-row") == 0

    response = client.post(
        reverse("previews:order-request-approve", args=[waiting.pk]), {"comment": "go"}
    )
    assert response.status_code == 302 and response["Location"] == reverse(
        "previews:order-approvals"
    )
    waiting.refresh_from_db()
    assert waiting.state == OrderRequest.State.APPROVED and waiting.decided_by == approver
    # a second click lands on the queue with the reason, and approves nothing again
    again = client.post(
        reverse("previews:order-request-approve", args=[waiting.pk]), {"comment": "go"}, follow=True
    )
    assert "waiting for a decision" in text(again)
    assert OrderAuditEvent.objects.filter(request=waiting, action="approved").count() == 1
    assert client.get(waiting.get_absolute_url()).status_code == 404


def test_the_buyer_withdraws_a_request_and_may_request_again(buyer_client, buyer, sandbox):
    run = previewed_run(buyer, sandbox)
    order_request = request_all(run, buyer)
    assert 'data-testid="ordering-all-requested"' in text(buyer_client.get(run.get_absolute_url()))
    response = buyer_client.post(
        reverse("previews:order-request-withdraw", args=[order_request.pk]), {"comment": "later"}
    )
    assert response.status_code == 302
    order_request.refresh_from_db()
    assert order_request.state == "withdrawn"
    html = text(buyer_client.get(order_request.get_absolute_url()))
    assert 'data-testid="withdraw"' not in html and 'data-action="withdrawn"' in html
    assert 'data-testid="request-all"' in text(buyer_client.get(run.get_absolute_url()))


def test_rejecting_needs_a_comment_and_keeps_what_was_typed(client, buyer, approver, sandbox):
    order_request = request_all(previewed_run(buyer, sandbox), buyer)
    login(client, approver)
    reject = reverse("previews:order-request-reject", args=[order_request.pk])
    response = client.post(reject, {"comment": "  "})
    assert response.status_code == 200 and "Say why in the comment." in text(response)
    response = client.post(reject, {"comment": "too dear"})
    assert response.status_code == 302
    order_request.refresh_from_db()
    assert order_request.state == OrderRequest.State.REJECTED
    assert order_request.decision_comment == "too dear"


def test_a_repriced_supplier_comes_back_showing_the_difference(client, buyer, approver, sandbox):
    run = previewed_run(buyer, sandbox, {"汕头": [(655124000978, 3)]})
    order_request = placed(run, buyer, approver, sandbox)
    part = order_request.supplier_orders.get()
    assert part.state == SupplierOrder.State.REPRICED
    login(client, approver)
    html = text(client.get(order_request.get_absolute_url()))
    assert 'data-testid="repriced"' in html and "+¥1.00" in html
    assert format_fen(part.repriced_total_fen) in html
    assert f'data-request="{order_request.pk}"' in text(
        client.get(reverse("previews:order-approvals"))
    )


def test_our_own_reasons_and_history_read_in_the_readers_language(
    buyer_client, buyer, approver, sandbox
):
    """Reasons and history notes are kept as kinds and values, and written out in the
    reader's language: a Chinese page has no English sentence of ours; the admin keeps
    the English."""
    # quantities of their own: the module's sandbox remembers each cart it repriced (978)
    run = previewed_run(buyer, sandbox, {"汕头": [(655124000978, 4)], "义乌": [(612345001100, 7)]})
    order_request = placed(run, buyer, approver, sandbox)  # one repriced, one placed
    created = PlacedOrder.objects.filter(attempt__supplier_order__request=order_request)
    buyer_client.post(reverse("previews:order-payment-links"), {"order": [o.pk for o in created]})
    repriced = order_request.supplier_orders.get(state=SupplierOrder.State.REPRICED)
    assert repriced.state_reason.startswith("The total changed from")  # for the admin
    url = order_request.get_absolute_url()
    english = text(buyer_client.get(url))
    assert "The total changed from" in english and "1 order in one payment page" in english
    buyer_client.post(reverse("set_language"), {"language": "zh-hans"})
    chinese = text(buyer_client.get(url))
    assert "批准后金额已从" in chinese and "+¥1.00" in chinese
    assert "1 个订单合并在一个付款页" in chinese
    placed_ids = ", ".join(o.order_id for o in created)
    assert f"订单 {placed_ids}" in chinese
    for sentence in ("The total changed", "payment page", "Orders "):
        assert sentence not in chinese, sentence


def test_withdrawing_the_rest_of_a_partly_placed_request_says_what_stays_placed(
    buyer_client, buyer, approver, sandbox
):
    run = previewed_run(buyer, sandbox, {"汕头": [(655124000978, 5)], "义乌": [(612345001100, 6)]})
    order_request = placed(run, buyer, approver, sandbox)  # one placed, one repriced
    url = reverse("previews:order-request-withdraw", args=[order_request.pk])
    html = text(buyer_client.post(url, {"comment": "not now"}, follow=True))
    assert "what was placed stays placed" in html and "nothing of it will be ordered" not in html
    withdrawn = order_request.supplier_orders.get(state=SupplierOrder.State.WITHDRAWN)
    assert withdrawn.shown_reason == ""  # no "approve it again" under a withdrawn part
    assert "approve it again" not in html.split('data-testid="history"')[0]


# --------------------------------------------------------------------------- orders


def test_orders_page_payment_links_and_cancel(buyer_client, buyer, approver, sandbox):
    order_request = placed(previewed_run(buyer, sandbox), buyer, approver, sandbox)
    created = list(PlacedOrder.objects.filter(attempt__supplier_order__request=order_request))
    assert len(created) == 2 and {o.order_id for o in created} <= sandbox_order_ids(sandbox)
    html = text(buyer_client.get(reverse("previews:order-list")))
    for order in created:
        assert f'data-order-id="{order.order_id}"' in html  # the 19-digit id, exactly
        assert format_fen(order.expected_total_fen) in html
    assert "Waiting for payment" in html and 'data-testid="pay-by"' in html

    response = buyer_client.post(
        reverse("previews:order-payment-links"), {"order": [o.pk for o in created]}, follow=True
    )
    links = response.context["payment_links"]
    assert len(links) == 1 and set(links[0]["order_ids"]) == {o.order_id for o in created}
    assert 'data-testid="payment-link"' in text(response)
    assert links[0]["url"].startswith("http")
    # shown once: the next visit has no stale links
    assert 'data-testid="payment-link"' not in text(
        buyer_client.get(reverse("previews:order-list"))
    )

    order = created[0]
    cancel = reverse("previews:order-cancel", args=[order.pk])
    response = buyer_client.post(cancel, {"reason": "buyerCancel", "remark": "changed mind"})
    if response.status_code == 200:  # within the sandbox's too-fast window: readable
        assert "try again in a few seconds" in text(response)
        assert 'value="changed mind"' in text(response)
        time.sleep(CANCEL_TOO_FAST + 0.5)
        response = buyer_client.post(cancel, {"reason": "buyerCancel", "remark": "changed mind"})
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.cancelled_at is not None and order.cancel_reason == "buyerCancel"
    html = text(buyer_client.get(reverse("previews:order-list")))
    assert "Cancelled (The buyer cancels)" in html
    # the request page, where the part still reads "Placed", says which order was cancelled
    request_page = text(buyer_client.get(order_request.get_absolute_url()))
    statuses = dict(
        re.findall(r'>(\d+)</a> <span[^>]*data-testid="placed-order-status">\(([^)]*)\)',
                   request_page)
    )  # fmt: skip
    assert statuses == {order.order_id: "Cancelled", created[1].order_id: "Waiting for payment"}
    again = buyer_client.get(cancel, follow=True)  # no cancel form for a cancelled order
    assert again.redirect_chain[-1][0] == reverse("previews:order-list")
    assert "Only an order waiting for payment can be cancelled" in text(again)
    assert "this one is “Cancelled”" in text(again)
    stale_tab = buyer_client.post(cancel, {"reason": "other", "remark": "again"}, follow=True)
    assert stale_tab.redirect_chain[-1][0] == reverse("previews:order-list")
    assert "this one is “Cancelled”" in text(stale_tab)
    # both selected again: the cancelled one is left out, and the page says so
    response = buyer_client.post(
        reverse("previews:order-payment-links"), {"order": [o.pk for o in created]}, follow=True
    )
    links = response.context["payment_links"]
    assert len(links) == 1 and links[0]["order_ids"] == [created[1].order_id]
    assert "1 selected order was left out: it is paid, cancelled or closed." in text(response)


def test_too_soon_cancel_says_try_again(buyer_client, buyer, approver, sandbox):
    order_request = placed(previewed_run(buyer, sandbox), buyer, approver, sandbox)
    order = PlacedOrder.objects.filter(attempt__supplier_order__request=order_request).first()
    response = buyer_client.post(
        reverse("previews:order-cancel", args=[order.pk]), {"reason": "other", "remark": "x"}
    )
    assert response.status_code == 200
    assert "try again in a few seconds" in text(response)
    order.refresh_from_db()
    assert order.cancelled_at is None


def test_the_seller_changing_carriage_is_flagged(buyer_client, buyer, approver, sandbox):
    placed(previewed_run(buyer, sandbox, {"汕头": [(655125000977, 2)]}), buyer, approver, sandbox)
    order = PlacedOrder.objects.get()
    buyer_client.post(reverse("previews:order-refresh"), {"order": [order.pk]})
    html = text(buyer_client.get(reverse("previews:order-list")))
    assert 'data-testid="price-changed"' in html and "+¥5.00" in html
    assert "read " in html and "never read" not in html


def test_failed_lines_are_shown(buyer_client, buyer, approver, sandbox):
    cart = {"深圳": [(655126000100, 2), (655126000975, 1)]}
    order_request = placed(previewed_run(buyer, sandbox, cart), buyer, approver, sandbox)
    assert order_request.supplier_orders.get().state == SupplierOrder.State.PARTLY_PLACED
    html = text(buyer_client.get(reverse("previews:order-list")))
    assert 'data-testid="order-failed-lines"' in html and "655126000975" in html
    html = text(buyer_client.get(order_request.get_absolute_url()))
    assert 'data-testid="failed-lines"' in html


# --------------------------------------------------------------------------- outcome unknown


def test_an_unknown_outcome_is_shown_and_checked(buyer_client, buyer, approver, sandbox):
    order_request = placed(
        previewed_run(buyer, sandbox, {"汕头": [(655127000971, 2)]}), buyer, approver, sandbox
    )
    attempt = OrderAttempt.objects.get(supplier_order__request=order_request)
    assert attempt.state == OrderAttempt.State.OUTCOME_UNKNOWN
    html = text(buyer_client.get(reverse("previews:order-list")))
    assert 'data-testid="unknown-attempts"' in html and attempt.third_order_id in html
    response = buyer_client.post(
        reverse("previews:order-attempt-check", args=[attempt.pk]), follow=True
    )
    attempt.refresh_from_db()
    assert attempt.state == OrderAttempt.State.RESOLVED_PLACED
    assert "Resolved: placed" in text(response)
    order = PlacedOrder.objects.get(attempt=attempt)
    assert order.order_id in sandbox_order_ids(sandbox)
    assert 'data-testid="unknown-attempts"' not in text(response)


def test_a_person_settles_an_unknown_outcome(client, buyer, approver, sandbox):
    order_request = placed(
        previewed_run(buyer, sandbox, {"汕头": [(655128000971, 1)]}), buyer, approver, sandbox
    )
    attempt = OrderAttempt.objects.get(supplier_order__request=order_request)
    login(client, approver)
    queue = text(client.get(reverse("previews:order-approvals")))
    assert f'data-attempt="{attempt.pk}"' in queue  # waits for a person: the approvers too
    resolve = reverse("previews:order-attempt-resolve", args=[attempt.pk])
    response = client.post(resolve, {"outcome": "placed", "order_id": "", "comment": ""})
    assert response.status_code == 200 and "Enter the 1688 order id" in text(response)
    response = client.post(resolve, {"outcome": "placed", "order_id": "12ab", "comment": "x"})
    assert "digits only" in text(response) and 'value="12ab"' in text(response)
    found = sorted(
        sandbox_order_ids(sandbox) - set(PlacedOrder.objects.values_list("order_id", flat=True))
    )[-1]
    response = client.post(resolve, {"outcome": "placed", "order_id": found, "comment": "seen"})
    assert response.status_code == 302
    attempt.refresh_from_db()
    assert attempt.state == OrderAttempt.State.RESOLVED_PLACED and attempt.resolved_by == approver
    assert PlacedOrder.objects.get(attempt=attempt).order_id == found
    assert client.get(resolve).status_code == 404  # settled: no longer the approver's


# --------------------------------------------------------------------------- isolation


def test_another_buyer_cannot_see_or_act_on_requests_or_orders(
    client, buyer, other_buyer, approver, sandbox
):
    order_request = placed(
        previewed_run(buyer, sandbox, {"汕头": [(655129000971, 1)], "义乌": [(655130000100, 1)]}),
        buyer, approver, sandbox,
    )  # fmt: skip
    order = PlacedOrder.objects.get(attempt__supplier_order__request=order_request)
    attempt = OrderAttempt.objects.get(state=OrderAttempt.State.OUTCOME_UNKNOWN)
    login(client, other_buyer)
    for url in (
        order_request.get_absolute_url(),
        reverse("previews:order-request-audit-export", args=[order_request.pk]),
        reverse("previews:order-cancel", args=[order.pk]),
        reverse("previews:order-attempt-resolve", args=[attempt.pk]),
    ):
        assert client.get(url).status_code == 404, url
    for url in (
        reverse("previews:order-request-approve", args=[order_request.pk]),
        reverse("previews:order-request-reject", args=[order_request.pk]),
        reverse("previews:order-request-withdraw", args=[order_request.pk]),
        reverse("previews:order-attempt-check", args=[attempt.pk]),
        reverse("previews:order-cancel", args=[order.pk]),
        reverse("previews:order-request-create", args=[order_request.run_id]),
    ):
        assert client.post(url, {"reason": "other", "comment": "x"}).status_code == 404, url
    html = text(client.get(reverse("previews:order-list")))
    assert order.order_id not in html and attempt.third_order_id not in html
    # selecting another buyer's order for payment links or a refresh does nothing
    response = client.post(
        reverse("previews:order-payment-links"), {"order": [order.pk]}, follow=True
    )
    assert "Select at least one order." in text(response)
    assert order.order_id not in text(response)
    assert not OrderAuditEvent.objects.filter(actor=other_buyer).exists()
    assert "order-request-row" not in text(client.get(reverse("previews:order-request-list")))
    assert "order-request-row" not in text(client.get(reverse("previews:order-approvals")))
    export = client.get(reverse("previews:order-audit-export")).content.decode("utf-8-sig")
    assert str(order_request.pk) not in [row[3] for row in csv.reader(io.StringIO(export))][1:]


# --------------------------------------------------------------------------- audit


def test_audit_export_of_a_request(buyer_client, buyer, approver, sandbox, client):
    order_request = placed(previewed_run(buyer, sandbox), buyer, approver, sandbox)
    response = buyer_client.get(
        reverse("previews:order-request-audit-export", args=[order_request.pk])
    )
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    content = response.content.decode("utf-8-sig")
    assert "approver" in content and "requested" in content.lower()
    for order in PlacedOrder.objects.all():
        assert order.order_id in content
    # the whole audit: a buyer's own requests; everyone's for whoever the admin lets read it
    whole = reverse("previews:order-audit-export")
    assert "approver" in buyer_client.get(whole).content.decode("utf-8-sig")
    login(client, approver)  # an approver, but not an auditor: their own requests (none)
    assert len(client.get(whole).content.decode("utf-8-sig").splitlines()) == 1
    approver.user_permissions.add(Permission.objects.get(codename="view_orderauditevent"))
    login(client, type(approver).objects.get(pk=approver.pk))
    assert client.get(whole).content.decode("utf-8-sig").count("\r\n") == (
        OrderAuditEvent.objects.count() + 1
    )


def test_ordering_pages_in_chinese(buyer_client, settings):
    settings.DAJI_API_URL, settings.DAJI_ORDERING_ENABLED = "http://127.0.0.1:8001", None
    buyer_client.post(reverse("set_language"), {"language": "zh-hans"})
    html = text(buyer_client.get(reverse("previews:order-list")))
    assert "已在 1688 下的订单" in html and "沙箱:订单为模拟下单。" in html
    assert "我的申请" in html and "还没有下过订单。" in html


def test_the_run_pages_box_and_the_use_case_agree_on_what_can_be_requested(buyer, sandbox):
    """The run page reads the orderable suppliers from what it already loaded; the use
    case's own rule (`orders.orderable_suppliers`) must give the same, whatever state a
    supplier's earlier request ended in."""
    from previews import selectors

    run = previewed_run(buyer, sandbox)

    def both():
        shown = selectors.run_ordering(
            run=selectors.run_with_results(owner=buyer, pk=run.pk), user=buyer
        )
        return [s.pk for s in shown.suppliers], [s.pk for s in orders.orderable_suppliers(run=run)]

    shown, rule = both()
    assert shown == rule and len(shown) == 2
    order_request = request_all(run, buyer)
    for state in SupplierOrder.State.values:
        order_request.supplier_orders.update(state=state)
        shown, rule = both()
        assert shown == rule, state


def test_the_admin_reads_the_ordering_records_and_changes_none(
    admin_client, buyer, approver, sandbox
):
    order_request = placed(previewed_run(buyer, sandbox), buyer, approver, sandbox)
    objects = {
        "orderrequest": order_request,
        "supplierorder": order_request.supplier_orders.first(),
        "orderattempt": OrderAttempt.objects.first(),
        "placedorder": PlacedOrder.objects.first(),
        "orderauditevent": OrderAuditEvent.objects.first(),
    }
    for model, obj in objects.items():
        changelist = admin_client.get(reverse(f"admin:previews_{model}_changelist"))
        assert changelist.status_code == 200, model
        assert admin_client.get(reverse(f"admin:previews_{model}_add")).status_code == 403
        change = reverse(f"admin:previews_{model}_change", args=[obj.pk])
        page = admin_client.get(change)
        assert page.status_code == 200 and 'name="_save"' not in text(page), model
        assert admin_client.post(change, {}).status_code == 403, model
        delete = reverse(f"admin:previews_{model}_delete", args=[obj.pk])
        assert admin_client.post(delete, {"post": "yes"}).status_code == 403, model
    events = OrderAuditEvent.objects.count()
    admin_client.post(
        reverse("admin:previews_orderauditevent_changelist"),
        {"action": "delete_selected", "_selected_action": [objects["orderauditevent"].pk]},
    )
    assert OrderAuditEvent.objects.count() == events
