"""Pure money arithmetic: fen and yuan, display, and exact allocation. No ORM, no HTTP.

Amounts are stored as integer fen; the gateway's line prices arrive as yuan decimals.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, localcontext

FEN_PER_YUAN = 100
ONE_FEN = Decimal("0.01")


def yuan_to_fen(yuan: Decimal) -> int:
    """Yuan to fen; a value finer than a fen is rounded half up (callers report it first)."""
    with localcontext() as exact:
        exact.prec = 60
        return int((yuan * FEN_PER_YUAN).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def fen_to_yuan(fen: int) -> Decimal:
    return (Decimal(fen) / FEN_PER_YUAN).quantize(ONE_FEN)


def format_yuan(yuan: Decimal | int | str | None) -> str:
    """THE display of an amount: ¥1,234.56 (and −¥0.69 for a negative amount); an em
    dash when unknown."""
    if yuan is None:
        return "—"
    yuan = Decimal(yuan)
    sign = "−" if yuan < 0 else ""
    return f"{sign}¥{abs(yuan):,.2f}"


def format_fen(fen: int | None) -> str:
    """Integer fen shown as `format_yuan` shows yuan."""
    return format_yuan(None if fen is None else fen_to_yuan(fen))


def allocate(total: int, weights: Sequence[int]) -> list[int]:
    """Split `total` fen in proportion to `weights`, in whole fen, summing exactly to `total`.

    Largest-remainder method: each share is rounded down, and the fen left over go to the
    largest remainders (ties to the earlier line). Negative totals (discounts) are split
    the same way. With no positive weight, the total is split evenly.
    """
    if not weights:
        if total:
            raise ValueError("cannot allocate a non-zero amount over no lines")
        return []
    weights = [max(0, w) for w in weights]
    if sum(weights) == 0:
        weights = [1] * len(weights)
    sign = -1 if total < 0 else 1
    magnitude = abs(total)
    whole = sum(weights)
    shares = [magnitude * w // whole for w in weights]
    remainders = [magnitude * w % whole for w in weights]
    leftover = magnitude - sum(shares)
    order = sorted(range(len(weights)), key=lambda i: (-remainders[i], i))
    for index in order[:leftover]:
        shares[index] += 1
    return [sign * share for share in shares]


def unit_cost(total_fen: int, quantity: int) -> Decimal:
    """A line's cost per piece in yuan, to the fen (half up)."""
    if quantity <= 0:
        raise ValueError("quantity must be positive")
    return (Decimal(total_fen) / FEN_PER_YUAN / quantity).quantize(ONE_FEN, ROUND_HALF_UP)


@dataclass(frozen=True)
class Reconciliation:
    """A previewed order's figures as rows that always add up:
    goods − order discounts + carriage + other fees + unexplained = total payable."""

    goods_fen: int
    order_discount_fen: int
    carriage_fen: int
    other_fees_fen: int
    unexplained_fen: int | None  # None only when there is no total to reconcile with
    total_fen: int | None


def reconcile(
    *,
    goods_fen: int | None,
    no_carriage_fen: int | None,
    discount_fen: int | None,
    carriage_fen: int | None,
    additional_fee_fen: int | None,
    total_fen: int | None,
) -> Reconciliation:
    """Explain a record's total from its own fields (units: fen).

    `goods_fen` is the lines' amounts after line promotions (`sumPaymentNoCarriage` when
    the lines give none). Order discounts are what the gateway took off between those
    goods and `sumPaymentNoCarriage` (shop promotions), plus the record's `discountFee`
    when the total takes it off after that subtotal, as 1688 documents it ("an additional
    reduction applied after the goods amount"). Some answers already net it inside
    `sumPaymentNoCarriage`: of the two readings, the one the gateway's own total agrees
    with is taken (the documented one on a tie), so `discountFee` is never counted twice
    nor dropped. Whatever still does not add up is `unexplained_fen`, for the page to show.
    """
    goods = goods_fen if goods_fen is not None else (no_carriage_fen or 0)
    carriage = carriage_fen or 0
    fees = additional_fee_fen or 0
    inside = 0 if no_carriage_fen is None else goods - no_carriage_fen
    readings = [inside + (discount_fen or 0)]  # documented: taken after the subtotal
    if discount_fen and no_carriage_fen is not None:
        readings.append(inside)  # already inside sumPaymentNoCarriage
    if total_fen is None:
        return Reconciliation(goods, readings[0], carriage, fees, None, None)

    def unexplained(discount: int) -> int:
        return total_fen - (goods - discount + carriage + fees)

    discount = min(readings, key=lambda d: abs(unexplained(d)))  # first wins a tie
    return Reconciliation(goods, discount, carriage, fees, unexplained(discount), total_fen)
