"""The second currency's arithmetic (previews/currency.py): exact, rounded once, half up,
to each currency's own minor units; and the ECB's daily file read as rates to CNY."""

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError

from previews import currency
from previews.currency import (
    Conversion,
    RateError,
    check_rate,
    cny_rates,
    codes_in_use,
    convert_fen,
    convert_unit_fen,
    format_money,
    is_known_currency,
    is_stale,
    minor_digits,
    parse_ecb_daily,
)
from previews.validators import validate_currency_code

ECB_DAILY = (Path(__file__).parent / "data" / "eurofxref-daily.xml").read_bytes()


def test_minor_units_come_from_cldr():
    assert (minor_digits("USD"), minor_digits("EUR")) == (2, 2)
    assert (minor_digits("JPY"), minor_digits("KRW")) == (0, 0)
    assert (minor_digits("KWD"), minor_digits("BHD")) == (3, 3)


@pytest.mark.parametrize(
    ("fen", "rate", "code", "expected"),
    [
        (1000, "7", "USD", "1.43"),  # 10 / 7 = 1.428571…
        (100, "8", "USD", "0.13"),  # 0.125: half up (half even would say 0.12)
        (-100, "8", "USD", "-0.13"),  # a discount: half away from zero
        (2, "0.04", "JPY", "1"),  # 0.5 yen: half up to a whole yen, no minor units
        (6, "0.04", "JPY", "2"),  # 1.5 yen
        (1, "0.004", "KRW", "3"),  # 2.5 won
        (1, "20", "KWD", "0.001"),  # 0.0005 dinar: three decimals, half up
        (1, "20", "BHD", "0.001"),
        (1671, "7.1234", "USD", "2.35"),  # the reference's example order, ¥16.71
        (123456789012, "0.046", "JPY", "26838432394"),  # big amounts stay exact
    ],
)
def test_convert_fen_rounds_half_up_to_the_currencys_digits(fen, rate, code, expected):
    converted = convert_fen(fen, rate=Decimal(rate), code=code)
    assert isinstance(converted, Decimal)
    assert str(converted) == expected  # the exponent too: "1", not "1.00"


def test_a_unit_cost_is_rounded_once():
    # ¥0.04 for 2 pieces at 7 CNY/USD: $0.002857… each → $0.00. Rounding the line's
    # total first ($0.01) and then per piece ($0.005 → $0.01) would round twice.
    assert convert_unit_fen(4, 2, rate=Decimal("7"), code="USD") == Decimal("0.00")
    assert convert_unit_fen(1001, 3, rate=Decimal("7"), code="USD") == Decimal("0.48")
    assert convert_unit_fen(15, 2, rate=Decimal("0.1"), code="JPY") == Decimal("1")  # 0.75
    with pytest.raises(ValueError):
        convert_unit_fen(100, 0, rate=Decimal("7"), code="USD")


def test_conversion_of_a_run():
    conversion = Conversion(
        code="USD", rate=Decimal("7.1234"), as_of=date(2026, 11, 20), source="manual",
        stale=False, age_days=0,
    )  # fmt: skip
    assert conversion.from_fen(1671) == Decimal("2.35")
    assert conversion.from_fen(None) is None
    assert conversion.unit_from_fen(1671, None) is None
    assert conversion.unit_from_fen(3342, 2) == Decimal("2.35")
    assert conversion.rate_text == "7.1234"


def test_formatting_follows_the_language():
    assert format_money(Decimal("1234.50"), "USD", "en") == "$1,234.50"
    assert format_money(Decimal("1234.50"), "USD", "zh-hans") == "US$1,234.50"
    assert format_money(Decimal("1235"), "JPY", "en") == "JPY\xa01,235"  # not ¥, CNY's sign
    assert format_money(Decimal("1235"), "JPY", "zh-hans") == "JP¥1,235"
    assert format_money(Decimal("1.234"), "KWD", "en").endswith("1.234")
    assert format_money(None, "USD", "en") == "—"


def test_currency_names_in_both_languages():
    assert currency.currency_name("USD", "en") == "US Dollar"
    assert currency.currency_name("USD", "zh-hans") == "美元"
    choices = dict(currency.display_choices("zh-hans"))
    assert choices["EUR"] == "EUR — 欧元" and "CNY" not in choices
    assert {"USD", "JPY", "RUB", "THB", "KWD"} <= set(choices)
    assert "XAU" not in choices and "DEM" not in choices  # gold, the Deutsche Mark
    assert "DEM" in dict(currency.display_choices("en", also="DEM"))  # already chosen


def test_known_codes():
    assert is_known_currency("USD") and is_known_currency("THB") and is_known_currency("RUB")
    for code in ("usd", "ABC", "US", "USDD", "", None):
        assert not is_known_currency(code)


@pytest.mark.parametrize(
    "rate", ["0", "-7.1", "NaN", "Infinity", "7.12345678901", "0.0000000000001", "1000000"]
)
def test_insane_rates_are_refused(rate):
    with pytest.raises(RateError):
        check_rate(Decimal(rate))


def test_sane_rates_pass():
    for rate in ("7.1234", "0.000454089088", "20", "999999", "7.236777017"):
        assert check_rate(Decimal(rate)) == Decimal(rate)


def test_staleness_is_measured_on_the_day_the_run_was_created():
    created = date(2026, 11, 27)
    assert not is_stale(date(2026, 11, 20), on=created, max_age_days=7)  # 7 days: fine
    assert is_stale(date(2026, 11, 19), on=created, max_age_days=7)  # 8 days: old
    assert not is_stale(date(2026, 11, 27), on=created, max_age_days=7)


# --------------------------------------------------------------------------- the ECB's file


def test_the_ecb_daily_file_is_read():
    reference = parse_ecb_daily(ECB_DAILY)
    assert reference.as_of == date(2026, 11, 20)
    assert len(reference.per_euro) == 30
    assert reference.per_euro["USD"] == Decimal("1.0512")
    assert reference.per_euro["CNY"] == Decimal("7.6073")


def test_rates_to_cny_go_through_the_euro():
    rates = cny_rates(parse_ecb_daily(ECB_DAILY))
    # 1 X = r_CNY / r_X CNY, to 10 significant digits, half up.
    assert rates["USD"] == Decimal("7.236777017")  # 7.6073 / 1.0512 = 7.2367770167…
    assert rates["JPY"] == Decimal("0.04682856263")  # 7.6073 / 162.45
    assert rates["KRW"] == Decimal("0.005164669541")
    assert rates["IDR"] == Decimal("0.000454089088")  # 12 decimal places at most
    assert rates["EUR"] == Decimal("7.6073")  # the euro itself: r_CNY
    assert "CNY" not in rates
    assert len(rates) == 30  # 29 others and the euro


def test_a_file_without_cny_gives_no_rates():
    body = ECB_DAILY.replace(b"<Cube currency='CNY' rate='7.6073'/>", b"")
    with pytest.raises(RateError, match="CNY"):
        parse_ecb_daily(body)


@pytest.mark.parametrize(
    "body",
    [
        b"<html><body>Service unavailable</body></html>",
        b"not xml at all",
        b'<?xml version="1.0"?><!DOCTYPE lol [<!ENTITY lol "lol">]><Cube/>',
        ECB_DAILY.replace(b"rate='1.0512'", b"rate='one'"),
        ECB_DAILY.replace(b"rate='1.0512'", b"rate='-1'"),
        ECB_DAILY.replace(b"time='2026-11-20'", b"time='yesterday'"),
        ECB_DAILY + b" " * (currency.ECB_MAX_BYTES + 1),
    ],
)
def test_a_bad_file_is_refused(body):
    with pytest.raises(RateError):
        parse_ecb_daily(body)


def test_a_code_cldr_does_not_know_is_left_out():
    body = ECB_DAILY.replace(
        b"<Cube currency='USD'", b"<Cube currency='XYZ' rate='2'/><Cube currency='USD'"
    )
    assert "XYZ" not in parse_ecb_daily(body).per_euro


def test_a_converted_figure_never_looks_like_cny():
    """In English JPY's symbol is "¥", the product's CNY sign: its ISO code is shown
    instead, with the yen's own (no) decimals, rounded half up."""
    yen = convert_fen(139_475, rate=Decimal("0.046"), code="JPY")  # 30,320.65… yen
    assert yen == Decimal("30321")
    assert format_money(yen, "JPY", "en") == "JPY\xa030,321"
    assert format_money(Decimal("30315"), "JPY", "en") == "JPY\xa030,315"
    assert format_money(Decimal("30315"), "JPY", "zh-hans") == "JP¥30,315"  # not CNY's ¥
    for code in sorted(codes_in_use() - {"CNY"}):
        for language in ("en", "zh-hans"):
            text = format_money(Decimal("1"), code, language)
            assert not text.startswith(("¥", "￥", "CN¥", "-¥")), (code, language, text)
    assert format_money(Decimal("2.35"), "USD", "en") == "$2.35"


@pytest.mark.parametrize("code", ["XXX", "XAU", "XTS", "ESP", "DEM"])
def test_a_code_not_in_use_today_is_refused(code):
    """Known to CLDR but no currency anyone is paid in: a test code, gold, withdrawn."""
    assert is_known_currency(code)
    with pytest.raises(ValidationError) as refused:
        validate_currency_code(code)
    assert refused.value.code == "currency_not_in_use"


@pytest.mark.parametrize("code", ["USD", "EUR", "JPY", "KWD", "HKD"])
def test_a_currency_in_use_passes(code):
    validate_currency_code(code)
