"""How a looked-up offer is laid out for picking SKUs: pure, no ORM, no HTTP.

A colour × size grid when the SKUs have exactly two attributes, a list otherwise; each
SKU with its picture, stock and the price that applies at the quantity entered (quoteType
1: the SKU's price; 0 and 2: the tier of the offer's total quantity, below the first tier
the first tier's price; upstream/product-detail.md): `offers.unit_price`, the one rule.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from . import gateway
from .offers import unit_price


@dataclass
class SkuChoice:
    """One SKU as the picker shows it: `key` is the form field's suffix ("" when the
    offer has no SKUs), `typed` what the buyer entered, `error` why it was refused."""

    key: str
    sku: gateway.ProductSku | None
    image_url: str | None
    stock: int | None
    price: Decimal | None
    typed: str = ""
    error: str = ""
    suggested: bool = False  # `typed` is the quantity asked for, not typed on this page

    @property
    def field_name(self) -> str:
        return f"q-{self.key}"


@dataclass
class GridRow:
    value: gateway.SkuAttribute
    cells: list[SkuChoice | None]


@dataclass
class OfferPicker:
    detail: gateway.ProductDetail
    choices: list[SkuChoice]
    total_quantity: int
    columns: list[gateway.SkuAttribute] = field(default_factory=list)
    rows: list[GridRow] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def is_grid(self) -> bool:
        return bool(self.rows)

    @property
    def row_name(self) -> str:
        return self.rows[0].value.name if self.rows else ""

    @property
    def column_name(self) -> str:
        return self.columns[0].name if self.columns else ""


def _quantity(text: str) -> int:
    return int(text) if text.isascii() and text.isdigit() else 0


def build_picker(
    detail: gateway.ProductDetail,
    typed: Mapping[str, str] | None = None,
    errors: Mapping[str, str] | None = None,
    *,
    suggested_quantity: int | None = None,
    suggested_spec_id: str = "",
) -> OfferPicker:
    """The picker of one offer, with what was typed (by field name) and errors (by spec
    id, "" for the offer as a whole) re-shown.

    With nothing typed, `suggested_quantity` (asked for by the line form or an import
    row) is pre-filled where it has one obvious place: the offer without SKUs, its only
    SKU, or the SKU `suggested_spec_id` names."""
    suggested = typed is None and bool(suggested_quantity)
    if suggested:
        spot = suggested_field(detail, suggested_spec_id)
        typed = {spot: str(suggested_quantity)} if spot is not None else None
    typed = typed or {}
    errors = dict(errors or {})
    skus = detail.skus or (None,)
    values = {
        (sku.spec_id if sku else ""): (typed.get(f"q-{sku.spec_id if sku else ''}") or "").strip()
        for sku in skus
    }
    total = sum(_quantity(v) for v in values.values())
    choices = []
    for sku in skus:
        key = sku.spec_id if sku else ""
        choices.append(
            SkuChoice(
                key=key,
                sku=sku,
                image_url=(sku.image_url if sku else None),
                stock=sku.stock if sku else detail.stock,
                price=unit_price(detail, key or None, max(total, 1)),
                typed=values[key],
                error=errors.pop(key, "") if key else "",
                suggested=suggested and bool(values[key]),
            )
        )
    picker = OfferPicker(detail=detail, choices=choices, total_quantity=total)
    picker.errors = [e for e in errors.values() if e]
    names = [tuple(a.name for a in sku.attributes) for sku in detail.skus]
    if detail.skus and all(len(n) == 2 for n in names) and len(set(names)) == 1:
        _lay_out_grid(picker)
    return picker


def suggested_field(detail: gateway.ProductDetail, spec_id: str = "") -> str | None:
    """The picker's field where a quantity asked for without a choice goes, if obvious."""
    if not detail.skus:
        return "q-"
    if spec_id and detail.sku(spec_id) is not None:
        return f"q-{spec_id}"
    if len(detail.skus) == 1:
        return f"q-{detail.skus[0].spec_id}"
    return None


def _lay_out_grid(picker: OfferPicker) -> None:
    row_values: dict[str, gateway.SkuAttribute] = {}
    column_values: dict[str, gateway.SkuAttribute] = {}
    by_pair = {}
    for choice in picker.choices:
        first, second = choice.sku.attributes
        row_values.setdefault(first.value, first)
        column_values.setdefault(second.value, second)
        by_pair[first.value, second.value] = choice
    picker.columns = list(column_values.values())
    picker.rows = [
        GridRow(value=row, cells=[by_pair.get((row.value, c.value)) for c in picker.columns])
        for row in row_values.values()
    ]
