"""A local stand-in for the gateway (*Preview order*, *Product details*, the order calls),
over real HTTP.

Run: `python -m previews.sandbox --port 8001 [--latency 0.2] [--app-key KEY] [--app-secret S]
[--rate-limit N] [--cancel-too-fast 10]`.
Standard library only, so it starts anywhere; it answers in the shapes, units and
spelling of ../shared/upstream/preview-order.md, deterministically from its input.

Conventions (also in the README, "The sandbox gateway"):

* **Seller of an offer** = `offerId // 1_000_000` (offers sharing all but their last six
  digits belong to one seller). A request mixing sellers is refused with `500_002`.
* **Prices**: the reference's example offer 670291644950 / spec 594b40c1…6373 costs
  ¥13.90 with a ¥0.69 PLUS promotion and ¥3.50 carriage, exactly as documented. Any other
  offer's unit price is derived from a hash of offer and spec (¥1.00 to ¥200.99); offers
  with an even hundreds digit get a 5% "PLUS会员价" promotion. Carriage per record is
  ¥3.50 plus ¥1.00 per further line, free from ¥500.00 of goods; a record with goods of
  ¥300.00 or more gets a shop promotion "满300减20" (2000 fen).
* **Scenario** = the offer id's last three digits (the example offer 670291644950 has none):

  | last digits | what the sandbox does |
  |---|---|
  | 7xx | the line goes into a second record (automatic order splitting) |
  | 700-713 | also Product details (`GET …/queryProductDetail`); previews charge its price |
  | 700 | lookup: no SKUs, quantity tiers 1: ¥12.00, 50: ¥11.00, 200: ¥10.00 (quoteType 0) |
  | 701 | lookup: 2 colours × 3 sizes priced per SKU (quoteType 1), ¥20.00-¥23.00; bad pictures |
  | 702 | lookup: 2 colours × 2 sizes priced by tier (quoteType 2): 2: ¥20.00, 100: ¥18.00 |
  | 703 | lookup: withdrawn, `status: "expired"` (answers as 700); preview refused: `500_001` |
  | 704 | lookup: not found, a failure envelope (`code: 404`, "商品不存在或已下架") |
  | 705 | lookup: minimum 10, lots of 5 (`batchNumber`), tier 10: ¥8.50; preview below 10: 500_005 |
  | 706 | lookup: many SKUs, 5 colours × 8 sizes = 40 |
  | 707 | lookup: 2 × 3 SKUs, three with `amountOnSale: 0`; preview above a SKU's stock: `500_004` |
  | 708 | lookup: shop mixed batch ¥500 or 10 pieces; a record meeting neither: `500_006` |
  | 709 | lookup: slow, answers (as 700) after `--slow` seconds |
  | 710 | lookup: HTTP 500 with an HTML body |
  | 711 | lookup: HTTP 429 |
  | 712 | lookup: a body that is not JSON |
  | 713 | lookup: one SKU only (a single-SKU offer with a `specId`), ¥15.80 |
  | 810-819 | carriage "as described": offer listed in `postFeeByDescOfferList` |
  | 820-829 | offer listed in `unsupportedCrossBorderPayOfferList` |
  | 830-834 | empty `tradeModeNameList`: cannot be ordered through the API |
  | 835-839 | `tradeModeNameList: null` (and no `tradeModelList`): the same, spelt null |
  | 840-849 | consignment offer (`consignOfferList`); the only ones `saleproxy` accepts |
  | 860 | `discountFee` (coupon 店铺券减5元, 500 fen) taken after `sumPaymentNoCarriage` = goods |
  | 861 | record `additionalFee` 300 fen (¥3.00), included in `sumPayment` |
  | 862 | figures that do not add up: `sumPayment` 37 fen more than its parts explain |
  | 863 | shop promotion "满2件包邮" with `freePostage: true`: carriage 0 |
  | 864 | line promotion "限时包邮" with `freePostage: true`: carriage 0 |
  | 7xx | orders: a create whose preview splits makes several orders (`orderList`) |
  | 901 | refusal: `success: false`, `errorCode: 500_001` |
  | 903 | refusal `500_003` (the spec does not belong to the offer) |
  | 904 | the line has `resultCode: 500_004` (not enough stock) and its record `status: false` |
  | 905 | minimum order quantity 10: fewer gives a record `status: false`, `500_005` |
  | 906 | mixed-batch condition ¥1,000: less gives a record `status: false`, `500_006` |
  | 950 | HTTP 500 with an HTML body |
  | 951 | HTTP 429 |
  | 952 | slow: answers after `--slow` seconds (default 10) |
  | 953 | a body that is not JSON |
  | 954 | HTTP 503 on the first call with this body, a normal answer on the next |
  | 955 | `code: 1009` with the error nested in `data` |
  | 956 | JSON without `data` |
  | 957 | HTTP 400 `gw.QosAppFrequencyLimit` (1688's rate limit) |
  | 958 | a refusal echoing the request and credentials: JSON-escaped, URL-encoded, raw |
  | 959 | a promotion whose `desc` carries a script, an event handler and a link (hostile HTML) |
  | 960 | `code: 500` "系统繁忙,请稍后再试" (busy) on the first call with this body, then normal |
  | 961 | `code: 500` "系统繁忙,请稍后再试" (busy) on every call |
  | 962 | trickles: a normal answer, its body one byte every `--trickle` s (default 0.5) |
  | 963 | formulas: the line's `specId`, `message` and a promotion `text` start `=`, `@`, `+` |
  | 964 | control characters: the line's `message` holds a NUL and an escape sequence |
  | 965 | HTTP 502 whose plain-text body holds a NUL byte |
  | 970 | orders: created normally (as any offer not listed here) |
  | 971 | orders: the create makes the order, then drops the connection without answering |
  | 972 | orders: the create makes the order, then answers after `--slow` seconds |
  | 973 | orders: the create makes the order, then answers HTTP 502 |
  | 974 | orders: create refused, `success: false, code: "400"`, "AddressId invalid"; nothing made |
  | 975 | orders: that line fails (`failedOfferList`, `500_004`), the other lines are created |
  | 977 | orders: the seller changes carriage after creation: detail shows ¥5.00 more |
  | 978 | orders: repriced: a cart's first preview is normal, later ones and the create +100 fen |
  | 979 | orders: paid at once (detail `waitsellersend`): cancel refused |

* **Product details** (`GET /alibaba/product/queryProductDetail`, query `appKey`, `offerId`,
  `country`, `sign`): offers ending 700-713 as in the table (701's pictures include a
  `javascript:` and a `data:` one); any other offer is a published offer without
  SKUs, one tier at the price its preview charges. `sellerOpenId` (`BBBsandbox<seller>`) and
  `companyName` come from the seller above. With `--app-secret` a lookup must be signed
  (MD5 of the parameters sorted as k=v joined by &, then `&secret=…`, upper hex) or send
  `appSecret`. `GET /calls` also counts lookups and lists the URLs (path and query) seen.
* **Rate limit** (`--rate-limit N`, default none): per app key, N calls a second with a
  bucket of one second's worth; a call beyond is answered HTTP 429 with 1688's body
  `{"error_code": "gw.QosAppFrequencyLimit", ...}` and counted in `GET /calls` as
  `rate_limited` (`accepted_per_second` counts the calls let through, second by second).
* **Orders** (`previews/sandbox/orders.py`): create `POST /alibaba/trade/createCrossOrder`
  (the preview's prices and records: one order per record; ids of 19 digits, sent as
  strings; never de-duplicated on `thirdOrderId`), order detail `POST
  /alibaba/trade/get/buyerView` (`baseInfo` amounts in yuan, `discount` in fen, `id` a
  JSON number and `idOfStr` text, the message in `buyerFeedback`), the buyer's order list
  `POST /alibaba/trade/getBuyerOrderList` (`page`, `pageSize` ≤ 50, `createStartTime`;
  `result` newest first, `totalRecord`), payment links `GET /alibaba/alipay/url/get`
  (`orderIdList` a JSON list of ≤ 30 ids; signed as lookups), cancel `POST
  /alibaba/trade/cancel` (`tradeID`/`orderId`, `cancelReason`; `CLOSE_ORDER_TOO_FAST`
  within `--cancel-too-fast` seconds of creation, default 10; only unpaid orders). Orders
  live in memory: `GET /orders` lists them (`count`, `orders`), `GET /calls` counts calls
  by path (`by_path`).
* **Reference rates** (`GET /ecb/eurofxref-daily.xml`, not the gateway's): the European
  Central Bank's daily file in its own format, dated the last weekday, fixed demo rates
  per euro (USD 1.0512, CNY 7.6073, ...); `make run` points `CURRENCY_RATES_URL` here.
* **Strict checks**: every `addressParam` field present and non-empty, quantity at least
  1, at most 50 lines, one seller, a known flow (empty = the sandbox picks `general`),
  and `appKey` equal to `--app-key` when one is configured.
"""

from .orders import (
    BUYER_ORDER_LIST_PATH,
    CANCEL_ORDER_PATH,
    CREATE_ORDER_PATH,
    ORDER_DETAIL_PATH,
    PAYMENT_URL_PATH,
    OrderEndpoints,
)
from .preview import FORMULA_MESSAGE, FORMULA_PROMOTION, FORMULA_SPEC, PREVIEW_PATH, PreviewOrder
from .products import PRODUCT_DETAIL_PATH, ProductDetails, catalogue_unit_fen, product_model
from .server import Gateway, main, serve


class Sandbox(OrderEndpoints, ProductDetails, PreviewOrder, Gateway):
    """The sandbox: the shared behaviour of the gateway (server.py) and one mixin per
    endpoint it answers. A new endpoint: a module with its mixin, and its path here
    (and in `GET_ENDPOINTS` when it is asked with GET)."""

    ENDPOINTS = {
        PREVIEW_PATH: "answer_preview",
        PRODUCT_DETAIL_PATH: "answer_product_detail",
        CREATE_ORDER_PATH: "answer_create",
        ORDER_DETAIL_PATH: "answer_order_detail",
        BUYER_ORDER_LIST_PATH: "answer_buyer_orders",
        PAYMENT_URL_PATH: "answer_payment_url",
        CANCEL_ORDER_PATH: "answer_cancel",
    }
    GET_ENDPOINTS = frozenset({PRODUCT_DETAIL_PATH, PAYMENT_URL_PATH})


__all__ = [
    "FORMULA_MESSAGE",
    "FORMULA_PROMOTION",
    "FORMULA_SPEC",
    "PREVIEW_PATH",
    "PRODUCT_DETAIL_PATH",
    "Sandbox",
    "catalogue_unit_fen",
    "main",
    "product_model",
    "serve",
]
