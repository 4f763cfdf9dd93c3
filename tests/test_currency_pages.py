"""A second currency beside CNY (issue #15): the rate a run stores, the pages and exports
that show it, the stale flag, no rate, the buyer's settings, the admin."""

import csv
import io
import re
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from previews import rates
from previews.models import BuyerPreferences, ExchangeRate, PreviewRun

from .pages import preview

pytestmark = pytest.mark.django_db(transaction=True)

EXAMPLE = (670291644950, "594b40c111b019af610a0078e4316373", 1)  # ¥16.71 landed, 1 piece
CART = {
    "杭州小商品店": [EXAMPLE],
    "义乌日用百货": [(612345001100, "", 10)],
}


def today():
    return timezone.localdate()


def manual_rate(code, rate, days_old=0, source=ExchangeRate.Source.MANUAL):
    return ExchangeRate.objects.create(
        currency=code, rate=Decimal(rate), as_of=today() - timedelta(days=days_old), source=source
    )


def converted(html: str) -> list[str]:
    """The converted figures of a page, in order: ["$2.35", ...]."""
    return re.findall(r'data-converted="[A-Z]{3}">≈ ([^<]+?)(?: <span|</span>)', html)


def page(client, run) -> str:
    response = client.get(reverse("previews:run-detail", args=[run.pk]))
    assert response.status_code == 200
    return response.content.decode()


@pytest.fixture
def example_run(buyer, buyer_client, stocked_cart, inline_runs):
    """Preview the example offer (¥16.71 landed, one piece) with the buyer's settings."""

    stocked = {}

    def run(cart=None):
        if not stocked:  # the same address and lines for every run of a test
            stocked["cart"] = stocked_cart(buyer, cart or {"杭州小商品店": [EXAMPLE]})
        return preview(buyer_client, *stocked["cart"])

    return run


def test_the_run_stores_its_rate_and_shows_usd_beside_cny(buyer, buyer_client, example_run):
    rates.set_display_currency(owner=buyer, code="USD")
    manual_rate("USD", "7.1234")
    run = example_run()
    assert run.status == "done"
    assert (run.display_currency, run.display_rate, run.display_rate_source) == (
        "USD", Decimal("7.1234"), "manual",
    )  # fmt: skip
    html = page(buyer_client, run)
    # grand total, the supplier's total, the line's landed unit cost: ¥16.71 / 7.1234
    assert converted(html) == ["$2.35", "$2.35", "$2.35"]
    assert f"1 USD = 7.1234 CNY, manual rate of {today().isoformat()}" in html
    assert "¥16.71" in html  # CNY stays the record
    assert 'data-testid="stale-rate"' not in html


def test_an_old_run_keeps_the_rate_it_was_created_with(buyer, buyer_client, example_run):
    rates.set_display_currency(owner=buyer, code="USD")
    first = manual_rate("USD", "7.1234", days_old=1)
    old_run = example_run()
    first.rate = Decimal("8")  # the administrator corrects the rate afterwards
    first.save()
    manual_rate("USD", "8.5")  # and adds a newer one (today's: never one dated later)
    html = page(buyer_client, old_run)
    assert converted(html) == ["$2.35", "$2.35", "$2.35"]
    assert "1 USD = 7.1234 CNY" in html and "8.5" not in html
    rerun = example_run()  # a new run takes today's rate: 16.71 / 8.5 = 1.9658…
    assert converted(page(buyer_client, rerun)) == ["$1.97", "$1.97", "$1.97"]
    assert "1 USD = 8.5 CNY" in page(buyer_client, rerun)


def test_the_runs_list_shows_each_runs_total_in_its_own_rate(buyer, buyer_client, example_run):
    rates.set_display_currency(owner=buyer, code="USD")
    usd = manual_rate("USD", "7.1234", days_old=1)
    old_run = example_run()
    usd.delete()
    manual_rate("USD", "8.5")
    new_run = example_run()
    rates.set_display_currency(owner=buyer, code="")  # a run without: CNY only
    plain_run = example_run()
    html = buyer_client.get(reverse("previews:run-list")).content.decode()
    rows = {
        int(pk): row
        for pk, row in re.findall(r'href="/runs/(\d+)/">#\d+</a>(.*?)</tr>', html, re.S)
    }
    assert converted(rows[old_run.pk]) == ["$2.35"] == converted(page(buyer_client, old_run))[:1]
    assert converted(rows[new_run.pk]) == ["$1.97"] == converted(page(buyer_client, new_run))[:1]
    assert converted(rows[plain_run.pk]) == [] and "¥16.71" in rows[plain_run.pk]


def test_a_stale_rate_is_flagged_beside_every_figure(buyer, buyer_client, example_run, settings):
    settings.CURRENCY_RATE_MAX_AGE_DAYS = 7
    rates.set_display_currency(owner=buyer, code="USD")
    manual_rate("USD", "7.1234", days_old=8)
    html = page(buyer_client, example_run())
    assert len(converted(html)) == 3
    assert html.count('data-testid="stale-rate"') == 3
    assert 'data-testid="run-rate-stale"' in html
    assert "This rate was 8 days old when the run was created (more than 7)" in html


def test_a_rate_of_exactly_the_maximum_age_is_not_flagged(buyer, buyer_client, example_run):
    rates.set_display_currency(owner=buyer, code="USD")
    manual_rate("USD", "7.1234", days_old=7)
    html = page(buyer_client, example_run())
    assert len(converted(html)) == 3 and "stale-rate" not in html


def test_without_a_rate_no_figure_is_converted_and_the_page_says_why(
    buyer, buyer_client, example_run
):
    rates.set_display_currency(owner=buyer, code="THB")
    manual_rate("USD", "7.1234")  # another currency's rate is never used instead
    run = example_run()
    assert run.display_currency == "THB" and run.display_rate is None
    html = page(buyer_client, run)
    assert converted(html) == []
    assert "No figures in THB: there was no THB rate when this run was created." in html
    csv_text = buyer_client.get(reverse("previews:run-csv", args=[run.pk])).getvalue().decode()
    assert "No figures in THB" in csv_text and "(THB)" not in csv_text


def test_a_buyer_without_a_second_currency_sees_cny_only(buyer, buyer_client, example_run):
    manual_rate("USD", "7.1234")
    html = page(buyer_client, example_run())
    assert converted(html) == [] and "run-rate" not in html


def test_a_manual_rate_beats_a_newer_fetched_one(buyer, buyer_client, example_run):
    rates.set_display_currency(owner=buyer, code="USD")
    manual_rate("USD", "7.1", days_old=3)
    manual_rate("USD", "7.3", days_old=0, source=ExchangeRate.Source.ECB)
    assert rates.current_rate("USD").rate == Decimal("7.1")
    run = example_run()
    assert run.display_rate == Decimal("7.1") and run.display_rate_source == "manual"
    ExchangeRate.objects.filter(source=ExchangeRate.Source.MANUAL).delete()
    run = example_run()  # without a manual rate, the fetched one counts
    assert run.display_rate == Decimal("7.3")
    assert f"ECB rate of {today().isoformat()}" in page(buyer_client, run)


def test_the_latest_manual_rate_counts():
    manual_rate("USD", "7.0", days_old=5)
    manual_rate("USD", "7.2", days_old=1)
    manual_rate("USD", "7.4", days_old=2)
    assert rates.current_rate("USD").rate == Decimal("7.2")
    assert rates.current_rate("EUR") is None


def test_jpy_without_minor_units(buyer, buyer_client, example_run):
    rates.set_display_currency(owner=buyer, code="JPY")
    manual_rate("JPY", "0.046")
    html = page(buyer_client, example_run())
    # 16.71 / 0.046 = 363.26…, with the code, as "¥363" would read as CNY
    assert converted(html) == ["JPY\xa0363", "JPY\xa0363", "JPY\xa0363"]
    assert "¥363" not in html


# --------------------------------------------------------------------------- exports


def test_csv_has_the_second_currency_columns_and_the_rate(buyer, buyer_client, example_run):
    rates.set_display_currency(owner=buyer, code="USD")
    manual_rate("USD", "7.1234")
    run = example_run(CART)
    content = buyer_client.get(reverse("previews:run-csv", args=[run.pk])).getvalue()
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    header = rows[0]
    assert header[-2:] == ["Landed unit cost (USD)", "Total (USD)"]
    example = next(r for r in rows if r[3] == "670291644950")
    assert (example[10], example[-2], example[-1]) == ("16.71", "2.35", "2.35")
    totals = next(r for r in rows if r[0] == "杭州小商品店" and r[1] == "Supplier total")
    assert (totals[10], totals[-1]) == ("16.71", "2.35")
    grand = next(r for r in rows if r[0].startswith("Grand total"))
    assert Decimal(grand[-1]) == (Decimal(grand[10]) / Decimal("7.1234")).quantize(Decimal("0.01"))
    assert rows[-1][0].startswith("Figures in USD at 1 USD = 7.1234 CNY, manual rate of")


def test_xlsx_shows_yen_whole(buyer, buyer_client, example_run):
    rates.set_display_currency(owner=buyer, code="JPY")
    manual_rate("JPY", "0.046", days_old=30)
    run = example_run()
    content = buyer_client.get(reverse("previews:run-xlsx", args=[run.pk])).getvalue()
    sheet = load_workbook(io.BytesIO(content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][-2:] == ("Landed unit cost (JPY, old rate)", "Total (JPY, old rate)")
    line = next(row for row in sheet.iter_rows(min_row=2) if row[3].value == 670291644950)
    assert (line[-2].value, line[-1].value) == (363, 363)
    assert line[-1].number_format == "#,##0"
    assert any("30 days old" in (row[0] or "") for row in rows[-2:])


# --------------------------------------------------------------------------- comparisons


def test_the_comparison_shows_each_run_with_its_own_rate(buyer, buyer_client, example_run):
    rates.set_display_currency(owner=buyer, code="USD")
    rate = manual_rate("USD", "7.1234")
    before = example_run()
    rate.rate = Decimal("8.5")
    rate.save()
    now = example_run()
    html = buyer_client.get(reverse("previews:run-compare", args=[now.pk])).content.decode()
    assert 'data-testid="compare-rates"' in html
    assert "1 USD = 7.1234 CNY" in html and "1 USD = 8.5 CNY" in html
    # grand total before → now, then the supplier's total before → now
    assert converted(html) == ["$2.35", "$1.97", "$2.35", "$1.97"]
    assert before.pk != now.pk


def test_the_address_comparison_shows_the_second_currency(
    buyer, buyer_client, make_address, stocked_cart, inline_runs
):
    rates.set_display_currency(owner=buyer, code="USD")
    manual_rate("USD", "7.1234")
    first, lines = stocked_cart(buyer, {"杭州小商品店": [EXAMPLE]})
    second = make_address(buyer, label="Beijing", district_code="110105")
    buyer_client.post(
        reverse("previews:address-comparison-create"),
        {"addresses": [first.pk, second.pk], "lines": [line.pk for line in lines],
         "flow": "general", "submission_token": str(uuid.uuid4())},
    )  # fmt: skip
    group = PreviewRun.objects.latest("pk").address_group
    url = reverse("previews:address-comparison", args=[group])
    html = buyer_client.get(url).content.decode()
    # each address: the supplier's total and the grand total
    assert converted(html) == ["$2.35", "$2.35", "$2.35", "$2.35"]
    assert html.count('data-testid="address-rate"') == 2


# --------------------------------------------------------------------------- settings page


def test_the_buyer_picks_a_second_currency(buyer, buyer_client):
    url = reverse("previews:preferences")
    html = buyer_client.get(url).content.decode()
    assert "USD — US Dollar" in html and 'data-testid="nav-settings"' in html
    response = buyer_client.post(url, {"display_currency": "USD"}, follow=True)
    assert "Settings saved" in response.content.decode()
    assert rates.display_currency(owner=buyer) == "USD"
    assert 'data-testid="no-rate"' in response.content.decode()  # no USD rate yet
    assert '<option value="USD" selected>' in response.content.decode()
    manual_rate("USD", "7.1234")
    assert (
        "New runs use 1 USD = 7.1234 CNY, manual rate of" in buyer_client.get(url).content.decode()
    )
    buyer_client.post(url, {"display_currency": ""})
    assert rates.display_currency(owner=buyer) == ""


@pytest.mark.parametrize("code", ["ABC", "usd", "CNY", "US Dollar", "<script>"])
def test_an_unknown_currency_is_refused(buyer, buyer_client, code):
    rates.set_display_currency(owner=buyer, code="EUR")
    response = buyer_client.post(reverse("previews:preferences"), {"display_currency": code})
    assert response.status_code == 200
    assert response.context["form"].errors["display_currency"]
    assert rates.display_currency(owner=buyer) == "EUR"


def test_one_buyers_currency_is_not_anothers(
    buyer, other_buyer, buyer_client, client, stocked_cart, inline_runs
):
    rates.set_display_currency(owner=buyer, code="USD")
    manual_rate("USD", "7.1234")
    client.force_login(other_buyer)
    assert (
        'value="USD" selected' not in client.get(reverse("previews:preferences")).content.decode()
    )
    address, lines = stocked_cart(other_buyer, {"杭州小商品店": [EXAMPLE]})
    run = preview(client, address, lines)
    assert run.owner == other_buyer and run.display_currency == ""
    assert converted(page(client, run)) == []
    assert BuyerPreferences.objects.count() == 1


def test_the_settings_page_in_chinese(buyer, buyer_client):
    buyer_client.post(reverse("set_language"), {"language": "zh-hans"})
    html = buyer_client.get(reverse("previews:preferences")).content.decode()
    assert "USD — 美元" in html and "第二币种" in html and "设置" in html


def test_the_run_page_in_chinese(buyer, buyer_client, example_run, settings):
    rates.set_display_currency(owner=buyer, code="USD")
    manual_rate("USD", "7.1234", days_old=10)
    run = example_run()
    buyer_client.post(reverse("set_language"), {"language": "zh-hans"})
    html = page(buyer_client, run)
    assert converted(html) == ["US$2.35", "US$2.35", "US$2.35"]
    assert "按 1 USD = 7.1234 CNY" in html and "旧汇率" in html


# --------------------------------------------------------------------------- the admin


def test_an_administrator_adds_a_rate(admin_client):
    url = reverse("admin:previews_exchangerate_add")
    response = admin_client.post(
        url, {"currency": " usd ", "rate": "7.1234", "as_of": "2026-11-20", "source": "manual"}
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    rate = ExchangeRate.objects.get()
    assert (rate.currency, rate.rate, rate.source) == ("USD", Decimal("7.1234"), "manual")
    assert rates.current_rate("USD") == rate
    listing = admin_client.get(reverse("admin:previews_exchangerate_changelist"))
    assert "US Dollar" in listing.content.decode()


@pytest.mark.parametrize(
    ("currency", "rate", "field"),
    [
        ("ABC", "7.1", "currency"),
        ("CNY", "1", "currency"),
        ("USD", "0", "rate"),
        ("USD", "-7", "rate"),
        ("USD", "7.12345678901", "rate"),
    ],
)
def test_the_admin_refuses_a_bad_rate(admin_client, currency, rate, field):
    response = admin_client.post(
        reverse("admin:previews_exchangerate_add"),
        {"currency": currency, "rate": rate, "as_of": "2026-11-20", "source": "manual"},
    )
    assert response.status_code == 200
    assert field in response.context["adminform"].form.errors
    assert not ExchangeRate.objects.exists()


def test_the_admin_cannot_type_an_ecb_rate_nor_change_a_fetched_one(admin_client):
    response = admin_client.post(
        reverse("admin:previews_exchangerate_add"),
        {"currency": "USD", "rate": "7.1", "as_of": "2026-11-20", "source": "ecb"},
    )
    assert response.status_code == 200 and not ExchangeRate.objects.exists()
    fetched = manual_rate("EUR", "7.6", source=ExchangeRate.Source.ECB)
    change = reverse("admin:previews_exchangerate_change", args=[fetched.pk])
    admin_client.post(change, {"currency": "EUR", "rate": "1", "as_of": "2026-11-20"})
    fetched.refresh_from_db()
    assert fetched.rate == Decimal("7.6")


# --------------------------------------------------------------------------- acceptance fixes


def test_the_comparison_shows_yen_with_its_code(buyer, buyer_client, example_run):
    rates.set_display_currency(owner=buyer, code="JPY")
    manual_rate("JPY", "0.046")
    example_run()
    now = example_run()
    html = buyer_client.get(reverse("previews:run-compare", args=[now.pk])).content.decode()
    assert converted(html) == ["JPY\xa0363"] * 4
    assert "¥363" not in html


def csv_rows(client, run) -> list[list[str]]:
    content = client.get(reverse("previews:run-csv", args=[run.pk])).getvalue()
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))


def test_exports_flag_an_old_rate_in_the_converted_headers(buyer, buyer_client, example_run):
    rates.set_display_currency(owner=buyer, code="USD")
    manual_rate("USD", "7.1234", days_old=30)
    run = example_run()
    assert csv_rows(buyer_client, run)[0][-2:] == [
        "Landed unit cost (USD, old rate)",
        "Total (USD, old rate)",
    ]
    buyer_client.post(reverse("set_language"), {"language": "zh-hans"})
    header = csv_rows(buyer_client, run)[0]
    assert header[-2:] == ["到手单件成本(USD，旧汇率)", "合计(USD，旧汇率)"]


def test_the_chinese_export_names_landed_unit_cost_as_the_page_does(
    buyer, buyer_client, example_run
):
    rates.set_display_currency(owner=buyer, code="EUR")
    manual_rate("EUR", "7.6")
    run = example_run()
    buyer_client.post(reverse("set_language"), {"language": "zh-hans"})
    header = csv_rows(buyer_client, run)[0]
    assert "到手单件成本(元)" in header and "合计(元)" in header
    assert header[-2:] == ["到手单件成本(EUR)", "合计(EUR)"]
    assert "到手单件成本" in page(buyer_client, run)


@pytest.mark.parametrize("as_of", ["2099-01-01", "tomorrow"])
def test_the_admin_refuses_a_rate_dated_after_today(admin_client, as_of):
    if as_of == "tomorrow":
        as_of = (today() + timedelta(days=1)).isoformat()
    response = admin_client.post(
        reverse("admin:previews_exchangerate_add"),
        {"currency": "USD", "rate": "7.1", "as_of": as_of, "source": "manual"},
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors["as_of"]
    assert "cannot be dated after today" in errors[0]
    assert not ExchangeRate.objects.exists()


def test_the_admin_takes_a_rate_dated_today(admin_client):
    response = admin_client.post(
        reverse("admin:previews_exchangerate_add"),
        {"currency": "USD", "rate": "7.1", "as_of": today().isoformat(), "source": "manual"},
    )
    assert response.status_code == 302
    assert ExchangeRate.objects.get().as_of == today()


def test_the_model_refuses_a_rate_dated_after_today():
    rate = ExchangeRate(currency="USD", rate=Decimal("7.1"), as_of=today() + timedelta(days=1))
    with pytest.raises(ValidationError) as refused:
        rate.full_clean()
    assert "as_of" in refused.value.message_dict


def test_a_rate_dated_after_today_never_counts():
    """Second line of defence: a row that got in some other way is ignored."""
    future = ExchangeRate.objects.create(
        currency="USD", rate=Decimal("9"), as_of=today() + timedelta(days=1)
    )
    assert rates.current_rate("USD") is None
    current = manual_rate("USD", "7.1234", days_old=3)
    assert rates.current_rate("USD") == current
    fetched = manual_rate("USD", "7.2", source=ExchangeRate.Source.ECB)
    assert rates.current_rate("USD") == current  # a manual rate still wins
    current.delete()
    assert rates.current_rate("USD") == fetched
    assert future.pk


@pytest.mark.parametrize("code", ["XXX", "XAU"])
def test_the_admin_refuses_a_code_that_is_no_currency_in_use(admin_client, buyer, code):
    response = admin_client.post(
        reverse("admin:previews_exchangerate_add"),
        {"currency": code, "rate": "7.1", "as_of": today().isoformat(), "source": "manual"},
    )
    assert response.status_code == 200
    assert "currency" in response.context["adminform"].form.errors
    assert not ExchangeRate.objects.exists()
    response = admin_client.post(
        reverse("admin:previews_buyerpreferences_add"),
        {"owner": buyer.pk, "display_currency": code},
    )
    assert response.status_code == 200
    assert "display_currency" in response.context["adminform"].form.errors
    assert not BuyerPreferences.objects.exists()


def test_a_stored_code_no_longer_offered_does_not_break_the_settings_page(
    buyer, buyer_client, example_run
):
    BuyerPreferences.objects.create(owner=buyer, display_currency="XAU")  # from before
    url = reverse("previews:preferences")
    response = buyer_client.get(url)
    assert response.status_code == 200
    assert '<option value="XAU" selected>' in response.content.decode()
    assert buyer_client.post(url, {"display_currency": "XAU"}).status_code == 302  # kept
    assert rates.display_currency(owner=buyer) == "XAU"
    assert converted(page(buyer_client, example_run())) == []  # no rate: CNY only
    response = buyer_client.post(url, {"display_currency": "XXX"})
    assert response.status_code == 200 and response.context["form"].errors["display_currency"]
    assert rates.display_currency(owner=buyer) == "XAU"
