"""Rules the gateway would enforce, checked before any call, with messages a buyer can act on."""

import re
import unicodedata

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.functional import lazy
from django.utils.translation import gettext_lazy as _

from . import regions
from .currency import (
    CNY,
    RATE_DECIMAL_PLACES,
    RATE_MAX_INTEGER_DIGITS,
    RATE_SIGNIFICANT_DIGITS,
    RateError,
    check_rate,
    codes_in_use,
    is_known_currency,
)
from .limits import (
    MAX_OFFER_ID,
    MAX_QUANTITY,
    MIN_QUANTITY,
    SPEC_ID,
    SPEC_ID_LENGTH,
    grouped,
)

MOBILE = re.compile(r"^1[3-9]\d{9}$")
PHONE = re.compile(r"^(0\d{2,3}-?\d{7,8}(-\d{1,6})?|1[3-9]\d{9})$")
POST_CODE = re.compile(r"^\d{6}$")

# The numbers in messages come from `limits`, as they are written there once.
QUANTITY_RANGE = {"min": grouped(MIN_QUANTITY), "max": grouped(MAX_QUANTITY)}
SPEC_ID_FORMAT = {"length": SPEC_ID_LENGTH}


def _format_lazy(message, params: dict):
    """`message % params`, translated when used (a model's help text is read at import)."""
    return lazy(lambda: str(message) % params, str)()


SPEC_ID_HELP = _format_lazy(
    _("%(length)s hexadecimal characters; needed for offers that have specs."), SPEC_ID_FORMAT
)
QUANTITY_HELP = _format_lazy(_("A whole number from %(min)s to %(max)s."), QUANTITY_RANGE)


def normalize_mobile(value: str) -> str:
    """Drop spaces, dashes and a +86/0086 prefix, as buyers paste numbers in many ways."""
    digits = re.sub(r"[\s\-()]", "", value or "")
    for prefix in ("+86", "0086"):
        if digits.startswith(prefix):
            digits = digits[len(prefix) :]
    return digits


def validate_mobile(value: str) -> None:
    if not MOBILE.match(value or ""):
        raise ValidationError(
            _("Enter a Chinese mobile number: 11 digits starting with 13–19, e.g. 13812345678."),
            code="invalid_mobile",
        )


def validate_phone(value: str) -> None:
    if value and not PHONE.match(value):
        raise ValidationError(
            _("Enter a landline such as 0571-88888888, or a mobile number."),
            code="invalid_phone",
        )


def validate_post_code(value: str) -> None:
    if not POST_CODE.match(value or ""):
        raise ValidationError(
            _("A post code has exactly 6 digits, e.g. 310051."), code="invalid_post_code"
        )


def validate_district_code(value: str) -> None:
    if not re.fullmatch(r"\d{6}", value or ""):
        raise ValidationError(
            _("A district code has exactly 6 digits, e.g. 330108 for 滨江区, Hangzhou."),
            code="invalid_district_code",
        )
    if regions.find_district(value) is None:
        raise ValidationError(
            _("%(code)s is not a district in China's administrative divisions; pick one below."),
            code="unknown_district_code",
            params={"code": value},
        )


def validate_offer_id(value: int) -> None:
    if value is None or value < 1 or value > MAX_OFFER_ID:
        raise ValidationError(
            _("An offer id is a positive whole number, as in detail.1688.com/offer/<id>.html."),
            code="invalid_offer_id",
        )


def normalize_spec_id(value: str) -> str:
    """A spec id as stored, typed or imported: NFKC (full-width ０-９ and ａ-ｆ become ASCII,
    as Chinese input methods type them), without surrounding spaces, in lower case."""
    return unicodedata.normalize("NFKC", value or "").strip().lower()


def validate_spec_id(value: str) -> None:
    if value and not SPEC_ID.match(value):
        raise ValidationError(
            _(
                "A spec id is %(length)s hexadecimal characters (0–9, a–f), "
                "e.g. 594b40c111b019af610a0078e4316373."
            ),
            code="invalid_spec_id",
            params=SPEC_ID_FORMAT,
        )


def validate_quantity(value: int) -> None:
    if value is None or not MIN_QUANTITY <= value <= MAX_QUANTITY:
        raise ValidationError(
            _("The quantity must be between %(min)s and %(max)s."),
            code="invalid_quantity",
            params=QUANTITY_RANGE,
        )


# --------------------------------------------------------------------------- quantities

QUANTITY_DIGITS = re.compile(r"[0-9]+")
# Only full-width digits are folded: Chinese keyboards type them. NFKC would also turn
# "²" into 2, and int() reads "٣" as 3; a quantity written that way is more likely a
# slip than a number, so it is refused with a reason instead of guessed at.
FULL_WIDTH_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")


def ascii_digits(value: str) -> str:
    """`value` without surrounding spaces, its full-width digits (０-９) made ASCII."""
    return (value or "").strip().translate(FULL_WIDTH_DIGITS)


def parse_quantity(value) -> int:
    """The one rule for a quantity, typed or imported: ASCII digits 0-9 (after full-width
    ones are folded), nothing else, from MIN_QUANTITY to MAX_QUANTITY.

    Raises ValidationError with a message a buyer can act on.
    """
    text = ascii_digits(str(value) if value is not None else "")
    if not text:
        raise ValidationError(
            _("Enter a quantity: a whole number from %(min)s to %(max)s."),
            code="required",
            params=QUANTITY_RANGE,
        )
    validate_no_control_characters(text)  # named, never echoed raw into the message
    if not QUANTITY_DIGITS.fullmatch(text):
        raise ValidationError(
            _(
                "“%(value)s” is not a quantity: write a whole number with the digits 0–9 "
                "only (no decimal point, sign, exponent, space or other characters)."
            ),
            code="invalid_quantity",
            params={"value": text[:20]},
        )
    quantity = int(text)
    if not MIN_QUANTITY <= quantity <= MAX_QUANTITY:
        raise ValidationError(
            _("The quantity must be from %(min)s to %(max)s (you wrote %(value)s)."),
            code="quantity_out_of_range",
            params={**QUANTITY_RANGE, "value": text[:20]},
        )
    return quantity


# --------------------------------------------------------------------------- text fields

# A single-line field never needs a control character: tab, line breaks, NUL (which
# PostgreSQL cannot even store), the C1 range, Unicode's line and paragraph separators,
# and the bidirectional overrides that make text display in another order than stored.
CONTROL_NAMES = {
    "\x00": _("NUL"),
    "\t": _("tab"),
    "\n": _("line break"),
    "\r": _("carriage return"),
    "\u2028": _("line separator"),
    "\u2029": _("paragraph separator"),
}
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def is_control_character(char: str) -> bool:
    """Whether `char` is one no single-line field may store."""
    return unicodedata.category(char) in ("Cc", "Zl", "Zp") or char in BIDI_CONTROLS


def describe_control_character(text: str) -> str | None:
    """“U+0009 (tab) at character 4” for the first control character in `text`, else None."""
    for position, char in enumerate(text or "", start=1):
        if is_control_character(char):
            code = f"U+{ord(char):04X}"
            name = CONTROL_NAMES.get(char)
            if name:
                return _("%(code)s (%(name)s) at character %(position)s") % {
                    "code": code,
                    "name": name,
                    "position": position,
                }
            return _("%(code)s at character %(position)s") % {"code": code, "position": position}
    return None


def describe_control_character_in_lines(text: str) -> str | None:
    """Like `describe_control_character` for multi-line text (a paste): line breaks and
    tabs are allowed; “U+0000 (NUL) on line 2, character 5” for the first other one."""
    for line_number, line in enumerate((text or "").split("\n"), start=1):
        for position, char in enumerate(line, start=1):
            if char in "\t\r" or not is_control_character(char):
                continue
            params = {"code": f"U+{ord(char):04X}", "line": line_number, "position": position}
            name = CONTROL_NAMES.get(char)
            if name:
                return _("%(code)s (%(name)s) on line %(line)s, character %(position)s") % {
                    **params,
                    "name": name,
                }
            return _("%(code)s on line %(line)s, character %(position)s") % params
    return None


def validate_no_control_characters_in_lines(value: str) -> None:
    """Refuse multi-line text (a paste) holding a control character other than line
    breaks and tabs, naming it and where it is (one message, as for single lines)."""
    found = describe_control_character_in_lines(value) if isinstance(value, str) else None
    if found:
        raise ValidationError(
            _(
                "This contains an invisible control character, %(found)s; remove it "
                "(it often comes with a copy and paste) and try again."
            ),
            code="control_character",
            params={"found": found},
        )


def validate_no_control_characters(value: str) -> None:
    """Refuse text holding a control character, naming it and where it is."""
    if not isinstance(value, str):
        return  # a text field that cleans to another type (a UUID) holds none
    found = describe_control_character(value)
    if found:
        raise ValidationError(
            _(
                "This contains an invisible control character, %(found)s; remove it "
                "(it often comes with a copy and paste) and try again."
            ),
            code="control_character",
            params={"found": found},
        )


# --------------------------------------------------------------------------- currencies


def validate_currency_code(value: str) -> None:
    """An ISO 4217 code in capitals of a currency in use today (`currency.codes_in_use`,
    the Settings page's choices: no XXX, XAU or ESP), and not CNY (the record's own).
    Only what is typed is checked: a code stored earlier is read without it."""
    if value == CNY:
        raise ValidationError(
            _("CNY is the currency of the record; choose another."), code="currency_is_cny"
        )
    if not is_known_currency(value):
        raise ValidationError(
            _("“%(code)s” is not an ISO 4217 currency code (three capitals, e.g. USD)."),
            code="unknown_currency",
            params={"code": value},
        )
    if value not in codes_in_use():
        raise ValidationError(
            _(
                "“%(code)s” is not a currency in use today (no test code, precious metal or "
                "withdrawn currency); choose one such as USD or EUR."
            ),
            code="currency_not_in_use",
            params={"code": value},
        )


def validate_rate_date(value) -> None:
    """A rate's as-of day: today or earlier (a rate dated later would win for ever)."""
    if value is not None and value > timezone.localdate():
        raise ValidationError(
            _("A rate cannot be dated after today (%(today)s); enter the day it was set."),
            code="rate_in_future",
            params={"today": timezone.localdate().isoformat()},
        )


def validate_rate(value) -> None:
    """A positive rate to CNY of sane precision (`currency.check_rate`)."""
    try:
        check_rate(value)
    except RateError as error:
        raise ValidationError(
            _(
                "A rate is a positive number of CNY for one unit of the currency, below "
                "%(max)s, with at most %(digits)s significant digits and %(places)s decimal "
                "places."
            ),
            code="bad_rate",
            params={
                "max": grouped(10**RATE_MAX_INTEGER_DIGITS),
                "digits": RATE_SIGNIFICANT_DIGITS,
                "places": RATE_DECIMAL_PLACES,
            },
        ) from error
