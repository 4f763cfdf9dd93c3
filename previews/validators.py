"""Rules the gateway would enforce, checked before any call, with messages a buyer can act on."""

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from . import regions

MOBILE = re.compile(r"^1[3-9]\d{9}$")
PHONE = re.compile(r"^(0\d{2,3}-?\d{7,8}(-\d{1,6})?|1[3-9]\d{9})$")
POST_CODE = re.compile(r"^\d{6}$")
SPEC_ID = re.compile(r"^[0-9a-f]{32}$")


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
    if value is None or value < 1 or value > 2**63 - 1:
        raise ValidationError(
            _("An offer id is a positive whole number, as in detail.1688.com/offer/<id>.html."),
            code="invalid_offer_id",
        )


def validate_spec_id(value: str) -> None:
    if value and not SPEC_ID.match(value):
        raise ValidationError(
            _(
                "A spec id is 32 hexadecimal characters (0–9, a–f), e.g. 594b40c111b019af610a0078e4316373."  # noqa: E501
            ),
            code="invalid_spec_id",
        )


def validate_quantity(value: int) -> None:
    if value is None or not 1 <= value <= 99_999:
        raise ValidationError(
            _("The quantity must be between 1 and 99,999."), code="invalid_quantity"
        )
