"""STAND-IN (branch work/lookwarn) for the agreed `previews/offers.py`: advice from an
offer lookup, pure (no ORM, no HTTP). Only what previews/cart_advice.py calls, with the
contract's pricing rules (../shared/upstream/product-detail.md) and the same `Advice`
codes and params as the real module; the real module replaces this file whole at merge.

quoteType 1 prices the SKU, 0 and 2 the tier of the offer's **total** quantity (colours
of one offer add up); minimum order and lot size on that total; the shop's mixed batch
per seller, met by amount **or** count. Wording is not here: the app words each code.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .gateway.products import ProductDetail

# The next tier is worth a word when it is at most this much more than the total.
NEXT_TIER_REACH = Decimal("1.5")


@dataclass(frozen=True)
class NextTier:
    """Order `quantity` pieces of the offer (in total) to pay `unit_price` each."""

    quantity: int
    unit_price: Decimal


@dataclass(frozen=True)
class Advice:
    """One warning: a `code` the app words ("below_minimum", "not_whole_lots",
    "above_stock", "mixed_batch_not_met", "not_available", "next_tier") and its `params`."""

    code: str
    params: dict = field(default_factory=dict)


def _tiered(product: ProductDetail) -> bool:
    return product.quote_type != 1 and bool(product.price_tiers)


def _tier_price(product: ProductDetail, total: int) -> Decimal:
    reached = [t for t in product.price_tiers if t.start_quantity <= total]
    return (reached[-1] if reached else product.price_tiers[0]).price


def unit_price(
    product: ProductDetail, spec_id: str | None, offer_total_quantity: int
) -> Decimal | None:
    """The price of one piece of `spec_id` (None: no SKU) at the offer's total, in yuan;
    None when the lookup cannot say."""
    sku = product.sku(spec_id) if spec_id else None
    if product.skus and sku is None:
        return None
    if _tiered(product):
        return _tier_price(product, offer_total_quantity)
    return sku.price if sku is not None else None


def next_tier(product: ProductDetail, offer_total_quantity: int) -> NextTier | None:
    """The first tier above the offer's total that is cheaper than what applies now."""
    if not _tiered(product):
        return None
    current = _tier_price(product, offer_total_quantity)
    for tier in product.price_tiers:
        if tier.start_quantity > offer_total_quantity and tier.price < current:
            return NextTier(quantity=tier.start_quantity, unit_price=tier.price)
    return None


def minimum_quantity(product: ProductDetail) -> int | None:
    """`minOrderQuantity`, or the first tier's start when absent."""
    if product.min_order_quantity is not None:
        return product.min_order_quantity
    if _tiered(product):
        return product.price_tiers[0].start_quantity
    return None


def offer_advice(
    product: ProductDetail, quantities_by_spec: Mapping[str | None, int]
) -> list[Advice]:
    """What to warn about one offer, from its lookup and the quantities per spec (None:
    the offer without SKUs). Not published: only "not_available"."""
    total = sum(quantities_by_spec.values())
    if not product.is_published:
        return [Advice("not_available", {"offer_id": product.offer_id, "status": product.status})]
    advice: list[Advice] = []
    for spec_id in quantities_by_spec:
        if spec_id and product.skus and product.sku(spec_id) is None:
            advice.append(
                Advice("not_available", {"offer_id": product.offer_id, "spec_id": spec_id})
            )
    minimum = minimum_quantity(product)
    if minimum is not None and total < minimum:
        advice.append(Advice("below_minimum", {"minimum": minimum, "quantity": total}))
    lot = product.batch_number
    if lot and lot > 1 and total % lot:
        advice.append(
            Advice(
                "not_whole_lots",
                {
                    "lot_size": lot,
                    "quantity": total,
                    "lower": total // lot * lot,
                    "higher": (total // lot + 1) * lot,
                },
            )
        )
    for spec_id, quantity in quantities_by_spec.items():
        sku = product.sku(spec_id) if spec_id else None
        stock = sku.stock if sku is not None else (None if spec_id else product.stock)
        if stock is not None and quantity > stock:
            advice.append(
                Advice(
                    "above_stock",
                    {
                        "spec_id": spec_id,
                        "attribute_text": sku.attribute_text if sku is not None else "",
                        "quantity": quantity,
                        "stock": stock,
                    },
                )
            )
    upcoming = next_tier(product, total)
    if upcoming is not None and total > 0 and upcoming.quantity <= total * NEXT_TIER_REACH:
        advice.append(
            Advice(
                "next_tier",
                {
                    "quantity": upcoming.quantity,
                    "unit_price": upcoming.unit_price,
                    "more": upcoming.quantity - total,
                },
            )
        )
    return advice


def seller_advice(
    products_and_quantities: list[tuple[ProductDetail, Mapping[str | None, int]]],
) -> list[Advice]:
    """The shop's mixed-batch rule per seller (`seller_open_id`): met when the goods reach
    its amount **or** its count; unpublished offers and unknown prices do not count."""
    by_seller: dict[str, list[tuple[ProductDetail, Mapping[str | None, int]]]] = {}
    for product, quantities in products_and_quantities:
        key = product.seller_open_id or f"offer:{product.offer_id}"
        by_seller.setdefault(key, []).append((product, quantities))
    advice = []
    for items in by_seller.values():
        rule = next(
            (p.mix_batch for p, _q in items if p.mix_batch is not None and p.mix_batch.enabled),
            None,
        )
        if rule is None or (rule.min_amount is None and rule.min_count is None):
            continue
        amount, count = Decimal(0), 0
        for product, quantities in items:
            if not product.is_published:
                continue
            total = sum(quantities.values())
            count += total
            for spec_id, quantity in quantities.items():
                price = unit_price(product, spec_id, total)
                if price is not None:
                    amount += price * quantity
        met = (rule.min_amount is not None and amount >= rule.min_amount) or (
            rule.min_count is not None and count >= rule.min_count
        )
        if not met:
            advice.append(
                Advice(
                    "mixed_batch_not_met",
                    {
                        "seller_open_id": items[0][0].seller_open_id,
                        "company_name": items[0][0].company_name,
                        "min_amount": rule.min_amount,
                        "min_count": rule.min_count,
                        "amount": amount,
                        "count": count,
                    },
                )
            )
    return advice
