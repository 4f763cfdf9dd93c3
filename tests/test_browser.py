"""The buyer's day in real Chromium: live server, real worker, sandbox over HTTP."""

import csv
import io
import re
import uuid

import pytest

from previews import gateway
from previews.models import CartLine, PreviewRun, ShippingAddress
from previews.money import format_fen

from .processes import celery_worker, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "pw-buyer-12345"  # the `buyer` fixture's

PASTE = "\n".join(
    [
        "https://detail.1688.com/offer/670291644950.html,594b40c111b019af610a0078e4316373,1,杭州小商品店",
        "670291001100,,2,杭州小商品店",
        "https://m.1688.com/offer/670291001200.html,,3,杭州小商品店",
        "612345001100,,10,义乌日用百货",
        "612345001200,,5,义乌日用百货",
        "612345001300,,4,义乌日用百货",
        "612345001700,,3,义乌日用百货",
        "623456001100,,6,深圳电子配件",
        "623456001200,,20,深圳电子配件",
        "623456001904,,2,深圳电子配件",
    ]
)


def log_in(page, base):
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", "buyer")
    page.fill("#id_password", PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/cart/$"))


def expected_totals(sandbox_url) -> dict[str, int]:
    """What the sandbox says each supplier's order costs, asked directly over HTTP."""
    address = gateway.Address(
        full_name="张三", mobile="13812345678", phone="13812345678", post_code="310051",
        province_text="浙江省", city_text="杭州市", area_text="滨江区", town_text="长河街道",
        address="网商路699号", district_code="330108",
    )  # fmt: skip
    totals: dict[str, int] = {}
    for row in csv.reader(io.StringIO(PASTE)):
        offer = int(re.search(r"(\d{12})", row[0]).group(1))
        totals.setdefault(row[3], []).append(gateway.Cargo(offer, int(row[2]), row[1] or None))
    config = gateway.GatewayConfig(base_url=sandbox_url)
    return {
        name: sum(r.sum_payment_fen for r in gateway.preview_order(config, address=address,
                                                                  cargo=cargo).records)
        for name, cargo in totals.items()
    }  # fmt: skip


def test_a_buyers_day(browser_page, live_server, buyer, worker_env, sandbox_url, tmp_path):
    page, base = browser_page, live_server.url
    log_in(page, base)

    # an address, with the province → city → district pickers
    page.goto(f"{base}/addresses/new/")
    page.fill("#id_label", "Hangzhou warehouse")
    page.fill("#id_full_name", "张三")
    page.fill("#id_mobile", "138 1234 5678")
    page.fill("#id_post_code", "310051")
    page.select_option("#pick-province", label="浙江省")
    page.wait_for_selector("#pick-city option:text('杭州市')", state="attached")
    page.select_option("#pick-city", label="杭州市")
    page.wait_for_selector("#pick-district option:text('滨江区')", state="attached")
    page.select_option("#pick-district", label="滨江区")
    assert page.input_value("#id_district_code") == "330108"
    assert page.input_value("#id_province_text") == "浙江省"
    page.fill("#id_town_text", "长河街道")
    page.fill("#id_address", "网商路699号")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(re.compile(r"/addresses/$"))
    address = ShippingAddress.objects.get(owner=buyer)
    assert (address.city_text, address.area_text, address.mobile) == (
        "杭州市",
        "滨江区",
        "13812345678",
    )

    # ten lines from three suppliers, pasted
    page.goto(f"{base}/cart/import/")
    page.fill("#id_text", PASTE)
    page.get_by_role("button", name="Import").click()
    page.wait_for_url(re.compile(r"/cart/$"))
    assert page.locator("[data-testid=cart-supplier]").count() == 3
    assert CartLine.objects.filter(owner=buyer).count() == 10

    # a preview, watched until it completes, without reloading by hand
    with celery_worker(worker_env, log=tmp_path / "worker.log"):
        page.goto(f"{base}/previews/new/")
        page.get_by_test_id("start-preview").click()
        page.wait_for_url(re.compile(r"/runs/\d+/$"))
        page.get_by_test_id("grand-total-amount").wait_for(timeout=45_000)
    run = PreviewRun.objects.get(owner=buyer)
    assert run.status == "done"

    # the breakdown shows what the sandbox says, to the fen
    expected = expected_totals(sandbox_url)
    for name, total in expected.items():
        shown = page.locator(f"section[data-supplier='{name}'] [data-field=total]").inner_text()
        assert shown == format_fen(total), name
    orderable = expected["杭州小商品店"] + expected["义乌日用百货"]  # 深圳: out of stock
    assert page.get_by_test_id("grand-total-amount").inner_text() == format_fen(orderable)
    assert "深圳电子配件" in page.get_by_test_id("left-out").inner_text()
    assert "Not enough stock" in page.get_by_test_id("left-out").inner_text()

    # export
    with page.expect_download() as download:
        page.get_by_test_id("export-csv").click()
    with open(download.value.path(), "rb") as exported:
        content = exported.read()
    assert content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    assert len([r for r in rows if r[3].isdigit()]) == 10
    assert rows[-1][10] == f"{orderable / 100:.2f}"

    # switch the language
    page.select_option("#language-select", "zh-hans")
    page.get_by_role("button", name="Switch").click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    assert "可下单订单合计" in page.content()
    assert page.get_by_test_id("grand-total-amount").inner_text() == format_fen(orderable)
    assert page.js_errors == []


def test_first_visit_picks_the_browsers_language(chromium, live_server, monkeypatch):
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    context = chromium.new_context(
        locale="zh-CN", extra_http_headers={"Accept-Language": "zh-CN,zh;q=0.9"}
    )
    page = context.new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    assert page.get_by_role("button", name="登录").count() == 1
    context.close()


def test_keyboard_only_login_and_preview(browser_page, live_server, buyer, stocked_cart):
    stocked_cart(buyer, {"A": [(670291644950, "", 1)]})
    page = browser_page
    page.goto(f"{live_server.url}/accounts/login/")
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "id_username":
            break
    page.keyboard.type("buyer")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/cart/$"))
    # every form control on the preview page has a label
    page.goto(f"{live_server.url}/previews/new/")
    unlabelled = page.evaluate(
        """() => Array.from(document.querySelectorAll('input, select, textarea'))
              .filter(el => el.type !== 'hidden' && !el.hidden)
              .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label'))
              .map(el => el.name || el.id)"""
    )
    assert unlabelled == []


def test_pages_fit_a_phone(browser_page, live_server, buyer, stocked_cart, monkeypatch):
    from previews import runs

    monkeypatch.setattr(runs, "dispatch_run", lambda *, run_id: False)
    address, lines = stocked_cart(buyer)
    run, _ = runs.start_preview(
        owner=buyer, address=address, lines=lines, flow="", submission_token=uuid.uuid4()
    )
    page = browser_page
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, live_server.url)
    for path in ("/cart/", "/previews/new/", "/addresses/", f"/runs/{run.pk}/", "/runs/"):
        page.goto(f"{live_server.url}{path}")
        width = page.evaluate("document.documentElement.scrollWidth")
        offenders = page.evaluate(
            """() => Array.from(document.querySelectorAll('body *'))
                  .filter(el => el.getBoundingClientRect().right > 391)
                  .map(el => el.tagName + '.' + el.className).slice(0, 5)"""
        )
        assert width <= 390, f"{path} is {width}px wide: {offenders}"


def test_hostile_promotion_html_never_runs(
    browser_page, live_server, buyer, stocked_cart, worker_env, tmp_path
):
    from previews import runs

    address, lines = stocked_cart(buyer, {"Hostile": [(681234001959, "", 1)]})
    with celery_worker(worker_env, log=tmp_path / "worker.log"):
        run, _ = runs.start_preview(
            owner=buyer, address=address, lines=lines, flow="", submission_token=uuid.uuid4()
        )
        wait_until(lambda: PreviewRun.objects.get(pk=run.pk).is_finished, timeout=30)
    page = browser_page
    log_in(page, live_server.url)
    page.goto(f"{live_server.url}/runs/{run.pk}/")
    page.get_by_text("限时优惠").first.click()
    page.get_by_text("详情").click()
    assert page.evaluate("window.__xss") is None
    html = page.content()
    assert "onerror" not in html and "onclick" not in html and "javascript:" not in html
    assert "限时优惠" in html


def test_progress_and_cards_agree_while_a_run_works(
    browser_page, live_server, buyer, stocked_cart, worker_env, tmp_path
):
    from previews.models import SupplierPreview

    from .conftest import start_run
    from .processes import sandbox_process

    page, base = browser_page, live_server.url
    address, lines = stocked_cart(
        buyer, {"起订量": [(656789001905, "", 1)], "慢": [(667890001952, "", 1)]}
    )
    log_in(page, base)
    with sandbox_process(slow=8) as slow_sandbox:
        env = {**worker_env, "DAJI_API_URL": slow_sandbox, "DAJI_READ_TIMEOUT": "15"}
        with celery_worker(env, log=tmp_path / "worker.log"):
            run = start_run(buyer, address, lines)
            page.goto(f"{base}{run.get_absolute_url()}")
            moq = SupplierPreview.objects.get(run=run, supplier_name="起订量").pk
            progress = page.locator(f"[data-supplier-status='{moq}']")
            progress.filter(has_text="Cannot be ordered").wait_for(timeout=20_000)
            card = page.locator("section[data-supplier='起订量']")
            assert card.get_by_test_id("supplier-badge").inner_text() == "Cannot be ordered"
            assert "Waiting for the gateway" not in card.inner_text()
            assert (
                "Waiting for the gateway"
                in page.locator("section[data-supplier='慢']").inner_text()
            )
            page.get_by_test_id("grand-total-amount").wait_for(timeout=45_000)
            final = page.locator("section[data-supplier='起订量']").get_by_test_id("supplier-badge")
            assert final.inner_text() == "Cannot be ordered"
    assert page.js_errors == []
