"""Typed parsing of the gateway's answers: tolerance, units, never a float."""

import json
from decimal import Decimal

import pytest

from previews.gateway import ErrorKind, GatewayError, parse_preview_body, redacted_body


def body(records=None, **data_overrides):
    data = {
        "orderPreviewResuslt": records if records is not None else [record()],
        "success": True,
        "errorCode": None,
        "errorMsg": None,
        "postFeeByDescOfferList": None,
        "consignOfferList": None,
        "unsupportedCrossBorderPayOfferList": [],
    }
    data.update(data_overrides)
    return {"code": 200, "message": "操作成功", "data": data, "timestamp": 1, "traceId": "t1"}


def record(**overrides):
    value = {
        "sumPayment": 1671,
        "sumCarriage": 350,
        "sumPaymentNoCarriage": 1321,
        "status": True,
        "cargoList": [{"offerId": 1, "amount": 13.21, "finalUnitPrice": 13.9}],
    }
    value.update(overrides)
    return value


def parse(document) -> object:
    return parse_preview_body(json.dumps(document) if not isinstance(document, str) else document)


def test_nulls_everywhere_are_tolerated():
    nulls = record(
        discountFee=None, additionalFee=None, message=None, resultCode=None, flowFlag=None,
        tradeModeNameList=None, tradeModelList=None, shopPromotionList=None,
        payChannelList=None, payChannelInfos=None, taoSampleSinglePromotion=None,
        cargoList=[{"offerId": None, "amount": None, "finalUnitPrice": None,
                    "cargoPromotionList": None, "specId": None, "skuId": None}],
    )  # fmt: skip
    answer = parse(body([nulls], unsupportedCrossBorderPayOfferList=None))
    (rec,) = answer.records
    assert rec.discount_fen is None and rec.trade_mode_names == () and rec.shop_promotions == ()
    assert rec.lines[0].amount is None and rec.lines[0].promotions == ()
    assert answer.unsupported_cross_border_pay_offer_ids == ()


def test_absent_optional_and_unknown_fields():
    document = body([record(orderGroup="x", canUseOfficialSolution=True, extPairList=[{"a": 1}])])
    document["data"]["somethingNew"] = {"nested": [1, 2]}
    document["extra"] = True
    answer = parse(document)
    assert answer.records[0].sum_payment_fen == 1671
    assert answer.records[0].status is True


def test_corrected_spelling_is_accepted_too():
    document = body()
    document["data"]["orderPreviewResult"] = document["data"].pop("orderPreviewResuslt")
    assert parse(document).records[0].sum_carriage_fen == 350


def test_totals_in_the_millions_of_yuan_stay_exact():
    big = record(
        sumPayment=123_456_789_012,
        sumPaymentNoCarriage=123_456_788_662,
        cargoList=[{"amount": 1234567886.62, "finalUnitPrice": 9999999.99}],
    )
    (rec,) = parse(body([big])).records
    assert rec.sum_payment_fen == 123_456_789_012
    assert rec.lines[0].amount == Decimal("1234567886.62")
    assert rec.lines[0].final_unit_price == Decimal("9999999.99")


def test_no_float_anywhere_in_an_answer():
    answer = parse(body())

    def walk(value):
        assert not isinstance(value, float), value
        if hasattr(value, "__dataclass_fields__"):
            for name in value.__dataclass_fields__:
                if name != "duration":  # seconds, not money
                    walk(getattr(value, name))
        elif isinstance(value, tuple | list):
            for item in value:
                walk(item)

    walk(answer)


def test_yuan_finer_than_a_fen_is_reported_not_rounded():
    answer = parse(body([record(cargoList=[{"amount": 13.215}])]))
    assert answer.records[0].lines[0].amount == Decimal("13.215")
    assert any("not a whole number of fen" in w for w in answer.warnings)


def test_fen_with_a_fraction_is_malformed():
    with pytest.raises(GatewayError) as caught:
        parse(body([record(sumPayment=16.71)]))
    assert caught.value.kind is ErrorKind.MALFORMED and "sumPayment" in caught.value.reason


@pytest.mark.parametrize(
    "broken",
    [
        record(sumPayment="lots"),
        record(status="yes"),
        record(cargoList={"not": "a list"}),
        record(cargoList=[{"amount": "abc"}]),
        record(cargoList=[{"amount": True}]),
        record(payChannelInfos=[{"name": "alipay", "amountLimit": "x"}]),
    ],
)
def test_wrong_types_are_malformed_with_the_field_named(broken):
    with pytest.raises(GatewayError) as caught:
        parse(body([broken]))
    assert caught.value.kind is ErrorKind.MALFORMED and not caught.value.retryable
    assert "orderPreviewResuslt[0]" in caught.value.reason


@pytest.mark.parametrize("text", ["", "null", "[]", '"text"', "{", '{"code": 200}'])
def test_answers_missing_what_must_be_there(text):
    with pytest.raises(GatewayError) as caught:
        parse(text)
    assert caught.value.kind is ErrorKind.MALFORMED


def test_success_false_keeps_error_code_and_message():
    with pytest.raises(GatewayError) as caught:
        parse(body(None, success=False, errorCode="500_004", errorMsg="库存不足"))
    error = caught.value
    assert error.kind is ErrorKind.REJECTED and error.error_code == "500_004"
    assert "库存不足" in error.reason and error.message == "库存不足"
    assert "lower the quantity" not in error.reason  # the failure catalogue explains the code


BUSY = "系统繁忙,请稍后再试"


@pytest.mark.parametrize(
    ("answer", "kind"),
    [
        ({"code": 500, "message": BUSY, "data": None}, ErrorKind.BUSY),
        ({"code": 500, "message": "", "data": None}, ErrorKind.BUSY),  # the gateway's own 5xx
        ({"code": 503, "message": "Service Unavailable"}, ErrorKind.BUSY),
        ({"code": 1009, "message": "预览订单失败", "data": {"errorMsg": BUSY}}, ErrorKind.BUSY),
        (body(None, success=False, errorCode="SYSTEM_BUSY", errorMsg=BUSY), ErrorKind.BUSY),
        ({"error_code": "isp.unknown-error", "error_message": BUSY}, ErrorKind.BUSY),
        # a documented business code is a refusal, whatever the envelope or message say
        ({"code": 500, "message": BUSY, "data": {"errorCode": "500_004"}}, ErrorKind.REJECTED),
        ({"code": 500004, "message": "库存不足,请稍后再试"}, ErrorKind.REJECTED),
        (body(None, success=False, errorCode="500_005", errorMsg=BUSY), ErrorKind.REJECTED),
        # "check, then retry" asks the buyer to change something: a refusal
        (
            {
                "code": 1009,
                "message": "失败",
                "data": {"result": {"errorInfo": "订单信息不存在,请核对后重试"}},
            },
            ErrorKind.REJECTED,
        ),
        ({"code": 1001, "message": "appKey无效"}, ErrorKind.REJECTED),
    ],
)
def test_busy_is_temporary_and_documented_codes_stay_refusals(answer, kind):
    with pytest.raises(GatewayError) as caught:
        parse(answer)
    assert caught.value.kind is kind
    assert caught.value.retryable is (kind is ErrorKind.BUSY)


def test_redacted_body_blanks_credential_fields_and_values():
    raw = json.dumps({"appKey": "k-123", "nested": {"appSecret": "s-456"}, "note": "s-456 k-123"})
    cleaned = redacted_body(raw, ["k-123", "s-456"])
    assert "k-123" not in cleaned and "s-456" not in cleaned
    assert json.loads(cleaned)["appKey"] == "[redacted]"


def test_amounts_beyond_a_64_bit_fen_are_malformed_not_a_crash():
    for changes in ({"sumPayment": 10**20}, {"cargoList": [{"amount": 1e26}]}):
        with pytest.raises(GatewayError) as caught:
            parse(body([record(**changes)]))
        assert "out of range" in caught.value.reason


def test_many_decimals_in_range_are_exact_and_reported():
    answer = parse(body([record(cargoList=[{"amount": "12345678901234567.123456789"}])]))
    assert answer.records[0].lines[0].amount == Decimal("12345678901234567.123456789")
    assert answer.warnings
