"""The sandbox's order calls: create (`POST /alibaba/trade/createCrossOrder`), order
detail (`POST /alibaba/trade/get/buyerView`), the buyer's order list (`POST
/alibaba/trade/getBuyerOrderList`), payment links (`GET /alibaba/alipay/url/get`) and
cancel (`POST /alibaba/trade/cancel`), with the orders kept in memory (`GET /orders`
lists them, so a test counts what was created through the sandbox itself).

A create prices its lines exactly as the preview does and makes one order per record
the preview would show (a 7xx line splits: several orders, `orderList`,
`totalSuccessAmount` empty). It never de-duplicates on `thirdOrderId` (the gateway does
not document that it does), so a create sent twice makes two orders.

Scenarios by the offer id's last three digits (also in the package's table):

| 970 | created normally (any other offer is too) |
| 971 | created, then the connection is dropped without an answer |
| 972 | created, then the answer waits `--slow` seconds (past a short deadline) |
| 973 | created, then HTTP 502 |
| 974 | refused: `success: false`, `code: "400"`, "AddressId invalid"; nothing created |
| 975 | that line fails (`failedOfferList`, 500_004); the others are created |
| 977 | the seller changes carriage after creation: detail shows ¥5.00 more |
| 978 | repriced: the first preview of that cart is normal, every later one (and the |
|     | create) charges 100 fen more carriage |
| 979 | the order is paid at once: detail `waitsellersend`; cancel refused |

Cancel is refused with `CLOSE_ORDER_TOO_FAST` within `--cancel-too-fast` seconds of
creation (default 10, as 1688), and for an order that is not waiting for payment.
"""

from __future__ import annotations

import json
import threading
import time
from decimal import Decimal

from .preview import scenario_of, yuan
from .server import Dropped, Refusal, encode

CREATE_ORDER_PATH = "/alibaba/trade/createCrossOrder"
ORDER_DETAIL_PATH = "/alibaba/trade/get/buyerView"
BUYER_ORDER_LIST_PATH = "/alibaba/trade/getBuyerOrderList"
PAYMENT_URL_PATH = "/alibaba/alipay/url/get"
CANCEL_ORDER_PATH = "/alibaba/trade/cancel"
ORDERS_PATH = "/orders"
FIRST_ORDER_ID = 4_012_345_678_901_234_567  # 19 digits, far above 2^53, as 1688's are


ORDER_ID_STEP = 7919  # ids are not consecutive on 1688 either


def first_order_id() -> int:
    """Where this sandbox's order ids start: 19 digits like 1688's, and later at each
    start (by the clock), so a restarted sandbox never hands out an id
    the product already holds for an order of an earlier sandbox."""
    return FIRST_ORDER_ID + int(time.time()) * ORDER_ID_STEP * 1000


MAX_PAYMENT_ORDERS = 30
CARRIAGE_CHANGE_FEN = 500  # scenario 977
REPRICE_FEN = 100  # scenario 978
CANCEL_REASONS = {"buyerCancel", "sellerGoodsLack", "other"}


def china_time(moment: float) -> str:
    return time.strftime("%Y%m%d%H%M%S000+0800", time.gmtime(moment + 8 * 3600))


def cart_key(request: dict) -> str:
    """What a repricing (978) remembers a cart by: its address and lines, not the flow."""
    return json.dumps(
        {"address": request.get("addressParam"), "cargo": request.get("cargoParamList")},
        sort_keys=True,
    )


class OrderEndpoints:
    """The order endpoints, mixed into the sandbox before the preview, whose prices (and
    the repricing of 978) they share."""

    def __init__(self, *, cancel_too_fast: float = 10.0, **options):
        super().__init__(**options)
        self.cancel_too_fast = cancel_too_fast
        self._orders: dict[str, dict] = {}
        self._orders_lock = threading.Lock()
        self._next_order = first_order_id()
        self._previewed: dict[str, int] = {}

    # ------------------------------------------------------------------ preview (978)

    def preview(self, request: dict) -> dict:
        data = super().preview(request)
        if self._repriced(request, counting=True):
            self._bump(data)
        return data

    def _repriced(self, request: dict, *, counting: bool) -> bool:
        cargo = request.get("cargoParamList") or []
        if not any(
            isinstance(c, dict)
            and isinstance(c.get("offerId"), int)
            and scenario_of(c["offerId"]) == 978
            for c in cargo
        ):
            return False
        key = cart_key(request)
        with self._orders_lock:
            seen = self._previewed.get(key, 0) + (1 if counting else 0)
            self._previewed[key] = seen
        return seen > 1 if counting else seen >= 2

    @staticmethod
    def _bump(data: dict) -> None:
        for record in data["orderPreviewResuslt"]:
            if any(scenario_of(line["offerId"]) == 978 for line in record["cargoList"]):
                record["sumCarriage"] += REPRICE_FEN
                record["sumPayment"] += REPRICE_FEN

    # ------------------------------------------------------------------ create

    def answer_create(self, request: dict, raw: bytes, trace_id: str) -> tuple[int, str, bytes]:
        """(status, content type, body) of a create: the orders are stored before any
        failure of the answer (971-973), as a gateway that lost its answer would have."""
        try:
            data = self._create(request)
        except Refusal as refusal:
            refused = {"success": False, "code": refusal.code, "message": refusal.message}
            return 200, "application/json", encode(self.envelope(refused, trace_id=trace_id))
        scenarios = {scenario_of(c["offerId"]) for c in request["cargoParamList"]}
        if 971 in scenarios:
            return 200, "application/json", Dropped()
        if 972 in scenarios:
            time.sleep(self.slow)
        if 973 in scenarios:
            return 502, "text/html", b"<html><body><h1>502 Bad Gateway</h1></body></html>"
        return 200, "application/json", encode(self.envelope(data, trace_id=trace_id))

    def _create(self, request: dict) -> dict:
        third = request.get("thirdOrderId")
        if not isinstance(third, str) or not third.strip():
            raise Refusal("400", "thirdOrderId不能为空")
        message = request.get("message") or ""
        if not isinstance(message, str) or len(message) > 500:
            raise Refusal("400", "留言不能超过500个字符")
        flow, lines = self.strict_order(request)
        if any(scenario_of(o) == 974 for o, _, _ in lines):
            raise Refusal("400", "AddressId invalid")
        failed = [
            {"offerId": o, "specId": s, "errorCode": "500_004", "errorMessage": f"商品{o}库存不足"}
            for o, s, _ in lines
            if scenario_of(o) == 975
        ]
        kept = [c for c in request["cargoParamList"] if scenario_of(c["offerId"]) != 975]
        if not kept:
            raise Refusal("500_004", "所有商品都下单失败")
        priced = dict(request, cargoParamList=kept)
        data = super().preview(priced)  # not counted as a preview (978)
        if self._repriced(priced, counting=False):
            self._bump(data)
        records = data["orderPreviewResuslt"]
        for record in records:
            if not record["status"]:
                raise Refusal(record["resultCode"] or "500_001", record["message"] or "无法下单")
        now = time.time()
        orders = []
        with self._orders_lock:
            for record in records:
                order_id = str(self._next_order)
                self._next_order += ORDER_ID_STEP
                scenarios = {scenario_of(line["offerId"]) for line in record["cargoList"]}
                order = {
                    "orderId": order_id,
                    "thirdOrderId": third,
                    "message": message,
                    "flow": flow or "general",
                    "status": "waitsellersend" if 979 in scenarios else "waitbuyerpay",
                    "createdAt": now,
                    "sumPaymentFen": record["sumPayment"],
                    "carriageFen": record["sumCarriage"],
                    "goodsFen": record["sumPaymentNoCarriage"],
                    "discountFen": record["discountFee"] or 0,
                    "carriageChangeFen": CARRIAGE_CHANGE_FEN if 977 in scenarios else 0,
                    "lines": [
                        {
                            "offerId": line["offerId"],
                            "specId": line["specId"],
                            "amount": str(line["amount"]),
                        }
                        for line in record["cargoList"]
                    ],
                }
                self._orders[order_id] = order
                orders.append(order)
        answer: dict = {"success": True, "failedOfferList": failed}
        if len(orders) == 1:
            answer.update(
                orderId=orders[0]["orderId"],
                totalSuccessAmount=orders[0]["sumPaymentFen"],
                postFee=orders[0]["carriageFen"],
            )
        else:
            answer.update(
                totalSuccessAmount=None,
                orderList=[
                    {
                        "orderId": o["orderId"],
                        "postFee": o["carriageFen"],
                        "orderAmmount": o["sumPaymentFen"],
                    }
                    for o in orders
                ],
            )
        return answer

    # ------------------------------------------------------------------ reading

    def _view(self, order: dict) -> dict:
        """An order as order detail shows it: amounts in yuan but discount/refund in fen,
        `id` a JSON number (exact) and `idOfStr` its text."""
        change = order["carriageChangeFen"]
        return {
            "baseInfo": {
                "id": int(order["orderId"]),
                "idOfStr": order["orderId"],
                "status": order["status"],
                "createTime": china_time(order["createdAt"]),
                "tradeType": "assureTrade",
                "totalAmount": yuan(order["sumPaymentFen"] + change),
                "shippingFee": yuan(order["carriageFen"] + change),
                "sumProductPayment": yuan(order["goodsFen"] + order["discountFen"]),
                "discount": order["discountFen"],
                "refundPayment": 0,
                "buyerFeedback": order["message"],
            },
            "productItems": order["lines"],
        }

    def answer_order_detail(
        self, request: dict, raw: bytes, trace_id: str
    ) -> tuple[int, str, bytes]:
        order = self._orders.get(str(request.get("orderId") or request.get("tradeID") or ""))
        if order is None:
            refused = {"success": False, "errorCode": "ORDER_NOT_EXIST", "errorMsg": "订单不存在"}
            return 200, "application/json", encode(self.envelope(refused, trace_id=trace_id))
        return (
            200,
            "application/json",
            encode(self.envelope({"result": self._view(order)}, trace_id=trace_id)),
        )

    def answer_buyer_orders(
        self, request: dict, raw: bytes, trace_id: str
    ) -> tuple[int, str, bytes]:
        page = max(int(request.get("page") or 1), 1)
        size = min(max(int(request.get("pageSize") or 20), 1), 50)
        since = str(request.get("createStartTime") or "")
        with self._orders_lock:
            orders = sorted(self._orders.values(), key=lambda o: (-o["createdAt"], o["orderId"]))
        if since:
            orders = [o for o in orders if china_time(o["createdAt"]) >= since]
        chosen = orders[(page - 1) * size : page * size]
        data = {"result": [self._view(o) for o in chosen], "totalRecord": len(orders)}
        return 200, "application/json", encode(self.envelope(data, trace_id=trace_id))

    def answer_payment_url(
        self, request: dict, raw: bytes, trace_id: str
    ) -> tuple[int, str, bytes]:
        try:
            ids = [
                str(i) for i in json.loads(request.get("orderIdList") or "[]", parse_float=Decimal)
            ]
        except (ValueError, TypeError):
            ids = []
        if not ids or len(ids) > MAX_PAYMENT_ORDERS:
            refused = {
                "success": False,
                "errorCode": "400",
                "errorMsg": "orderIdList须为1到30个订单",
            }
            return 200, "application/json", encode(self.envelope(refused, trace_id=trace_id))
        unknown = [i for i in ids if i not in self._orders]
        if unknown:
            refused = {
                "success": False,
                "errorCode": "ORDER_NOT_EXIST",
                "errorMsg": f"订单不存在: {unknown[0]}",
            }
            return 200, "application/json", encode(self.envelope(refused, trace_id=trace_id))
        if len(ids) == 1:
            url = f"https://trade.1688.com/order/cashier.htm?orderId={ids[0]}"
        else:
            url = "https://cashier.alipay.com/standard/batch.htm?orders=" + ",".join(ids)
        return (
            200,
            "application/json",
            encode(self.envelope({"payUrl": url, "success": True}, trace_id=trace_id)),
        )

    # ------------------------------------------------------------------ cancel

    def answer_cancel(self, request: dict, raw: bytes, trace_id: str) -> tuple[int, str, bytes]:

        def refused(code: str, message: str):
            body = {"success": False, "errorCode": code, "errorMsg": message}
            return 200, "application/json", encode(self.envelope(body, trace_id=trace_id))

        order_id = str(request.get("tradeID") or request.get("orderId") or "")
        if request.get("cancelReason") not in CANCEL_REASONS:
            return refused("400", "cancelReason无效")
        with self._orders_lock:
            order = self._orders.get(order_id)
            if order is None:
                return refused("ORDER_NOT_EXIST", "订单不存在")
            if order["status"] != "waitbuyerpay":
                return refused("ORDER_STATUS_NOT_SUPPORT", "订单当前状态不允许取消")
            if time.time() - order["createdAt"] < self.cancel_too_fast:
                return refused("CLOSE_ORDER_TOO_FAST", "订单创建后10秒内不能关闭")
            order["status"] = "cancel"
        return 200, "application/json", encode(self.envelope({"success": True}, trace_id=trace_id))

    def orders_json(self) -> bytes:
        """`GET /orders`: every order the sandbox holds, for tests to count."""
        with self._orders_lock:
            orders = [
                {
                    key: order[key]
                    for key in ("orderId", "thirdOrderId", "message", "status", "sumPaymentFen")
                }
                for order in sorted(self._orders.values(), key=lambda o: o["createdAt"])
            ]
        return json.dumps({"count": len(orders), "orders": orders}).encode()
