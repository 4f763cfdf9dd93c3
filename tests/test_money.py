"""Money arithmetic: exact to the fen."""

from decimal import Decimal

import pytest

from previews.money import allocate, fen_to_yuan, format_fen, unit_cost, yuan_to_fen


@pytest.mark.parametrize(
    ("fen", "text"),
    [(1671, "¥16.71"), (0, "¥0.00"), (123456789, "¥1,234,567.89"), (-69, "−¥0.69"), (None, "—")],
)
def test_format(fen, text):
    assert format_fen(fen) == text


def test_yuan_and_fen():
    assert yuan_to_fen(Decimal("13.21")) == 1321
    assert yuan_to_fen(Decimal("13.9")) == 1390
    assert yuan_to_fen(Decimal("1234567886.62")) == 123456788662
    assert fen_to_yuan(1671) == Decimal("16.71")


@pytest.mark.parametrize(
    ("total", "weights", "shares"),
    [
        (350, [1321], [350]),
        (100, [1, 1, 1], [34, 33, 33]),
        (350, [27260, 75036], [93, 257]),
        (-2000, [27260, 75036], [-533, -1467]),
        (10, [0, 0], [5, 5]),
        (0, [5, 7], [0, 0]),
        (1, [1, 1, 1], [1, 0, 0]),
    ],
)
def test_allocate(total, weights, shares):
    assert allocate(total, weights) == shares
    assert sum(shares) == total


def test_allocate_always_sums_exactly():
    import random

    rng = random.Random(7)
    for _ in range(2000):
        weights = [rng.randint(0, 10**7) for _ in range(rng.randint(1, 30))]
        total = rng.randint(-(10**9), 10**9)
        shares = allocate(total, weights)
        assert sum(shares) == total
        assert all(isinstance(s, int) for s in shares)


def test_unit_cost():
    assert unit_cost(1671, 1) == Decimal("16.71")
    assert unit_cost(100, 3) == Decimal("0.33")
    with pytest.raises(ValueError):
        unit_cost(1, 0)
