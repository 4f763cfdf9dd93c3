"""Product details (offer lookup) against the sandbox over real HTTP: every scenario, the
signature, the secret kept out of URLs, logs and bodies, retries, and prices that the
sandbox's preview then charges."""

import hashlib
import logging
import re
from decimal import Decimal

import pytest
import requests

from previews.gateway import (
    PRODUCT_DETAIL_PATH,
    Cargo,
    ErrorKind,
    GatewayConfig,
    GatewayError,
    ProductDetail,
    parse_product_body,
    preview_order,
    product_detail,
    product_query,
    sign_params,
)
from previews.sandbox.products import company_name, seller_open_id

from .processes import sandbox_process
from .test_gateway import ADDRESS

APP_KEY = "lookgw-key-7Q"
APP_SECRET = "s3cr&t=lookgw Ω+/"  # characters a query string would have to encode
SELLER = 655001


def offer(scenario: int) -> int:
    return SELLER * 1_000_000 + 3000 + scenario


@pytest.fixture(scope="module")
def signed_sandbox():
    """A sandbox that checks the appKey and the signature of every lookup (slow: 1 s)."""
    with sandbox_process("--app-key", APP_KEY, "--app-secret", APP_SECRET, slow=1.0) as url:
        yield url


def config(url: str, **overrides) -> GatewayConfig:
    values = {
        "base_url": url, "app_key": APP_KEY, "app_secret": APP_SECRET, "read_timeout": 3.0,
        "connect_timeout": 1.0, "max_attempts": 3, "retry_budget": 10.0, "backoff_base": 0.01,
    }  # fmt: skip
    values.update(overrides)
    return GatewayConfig(**values)


def lookup(url: str, scenario: int, **overrides) -> ProductDetail:
    return product_detail(config(url, **overrides), offer_id=offer(scenario))


def lookup_failure(url: str, scenario: int, **overrides) -> GatewayError:
    with pytest.raises(GatewayError) as caught:
        lookup(url, scenario, **overrides)
    return caught.value


def sandbox_calls(url: str) -> dict:
    return requests.get(f"{url}/calls", timeout=5).json()


# --------------------------------------------------------------------------- the signature


def test_sign_matches_an_independent_computation():
    params = {"offerId": "612345001700", "appKey": "k", "country": "en"}
    text = "appKey=k&country=en&offerId=612345001700&secret=" + APP_SECRET
    expected = hashlib.md5(text.encode("utf-8"), usedforsecurity=False).hexdigest().upper()
    assert sign_params(params, APP_SECRET) == expected
    assert re.fullmatch(r"[0-9A-F]{32}", expected)
    assert sign_params({**params, "sign": "ignored"}, APP_SECRET) == expected


def test_the_signed_query_never_carries_the_secret():
    query = product_query(config("http://x.test"), offer_id=612345001700, country="en")
    assert set(query) == {"appKey", "offerId", "country", "sign"}
    assert APP_SECRET not in "".join(query.values())
    assert query["sign"] == sign_params({k: v for k, v in query.items() if k != "sign"}, APP_SECRET)
    # the other form the contract mentions is one setting away
    plain = product_query(config("http://x.test", product_auth="secret"), offer_id=1)
    assert plain["appSecret"] == APP_SECRET and "sign" not in plain
    with pytest.raises(ValueError):
        product_query(config("http://x.test", product_auth="guess"), offer_id=1)


def test_the_sandbox_checks_the_signature_independently(signed_sandbox):
    assert lookup(signed_sandbox, 700).is_published
    error = lookup_failure(signed_sandbox, 700, app_secret="not-the-secret")
    assert error.kind is ErrorKind.REJECTED and error.error_code == "1002"
    assert lookup(signed_sandbox, 700, product_auth="secret").offer_id == offer(700)


def test_secret_in_no_url_log_body_or_error(signed_sandbox, caplog):
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="urllib3")  # its request lines, query and all
    seen_before = len(sandbox_calls(signed_sandbox)["urls"])
    details = [lookup(signed_sandbox, s) for s in (700, 701, 703, 713)]
    errors = [lookup_failure(signed_sandbox, s) for s in (704, 710, 711, 712)]
    urls = [
        u for u in sandbox_calls(signed_sandbox)["urls"][seen_before:] if PRODUCT_DETAIL_PATH in u
    ]
    assert len(urls) >= 4 + 1 + 3 + 3 + 1
    encoded = requests.utils.quote(APP_SECRET, safe="")
    for url in urls:
        assert "sign=" in url and "appSecret" not in url
        assert APP_SECRET not in url and encoded not in url and "s3cr" not in url
    assert "s3cr" not in caplog.text and APP_KEY not in caplog.text
    assert "sign=" not in caplog.text  # urllib3's request lines keep no query
    assert '"GET /alibaba/product/queryProductDetail?[query omitted]' in caplog.text
    for detail in details:
        assert "s3cr" not in detail.raw_body and APP_KEY not in detail.raw_body
    for error in errors:
        for text in (error.reason, error.raw_body, error.message, str(error)):
            assert "s3cr" not in text and APP_KEY not in text


# --------------------------------------------------------------------------- scenarios


def test_700_no_skus_quantity_tiers(signed_sandbox):
    product = lookup(signed_sandbox, 700)
    assert product.offer_id == offer(700) and product.quote_type == 0 and product.skus == ()
    assert [(t.start_quantity, t.price) for t in product.price_tiers] == [
        (1, Decimal("12.00")), (50, Decimal("11.00")), (200, Decimal("10.00")),
    ]  # fmt: skip
    assert all(type(t.price) is Decimal for t in product.price_tiers)
    assert product.is_published and product.status == "published"
    assert product.seller_open_id == seller_open_id(offer(700)) == f"BBBsandbox{SELLER}"
    assert product.company_name == company_name(offer(700))
    assert product.unit == "件" and product.unit_trans == "piece"
    assert product.subject.startswith("不锈钢保温杯") and product.subject_trans
    assert product.trace_id and '"offerId"' in product.raw_body


def test_701_skus_priced_per_sku_and_pictures_http_only(signed_sandbox):
    product = lookup(signed_sandbox, 701)
    assert product.quote_type == 1 and len(product.skus) == 6
    assert product.images == (f"https://cbu01.alicdn.com/img/ibank/sandbox/{offer(701)}-main.jpg",)
    prices = {s.attribute_text: s.price for s in product.skus}
    assert prices["颜色: 红色; 尺码: S"] == Decimal("20.00")
    assert prices["颜色: 蓝色; 尺码: L"] == Decimal("23.00")
    sku = product.skus[0]
    assert re.fullmatch(r"[0-9a-f]{32}", sku.spec_id) and product.sku(sku.spec_id) is sku
    assert sku.promotion_price == Decimal("19.50") and sku.stock == 300
    assert sku.image_url.startswith("https://") and sku.attributes[0].value_trans == "Red"
    assert sku.attributes[1].name == "尺码" and sku.attributes[1].image_url is None
    assert product.sku("0" * 32) is None


def test_702_skus_priced_by_tier(signed_sandbox):
    product = lookup(signed_sandbox, 702)
    assert product.quote_type == 2 and len(product.skus) == 4
    assert [(t.start_quantity, t.price, t.promotion_price) for t in product.price_tiers] == [
        (2, Decimal("20.00"), Decimal("19.00")), (100, Decimal("18.00"), Decimal("17.00")),
    ]  # fmt: skip
    assert product.min_order_quantity == 2


def test_703_withdrawn_is_data_not_an_error(signed_sandbox):
    product = lookup(signed_sandbox, 703)
    assert product.status == "expired" and not product.is_published


def test_704_not_found_is_unavailable_and_not_retried(signed_sandbox):
    before = sandbox_calls(signed_sandbox)["lookups_by_offer"].get(str(offer(704)), 0)
    error = lookup_failure(signed_sandbox, 704)
    assert error.kind is ErrorKind.UNAVAILABLE and error.kind == "unavailable"
    assert not error.retryable and error.attempts == 1
    assert "商品不存在或已下架" in error.message and error.trace_id
    assert sandbox_calls(signed_sandbox)["lookups_by_offer"][str(offer(704))] == before + 1


def test_705_minimum_order_and_lot_size(signed_sandbox):
    product = lookup(signed_sandbox, 705)
    assert product.min_order_quantity == 10 and product.batch_number == 5
    assert product.price_tiers[0].start_quantity == 10


def test_706_forty_skus(signed_sandbox):
    product = lookup(signed_sandbox, 706)
    assert len(product.skus) == 40 and len({s.spec_id for s in product.skus}) == 40
    assert len({s.attributes[0].value for s in product.skus}) == 5
    assert len({s.attributes[1].value for s in product.skus}) == 8


def test_707_zero_stock(signed_sandbox):
    product = lookup(signed_sandbox, 707)
    assert sorted(s.stock for s in product.skus) == [0, 0, 0, 50, 50, 50]
    assert product.stock == 150


def test_708_shop_mixed_batch(signed_sandbox):
    rule = lookup(signed_sandbox, 708).mix_batch
    assert rule.enabled and rule.min_amount == Decimal("500") and rule.min_count == 10
    assert lookup(signed_sandbox, 700).mix_batch.enabled is False


def test_709_slow_and_cut_off_at_the_deadline(signed_sandbox):
    assert lookup(signed_sandbox, 709).price_tiers[0].price == Decimal("12.00")
    error = lookup_failure(signed_sandbox, 709, call_deadline=0.3, max_attempts=1)
    assert error.kind is ErrorKind.TIMEOUT


@pytest.mark.parametrize(
    ("scenario", "kind"), [(710, ErrorKind.HTTP), (711, ErrorKind.RATE_LIMITED)], ids=["500", "429"]
)
def test_710_711_retried_then_given_up(signed_sandbox, scenario, kind):
    before = sandbox_calls(signed_sandbox)["lookups_by_offer"].get(str(offer(scenario)), 0)
    error = lookup_failure(signed_sandbox, scenario)
    assert error.kind is kind and error.retryable and error.attempts == 3
    after = sandbox_calls(signed_sandbox)["lookups_by_offer"][str(offer(scenario))]
    assert after == before + 3


def test_712_not_json(signed_sandbox):
    error = lookup_failure(signed_sandbox, 712)
    assert error.kind is ErrorKind.MALFORMED and error.attempts == 1
    assert "not JSON" in error.reason


def test_713_single_sku(signed_sandbox):
    product = lookup(signed_sandbox, 713)
    (sku,) = product.skus
    assert sku.price == Decimal("15.80") and len(sku.spec_id) == 32


def test_any_other_offer_is_a_plain_offer_at_its_preview_price(signed_sandbox):
    product = lookup(signed_sandbox, 100)
    assert product.skus == () and product.quote_type == 0 and len(product.price_tiers) == 1


def test_failure_envelope_that_is_not_about_the_offer_stays_rejected():
    body = '{"code": 1001, "message": "appKey无效", "data": null}'
    with pytest.raises(GatewayError) as caught:
        parse_product_body(body)
    assert caught.value.kind is ErrorKind.REJECTED


# --------------------------------------------------------------------------- the preview agrees


def preview_prices(url: str, cargo: list[Cargo]) -> dict:
    answer = preview_order(config(url), address=ADDRESS, cargo=cargo, flow="general")
    return {
        (line.offer_id, line.spec_id): (line.final_unit_price, line.amount)
        for record in answer.records
        for line in record.lines
    }


def test_previewing_a_looked_up_sku_charges_the_looked_up_price(signed_sandbox):
    from previews.offers import unit_price

    per_sku = lookup(signed_sandbox, 701)
    red_s, blue_l = per_sku.skus[0], per_sku.skus[-1]
    tiered = lookup(signed_sandbox, 702)
    black_m, white_l = tiered.skus[0], tiered.skus[-1]
    plain = lookup(signed_sandbox, 700)
    single = lookup(signed_sandbox, 713).skus[0]
    cargo = [
        Cargo(offer(701), 3, red_s.spec_id), Cargo(offer(701), 4, blue_l.spec_id),
        Cargo(offer(702), 60, black_m.spec_id), Cargo(offer(702), 50, white_l.spec_id),
        Cargo(offer(700), 49), Cargo(offer(713), 2, single.spec_id),
    ]  # fmt: skip
    charged = preview_prices(signed_sandbox, cargo)
    # the offer's total (110) reaches the tier at 100 for both colours: ¥18.00
    expected = {
        (offer(701), red_s.spec_id): (unit_price(per_sku, red_s.spec_id, 7), 3),
        (offer(701), blue_l.spec_id): (unit_price(per_sku, blue_l.spec_id, 7), 4),
        (offer(702), black_m.spec_id): (unit_price(tiered, black_m.spec_id, 110), 60),
        (offer(702), white_l.spec_id): (unit_price(tiered, white_l.spec_id, 110), 50),
        (offer(700), None): (unit_price(plain, None, 49), 49),
        (offer(713), single.spec_id): (single.price, 2),
    }
    assert unit_price(tiered, black_m.spec_id, 110) == Decimal("18.00")
    assert unit_price(plain, None, 49) == Decimal("12.00")
    for key, (price, quantity) in expected.items():
        assert charged[key] == (price, price * quantity), key
    # one piece more on the plain offer crosses its tier at 50
    again = preview_prices(signed_sandbox, [Cargo(offer(700), 50)])
    assert again[(offer(700), None)][0] == unit_price(plain, None, 50) == Decimal("11.00")


def test_any_other_offer_previews_at_its_looked_up_price(signed_sandbox):
    product = lookup(signed_sandbox, 100)
    charged = preview_prices(signed_sandbox, [Cargo(offer(100), 3)])
    assert charged[(offer(100), None)][0] == product.price_tiers[0].price


def test_the_preview_says_the_last_word_on_the_catalogues_rules(signed_sandbox):
    def record(cargo):
        answer = preview_order(config(signed_sandbox), address=ADDRESS, cargo=cargo, flow="general")
        (only,) = answer.records
        return only

    assert record([Cargo(offer(705), 7)]).result_code == "500_005"
    assert record([Cargo(offer(705), 10)]).status is True
    cases = lookup(signed_sandbox, 707)
    empty = next(s for s in cases.skus if s.stock == 0)
    refused = record([Cargo(offer(707), 1, empty.spec_id)])
    assert refused.result_code == "500_004" and refused.lines[0].result_code == "500_004"
    clips = lookup(signed_sandbox, 708).skus
    assert record([Cargo(offer(708), 4, clips[0].spec_id)]).result_code == "500_006"
    met = record([Cargo(offer(708), 5, clips[0].spec_id), Cargo(offer(708), 5, clips[1].spec_id)])
    assert met.status is True


def test_703_withdrawn_is_refused_by_the_preview_as_1688_would(signed_sandbox):
    """The lookup says withdrawn: the preview refuses the line and its record (500_001,
    "does not support online trade"); the other scenarios answer as before."""
    withdrawn = lookup(signed_sandbox, 703)
    assert withdrawn.status == "expired"
    answer = preview_order(
        config(signed_sandbox), address=ADDRESS, cargo=[Cargo(offer(703), 3)], flow="general"
    )
    (record,) = answer.records
    assert record.status is False and record.result_code == "500_001"
    assert record.lines[0].result_code == "500_001" and "下架" in record.lines[0].message
    published = preview_order(
        config(signed_sandbox), address=ADDRESS, cargo=[Cargo(offer(700), 3)], flow="general"
    )
    assert published.records[0].status is True and published.records[0].result_code is None
