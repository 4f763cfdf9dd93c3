"""Money arithmetic: exact to the fen."""

from decimal import Decimal

import pytest

from previews.money import (
    allocate,
    fen_to_yuan,
    format_fen,
    format_yuan,
    reconcile,
    unit_cost,
    yuan_to_fen,
)


@pytest.mark.parametrize(
    ("fen", "text"),
    [(1671, "¥16.71"), (0, "¥0.00"), (123456789, "¥1,234,567.89"), (-69, "−¥0.69"), (None, "—")],
)
def test_format(fen, text):
    assert format_fen(fen) == text


def test_one_formatter_for_fen_yuan_and_the_template_filters():
    from previews.templatetags.previews_tags import fen, yuan

    for amount in (1671, 0, 123456789, -69, None):
        in_yuan = None if amount is None else fen_to_yuan(amount)
        assert format_fen(amount) == format_yuan(in_yuan) == fen(amount) == yuan(in_yuan)


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


@pytest.mark.parametrize(
    ("figures", "discount", "unexplained"),
    [
        # the docs' worked example: nothing to explain
        ({"goods_fen": 1321, "no_carriage_fen": 1321, "discount_fen": None, "carriage_fen": 350,
          "additional_fee_fen": None, "total_fen": 1671}, 0, 0),
        # discountFee taken after the goods subtotal (1688's documented reading)
        ({"goods_fen": 10000, "no_carriage_fen": 10000, "discount_fen": 500, "carriage_fen": 350,
          "additional_fee_fen": None, "total_fen": 9850}, 500, 0),
        # discountFee already netted inside sumPaymentNoCarriage: not taken twice
        ({"goods_fen": 40000, "no_carriage_fen": 38000, "discount_fen": 2000, "carriage_fen": 0,
          "additional_fee_fen": None, "total_fen": 38000}, 2000, 0),
        # a shop promotion inside the subtotal and a coupon after it
        ({"goods_fen": 40000, "no_carriage_fen": 38000, "discount_fen": 500, "carriage_fen": 0,
          "additional_fee_fen": None, "total_fen": 37500}, 2500, 0),
        # other fees, then figures that do not add up: the rest is shown, never hidden
        ({"goods_fen": 1000, "no_carriage_fen": 1000, "discount_fen": None, "carriage_fen": 350,
          "additional_fee_fen": 300, "total_fen": 1687}, 0, 37),
    ],
)  # fmt: skip
def test_reconcile_always_adds_up(figures, discount, unexplained):
    result = reconcile(**figures)
    assert result.order_discount_fen == discount and result.unexplained_fen == unexplained
    assert (
        result.goods_fen - result.order_discount_fen + result.carriage_fen
        + result.other_fees_fen + result.unexplained_fen == result.total_fen
    )  # fmt: skip


def test_reconcile_without_a_total_explains_nothing():
    result = reconcile(goods_fen=1000, no_carriage_fen=None, discount_fen=100, carriage_fen=None,
                       additional_fee_fen=None, total_fen=None)  # fmt: skip
    assert result.order_discount_fen == 100
    assert result.unexplained_fen is None and result.total_fen is None
