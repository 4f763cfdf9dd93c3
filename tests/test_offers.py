"""The pure advice from a lookup (previews/offers.py), on the sandbox catalogue's products
parsed as the gateway would answer them (no HTTP, no database)."""

import json
from dataclasses import replace
from decimal import Decimal

import pytest

from previews.gateway import MixBatchRule, PriceTier, ProductDetail, parse_product_body
from previews.offers import (
    Advice,
    NextTier,
    minimum_quantity,
    next_tier,
    offer_advice,
    seller_advice,
    unit_price,
)
from previews.sandbox import product_model

SELLER = 656001


def product(scenario: int, seller: int = SELLER) -> ProductDetail:
    offer_id = seller * 1_000_000 + 4000 + scenario
    return parse_product_body(json.dumps({"code": 200, "data": product_model(offer_id)}))


def codes(advice: list[Advice]) -> list[str]:
    return [a.code for a in advice]


# --------------------------------------------------------------------------- prices


@pytest.mark.parametrize(
    ("total", "price"),
    [(0, "12.00"), (1, "12.00"), (49, "12.00"), (50, "11.00"), (199, "11.00"), (200, "10.00")],
)
def test_quote_type_0_tier_of_the_offer_total(total, price):
    assert unit_price(product(700), None, total) == Decimal(price)


def test_below_the_first_tier_is_the_first_tiers_price():
    tiered = product(702)  # first tier from 2
    spec = tiered.skus[0].spec_id
    assert unit_price(tiered, spec, 1) == Decimal("20.00")
    assert unit_price(tiered, spec, 99) == Decimal("20.00")
    assert unit_price(tiered, spec, 100) == Decimal("18.00")
    assert unit_price(tiered, tiered.skus[-1].spec_id, 100) == Decimal("18.00")


def test_quote_type_1_is_the_skus_price_whatever_the_total():
    per_sku = product(701)
    first, last = per_sku.skus[0], per_sku.skus[-1]
    assert unit_price(per_sku, first.spec_id, 1) == unit_price(per_sku, first.spec_id, 999)
    assert unit_price(per_sku, first.spec_id, 5) == first.price == Decimal("20.00")
    assert unit_price(per_sku, last.spec_id, 5) == Decimal("23.00")


def test_no_price_for_an_unknown_spec_or_a_missing_spec():
    per_sku = product(701)
    assert unit_price(per_sku, "f" * 32, 5) is None
    assert unit_price(per_sku, None, 5) is None
    assert unit_price(product(700), "anything", 5) == Decimal("12.00")  # no SKUs: no spec needed


def test_prices_are_decimal_never_float():
    for scenario in (700, 701, 702, 705, 706, 713):
        item = product(scenario)
        spec = item.skus[0].spec_id if item.skus else None
        assert type(unit_price(item, spec, 10)) is Decimal


# --------------------------------------------------------------------------- next tier


def test_next_tier():
    plain = product(700)
    assert next_tier(plain, 10) == NextTier(quantity=50, unit_price=Decimal("11.00"))
    assert next_tier(plain, 50) == NextTier(quantity=200, unit_price=Decimal("10.00"))
    assert next_tier(plain, 200) is None
    assert next_tier(product(701), 1) is None  # priced per SKU: no tier to reach
    assert next_tier(product(702), 60) == NextTier(100, Decimal("18.00"))


def test_next_tier_advice_only_within_reach():
    plain = product(700)
    assert "next_tier" not in codes(offer_advice(plain, {None: 10}))
    (advice,) = [a for a in offer_advice(plain, {None: 40}) if a.code == "next_tier"]
    assert advice.params == {"quantity": 50, "unit_price": Decimal("11.00"), "more": 10}
    tiered = product(702)
    a, b = tiered.skus[0].spec_id, tiered.skus[1].spec_id
    # two colours add up: 35 + 35 = 70, the tier at 100 is within reach of the total
    near = [x for x in offer_advice(tiered, {a: 35, b: 35}) if x.code == "next_tier"]
    assert near == [
        Advice("next_tier", {"quantity": 100, "unit_price": Decimal("18.00"), "more": 30})
    ]


# --------------------------------------------------------------------------- offer advice


def test_a_clean_offer_has_no_advice():
    assert offer_advice(product(700), {None: 10}) == []
    per_sku = product(701)
    assert offer_advice(per_sku, {per_sku.skus[0].spec_id: 5}) == []


def test_below_minimum_and_not_whole_lots_on_the_offer_total():
    bowl = product(705)
    assert codes(offer_advice(bowl, {None: 7})) == ["below_minimum", "not_whole_lots"]
    below = offer_advice(bowl, {None: 7})[0]
    assert below.params == {"minimum": 10, "quantity": 7}
    lots = offer_advice(bowl, {None: 12})
    assert lots == [
        Advice("not_whole_lots", {"lot_size": 5, "quantity": 12, "lower": 10, "higher": 15})
    ]
    assert offer_advice(bowl, {None: 15}) == []


def test_minimum_on_the_total_of_several_skus():
    tiered = product(702)  # minimum 2
    a, b = tiered.skus[0].spec_id, tiered.skus[1].spec_id
    assert "below_minimum" in codes(offer_advice(tiered, {a: 1}))
    assert "below_minimum" not in codes(offer_advice(tiered, {a: 1, b: 1}))


def test_minimum_falls_back_to_the_first_tier():
    tiered = replace(product(702), min_order_quantity=None)
    assert minimum_quantity(tiered) == 2
    assert minimum_quantity(replace(product(701), min_order_quantity=None)) is None


def test_above_stock_per_sku_and_for_an_offer_without_skus():
    cases = product(707)
    empty = next(s for s in cases.skus if s.stock == 0)
    stocked = next(s for s in cases.skus if s.stock == 50)
    advice = offer_advice(cases, {empty.spec_id: 1, stocked.spec_id: 50})
    assert advice == [
        Advice(
            "above_stock",
            {"spec_id": empty.spec_id, "attribute_text": empty.attribute_text, "quantity": 1,
             "stock": 0},
        )
    ]  # fmt: skip
    plain = product(700)  # offer stock 5000
    assert codes(offer_advice(plain, {None: 5001})) == ["above_stock"]


def test_not_available():
    withdrawn = product(703)
    assert offer_advice(withdrawn, {None: 1}) == [
        Advice("not_available", {"offer_id": withdrawn.offer_id, "status": "expired"})
    ]
    per_sku = product(701)
    (gone,) = offer_advice(per_sku, {"0" * 32: 1})
    assert gone.code == "not_available" and gone.params["spec_id"] == "0" * 32


# --------------------------------------------------------------------------- mixed batch


def test_mixed_batch_per_seller_met_by_amount_or_count():
    clips = product(708)  # ¥30.00 a piece; ¥500 or 10 pieces
    a, b = clips.skus[0].spec_id, clips.skus[1].spec_id
    (short,) = seller_advice([(clips, {a: 4, b: 4})])
    assert short.code == "mixed_batch_not_met"
    assert short.params == {
        "seller_open_id": clips.seller_open_id, "company_name": clips.company_name,
        "min_amount": Decimal("500"), "min_count": 10, "amount": Decimal("240.00"), "count": 8,
    }  # fmt: skip
    assert seller_advice([(clips, {a: 5, b: 5})]) == []  # 10 pieces: met by count
    # another offer of the same seller counts toward the rule
    plain = product(700)
    assert plain.seller_open_id == clips.seller_open_id
    assert seller_advice([(clips, {a: 4}), (plain, {None: 6})]) == []  # 10 pieces (¥192)
    assert codes(seller_advice([(clips, {a: 4}), (plain, {None: 2})])) == ["mixed_batch_not_met"]
    # ...an offer of another seller does not
    other = product(700, seller=SELLER + 1)
    assert codes(seller_advice([(clips, {a: 4}), (other, {None: 20})])) == ["mixed_batch_not_met"]


def test_mixed_batch_by_amount_alone():
    rule = MixBatchRule(enabled=True, min_amount=Decimal("100"), min_count=None)
    item = replace(
        product(700), mix_batch=rule, price_tiers=(PriceTier(1, Decimal("12.00"), None),)
    )
    assert codes(seller_advice([(item, {None: 8})])) == ["mixed_batch_not_met"]  # ¥96
    assert seller_advice([(item, {None: 9})]) == []  # ¥108
    # no rule, or a disabled one: nothing to say
    assert seller_advice([(product(700), {None: 1})]) == []
    disabled = replace(item, mix_batch=replace(rule, enabled=False))
    assert seller_advice([(disabled, {None: 1})]) == []
