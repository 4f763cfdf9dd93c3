"""The sandbox's *Product details* (`GET /alibaba/product/queryProductDetail`): a small
catalogue in the shapes of ../shared/upstream/product-detail.md, deterministic from the
offer id, and the prices the sandbox's preview charges for it.

Offers ending 700-713 are the scenarios of the conventions table (the package's
docstring); any other offer is a published offer without SKUs whose one tier is the
price the preview charges for it. `catalogue_unit_fen` is the one pricing function: the
lookup shows it, and the preview (through `line_unit_fen`) charges it, for the SKU at the
offer's total quantity in the request.
"""

from __future__ import annotations

import hashlib
import time
from decimal import Decimal

from .preview import scenario_of, unit_price_fen, yuan
from .server import encode, seller_of

PRODUCT_DETAIL_PATH = "/alibaba/product/queryProductDetail"
CATALOGUE_SCENARIOS = range(700, 714)
IMAGE_BASE = "https://cbu01.alicdn.com/img/ibank/sandbox"
COLOURS = [("红色", "Red"), ("蓝色", "Blue"), ("黑色", "Black"), ("白色", "White"),
           ("绿色", "Green")]  # fmt: skip
SIZES = ["S", "M", "L", "XL", "XXL", "3XL", "4XL", "5XL"]
COLOUR_ATTRIBUTE, SIZE_ATTRIBUTE = 3216, 450
NOT_FOUND_MESSAGE = "商品不存在或已下架"


def seller_open_id(offer_id: int) -> str:
    """The `sellerOpenId` of the seller the preview uses for this offer (`seller_of`)."""
    return f"BBBsandbox{seller_of(offer_id)}"


def company_name(offer_id: int) -> str:
    return f"沙盒{seller_of(offer_id)}商贸有限公司"


def spec_id_of(offer_id: int, *values: str) -> str:
    """A 32-hex spec id, deterministic from the offer and the SKU's attribute values."""
    return hashlib.md5(
        ":".join([str(offer_id), *values]).encode(), usedforsecurity=False
    ).hexdigest()


def _money(value: Decimal) -> str:
    return f"{value:.2f}"


def _tier(start: int, price: str, promotion: str | None = None) -> dict:
    tier = {"startQuantity": start, "price": price}
    if promotion:
        tier["promotionPrice"] = promotion
    return tier


def _skus(offer_id: int, colours: int, sizes: int, price, stock) -> list[dict]:
    """`colours` × `sizes` SKUs; `price(c, s)` a Decimal, `stock(c, s)` an int."""
    skus = []
    for c, (colour, colour_en) in enumerate(COLOURS[:colours]):
        for s, size in enumerate(SIZES[:sizes]):
            spec = spec_id_of(offer_id, colour, size)
            unit = price(c, s)
            skus.append(
                {
                    "skuId": int(spec[:12], 16),
                    "specId": spec,
                    "price": _money(unit),
                    "promotionPrice": _money(unit - Decimal("0.50")),
                    "amountOnSale": stock(c, s),
                    "cargoNumber": f"SB-{offer_id % 1000}-{c}{s}",
                    "skuAttributes": [
                        {
                            "attributeId": COLOUR_ATTRIBUTE,
                            "attributeName": "颜色",
                            "attributeNameTrans": "Color",
                            "value": colour,
                            "valueTrans": colour_en,
                            "skuImageUrl": f"{IMAGE_BASE}/{offer_id}-{c}.jpg",
                        },
                        {
                            "attributeId": SIZE_ATTRIBUTE,
                            "attributeName": "尺码",
                            "attributeNameTrans": "Size",
                            "value": size,
                            "valueTrans": size,
                            "skuImageUrl": None,
                        },
                    ],
                }
            )
    return skus


def product_model(offer_id: int) -> dict:
    """The product model (the envelope's `data`) the sandbox answers for `offer_id`."""
    scenario = scenario_of(offer_id)
    subject, subject_en = "沙盒商品", "Sandbox item"
    status = "published"
    skus: list[dict] = []
    quote_type = 0
    tiers = [_tier(1, _money(yuan(unit_price_fen(offer_id, None))))]
    minimum, lot, stock = 1, None, 5000
    mix = {"generalHunpi": False, "mixAmount": None, "mixNumber": None}
    images = [f"{IMAGE_BASE}/{offer_id}-main.jpg"]
    if scenario in (700, 703, 709):
        subject, subject_en = "不锈钢保温杯 阶梯价", "Stainless steel mug, quantity tiers"
        tiers = [_tier(1, "12.00"), _tier(50, "11.00", "10.80"), _tier(200, "10.00", "9.80")]
        status = "expired" if scenario == 703 else status
    elif scenario == 701:
        subject, subject_en = "纯棉T恤 按规格定价", "Cotton T-shirt, priced per SKU"
        quote_type = 1
        skus = _skus(offer_id, 2, 3, lambda c, s: Decimal(20 + 2 * c) + Decimal("0.50") * s,
                     lambda c, s: 300 + 10 * c + s)  # fmt: skip
        # Pictures that are not http(s): a parser must drop them.
        images += ["javascript:alert(1)", "data:image/png;base64,AAAA"]
    elif scenario == 702:
        subject, subject_en = "帆布包 规格按阶梯价", "Canvas bag, SKUs priced by tier"
        quote_type = 2
        tiers = [_tier(2, "20.00", "19.00"), _tier(100, "18.00", "17.00")]
        minimum = 2
        skus = _skus(offer_id, 2, 2, lambda c, s: Decimal("20.00"), lambda c, s: 1000)
    elif scenario == 705:
        subject, subject_en = "陶瓷碗 10件起批 5件一手", "Ceramic bowl, minimum 10, lots of 5"
        tiers = [_tier(10, "8.50")]
        minimum, lot = 10, 5
    elif scenario == 706:
        subject, subject_en = "运动袜 40个规格", "Sports socks, 40 SKUs"
        quote_type = 1
        skus = _skus(offer_id, 5, 8, lambda c, s: Decimal("5.00") + Decimal("0.10") * (c * 8 + s),
                     lambda c, s: 100 + c * 8 + s)  # fmt: skip
    elif scenario == 707:
        subject, subject_en = "手机壳 部分规格缺货", "Phone case, some SKUs out of stock"
        quote_type = 1
        skus = _skus(offer_id, 2, 3, lambda c, s: Decimal("9.90"),
                     lambda c, s: 0 if s == 1 or (c, s) == (1, 2) else 50)  # fmt: skip
    elif scenario == 708:
        subject, subject_en = "发夹 店铺混批", "Hair clips, shop mixed batch"
        quote_type = 1
        skus = _skus(offer_id, 2, 2, lambda c, s: Decimal("30.00"), lambda c, s: 500)
        mix = {"generalHunpi": True, "mixAmount": 500, "mixNumber": 10}
    elif scenario == 713:
        subject, subject_en = "单规格 收纳盒", "Storage box, one SKU"
        quote_type = 1
        skus = _skus(offer_id, 1, 1, lambda c, s: Decimal("15.80"), lambda c, s: 800)
    if skus:
        stock = sum(s["amountOnSale"] for s in skus)
        if quote_type == 1:
            cheapest = min(Decimal(s["price"]) for s in skus)
            tiers = [_tier(minimum, _money(cheapest))]
    return {
        "offerId": offer_id,
        "subject": f"{subject} {offer_id % 1000}",
        "subjectTrans": f"{subject_en} {offer_id % 1000}",
        "status": status,
        "sellerOpenId": seller_open_id(offer_id),
        "companyName": company_name(offer_id),
        "productImage": {"images": images},
        "productSkuInfos": skus,
        "productSaleInfo": {
            "priceRangeList": tiers,
            "quoteType": quote_type,
            "amountOnSale": stock,
            "unitInfo": {"unit": "件", "transUnit": "piece"},
        },
        "minOrderQuantity": minimum,
        "batchNumber": lot,
        "sellerMixSetting": mix,
        "productShippingInfo": {"sendGoodsAddressText": "浙江省 金华市", "weight": 0.2},
    }


def catalogue_unit_fen(offer_id: int, spec_id: str | None, offer_total: int) -> int | None:
    """What one piece of `spec_id` costs at the offer's total quantity `offer_total`, in
    fen, as the lookup shows it: quoteType 1 the SKU's price, else the tier with the
    largest start not above the total (below the first: the first). None for a spec the
    offer does not have (the preview then prices it as any other)."""
    if scenario_of(offer_id) not in CATALOGUE_SCENARIOS:
        return None
    product = product_model(offer_id)
    skus = {s["specId"]: s for s in product["productSkuInfos"]}
    if skus and spec_id not in skus:
        return None
    sale = product["productSaleInfo"]
    if sale["quoteType"] == 1:
        price = skus[spec_id]["price"]
    else:
        tiers = sale["priceRangeList"]
        reached = [t for t in tiers if t["startQuantity"] <= offer_total]
        price = (reached[-1] if reached else tiers[0])["price"]
    return int(Decimal(price) * 100)


class ProductDetails:
    """The Product details endpoint, mixed into the sandbox before the preview, whose
    prices it sets for the catalogue's offers (`line_unit_fen`)."""

    def line_unit_fen(self, offer_id: int, spec_id: str | None, offer_total: int) -> int:
        price = catalogue_unit_fen(offer_id, spec_id, offer_total)
        if price is None:
            return super().line_unit_fen(offer_id, spec_id, offer_total)
        return price

    def line_problem(
        self, offer_id: int, spec_id: str | None, quantity: int, offer_total: int
    ) -> tuple[str, str, bool] | None:
        if scenario_of(offer_id) not in CATALOGUE_SCENARIOS:
            return super().line_problem(offer_id, spec_id, quantity, offer_total)
        product = product_model(offer_id)
        if product["status"] != "published":  # withdrawn (703): 1688 will not sell it
            return "500_001", f"商品{offer_id}已下架,不支持在线交易", True
        sku = next((s for s in product["productSkuInfos"] if s["specId"] == spec_id), None)
        if sku is not None and quantity > sku["amountOnSale"]:
            return "500_004", f"商品{offer_id}_{spec_id}库存不足", True
        minimum = product["minOrderQuantity"]
        if offer_total < minimum:
            return "500_005", f"商品{offer_id}未达到最小起订量{minimum}", False
        return None

    def record_problem(self, lines: list, goods_fen: int) -> tuple[str, str] | None:
        for offer_id, _spec, _quantity in lines:
            if scenario_of(offer_id) not in CATALOGUE_SCENARIOS:
                continue
            mix = product_model(offer_id)["sellerMixSetting"]
            if not mix["generalHunpi"]:
                continue
            count = sum(quantity for _o, _s, quantity in lines)
            if goods_fen < mix["mixAmount"] * 100 and count < mix["mixNumber"]:
                return (
                    "500_006",
                    f"未达到店铺混批条件(满{mix['mixAmount']}元或{mix['mixNumber']}件)",
                )
        return super().record_problem(lines, goods_fen)

    def answer_product_detail(
        self, request: dict, raw: bytes, trace_id: str
    ) -> tuple[int, str, bytes]:
        """(HTTP status, content type, body) for one lookup (`request`: the query)."""
        try:
            offer_id = int(request.get("offerId") or "")
            if offer_id <= 0:
                raise ValueError
        except ValueError:
            invalid = self.envelope(None, code=400, message="offerId无效", trace_id=trace_id)
            return 200, "application/json", encode(invalid)
        scenario = scenario_of(offer_id)
        if scenario == 709:
            time.sleep(self.slow)
        if scenario == 710:
            html = b"<html><head><title>500 Internal Server Error</title></head>"
            return 500, "text/html", html + b"<body><h1>nginx</h1></body></html>"
        if scenario == 711:
            return 429, "text/plain", b"Too Many Requests"
        if scenario == 712:
            return 200, "text/html", b"<html><body>Bad gateway: upstream garbage</body></html>"
        if scenario == 704:
            gone = self.envelope(None, code=404, message=NOT_FOUND_MESSAGE, trace_id=trace_id)
            return 200, "application/json", encode(gone)
        return (
            200,
            "application/json",
            encode(self.envelope(product_model(offer_id), trace_id=trace_id)),
        )
