"""Issue #13's proof in real Chromium: request → approve (as the approver, in a browser
of their own) → placed by a real worker against the sandbox over HTTP → the orders page
→ a payment link. Live server, real worker, sandbox process."""

import re

import pytest
import requests
from django.contrib.auth.models import Group, Permission

from previews import orders
from previews.models import OrderRequest, PlacedOrder, PreviewRun

from .conftest import start_run
from .processes import celery_worker, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

BUYER_PASSWORD = "pw-buyer-12345"  # the `buyer` fixture's
APPROVER_PASSWORD = "pw-approver-12345"
CART = {
    "义乌日用百货": [(612345001100, "", 10), (612345001200, "", 5)],
    "杭州小商品店": [(655123000970, "", 2)],
}


def log_in(page, base, username, password):
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/cart/$"))


@pytest.fixture
def approver(django_user_model):
    group, _ = Group.objects.get_or_create(name=orders.APPROVERS_GROUP)
    group.permissions.add(
        Permission.objects.get(codename="approve_orderrequest", content_type__app_label="previews")
    )
    user = django_user_model.objects.create_user(username="approver", password=APPROVER_PASSWORD)
    user.groups.add(group)
    return user


def test_request_approve_place_and_pay(
    browser_page, chromium, live_server, buyer, approver, stocked_cart, worker_env, sandbox_url,
    settings, tmp_path,
):  # fmt: skip
    settings.DAJI_API_URL = sandbox_url  # the web talks to the sandbox: ordering is on
    settings.DAJI_ORDERING_ENABLED = None
    address, lines = stocked_cart(buyer, CART)
    page, base = browser_page, live_server.url
    log_in(page, base, "buyer", BUYER_PASSWORD)
    assert "Sandbox: orders are simulated." in page.get_by_test_id("sandbox-banner").inner_text()

    with celery_worker(worker_env, log=tmp_path / "worker.log"):
        run = start_run(buyer, address, lines, flow="")
        page.goto(f"{base}{run.get_absolute_url()}")
        page.get_by_test_id("grand-total-amount").wait_for(timeout=45_000)
        assert PreviewRun.objects.get(pk=run.pk).status == "done"

        # the buyer requests every orderable supplier, with a note
        box = page.get_by_test_id("run-ordering")
        assert box.get_by_test_id("orderable-supplier").count() == 2
        box.locator("textarea").fill("For the spring fair")
        box.get_by_test_id("request-all").click()
        page.wait_for_url(re.compile(r"/orders/requests/\d+/$"))
        order_request = OrderRequest.objects.get(requested_by=buyer)
        assert page.get_by_test_id("request-state").inner_text() == "Awaiting approval"
        assert page.get_by_test_id("supplier-order").count() == 2
        assert page.get_by_test_id("approve").count() == 0  # not their own
        previewed = {
            part.supplier_name: part.previewed_total_fen
            for part in order_request.supplier_orders.all()
        }

        # the approver, in a browser of their own, approves from their queue
        context = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
        context.set_default_timeout(15_000)
        other = context.new_page()
        errors: list[str] = []
        other.on("pageerror", lambda error: errors.append(str(error)))
        log_in(other, base, "approver", APPROVER_PASSWORD)
        other.get_by_test_id("nav-orders").click()  # Approvals is a tab of the orders pages
        other.get_by_test_id("tab-approvals").click()
        other.locator(f"[data-request='{order_request.pk}'] a").click()
        other.wait_for_url(re.compile(rf"/orders/requests/{order_request.pk}/$"))
        assert "For the spring fair" in other.content()
        other.get_by_test_id("decision-form").locator("textarea").fill("Within budget")
        other.get_by_test_id("approve").click()
        other.wait_for_url(re.compile(r"/orders/approvals/$"))
        assert "Approved: the orders are being placed." in other.content()
        assert other.get_by_test_id("nothing-to-approve").count() == 1
        assert errors == []
        context.close()

        # the worker previews each supplier again and places it, once
        wait_until(
            lambda: OrderRequest.objects.get(pk=order_request.pk).state == "finished",
            timeout=60,
            what="the request to be placed",
        )
    placed = list(PlacedOrder.objects.filter(attempt__supplier_order__request=order_request))
    assert len(placed) == 2
    held = requests.get(f"{sandbox_url}/orders", timeout=5).json()["orders"]
    assert {o.order_id for o in placed} <= {o["orderId"] for o in held}

    # the orders page: every order, its amounts, and a payment link for the selection
    page.get_by_test_id("nav-orders").click()
    page.wait_for_url(re.compile(r"/orders/$"))
    rows = page.get_by_test_id("placed-order")
    assert rows.count() == 2
    shown_ids = {rows.nth(n).get_by_test_id("order-id").inner_text() for n in range(2)}
    assert shown_ids == {o.order_id for o in placed}  # 19 digits, exactly, as strings
    assert sorted(o.expected_total_fen for o in placed) == sorted(previewed.values())
    page.get_by_test_id("select-all").check()
    assert all(rows.nth(n).locator("input[type=checkbox]").is_checked() for n in range(2))
    page.get_by_test_id("get-payment-links").click()
    page.wait_for_url(re.compile(r"/orders/$"))
    link = page.get_by_test_id("payment-link")
    assert link.count() == 1
    assert link.get_attribute("href").startswith("http")
    assert all(o.order_id in page.get_by_test_id("payment-links").inner_text() for o in placed)

    # the ordering pages fit a phone
    page.set_viewport_size({"width": 390, "height": 844})
    for path in ("/orders/", order_request.get_absolute_url(), "/orders/requests/",
                 run.get_absolute_url()):  # fmt: skip
        page.goto(f"{base}{path}")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"{path} is {width}px wide"
    assert page.js_errors == []
