"""The gateway's order calls (../shared/upstream/orders.md): create, order detail, the
buyer's order list, payment links and cancel.

Units differ per field, as documented: the create answer's `totalSuccessAmount`,
`postFee` and `orderList[].orderAmmount` are integer **fen**; order detail's
`baseInfo.totalAmount`, `shippingFee` and `sumProductPayment` are **yuan** (read as
`Decimal`, converted to fen only when they are a whole number of fen), its `discount`
and `refundPayment` fen. A 1688 order id is a **string** (ids exceed 2^53): a number in
the JSON is taken as its exact digits, never through a float.

Create and cancel are sent once (`retry=False`); a create whose answer is lost raises a
`GatewayError` for which `outcome_unknown(error)` is true: the order may exist, and the
caller must never send it again but resolve it by reading orders (`buyer_orders`, by
the marker written into the message). Detail, the order list and payment links are
reads, retried where safe.

What the contract leaves uncertain sits in one place each: `isvBizType`
(`GatewayConfig.isv_biz_type`), the cancel id field (`cancel_body` sends both `tradeID`
and `orderId`), the marker format (`order_marker`), the payment links' id list format
(`payment_query`), and the buyer order list endpoint, its request and its answer shape
(`GatewayConfig.buyer_order_list_path`, `buyer_orders_body`, `_buyer_orders_data`).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import requests

from . import transport
from .envelope import parse_body
from .errors import ErrorKind, GatewayError
from .fields import Malformed, expect_dict, to_bool, to_fen, to_int, to_list, to_text, to_yuan
from .preview import MAX_LINES_PER_CALL, Address, Cargo
from .products import sign_params
from .transport import GatewayConfig

logger = logging.getLogger(__name__)

CREATE_ORDER_PATH = "/alibaba/trade/createCrossOrder"
ORDER_DETAIL_PATH = "/alibaba/trade/get/buyerView"
PAYMENT_URL_PATH = "/alibaba/alipay/url/get"
CANCEL_ORDER_PATH = "/alibaba/trade/cancel"
DEFAULT_BUYER_ORDER_LIST_PATH = "/alibaba/trade/getBuyerOrderList"
MAX_PAYMENT_ORDERS = 30  # per payment-link call (1688's limit; 10 recommended)
MESSAGE_LIMIT = 500  # characters 1688 keeps of the buyer's message
CANCEL_REASONS = ("buyerCancel", "sellerGoodsLack", "other")
CLOSE_ORDER_TOO_FAST = "CLOSE_ORDER_TOO_FAST"
# 1688's times: "20240708120000000+0800" (yyyyMMddHHmmssSSS and the zone).
_TIME = re.compile(r"^(\d{14})(\d{3})?([+-]\d{4})?$")
CHINA = timezone(timedelta(hours=8))
# An escrow (担保交易) order closes if not paid in full within 5 days of ordering.
ESCROW_PAY_WINDOW = timedelta(days=5)

# --------------------------------------------------------------------------- what is lost

_LOST_KINDS = frozenset(
    {ErrorKind.TIMEOUT, ErrorKind.CONNECTION, ErrorKind.MALFORMED, ErrorKind.BUSY}
)


def outcome_unknown(error: GatewayError) -> bool:
    """Whether a create that failed with `error` may nevertheless have created an order:
    its answer was lost (timeout, connection reset, a server error, an answer that could
    not be read, "busy" which 1688 also says when its own call timed out). A definite
    refusal (the gateway said no, a 4xx, a rate limit before processing) created nothing."""
    if error.kind in _LOST_KINDS:
        return True
    return error.kind == ErrorKind.HTTP and (error.http_status or 0) >= 500


# --------------------------------------------------------------------------- ids, marker


def order_marker(third_order_id: str) -> str:
    """The marker written into an order's message, by which a lost create is found in the
    buyer's orders: `[wb:<thirdOrderId>]`. One format, here."""
    return f"[wb:{third_order_id}]"


def order_message(third_order_id: str, text: str = "") -> str:
    """The `message` of a create: the buyer's text (if any) and the marker, within 500
    characters (the text is cut, never the marker)."""
    marker = order_marker(third_order_id)
    room = MESSAGE_LIMIT - len(marker) - 1
    text = (text or "").strip()[: max(room, 0)]
    return f"{text} {marker}" if text else marker


def to_order_id(value: Any, where: str) -> str | None:
    """A 1688 order id as its exact digits. A JSON number is parsed by Python as an exact
    int, so it is kept; a float-looking one (1.2E+18, 12.0) lost digits upstream: Malformed."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise Malformed(f"{where} should be an order id, got {value!r}")
    if isinstance(value, int):
        text = str(value)
    elif isinstance(value, str):
        text = value.strip()
    else:
        raise Malformed(f"{where} should be an order id (digits), got {value!r}")
    if not text.isascii() or not text.isdigit() or len(text) > 32:
        raise Malformed(f"{where} should be an order id (digits), got {value!r}")
    return text


def parse_time(value: Any, where: str) -> datetime | None:
    """1688's `20240708120000000+0800`, or an ISO time; None when absent."""
    text = to_text(value, where)
    if not text:
        return None
    match = _TIME.match(text.strip())
    if match:
        moment = datetime.strptime(match.group(1), "%Y%m%d%H%M%S")
        zone = match.group(3)
        if zone:
            sign = 1 if zone[0] == "+" else -1
            offset = timedelta(hours=int(zone[1:3]), minutes=int(zone[3:5]))
            return moment.replace(tzinfo=timezone(sign * offset))
        return moment.replace(tzinfo=CHINA)
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise Malformed(f"{where} should be a time, got {text!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=CHINA)


def format_time(moment: datetime) -> str:
    """A time as 1688 writes it (China time)."""
    return moment.astimezone(CHINA).strftime("%Y%m%d%H%M%S000+0800")


# --------------------------------------------------------------------------- create


@dataclass(frozen=True)
class FailedLine:
    """A line of a create that failed (`failedOfferList`)."""

    offer_id: int | None
    spec_id: str | None
    error_code: str | None
    error_message: str | None


@dataclass(frozen=True)
class CreatedOrder:
    """One order a create made: its id (a string) and amounts in fen."""

    order_id: str
    total_fen: int | None
    post_fee_fen: int | None


@dataclass(frozen=True)
class CreateAnswer:
    """What a create answered with `success: true`: the orders made (several when 1688
    split it; `totalSuccessAmount` is then empty) and the lines that failed."""

    orders: tuple[CreatedOrder, ...]
    failed_lines: tuple[FailedLine, ...]
    total_success_fen: int | None
    post_fee_fen: int | None
    trace_id: str | None
    raw_body: str


def create_body(
    config: GatewayConfig,
    *,
    third_order_id: str,
    flow: str,
    message: str,
    address_param: dict,
    cargo_params: Sequence[dict],
) -> dict:
    """The create request as documented (only the documented fields: whether the gateway
    passes 1688's `tradeType` or `useRedEnvelope` through is unknown)."""
    if not cargo_params or len(cargo_params) > MAX_LINES_PER_CALL:
        raise ValueError(f"a create carries 1 to {MAX_LINES_PER_CALL} lines")
    return {
        **config.credentials(),
        "thirdOrderId": third_order_id,
        "flow": flow or "general",
        "message": message,
        "isvBizType": config.isv_biz_type,
        "addressParam": dict(address_param),
        "cargoParamList": [dict(line) for line in cargo_params],
    }


def cargo_params(cargo: Sequence[Cargo]) -> list[dict]:
    """`cargoParamList` items from typed cargo (the same as a preview sends)."""
    return [line.as_param() for line in cargo]


def address_param(address: Address) -> dict:
    """`addressParam` from a typed address (the same as a preview sends)."""
    return address.as_param()


def parse_create_body(
    text: str, *, secrets: Sequence[str] = (), http_status: int = 200
) -> CreateAnswer:
    """Parse a create answer. `success: false` raises a REJECTED `GatewayError` with the
    answer's `code` and `message` (a definite refusal: nothing was created)."""
    return parse_body(text, _create_data, secrets=secrets, http_status=http_status, what="order")


def _create_data(data: dict, trace_id: str | None, stored: str) -> CreateAnswer:
    failed = tuple(
        _failed_line(item, f"failedOfferList[{i}]")
        for i, item in enumerate(to_list(data.get("failedOfferList"), "failedOfferList"))
    )
    total = to_fen(data.get("totalSuccessAmount"), "totalSuccessAmount")
    post_fee = to_fen(data.get("postFee"), "postFee")
    orders = []
    for i, item in enumerate(to_list(data.get("orderList"), "orderList")):
        where = f"orderList[{i}]"
        item = expect_dict(item, where)
        order_id = to_order_id(item.get("orderId"), f"{where}.orderId")
        if order_id is None:
            raise Malformed(f"{where}.orderId is missing")
        orders.append(
            CreatedOrder(
                order_id=order_id,
                total_fen=to_fen(
                    item.get("orderAmmount", item.get("orderAmount")), f"{where}.orderAmmount"
                ),
                post_fee_fen=to_fen(item.get("postFee"), f"{where}.postFee"),
            )
        )
    single = to_order_id(data.get("orderId"), "orderId")
    if single and single not in {order.order_id for order in orders}:
        orders.insert(
            0,
            CreatedOrder(
                order_id=single,
                total_fen=total if not orders else None,
                post_fee_fen=post_fee if not orders else None,
            ),
        )
    if not orders:
        raise Malformed("a successful create names no orderId")
    return CreateAnswer(
        orders=tuple(orders),
        failed_lines=failed,
        total_success_fen=total,
        post_fee_fen=post_fee,
        trace_id=trace_id,
        raw_body=stored,
    )


def _failed_line(item: Any, where: str) -> FailedLine:
    item = expect_dict(item, where)
    return FailedLine(
        offer_id=to_int(item.get("offerId"), f"{where}.offerId"),
        spec_id=to_text(item.get("specId"), f"{where}.specId"),
        error_code=to_text(item.get("errorCode"), f"{where}.errorCode"),
        error_message=to_text(item.get("errorMessage"), f"{where}.errorMessage"),
    )


def create_order(
    config: GatewayConfig,
    *,
    third_order_id: str,
    flow: str,
    message: str,
    address_param: dict,
    cargo_params: Sequence[dict],
    session: requests.Session | None = None,
) -> CreateAnswer:
    """Create one order (≤50 lines), sent exactly once (`retry=False`).

    Raises `GatewayError`; when `outcome_unknown(error)` the order may exist: never send
    it again, resolve it by reading orders.
    """
    body = create_body(
        config, third_order_id=third_order_id, flow=flow, message=message,
        address_param=address_param, cargo_params=cargo_params,
    )  # fmt: skip
    answer, _attempts = _call(
        config, CREATE_ORDER_PATH, body, parse_create_body, retry=False, session=session
    )
    logger.info(
        "gateway create %s: %d order(s), %d failed line(s)",
        third_order_id,
        len(answer.orders),
        len(answer.failed_lines),
    )
    return answer


# --------------------------------------------------------------------------- order detail


@dataclass(frozen=True)
class OrderDetail:
    """Order detail (buyer's view): status and amounts. Yuan amounts are `Decimal`;
    `warnings` name any yuan value that is not a whole number of fen."""

    order_id: str
    status: str
    total_amount: Decimal | None  # yuan
    shipping_fee: Decimal | None  # yuan
    sum_product_payment: Decimal | None  # yuan
    discount_fen: int | None
    refund_fen: int | None
    created_at: datetime | None
    pay_by: datetime | None
    trade_type: str | None
    buyer_message: str
    warnings: tuple[str, ...]
    trace_id: str | None
    raw_body: str


def parse_detail_body(
    text: str, *, secrets: Sequence[str] = (), http_status: int = 200
) -> OrderDetail:
    """Parse an order detail answer (`data.result.baseInfo` or `data.baseInfo`)."""
    return parse_body(
        text, _detail_data, secrets=secrets, http_status=http_status, what="order detail"
    )


def _base_info(data: dict, where: str) -> tuple[dict, dict]:
    container = data.get("result") if isinstance(data.get("result"), dict) else data
    return expect_dict(container.get("baseInfo"), f"{where}.baseInfo"), container


def _detail_data(data: dict, trace_id: str | None, stored: str) -> OrderDetail:
    return _order_view(data, "data", trace_id, stored)


def _order_view(data: dict, where: str, trace_id: str | None, stored: str) -> OrderDetail:
    base, container = _base_info(data, where)
    here = f"{where}.baseInfo"
    warnings: list[str] = []
    order_id = to_order_id(
        base.get("idOfStr") or base.get("id") or base.get("orderId"), f"{here}.id"
    )
    if order_id is None:
        raise Malformed(f"{here} has no id")
    created = parse_time(base.get("createTime"), f"{here}.createTime")
    trade_type = to_text(base.get("tradeType"), f"{here}.tradeType")
    pay_by = None
    for i, term in enumerate(to_list(container.get("tradeTerms"), f"{where}.tradeTerms")):
        term = expect_dict(term, f"{where}.tradeTerms[{i}]")
        pay_by = pay_by or parse_time(
            term.get("expectPayTime"), f"{where}.tradeTerms[{i}].expectPayTime"
        )
    if pay_by is None and created is not None:
        pay_by = created + ESCROW_PAY_WINDOW
    return OrderDetail(
        order_id=order_id,
        status=to_text(base.get("status"), f"{here}.status") or "",
        total_amount=to_yuan(base.get("totalAmount"), f"{here}.totalAmount", warnings),
        shipping_fee=to_yuan(base.get("shippingFee"), f"{here}.shippingFee", warnings),
        sum_product_payment=to_yuan(
            base.get("sumProductPayment"), f"{here}.sumProductPayment", warnings
        ),
        discount_fen=to_fen(base.get("discount"), f"{here}.discount"),
        refund_fen=to_fen(base.get("refundPayment"), f"{here}.refundPayment"),
        created_at=created,
        pay_by=pay_by,
        trade_type=trade_type,
        buyer_message=to_text(
            base.get("buyerFeedback") or base.get("buyerMemo") or base.get("message"),
            f"{here}.buyerFeedback",
        )
        or "",
        warnings=tuple(warnings),
        trace_id=trace_id,
        raw_body=stored,
    )


def order_detail(
    config: GatewayConfig, *, order_id: str, session: requests.Session | None = None
) -> OrderDetail:
    """Read one order as the buyer sees it (a read: retried where safe)."""
    body = {**config.credentials(), "webSite": "1688", "orderId": order_id}
    answer, _attempts = _call(
        config, ORDER_DETAIL_PATH, body, parse_detail_body, retry=True, session=session
    )
    return answer


# --------------------------------------------------------------------------- buyer's orders


@dataclass(frozen=True)
class BuyerOrders:
    """One page of the buyer's recent orders, newest first."""

    orders: tuple[OrderDetail, ...]
    total: int | None


def buyer_orders_body(
    config: GatewayConfig, *, created_after: datetime, page: int, page_size: int = 50
) -> dict:
    """The request of the buyer's order list. Assumed (the gateway's page does not name
    the endpoint): 1688's getBuyerOrderList parameters, `webSite`, `page`, `pageSize`,
    `createStartTime` in 1688's time format."""
    return {
        **config.credentials(),
        "webSite": "1688",
        "page": page,
        "pageSize": page_size,
        "createStartTime": format_time(created_after),
    }


def parse_buyer_orders_body(
    text: str, *, secrets: Sequence[str] = (), http_status: int = 200
) -> BuyerOrders:
    """Parse a page of the buyer's orders: `data.result` a list of orders in the shape
    of order detail (`baseInfo` each), `data.totalRecord` their number (assumed shape)."""
    return parse_body(
        text, _buyer_orders_data, secrets=secrets, http_status=http_status, what="order list"
    )


def _buyer_orders_data(data: dict, trace_id: str | None, stored: str) -> BuyerOrders:
    items = to_list(data.get("result"), "result")
    orders = tuple(
        _order_view(expect_dict(item, f"result[{i}]"), f"result[{i}]", trace_id, "")
        for i, item in enumerate(items)
    )
    return BuyerOrders(orders=orders, total=to_int(data.get("totalRecord"), "totalRecord"))


def buyer_orders(
    config: GatewayConfig,
    *,
    created_after: datetime,
    page: int = 1,
    page_size: int = 50,
    session: requests.Session | None = None,
) -> BuyerOrders:
    """One page of the buyer's orders created after `created_after` (a read)."""
    body = buyer_orders_body(config, created_after=created_after, page=page, page_size=page_size)
    answer, _attempts = _call(
        config,
        config.buyer_order_list_path,
        body,
        parse_buyer_orders_body,
        retry=True,
        session=session,
    )
    return answer


def find_orders_by_marker(
    config: GatewayConfig,
    *,
    marker: str,
    created_after: datetime,
    max_pages: int = 10,
    session: requests.Session | None = None,
) -> list[OrderDetail]:
    """The buyer's orders since `created_after` whose message holds `marker` (a create
    split by 1688 makes several, all with the same message)."""
    found: list[OrderDetail] = []
    for page in range(1, max_pages + 1):
        answer = buyer_orders(config, created_after=created_after, page=page, session=session)
        found += [order for order in answer.orders if marker in order.buyer_message]
        seen = page * 50
        if not answer.orders or (answer.total is not None and seen >= answer.total):
            break
    return found


# --------------------------------------------------------------------------- payment links


@dataclass(frozen=True)
class PaymentUrl:
    """The payment page of a batch of orders."""

    url: str
    trace_id: str | None


def payment_query(config: GatewayConfig, *, order_ids: Sequence[str]) -> dict[str, str]:
    """The query of a payment-link call: `orderIdList` as a JSON list of the ids' digits
    (never through a float), authenticated as Product details is (`product_auth`)."""
    if not order_ids or len(order_ids) > MAX_PAYMENT_ORDERS:
        raise ValueError(f"a payment link takes 1 to {MAX_PAYMENT_ORDERS} orders")
    for order_id in order_ids:
        if not str(order_id).isdigit():
            raise ValueError("order ids are digits")
    params = {"appKey": config.app_key, "orderIdList": "[" + ",".join(order_ids) + "]"}
    if config.product_auth == "secret":
        return {**params, "appSecret": config.app_secret}
    return {**params, "sign": sign_params(params, config.app_secret)}


def parse_payment_body(
    text: str, *, secrets: Sequence[str] = (), http_status: int = 200
) -> PaymentUrl:
    """Parse a payment-link answer: `data.payUrl` (an https page of 1688 or Alipay)."""
    return parse_body(
        text, _payment_data, secrets=secrets, http_status=http_status, what="payment link"
    )


def _payment_data(data: dict, trace_id: str | None, stored: str) -> PaymentUrl:
    url = to_text(data.get("payUrl") or data.get("url"), "payUrl")
    if not url or not url.startswith(("https://", "http://")):
        raise Malformed(f"payUrl should be an http(s) address, got {url!r}")
    return PaymentUrl(url=url, trace_id=trace_id)


def payment_url(
    config: GatewayConfig, *, order_ids: Sequence[str], session: requests.Session | None = None
) -> PaymentUrl:
    """The payment page for up to 30 orders (a read: retried where safe)."""
    query = payment_query(config, order_ids=order_ids)
    answer, _attempts = _call(
        config,
        PAYMENT_URL_PATH,
        query,
        parse_payment_body,
        retry=True,
        session=session,
        method="GET",
    )
    return answer


# --------------------------------------------------------------------------- cancel


def cancel_body(config: GatewayConfig, *, order_id: str, reason: str, remark: str = "") -> dict:
    """The cancel request: the schema names the id `tradeID`, the example sends
    `orderId`: both are sent (the one uncertain field, here)."""
    if reason not in CANCEL_REASONS:
        raise ValueError(f"cancelReason must be one of {CANCEL_REASONS}")
    return {
        **config.credentials(),
        "webSite": "1688",
        "tradeID": order_id,
        "orderId": order_id,
        "cancelReason": reason,
        "remark": remark,
    }


def parse_cancel_body(text: str, *, secrets: Sequence[str] = (), http_status: int = 200) -> bool:
    """Parse a cancel answer: True when cancelled; a refusal (`CLOSE_ORDER_TOO_FAST`,
    already paid) raises a REJECTED `GatewayError` with its code."""
    return parse_body(text, _cancel_data, secrets=secrets, http_status=http_status, what="cancel")


def _cancel_data(data: dict, trace_id: str | None, stored: str) -> bool:
    return to_bool(data.get("success"), "success", default=True)


def cancel_order(
    config: GatewayConfig,
    *,
    order_id: str,
    reason: str,
    remark: str = "",
    session: requests.Session | None = None,
) -> bool:
    """Cancel an unpaid order, sent once (`retry=False`)."""
    body = cancel_body(config, order_id=order_id, reason=reason, remark=remark)
    answer, _attempts = _call(
        config, CANCEL_ORDER_PATH, body, parse_cancel_body, retry=False, session=session
    )
    return answer


# --------------------------------------------------------------------------- calling


def _call(config, path, body, parse, *, retry: bool, session, method: str = "POST"):
    # Without a session: the worker's pooled keep-alive `transport.shared_session()`.
    started = time.monotonic()
    try:
        return transport.call(
            config, path, body, parse, retry=retry, session=session, method=method, started=started
        )
    except GatewayError as error:
        error.duration = time.monotonic() - started
        raise
