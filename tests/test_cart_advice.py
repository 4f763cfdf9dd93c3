"""Before previewing, the cart warns (issue #12, item 5): advisory and dated warnings from
the stored offer lookups, per line and per supplier, worded in both languages, on the
offer's total in the cart, with a bounded number of queries.

Lookups are given to `cart_warnings(products=...)` (or patched into
`lookups.cached_products` for the page) as `ProductDetail` values: no model, no sandbox.
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from previews import lookups
from previews.cart_advice import CartAdvice, advice_text, cart_warnings
from previews.gateway.products import (
    MixBatchRule,
    PriceTier,
    ProductDetail,
    ProductSku,
    SkuAttribute,
)
from previews.offers import Advice

pytestmark = pytest.mark.django_db

RED = "a" * 32
BLUE = "b" * 32
GONE = "c" * 32
OFFER = 656001004702
OTHER = 656001004700
SHOP = "义乌日用百货"


def sku(spec_id, *, price="20.00", stock=100, colour="红色"):
    attributes = (SkuAttribute(3216, "颜色", "Color", colour, None, None),)
    return ProductSku(1, spec_id, Decimal(price), None, stock, None, attributes)


def product(
    offer_id=OFFER,
    *,
    skus=(),
    tiers=(),
    quote_type=0,
    status="published",
    minimum=None,
    lot=None,
    stock=None,
    mix=None,
    seller="seller-656001",
):
    return ProductDetail(
        offer_id=offer_id,
        subject="收纳盒",
        subject_trans="Storage box",
        status=status,
        seller_open_id=seller,
        company_name="义乌日用百货有限公司",
        images=(),
        skus=tuple(skus),
        price_tiers=tuple(PriceTier(q, Decimal(p), None) for q, p in tiers),
        quote_type=quote_type,
        stock=stock,
        unit="件",
        unit_trans="piece",
        min_order_quantity=minimum,
        batch_number=lot,
        mix_batch=mix,
        trace_id=None,
        raw_body="{}",
    )


def source(*products, at=None):
    """A lookup source as `lookups.cached_products` is one, recording what it was asked."""
    at = at or timezone.now() - timedelta(minutes=5)
    known = {p.offer_id: (p, at) for p in products}

    def cached_products(offer_ids):
        cached_products.asked.append(list(offer_ids))
        return {o: known[o] for o in offer_ids if o in known}

    cached_products.asked = []
    return cached_products


def texts(warnings):
    return [w.text for w in warnings]


# --------------------------------------------------------------------------- per offer


def test_minimum_on_the_offers_total_over_two_colours(buyer, make_line):
    red = make_line(buyer, offer_id=OFFER, spec_id=RED, quantity=2)
    blue = make_line(buyer, offer_id=OFFER, spec_id=BLUE, quantity=4)
    lookup = product(skus=[sku(RED), sku(BLUE, colour="蓝色")], quote_type=1, minimum=10)
    advice = cart_warnings(buyer, products=source(lookup))
    assert texts(advice.for_line(red.pk)) == ["Below the minimum order of 10 pieces (you have 6)"]
    assert advice.for_line(blue.pk) == []  # said once, on the offer's first line
    with translation.override("zh-hans"):
        advice = cart_warnings(buyer, products=source(lookup))
    assert texts(advice.for_line(red.pk)) == ["低于最小起订量 10 件(当前 6 件)"]


def test_minimum_of_one_piece_is_singular():
    advice = Advice("below_minimum", {"minimum": 1, "quantity": 0})
    assert advice_text(advice) == "Below the minimum order of 1 piece (you have 0)"


def test_enough_in_total_is_no_warning(buyer, make_line):
    make_line(buyer, offer_id=OFFER, spec_id=RED, quantity=6)
    make_line(buyer, offer_id=OFFER, spec_id=BLUE, quantity=4)
    lookup = product(skus=[sku(RED), sku(BLUE)], quote_type=1, minimum=10, lot=5)
    assert not cart_warnings(buyer, products=source(lookup))


@pytest.mark.parametrize(
    ("quantities", "english", "chinese"),
    [
        (
            (8, 4),
            "Not a whole number of lots of 5 (you have 12: order 10 or 15)",
            "不是整批:每批 5 件(当前 12 件:可订 10 或 15 件)",
        ),
        (
            (1, 2),
            "Not a whole number of lots of 5 (you have 3: order 5)",
            "不是整批:每批 5 件(当前 3 件:可订 5 件)",
        ),
    ],
)
def test_lots_on_the_offers_total(buyer, make_line, quantities, english, chinese):
    first = make_line(buyer, offer_id=OFFER, spec_id=RED, quantity=quantities[0])
    make_line(buyer, offer_id=OFFER, spec_id=BLUE, quantity=quantities[1])
    lookup = product(skus=[sku(RED), sku(BLUE)], quote_type=1, lot=5)
    assert texts(cart_warnings(buyer, products=source(lookup)).for_line(first.pk)) == [english]
    with translation.override("zh-hans"):
        advice = cart_warnings(buyer, products=source(lookup))
    assert texts(advice.for_line(first.pk)) == [chinese]


def test_stock_is_per_sku_on_that_skus_line(buyer, make_line):
    red = make_line(buyer, offer_id=OFFER, spec_id=RED, quantity=40)
    blue = make_line(buyer, offer_id=OFFER, spec_id=BLUE, quantity=2)
    lookup = product(skus=[sku(RED, stock=30), sku(BLUE, stock=0)], quote_type=1)
    advice = cart_warnings(buyer, products=source(lookup))
    assert texts(advice.for_line(red.pk)) == ["More than the 30 in stock (you have 40)"]
    assert texts(advice.for_line(blue.pk)) == ["Out of stock (you have 2)"]
    with translation.override("zh-hans"):
        advice = cart_warnings(buyer, products=source(lookup))
    assert texts(advice.for_line(red.pk)) == ["超过现有库存 30 件(当前 40 件)"]
    assert texts(advice.for_line(blue.pk)) == ["已无库存(当前 2 件)"]


def test_stock_of_an_offer_without_skus(buyer, make_line):
    line = make_line(buyer, offer_id=OTHER, quantity=60)
    lookup = product(OTHER, tiers=[(1, "12.00")], stock=50)
    advice = cart_warnings(buyer, products=source(lookup))
    assert texts(advice.for_line(line.pk)) == ["More than the 50 in stock (you have 60)"]


def test_withdrawn_offer_and_a_spec_it_no_longer_lists(buyer, make_line):
    withdrawn = make_line(buyer, offer_id=OTHER, quantity=3)
    red = make_line(buyer, offer_id=OFFER, spec_id=RED, quantity=3)
    gone = make_line(buyer, offer_id=OFFER, spec_id=GONE, quantity=3)
    lookups_ = source(
        product(OTHER, status="expired", tiers=[(1, "12.00")]),
        product(skus=[sku(RED)], quote_type=1),
    )
    advice = cart_warnings(buyer, products=lookups_)
    assert texts(advice.for_line(withdrawn.pk)) == ["This offer is no longer on sale"]
    assert advice.for_line(red.pk) == []
    assert texts(advice.for_line(gone.pk)) == ["This spec is no longer on the offer"]
    with translation.override("zh-hans"):
        advice = cart_warnings(buyer, products=lookups_)
    assert texts(advice.for_line(withdrawn.pk)) == ["该商品已下架"]
    assert texts(advice.for_line(gone.pk)) == ["该商品已不再提供此规格"]


def test_next_tier_within_reach_on_the_offers_total(buyer, make_line):
    red = make_line(buyer, offer_id=OFFER, spec_id=RED, quantity=40)
    make_line(buyer, offer_id=OFFER, spec_id=BLUE, quantity=30)
    lookup = product(skus=[sku(RED), sku(BLUE)], tiers=[(2, "20.00"), (100, "18.00")], quote_type=2)
    advice = cart_warnings(buyer, products=source(lookup))
    assert texts(advice.for_line(red.pk)) == ["Order 100 to pay ¥18.00 each (30 more)"]
    with translation.override("zh-hans"):
        advice = cart_warnings(buyer, products=source(lookup))
    assert texts(advice.for_line(red.pk)) == ["订满 100 件即可按每件 ¥18.00 计价(再加 30 件)"]


def test_next_tier_out_of_reach_is_not_said(buyer, make_line):
    make_line(buyer, offer_id=OFFER, spec_id=RED, quantity=20)
    lookup = product(skus=[sku(RED)], tiers=[(2, "20.00"), (100, "18.00")], quote_type=2)
    assert not cart_warnings(buyer, products=source(lookup))


def test_a_line_with_no_lookup_gets_no_warning(buyer, make_line):
    looked_up = make_line(buyer, offer_id=OTHER, quantity=3)
    unknown = make_line(buyer, offer_id=612345001100, quantity=1)
    products = source(product(OTHER, status="expired"))
    advice = cart_warnings(buyer, products=products)
    assert advice.for_line(unknown.pk) == []
    assert set(advice.lines) == {looked_up.pk}
    assert products.asked == [[612345001100, OTHER]]


def test_without_any_lookup_the_cart_has_no_advice(buyer, make_line, monkeypatch):
    make_line(buyer, offer_id=OFFER, quantity=1)
    assert cart_warnings(buyer, products=source()) == CartAdvice()
    monkeypatch.setattr(lookups, "cached_products", source())  # the default source
    assert not cart_warnings(buyer)


def test_an_unknown_code_is_not_shown_raw():
    assert advice_text(Advice("something_new", {})) is None


# --------------------------------------------------------------------------- per supplier


MIX = MixBatchRule(enabled=True, min_amount=Decimal("500.00"), min_count=10)


def shop_offers(mix=MIX):
    return (
        product(OFFER, skus=[sku(RED, price="30.00"), sku(BLUE, price="30.00")], quote_type=1,
                mix=mix),
        product(OTHER, tiers=[(1, "5.00")], mix=mix),
    )  # fmt: skip


def test_mixed_batch_not_met_by_amount_nor_count(buyer, make_line):
    make_line(buyer, supplier=SHOP, offer_id=OFFER, spec_id=RED, quantity=2)
    make_line(buyer, supplier=SHOP, offer_id=OFFER, spec_id=BLUE, quantity=1)
    make_line(buyer, supplier=SHOP, offer_id=OTHER, quantity=1)
    make_line(buyer, supplier="别的店", offer_id=656002000001, quantity=50)  # not this shop
    advice = cart_warnings(buyer, products=source(*shop_offers()))
    [supplier_id] = advice.suppliers
    assert texts(advice.for_supplier(supplier_id)) == [
        "The shop's mixed batch needs ¥500.00 or 10 pieces (you have ¥95.00, 4 pieces)"
    ]
    assert not advice.lines
    with translation.override("zh-hans"):
        advice = cart_warnings(buyer, products=source(*shop_offers()))
    assert texts(advice.for_supplier(supplier_id)) == [
        "店铺混批需满 ¥500.00 或 10 件(当前 ¥95.00,4 件)"
    ]


@pytest.mark.parametrize(
    ("red", "other", "rule"),
    [
        (17, 0, MixBatchRule(enabled=True, min_amount=Decimal("500.00"), min_count=20)),
        (1, 9, MIX),  # 10 pieces worth ¥75.00
    ],
    ids=["by-amount", "by-count"],
)
def test_mixed_batch_met_by_amount_or_by_count(buyer, make_line, red, other, rule):
    make_line(buyer, supplier=SHOP, offer_id=OFFER, spec_id=RED, quantity=red)  # ¥30.00 each
    if other:
        make_line(buyer, supplier=SHOP, offer_id=OTHER, quantity=other)  # ¥5.00 each
    assert not cart_warnings(buyer, products=source(*shop_offers(rule))).suppliers


@pytest.mark.parametrize(
    ("rule", "english", "chinese"),
    [
        (
            MixBatchRule(enabled=True, min_amount=Decimal("500.00"), min_count=None),
            "The shop's mixed batch needs ¥500.00 (you have ¥30.00)",
            "店铺混批需满 ¥500.00(当前 ¥30.00)",
        ),
        (
            MixBatchRule(enabled=True, min_amount=None, min_count=10),
            "The shop's mixed batch needs 10 pieces (you have 1 piece)",
            "店铺混批需满 10 件(当前 1 件)",
        ),
    ],
)
def test_mixed_batch_by_amount_only_or_count_only(buyer, make_line, rule, english, chinese):
    make_line(buyer, supplier=SHOP, offer_id=OFFER, spec_id=RED, quantity=1)
    lookup = shop_offers(rule)[0]
    advice = cart_warnings(buyer, products=source(lookup))
    assert [texts(w) for w in advice.suppliers.values()] == [[english]]
    with translation.override("zh-hans"):
        advice = cart_warnings(buyer, products=source(lookup))
    assert [texts(w) for w in advice.suppliers.values()] == [[chinese]]


def test_mixed_batch_counts_the_suppliers_lines_off_the_page(buyer, make_line):
    shown = make_line(buyer, supplier=SHOP, offer_id=OFFER, spec_id=RED, quantity=2)
    make_line(buyer, supplier=SHOP, offer_id=OTHER, quantity=8)  # on another page
    advice = cart_warnings(buyer, lines=[shown], products=source(*shop_offers()))
    assert not advice.suppliers  # 10 pieces in all: met by count


# --------------------------------------------------------------------------- dates


def test_each_warning_carries_its_lookups_time(buyer, make_line):
    old = timezone.now() - timedelta(hours=2)
    new = timezone.now() - timedelta(minutes=1)
    withdrawn = make_line(buyer, supplier=SHOP, offer_id=OTHER, quantity=1)
    red = make_line(buyer, supplier=SHOP, offer_id=OFFER, spec_id=RED, quantity=1)
    recent, older = shop_offers()
    both = {OFFER: (recent, new), OTHER: (replace_status(older, "expired"), old)}
    advice = cart_warnings(buyer, products=lambda ids: {o: both[o] for o in ids if o in both})
    assert [w.looked_up_at for w in advice.for_line(withdrawn.pk)] == [old]
    assert advice.for_line(red.pk) == []
    [[mixed]] = advice.suppliers.values()
    assert mixed.looked_up_at == old  # the oldest lookup it rests on


def replace_status(detail, status):
    from dataclasses import replace

    return replace(detail, status=status)


# --------------------------------------------------------------------------- the page


def test_the_cart_page_shows_dated_advisory_warnings(buyer_client, buyer, make_line, monkeypatch):
    make_line(buyer, supplier=SHOP, offer_id=OFFER, spec_id=RED, quantity=2)
    make_line(buyer, supplier=SHOP, offer_id=OFFER, spec_id=BLUE, quantity=1)
    make_line(buyer, supplier="别的店", offer_id=612345001100, quantity=1)  # no lookup
    lookup = product(skus=[sku(RED), sku(BLUE)], quote_type=1, minimum=10, mix=MIX)
    monkeypatch.setattr(lookups, "cached_products", source(lookup))
    html = buyer_client.get(reverse("previews:cart")).content.decode()
    assert html.count('data-testid="advice-note"') == 1
    assert html.count("the preview is the authority") == 1
    assert html.count('data-testid="line-warnings"') == 1
    assert html.count('data-testid="supplier-warnings"') == 1
    assert "Below the minimum order of 10 pieces (you have 3)" in html
    assert (
        "The shop&#x27;s mixed batch needs ¥500.00 or 10 pieces (you have ¥60.00, 3 pieces)" in html
    )
    assert html.count("looked up 5\xa0minutes ago") == 2
    assert 'class="text-warning-emphasis"' in html and "alert alert-warning" in html
    assert '<span class="visually-hidden">Advice:</span>' in html  # not colour only
    assert "<time datetime=" in html
    assert "Preview these lines" in html  # advisory: the preview stays one click away

    buyer_client.post(reverse("set_language"), {"language": "zh-hans"})
    html = buyer_client.get(reverse("previews:cart")).content.decode()
    assert "低于最小起订量 10 件(当前 3 件)" in html
    assert "店铺混批需满 ¥500.00 或 10 件(当前 ¥60.00,3 件)" in html
    assert "以预览为准" in html
    assert html.count("5\xa0分钟前查询") == 2


def test_no_lookup_means_no_note_on_the_page(buyer_client, buyer, make_line, monkeypatch):
    make_line(buyer, offer_id=OFFER, quantity=1)
    monkeypatch.setattr(lookups, "cached_products", source())
    html = buyer_client.get(reverse("previews:cart")).content.decode()
    assert "advice-note" not in html and "line-warnings" not in html


# --------------------------------------------------------------------------- bounded


def test_queries_are_bounded_on_a_cart_of_ten_thousand_lines(
    buyer_client, buyer, django_assert_max_num_queries, monkeypatch
):
    from previews.models import CartLine

    from .factories import big_cart

    big_cart(buyer, lines=10_000, suppliers=40)
    every_offer = CartLine.objects.filter(owner=buyer).values_list("offer_id", flat=True)
    products = source(*(product(o, tiers=[(1, "1.00")], minimum=100) for o in every_offer))
    page_lines = list(CartLine.objects.filter(owner=buyer).order_by("supplier__name", "pk")[:200])
    with django_assert_max_num_queries(1):  # the lines of the shown suppliers and offers
        advice = cart_warnings(buyer, lines=page_lines, products=products)
    assert len(advice.lines) == 200
    assert len(products.asked) == 1 and len(products.asked[0]) == 250  # the whole supplier

    monkeypatch.setattr(lookups, "cached_products", products)
    with django_assert_max_num_queries(10):
        response = buyer_client.get(reverse("previews:cart"), {"page": 2})
    assert response.content.decode().count('data-testid="line-warnings"') == 200
