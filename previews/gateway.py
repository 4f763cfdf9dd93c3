"""The client of the gateway's *Preview order* call, and the typed parsing of its answers.

The only module that talks to the gateway (see ../shared/upstream/preview-order.md),
through transport.py (HTTP with a total deadline per call). It knows nothing of Django:
callers pass a `GatewayConfig`, an address and one supplier's cargo, and get back a
`PreviewAnswer` or a `GatewayError`.

Units, as documented: record totals, discounts, promotion discounts and pay-channel
limits are integer **fen**; line `finalUnitPrice` and `amount` are **yuan** decimals.
JSON is parsed with `parse_float=Decimal`, so no amount ever passes through `float`.
"""

from __future__ import annotations

import enum
import functools
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

from . import transport

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
    read_timeout: float = 15.0  # per read of the answer: a trickle never trips it...
    call_deadline: float = 20.0  # ...so each call (connect to last byte) has a total one
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
    BUSY = "busy"  # the gateway said "busy, try again later": temporary, not a refusal


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


# How the gateway (or 1688 behind it) says "busy for now": 系统繁忙 = system busy,
# 服务繁忙 = service busy, 稍后再试 / 稍后重试 = try again later. "请核对后重试" ("check, then
# retry") is deliberately not here: that asks the buyer to change something.
BUSY_MARKERS = (
    "系统繁忙", "服务繁忙", "稍后再试", "稍后重试",
    "system busy", "system is busy", "server busy", "service busy", "try again later",
)  # fmt: skip


def is_temporary_failure(
    *, envelope_code: int | None = None, error_code: object = None, message: str = ""
) -> bool:
    """Whether a failure the gateway *answered* (not an HTTP error) is temporary.

    The one rule, used for every answer shape: a documented business code (500_001 to
    500_009, however spelt, in the envelope or nested) is a refusal whatever the message
    says, and stays one. Otherwise the failure is temporary, and worth retrying, when the
    envelope `code` is a 5xx (the gateway's own server-side failure, reported as an HTTP
    5xx would be; 500_004 spelt 500004 is not a 5xx) or the message says busy / try again
    later.
    """
    for code in (error_code, envelope_code):
        if normalize_code(code) in REFUSAL_EXPLANATIONS:
            return False
    if envelope_code is not None and 500 <= envelope_code <= 599:
        return True
    lowered = (message or "").lower()
    return any(marker in lowered for marker in BUSY_MARKERS)


def _failure_kind(*, envelope_code=None, error_code=None, message="") -> ErrorKind:
    """The kind of a failure the gateway answered: rate limited, busy, or refused."""
    if error_code in FREQUENCY_LIMIT_CODES:
        return ErrorKind.RATE_LIMITED
    if is_temporary_failure(envelope_code=envelope_code, error_code=error_code, message=message):
        return ErrorKind.BUSY
    return ErrorKind.REJECTED


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
    """Remove credential values from any text (bodies, messages) before it is kept.

    A gateway or proxy that echoes the request shows a credential the way it was
    encoded there, not as we hold it: JSON-escaped (`\\"`, `\\\\`, `\\u5bc6`, with or
    without `ensure_ascii`), URL-encoded (`%22`, `+` for a space), escaped as Python or
    JavaScript write strings, or escaped twice (a JSON body quoted inside another JSON
    string), in any mix. Each is removed.
    """
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        text = _secret_pattern(secret).sub(REDACTED, text)
    return text


# A backslash as an answer may spell it inside an escape: itself, doubled by a second
# JSON encoding, or URL-encoded.
_BACKSLASHES = r"(?:\\|(?i:%5c))+"
# Short escapes: JSON's, and `\\'` as JavaScript and Python's repr() write a quote.
_JSON_SHORT_ESCAPES = {
    '"': '"', "'": "'", "\\": "\\", "/": "/", "\b": "b", "\f": "f", "\n": "n", "\r": "r",
    "\t": "t",
}  # fmt: skip


def _percent(char: str) -> str:
    """`char` URL-encoded (any hex case, possibly encoded twice: %25XX)."""
    return "".join(f"%(?:25)*(?i:{byte:02x})" for byte in char.encode())


def _plain_forms(char: str) -> list[str]:
    """`char` URL-encoded or as itself: the longer form first, as the regex takes the
    first alternative that fits (`%` before `%25` would leave `25` behind)."""
    forms = [_percent(char)]
    if char == " ":
        forms.append(r"\+")  # quote_plus
    return [*forms, re.escape(char)]


@functools.lru_cache(maxsize=32)
def _secret_pattern(secret: str) -> re.Pattern[str]:
    """A pattern matching `secret` in every encoding, mixed character by character (some
    encoders escape only some characters: Go escapes `<`, `>` and `&` as `\\u003c`...)."""
    parts = []
    for char in secret:
        utf16 = char.encode("utf-16-be")
        units = [utf16[i : i + 2].hex() for i in range(0, len(utf16), 2)]
        forms = ["".join(f"{_BACKSLASHES}u(?i:{unit})" for unit in units)]
        if ord(char) < 0x100:  # Python's repr() and JavaScript write some characters so
            forms.append(f"{_BACKSLASHES}x(?i:{ord(char):02x})")
        elif ord(char) > 0xFFFF:  # and Python's ascii() so
            forms.append(f"{_BACKSLASHES}U(?i:{ord(char):08x})")
        if char in _JSON_SHORT_ESCAPES:
            short = "|".join(_plain_forms(_JSON_SHORT_ESCAPES[char]))
            forms.append(f"{_BACKSLASHES}(?:{short})")
        forms += _plain_forms(char)
        parts.append("(?:" + "|".join(forms) + ")")
    return re.compile("".join(parts))


def _redact_json(value: Any, secrets: Sequence[str]) -> Any:
    if isinstance(value, dict):
        return {
            k: (REDACTED if str(k).lower() in _CREDENTIAL_KEYS else _redact_json(v, secrets))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_redact_json(v, secrets) for v in value]
    if isinstance(value, str):
        return redact(value, secrets)
    return value


# C0 and C1 controls but tab and line breaks: PostgreSQL refuses a NUL in text, and an
# escape sequence from a third party has no business in a page, a log or a spreadsheet.
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """Upstream text as it may be stored and shown: control characters become U+FFFD."""
    return _CONTROL_CHARACTERS.sub("\ufffd", text)


def redacted_body(text: str, secrets: Iterable[str]) -> str:
    """The body as it may be stored: credential fields blanked and credential values removed
    (inside each JSON string first, so the stored body stays valid JSON, then as text)."""
    secrets = tuple(secrets)
    try:
        document = json.loads(text, parse_float=Decimal)
    except ValueError:
        cleaned = printable(text)
    else:
        # json.dumps writes control characters as \u00XX escapes, so the stored text holds none.
        cleaned = json.dumps(_redact_json(document, secrets), ensure_ascii=False, default=str)
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
    return printable(str(value))


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
    `GatewayError` of kind REJECTED, except a temporary failure (`is_temporary_failure`:
    "system busy, try again later"), which is a retryable BUSY; a record with
    `status: false` or a line with a `resultCode` is data, returned for the pages to show.
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
            kind = _failure_kind(error_code=error_code, message=message)
            prefix = (
                "The gateway is busy for now; try again later"
                if kind is ErrorKind.BUSY
                else "The gateway refused the preview"
            )
            raise GatewayError(
                kind,
                redact(_reason(prefix, error_code, message), secrets),
                retryable=kind is not ErrorKind.REJECTED,
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
    kind = _failure_kind(envelope_code=code, error_code=nested_code, message=message)
    prefix = f"The gateway answered code {code}"
    if kind is ErrorKind.BUSY:
        prefix += " (busy for now; try again later)"
    return GatewayError(
        kind,
        redact(_reason(prefix, nested_code, message), secrets),
        retryable=kind is not ErrorKind.REJECTED,
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
    kind = _failure_kind(error_code=code, message=message)
    prefix = {
        ErrorKind.RATE_LIMITED: "The gateway is limiting how often we call it; try again later",
        ErrorKind.BUSY: "The gateway is busy for now; try again later",
    }.get(kind, "The gateway refused the call")
    return GatewayError(
        kind,
        redact(f"{prefix} ({code}): {message}", secrets),
        retryable=kind is not ErrorKind.REJECTED,
        http_status=http_status,
        error_code=code,
        trace_id=trace_id,
        raw_body=stored,
    )  # fmt: skip


def _snippet(text: str, limit: int = 160) -> str:
    """A short, single-line excerpt of a body for a reason; markup reduced to its text."""
    if "<" in text and ">" in text:
        text = re.sub(r"<[^>]*>", " ", text)
    flat = " ".join(printable(text).split())
    return flat[:limit] + ("…" if len(flat) > limit else "")


# --------------------------------------------------------------------------- calling


def _http_error(response: transport.Reply, secrets: Sequence[str]) -> GatewayError:
    status = response.status
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
        response = transport.post_json(
            session,
            config.preview_url,
            body,
            connect_timeout=config.connect_timeout,
            read_timeout=config.read_timeout,
            deadline=config.call_deadline,
        )
    except transport.DeadlinePassed:
        raise GatewayError(
            ErrorKind.TIMEOUT,
            f"The gateway did not finish answering within {config.call_deadline:g} s "
            "(the deadline of a call); the call was cut off.",
            retryable=True,
        ) from None
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
    if response.status != 200:
        raise _http_error(response, secrets)
    return parse_preview_body(response.text, secrets=secrets, http_status=response.status)


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

    Bounded whatever the gateway does: each call ends within `call_deadline` (connect to
    last byte, see transport.py) and a retry starts only within `retry_budget` of the
    start, so a supplier of up to 50 lines ends within `retry_budget + call_deadline`
    (one more deadline per further 50 lines). A session passed in should come from
    `transport.new_session()`.
    """
    if not cargo:
        raise ValueError("preview_order needs at least one cargo line")
    started = time.monotonic()
    rng = rng or random.Random()  # noqa: S311 - jitter, not cryptography
    own_session = session is None
    session = session or transport.new_session()
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
