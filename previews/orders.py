"""Placing the previewed orders (issue #13): request, approve, place exactly once, track.

The path:

1. **Request** (`request_ordering`): a buyer asks to order one or all orderable suppliers
   of a finished, recent run. One `SupplierOrder` per supplier and ≤50-line part, bound to
   the exact `addressParam` and `cargoParamList` the create call will send, the previewed
   totals, the trade mode and its pay window, the flow 1688 chose and the offers whose
   carriage is "as described".
2. **Approve / reject** (`approve_request`, `reject_request`): a person with the
   `previews.approve_orderrequest` permission (the "Order approvers" group) decides, with
   a comment. Approving one's own request is refused unless ORDER_SELF_APPROVAL (and then
   only up to ORDER_SELF_APPROVAL_LIMIT_FEN, when set).
3. **Place** (`place_request`, the worker): each approved part is previewed again; a
   total payable that moved by more than ORDER_PRICE_TOLERANCE_FEN goes back for
   approval showing the difference. Otherwise the part is claimed by a conditional
   UPDATE (approved → sending: a duplicate delivery, a double click, two workers: one
   wins), its `OrderAttempt` with our `thirdOrderId` and the marker written into the
   message is committed, and only then the create is sent, once (`retry=False`).
4. **Exactly once**: an answer lost (timeout, reset, 5xx, unparseable) makes the attempt
   "outcome unknown"; it is never sent again. `resolve_attempt` (the recovery pass, and
   on demand) reads the buyer's orders for the marker; a person can `mark_attempt_placed`
   (with the 1688 order id) or `mark_attempt_not_placed`. A worker killed mid-create
   leaves its attempt "claimed" or "sent": the recovery pass makes it outcome unknown.
5. **After**: `refresh_orders` reads order detail (status, amounts in yuan stored as fen,
   the seller's price change, the pay-by date); `payment_links` (≤30 ids per call, split
   beyond); `cancel_order` for unpaid orders, with a reason.

Every step writes an `OrderAuditEvent`. Nothing is done when `ordering_enabled()` is
false (production gateway without DAJI_ORDERING_ENABLED=true). Use cases raise
`OrderingRefused` with a user-facing message (previews/failures.py) when they refuse.
Tasks are sent by name (PLACE_TASK): this module never imports tasks.py.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings

from . import gateway
from .models import (
    OrderAttempt,
    OrderRequest,
    PlacedOrder,
    PreviewRun,
    SupplierOrder,
    SupplierPreview,
)

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser
    from django.db.models import QuerySet

PLACE_TASK = "previews.place_order_request"
APPROVE_PERMISSION = "previews.approve_orderrequest"
APPROVERS_GROUP = "Order approvers"


class OrderingRefused(Exception):
    """A use case refused what was asked; `message` is for the person (translated)."""

    def __init__(self, message: str):
        super().__init__(str(message))
        self.message = message


@dataclass(frozen=True)
class PaymentLink:
    """One payment page for a batch of orders (at most 30 per call)."""

    order_ids: tuple[str, ...]
    url: str


# --------------------------------------------------------------------------- switches


def gateway_is_sandbox() -> bool:
    """Whether the product talks to anything but the production gateway (the page banner's
    rule: DAJI_API_URL is not DAJI_PRODUCTION_URL)."""
    return settings.DAJI_API_URL != settings.DAJI_PRODUCTION_URL


def ordering_enabled() -> bool:
    """Whether orders may be placed: DAJI_ORDERING_ENABLED when set, otherwise only against
    a sandbox (never against the production gateway by default)."""
    explicit = settings.DAJI_ORDERING_ENABLED
    return gateway_is_sandbox() if explicit is None else explicit


# --------------------------------------------------------------------------- requesting


def orderable_suppliers(*, run: PreviewRun) -> list[SupplierPreview]:
    """The suppliers of `run` that can be requested: they can be ordered (the one rule,
    `SupplierPreview.can_be_ordered`) and no live request already orders them."""
    raise NotImplementedError


def request_ordering(
    *,
    run: PreviewRun,
    requested_by: AbstractBaseUser,
    submission_token: uuid.UUID,
    supplier_preview_ids: Sequence[int] | None = None,
    comment: str = "",
) -> OrderRequest:
    """Request ordering of some (`supplier_preview_ids`) or all orderable suppliers of
    `run`, bound to what it previewed. The buyer is the run's owner.

    Refused (`OrderingRefused`) when ordering is off, the run is not the requester's, not
    done, or stale (older than PREVIEW_QUOTE_MAX_AGE_HOURS: re-run first), or a chosen
    supplier cannot be ordered or is already requested. The same `submission_token`
    twice (a double click) returns the first request.
    """
    raise NotImplementedError


# --------------------------------------------------------------------------- deciding


def can_approve(*, user: AbstractBaseUser, order_request: OrderRequest) -> bool:
    """Whether `user` may approve or reject `order_request`: an approver, and not its
    requester unless ORDER_SELF_APPROVAL allows it (up to ORDER_SELF_APPROVAL_LIMIT_FEN)."""
    raise NotImplementedError


def requests_awaiting(*, user: AbstractBaseUser) -> QuerySet[OrderRequest]:
    """The requests waiting for `user`'s decision (empty for a non-approver); the only
    requests of other buyers an approver sees."""
    raise NotImplementedError


def approve_request(
    *, order_request: OrderRequest, approver: AbstractBaseUser, comment: str = ""
) -> OrderRequest:
    """Approve every part of the request awaiting approval (first time or repriced), at
    the totals shown, and send the placing task after commit.

    Refused when ordering is off, `approver` may not (`can_approve`), or nothing awaits
    approval (approved twice: the second is refused, nothing is placed twice).
    """
    raise NotImplementedError


def reject_request(
    *, order_request: OrderRequest, approver: AbstractBaseUser, comment: str
) -> OrderRequest:
    """Reject every part of the request awaiting approval, with a comment (required)."""
    raise NotImplementedError


# --------------------------------------------------------------------------- placing


def dispatch_placing(*, request_id: int) -> bool:
    """Send the placing task of an approved request once (claimed send, dispatch.py).
    False only when the broker is away; the recovery sends it later."""
    raise NotImplementedError


def place_request(*, request_id: int, config: gateway.GatewayConfig | None = None) -> dict:
    """Place every approved part of a request (the task's body). Safe to run twice at
    once: each part is claimed before its create is sent. Returns counts by outcome."""
    raise NotImplementedError


def place_supplier_order(
    *, supplier_order_id: int, config: gateway.GatewayConfig | None = None
) -> str:
    """Preview one approved part again, then create it once; returns the part's state.

    Back to approval ("repriced") when the total moved by more than the tolerance;
    "not_placed" when the new preview fails or cannot be ordered; otherwise claimed,
    the attempt stored and committed, the create sent with `retry=False`: "placed",
    "partly_placed", "refused" or "outcome_unknown". An unclaimable part (already being
    placed by another delivery) is left alone and its current state returned.
    """
    raise NotImplementedError


# --------------------------------------------------------------------------- resolving


def resolve_attempt(
    *,
    attempt_id: int,
    actor: AbstractBaseUser | None = None,
    config: gateway.GatewayConfig | None = None,
) -> str:
    """Try to learn what an outcome-unknown attempt did, from the buyer's order list
    (searched by the attempt's marker). Found: its orders are stored and the attempt is
    "resolved_placed". Not found: still unknown (a person decides), except an attempt
    that was never sent (claimed only), which is "resolved_not_placed". Returns the
    attempt's state."""
    raise NotImplementedError


def mark_attempt_placed(
    *, attempt: OrderAttempt, person: AbstractBaseUser, order_id: str, comment: str = ""
) -> PlacedOrder:
    """A person says an outcome-unknown attempt created 1688 order `order_id` (digits)."""
    raise NotImplementedError


def mark_attempt_not_placed(
    *, attempt: OrderAttempt, person: AbstractBaseUser, comment: str
) -> OrderAttempt:
    """A person says an outcome-unknown attempt created nothing (the part ends not placed;
    the buyer may request it again from a fresh preview)."""
    raise NotImplementedError


# --------------------------------------------------------------------------- after


def refresh_orders(
    *,
    orders: Sequence[PlacedOrder],
    actor: AbstractBaseUser | None = None,
    config: gateway.GatewayConfig | None = None,
) -> int:
    """Read order detail for each order: status, amounts (yuan → fen, exact), pay-by
    date, and whether the seller changed the total. Returns how many were read; a
    failure is kept on the order (`refresh_problem`)."""
    raise NotImplementedError


def payment_links(
    *,
    orders: Sequence[PlacedOrder],
    actor: AbstractBaseUser,
    config: gateway.GatewayConfig | None = None,
) -> list[PaymentLink]:
    """Payment pages for the unpaid `orders`, at most ORDER_PAYMENT_BATCH (30) per call,
    split beyond. Refused when none is unpaid."""
    raise NotImplementedError


def cancel_order(
    *,
    placed_order: PlacedOrder,
    person: AbstractBaseUser,
    reason: str,
    remark: str = "",
    config: gateway.GatewayConfig | None = None,
) -> PlacedOrder:
    """Cancel an unpaid order with a reason (`PlacedOrder.CancelReason`). Refused when it
    is paid or cancelled; CLOSE_ORDER_TOO_FAST says "try again in a few seconds"."""
    raise NotImplementedError


# --------------------------------------------------------------------------- recovering


def recover_orders() -> dict[str, int]:
    """One pass of the order recovery (recovery.py runs it in every worker): attempts left
    claimed/sent by a dead worker become outcome unknown (never sent again); unknown ones
    are looked up by marker; approved requests whose task was lost are sent again; placed
    orders' status is refreshed every ORDER_REFRESH_INTERVAL_SECONDS."""
    raise NotImplementedError


__all__ = [
    "APPROVERS_GROUP",
    "APPROVE_PERMISSION",
    "PLACE_TASK",
    "OrderAttempt",
    "OrderingRefused",
    "PaymentLink",
    "SupplierOrder",
    "approve_request",
    "can_approve",
    "cancel_order",
    "dispatch_placing",
    "gateway_is_sandbox",
    "mark_attempt_not_placed",
    "mark_attempt_placed",
    "orderable_suppliers",
    "ordering_enabled",
    "payment_links",
    "place_request",
    "place_supplier_order",
    "recover_orders",
    "refresh_orders",
    "reject_request",
    "request_ordering",
    "requests_awaiting",
    "resolve_attempt",
]
