"""Product details (offer lookup): a STAND-IN of the agreed interface (issue #12).

The real client is written in another branch and replaces this file at merge; this one
exists only so the app layer can run. It keeps exactly the agreed dataclasses and the
signatures of `parse_product_body` and `product_detail`.
"""

from __future__ import annotations

import hashlib
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

import requests

from .envelope import parse_body
from .errors import ErrorKind, GatewayError
from .fields import Malformed, expect_dict, to_bool, to_int, to_list, to_text, to_yuan
from .redaction import redact, snippet
from .transport import GatewayConfig, _backoff, _http_error

PRODUCT_DETAIL_PATH = "/alibaba/product/queryProductDetail"
# The agreed permanent kind for "no such offer / withdrawn" (errors.ErrorKind.UNAVAILABLE).
UNAVAILABLE = getattr(ErrorKind, "UNAVAILABLE", "unavailable")


def _http_url(value: str | None) -> str | None:
    if value and value.strip().lower().startswith(("https://", "http://")):
        return value.strip()
    return None


@dataclass(frozen=True)
class SkuAttribute:
    attribute_id: int | None
    name: str
    name_trans: str | None
    value: str
    value_trans: str | None
    image_url: str | None


@dataclass(frozen=True)
class ProductSku:
    sku_id: int | None
    spec_id: str
    price: Decimal | None
    promotion_price: Decimal | None
    stock: int | None
    cargo_number: str | None
    attributes: tuple[SkuAttribute, ...]

    @property
    def attribute_text(self) -> str:
        """ "颜色: 红色; 尺码: XL"."""
        return "; ".join(f"{a.name}: {a.value}" for a in self.attributes)

    @property
    def image_url(self) -> str | None:
        """The first attribute picture."""
        return next((a.image_url for a in self.attributes if a.image_url), None)


@dataclass(frozen=True)
class PriceTier:
    start_quantity: int
    price: Decimal
    promotion_price: Decimal | None


@dataclass(frozen=True)
class MixBatchRule:
    enabled: bool
    min_amount: Decimal | None
    min_count: int | None


@dataclass(frozen=True)
class ProductDetail:
    offer_id: int
    subject: str
    subject_trans: str | None
    status: str
    seller_open_id: str | None
    company_name: str | None
    images: tuple[str, ...]
    skus: tuple[ProductSku, ...]
    price_tiers: tuple[PriceTier, ...]
    quote_type: int | None
    stock: int | None
    unit: str | None
    unit_trans: str | None
    min_order_quantity: int | None
    batch_number: int | None
    mix_batch: MixBatchRule | None
    trace_id: str | None
    raw_body: str

    @property
    def is_published(self) -> bool:
        """Only `published` is sellable."""
        return self.status == "published"

    def sku(self, spec_id: str) -> ProductSku | None:
        """The SKU of this spec id, or None."""
        return next((s for s in self.skus if s.spec_id == spec_id), None)


def parse_product_body(text: str, *, secrets=(), http_status: int = 200) -> ProductDetail:
    """One Product details answer body to a `ProductDetail`, or `GatewayError`."""
    try:
        return parse_body(
            text, _parse_data, secrets=secrets, http_status=http_status, what="lookup"
        )
    except GatewayError as error:
        if error.kind == ErrorKind.REJECTED:
            error.kind = UNAVAILABLE
            error.retryable = False
        raise


def _parse_data(data: dict, trace_id: str | None, stored: str) -> ProductDetail:
    warnings: list[str] = []
    offer_id = to_int(data.get("offerId"), "offerId")
    if offer_id is None:
        raise Malformed("offerId is missing")
    skus = []
    for i, raw in enumerate(to_list(data.get("productSkuInfos"), "productSkuInfos")):
        raw = expect_dict(raw, f"productSkuInfos[{i}]")
        attributes = []
        for j, attr in enumerate(to_list(raw.get("skuAttributes"), "skuAttributes")):
            attr = expect_dict(attr, f"productSkuInfos[{i}].skuAttributes[{j}]")
            attributes.append(
                SkuAttribute(
                    attribute_id=to_int(attr.get("attributeId"), "attributeId"),
                    name=to_text(attr.get("attributeName"), "attributeName") or "",
                    name_trans=to_text(attr.get("attributeNameTrans"), "attributeNameTrans"),
                    value=to_text(attr.get("value"), "value") or "",
                    value_trans=to_text(attr.get("valueTrans"), "valueTrans"),
                    image_url=_http_url(to_text(attr.get("skuImageUrl"), "skuImageUrl")),
                )
            )
        skus.append(
            ProductSku(
                sku_id=to_int(raw.get("skuId"), "skuId"),
                spec_id=to_text(raw.get("specId"), "specId") or "",
                price=to_yuan(raw.get("price"), "price", warnings),
                promotion_price=to_yuan(raw.get("promotionPrice"), "promotionPrice", warnings),
                stock=to_int(raw.get("amountOnSale"), "amountOnSale"),
                cargo_number=to_text(raw.get("cargoNumber"), "cargoNumber"),
                attributes=tuple(attributes),
            )
        )
    sale = expect_dict(data.get("productSaleInfo") or {}, "productSaleInfo")
    tiers = []
    for i, tier in enumerate(to_list(sale.get("priceRangeList"), "priceRangeList")):
        tier = expect_dict(tier, f"priceRangeList[{i}]")
        price = to_yuan(tier.get("price"), "priceRangeList.price", warnings)
        if price is None:
            continue
        tiers.append(
            PriceTier(
                start_quantity=to_int(tier.get("startQuantity"), "startQuantity") or 1,
                price=price,
                promotion_price=to_yuan(tier.get("promotionPrice"), "promotionPrice", warnings),
            )
        )
    unit = expect_dict(sale.get("unitInfo") or {}, "unitInfo")
    mix = data.get("sellerMixSetting")
    mix_rule = None
    if isinstance(mix, dict):
        mix_rule = MixBatchRule(
            enabled=to_bool(mix.get("generalHunpi"), "generalHunpi"),
            min_amount=to_yuan(mix.get("mixAmount"), "mixAmount", warnings),
            min_count=to_int(mix.get("mixNumber"), "mixNumber"),
        )
    images = expect_dict(data.get("productImage") or {}, "productImage").get("images")
    return ProductDetail(
        offer_id=offer_id,
        subject=to_text(data.get("subject"), "subject") or "",
        subject_trans=to_text(data.get("subjectTrans"), "subjectTrans"),
        status=to_text(data.get("status"), "status") or "",
        seller_open_id=to_text(data.get("sellerOpenId"), "sellerOpenId"),
        company_name=to_text(data.get("companyName"), "companyName"),
        images=tuple(
            u for u in (_http_url(to_text(x, "images")) for x in to_list(images, "images")) if u
        ),
        skus=tuple(skus),
        price_tiers=tuple(sorted(tiers, key=lambda t: t.start_quantity)),
        quote_type=to_int(sale.get("quoteType"), "quoteType"),
        stock=to_int(sale.get("amountOnSale"), "productSaleInfo.amountOnSale"),
        unit=to_text(unit.get("unit"), "unit"),
        unit_trans=to_text(unit.get("transUnit"), "transUnit"),
        min_order_quantity=to_int(data.get("minOrderQuantity"), "minOrderQuantity"),
        batch_number=to_int(data.get("batchNumber"), "batchNumber"),
        mix_batch=mix_rule,
        trace_id=trace_id,
        raw_body=stored,
    )


def sign(params: dict[str, str], secret: str) -> str:
    """MD5 of the sorted `k=v` pairs joined by `&`, then `&secret=…`, upper-case hex."""
    text = "&".join(f"{k}={params[k]}" for k in sorted(params)) + f"&secret={secret}"
    return hashlib.md5(text.encode()).hexdigest().upper()  # noqa: S324 - the gateway's scheme


def product_detail(
    config: GatewayConfig,
    *,
    offer_id: int,
    country: str = "en",
    session=None,
    sleep: Callable[[float], None] = time.sleep,
    rng: random.Random | None = None,
) -> ProductDetail:
    """GET, signed (the secret never in the URL), read-only so retried like preview."""
    params = {"appKey": config.app_key, "offerId": str(offer_id), "country": country}
    params["sign"] = sign(params, config.app_secret)
    rng = rng or random.Random()  # noqa: S311 - jitter
    own = session is None
    session = session or requests.Session()
    started = time.monotonic()
    try:
        attempt = 0
        while True:
            attempt += 1
            try:
                return _get_once(session, config, params)
            except GatewayError as error:
                pause = max(_backoff(attempt, config, rng), error.retry_after or 0.0)
                if (
                    not error.retryable
                    or attempt >= config.max_attempts
                    or time.monotonic() - started + pause > config.retry_budget
                ):
                    error.attempts = attempt
                    error.duration = time.monotonic() - started
                    raise
                sleep(pause)
    finally:
        if own:
            session.close()


def _get_once(session, config: GatewayConfig, params: dict) -> ProductDetail:
    secrets: Sequence[str] = config.secrets
    timeout = (config.connect_timeout, min(config.read_timeout, config.call_deadline))
    try:
        response = session.get(config.url(PRODUCT_DETAIL_PATH), params=params, timeout=timeout)
    except requests.exceptions.Timeout:
        raise GatewayError(
            ErrorKind.TIMEOUT, "The gateway did not answer the lookup in time.", retryable=True
        ) from None
    except requests.exceptions.RequestException as problem:
        raise GatewayError(
            ErrorKind.CONNECTION,
            f"The lookup could not reach the gateway: {type(problem).__name__}",
            retryable=True,
        ) from None
    response.encoding = response.encoding or "utf-8"
    if response.status_code != 200:
        raise _http_error(_Reply(response), secrets)
    text = response.text
    if not text.strip():
        raise GatewayError(
            ErrorKind.MALFORMED,
            f"Empty lookup answer: {snippet(redact(text, secrets))}",
            retryable=False,
        )
    return parse_product_body(text, secrets=secrets, http_status=response.status_code)


@dataclass(frozen=True)
class _Reply:
    response: requests.Response

    @property
    def status(self) -> int:
        return self.response.status_code

    @property
    def headers(self):
        return self.response.headers

    @property
    def text(self) -> str:
        return self.response.text
