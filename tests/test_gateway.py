"""The gateway client against the sandbox over real HTTP (no mocked `requests`)."""

import logging
from decimal import Decimal

import pytest
from django.utils import translation

from previews.failures import refusal_explanation
from previews.gateway import (
    PREVIEW_PATH,
    Address,
    Cargo,
    ErrorKind,
    GatewayConfig,
    GatewayError,
    build_body,
    parse_preview_body,
    preview_order,
    transport,
)

from .processes import free_port, sandbox_process

ADDRESS = Address(
    full_name="张三",
    mobile="18888888888",
    phone="18888888888",
    post_code="310051",
    province_text="浙江省",
    city_text="杭州市",
    area_text="滨江区",
    town_text="长河镇",
    address="网商路699号",
    district_code="330108",
)
EXAMPLE = Cargo(offer_id=670291644950, spec_id="594b40c111b019af610a0078e4316373", quantity=1)
SELLER = 612345  # sandbox: seller = offerId // 1_000_000


def offer(scenario: int, seller: int = SELLER) -> int:
    return seller * 1_000_000 + 1000 + scenario


def config(url: str, **overrides) -> GatewayConfig:
    values = {
        "base_url": url,
        "app_key": "",
        "app_secret": "",
        "read_timeout": 2.0,
        "connect_timeout": 1.0,
        "max_attempts": 3,
        "retry_budget": 10.0,
        "backoff_base": 0.01,
    }
    values.update(overrides)
    return GatewayConfig(**values)


def preview(url, cargo, **kwargs):
    flow = kwargs.pop("flow", "general")
    return preview_order(config(url, **kwargs), address=ADDRESS, cargo=cargo, flow=flow)


def failure(url, cargo, **kwargs) -> GatewayError:
    with pytest.raises(GatewayError) as caught:
        preview(url, cargo, **kwargs)
    return caught.value


def test_worked_example_of_the_reference_to_the_fen(sandbox_url):
    answer = preview(sandbox_url, [EXAMPLE])
    (record,) = answer.records
    assert record.sum_payment_fen == 1671
    assert record.sum_carriage_fen == 350
    assert record.sum_payment_no_carriage_fen == 1321
    assert record.status is True and record.flow_flag == "general"
    (line,) = record.lines
    assert line.final_unit_price == Decimal("13.90") and type(line.final_unit_price) is Decimal
    assert line.amount == Decimal("13.21") and type(line.amount) is Decimal
    assert line.offer_id == 670291644950 and line.spec_id == EXAMPLE.spec_id
    (promotion,) = line.promotions
    assert promotion.discount_fen == 69 and promotion.text == "省0.69:PLUS会员价"
    assert promotion.description_html == "<ul><li>PLUS会员价:省0.69元</li></ul>"
    assert record.trade_mode_names == ("assureTrade",) and record.can_order_through_api
    assert {c.name: c.amount_limit_fen for c in record.pay_channels} == {
        "alipay": None,
        "shegou": 30000,
    }
    assert len(answer.trace_id) == 12 and answer.attempts == 1
    assert '"orderPreviewResuslt"' in answer.raw_bodies[0]


def test_empty_flow_lets_the_gateway_choose_and_says_which(sandbox_url):
    answer = preview(sandbox_url, [EXAMPLE], flow="")
    assert answer.records[0].flow_flag == "general"


def test_split_order_comes_back_as_several_records(sandbox_url):
    answer = preview(sandbox_url, [Cargo(offer(100), 2), Cargo(offer(700), 3)])
    assert len(answer.records) == 2
    assert [len(r.lines) for r in answer.records] == [1, 1]
    assert answer.records[1].lines[0].offer_id == offer(700)


def test_offer_lists_and_api_orderability(sandbox_url):
    answer = preview(
        sandbox_url,
        [Cargo(offer(812), 1), Cargo(offer(822), 1), Cargo(offer(832), 1)],
    )
    assert answer.post_fee_by_desc_offer_ids == (str(offer(812)),)
    assert answer.unsupported_cross_border_pay_offer_ids == (str(offer(822)),)
    assert answer.records[0].trade_mode_names == ()
    assert answer.records[0].can_order_through_api is False


def test_shop_promotion_and_record_discount(sandbox_url):
    answer = preview(sandbox_url, [Cargo(offer(100), 200)])
    record = answer.records[0]
    assert record.discount_fen == 2000
    assert record.shop_promotions[0].text == "满300减20"
    line = record.lines[0]
    goods_fen = int(line.amount * 100)
    assert record.sum_payment_no_carriage_fen == goods_fen - 2000
    assert record.sum_payment_fen == record.sum_payment_no_carriage_fen + record.sum_carriage_fen


@pytest.mark.parametrize(
    ("scenario", "code"), [(901, "500_001"), (903, "500_003")], ids=["offline", "spec"]
)
def test_refusal_is_a_typed_error_with_the_gateways_words_and_no_retry(sandbox_url, scenario, code):
    error = failure(sandbox_url, [Cargo(offer(scenario), 1)])
    assert error.kind is ErrorKind.REJECTED and error.retryable is False
    assert error.error_code == code and error.attempts == 1
    assert error.trace_id and error.message and error.message in error.reason
    # the explanation is the failure catalogue's, in the reader's language, not the error's
    with translation.override("en"):
        assert refusal_explanation(code) not in error.reason


def test_refusal_codes_are_explained_in_english_and_chinese():
    with translation.override("en"):
        assert "lower the quantity" in refusal_explanation("500_004")
    with translation.override("zh-hans"):
        assert "库存不足" in refusal_explanation("500004")
    assert all(refusal_explanation(f"500_00{n}") for n in range(1, 10))
    assert refusal_explanation("999_999") is None


def test_out_of_stock_line_is_data_not_an_error(sandbox_url):
    answer = preview(sandbox_url, [Cargo(offer(904), 2), Cargo(offer(100), 1)])
    record = answer.records[0]
    assert record.status is False and record.result_code == "500_004"
    assert [line.result_code for line in record.lines] == ["500_004", None]
    assert "库存不足" in record.lines[0].message


def test_below_minimum_quantity_and_mixed_batch(sandbox_url):
    assert preview(sandbox_url, [Cargo(offer(905), 5)]).records[0].result_code == "500_005"
    assert preview(sandbox_url, [Cargo(offer(905), 10)]).records[0].status is True
    small = preview(sandbox_url, [Cargo(offer(906), 1)]).records[0]
    assert (small.status, small.result_code) == (False, "500_006")


def test_a_call_that_must_not_be_sent_twice_is_not_retried(sandbox_url):
    """`retry=False` (creating an order): a retryable failure is reported after one attempt."""
    cfg = config(sandbox_url)
    body = build_body(cfg, ADDRESS, [Cargo(offer(954), 7)], "general")
    with transport.new_session() as session:
        with pytest.raises(GatewayError) as caught:
            transport.call(
                cfg, PREVIEW_PATH, body, parse_preview_body, session=session, retry=False
            )
        assert caught.value.retryable and caught.value.kind is ErrorKind.HTTP
        assert caught.value.attempts == 1
        answer, attempts = transport.call(
            cfg, PREVIEW_PATH, body, parse_preview_body, retry=False, session=session
        )
    assert attempts == 1 and answer.records  # the sandbox answers the second call


def test_server_error_with_html_body_is_retried_then_reported(sandbox_url):
    error = failure(sandbox_url, [Cargo(offer(950), 1)])
    assert error.kind is ErrorKind.HTTP and error.http_status == 500
    assert error.retryable and error.attempts == 3
    assert "server error (HTTP 500)" in error.reason and "nginx" in error.reason


def test_http_429_is_rate_limited_and_retried(sandbox_url):
    error = failure(sandbox_url, [Cargo(offer(951), 1)], max_attempts=2)
    assert error.kind is ErrorKind.RATE_LIMITED and error.attempts == 2


def test_frequency_limit_error_code_is_rate_limited(sandbox_url):
    error = failure(sandbox_url, [Cargo(offer(957), 1)])
    assert error.kind is ErrorKind.RATE_LIMITED and error.error_code == "gw.QosAppFrequencyLimit"
    assert error.attempts == 3


def test_slow_answer_times_out_and_is_retried_within_bounds(sandbox_url):
    error = failure(sandbox_url, [Cargo(offer(952), 1)], read_timeout=0.3, max_attempts=2)
    assert error.kind is ErrorKind.TIMEOUT and error.attempts == 2
    assert "did not answer within 0.3 s" in error.reason


def test_retry_budget_bounds_total_time(sandbox_url):
    error = failure(
        sandbox_url,
        [Cargo(offer(952), 1)],
        read_timeout=0.3,
        max_attempts=10,
        retry_budget=0.5,
        backoff_base=0.2,
    )
    assert error.attempts < 10 and error.duration < 2.0


def test_body_that_is_not_json_is_malformed_and_not_retried(sandbox_url):
    error = failure(sandbox_url, [Cargo(offer(953), 1)])
    assert error.kind is ErrorKind.MALFORMED and error.attempts == 1
    assert "not JSON" in error.reason


def test_json_without_data_is_malformed(sandbox_url):
    error = failure(sandbox_url, [Cargo(offer(956), 1)])
    assert error.kind is ErrorKind.MALFORMED and "data should be an object" in error.reason


def test_failure_that_clears_on_retry(sandbox_url):
    answer = preview(sandbox_url, [Cargo(offer(954), 4)])
    assert answer.attempts == 2 and answer.records[0].status is True


def test_busy_gateway_is_temporary_and_clears_on_retry(sandbox_url):
    """`code: 500` "系统繁忙,请稍后再试" is the gateway busy, not a refusal: asked again."""
    answer = preview(sandbox_url, [Cargo(offer(960, seller=SELLER + 60), 2)])
    assert answer.attempts == 2 and answer.records[0].status is True


def test_always_busy_gateway_is_retried_within_the_budget_then_temporary(sandbox_url):
    error = failure(sandbox_url, [Cargo(offer(961), 1)])
    assert error.kind is ErrorKind.BUSY and error.retryable and error.attempts == 3
    assert "系统繁忙" in error.reason and "busy for now" in error.reason
    assert refusal_explanation(error.error_code) is None  # not one of 1688's refusals
    budget = failure(
        sandbox_url, [Cargo(offer(961), 1)], max_attempts=10, retry_budget=0.5, backoff_base=0.2
    )
    assert budget.kind is ErrorKind.BUSY and budget.attempts < 10 and budget.duration < 2.0


def test_code_1009_keeps_the_message_and_nested_error(sandbox_url):
    error = failure(sandbox_url, [Cargo(offer(955), 1)])
    assert error.kind is ErrorKind.REJECTED and not error.retryable
    assert "code 1009" in error.reason and "订单信息不存在" in error.reason
    assert error.error_code == "4003"


def test_connection_refused_is_retried_and_readable():
    url = f"http://127.0.0.1:{free_port()}"
    error = failure(url, [EXAMPLE], max_attempts=2)
    assert error.kind is ErrorKind.CONNECTION and error.attempts == 2
    assert "connection refused" in error.reason


def test_strict_checks_reject_in_the_gateway_shape(sandbox_url):
    mixed = failure(sandbox_url, [Cargo(offer(100), 1), Cargo(offer(100, seller=SELLER + 1), 1)])
    assert mixed.error_code == "500_002" and "同一个供应商" in mixed.reason
    with translation.override("en"):
        assert "more than one seller" in refusal_explanation(mixed.error_code)
    zero = failure(sandbox_url, [Cargo(offer(100), 0)])
    assert zero.error_code == "500_005"
    blank = Address(**{**ADDRESS.__dict__, "district_code": ""})
    with pytest.raises(GatewayError) as caught:
        preview_order(config(sandbox_url), address=blank, cargo=[EXAMPLE])
    assert "districtCode" in caught.value.reason
    saleproxy = failure(sandbox_url, [Cargo(offer(100), 1)], flow="saleproxy")
    assert saleproxy.error_code == "500_007"
    assert preview(sandbox_url, [Cargo(offer(841), 1)], flow="saleproxy").consign_offer_ids


def test_more_than_fifty_lines_are_split_and_combined(sandbox_url):
    cargo = [Cargo(offer(100 + n), 1) for n in range(60)]
    answer = preview(sandbox_url, cargo)
    assert len(answer.trace_ids) == 2 and answer.attempts == 2
    offers = [line.offer_id for record in answer.records for line in record.lines]
    assert sorted(offers) == sorted(c.offer_id for c in cargo)


def test_app_key_is_checked_when_configured():
    with sandbox_process("--app-key", "right-key") as url:
        wrong = failure(url, [EXAMPLE], app_key="wrong-key")
        assert wrong.kind is ErrorKind.REJECTED and "1001" in wrong.reason
        assert preview(url, [EXAMPLE], app_key="right-key").records[0].sum_payment_fen == 1671


def test_credentials_appear_nowhere(sandbox_url, caplog):
    key, secret = "KEY-visible-7f3a", "SECRET-visible-91bc"
    caplog.set_level(logging.DEBUG)
    ok = preview(sandbox_url, [EXAMPLE], app_key=key, app_secret=secret)
    echoed = failure(sandbox_url, [Cargo(offer(958), 1)], app_key=key, app_secret=secret)
    broken = failure(sandbox_url, [Cargo(offer(950), 1)], app_key=key, app_secret=secret)
    assert "请求内容" in echoed.reason  # the echo did happen, redacted
    texts = [
        *ok.raw_bodies,
        echoed.reason,
        echoed.raw_body,
        str(echoed),
        broken.raw_body,
        str(broken),
        repr(config(sandbox_url, app_key=key, app_secret=secret)),
        caplog.text,
    ]
    for text in texts:
        assert key not in text and secret not in text
    assert "[redacted]" in echoed.raw_body
