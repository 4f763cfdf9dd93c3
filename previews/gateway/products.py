"""STAND-IN (branch work/lookwarn): only the dataclasses of the agreed interface for the
gateway's *Product details* (../shared/upstream/product-detail.md), so that
previews/offers.py and previews/cart_advice.py can be written and tested before the
real module lands. The real module (parse_product_body, product_detail, ...) replaces
this file whole at merge.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

PRODUCT_DETAIL_PATH = "/alibaba/product/queryProductDetail"


@dataclass(frozen=True)
class SkuAttribute:
    """One attribute of a SKU (颜色 = 红色), with its translation and picture."""

    attribute_id: int | None
    name: str
    name_trans: str | None
    value: str
    value_trans: str | None
    image_url: str | None  # http(s) only, else None


@dataclass(frozen=True)
class ProductSku:
    """One SKU of an offer: the `spec_id` to order it by, its price (yuan) and stock."""

    sku_id: int | None
    spec_id: str  # exactly as given
    price: Decimal | None  # yuan
    promotion_price: Decimal | None  # yuan, a hint only
    stock: int | None  # amountOnSale
    cargo_number: str | None
    attributes: tuple[SkuAttribute, ...]

    @property
    def attribute_text(self) -> str:
        """The attributes as one text: `颜色: 红色; 尺码: XL`."""
        return "; ".join(f"{a.name}: {a.value}" for a in self.attributes)

    @property
    def image_url(self) -> str | None:
        """The first attribute picture, if any."""
        return next((a.image_url for a in self.attributes if a.image_url), None)


@dataclass(frozen=True)
class PriceTier:
    """From `start_quantity` pieces (of the offer), `price` yuan each."""

    start_quantity: int
    price: Decimal  # yuan
    promotion_price: Decimal | None


@dataclass(frozen=True)
class MixBatchRule:
    """The shop's mixed-batch (混批) rule: met by amount **or** count."""

    enabled: bool  # generalHunpi
    min_amount: Decimal | None  # yuan
    min_count: int | None


@dataclass(frozen=True)
class ProductDetail:
    """One offer as the lookup saw it: advisory and dated, the preview decides."""

    offer_id: int
    subject: str
    subject_trans: str | None
    status: str  # "published" is the only sellable status
    seller_open_id: str | None
    company_name: str | None
    images: tuple[str, ...]  # http(s) URLs only
    skus: tuple[ProductSku, ...]  # empty: an offer without specs
    price_tiers: tuple[PriceTier, ...]  # sorted by start_quantity
    quote_type: int | None  # 0 tiers/no SKUs, 1 per SKU, 2 SKUs priced by tier
    stock: int | None  # productSaleInfo.amountOnSale
    unit: str | None
    unit_trans: str | None
    min_order_quantity: int | None
    batch_number: int | None  # lot size
    mix_batch: MixBatchRule | None
    trace_id: str | None
    raw_body: str  # redacted

    @property
    def is_published(self) -> bool:
        """Whether the offer can be sold (`status` is `published`)."""
        return self.status == "published"

    def sku(self, spec_id: str) -> ProductSku | None:
        """The SKU with exactly this `spec_id`, or None."""
        return next((s for s in self.skus if s.spec_id == spec_id), None)
