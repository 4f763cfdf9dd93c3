"""The gateway's *Preview order* endpoint (../shared/upstream/preview-order.md).

Callers pass a `GatewayConfig`, an address and one supplier's cargo, and get back a
`PreviewAnswer` or a `GatewayError`. Read-only, so retried where safe.

Units, as documented: record totals, discounts, promotion discounts and pay-channel
limits are integer **fen**; line `finalUnitPrice` and `amount` are **yuan** decimals.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

import requests

from . import transport
from .envelope import parse_body
from .errors import GatewayError, normalize_code
from .fields import Malformed, expect_dict, to_bool, to_fen, to_int, to_list, to_text, to_yuan
from .transport import GatewayConfig

logger = logging.getLogger(__name__)

PREVIEW_PATH = "/alibaba/createOrder/preview"
MAX_LINES_PER_CALL = 50


# --------------------------------------------------------------------------- the request


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
        """The documented `addressParam` object."""
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
        """The documented `cargoParamList` item; `specId` only when there is one."""
        param: dict[str, Any] = {"offerId": self.offer_id, "quantity": self.quantity}
        if self.spec_id:
            param["specId"] = self.spec_id
        return param


def build_body(config: GatewayConfig, address: Address, cargo: Sequence[Cargo], flow: str) -> dict:
    """The request body as documented: appKey, appSecret, flow, addressParam, cargoParamList."""
    return {
        **config.credentials(),
        "flow": flow or "",
        "addressParam": address.as_param(),
        "cargoParamList": [c.as_param() for c in cargo],
    }


# --------------------------------------------------------------------------- the answer


@dataclass(frozen=True)
class Promotion:
    """A promotion of a line or of a shop; `description_html` is third-party HTML."""

    promotion_id: str | None
    text: str
    description_html: str
    selected: bool
    free_postage: bool
    discount_fen: int | None


@dataclass(frozen=True)
class QuotedLine:
    """One line of a quoted order, as the gateway priced it."""

    offer_id: int | None
    spec_id: str | None
    sku_id: int | None
    final_unit_price: Decimal | None  # yuan
    amount: Decimal | None  # yuan, after the line's promotions
    message: str | None
    result_code: str | None
    promotions: tuple[Promotion, ...]


@dataclass(frozen=True)
class TradeMode:
    """One entry of `tradeModelList`; `op_support` false: not through the API."""

    trade_type: str | None
    name: str | None
    description: str | None  # kept for placing orders: the buyer sees the mode that applies
    op_support: bool


@dataclass(frozen=True)
class PayChannel:
    """A way to pay the order, with its limit in fen (None: no limit)."""

    name: str
    amount_limit_fen: int | None


@dataclass(frozen=True)
class QuotedOrder:
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
    lines: tuple[QuotedLine, ...]

    @property
    def can_order_through_api(self) -> bool:
        """An empty trade-mode list means the order can only be placed on the 1688 site."""
        if not self.trade_mode_names:
            return False
        return not self.trade_modes or any(mode.op_support for mode in self.trade_modes)


@dataclass(frozen=True)
class PreviewAnswer:
    """Everything one supplier's preview returned (several calls combined if it was split)."""

    records: tuple[QuotedOrder, ...]
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
        """The trace ids of every call, comma-separated (for support requests)."""
        return ",".join(self.trace_ids)


# --------------------------------------------------------------------------- parsing


def parse_preview_body(
    text: str, *, secrets: Sequence[str] = (), http_status: int = 200
) -> PreviewAnswer:
    """Parse one answer body of the preview call into typed values, or raise `GatewayError`.

    Business refusals (`code` other than 200, `data.success` false) raise a non-retryable
    `GatewayError` of kind REJECTED, except a temporary failure (`is_temporary_failure`:
    "system busy, try again later"), which is a retryable BUSY; a record with
    `status: false` or a line with a `resultCode` is data, returned for the pages to show.
    """
    return parse_body(text, _preview_data, secrets=secrets, http_status=http_status, what="preview")


def _preview_data(data: dict, trace_id: str | None, stored: str) -> PreviewAnswer:
    key = "orderPreviewResuslt" if "orderPreviewResuslt" in data else "orderPreviewResult"
    if key not in data:
        raise Malformed("data has no orderPreviewResuslt")
    warnings: list[str] = []
    records = tuple(
        _order(r, f"orderPreviewResuslt[{i}]", warnings)
        for i, r in enumerate(to_list(data.get(key), key))
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


def _promotion(item: Any, where: str) -> Promotion:
    item = expect_dict(item, where)
    return Promotion(
        promotion_id=to_text(item.get("promotionId"), f"{where}.promotionId"),
        text=to_text(item.get("text"), f"{where}.text") or "",
        description_html=to_text(item.get("desc"), f"{where}.desc") or "",
        selected=to_bool(item.get("selected"), f"{where}.selected"),
        free_postage=to_bool(item.get("freePostage"), f"{where}.freePostage"),
        discount_fen=to_fen(item.get("discountFee"), f"{where}.discountFee"),
    )


def _line(item: Any, where: str, warnings: list[str]) -> QuotedLine:
    item = expect_dict(item, where)
    promotions = to_list(item.get("cargoPromotionList"), f"{where}.cargoPromotionList")
    return QuotedLine(
        offer_id=to_int(item.get("offerId"), f"{where}.offerId"),
        spec_id=to_text(item.get("specId"), f"{where}.specId"),
        sku_id=to_int(item.get("skuId"), f"{where}.skuId"),
        final_unit_price=to_yuan(item.get("finalUnitPrice"), f"{where}.finalUnitPrice", warnings),
        amount=to_yuan(item.get("amount"), f"{where}.amount", warnings),
        message=to_text(item.get("message"), f"{where}.message"),
        result_code=normalize_code(to_text(item.get("resultCode"), f"{where}.resultCode")),
        promotions=tuple(
            _promotion(p, f"{where}.cargoPromotionList[{i}]") for i, p in enumerate(promotions)
        ),
    )


def _trade_mode(item: Any, where: str) -> TradeMode:
    item = expect_dict(item, f"{where}.tradeModelList[]")
    return TradeMode(
        trade_type=to_text(item.get("tradeType"), f"{where}.tradeModelList.tradeType"),
        name=to_text(item.get("name"), f"{where}.tradeModelList.name"),
        description=to_text(item.get("description"), f"{where}.tradeModelList.description"),
        op_support=to_bool(item.get("opSupport"), f"{where}.tradeModelList.opSupport", True),
    )


def _pay_channel(item: Any, where: str) -> PayChannel:
    if isinstance(item, str):  # payChannelList: names only
        item = {"name": item}
    item = expect_dict(item, f"{where}.payChannelInfos[]")
    return PayChannel(
        name=to_text(item.get("name"), f"{where}.payChannelInfos.name") or "",
        amount_limit_fen=to_fen(item.get("amountLimit"), f"{where}.payChannelInfos.amountLimit"),
    )


def _order(item: Any, where: str, warnings: list[str]) -> QuotedOrder:
    item = expect_dict(item, where)
    modes = to_list(item.get("tradeModelList"), f"{where}.tradeModelList")
    channels = to_list(item.get("payChannelInfos"), f"{where}.payChannelInfos")
    if not channels:
        channels = [
            {"name": name}
            for name in to_list(item.get("payChannelList"), f"{where}.payChannelList")
        ]
    shop = to_list(item.get("shopPromotionList"), f"{where}.shopPromotionList")
    lines = to_list(item.get("cargoList"), f"{where}.cargoList")
    return QuotedOrder(
        sum_payment_fen=to_fen(item.get("sumPayment"), f"{where}.sumPayment"),
        sum_carriage_fen=to_fen(item.get("sumCarriage"), f"{where}.sumCarriage"),
        sum_payment_no_carriage_fen=to_fen(
            item.get("sumPaymentNoCarriage"), f"{where}.sumPaymentNoCarriage"
        ),
        discount_fen=to_fen(item.get("discountFee"), f"{where}.discountFee"),
        additional_fee_fen=to_fen(item.get("additionalFee"), f"{where}.additionalFee"),
        status=to_bool(item.get("status"), f"{where}.status", default=True),
        message=to_text(item.get("message"), f"{where}.message"),
        result_code=normalize_code(to_text(item.get("resultCode"), f"{where}.resultCode")),
        flow_flag=to_text(item.get("flowFlag"), f"{where}.flowFlag"),
        trade_mode_names=tuple(
            to_text(n, f"{where}.tradeModeNameList") or ""
            for n in to_list(item.get("tradeModeNameList"), f"{where}.tradeModeNameList")
        ),
        trade_modes=tuple(_trade_mode(m, where) for m in modes),
        tao_sample_single_promotion=to_bool(
            item.get("taoSampleSinglePromotion"), f"{where}.taoSampleSinglePromotion"
        ),
        shop_promotions=tuple(
            _promotion(p, f"{where}.shopPromotionList[{i}]") for i, p in enumerate(shop)
        ),
        pay_channels=tuple(_pay_channel(c, where) for c in channels),
        lines=tuple(
            _line(line, f"{where}.cargoList[{i}]", warnings) for i, line in enumerate(lines)
        ),
    )


def _offer_ids(value: Any, where: str) -> tuple[str, ...]:
    return tuple(
        str(to_int(v, where)) if not isinstance(v, str) else v for v in to_list(value, where)
    )


# --------------------------------------------------------------------------- calling


def preview_order(
    config: GatewayConfig,
    *,
    address: Address,
    cargo: Sequence[Cargo],
    flow: str = "",
    session: requests.Session | None = None,
    sleep: Callable[[float], None] = time.sleep,
    rng: random.Random | None = None,
    urgent: bool = False,
) -> PreviewAnswer:
    """Preview one supplier's order: one call per 50 lines, retried where safe, combined.

    `flow` may be empty: 1688 then picks the best flow and each record's `flow_flag`
    says which. Raises `GatewayError` (with `attempts` and `duration` set) when any
    call of the supplier fails for good; a partial answer is never returned.

    Bounded whatever the gateway does: each call ends within `call_deadline` (connect to
    last byte, see deadline.py) and a retry starts only within `retry_budget` of the
    start, so a supplier of up to 50 lines ends within `retry_budget + call_deadline`
    (one more deadline per further 50 lines). Without `session`, the worker's
    pooled `transport.shared_session()`. `urgent`: a small run's call, which takes its
    turn in the quota before a big run's waiting calls.
    """
    if not cargo:
        raise ValueError("preview_order needs at least one cargo line")
    started = time.monotonic()
    rng = rng or random.Random()  # noqa: S311 - jitter, not cryptography
    answers: list[PreviewAnswer] = []
    attempts = 0
    try:
        for chunk_start in range(0, len(cargo), MAX_LINES_PER_CALL):
            chunk = cargo[chunk_start : chunk_start + MAX_LINES_PER_CALL]
            body = build_body(config, address, chunk, flow)
            answer, used = transport.call(
                config, PREVIEW_PATH, body, parse_preview_body,
                retry=True, session=session, started=started, sleep=sleep, rng=rng,
                urgent=urgent,
            )  # fmt: skip
            logger.info(
                "gateway preview ok: %d line(s), attempt %d, trace %s",
                len(chunk), used, ",".join(answer.trace_ids) or "-",
            )  # fmt: skip
            attempts += used
            answers.append(answer)
    except GatewayError as error:
        error.attempts = attempts + error.attempts
        error.duration = time.monotonic() - started
        raise
    combined = combine_answers(answers)
    return replace(combined, attempts=attempts, duration=time.monotonic() - started)


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
