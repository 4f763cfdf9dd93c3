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

import logging
import os
import socket
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from . import failures, gateway, limits, order_notes
from .breakdown import record_figures
from .dispatch import send_once
from .limits import shorten_for_column
from .models import (
    OrderAttempt,
    OrderAuditEvent,
    OrderRequest,
    PlacedOrder,
    PreviewRecord,
    PreviewRun,
    SupplierOrder,
    SupplierPreview,
)
from .money import format_fen, yuan_to_fen

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser
    from django.db.models import QuerySet

logger = logging.getLogger(__name__)

# Our own note on a part or an event: a kind of `order_notes` and its values.
type Note = tuple[str, dict]

PLACE_TASK = "previews.place_order_request"
APPROVE_PERMISSION = "previews.approve_orderrequest"
APPROVERS_GROUP = "Order approvers"
# Escrow (assureTrade) when the preview did not say: pay in full within 5 days.
DEFAULT_PAY_WINDOW = "买家下单后5天内支付全款,逾期付款,交易关闭。"
# 1688 statuses after which an order no longer changes (not refreshed in the background).
FINAL_STATUSES = frozenset({"success", "cancel", "terminated"})
# Looking for a lost create in the buyer's orders starts this long before its claim
# (clocks of ours and 1688's may differ).
MARKER_SEARCH_MARGIN = timedelta(minutes=10)

Action = OrderAuditEvent.Action
Part = SupplierOrder.State
Attempt = OrderAttempt.State
AWAITING_STATES = (Part.AWAITING_APPROVAL, Part.REPRICED)


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


# The sandbox runs beside the product (`make run`, the tests): only a gateway on this
# machine is taken for it. Any other address may be the production gateway under another
# spelling (http://, :443, capitals) or behind a proxy, so it counts as production.
SANDBOX_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def gateway_is_sandbox() -> bool:
    """Whether the product talks to a sandbox on this machine (DAJI_API_URL's host is a
    loopback address); anything else counts as the production gateway, for the page
    banner and for whether ordering is on by default."""
    host = (urlsplit(settings.DAJI_API_URL).hostname or "").lower()
    return host in SANDBOX_HOSTS or host.endswith(".localhost")


def ordering_enabled() -> bool:
    """Whether orders may be placed: DAJI_ORDERING_ENABLED when set, otherwise only against
    a sandbox (never against the production gateway by default)."""
    explicit = settings.DAJI_ORDERING_ENABLED
    return gateway_is_sandbox() if explicit is None else explicit


def _require_enabled() -> None:
    if not ordering_enabled():
        raise OrderingRefused(failures.ORDERING_OFF)


def _config(config: gateway.GatewayConfig | None) -> gateway.GatewayConfig:
    from .execution import gateway_config

    return config or gateway_config()


def _audit(
    action: str,
    *,
    request: OrderRequest | int,
    actor: AbstractBaseUser | None = None,
    supplier_order: SupplierOrder | None = None,
    attempt: OrderAttempt | None = None,
    placed_order: PlacedOrder | None = None,
    total_fen: int | None = None,
    previous_total_fen: int | None = None,
    comment: str = "",
    note: Note | None = None,
) -> OrderAuditEvent:
    """One history event: a person's `comment`, or our own `note` (kept as kind and values
    for the pages, in English in `comment` for the admin and the logs)."""
    if note is not None:
        comment = order_notes.english(*note)
    return OrderAuditEvent.objects.create(
        action=action,
        request_id=request if isinstance(request, int) else request.pk,
        actor=actor,
        supplier_order=supplier_order,
        attempt=attempt,
        placed_order=placed_order,
        total_fen=total_fen,
        previous_total_fen=previous_total_fen,
        comment=comment,
        note_kind=note[0] if note else "",
        note_values=note[1] if note else {},
    )


def _reason(note: Note | None) -> dict:
    """A part's reason fields for an update(): the note, and in English (no note: none)."""
    if note is None:
        return {"state_reason": "", "note_kind": "", "note_values": {}}
    return {
        "state_reason": order_notes.english(*note),
        "note_kind": note[0],
        "note_values": note[1],
    }


# --------------------------------------------------------------------------- requesting


def orderable_suppliers(*, run: PreviewRun) -> list[SupplierPreview]:
    """The suppliers of `run` that can be requested: they can be ordered (the one rule,
    `SupplierPreview.can_be_ordered`) and no live request already orders them."""
    live = SupplierOrder.objects.filter(supplier_preview__run=run).exclude(
        state__in=[Part.REJECTED, Part.WITHDRAWN, Part.REFUSED, Part.NOT_PLACED]
    )
    taken = set(live.values_list("supplier_preview_id", flat=True))
    suppliers = run.suppliers.prefetch_related("records").order_by("position")
    return [s for s in suppliers if s.can_be_ordered and s.pk not in taken]


def part_figures(records: Sequence[PreviewRecord]) -> dict[str, int | None]:
    """A part's totals block from the records it returned, each explained by the run
    page's own rule (`breakdown.record_figures`), so the request shows the
    figures the run page showed and they add up: goods (after line promotions) − order
    discounts + carriage + other fees + unexplained = the previewed total."""
    if not records:
        return dict.fromkeys(_FIGURES)
    figures = dict.fromkeys(_FIGURES, 0)
    for record in records:
        explained = record_figures(record, [line.amount_fen for line in record.lines.all()])
        figures["goods_fen"] += explained.goods_fen
        figures["discount_fen"] += explained.order_discount_fen
        figures["carriage_fen"] += explained.carriage_fen
        figures["additional_fee_fen"] += explained.other_fees_fen
        figures["unexplained_fen"] += explained.unexplained_fen or 0
    return figures


_FIGURES = ("goods_fen", "discount_fen", "carriage_fen", "additional_fee_fen", "unexplained_fen")


def _parts(run: PreviewRun, supplier: SupplierPreview) -> list[dict]:
    """One create call's worth per ≤50 lines of a supplier: the exact address and lines
    the preview sent, and the figures of the records that part returned."""
    from .execution import address_param

    address = address_param(run.address_snapshot).as_param()
    size = gateway.MAX_LINES_PER_CALL
    lines = list(supplier.requested_lines)
    chunks = [lines[i : i + size] for i in range(0, len(lines), size)] or [[]]
    records = list(supplier.records.all())
    parts = []
    for index, chunk in enumerate(chunks):
        mine = [r for r in records if (r.part or 0) == index]
        first = mine[0] if mine else None
        mode = (first.trade_modes or [{}])[0] if first else {}
        offers = {str(line["offer_id"]) for line in chunk}

        def total(field, mine=mine):
            values = [getattr(r, field) for r in mine if getattr(r, field) is not None]
            return sum(values) if values else None

        parts.append(
            {
                "part": index,
                "address_param": address,
                "cargo_params": [
                    gateway.Cargo(
                        offer_id=line["offer_id"],
                        spec_id=line["spec_id"] or None,
                        quantity=line["quantity"],
                    ).as_param()
                    for line in chunk
                ],
                "flow_flag": (first.flow_flag if first else "") or run.flow or "general",
                "records": len(mine),
                "previewed_total_fen": total("sum_payment_fen") or 0,
                **part_figures(mine),
                "trade_mode_name": shorten_for_column(
                    mode.get("name")
                    or (first.trade_mode_names[0] if first and first.trade_mode_names else ""),
                    120,
                ),
                "trade_type": shorten_for_column(mode.get("trade_type") or "", 60),
                "pay_window": mode.get("description") or DEFAULT_PAY_WINDOW,
                "post_fee_by_desc_offer_ids": [
                    o for o in supplier.post_fee_by_desc_offer_ids if str(o) in offers
                ],
            }
        )
    return parts


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
    existing = OrderRequest.objects.filter(
        requested_by=requested_by, submission_token=submission_token
    ).first()
    if existing is not None:
        return existing
    _require_enabled()
    if run.owner_id != requested_by.pk:
        raise OrderingRefused(failures.ORDER_NOT_YOURS)
    if run.status != PreviewRun.Status.DONE:
        raise OrderingRefused(failures.ORDER_RUN_NOT_DONE)
    if run.is_stale:
        raise OrderingRefused(failures.ORDER_RUN_STALE)
    suppliers = list(run.suppliers.prefetch_related("records__lines").order_by("position"))
    if supplier_preview_ids is None:
        chosen = [s for s in suppliers if s.can_be_ordered]
        available = {s.pk for s in orderable_suppliers(run=run)}
        chosen = [s for s in chosen if s.pk in available]
        if not chosen:
            raise OrderingRefused(failures.ORDER_NOTHING_ORDERABLE)
    else:
        wanted = set(supplier_preview_ids)
        chosen = [s for s in suppliers if s.pk in wanted]
        if len(chosen) != len(wanted) or not chosen:
            raise OrderingRefused(failures.ORDER_NOTHING_ORDERABLE)
        for supplier in chosen:
            if not supplier.can_be_ordered:
                raise OrderingRefused(
                    failures.ORDER_NOT_ORDERABLE % {"supplier": supplier.supplier_name}
                )
    try:
        with transaction.atomic():
            order_request = OrderRequest.objects.create(
                run=run,
                requested_by=requested_by,
                submission_token=submission_token,
                comment=comment.strip(),
            )
            for supplier in chosen:
                for part in _parts(run, supplier):
                    try:
                        with transaction.atomic():
                            SupplierOrder.objects.create(
                                request=order_request,
                                supplier_preview=supplier,
                                supplier_name=supplier.supplier_name,
                                **part,
                            )
                    except IntegrityError:
                        raise OrderingRefused(
                            failures.ORDER_ALREADY_REQUESTED % {"supplier": supplier.supplier_name}
                        ) from None
            total = sum(o.previewed_total_fen for o in order_request.supplier_orders.all())
            _audit(
                Action.REQUESTED,
                request=order_request,
                actor=requested_by,
                total_fen=total,
                comment=order_request.comment,
            )
    except IntegrityError:
        existing = OrderRequest.objects.filter(
            requested_by=requested_by, submission_token=submission_token
        ).first()
        if existing is None:
            raise
        return existing
    return order_request


# --------------------------------------------------------------------------- deciding


def _awaiting_total(order_request: OrderRequest) -> int:
    total = 0
    for part in order_request.supplier_orders.filter(state__in=AWAITING_STATES):
        total += (
            part.repriced_total_fen
            if part.state == Part.REPRICED and part.repriced_total_fen is not None
            else part.previewed_total_fen
        )
    return total


def _decision_refusal(user: AbstractBaseUser, order_request: OrderRequest) -> str | None:
    """Why `user` may not decide `order_request` (a text), or None when they may."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return failures.ORDER_NOT_APPROVER
    own = order_request.requested_by_id == user.pk
    if not own:
        return None if user.has_perm(APPROVE_PERMISSION) else failures.ORDER_NOT_APPROVER
    if not settings.ORDER_SELF_APPROVAL:
        return (
            failures.ORDER_SELF_APPROVAL_OFF
            if user.has_perm(APPROVE_PERMISSION)
            else failures.ORDER_NOT_APPROVER
        )
    limit = settings.ORDER_SELF_APPROVAL_LIMIT_FEN
    total = _awaiting_total(order_request)
    if limit is not None and total > limit:
        return failures.ORDER_SELF_APPROVAL_OVER_LIMIT % {
            "limit": format_fen(limit),
            "total": format_fen(total),
        }
    return None


def can_approve(*, user: AbstractBaseUser, order_request: OrderRequest) -> bool:
    """Whether `user` may approve or reject `order_request`: an approver deciding another
    buyer's request; their own only when ORDER_SELF_APPROVAL allows it (then even without
    the approver permission), up to ORDER_SELF_APPROVAL_LIMIT_FEN when set."""
    return _decision_refusal(user, order_request) is None


def requests_awaiting(*, user: AbstractBaseUser) -> QuerySet[OrderRequest]:
    """The requests waiting for `user`'s decision (empty for a non-approver); the only
    requests of other buyers an approver sees."""
    waiting = OrderRequest.objects.filter(state=OrderRequest.State.AWAITING_APPROVAL)
    mine = Q(requested_by=user) if settings.ORDER_SELF_APPROVAL else Q(pk__in=[])
    if user.has_perm(APPROVE_PERMISSION):
        return waiting.filter(~Q(requested_by=user) | mine)
    return waiting.filter(mine)


def _settle(request_id: int) -> str:
    """The request's state from its parts' (inside a transaction, under its row lock)."""
    order_request = OrderRequest.objects.select_for_update().get(pk=request_id)
    states = set(order_request.supplier_orders.values_list("state", flat=True))
    if states & set(AWAITING_STATES):
        state = OrderRequest.State.AWAITING_APPROVAL
    elif states & {Part.SENDING}:
        state = OrderRequest.State.PLACING
    elif states & {Part.APPROVED}:
        placing_started = states & {
            Part.PLACED, Part.PARTLY_PLACED, Part.REFUSED, Part.OUTCOME_UNKNOWN, Part.NOT_PLACED,
        }  # fmt: skip
        state = OrderRequest.State.PLACING if placing_started else OrderRequest.State.APPROVED
    elif states and states <= {Part.WITHDRAWN}:
        state = OrderRequest.State.WITHDRAWN
    elif states and states <= {Part.REJECTED, Part.WITHDRAWN}:
        state = OrderRequest.State.REJECTED
    else:
        state = OrderRequest.State.FINISHED
    if order_request.state != state:
        order_request.state = state
        order_request.save(update_fields=["state"])
    return state


def approve_request(
    *, order_request: OrderRequest, approver: AbstractBaseUser, comment: str = ""
) -> OrderRequest:
    """Approve every part of the request awaiting approval (first time or repriced), at
    the totals shown, and send the placing task after commit.

    Refused when ordering is off, `approver` may not (`can_approve`), or nothing awaits
    approval (approved twice: the second is refused, nothing is placed twice).
    """
    _require_enabled()
    with transaction.atomic():
        locked, parts = _awaiting_parts(order_request)
        refusal = _decision_refusal(approver, locked)
        if refusal:
            raise OrderingRefused(refusal)
        now = timezone.now()
        total = previous = 0
        for part in parts:
            repriced = part.state == Part.REPRICED and part.repriced_total_fen is not None
            new_total = part.repriced_total_fen if repriced else part.previewed_total_fen
            previous += part.approved_total_fen if repriced else new_total
            total += new_total
            part.approved_total_fen = new_total
            part.state = Part.APPROVED
            part.state_reason, part.note_kind, part.note_values = "", "", {}
            part.save(
                update_fields=[
                    "approved_total_fen", "state", "state_reason", "note_kind", "note_values",
                    "updated_at",
                ]
            )  # fmt: skip
        locked.decided_by = approver
        locked.decided_at = now
        locked.decision_comment = comment.strip()
        locked.dispatched_at = None
        locked.save(update_fields=["decided_by", "decided_at", "decision_comment", "dispatched_at"])
        _audit(
            Action.APPROVED,
            request=locked,
            actor=approver,
            total_fen=total,
            previous_total_fen=previous if previous != total else None,
            comment=locked.decision_comment,
        )
        _settle(locked.pk)
        transaction.on_commit(lambda: dispatch_placing(request_id=locked.pk))
    locked.refresh_from_db()
    return locked


def _awaiting_parts(order_request: OrderRequest) -> tuple[OrderRequest, list[SupplierOrder]]:
    """The request under its row lock and its parts awaiting approval, locked too (in a
    transaction). Refused when nothing awaits: a second decision decides nothing."""
    locked = OrderRequest.objects.select_for_update().get(pk=order_request.pk)
    parts = list(locked.supplier_orders.select_for_update().filter(state__in=AWAITING_STATES))
    if not parts:
        raise OrderingRefused(failures.ORDER_NOTHING_AWAITING)
    return locked, parts


def _end_awaiting(parts: list[SupplierOrder], state: str) -> None:
    """Rejected or withdrawn: why they were awaiting (a price change) is history now, kept
    by its event."""
    SupplierOrder.objects.filter(pk__in=[p.pk for p in parts]).update(
        state=state, updated_at=timezone.now(), **_reason(None)
    )


def reject_request(
    *, order_request: OrderRequest, approver: AbstractBaseUser, comment: str
) -> OrderRequest:
    """Reject every part of the request awaiting approval, with a comment (required)."""
    if not comment.strip():
        raise OrderingRefused(failures.ORDER_COMMENT_REQUIRED)
    with transaction.atomic():
        locked, parts = _awaiting_parts(order_request)
        refusal = _decision_refusal(approver, locked)
        if refusal:
            raise OrderingRefused(refusal)
        total = _awaiting_total(locked)
        _end_awaiting(parts, Part.REJECTED)
        locked.decided_by = approver
        locked.decided_at = timezone.now()
        locked.decision_comment = comment.strip()
        locked.save(update_fields=["decided_by", "decided_at", "decision_comment"])
        _audit(
            Action.REJECTED, request=locked, actor=approver, total_fen=total,
            comment=locked.decision_comment,
        )  # fmt: skip
        _settle(locked.pk)
    locked.refresh_from_db()
    return locked


def withdraw_request(
    *, order_request: OrderRequest, person: AbstractBaseUser, comment: str = ""
) -> OrderRequest:
    """The buyer who requested it takes back what still awaits approval (the preview is
    free to be requested again). Refused for anyone else or when nothing awaits."""
    if order_request.requested_by_id != person.pk:  # never changes: no lock needed
        raise OrderingRefused(failures.ORDER_NOT_YOURS)
    with transaction.atomic():
        locked, parts = _awaiting_parts(order_request)
        total = _awaiting_total(locked)
        _end_awaiting(parts, Part.WITHDRAWN)
        _audit(
            Action.WITHDRAWN, request=locked, actor=person, total_fen=total,
            comment=comment.strip(),
        )  # fmt: skip
        _settle(locked.pk)
    locked.refresh_from_db()
    return locked


# --------------------------------------------------------------------------- placing


def dispatch_placing(*, request_id: int) -> bool:
    """Send the placing task of an approved request once (claimed send, dispatch.py).
    False only when the broker is away; the recovery sends it later."""
    return send_once(
        # Any request with a part approved and not yet placed (another part of it may be
        # back awaiting approval after a price change).
        waiting=OrderRequest.objects.filter(
            pk__in=SupplierOrder.objects.filter(state=Part.APPROVED).values("request_id")
        ),
        job_id=request_id,
        task=PLACE_TASK,
    )


def place_request(*, request_id: int, config: gateway.GatewayConfig | None = None) -> dict:
    """Place every approved part of a request (the task's body). Safe to run twice at
    once: each part is claimed before its create is sent. Returns counts by outcome."""
    outcomes: dict[str, int] = {}
    if not ordering_enabled():
        logger.warning("order request %s not placed: ordering is turned off", request_id)
        return outcomes
    part_ids = list(
        SupplierOrder.objects.filter(request_id=request_id, state=Part.APPROVED)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    config = _config(config)
    for part_id in part_ids:
        state = place_supplier_order(supplier_order_id=part_id, config=config)
        outcomes[state] = outcomes.get(state, 0) + 1
    with transaction.atomic():
        _settle(request_id)
    return outcomes


def new_third_order_id() -> str:
    """Our id of one create attempt: `T`, the date and 16 random hex digits (unique)."""
    return f"T{timezone.now():%Y%m%d}{uuid.uuid4().hex[:16].upper()}"


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
    part = SupplierOrder.objects.select_related("request").get(pk=supplier_order_id)
    if part.state != Part.APPROVED or not ordering_enabled():
        return part.state
    config = _config(config)
    address = gateway.Address(
        full_name=part.address_param["fullName"],
        mobile=part.address_param["mobile"],
        phone=part.address_param["phone"],
        post_code=part.address_param["postCode"],
        province_text=part.address_param["provinceText"],
        city_text=part.address_param["cityText"],
        area_text=part.address_param["areaText"],
        town_text=part.address_param["townText"],
        address=part.address_param["address"],
        district_code=part.address_param["districtCode"],
    )
    cargo = [
        gateway.Cargo(offer_id=c["offerId"], quantity=c["quantity"], spec_id=c.get("specId"))
        for c in part.cargo_params
    ]
    try:
        preview = gateway.preview_order(config, address=address, cargo=cargo, flow=part.flow_flag)
    except gateway.GatewayError as error:
        note = (order_notes.REPREVIEW_FAILED, _error_values(error))
        return _not_placed_before_sending(part, note)
    blocked = [r for r in preview.records if not (r.status and r.can_order_through_api)]
    if blocked or not preview.records or any(r.sum_payment_fen is None for r in preview.records):
        problem = blocked[0] if blocked else None
        note = (
            order_notes.REPREVIEW_NOT_ORDERABLE,
            {
                "code": (problem.result_code or "") if problem else "",
                "message": (problem.message or "") if problem else "",
            },
        )
        return _not_placed_before_sending(part, note)
    now_total = sum(r.sum_payment_fen for r in preview.records)
    approved = (
        part.approved_total_fen if part.approved_total_fen is not None else part.previewed_total_fen
    )
    if abs(now_total - approved) > settings.ORDER_PRICE_TOLERANCE_FEN:
        return _repriced(part, now_total=now_total, approved=approved)
    # Claim, store the attempt and commit: only then is the create sent.
    third_order_id = new_third_order_id()
    token = f"{socket.gethostname()}/{os.getpid()}/{uuid.uuid4().hex[:8]}"
    with transaction.atomic():
        claimed = SupplierOrder.objects.filter(pk=part.pk, state=Part.APPROVED).update(
            state=Part.SENDING,
            repriced_total_fen=now_total,
            repreviewed_at=timezone.now(),
            updated_at=timezone.now(),
        )
        if not claimed:
            return SupplierOrder.objects.get(pk=part.pk).state
        attempt = OrderAttempt.objects.create(
            supplier_order=part,
            third_order_id=third_order_id,
            marker=gateway.order_marker(third_order_id),
            message=gateway.order_message(
                third_order_id
            ),  # the note is for the approver, not the seller
            worker_token=token,
        )
        _settle(part.request_id)
    # Committed. Mark it sent (committed too) and send it, once.
    if not OrderAttempt.objects.filter(pk=attempt.pk, state=Attempt.CLAIMED).update(
        state=Attempt.SENT, sent_at=timezone.now()
    ):
        return SupplierOrder.objects.get(pk=part.pk).state
    _audit(
        Action.SENT,
        request=part.request_id,
        supplier_order=part,
        attempt=attempt,
        total_fen=now_total,
    )
    try:
        answer = gateway.create_order(
            config,
            third_order_id=attempt.third_order_id,
            flow=part.flow_flag,
            message=attempt.message,
            address_param=part.address_param,
            cargo_params=part.cargo_params,
        )
    except gateway.GatewayError as error:
        if gateway.outcome_unknown(error):
            _record_unknown(attempt.pk, error=error)
        else:
            _record_refused(attempt.pk, error=error)
    else:
        _record_created(
            attempt.pk,
            answer=answer,
            record_totals=[r.sum_payment_fen for r in preview.records],
            config=config,
        )
    return SupplierOrder.objects.get(pk=part.pk).state


def _not_placed_before_sending(part: SupplierOrder, note: Note) -> str:
    with transaction.atomic():
        if SupplierOrder.objects.filter(pk=part.pk, state=Part.APPROVED).update(
            state=Part.NOT_PLACED, updated_at=timezone.now(), **_reason(note)
        ):
            _audit(Action.NOT_PLACED, request=part.request_id, supplier_order=part, note=note)
            _settle(part.request_id)
    return SupplierOrder.objects.get(pk=part.pk).state


def _repriced(part: SupplierOrder, *, now_total: int, approved: int) -> str:
    note = (order_notes.REPRICED, {"approved": approved, "now": now_total})
    with transaction.atomic():
        if SupplierOrder.objects.filter(pk=part.pk, state=Part.APPROVED).update(
            state=Part.REPRICED,
            repriced_total_fen=now_total,
            repreviewed_at=timezone.now(),
            updated_at=timezone.now(),
            **_reason(note),
        ):
            _audit(
                Action.REPRICED, request=part.request_id, supplier_order=part,
                total_fen=now_total, previous_total_fen=approved, note=note,
            )  # fmt: skip
            _settle(part.request_id)
    return SupplierOrder.objects.get(pk=part.pk).state


def _error_fields(error: gateway.GatewayError) -> dict:
    return {
        "error_kind": str(error.kind),
        "error_code": shorten_for_column(error.error_code, limits.ERROR_CODE_LENGTH),
        "upstream_message": error.message,
        "http_status": error.http_status,
        "trace_id": shorten_for_column(error.trace_id, limits.TRACE_ID_LENGTH),
        "raw_body": error.raw_body,
        "answered_at": timezone.now(),
    }


def _error_values(error: gateway.GatewayError) -> dict:
    """What a note keeps of a failed call: its kind, and 1688's code, status and words."""
    return {
        "kind": str(error.kind),
        "code": error.error_code or "",
        "http_status": error.http_status,
        "message": error.message or "",
    }


def _record_unknown(attempt_id: int, *, error: gateway.GatewayError) -> None:
    _record_failed_create(
        attempt_id, error=error, note=(order_notes.OUTCOME_UNKNOWN, _error_values(error)),
        attempt_state=Attempt.OUTCOME_UNKNOWN, part_state=Part.OUTCOME_UNKNOWN,
        action=Action.OUTCOME_UNKNOWN,
    )  # fmt: skip
    logger.warning("order attempt %s: outcome unknown (%s)", attempt_id, error.reason)


def _record_refused(attempt_id: int, *, error: gateway.GatewayError) -> None:
    _record_failed_create(
        attempt_id, error=error, note=(order_notes.REFUSED, _error_values(error)),
        attempt_state=Attempt.REFUSED, part_state=Part.REFUSED, action=Action.REFUSED,
    )  # fmt: skip


def _record_failed_create(
    attempt_id: int, *, error: gateway.GatewayError, note: Note, attempt_state: str,
    part_state: str, action: str,
) -> None:  # fmt: skip
    """A sent create that failed (lost or refused): the attempt, its part and the audit."""
    with transaction.atomic():
        attempt = OrderAttempt.objects.select_for_update().get(pk=attempt_id)
        if attempt.state != Attempt.SENT:
            return
        for name, value in _error_fields(error).items():
            setattr(attempt, name, value)
        attempt.state = attempt_state
        attempt.save()
        SupplierOrder.objects.filter(pk=attempt.supplier_order_id, state=Part.SENDING).update(
            state=part_state, updated_at=timezone.now(), **_reason(note)
        )
        part = attempt.supplier_order
        _audit(action, request=part.request_id, supplier_order=part, attempt=attempt, note=note)
        _settle(part.request_id)


def _failed_line(line: gateway.FailedLine) -> dict:
    return {
        "offer_id": line.offer_id,
        "spec_id": line.spec_id or "",
        "error_code": line.error_code or "",
        "error_message": line.error_message or "",
    }


def _record_created(
    attempt_id: int,
    *,
    answer: gateway.CreateAnswer,
    record_totals: Sequence[int],
    config: gateway.GatewayConfig,
) -> None:
    """Store what a create made. Also takes an answer that arrives after the recovery
    called the attempt unknown: a real answer is better knowledge."""
    with transaction.atomic():
        attempt = OrderAttempt.objects.select_for_update().get(pk=attempt_id)
        if attempt.state not in (Attempt.SENT, Attempt.OUTCOME_UNKNOWN):
            return
        clashing = _ids_held_elsewhere([created.order_id for created in answer.orders], attempt)
        if clashing:
            _record_id_clash(attempt, answer=answer, clashing=clashing)
            return
        attempt.state = Attempt.CREATED
        attempt.answered_at = timezone.now()
        attempt.raw_body = answer.raw_body
        attempt.trace_id = shorten_for_column(answer.trace_id, limits.TRACE_ID_LENGTH)
        attempt.failed_lines = [_failed_line(line) for line in answer.failed_lines]
        attempt.save()
        placed = []
        for index, created in enumerate(answer.orders):
            expected = created.total_fen
            if (
                expected is None
                and len(answer.orders) == len(record_totals)
                and not answer.failed_lines
            ):
                expected = record_totals[index]
            order, _new = PlacedOrder.objects.get_or_create(
                order_id=created.order_id,
                defaults={
                    "attempt": attempt,
                    "source": PlacedOrder.Source.CREATE,
                    "created_total_fen": created.total_fen,
                    "created_post_fee_fen": created.post_fee_fen,
                    "expected_total_fen": expected,
                },
            )
            placed.append(order)
        part = attempt.supplier_order
        state = Part.PARTLY_PLACED if answer.failed_lines else Part.PLACED
        SupplierOrder.objects.filter(pk=part.pk).update(
            state=state, updated_at=timezone.now(), **_reason(None)
        )
        total = answer.total_success_fen
        if total is None:
            total = sum(o.created_total_fen or 0 for o in placed) or None
        failed = [{"offer_id": line.offer_id, "error_code": line.error_code or ""}
                  for line in answer.failed_lines]  # fmt: skip
        _audit(
            Action.PARTLY_PLACED if answer.failed_lines else Action.PLACED,
            request=part.request_id, supplier_order=part, attempt=attempt, total_fen=total,
            note=(order_notes.PLACED,
                  {"order_ids": [o.order_id for o in placed], "failed_lines": failed}),
        )  # fmt: skip
        _settle(part.request_id)
    _refresh_quietly(placed, config)


def _ids_held_elsewhere(order_ids: Sequence[str], attempt: OrderAttempt) -> list[str]:
    """The 1688 order ids among `order_ids` already recorded for another attempt: never
    attached to this one (they would mix two orders, perhaps two buyers')."""
    return list(
        PlacedOrder.objects.filter(order_id__in=order_ids)
        .exclude(attempt=attempt)
        .values_list("order_id", flat=True)
    )


def _record_id_clash(
    attempt: OrderAttempt, *, answer: gateway.CreateAnswer, clashing: Sequence[str]
) -> None:
    """1688 said it created orders under ids we already hold for other orders: what was
    created is not known for sure, so a person must look (outcome unknown, never resent)."""
    ids = ", ".join(clashing)
    logger.error("create answer for %s names order ids already on record: %s", attempt, ids)
    attempt.state = Attempt.OUTCOME_UNKNOWN
    attempt.answered_at = timezone.now()
    attempt.raw_body = answer.raw_body
    attempt.error_kind = failures.ORDER_ID_CLASH_KIND
    attempt.upstream_message = ids
    attempt.save()
    part = attempt.supplier_order
    note = (
        order_notes.OUTCOME_UNKNOWN,
        {"kind": failures.ORDER_ID_CLASH_KIND, "ids": list(clashing)},
    )
    SupplierOrder.objects.filter(pk=part.pk).update(
        state=Part.OUTCOME_UNKNOWN, updated_at=timezone.now(), **_reason(note)
    )
    _audit(
        Action.OUTCOME_UNKNOWN, request=part.request_id, supplier_order=part, attempt=attempt,
        note=note,
    )  # fmt: skip
    _settle(part.request_id)


def _refresh_quietly(orders: Sequence[PlacedOrder], config: gateway.GatewayConfig) -> None:
    try:
        refresh_orders(orders=orders, config=config)
    except Exception:  # a status read is a convenience here; the recovery reads it later
        logger.exception("could not read the status of new orders")


def describe_state(part: SupplierOrder) -> str:
    """Why a part is where it is, in the reader's language (empty when its state label
    says it all): the price change awaiting approval, the lost answer, 1688's refusal.
    `state_reason` keeps the same in English for the admin and the logs."""
    return part.shown_reason


# --------------------------------------------------------------------------- resolving


def _may_act(person: AbstractBaseUser, order_request: OrderRequest) -> bool:
    return order_request.requested_by_id == person.pk or person.has_perm(APPROVE_PERMISSION)


def _exact_fen(amount) -> int | None:
    """Yuan from order detail as fen, only when it is a whole number of fen (otherwise
    the parser's warning says so and nothing is rounded)."""
    if amount is None or amount != amount.quantize(gateway.ONE_FEN):
        return None
    return yuan_to_fen(amount)


def _store_detail(order: PlacedOrder, detail: gateway.OrderDetail) -> list[dict]:
    """Copy order detail onto `order` (not saved); returns what changed that matters, for
    a note (`order_notes.REFRESHED`)."""
    changes = []
    total = _exact_fen(detail.total_amount)
    if order.status and detail.status and detail.status != order.status:
        changes.append({"what": "status", "before": order.status, "after": detail.status})
    if total is not None and order.total_fen is not None and total != order.total_fen:
        changes.append({"what": "total", "before": order.total_fen, "after": total})
    order.status = shorten_for_column(detail.status, 40)
    order.total_fen = total
    order.shipping_fee_fen = _exact_fen(detail.shipping_fee)
    order.goods_fen = _exact_fen(detail.sum_product_payment)
    order.discount_fen = detail.discount_fen
    order.refund_fen = detail.refund_fen
    order.ordered_at = detail.created_at or order.ordered_at
    order.pay_by = detail.pay_by or order.pay_by
    if order.pay_by is None and order.ordered_at is None:
        # No creation time in the detail: escrow's window from when we recorded it.
        order.pay_by = (order.created_at or timezone.now()) + gateway.orders.ESCROW_PAY_WINDOW
    order.raw_detail = detail.raw_body
    order.refreshed_at = timezone.now()
    order.refresh_problem = "; ".join(detail.warnings)
    reference = order.expected_total_fen
    if reference is None:
        reference = order.created_total_fen
    order.price_changed = total is not None and reference is not None and total != reference
    return changes


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
    attempt = OrderAttempt.objects.select_related("supplier_order").get(pk=attempt_id)
    if attempt.state != Attempt.OUTCOME_UNKNOWN:
        return attempt.state
    if attempt.sent_at is None:
        with transaction.atomic():
            return _resolve(
                attempt.pk, actor=actor, found=[],
                note_kind=order_notes.NEVER_SENT,
            )  # fmt: skip
    config = _config(config)
    try:
        found = gateway.find_orders_by_marker(
            config, marker=attempt.marker, created_after=attempt.claimed_at - MARKER_SEARCH_MARGIN
        )
    except gateway.GatewayError as error:
        OrderAttempt.objects.filter(pk=attempt.pk).update(
            resolution_checks=attempt.resolution_checks + 1, last_checked_at=timezone.now()
        )
        logger.warning(
            "attempt %s: the buyer's orders could not be read: %s",
            attempt.third_order_id,
            error.reason,
        )
        return attempt.state
    if not found:
        OrderAttempt.objects.filter(pk=attempt.pk).update(
            resolution_checks=attempt.resolution_checks + 1, last_checked_at=timezone.now()
        )
        return attempt.state
    with transaction.atomic():
        return _resolve(
            attempt.pk, actor=actor, found=found,
            note_kind=order_notes.FOUND_BY_MARKER,
        )  # fmt: skip


def _resolve(
    attempt_id: int,
    *,
    actor: AbstractBaseUser | None,
    found: Sequence[gateway.OrderDetail],
    note_kind: str,
    comment: str = "",
) -> str:
    attempt = OrderAttempt.objects.select_for_update().get(pk=attempt_id)
    if attempt.state != Attempt.OUTCOME_UNKNOWN:
        return attempt.state
    clashing = set(_ids_held_elsewhere([detail.order_id for detail in found], attempt))
    if clashing:  # an order of another attempt is no answer for this one: a person decides
        logger.error("orders found for %s are recorded for others: %s", attempt, clashing)
        found = [detail for detail in found if detail.order_id not in clashing]
        if not found:
            return attempt.state
    part = attempt.supplier_order
    placed = bool(found)
    values = {"order_ids": [detail.order_id for detail in found]} if found else {}
    attempt.state = Attempt.RESOLVED_PLACED if placed else Attempt.RESOLVED_NOT_PLACED
    attempt.resolved_by = actor
    attempt.resolved_at = timezone.now()
    attempt.resolution = order_notes.english(note_kind, values)
    attempt.note_kind, attempt.note_values = note_kind, values
    attempt.save()
    total = 0
    for detail in found:
        order, _new = PlacedOrder.objects.get_or_create(
            order_id=detail.order_id,
            defaults={"attempt": attempt, "source": PlacedOrder.Source.ORDER_LIST},
        )
        if len(found) == 1 and order.expected_total_fen is None:
            order.expected_total_fen = part.repriced_total_fen or part.approved_total_fen
        _store_detail(order, detail)
        order.save()
        total += order.total_fen or 0
    SupplierOrder.objects.filter(pk=part.pk).update(
        state=Part.PLACED if placed else Part.NOT_PLACED,
        updated_at=timezone.now(),
        **_reason(None if placed else (note_kind, values)),
    )
    _audit(
        Action.RESOLVED, request=part.request_id, actor=actor, supplier_order=part,
        attempt=attempt, total_fen=total if placed else None,
        note=(note_kind, {**values, "comment": comment} if comment else values),
    )  # fmt: skip
    _settle(part.request_id)
    return attempt.state


def mark_attempt_placed(
    *, attempt: OrderAttempt, person: AbstractBaseUser, order_id: str, comment: str = ""
) -> PlacedOrder:
    """A person says an outcome-unknown attempt created 1688 order `order_id` (digits)."""
    order_id = (order_id or "").strip()
    if not (order_id.isascii() and order_id.isdigit() and len(order_id) <= 32):
        raise OrderingRefused(failures.ORDER_ID_INVALID)
    if not _may_act(person, attempt.supplier_order.request):
        raise OrderingRefused(failures.ORDER_NOT_YOURS)
    with transaction.atomic():
        locked = OrderAttempt.objects.select_for_update().get(pk=attempt.pk)
        if locked.state != Attempt.OUTCOME_UNKNOWN:
            raise OrderingRefused(failures.ORDER_NOT_UNKNOWN)
        if PlacedOrder.objects.filter(order_id=order_id).exists():
            raise OrderingRefused(failures.ORDER_ID_TAKEN % {"order_id": order_id})
        part = locked.supplier_order
        order = PlacedOrder.objects.create(
            attempt=locked,
            order_id=order_id,
            source=PlacedOrder.Source.PERSON,
            expected_total_fen=part.repriced_total_fen or part.approved_total_fen,
        )
        locked.state = Attempt.RESOLVED_PLACED
        locked.resolved_by = person
        locked.resolved_at = timezone.now()
        values = {"order_id": order_id}
        locked.resolution = order_notes.english(order_notes.SAID_PLACED, values)
        locked.note_kind, locked.note_values = order_notes.SAID_PLACED, values
        locked.save()
        SupplierOrder.objects.filter(pk=part.pk).update(
            state=Part.PLACED, updated_at=timezone.now(), **_reason(None)
        )
        _audit(
            Action.RESOLVED, request=part.request_id, actor=person, supplier_order=part,
            attempt=locked, placed_order=order,
            note=(order_notes.SAID_PLACED, {**values, "comment": comment.strip()}),
        )  # fmt: skip
        _settle(part.request_id)
    return order


def mark_attempt_not_placed(
    *, attempt: OrderAttempt, person: AbstractBaseUser, comment: str
) -> OrderAttempt:
    """A person says an outcome-unknown attempt created nothing (the part ends not placed;
    the buyer may request it again from a fresh preview)."""
    if not comment.strip():
        raise OrderingRefused(failures.ORDER_COMMENT_REQUIRED)
    if not _may_act(person, attempt.supplier_order.request):
        raise OrderingRefused(failures.ORDER_NOT_YOURS)
    with transaction.atomic():
        if OrderAttempt.objects.get(pk=attempt.pk).state != Attempt.OUTCOME_UNKNOWN:
            raise OrderingRefused(failures.ORDER_NOT_UNKNOWN)
        _resolve(
            attempt.pk, actor=person, found=[],
            note_kind=order_notes.SAID_NOT_PLACED, comment=comment.strip(),
        )  # fmt: skip
    return OrderAttempt.objects.get(pk=attempt.pk)


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
    config = _config(config)
    read = 0
    for order in orders:
        try:
            detail = gateway.order_detail(config, order_id=order.order_id)
        except gateway.GatewayError as error:
            PlacedOrder.objects.filter(pk=order.pk).update(
                refresh_problem=failures.english(
                    failures.ORDER_CALL_FAILURES.get(
                        str(error.kind), failures.ORDER_CALL_FAILURES["rejected"]
                    )
                )
                + (f" ({error.error_code}: {error.message})" if error.error_code else "")
            )
            continue
        read += 1
        with transaction.atomic():
            locked = (
                PlacedOrder.objects.select_for_update()
                .select_related("attempt__supplier_order")
                .get(pk=order.pk)
            )
            was_changed = locked.price_changed
            changes = _store_detail(locked, detail)
            locked.save()
            part = locked.attempt.supplier_order
            if locked.price_changed and not was_changed:
                _audit(
                    Action.PRICE_CHANGED, request=part.request_id, supplier_order=part,
                    placed_order=locked, total_fen=locked.total_fen,
                    previous_total_fen=locked.expected_total_fen or locked.created_total_fen,
                )  # fmt: skip
            if changes or actor is not None:
                _audit(
                    Action.REFRESHED, request=part.request_id, actor=actor, supplier_order=part,
                    placed_order=locked, total_fen=locked.total_fen,
                    note=(order_notes.REFRESHED, {"changes": changes}),
                )  # fmt: skip
        order.refresh_from_db()
    return read


def payment_links(
    *,
    orders: Sequence[PlacedOrder],
    actor: AbstractBaseUser,
    config: gateway.GatewayConfig | None = None,
) -> list[PaymentLink]:
    """Payment pages for the unpaid `orders`, at most 30 (gateway.MAX_PAYMENT_ORDERS) per
    call, split beyond. Refused when none is unpaid; a failed call raises
    `OrderingRefused` with the reason."""
    if not orders:
        raise OrderingRefused(failures.ORDER_NONE_SELECTED)
    unpaid = [o for o in orders if o.is_unpaid]
    if not unpaid:
        raise OrderingRefused(failures.ORDER_NONE_UNPAID)
    config = _config(config)
    links = []
    size = gateway.MAX_PAYMENT_ORDERS
    for start in range(0, len(unpaid), size):
        batch = unpaid[start : start + size]
        ids = tuple(o.order_id for o in batch)
        try:
            answer = gateway.payment_url(config, order_ids=ids)
        except gateway.GatewayError as error:
            raise OrderingRefused(
                failures.order_call_failure(
                    str(error.kind), code=error.error_code or "", message=error.message
                )
            ) from None
        links.append(PaymentLink(order_ids=ids, url=answer.url))
        for order in batch:
            part = order.attempt.supplier_order
            _audit(
                Action.PAYMENT_LINK, request=part.request_id, actor=actor, supplier_order=part,
                placed_order=order, total_fen=order.total_fen,
                note=(order_notes.PAYMENT_LINK, {"n": len(ids)}),
            )  # fmt: skip
    return links


CANCEL_CLAIM_LAPSES = timedelta(minutes=5)


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
    _require_enabled()
    if reason not in PlacedOrder.CancelReason.values:
        raise OrderingRefused(failures.ORDER_CANCEL_REASON)
    order = PlacedOrder.objects.select_related("attempt__supplier_order__request").get(
        pk=placed_order.pk
    )
    part = order.attempt.supplier_order
    if not _may_act(person, part.request):
        raise OrderingRefused(failures.ORDER_NOT_YOURS)
    if not order.is_unpaid:
        raise OrderingRefused(
            failures.ORDER_NOT_UNPAID % {"status": order_notes.status_label(order.status)}
        )
    remark = remark.strip()[:200]
    # Claimed before it is sent: of two clicks at once, one sends the cancel. A claim
    # whose process died mid-call lapses after CANCEL_CLAIM_LAPSES (longer than any call).
    now = timezone.now()
    claimed = (
        PlacedOrder.objects.filter(pk=order.pk, cancelled_at__isnull=True)
        .filter(
            Q(cancel_claimed_at__isnull=True) | Q(cancel_claimed_at__lt=now - CANCEL_CLAIM_LAPSES)
        )
        .update(cancel_claimed_at=now)
    )
    if not claimed:
        order.refresh_from_db()
        if order.cancelled_at is not None:
            raise OrderingRefused(
                failures.ORDER_NOT_UNPAID % {"status": order_notes.status_label(order.status)}
            )
        raise OrderingRefused(failures.ORDER_CANCEL_IN_FLIGHT)
    try:
        gateway.cancel_order(_config(config), order_id=order.order_id, reason=reason, remark=remark)
    except gateway.GatewayError as error:
        PlacedOrder.objects.filter(pk=order.pk, cancel_claimed_at=now).update(
            cancel_claimed_at=None
        )
        text = failures.order_call_failure(
            str(error.kind), code=error.error_code or "", message=error.message
        )
        _audit(
            Action.CANCEL_REFUSED, request=part.request_id, actor=person, supplier_order=part,
            placed_order=order, total_fen=order.total_fen,
            note=(order_notes.CANCEL_REFUSED, _error_values(error)),
        )  # fmt: skip
        raise OrderingRefused(text) from None
    with transaction.atomic():
        PlacedOrder.objects.filter(pk=order.pk).update(
            cancelled_at=timezone.now(),
            cancel_reason=reason,
            cancel_remark=remark,
            cancelled_by=person,
            status="cancel",
        )
        order.refresh_from_db()
        _audit(
            Action.CANCELLED, request=part.request_id, actor=person, supplier_order=part,
            placed_order=order, total_fen=order.total_fen,
            note=(order_notes.CANCELLED, {"reason": reason, "remark": remark}),
        )  # fmt: skip
    return order


def audit_csv(events) -> bytes:
    """The order audit trail as CSV (`exports.order_audit_csv`: UTF-8 with BOM, every
    text cell spreadsheet-safe). `events`: OrderAuditEvents the reader may see."""
    from .exports import order_audit_csv

    return order_audit_csv(events)


# --------------------------------------------------------------------------- recovering


def mark_lost_attempts() -> int:
    """Attempts still "claimed" or "sent" ORDER_ATTEMPT_LOST_AFTER_SECONDS after their
    claim lost their worker (a call ends within its deadline): their outcome is unknown.
    Never sent again. Returns how many."""
    cutoff = timezone.now() - timedelta(seconds=settings.ORDER_ATTEMPT_LOST_AFTER_SECONDS)
    count = 0
    stuck = OrderAttempt.objects.filter(
        state__in=[Attempt.CLAIMED, Attempt.SENT], claimed_at__lt=cutoff
    )
    note = (order_notes.OUTCOME_UNKNOWN, {"kind": failures.WORKER_LOST})
    for attempt_id in stuck.values_list("pk", flat=True):
        with transaction.atomic():
            attempt = OrderAttempt.objects.select_for_update().get(pk=attempt_id)
            if attempt.state not in (Attempt.CLAIMED, Attempt.SENT):
                continue
            attempt.state = Attempt.OUTCOME_UNKNOWN
            attempt.error_kind = failures.WORKER_LOST
            attempt.save()
            part = attempt.supplier_order
            SupplierOrder.objects.filter(pk=part.pk, state=Part.SENDING).update(
                state=Part.OUTCOME_UNKNOWN, updated_at=timezone.now(), **_reason(note)
            )
            _audit(
                Action.OUTCOME_UNKNOWN,
                request=part.request_id,
                supplier_order=part,
                attempt=attempt,
                note=note,
            )
            _settle(part.request_id)
            count += 1
    if count:
        logger.warning("order attempts whose worker died: %d now outcome unknown", count)
    return count


def resolve_unknown_attempts(*, config: gateway.GatewayConfig | None = None) -> int:
    """Look for outcome-unknown attempts in the buyer's orders (by marker), each again
    after a pause that grows with its checks (one recovery interval more per check, at
    most 10 minutes). Returns how many were resolved."""
    now = timezone.now()
    interval = settings.PREVIEW_RECOVERY_INTERVAL
    due = []
    unknown = OrderAttempt.objects.filter(state=Attempt.OUTCOME_UNKNOWN).order_by("claimed_at")
    for attempt_id, checks, checked_at in unknown.values_list(
        "pk", "resolution_checks", "last_checked_at"
    ):
        pause = timedelta(seconds=min(interval * checks, 600))
        if checked_at is None or checked_at <= now - pause:
            due.append(attempt_id)
    resolved = 0
    for attempt_id in due[:50]:
        if resolve_attempt(attempt_id=attempt_id, config=config) != Attempt.OUTCOME_UNKNOWN:
            resolved += 1
    return resolved


def refresh_due_orders(*, config: gateway.GatewayConfig | None = None) -> int:
    """Read the status of placed orders not read for ORDER_REFRESH_INTERVAL_SECONDS and not
    final (completed, cancelled, closed). Returns how many were read."""
    cutoff = timezone.now() - timedelta(seconds=settings.ORDER_REFRESH_INTERVAL_SECONDS)
    due = (
        PlacedOrder.objects.exclude(status__in=FINAL_STATUSES)
        .filter(Q(refreshed_at__isnull=True) | Q(refreshed_at__lt=cutoff))
        .order_by("refreshed_at", "pk")[:100]
    )
    orders = list(due)
    return refresh_orders(orders=orders, config=config) if orders else 0


def send_lost_placings() -> int:
    """Approved requests whose placing task was lost (broker down, or sent long ago with a
    part still approved) are sent again; a duplicate delivery is harmless."""
    stale = timezone.now() - timedelta(seconds=settings.PREVIEW_STALE_AFTER_SECONDS)
    with_approved = OrderRequest.objects.filter(supplier_orders__state=Part.APPROVED).distinct()
    with_approved.filter(dispatched_at__lt=stale).update(dispatched_at=None)
    sent = 0
    waiting = with_approved.filter(
        dispatched_at__isnull=True, decided_at__lt=timezone.now() - timedelta(seconds=3)
    )
    for request_id in waiting.values_list("pk", flat=True):
        if not dispatch_placing(request_id=request_id):
            break
        sent += 1
    return sent


def recover_orders() -> dict[str, int]:
    """One pass of the order recovery (recovery.py runs it in every worker): attempts left
    claimed/sent by a dead worker become outcome unknown (never sent again); unknown ones
    are looked up by marker; approved requests whose task was lost are sent again; placed
    orders' status is refreshed every ORDER_REFRESH_INTERVAL_SECONDS."""
    counts = {"attempts_lost": mark_lost_attempts()}
    if not ordering_enabled():
        return counts
    counts["placings_sent"] = send_lost_placings()
    counts["attempts_resolved"] = resolve_unknown_attempts()
    counts["orders_refreshed"] = refresh_due_orders()
    return counts


__all__ = [
    "APPROVERS_GROUP",
    "APPROVE_PERMISSION",
    "PLACE_TASK",
    "OrderAttempt",
    "OrderingRefused",
    "PaymentLink",
    "SupplierOrder",
    "approve_request",
    "audit_csv",
    "can_approve",
    "cancel_order",
    "describe_state",
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
    "withdraw_request",
]
