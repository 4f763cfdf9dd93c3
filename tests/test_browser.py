"""The buyer's day in real Chromium: live server, real worker, sandbox over HTTP."""

import csv
import io
import re
import uuid
from decimal import Decimal

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


def money(text: str) -> Decimal:
    return Decimal(re.sub(r"[^0-9.]", "", text))


def test_links_to_a_preview_charging_the_looked_up_prices(
    browser_page, live_server, buyer, worker_env, tmp_path
):
    """Issue #12's proof: three links as a browser copies them, lookups arriving, two
    colours × two sizes picked on one offer, one SKU on another, a quantity on the third;
    the cart grouped by the sellers found; the preview charges what the picker showed."""
    from previews.sandbox.products import company_name

    tiered, per_sku, no_skus = 614001000702, 614002000701, 614003000700
    ShippingAddress.objects.create(
        owner=buyer, label="HZ", full_name="张三", mobile="13812345678", phone="",
        post_code="310051", province_text="浙江省", city_text="杭州市", area_text="滨江区",
        town_text="长河街道", address="网商路699号", district_code="330108", is_default=True,
    )  # fmt: skip
    page, base = browser_page, live_server.url
    log_in(page, base)
    shown: dict[str, Decimal] = {}  # spec id ("" for no SKUs) → the price the picker showed
    with celery_worker(worker_env, log=tmp_path / "worker.log"):
        page.goto(f"{base}/lookups/new/")
        page.fill(
            "[data-testid=lookup-form] textarea",
            f"https://detail.1688.com/offer/{tiered}.html?spm=a26352.13672862.0.0&sk=consign\n"
            f"看看这个 https://m.1688.com/offer/{per_sku}.html?src=share\n{no_skus}",
        )
        page.get_by_test_id("lookup-form").get_by_role("button", name="Look up").click()
        page.wait_for_url(re.compile(r"/lookups/\d+/$"))
        page.locator("#lookup-progress[data-finished=true]").wait_for(
            state="attached", timeout=30_000
        )  # the page reloads itself as the lookups arrive
        assert page.locator("article[data-lookup-status=ok]").count() == 3

        # 2 colours × 2 sizes priced by tier: 105 pieces in all reach the ¥18.00 tier
        card = page.locator(f"#offer-{tiered}")
        assert card.get_by_test_id("sku-grid").count() == 1
        choices = card.locator(".sku-choice")
        assert choices.count() == 4
        for n, quantity in enumerate(["30", "30", "20", "25"]):
            choices.nth(n).locator(".quantity-input").fill(quantity)
        for n in range(4):
            choice = choices.nth(n)
            shown[choice.get_attribute("data-sku")] = money(
                choice.locator("[data-field=price]").inner_text()
            )
        assert set(shown.values()) == {Decimal("18.00")}
        card.get_by_role("button", name="Add to cart").click()
        page.wait_for_url(re.compile(rf"/lookups/\d+/#offer-{tiered}$"))

        # priced per SKU: one of six
        choice = page.locator(f"#offer-{per_sku} .sku-choice").nth(4)
        choice.locator(".quantity-input").fill("3")
        shown[choice.get_attribute("data-sku")] = money(
            choice.locator("[data-field=price]").inner_text()
        )
        page.locator(f"#offer-{per_sku}").get_by_role("button", name="Add to cart").click()
        page.wait_for_url(re.compile(rf"/lookups/\d+/#offer-{per_sku}$"))

        # no SKUs: 60 pieces, the tier from 50
        card = page.locator(f"#offer-{no_skus}")
        card.locator(".quantity-input").fill("60")
        shown[""] = money(card.locator("[data-field=price]").inner_text())
        assert shown[""] == Decimal("11.00")
        card.get_by_role("button", name="Add to cart").click()
        page.wait_for_url(re.compile(rf"/lookups/\d+/#offer-{no_skus}$"))

        # the cart, grouped by the suppliers found from each offer's seller
        page.goto(f"{base}/cart/")
        groups = page.get_by_test_id("cart-supplier")
        assert groups.count() == 3
        names = {company_name(o) for o in (tiered, per_sku, no_skus)}
        assert {groups.nth(n).locator("h2").inner_text() for n in range(3)} == names
        lines = CartLine.objects.filter(owner=buyer)
        assert {(line.spec_id or "") for line in lines} == set(shown)
        assert {line.supplier.name for line in lines} == names

        page.goto(f"{base}/previews/new/")
        page.get_by_test_id("start-preview").click()
        page.wait_for_url(re.compile(r"/runs/\d+/$"))
        page.get_by_test_id("grand-total-amount").wait_for(timeout=45_000)
    assert PreviewRun.objects.get(owner=buyer).status == "done"

    charged = {}
    rows = page.get_by_test_id("result-line")
    for n in range(rows.count()):
        row = rows.nth(n)
        charged[row.get_attribute("data-spec")] = money(
            row.locator("[data-field=unit-price]").inner_text()
        )
    assert charged == shown
    assert page.js_errors == []


def test_a_big_runs_lines_come_on_demand_with_or_without_javascript(
    browser_page, chromium, live_server, buyer, make_address, monkeypatch
):
    from previews import limits

    from .factories import finished_run

    monkeypatch.setattr(limits, "RUN_PAGE_MAX_LINES_SHOWN", 5)  # 3 × 4 lines is "big"
    run = finished_run(buyer, make_address(buyer), suppliers=3, lines=4)
    page, base = browser_page, live_server.url
    log_in(page, base)
    page.goto(f"{base}/runs/{run.pk}/")
    assert page.locator("[data-testid=result-line]").count() == 0
    section = page.locator("[data-testid=supplier-section][data-supplier='Supplier 1']")
    section.get_by_role("link", name="Show its 4 lines").click()
    section.locator("[data-testid=result-line]").nth(3).wait_for()
    assert page.url == f"{base}/runs/{run.pk}/"  # put in place, the page stays
    assert page.locator("[data-testid=result-line]").count() == 4
    assert page.js_errors == []

    context = chromium.new_context(java_script_enabled=False, locale="en-US")
    plain = context.new_page()
    log_in(plain, base)
    plain.goto(f"{base}/runs/{run.pk}/")
    plain.get_by_role("link", name="Show its 4 lines").nth(2).click()
    plain.wait_for_url(f"{base}/runs/{run.pk}/suppliers/2/")
    assert plain.locator("[data-testid=result-line]").count() == 4
    assert "Supplier 2" in plain.title()
    context.close()
