"""The gateway's order calls (../shared/upstream/orders.md): units per field, order ids
as strings, lost answers told apart from refusals, credentials in no stored body, and
the ordering settings. Parsing from literal bodies; calls over real HTTP to the sandbox."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import requests

from previews import gateway

from .ordering import config, creates_sent, offer, sandbox_orders
from .processes import sandbox_process
from .test_settings import run_python

ADDRESS = {
    "fullName": "张三", "mobile": "13812345678", "phone": "0571-88886666",
    "postCode": "310051", "cityText": "杭州市", "provinceText": "浙江省",
    "areaText": "滨江区", "townText": "长河街道", "address": "网商路699号",
    "districtCode": "330108",
}  # fmt: skip
BIG_ID = "4012345678901234567"  # > 2^53: a float would make it 4012345678901234688


def envelope(data) -> str:
    return json.dumps({"code": 200, "message": "ok", "data": data, "traceId": "t1"})


# --------------------------------------------------------------------------- parsing


def test_an_order_id_stays_exact_as_text_or_as_a_json_number():
    assert int(BIG_ID) > 2**53 and float(BIG_ID) != int(BIG_ID)
    text = envelope({"success": True, "orderId": BIG_ID, "totalSuccessAmount": 1671,
                     "postFee": 350})  # fmt: skip
    answer = gateway.parse_create_body(text)
    assert answer.orders == (gateway.CreatedOrder(BIG_ID, 1671, 350),)
    number = '{"code":200,"data":{"success":true,"orderId":ID,"totalSuccessAmount":1}}'
    number = number.replace("ID", BIG_ID)
    assert gateway.parse_create_body(number).orders[0].order_id == BIG_ID
    for lossy in ("4.012345678901235E18", "4012345678901234567.0"):
        body = '{"code":200,"data":{"success":true,"orderId":ID}}'.replace("ID", lossy)
        with pytest.raises(gateway.GatewayError) as caught:
            gateway.parse_create_body(body)
        assert caught.value.kind == "malformed" and "orderId" in caught.value.reason


def test_several_orders_have_no_total_and_their_own_amounts_in_fen():
    text = envelope({
        "success": True, "totalSuccessAmount": None,
        "orderList": [{"orderId": BIG_ID, "postFee": 350, "orderAmmount": 20338},
                      {"orderId": "4012345678901242486", "postFee": 0, "orderAmmount": 990}],
        "failedOfferList": [{"offerId": 655123000975, "specId": None, "errorCode": "500_004",
                             "errorMessage": "库存不足"}],
    })  # fmt: skip
    answer = gateway.parse_create_body(text)
    assert answer.total_success_fen is None
    assert [(o.order_id, o.total_fen, o.post_fee_fen) for o in answer.orders] == [
        (BIG_ID, 20338, 350), ("4012345678901242486", 990, 0),
    ]  # fmt: skip
    assert answer.failed_lines[0].offer_id == 655123000975
    assert answer.failed_lines[0].error_code == "500_004"


def test_a_refused_create_keeps_its_code_and_words_and_is_not_unknown():
    text = envelope({"success": False, "code": "400", "message": "AddressId invalid"})
    with pytest.raises(gateway.GatewayError) as caught:
        gateway.parse_create_body(text)
    error = caught.value
    assert (error.kind, error.error_code, error.message) == ("rejected", "400", "AddressId invalid")
    assert not gateway.outcome_unknown(error)


def test_order_detail_amounts_are_yuan_but_discount_and_refund_are_fen():
    text = envelope({"result": {"baseInfo": {
        "id": int(BIG_ID), "idOfStr": BIG_ID, "status": "waitbuyerpay",
        "totalAmount": 208.38, "shippingFee": 8.5, "sumProductPayment": "199.88",
        "discount": 0, "refundPayment": 150, "createTime": "20261127100000000+0800",
        "buyerFeedback": "hello [wb:T1]",
    }}})  # fmt: skip
    detail = gateway.parse_detail_body(text)
    assert detail.order_id == BIG_ID
    assert (detail.total_amount, detail.shipping_fee) == (Decimal("208.38"), Decimal("8.5"))
    assert detail.sum_product_payment == Decimal("199.88")
    assert (detail.discount_fen, detail.refund_fen) == (0, 150)
    assert detail.created_at == datetime(2026, 11, 27, 2, 0, tzinfo=UTC)
    assert detail.pay_by == detail.created_at + timedelta(days=5)  # escrow's window
    assert detail.warnings == ()


def test_a_yuan_amount_finer_than_a_fen_is_reported_not_rounded():
    text = envelope({"baseInfo": {"idOfStr": BIG_ID, "status": "waitbuyerpay",
                                  "totalAmount": "208.385"}})  # fmt: skip
    detail = gateway.parse_detail_body(text)
    assert detail.total_amount == Decimal("208.385")
    assert detail.warnings and "not a whole number of fen" in detail.warnings[0]


@pytest.mark.parametrize(
    ("kind", "status", "unknown"),
    [
        ("timeout", None, True), ("connection", None, True), ("malformed", 200, True),
        ("busy", 200, True), ("http", 502, True), ("http", 500, True),
        ("http", 400, False), ("rate_limited", 429, False), ("rejected", 200, False),
    ],
)  # fmt: skip
def test_a_lost_answer_is_told_apart_from_a_refusal(kind, status, unknown):
    error = gateway.GatewayError(gateway.ErrorKind(kind), "x", retryable=True, http_status=status)
    assert gateway.outcome_unknown(error) is unknown


def test_the_marker_is_in_the_message_within_500_characters():
    message = gateway.order_message("T20261127ABC", "请尽快发货" * 200)
    assert len(message) == 500 and message.endswith(gateway.order_marker("T20261127ABC"))
    assert gateway.order_message("T1") == "[wb:T1]"


def test_the_create_body_sends_only_the_documented_fields():
    cfg = gateway.GatewayConfig(base_url="http://sandbox", app_key="k", app_secret="s")
    body = gateway.create_body(
        cfg, third_order_id="T1", flow="general", message="[wb:T1]",
        address_param=ADDRESS, cargo_params=[{"offerId": 1, "quantity": 2}],
    )  # fmt: skip
    assert set(body) == {"appKey", "appSecret", "thirdOrderId", "flow", "message",
                         "isvBizType", "addressParam", "cargoParamList"}  # fmt: skip
    assert body["isvBizType"] == "cross"
    with pytest.raises(ValueError, match="50"):
        gateway.create_body(
            cfg, third_order_id="T1", flow="general", message="",
            address_param=ADDRESS, cargo_params=[{"offerId": 1, "quantity": 1}] * 51,
        )  # fmt: skip


# --------------------------------------------------------------------------- over HTTP

KEY, SECRET = "order-key-7Hq2", 'order-secret-Zp9!x/"y'


@pytest.fixture(scope="module")
def signed_sandbox():
    with sandbox_process("--app-key", KEY, "--app-secret", SECRET, "--cancel-too-fast", "0") as url:
        yield url


def signed_config(url):
    return config(url, app_key=KEY, app_secret=SECRET)


def create(url, scenario, third="T1", **overrides):
    return gateway.create_order(
        signed_config(url), third_order_id=third, flow="general",
        message=gateway.order_message(third), address_param=ADDRESS,
        cargo_params=[{"offerId": offer(scenario), "quantity": 2}], **overrides,
    )  # fmt: skip


def test_a_create_is_sent_once_even_when_its_answer_is_lost(signed_sandbox):
    before, held = creates_sent(signed_sandbox), len(sandbox_orders(signed_sandbox))
    for scenario in (971, 972, 973):
        with pytest.raises(gateway.GatewayError) as caught:
            create(signed_sandbox, scenario, third=f"T{scenario}")
        assert gateway.outcome_unknown(caught.value), scenario
    assert creates_sent(signed_sandbox) == before + 3  # no retry of a create
    assert len(sandbox_orders(signed_sandbox)) == held + 3  # each made its order


def test_credentials_are_in_no_stored_answer(signed_sandbox):
    answer = create(signed_sandbox, 970, third="T-cred")
    with pytest.raises(gateway.GatewayError) as refused:
        create(signed_sandbox, 974, third="T-refused")
    detail = gateway.order_detail(signed_config(signed_sandbox), order_id=answer.orders[0].order_id)
    link = gateway.payment_url(signed_config(signed_sandbox), order_ids=[detail.order_id])
    for stored in (answer.raw_body, refused.value.raw_body, refused.value.reason, detail.raw_body):
        assert KEY not in stored and SECRET not in stored
    calls = requests.get(f"{signed_sandbox}/calls", timeout=5).json()
    assert not [url for url in calls["urls"] if SECRET in url or "appSecret" in url]
    assert link.url.endswith(detail.order_id)


def test_the_buyer_orders_find_a_create_by_its_marker(signed_sandbox):
    since = datetime.now(UTC) - timedelta(minutes=1)
    create(signed_sandbox, 970, third="T-find-1")
    create(signed_sandbox, 970, third="T-find-2")
    found = gateway.find_orders_by_marker(
        signed_config(signed_sandbox), marker=gateway.order_marker("T-find-2"), created_after=since
    )
    held = {o["thirdOrderId"]: o["orderId"] for o in sandbox_orders(signed_sandbox)}
    assert [o.order_id for o in found] == [held["T-find-2"]]


def test_cancel_sends_both_id_fields_and_a_paid_order_is_refused(signed_sandbox):
    cfg = signed_config(signed_sandbox)
    order_id = create(signed_sandbox, 970, third="T-cancel").orders[0].order_id
    assert gateway.cancel_order(cfg, order_id=order_id, reason="buyerCancel") is True
    assert gateway.order_detail(cfg, order_id=order_id).status == "cancel"
    paid = create(signed_sandbox, 979, third="T-paid").orders[0].order_id
    with pytest.raises(gateway.GatewayError) as caught:
        gateway.cancel_order(cfg, order_id=paid, reason="other")
    assert caught.value.error_code == "ORDER_STATUS_NOT_SUPPORT"
    body = gateway.cancel_body(cfg, order_id=paid, reason="other", remark="x")
    assert (body["tradeID"], body["orderId"], body["webSite"]) == (paid, paid, "1688")
    with pytest.raises(ValueError):
        gateway.cancel_body(cfg, order_id=paid, reason="because")


def test_payment_links_take_at_most_thirty_ids():
    cfg = gateway.GatewayConfig(base_url="http://sandbox", app_key="k", app_secret="s")
    query = gateway.payment_query(cfg, order_ids=[BIG_ID, "1"])
    assert query["orderIdList"] == f"[{BIG_ID},1]" and "appSecret" not in query
    with pytest.raises(ValueError):
        gateway.payment_query(cfg, order_ids=["1"] * 31)


# --------------------------------------------------------------------------- settings

READ_ORDERING = """
import json, django
from django.conf import settings
django.setup()
from previews import orders
from previews.execution import gateway_config
print(json.dumps({
    "enabled": orders.ordering_enabled(),
    "self": settings.ORDER_SELF_APPROVAL, "limit": settings.ORDER_SELF_APPROVAL_LIMIT_FEN,
    "tolerance": settings.ORDER_PRICE_TOLERANCE_FEN,
    "isv": gateway_config().isv_biz_type, "list": gateway_config().buyer_order_list_path,
}))
"""


def ordering_settings(tmp_path, **env) -> dict:
    result = run_python(READ_ORDERING, env, tmp_path)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_ordering_settings_and_their_defaults(tmp_path):
    production = ordering_settings(tmp_path)
    assert production == {"enabled": False, "self": False, "limit": None, "tolerance": 0,
                          "isv": "cross", "list": "/alibaba/trade/getBuyerOrderList"}  # fmt: skip
    assert ordering_settings(tmp_path, DAJI_API_URL="http://127.0.0.1:8001")["enabled"] is True
    assert ordering_settings(tmp_path, DAJI_ORDERING_ENABLED="true")["enabled"] is True
    assert (
        ordering_settings(
            tmp_path, DAJI_API_URL="http://127.0.0.1:8001", DAJI_ORDERING_ENABLED="false"
        )["enabled"]
        is False
    )
    chosen = ordering_settings(
        tmp_path, ORDER_SELF_APPROVAL="yes", ORDER_SELF_APPROVAL_LIMIT_FEN="100000",
        ORDER_PRICE_TOLERANCE_FEN="50", DAJI_ISV_BIZ_TYPE="other",
        DAJI_BUYER_ORDER_LIST_PATH="/x/list",
    )  # fmt: skip
    assert (chosen["self"], chosen["limit"], chosen["tolerance"]) == (True, 100000, 50)
    assert (chosen["isv"], chosen["list"]) == ("other", "/x/list")


@pytest.mark.parametrize(
    ("variable", "value"),
    [("DAJI_ORDERING_ENABLED", "perhaps"), ("ORDER_PRICE_TOLERANCE_FEN", "1.5"),
     ("ORDER_SELF_APPROVAL_LIMIT_FEN", "-1")],
)  # fmt: skip
def test_a_malformed_ordering_setting_stops_start_up(tmp_path, variable, value):
    result = run_python(READ_ORDERING, {variable: value}, tmp_path)
    assert result.returncode != 0 and variable in result.stderr
