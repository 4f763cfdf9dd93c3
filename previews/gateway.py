"""The client of the gateway's *Preview order* call, and the typed parsing of its answers.

The only module that talks to the gateway (see ../shared/upstream/preview-order.md). It
knows nothing of Django: callers pass a `GatewayConfig`, an address and one supplier's
cargo, and get back a `PreviewAnswer` or a `GatewayError`.

Units, as documented: record totals, discounts, promotion discounts and pay-channel
limits are integer **fen**; line `finalUnitPrice` and `amount` are **yuan** decimals.
JSON is parsed with `parse_float=Decimal`, so no amount ever passes through `float`.
"""

from __future__ import annotations

import enum
import json
import logging
import random
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation, localcontext
from typing import Any

import requests

logger = logging.getLogger(__name__)

PREVIEW_PATH = "/alibaba/createOrder/preview"
MAX_LINES_PER_CALL = 50
ONE_FEN = Decimal("0.01")
FREQUENCY_LIMIT_CODES = {"gw.QosAppFrequencyLimit", "isv.appCallLimited"}
REDACTED = "[redacted]"
MAX_FEN = 2**63 - 1  # what a 64-bit column holds: ¥92 trillion, far above any real order
_CREDENTIAL_KEYS = {"appkey", "appsecret", "sign", "access_token"}
_RAW_BODY_LIMIT = 200_000


# --------------------------------------------------------------------------- requests


@dataclass(frozen=True)
class GatewayConfig:
    """Where and how to call the gateway. Credentials live here, never in arguments of tasks."""

    base_url: str
    app_key: str = field(default="", repr=False)
    app_secret: str = field(default="", repr=False)
    connect_timeout: float = 3.05
    read_timeout: float = 15.0
    max_attempts: int = 3
    retry_budget: float = 30.0
    backoff_base: float = 0.5
    backoff_cap: float = 8.0

    @property
    def preview_url(self) -> str:
        return self.base_url.rstrip("/") + PREVIEW_PATH

    @property
    def secrets(self) -> tuple[str, ...]:
        return tuple(s for s in (self.app_key, self.app_secret) if s)


@dataclass(frozen=True)
class Address:
    """The gateway's `addressParam`: every field is required by the gateway."""

    full_name: str
    mobile: str
    phone: str
    post_code: str
    province_text: str
    city_text: str
    area_text: str
    town_text: str
    address: str
    district_code: str

    def as_param(self) -> dict[str, str]:
        return {
            "fullName": self.full_name,
            "mobile": self.mobile,
            "phone": self.phone,
            "postCode": self.post_code,
            "cityText": self.city_text,
            "provinceText": self.province_text,
            "areaText": self.area_text,
            "townText": self.town_text,
            "address": self.address,
            "districtCode": self.district_code,
        }


@dataclass(frozen=True)
class Cargo:
    """One line of `cargoParamList`."""

    offer_id: int
    quantity: int
    spec_id: str | None = None

    def as_param(self) -> dict[str, Any]:
        param: dict[str, Any] = {"offerId": self.offer_id, "quantity": self.quantity}
        if self.spec_id:
            param["specId"] = self.spec_id
        return param


# --------------------------------------------------------------------------- answers


@dataclass(frozen=True)
class Promotion:
    promotion_id: str | None
    text: str
    description_html: str
    selected: bool
    free_postage: bool
    discount_fen: int | None


@dataclass(frozen=True)
class PreviewLine:
    offer_id: int | None
    spec_id: str | None
    sku_id: int | None
    open_offer_id: str | None
    final_unit_price: Decimal | None  # yuan
    amount: Decimal | None  # yuan, after the line's promotions
    message: str | None
    result_code: str | None
    promotions: tuple[Promotion, ...]


@dataclass(frozen=True)
class TradeMode:
    trade_type: str | None
    name: str | None
    description: str | None
    op_support: bool
    trade_way: str | None


@dataclass(frozen=True)
class PayChannel:
    name: str
    amount_limit_fen: int | None


@dataclass(frozen=True)
class PreviewRecord:
    """One order the gateway would create (it may split one request into several)."""

    sum_payment_fen: int | None
    sum_carriage_fen: int | None
    sum_payment_no_carriage_fen: int | None
    discount_fen: int | None
    additional_fee_fen: int | None
    status: bool
    message: str | None
    result_code: str | None
    flow_flag: str | None
    trade_mode_names: tuple[str, ...]
    trade_modes: tuple[TradeMode, ...]
    tao_sample_single_promotion: bool
    shop_promotions: tuple[Promotion, ...]
    pay_channels: tuple[PayChannel, ...]
    lines: tuple[PreviewLine, ...]

    @property
    def can_order_through_api(self) -> bool:
        """An empty trade-mode list means the order can only be placed on the 1688 site."""
        if not self.trade_mode_names:
            return False
        return not self.trade_modes or any(mode.op_support for mode in self.trade_modes)


@dataclass(frozen=True)
class PreviewAnswer:
    """Everything one supplier's preview returned (several calls combined if it was split)."""

    records: tuple[PreviewRecord, ...]
    post_fee_by_desc_offer_ids: tuple[str, ...]
    consign_offer_ids: tuple[str, ...]
    unsupported_cross_border_pay_offer_ids: tuple[str, ...]
    trace_ids: tuple[str, ...]
    raw_bodies: tuple[str, ...]  # credentials removed
    warnings: tuple[str, ...] = ()
    attempts: int = 1
    duration: float = 0.0
    # Which call (part of at most 50 lines) returned each record; empty: one call only.
    record_parts: tuple[int, ...] = ()

    @property
    def trace_id(self) -> str:
        return ",".join(self.trace_ids)


# --------------------------------------------------------------------------- errors


class ErrorKind(enum.StrEnum):
    CONNECTION = "connection"
    TIMEOUT = "timeout"
    HTTP = "http"
    RATE_LIMITED = "rate_limited"
    MALFORMED = "malformed"
    REJECTED = "rejected"


@dataclass(frozen=True)
class Explanation:
    en: str
    zh: str


REFUSAL_EXPLANATIONS: dict[str, Explanation] = {
    "500_001": Explanation(
        "This offer cannot be bought online: it can only be ordered on the 1688 site, if at all.",
        "该商品不支持在线交易,只能在1688网站下单或无法购买。",
    ),
    "500_002": Explanation(
        "The lines come from more than one seller, or a spec id is missing: preview one supplier "
        "at a time and give the spec of every offer that has specs.",
        "商品来自多个卖家或缺少规格ID:请按供应商分别预览,并为有规格的商品填写规格ID。",
    ),
    "500_003": Explanation(
        "A spec id does not belong to its offer (or the lines come from several sellers): check "
        "the spec ids.",
        "规格ID与商品不匹配(或商品来自多个卖家):请检查规格ID。",
    ),
    "500_004": Explanation(
        "Not enough stock: lower the quantity or pick another spec.",
        "库存不足:请减少数量或选择其他规格。",
    ),
    "500_005": Explanation(
        "The quantity is below the offer's minimum order quantity: raise the quantity.",
        "数量低于商品的最小起订量:请增加数量。",
    ),
    "500_006": Explanation(
        "The order is below the shop's mixed-batch condition: add more goods from this shop.",
        "未达到店铺混批条件:请从该店铺添加更多商品。",
    ),
    "500_007": Explanation(
        "There is no consignment relationship with this seller, so the saleproxy flow cannot be "
        "used: choose another flow.",
        "与该卖家没有代销关系,不能使用代销(saleproxy)流程:请选择其他流程。",
    ),
    "500_008": Explanation(
        "The price of this spec is 0, so it cannot be ordered: check the spec.",
        "该规格价格为0,无法下单:请检查规格。",
    ),
    "500_009": Explanation(
        "The quantity is below the wholesale minimum: raise the quantity.",
        "数量低于批发起批量:请增加数量。",
    ),
}


def normalize_code(code: object) -> str | None:
    """`500_004`, `500004` and 500004 are the same documented code."""
    if code is None or code == "":
        return None
    text = str(code).strip()
    digits = text.replace("_", "")
    if digits.isdigit() and len(digits) == 6 and digits.startswith("500"):
        return f"{digits[:3]}_{digits[3:]}"
    return text


def explain(code: object, language: str = "en") -> str | None:
    """The plain explanation of a documented refusal code, in English or Chinese."""
    explanation = REFUSAL_EXPLANATIONS.get(normalize_code(code) or "")
    if explanation is None:
        return None
    return explanation.zh if language.lower().startswith("zh") else explanation.en


class GatewayError(Exception):
    """Any failure of a preview call, with a readable reason and whether to retry it."""

    def __init__(
        self,
        kind: ErrorKind,
        reason: str,
        *,
        retryable: bool,
        http_status: int | None = None,
        error_code: str | None = None,
        trace_id: str | None = None,
        raw_body: str = "",
        retry_after: float | None = None,
    ):
        super().__init__(reason)
        self.kind = kind
        self.reason = reason
        self.retryable = retryable
        self.http_status = http_status
        self.error_code = normalize_code(error_code)
        self.trace_id = trace_id
        self.raw_body = raw_body
        self.retry_after = retry_after
        self.attempts = 1
        self.duration = 0.0

    def __str__(self) -> str:
        return self.reason

    @property
    def explanation(self) -> str | None:
        return explain(self.error_code)


# --------------------------------------------------------------------------- redaction


def redact(text: str, secrets: Iterable[str]) -> str:
    """Remove credential values from any text (bodies, messages) before it is kept."""
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return text


def _redact_json(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: (REDACTED if str(k).lower() in _CREDENTIAL_KEYS else _redact_json(v))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_redact_json(v) for v in value]
    return value


def redacted_body(text: str, secrets: Iterable[str]) -> str:
    """The body as it may be stored: credential fields blanked and credential values removed."""
    try:
        document = json.loads(text, parse_float=Decimal)
    except ValueError:
        cleaned = text
    else:
        cleaned = json.dumps(_redact_json(document), ensure_ascii=False, default=str)
    return redact(cleaned, secrets)[:_RAW_BODY_LIMIT]


# --------------------------------------------------------------------------- parsing


class _Malformed(Exception):
    pass


def _expect_dict(value: Any, where: str) -> dict:
    if not isinstance(value, dict):
        raise _Malformed(f"{where} should be an object, got {type(value).__name__}")
    return value


def _list(value: Any, where: str) -> list:
    if value is None:
        return []
    if not isinstance(value, list):
        raise _Malformed(f"{where} should be a list, got {type(value).__name__}")
    return value


def _text(value: Any, where: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool | dict | list):
        raise _Malformed(f"{where} should be text, got {type(value).__name__}")
    return str(value)


def _bool(value: Any, where: str, default: bool = False) -> bool:
    if value is None:
        return default
    if not isinstance(value, bool):
        raise _Malformed(f"{where} should be true or false, got {value!r}")
    return value


def _int(value: Any, where: str) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise _Malformed(f"{where} should be a whole number, got {value!r}")
    if isinstance(value, int):
        if abs(value) > MAX_FEN:
            raise _Malformed(f"{where} is out of range: {value!r}")
        return value
    try:
        number = Decimal(str(value).strip()) if not isinstance(value, Decimal) else value
    except InvalidOperation:
        raise _Malformed(f"{where} should be a whole number, got {value!r}") from None
    if not number.is_finite() or number != number.to_integral_value():
        raise _Malformed(f"{where} should be a whole number, got {value!r}")
    if abs(number) > MAX_FEN:
        raise _Malformed(f"{where} is out of range: {value!r}")
    return int(number)


def _fen(value: Any, where: str) -> int | None:
    """An amount the gateway sends in integer fen."""
    return _int(value, where)


def _yuan(value: Any, where: str, warnings: list[str]) -> Decimal | None:
    """An amount the gateway sends in yuan; a value finer than a fen is reported, not rounded."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise _Malformed(f"{where} should be an amount in yuan, got {value!r}")
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except InvalidOperation:
        raise _Malformed(f"{where} should be an amount in yuan, got {value!r}") from None
    if not amount.is_finite():
        raise _Malformed(f"{where} should be an amount in yuan, got {value!r}")
    if abs(amount) * 100 > MAX_FEN:
        raise _Malformed(f"{where} is out of range: {value!r}")
    with localcontext() as exact:
        exact.prec = 60  # wide enough for any in-range amount with any decimals sent
        if amount != amount.quantize(ONE_FEN, rounding="ROUND_DOWN"):
            warnings.append(f"{where} = {amount} yuan is not a whole number of fen")
    return amount


def _promotion(item: Any, where: str) -> Promotion:
    item = _expect_dict(item, where)
    return Promotion(
        promotion_id=_text(item.get("promotionId"), f"{where}.promotionId"),
        text=_text(item.get("text"), f"{where}.text") or "",
        description_html=_text(item.get("desc"), f"{where}.desc") or "",
        selected=_bool(item.get("selected"), f"{where}.selected"),
        free_postage=_bool(item.get("freePostage"), f"{where}.freePostage"),
        discount_fen=_fen(item.get("discountFee"), f"{where}.discountFee"),
    )


def _line(item: Any, where: str, warnings: list[str]) -> PreviewLine:
    item = _expect_dict(item, where)
    promotions = _list(item.get("cargoPromotionList"), f"{where}.cargoPromotionList")
    return PreviewLine(
        offer_id=_int(item.get("offerId"), f"{where}.offerId"),
        spec_id=_text(item.get("specId"), f"{where}.specId"),
        sku_id=_int(item.get("skuId"), f"{where}.skuId"),
        open_offer_id=_text(item.get("openOfferId"), f"{where}.openOfferId"),
        final_unit_price=_yuan(item.get("finalUnitPrice"), f"{where}.finalUnitPrice", warnings),
        amount=_yuan(item.get("amount"), f"{where}.amount", warnings),
        message=_text(item.get("message"), f"{where}.message"),
        result_code=normalize_code(_text(item.get("resultCode"), f"{where}.resultCode")),
        promotions=tuple(
            _promotion(p, f"{where}.cargoPromotionList[{i}]") for i, p in enumerate(promotions)
        ),
    )


def _record(item: Any, where: str, warnings: list[str]) -> PreviewRecord:
    item = _expect_dict(item, where)
    modes = _list(item.get("tradeModelList"), f"{where}.tradeModelList")
    channels = _list(item.get("payChannelInfos"), f"{where}.payChannelInfos")
    if not channels:
        channels = [
            {"name": name} for name in _list(item.get("payChannelList"), f"{where}.payChannelList")
        ]
    shop = _list(item.get("shopPromotionList"), f"{where}.shopPromotionList")
    lines = _list(item.get("cargoList"), f"{where}.cargoList")
    return PreviewRecord(
        sum_payment_fen=_fen(item.get("sumPayment"), f"{where}.sumPayment"),
        sum_carriage_fen=_fen(item.get("sumCarriage"), f"{where}.sumCarriage"),
        sum_payment_no_carriage_fen=_fen(
            item.get("sumPaymentNoCarriage"), f"{where}.sumPaymentNoCarriage"
        ),
        discount_fen=_fen(item.get("discountFee"), f"{where}.discountFee"),
        additional_fee_fen=_fen(item.get("additionalFee"), f"{where}.additionalFee"),
        status=_bool(item.get("status"), f"{where}.status", default=True),
        message=_text(item.get("message"), f"{where}.message"),
        result_code=normalize_code(_text(item.get("resultCode"), f"{where}.resultCode")),
        flow_flag=_text(item.get("flowFlag"), f"{where}.flowFlag"),
        trade_mode_names=tuple(
            _text(n, f"{where}.tradeModeNameList") or ""
            for n in _list(item.get("tradeModeNameList"), f"{where}.tradeModeNameList")
        ),
        trade_modes=tuple(
            TradeMode(
                trade_type=_text(m.get("tradeType"), f"{where}.tradeModelList.tradeType"),
                name=_text(m.get("name"), f"{where}.tradeModelList.name"),
                description=_text(m.get("description"), f"{where}.tradeModelList.description"),
                op_support=_bool(m.get("opSupport"), f"{where}.tradeModelList.opSupport", True),
                trade_way=_text(m.get("tradeWay"), f"{where}.tradeModelList.tradeWay"),
            )
            for m in (_expect_dict(m, f"{where}.tradeModelList[]") for m in modes)
        ),
        tao_sample_single_promotion=_bool(
            item.get("taoSampleSinglePromotion"), f"{where}.taoSampleSinglePromotion"
        ),
        shop_promotions=tuple(
            _promotion(p, f"{where}.shopPromotionList[{i}]") for i, p in enumerate(shop)
        ),
        pay_channels=tuple(
            PayChannel(
                name=_text(c.get("name"), f"{where}.payChannelInfos.name") or "",
                amount_limit_fen=_fen(c.get("amountLimit"), f"{where}.payChannelInfos.amountLimit"),
            )
            for c in (
                _expect_dict(c, f"{where}.payChannelInfos[]")
                if not isinstance(c, str)
                else {"name": c}
                for c in channels
            )
        ),
        lines=tuple(
            _line(line, f"{where}.cargoList[{i}]", warnings) for i, line in enumerate(lines)
        ),
    )


def _offer_ids(value: Any, where: str) -> tuple[str, ...]:
    return tuple(str(_int(v, where)) if not isinstance(v, str) else v for v in _list(value, where))


def parse_preview_body(
    text: str, *, secrets: Sequence[str] = (), http_status: int = 200
) -> PreviewAnswer:
    """Parse one answer body of the preview call into typed values, or raise `GatewayError`.

    Business refusals (`code` other than 200, `data.success` false) raise a non-retryable
    `GatewayError` of kind REJECTED; a record with `status: false` or a line with a
    `resultCode` is data, returned for the pages to show.
    """
    stored = redacted_body(text, secrets)
    try:
        document = json.loads(text, parse_float=Decimal)
    except ValueError:
        raise GatewayError(
            ErrorKind.MALFORMED,
            f"The gateway answered with something that is not JSON (HTTP {http_status}): "
            f"{_snippet(redact(text, secrets))}",
            retryable=False,
            http_status=http_status,
            raw_body=stored,
        ) from None
    trace_id = None
    try:
        envelope = _expect_dict(document, "the answer")
        trace_id = _text(envelope.get("traceId"), "traceId")
        code = envelope.get("code")
        if code is None and "error_code" in envelope:
            raise _gateway_error_code(envelope, trace_id, stored, http_status, secrets)
        code_number = _int(code, "code")
        if code_number not in (200, 0):
            raise _refused_envelope(envelope, code_number, trace_id, stored, http_status, secrets)
        data = _expect_dict(envelope.get("data"), "data")
        if data.get("success") is False or data.get("errorCode"):
            error_code = _text(data.get("errorCode"), "data.errorCode")
            message = _text(data.get("errorMsg"), "data.errorMsg") or ""
            raise GatewayError(
                ErrorKind.RATE_LIMITED
                if error_code in FREQUENCY_LIMIT_CODES
                else ErrorKind.REJECTED,
                redact(_reason("The gateway refused the preview", error_code, message), secrets),
                retryable=error_code in FREQUENCY_LIMIT_CODES,
                http_status=http_status,
                error_code=error_code,
                trace_id=trace_id,
                raw_body=stored,
            )
        key = "orderPreviewResuslt" if "orderPreviewResuslt" in data else "orderPreviewResult"
        if key not in data:
            raise _Malformed("data has no orderPreviewResuslt")
        warnings: list[str] = []
        records = tuple(
            _record(r, f"orderPreviewResuslt[{i}]", warnings)
            for i, r in enumerate(_list(data.get(key), key))
        )
        return PreviewAnswer(
            records=records,
            post_fee_by_desc_offer_ids=_offer_ids(
                data.get("postFeeByDescOfferList"), "postFeeByDescOfferList"
            ),
            consign_offer_ids=_offer_ids(data.get("consignOfferList"), "consignOfferList"),
            unsupported_cross_border_pay_offer_ids=_offer_ids(
                data.get("unsupportedCrossBorderPayOfferList"), "unsupportedCrossBorderPayOfferList"
            ),
            trace_ids=(trace_id,) if trace_id else (),
            raw_bodies=(stored,),
            warnings=tuple(warnings),
        )
    except _Malformed as problem:
        raise GatewayError(
            ErrorKind.MALFORMED,
            "The gateway's answer does not have the documented shape: "
            + redact(str(problem), secrets),
            retryable=False,
            http_status=http_status,
            trace_id=trace_id,
            raw_body=stored,
        ) from None


def _reason(prefix: str, code: str | None, message: str) -> str:
    explanation = explain(code)
    parts = [prefix]
    if code:
        parts.append(f"({code})")
    text = " ".join(parts)
    if message:
        text += f": {message}"
    if explanation:
        text += f". {explanation}"
    return text


def _refused_envelope(envelope, code, trace_id, stored, http_status, secrets) -> GatewayError:
    message = _text(envelope.get("message"), "message") or ""
    nested_code, nested_message = _nested_error(envelope.get("data"))
    if nested_message:
        message = f"{message}: {nested_message}" if message else nested_message
    error_code = nested_code or str(code)
    return GatewayError(
        ErrorKind.REJECTED,
        redact(_reason(f"The gateway answered code {code}", nested_code, message), secrets),
        retryable=False,
        http_status=http_status,
        error_code=error_code,
        trace_id=trace_id,
        raw_body=stored,
    )


def _nested_error(data: Any) -> tuple[str | None, str | None]:
    """Find `errorCode`/`errorInfo`/`errorMsg` wherever the gateway nested them in `data`."""
    if not isinstance(data, dict):
        return None, None
    for candidate in (data, data.get("result")):
        if isinstance(candidate, dict):
            code = candidate.get("errorCode")
            message = (
                candidate.get("errorInfo") or candidate.get("errorMsg") or candidate.get("message")
            )
            if code or message:
                return (str(code) if code else None), (str(message) if message else None)
    return None, None


def _gateway_error_code(envelope, trace_id, stored, http_status, secrets) -> GatewayError:
    code = str(envelope.get("error_code"))
    message = str(envelope.get("error_message") or "")
    limited = code in FREQUENCY_LIMIT_CODES
    return GatewayError(
        ErrorKind.RATE_LIMITED if limited else ErrorKind.REJECTED,
        redact(
            ("The gateway is limiting how often we call it; try again later"
             if limited else "The gateway refused the call")
            + f" ({code}): {message}",
            secrets,
        ),
        retryable=limited,
        http_status=http_status,
        error_code=code,
        trace_id=trace_id,
        raw_body=stored,
    )  # fmt: skip


def _snippet(text: str, limit: int = 160) -> str:
    """A short, single-line excerpt of a body for a reason; markup reduced to its text."""
    if "<" in text and ">" in text:
        text = re.sub(r"<[^>]*>", " ", text)
    flat = " ".join(text.split())
    return flat[:limit] + ("…" if len(flat) > limit else "")


# --------------------------------------------------------------------------- calling


def _http_error(response: requests.Response, secrets: Sequence[str]) -> GatewayError:
    status = response.status_code
    stored = redacted_body(response.text, secrets)
    retry_after = _retry_after(response.headers.get("Retry-After"))
    try:
        document = json.loads(response.text, parse_float=Decimal)
    except ValueError:
        document = None
    if isinstance(document, dict) and document.get("error_code") in FREQUENCY_LIMIT_CODES:
        error = _gateway_error_code(document, document.get("traceId"), stored, status, secrets)
        error.retry_after = retry_after
        return error
    if status == 429:
        return GatewayError(
            ErrorKind.RATE_LIMITED,
            "The gateway is limiting how often we call it (HTTP 429); try again later.",
            retryable=True,
            http_status=status,
            raw_body=stored,
            retry_after=retry_after,
        )
    detail = _snippet(redact(response.text, secrets))
    if status >= 500:
        return GatewayError(
            ErrorKind.HTTP,
            f"The gateway had a server error (HTTP {status}): {detail}",
            retryable=True,
            http_status=status,
            raw_body=stored,
            retry_after=retry_after,
        )
    return GatewayError(
        ErrorKind.HTTP,
        f"The gateway refused the request (HTTP {status}): {detail}",
        retryable=False,
        http_status=status,
        raw_body=stored,
    )


def _retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None


def _post_once(session: requests.Session, config: GatewayConfig, body: dict) -> PreviewAnswer:
    secrets = config.secrets
    try:
        response = session.post(
            config.preview_url,
            json=body,
            timeout=(config.connect_timeout, config.read_timeout),
            headers={"Accept": "application/json"},
        )
    except requests.exceptions.ConnectTimeout:
        raise GatewayError(
            ErrorKind.TIMEOUT,
            f"Could not connect to the gateway within {config.connect_timeout:g} s.",
            retryable=True,
        ) from None
    except requests.exceptions.ReadTimeout:
        raise GatewayError(
            ErrorKind.TIMEOUT,
            f"The gateway did not answer within {config.read_timeout:g} s.",
            retryable=True,
        ) from None
    except requests.exceptions.ConnectionError as problem:
        raise GatewayError(
            ErrorKind.CONNECTION,
            f"Could not reach the gateway at {config.base_url}: {_connection_reason(problem)}",
            retryable=True,
        ) from None
    except requests.exceptions.RequestException as problem:
        raise GatewayError(
            ErrorKind.CONNECTION,
            f"The call to the gateway failed: {type(problem).__name__}",
            retryable=True,
        ) from None
    if response.status_code != 200:
        raise _http_error(response, secrets)
    return parse_preview_body(response.text, secrets=secrets, http_status=response.status_code)


def _connection_reason(problem: Exception) -> str:
    text = str(problem)
    for needle, reason in (
        ("Connection refused", "connection refused"),
        ("Connection reset", "connection reset"),
        ("RemoteDisconnected", "the gateway closed the connection without answering"),
        ("Name or service not known", "the host name does not resolve"),
        ("Temporary failure in name resolution", "the host name does not resolve"),
    ):
        if needle in text:
            return reason
    return type(problem).__name__


def _backoff(attempt: int, config: GatewayConfig, rng: random.Random) -> float:
    """Exponential backoff with full jitter: uniform(0, min(cap, base * 2**attempt))."""
    return rng.uniform(0, min(config.backoff_cap, config.backoff_base * 2 ** (attempt - 1)))


def build_body(config: GatewayConfig, address: Address, cargo: Sequence[Cargo], flow: str) -> dict:
    """The request body as documented: appKey, appSecret, flow, addressParam, cargoParamList."""
    return {
        "appKey": config.app_key,
        "appSecret": config.app_secret,
        "flow": flow or "",
        "addressParam": address.as_param(),
        "cargoParamList": [c.as_param() for c in cargo],
    }


def preview_order(
    config: GatewayConfig,
    *,
    address: Address,
    cargo: Sequence[Cargo],
    flow: str = "",
    session: requests.Session | None = None,
    sleep: Callable[[float], None] = time.sleep,
    rng: random.Random | None = None,
) -> PreviewAnswer:
    """Preview one supplier's order: one call per 50 lines, retried where safe, combined.

    `flow` may be empty: 1688 then picks the best flow and each record's `flow_flag`
    says which. Raises `GatewayError` (with `attempts` and `duration` set) when any
    call of the supplier fails for good; a partial answer is never returned.
    """
    if not cargo:
        raise ValueError("preview_order needs at least one cargo line")
    started = time.monotonic()
    rng = rng or random.Random()  # noqa: S311 - jitter, not cryptography
    own_session = session is None
    session = session or requests.Session()
    answers: list[PreviewAnswer] = []
    attempts = 0
    try:
        for chunk_start in range(0, len(cargo), MAX_LINES_PER_CALL):
            chunk = cargo[chunk_start : chunk_start + MAX_LINES_PER_CALL]
            body = build_body(config, address, chunk, flow)
            answer, used = _call_with_retries(session, config, body, started, sleep, rng)
            attempts += used
            answers.append(answer)
    except GatewayError as error:
        error.attempts = attempts + error.attempts
        error.duration = time.monotonic() - started
        raise
    finally:
        if own_session:
            session.close()
    combined = combine_answers(answers)
    return replace(combined, attempts=attempts, duration=time.monotonic() - started)


def _call_with_retries(session, config, body, started, sleep, rng) -> tuple[PreviewAnswer, int]:
    attempt = 0
    while True:
        attempt += 1
        try:
            answer = _post_once(session, config, body)
            logger.info(
                "gateway preview ok: %d line(s), attempt %d, trace %s",
                len(body["cargoParamList"]), attempt, ",".join(answer.trace_ids) or "-",
            )  # fmt: skip
            return answer, attempt
        except GatewayError as error:
            elapsed = time.monotonic() - started
            pause = max(_backoff(attempt, config, rng), error.retry_after or 0.0)
            give_up = (
                not error.retryable
                or attempt >= config.max_attempts
                or elapsed + pause > config.retry_budget
            )
            logger.warning(
                "gateway preview failed (%s, attempt %d%s): %s",
                error.kind, attempt, ", giving up" if give_up else "", error.reason,
            )  # fmt: skip
            if give_up:
                error.attempts = attempt
                raise
            sleep(pause)


def combine_answers(answers: Sequence[PreviewAnswer]) -> PreviewAnswer:
    """One supplier's answer from the answers of its split calls (over 50 lines)."""
    if len(answers) == 1:
        return answers[0]

    def union(values: Iterable[tuple[str, ...]]) -> tuple[str, ...]:
        return tuple(dict.fromkeys(v for group in values for v in group))

    return PreviewAnswer(
        records=tuple(r for a in answers for r in a.records),
        post_fee_by_desc_offer_ids=union(a.post_fee_by_desc_offer_ids for a in answers),
        consign_offer_ids=union(a.consign_offer_ids for a in answers),
        unsupported_cross_border_pay_offer_ids=union(
            a.unsupported_cross_border_pay_offer_ids for a in answers
        ),
        trace_ids=tuple(t for a in answers for t in a.trace_ids),
        raw_bodies=tuple(b for a in answers for b in a.raw_bodies),
        warnings=tuple(w for a in answers for w in a.warnings),
        record_parts=tuple(part for part, a in enumerate(answers) for _record in a.records),
    )
