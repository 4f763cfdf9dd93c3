"""Typed conversion of the gateway's JSON values, each named by its path in the answer.

Every converter takes the value and where it was (`orderPreviewResuslt[0].sumPayment`)
and returns a typed value or raises `Malformed` naming that path. Amounts never pass
through `float`: the body is parsed with `parse_float=Decimal`, integer fen stay `int`,
yuan stay `Decimal`, and a yuan amount finer than a fen is reported, not rounded.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation, localcontext
from typing import Any

from .redaction import printable

ONE_FEN = Decimal("0.01")
MAX_FEN = 2**63 - 1  # what a 64-bit column holds: ¥92 trillion, far above any real order


class Malformed(Exception):
    """A value is not of the documented shape; the message names its path."""


def expect_dict(value: Any, where: str) -> dict:
    """An object (a JSON `{}`), or `Malformed`."""
    if not isinstance(value, dict):
        raise Malformed(f"{where} should be an object, got {type(value).__name__}")
    return value


def to_list(value: Any, where: str) -> list:
    """A list; `null` reads as an empty one."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise Malformed(f"{where} should be a list, got {type(value).__name__}")
    return value


def to_text(value: Any, where: str) -> str | None:
    """Text (a number is written as text), printable; `null` is None."""
    if value is None:
        return None
    if isinstance(value, bool | dict | list):
        raise Malformed(f"{where} should be text, got {type(value).__name__}")
    return printable(str(value))


def to_bool(value: Any, where: str, default: bool = False) -> bool:
    """A JSON boolean; `null` or absent is `default`."""
    if value is None:
        return default
    if not isinstance(value, bool):
        raise Malformed(f"{where} should be true or false, got {value!r}")
    return value


def to_int(value: Any, where: str) -> int | None:
    """A whole number (sent as a number or as text) within a 64-bit column; `null` is None."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise Malformed(f"{where} should be a whole number, got {value!r}")
    if isinstance(value, int):
        if abs(value) > MAX_FEN:
            raise Malformed(f"{where} is out of range: {value!r}")
        return value
    try:
        number = Decimal(str(value).strip()) if not isinstance(value, Decimal) else value
    except InvalidOperation:
        raise Malformed(f"{where} should be a whole number, got {value!r}") from None
    if not number.is_finite() or number != number.to_integral_value():
        raise Malformed(f"{where} should be a whole number, got {value!r}")
    if abs(number) > MAX_FEN:
        raise Malformed(f"{where} is out of range: {value!r}")
    return int(number)


def to_fen(value: Any, where: str) -> int | None:
    """An amount the gateway sends in integer fen."""
    return to_int(value, where)


def to_yuan(value: Any, where: str, warnings: list[str]) -> Decimal | None:
    """An amount the gateway sends in yuan; a value finer than a fen is reported in
    `warnings`, not rounded."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise Malformed(f"{where} should be an amount in yuan, got {value!r}")
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except InvalidOperation:
        raise Malformed(f"{where} should be an amount in yuan, got {value!r}") from None
    if not amount.is_finite():
        raise Malformed(f"{where} should be an amount in yuan, got {value!r}")
    if abs(amount) * 100 > MAX_FEN:
        raise Malformed(f"{where} is out of range: {value!r}")
    with localcontext() as exact:
        exact.prec = 60  # wide enough for any in-range amount with any decimals sent
        if amount != amount.quantize(ONE_FEN, rounding="ROUND_DOWN"):
            warnings.append(f"{where} = {amount} yuan is not a whole number of fen")
    return amount
