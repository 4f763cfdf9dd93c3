"""Before previewing, the cart warns: advice from the stored offer lookups, in words.

Advisory and dated, never blocking: a lookup is what 1688 said when it was looked up
(../shared/upstream/product-detail.md); the preview stays the authority. The rules are
previews/offers.py's, applied to the offer's TOTAL quantity in the cart (two colours of
one offer add up) and, for the shop's mixed batch, to each supplier's lines; this module
only gathers the quantities, places each `Advice` on a line or a supplier and words it.

Bounded: whatever the cart's size, two queries (the lines of the shown suppliers and of
their offers, then the lookups of those offers), plus one when the shown lines are not
given.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from django.db.models import Q
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from .models import CartLine
from .money import format_yuan
from .offers import Advice, offer_advice, seller_advice

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser

    from .gateway.products import ProductDetail

    ProductSource = Callable[[Iterable[int]], Mapping[int, tuple[ProductDetail, datetime]]]

# Advice about one SKU of an offer (its params name the spec); the rest is about the offer.
SPEC_CODES = frozenset({"above_stock", "not_available"})


@dataclass(frozen=True)
class Warning:
    """One advisory warning in words, with the time of the lookup it comes from."""

    text: str
    looked_up_at: datetime
    code: str = ""


@dataclass(frozen=True)
class CartAdvice:
    """The warnings of the shown cart lines (by line pk) and of their suppliers (by
    supplier pk). A line or supplier without warnings is absent."""

    lines: dict[int, list[Warning]] = field(default_factory=dict)
    suppliers: dict[int, list[Warning]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.lines or self.suppliers)

    def for_line(self, pk: int) -> list[Warning]:
        return self.lines.get(pk, [])

    def for_supplier(self, pk: int) -> list[Warning]:
        return self.suppliers.get(pk, [])


def cart_warnings(
    owner: AbstractBaseUser,
    *,
    lines: Iterable[CartLine] | None = None,
    products: ProductSource | None = None,
) -> CartAdvice:
    """The warnings of the buyer's cart lines `lines` (the page shown; default: the whole
    cart) and of their suppliers, from the stored lookups `products` (default:
    `lookups.cached_products`: offer ids -> {offer_id: (ProductDetail, looked up at)}).

    Each offer is judged on its total quantity over the whole cart; offer-wide advice
    (minimum, lots, next tier, withdrawn) goes on the offer's first shown line, advice
    about one spec (stock, a spec the offer no longer lists) on that spec's line; the
    shop's mixed batch on the supplier, from all its lines. A line whose offer has no
    lookup gets no warning.
    """
    if products is None:
        from . import lookups  # the lookup use cases import models and the gateway

        products = lookups.cached_products
    if lines is None:
        lines = CartLine.objects.filter(owner=owner).order_by(
            "supplier__name", "supplier_id", "offer_id", "pk"
        )
    shown = [(line.pk, line.supplier_id, line.offer_id, line.spec_id or None) for line in lines]
    if not shown:
        return CartAdvice()
    supplier_ids = {supplier_id for _pk, supplier_id, _offer, _spec in shown}
    of_those_suppliers = CartLine.objects.filter(owner=owner, supplier_id__in=supplier_ids)
    rows = (
        CartLine.objects.filter(owner=owner)
        .filter(
            Q(supplier_id__in=supplier_ids) | Q(offer_id__in=of_those_suppliers.values("offer_id"))
        )
        .values_list("supplier_id", "offer_id", "spec_id", "quantity")
    )
    by_offer: dict[int, dict[str | None, int]] = {}  # the whole cart's quantities per spec
    by_supplier: dict[int, dict[int, dict[str | None, int]]] = {}
    for supplier_id, offer_id, spec_id, quantity in rows:
        spec = spec_id or None
        quantities = by_offer.setdefault(offer_id, {})
        quantities[spec] = quantities.get(spec, 0) + quantity
        if supplier_id in supplier_ids:
            by_supplier.setdefault(supplier_id, {}).setdefault(offer_id, {})[spec] = quantity
    looked_up = products(sorted(by_offer))

    line_warnings: dict[int, list[Warning]] = {}
    first_line_of_offer: dict[int, int] = {}
    line_of_spec: dict[tuple[int, str | None], int] = {}
    for pk, _supplier_id, offer_id, spec in shown:
        first_line_of_offer.setdefault(offer_id, pk)
        line_of_spec[offer_id, spec] = pk
    for offer_id, first_pk in first_line_of_offer.items():
        if offer_id not in looked_up:
            continue
        product, at = looked_up[offer_id]
        for advice in offer_advice(product, by_offer[offer_id]):
            text = advice_text(advice)
            if text is None:
                continue
            if advice.code in SPEC_CODES and "spec_id" in advice.params:
                pk = line_of_spec.get((offer_id, advice.params["spec_id"] or None))
            else:
                pk = first_pk
            if pk is not None:
                line_warnings.setdefault(pk, []).append(Warning(text, at, advice.code))

    supplier_warnings: dict[int, list[Warning]] = {}
    for supplier_id, offers in by_supplier.items():
        items = [(looked_up[o][0], q) for o, q in offers.items() if o in looked_up]
        for advice in seller_advice(items):
            text = advice_text(advice)
            if text is None:
                continue
            seller = advice.params.get("seller_open_id")
            at = min(
                looked_up[o][1]
                for o in offers
                if o in looked_up and (seller is None or looked_up[o][0].seller_open_id == seller)
            )  # the oldest lookup the advice rests on
            supplier_warnings.setdefault(supplier_id, []).append(Warning(text, at, advice.code))
    return CartAdvice(lines=line_warnings, suppliers=supplier_warnings)


def pieces(n: int) -> str:
    return ngettext("%(n)s piece", "%(n)s pieces", n) % {"n": n}


def advice_text(advice: Advice) -> str | None:
    """One `Advice` in the active language; None for a code this product does not word."""
    p = advice.params
    match advice.code:
        case "below_minimum":
            return ngettext(
                "Below the minimum order of %(minimum)s piece (you have %(quantity)s)",
                "Below the minimum order of %(minimum)s pieces (you have %(quantity)s)",
                p["minimum"],
            ) % {"minimum": p["minimum"], "quantity": p["quantity"]}
        case "not_whole_lots":
            values = {
                "lot": p["lot_size"],
                "quantity": p["quantity"],
                "lower": p["lower"],
                "higher": p["higher"],
            }
            if p["lower"] > 0:
                return (
                    _(
                        "Not a whole number of lots of %(lot)s "
                        "(you have %(quantity)s: order %(lower)s or %(higher)s)"
                    )
                    % values
                )
            return (
                _("Not a whole number of lots of %(lot)s (you have %(quantity)s: order %(higher)s)")
                % values
            )
        case "above_stock":
            if p["stock"] <= 0:
                return _("Out of stock (you have %(quantity)s)") % {"quantity": p["quantity"]}
            return _("More than the %(stock)s in stock (you have %(quantity)s)") % {
                "stock": p["stock"],
                "quantity": p["quantity"],
            }
        case "not_available":
            if p.get("spec_id"):
                return _("This spec is no longer on the offer")
            return _("This offer is no longer on sale")
        case "next_tier":
            return _("Order %(quantity)s to pay %(price)s each (%(more)s more)") % {
                "quantity": p["quantity"],
                "price": format_yuan(p["unit_price"]),
                "more": p["more"],
            }
        case "mixed_batch_not_met":
            return mixed_batch_text(p)
    return None


def mixed_batch_text(p: Mapping) -> str:
    values = {
        "amount": format_yuan(p["min_amount"]),
        "have_amount": format_yuan(p["amount"]),
        "pieces": pieces(p["min_count"] or 0),
        "have_pieces": pieces(p["count"]),
    }
    if p["min_amount"] is not None and p["min_count"] is not None:
        return (
            _(
                "The shop's mixed batch needs %(amount)s or %(pieces)s "
                "(you have %(have_amount)s, %(have_pieces)s)"
            )
            % values
        )
    if p["min_amount"] is not None:
        return _("The shop's mixed batch needs %(amount)s (you have %(have_amount)s)") % values
    return _("The shop's mixed batch needs %(pieces)s (you have %(have_pieces)s)") % values
