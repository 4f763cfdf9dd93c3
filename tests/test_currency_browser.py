"""The second currency in real Chromium: the buyer picks US dollars on the settings page,
previews through a real worker and the sandbox, and the run page shows USD beside CNY."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from previews.currency import convert_fen
from previews.models import ExchangeRate, PreviewRun
from previews.money import format_fen

from .processes import celery_worker

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "pw-buyer-12345"  # the `buyer` fixture's


def test_the_run_page_shows_the_second_currency(
    browser_page, live_server, buyer, make_address, make_line, worker_env, tmp_path
):
    page, base = browser_page, live_server.url
    make_address(buyer, is_default=True)
    make_line(
        buyer,
        supplier="杭州小商品店",
        offer_id=670291644950,
        spec_id="594b40c111b019af610a0078e4316373",
    )
    make_line(buyer, supplier="义乌日用百货", offer_id=612345001100, quantity=10)  # fmt: skip
    as_of = timezone.localdate() - timedelta(days=9)  # older than the 7 days allowed
    ExchangeRate.objects.create(currency="USD", rate=Decimal("7.1234"), as_of=as_of)

    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", "buyer")
    page.fill("#id_password", PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/cart/$"))

    # the settings page, from the menu
    page.get_by_test_id("nav-settings").click()
    page.select_option("#id_display_currency", "USD")
    page.get_by_test_id("save-preferences").click()
    page.wait_for_url(re.compile(r"/settings/$"))
    assert "New runs use 1 USD = 7.1234 CNY, manual rate of" in page.content()

    with celery_worker(worker_env, log=tmp_path / "worker.log"):
        page.goto(f"{base}/previews/new/")
        page.get_by_test_id("start-preview").click()
        page.wait_for_url(re.compile(r"/runs/\d+/$"))
        page.get_by_test_id("grand-total-amount").wait_for(timeout=45_000)
    run = PreviewRun.objects.get(owner=buyer)
    assert run.status == "done" and run.display_rate == Decimal("7.1234")

    grand_total = page.get_by_test_id("grand-total")
    cny = grand_total.get_by_test_id("grand-total-amount").inner_text()
    usd = grand_total.locator("[data-converted=USD]").inner_text()
    fen = int(Decimal(cny.removeprefix("¥").replace(",", "")) * 100)
    expected = convert_fen(fen, rate=Decimal("7.1234"), code="USD")
    assert cny == format_fen(fen)
    assert usd.startswith(f"≈ ${expected:,}") and "old rate" in usd
    example = page.locator("[data-offer='670291644950'] [data-field=landed-unit]")
    assert "≈ $2.35" in example.inner_text()  # ¥16.71 landed / 7.1234
    note = page.get_by_test_id("run-rate").inner_text()
    assert f"1 USD = 7.1234 CNY, manual rate of {as_of.isoformat()}" in note
    assert "9 days old" in page.get_by_test_id("run-rate-stale").inner_text()
    section = page.locator("section[data-supplier='杭州小商品店']")
    assert section.locator("[data-converted=USD]").count() == 2  # its total and its line
    assert page.js_errors == []
