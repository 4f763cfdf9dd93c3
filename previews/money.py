"""Pure money arithmetic: fen and yuan, display, and exact allocation. No ORM, no HTTP.

Amounts are stored as integer fen; the gateway's line prices arrive as yuan decimals.
"""

from __future__ import annotations

from collections.abc import Sequence
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


def format_fen(fen: int | None) -> str:
    """¥1,234.56 (and −¥0.69 for a negative amount); an em dash when unknown."""
    if fen is None:
        return "—"
    sign = "−" if fen < 0 else ""
    return f"{sign}¥{fen_to_yuan(abs(fen)):,.2f}"


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
