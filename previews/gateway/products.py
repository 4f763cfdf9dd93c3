"""The gateway's *Product details* call (offer lookup): ../shared/upstream/product-detail.md.

`GET /alibaba/product/queryProductDetail?appKey=…&offerId=…&country=…&sign=…` answers the
usual envelope whose `data` is the product model. Prices are yuan strings (`"20.00"`),
read as `Decimal` (never `float`); picture URLs are kept only when they are http(s).
A failure envelope saying the offer does not exist or was withdrawn raises a permanent
`GatewayError` of kind UNAVAILABLE; a product whose `status` is not `published` is data
(`ProductDetail.is_published` false). A lookup is read-only, so it is retried like a
preview. How the call authenticates is one setting (`GatewayConfig.product_auth`) and
one function (`sign_params`).
"""

from __future__ import annotations

import hashlib
import logging
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import requests

from . import transport
from .envelope import parse_body
from .errors import ErrorKind, GatewayError
from .fields import Malformed, expect_dict, to_bool, to_int, to_list, to_text, to_yuan
from .transport import GatewayConfig

logger = logging.getLogger(__name__)

PRODUCT_DETAIL_PATH = "/alibaba/product/queryProductDetail"
PRODUCT_AUTH_MODES = ("sign", "secret")

# How a failure envelope says the offer is gone (not found, withdrawn, deleted): such a
# refusal is UNAVAILABLE (an answer about the offer), any other stays REJECTED.
UNAVAILABLE_MARKERS = (
    "不存在", "下架", "已删除", "已失效", "商品无效",
    "not exist", "not found", "no such", "withdrawn", "deleted",
)  # fmt: skip


# --------------------------------------------------------------------------- the request


def sign_params(params: Mapping[str, object], secret: str) -> str:
    """The `sign` of a request: MD5 of the parameters (but `sign`) sorted by name as
    `k=v` joined by `&`, followed by `&secret=<appSecret>`, in upper-case hex.

    The one place the signing rule lives (the contract notes clients disagree on how
    the secret is passed: see `GatewayConfig.product_auth`).
    """
    canonical = "&".join(f"{k}={params[k]}" for k in sorted(params) if k != "sign")
    digest = hashlib.md5(f"{canonical}&secret={secret}".encode(), usedforsecurity=False)
    return digest.hexdigest().upper()


def product_query(config: GatewayConfig, *, offer_id: int, country: str = "en") -> dict[str, str]:
    """The query parameters of one lookup, authenticated as `config.product_auth` says:
    "sign" adds `sign` and never sends the secret; "secret" sends `appSecret` itself."""
    params = {"appKey": config.app_key, "offerId": str(offer_id), "country": country}
    if config.product_auth == "sign":
        return {**params, "sign": sign_params(params, config.app_secret)}
    if config.product_auth == "secret":
        return {**params, "appSecret": config.app_secret}
    raise ValueError(f"product_auth must be one of {PRODUCT_AUTH_MODES}")


# --------------------------------------------------------------------------- the answer


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
    warnings: tuple[str, ...] = ()  # e.g. a price finer than a fen (reported, not rounded)

    @property
    def is_published(self) -> bool:
        """Whether the offer can be sold (`status` is `published`)."""
        return self.status == "published"

    def sku(self, spec_id: str) -> ProductSku | None:
        """The SKU with exactly this `spec_id`, or None."""
        return next((s for s in self.skus if s.spec_id == spec_id), None)


# --------------------------------------------------------------------------- parsing


def parse_product_body(
    text: str, *, secrets: Sequence[str] = (), http_status: int = 200
) -> ProductDetail:
    """Parse one answer body of Product details into typed values, or raise `GatewayError`.

    A refusal saying the offer does not exist or is withdrawn is UNAVAILABLE (permanent);
    other failures as for every endpoint (envelope.py): REJECTED, BUSY, RATE_LIMITED,
    MALFORMED.
    """
    try:
        return parse_body(
            text, _product_data, secrets=secrets, http_status=http_status, what="lookup"
        )
    except GatewayError as error:
        if error.kind is ErrorKind.REJECTED and _says_unavailable(error):
            error.kind = ErrorKind.UNAVAILABLE
            error.retryable = False
        raise


def _says_unavailable(error: GatewayError) -> bool:
    words = f"{error.message} {error.error_code or ''}".lower()
    return any(marker in words for marker in UNAVAILABLE_MARKERS)


def picture_url(value: Any, where: str) -> str | None:
    """An image URL as it may be shown: http(s) with a host, else None (`javascript:`,
    `data:` and the like are dropped). A protocol-relative `//host/...` (as 1688 often
    writes them) is read as https."""
    url = to_text(value, where)
    if not url:
        return None
    url = url.strip()
    if url.startswith("//"):
        url = "https:" + url
    if any(c.isspace() or c in "\ufffd\"'<>\\`" for c in url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return url


def _amount(value: Any, where: str, warnings: list[str]) -> Decimal | None:
    amount = to_yuan(value, where, warnings)
    if amount is not None and amount < 0:
        raise Malformed(f"{where} should not be negative, got {value!r}")
    return amount


def _count(value: Any, where: str) -> int | None:
    number = to_int(value, where)
    if number is not None and number < 0:
        raise Malformed(f"{where} should not be negative, got {value!r}")
    return number


def _attribute(item: Any, where: str) -> SkuAttribute:
    item = expect_dict(item, where)
    return SkuAttribute(
        attribute_id=to_int(item.get("attributeId"), f"{where}.attributeId"),
        name=to_text(item.get("attributeName"), f"{where}.attributeName") or "",
        name_trans=to_text(item.get("attributeNameTrans"), f"{where}.attributeNameTrans"),
        value=to_text(item.get("value"), f"{where}.value") or "",
        value_trans=to_text(item.get("valueTrans"), f"{where}.valueTrans"),
        image_url=picture_url(item.get("skuImageUrl"), f"{where}.skuImageUrl"),
    )


def _sku(item: Any, where: str, warnings: list[str]) -> ProductSku:
    item = expect_dict(item, where)
    spec_id = to_text(item.get("specId"), f"{where}.specId")
    if not spec_id:
        raise Malformed(f"{where}.specId is missing")
    attributes = to_list(item.get("skuAttributes"), f"{where}.skuAttributes")
    return ProductSku(
        sku_id=to_int(item.get("skuId"), f"{where}.skuId"),
        spec_id=spec_id,
        price=_amount(item.get("price"), f"{where}.price", warnings),
        promotion_price=_amount(item.get("promotionPrice"), f"{where}.promotionPrice", warnings),
        stock=_count(item.get("amountOnSale"), f"{where}.amountOnSale"),
        cargo_number=to_text(item.get("cargoNumber"), f"{where}.cargoNumber"),
        attributes=tuple(
            _attribute(a, f"{where}.skuAttributes[{i}]") for i, a in enumerate(attributes)
        ),
    )


def _tier(item: Any, where: str, warnings: list[str]) -> PriceTier:
    item = expect_dict(item, where)
    start = _count(item.get("startQuantity"), f"{where}.startQuantity")
    price = _amount(item.get("price"), f"{where}.price", warnings)
    if start is None or price is None:
        raise Malformed(f"{where} needs a startQuantity and a price")
    return PriceTier(
        start_quantity=start,
        price=price,
        promotion_price=_amount(item.get("promotionPrice"), f"{where}.promotionPrice", warnings),
    )


def _mix_batch(value: Any, warnings: list[str]) -> MixBatchRule | None:
    if value is None:
        return None
    item = expect_dict(value, "sellerMixSetting")
    return MixBatchRule(
        enabled=to_bool(item.get("generalHunpi"), "sellerMixSetting.generalHunpi"),
        min_amount=_amount(item.get("mixAmount"), "sellerMixSetting.mixAmount", warnings),
        min_count=_count(item.get("mixNumber"), "sellerMixSetting.mixNumber"),
    )


def _product_data(data: dict, trace_id: str | None, stored: str) -> ProductDetail:
    warnings: list[str] = []
    offer_id = to_int(data.get("offerId"), "offerId")
    if offer_id is None:
        raise Malformed("data has no offerId")
    sale = expect_dict(data.get("productSaleInfo") or {}, "productSaleInfo")
    unit = expect_dict(sale.get("unitInfo") or {}, "productSaleInfo.unitInfo")
    image = expect_dict(data.get("productImage") or {}, "productImage")
    images = to_list(image.get("images"), "productImage.images")
    skus = to_list(data.get("productSkuInfos"), "productSkuInfos")
    tiers = to_list(sale.get("priceRangeList"), "productSaleInfo.priceRangeList")
    return ProductDetail(
        offer_id=offer_id,
        subject=to_text(data.get("subject"), "subject") or "",
        subject_trans=to_text(data.get("subjectTrans"), "subjectTrans"),
        status=to_text(data.get("status"), "status") or "",
        seller_open_id=to_text(data.get("sellerOpenId"), "sellerOpenId"),
        company_name=to_text(data.get("companyName"), "companyName"),
        images=tuple(
            url
            for i, value in enumerate(images)
            if (url := picture_url(value, f"productImage.images[{i}]"))
        ),
        skus=tuple(_sku(s, f"productSkuInfos[{i}]", warnings) for i, s in enumerate(skus)),
        price_tiers=tuple(
            sorted(
                (
                    _tier(t, f"productSaleInfo.priceRangeList[{i}]", warnings)
                    for i, t in enumerate(tiers)
                ),
                key=lambda tier: tier.start_quantity,
            )
        ),
        quote_type=to_int(sale.get("quoteType"), "productSaleInfo.quoteType"),
        stock=_count(sale.get("amountOnSale"), "productSaleInfo.amountOnSale"),
        unit=to_text(unit.get("unit"), "productSaleInfo.unitInfo.unit"),
        unit_trans=to_text(unit.get("transUnit"), "productSaleInfo.unitInfo.transUnit"),
        min_order_quantity=_count(data.get("minOrderQuantity"), "minOrderQuantity"),
        batch_number=_count(data.get("batchNumber"), "batchNumber"),
        mix_batch=_mix_batch(data.get("sellerMixSetting"), warnings),
        trace_id=trace_id,
        raw_body=stored,
        warnings=tuple(warnings),
    )


# --------------------------------------------------------------------------- calling


def product_detail(
    config: GatewayConfig,
    *,
    offer_id: int,
    country: str = "en",
    session: requests.Session | None = None,
    sleep: Callable[[float], None] = time.sleep,
    rng: random.Random | None = None,
) -> ProductDetail:
    """Look one offer up: GET, signed (the secret never in the URL unless
    `config.product_auth` says "secret"), read-only so retried like preview.

    Raises `GatewayError` (with `attempts` and `duration` set) when the lookup fails for
    good; UNAVAILABLE when the gateway says the offer does not exist or was withdrawn.
    Without `session`, the worker's pooled `transport.shared_session()`.
    """
    started = time.monotonic()
    try:
        answer, attempts = transport.call(
            config, PRODUCT_DETAIL_PATH, product_query(config, offer_id=offer_id, country=country),
            parse_product_body, method="GET", retry=True, session=session, started=started,
            sleep=sleep, rng=rng,
        )  # fmt: skip
    except GatewayError as error:
        error.duration = time.monotonic() - started
        raise
    logger.info(
        "gateway lookup ok: offer %d, %d SKU(s), attempt %d, trace %s",
        offer_id, len(answer.skus), attempts, answer.trace_id or "-",
    )  # fmt: skip
    return answer
