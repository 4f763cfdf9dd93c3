"""Pure currency arithmetic: a second currency shown beside CNY. No ORM, no HTTP.

CNY fen stays the record: nothing stored or sent is ever converted. A rate is the number
of CNY that one unit of the other currency costs ("1 USD = 7.1234 CNY"), a `Decimal`. A
converted figure is exact arithmetic rounded once, half up, to the currency's own minor
units as CLDR (through Babel) knows them: 2 for USD, 0 for JPY and KRW, 3 for KWD.

The European Central Bank's daily reference rates are quoted per euro ("1 EUR = r_X X"),
so the rate of X in CNY goes through the euro:

    1 X = r_CNY / r_X CNY          (and 1 EUR = r_CNY CNY)

rounded half up to `RATE_SIGNIFICANT_DIGITS` significant digits.
"""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation, localcontext
from functools import cache

from babel.core import get_global
from babel.numbers import (
    format_currency,
    get_currency_name,
    get_currency_precision,
    get_currency_symbol,
    list_currencies,
)

CNY = "CNY"
EUR = "EUR"
FEN_PER_YUAN = 100
# A rate holds at most this many significant digits and decimal places: more than the
# ECB publishes (5 or 6), few enough for SQLite to read a decimal back exactly (15).
RATE_SIGNIFICANT_DIGITS = 10
RATE_DECIMAL_PLACES = 12
RATE_MAX_INTEGER_DIGITS = 6  # 1 unit = at most 999,999 CNY
# An ECB answer is about 2 kB; anything much bigger is not the daily file.
ECB_MAX_BYTES = 256 * 1024


class RateError(ValueError):
    """A rate or a rates file that cannot be used; the message says why."""


def is_known_currency(code: str) -> bool:
    """An ISO 4217 code that Babel (CLDR) knows, in capitals: "USD" yes, "usd" or "ABC" no."""
    return isinstance(code, str) and len(code) == 3 and code.isupper() and code in known_codes()


@cache
def known_codes() -> frozenset[str]:
    return frozenset(list_currencies())


@cache
def codes_in_use() -> frozenset[str]:
    """The currencies legal tender somewhere today, by CLDR (no ESP, no XAU)."""
    return frozenset(
        code
        for currencies in get_global("territory_currencies").values()
        for code, _start, end, tender in currencies
        if end is None and tender
    )


def display_choices(language: str, *, also: str = "") -> list[tuple[str, str]]:
    """(code, "USD — US Dollar") for the currencies in use today but CNY (and `also`, a
    known code already chosen), named in the language given (a Django language code such
    as "en" or "zh-hans"), sorted by code."""
    locale = babel_locale(language)
    codes = codes_in_use() | ({also} if is_known_currency(also) else set())
    return [
        (code, f"{code} — {get_currency_name(code, locale=locale)}")
        for code in sorted(codes - {CNY})
    ]


def currency_name(code: str, language: str) -> str:
    return get_currency_name(code, locale=babel_locale(language))


def babel_locale(language: str | None) -> str:
    """Babel's locale for a Django language code ("zh-hans" → "zh_Hans_CN")."""
    if language and language.lower().startswith("zh"):
        return "zh_Hans_CN"
    return "en"


def minor_digits(code: str) -> int:
    """The currency's own decimal places (CLDR): USD 2, JPY 0, KRW 0, KWD 3."""
    return get_currency_precision(code)


def check_rate(rate: Decimal) -> Decimal:
    """The rate as stored, or RateError saying what is wrong with it."""
    try:
        rate = Decimal(rate)
    except (InvalidOperation, TypeError, ValueError) as error:
        raise RateError("not a number") from error
    if not rate.is_finite() or rate <= 0:
        raise RateError("must be a positive number")
    _sign, digits, exponent = rate.normalize().as_tuple()
    if -exponent > RATE_DECIMAL_PLACES:
        raise RateError(f"at most {RATE_DECIMAL_PLACES} decimal places")
    if len(digits) > RATE_SIGNIFICANT_DIGITS:
        raise RateError(f"at most {RATE_SIGNIFICANT_DIGITS} significant digits")
    if rate >= Decimal(10) ** RATE_MAX_INTEGER_DIGITS:
        raise RateError(f"less than {10**RATE_MAX_INTEGER_DIGITS:,} CNY a unit")
    return rate


def _round(value: Decimal, places: int) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def convert_fen(fen: int, *, rate: Decimal, code: str) -> Decimal:
    """An amount in CNY fen in the other currency, rounded half up to its minor units."""
    return convert_unit_fen(fen, 1, rate=rate, code=code)


def convert_unit_fen(total_fen: int, quantity: int, *, rate: Decimal, code: str) -> Decimal:
    """A total in CNY fen per unit, in the other currency, rounded once (half up)."""
    if quantity <= 0:
        raise ValueError("quantity must be positive")
    if rate <= 0:
        raise RateError("must be a positive number")
    with localcontext() as exact:
        exact.prec = 60
        value = Decimal(total_fen) / FEN_PER_YUAN / Decimal(rate) / quantity
        return _round(value, minor_digits(code))


# The product shows CNY as "¥1,234.56" (`money.format_yuan`); a converted figure whose
# symbol in the active locale looks like that (JPY's "¥" in English) shows its ISO code.
CNY_LOOKALIKE_SYMBOLS = frozenset({"¥", "￥", "CN¥", "元"})
ISO_CODE_PATTERN = "¤¤\xa0#,##0.00"  # digits replaced by the currency's own (currency_digits)


def could_pass_for_cny(code: str, language: str | None) -> bool:
    """Whether `code`'s symbol in the language could be read as the product's CNY."""
    return get_currency_symbol(code, locale=babel_locale(language)) in CNY_LOOKALIKE_SYMBOLS


def format_money(amount: Decimal | None, code: str, language: str | None) -> str:
    """An amount already rounded to the currency's digits, shown the locale's way
    (US$1,234.50, JP¥1,235, KWD1.234); an em dash when unknown. A currency whose symbol
    could pass for CNY's ("¥" for JPY in English) shows its ISO code ("JPY 30,315"), as a
    converted figure must never be confused with the CNY record."""
    if amount is None:
        return "—"
    locale = babel_locale(language)
    pattern = ISO_CODE_PATTERN if could_pass_for_cny(code, language) else None
    return format_currency(
        amount,
        code,
        format=pattern,
        locale=locale,
        currency_digits=True,
        decimal_quantization=True,
    )


def format_rate(rate: Decimal) -> str:
    """A rate as typed, without trailing zeros: 7.1234, 0.04712, 20."""
    return format(Decimal(rate).normalize(), "f")


def rate_age_days(as_of: date, on: date) -> int:
    return (on - as_of).days


def is_stale(as_of: date, *, on: date, max_age_days: int) -> bool:
    """Older than `max_age_days` on the day `on` (the day the run was created)."""
    return rate_age_days(as_of, on) > max_age_days


@dataclass(frozen=True)
class Conversion:
    """The rate a run stored when it was created, and whether it was stale then."""

    code: str
    rate: Decimal  # CNY for one unit of `code`
    as_of: date
    source: str  # "manual" or "ecb"
    stale: bool
    age_days: int

    def from_fen(self, fen: int | None) -> Decimal | None:
        return None if fen is None else convert_fen(fen, rate=self.rate, code=self.code)

    def unit_from_fen(self, total_fen: int | None, quantity: int | None) -> Decimal | None:
        if total_fen is None or not quantity:
            return None
        return convert_unit_fen(total_fen, quantity, rate=self.rate, code=self.code)

    @property
    def digits(self) -> int:
        return minor_digits(self.code)

    @property
    def rate_text(self) -> str:
        return format_rate(self.rate)


# --------------------------------------------------------------------------- ECB rates


@dataclass(frozen=True)
class ReferenceRates:
    """One day of the ECB's reference rates: units of each currency per euro."""

    as_of: date
    per_euro: dict[str, Decimal]


ECB_NAMESPACE = "{http://www.ecb.int/vocabulary/2002-08-01/eurofxref}"


def parse_ecb_daily(body: bytes) -> ReferenceRates:
    """The ECB's eurofxref-daily.xml (a `Cube` with a `time` holding `Cube`s with
    `currency` and `rate`), or RateError. A document type declaration is refused (no
    entity expansion), as is a body far bigger than the daily file."""
    if len(body) > ECB_MAX_BYTES:
        raise RateError("the rates file is too big")
    if b"<!DOCTYPE" in body.upper() or b"<!ENTITY" in body.upper():
        raise RateError("the rates file declares a document type")
    try:
        root = ElementTree.fromstring(body)  # noqa: S314 - no DTD (refused above), bounded
    except ElementTree.ParseError as error:
        raise RateError(f"not XML ({error})") from error
    days = [cube for cube in root.iter(f"{ECB_NAMESPACE}Cube") if cube.get("time")]
    if not days:
        raise RateError("no dated Cube element")
    day = max(days, key=lambda cube: cube.get("time"))  # the daily file has one
    try:
        as_of = date.fromisoformat(day.get("time"))
    except ValueError as error:
        raise RateError(f"bad date {day.get('time')!r}") from error
    per_euro: dict[str, Decimal] = {}
    for cube in day.iter(f"{ECB_NAMESPACE}Cube"):
        code, text = cube.get("currency"), cube.get("rate")
        if code is None and text is None:
            continue
        if not is_known_currency(code or ""):
            continue  # a code CLDR does not know is left out, not guessed at
        try:
            value = Decimal(text)
        except (InvalidOperation, TypeError) as error:
            raise RateError(f"bad rate for {code}: {text!r}") from error
        if not value.is_finite() or value <= 0:
            raise RateError(f"bad rate for {code}: {text!r}")
        per_euro[code] = value
    if CNY not in per_euro:
        raise RateError("no CNY rate, so no cross rate can be derived")
    return ReferenceRates(as_of=as_of, per_euro=per_euro)


def cny_rates(reference: ReferenceRates) -> dict[str, Decimal]:
    """CNY for one unit of each currency, through the euro: 1 X = r_CNY / r_X CNY, and
    1 EUR = r_CNY CNY; rounded half up to RATE_SIGNIFICANT_DIGITS significant digits.
    Currencies too small to hold within RATE_DECIMAL_PLACES are left out."""
    per_euro = dict(reference.per_euro)
    per_euro[EUR] = Decimal(1)
    cny_per_euro = per_euro[CNY]
    rates: dict[str, Decimal] = {}
    for code, units_per_euro in sorted(per_euro.items()):
        if code == CNY:
            continue
        with localcontext() as context:
            context.prec = RATE_SIGNIFICANT_DIGITS
            context.rounding = ROUND_HALF_UP
            rate = cny_per_euro / units_per_euro
        try:
            rates[code] = check_rate(_round(rate, RATE_DECIMAL_PLACES).normalize())
        except RateError:
            continue
    return rates
