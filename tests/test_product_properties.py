"""Property-based tests of the Product details parser: whatever the body, a typed
`ProductDetail` (amounts `Decimal`, never `float`; pictures http(s) only) or a
`GatewayError` with a reason, never another exception."""

import json
from decimal import Decimal
from urllib.parse import urlsplit

from hypothesis import given, settings
from hypothesis import strategies as st

from previews.gateway import GatewayError, ProductDetail, parse_product_body
from previews.sandbox import product_model

from .test_properties import json_values, no_float

OFFERS = [612345001000 + s for s in (700, 701, 702, 705, 706, 707, 708, 713, 100)]
PRODUCT_KEYS = ["offerId", "subject", "subjectTrans", "status", "sellerOpenId", "companyName",
                "productImage", "productSkuInfos", "productSaleInfo", "minOrderQuantity",
                "batchNumber", "sellerMixSetting"]  # fmt: skip
SKU_KEYS = ["skuId", "specId", "price", "promotionPrice", "amountOnSale", "cargoNumber",
            "skuAttributes"]  # fmt: skip
SALE_KEYS = ["priceRangeList", "quoteType", "amountOnSale", "unitInfo"]
TIER_KEYS = ["startQuantity", "price", "promotionPrice"]
ATTRIBUTE_KEYS = ["attributeId", "attributeName", "value", "valueTrans", "skuImageUrl"]
urls = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["https://a.test/x.jpg", "http://a.test/y.png", "//cdn.test/z.jpg",
                     "javascript:alert(1)", "data:image/png;base64,AA", "https://", "ftp://a/b",
                     " https://a.test/sp ace.jpg", "https://a.test/\u0000.jpg", "HTTPS://A.TEST/"]),
)  # fmt: skip
amounts = st.one_of(
    json_values,
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
    st.sampled_from(["20.00", "0.001", "-1", "1e400", "NaN", "", " 3.5 "]),
    st.floats(),
)


def parse_or_error(raw: str):
    try:
        answer = parse_product_body(raw)
    except GatewayError as error:
        assert error.reason.strip()
        return error
    assert isinstance(answer, ProductDetail)
    no_float(answer)
    assert isinstance(answer.offer_id, int) and isinstance(answer.subject, str)
    pictures = [*answer.images, *(a.image_url for s in answer.skus for a in s.attributes)]
    for url in filter(None, pictures):
        assert urlsplit(url).scheme.lower() in ("http", "https") and urlsplit(url).hostname
    prices = [
        *(t.price for t in answer.price_tiers),
        *(s.price for s in answer.skus if s.price is not None),
    ]
    assert all(type(p) is Decimal and p >= 0 for p in prices)
    starts = [t.start_quantity for t in answer.price_tiers]
    assert starts == sorted(starts)
    return answer


def envelope(data) -> str:
    return json.dumps({"code": 200, "message": "ok", "data": data, "traceId": "t"})


@given(st.text(max_size=300))
@settings(max_examples=200, deadline=None)
def test_product_parser_on_arbitrary_text(raw):
    parse_or_error(raw)


@given(json_values)
@settings(max_examples=200, deadline=None)
def test_product_parser_on_arbitrary_json(document):
    parse_or_error(json.dumps(document))
    parse_or_error(envelope(document))


@given(
    offer=st.sampled_from(OFFERS),
    product_changes=st.dictionaries(st.sampled_from(PRODUCT_KEYS), json_values, max_size=3),
    sku_changes=st.dictionaries(st.sampled_from(SKU_KEYS), amounts, max_size=3),
    sale_changes=st.dictionaries(st.sampled_from(SALE_KEYS), json_values, max_size=2),
    tier_changes=st.dictionaries(st.sampled_from(TIER_KEYS), amounts, max_size=2),
    attribute_changes=st.dictionaries(st.sampled_from(ATTRIBUTE_KEYS), urls, max_size=2),
    images=st.lists(urls, max_size=4),
)
@settings(max_examples=300, deadline=None)
def test_product_parser_on_mutated_products(
    offer, product_changes, sku_changes, sale_changes, tier_changes, attribute_changes, images
):
    data = product_model(offer)
    data["productImage"] = {"images": images}
    if data["productSkuInfos"]:
        sku = data["productSkuInfos"][0]
        sku.update(sku_changes)
        if isinstance(sku.get("skuAttributes"), list) and isinstance(
            (sku["skuAttributes"] or [None])[0], dict
        ):
            sku["skuAttributes"][0].update(attribute_changes)
    data["productSaleInfo"]["priceRangeList"][0].update(tier_changes)
    data["productSaleInfo"].update(sale_changes)
    data.update(product_changes)
    parse_or_error(envelope(data))


@given(offer=st.sampled_from(OFFERS))
@settings(max_examples=20, deadline=None)
def test_every_catalogue_product_parses(offer):
    assert isinstance(parse_or_error(envelope(product_model(offer))), ProductDetail)
