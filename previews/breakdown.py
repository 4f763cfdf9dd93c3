"""The per-supplier breakdown of a run: what the run page, exports and comparisons show.

Built from a run whose suppliers, records, lines and promotions are prefetched (see
`selectors.runs_with_results`), so it costs the same few queries however big the run is.
Failure texts come from the catalogue (failures.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from . import failures
from .gateway import MAX_LINES_PER_CALL
from .models import PreviewPromotion, PreviewRecord, PreviewRun, SupplierPreview
from .money import Reconciliation, allocate, format_fen, reconcile, unit_cost


@dataclass
class LineView:
    offer_id: int | None
    spec_id: str
    title: str
    quantity: int | None
    unit_price_fen: int | None
    amount_fen: int | None
    promotions: list[PreviewPromotion]
    problems: list[str]
    carriage_share_fen: int = 0
    adjustment_share_fen: int = 0
    landed_total_fen: int | None = None
    landed_unit_cost: Decimal | None = None
    carriage_as_described: bool = False


@dataclass
class RecordView:
    """One order 1688 would create. Its figures add up:
    goods − order discounts + carriage + other fees + unexplained = total."""

    index: int
    part: int | None  # which of the supplier's calls returned it (None: not recorded)
    goods_fen: int | None  # the lines' amounts, after line promotions
    order_discount_fen: int | None  # shop promotions and discounts on the whole order
    carriage_fen: int | None
    other_fees_fen: int | None  # additionalFee
    unexplained_fen: int | None  # what the gateway's figures leave unexplained
    total_fen: int | None
    status: bool
    can_be_ordered: bool  # PreviewRecord.can_be_ordered
    problem: str
    flow_flag: str
    orderable_through_api: bool
    over_limit_channels: list[tuple[str, int]]  # (channel, limit in fen)
    shop_promotions: list[PreviewPromotion]
    free_postage: list[str]  # texts of the promotions that make the carriage free
    lines: list[LineView]
    promotion_savings_fen: int = 0


@dataclass
class SupplierView:
    preview: SupplierPreview
    records: list[RecordView] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.preview.supplier_name

    @property
    def status(self) -> str:
        return self.preview.status

    @property
    def orderable(self) -> bool:
        """`SupplierPreview.can_be_ordered`: the one rule, whoever asks."""
        return self.preview.can_be_ordered

    @property
    def badge(self) -> tuple[str, str]:
        """(label, Bootstrap colour) of the supplier's badge, on the page and in exports."""
        return supplier_badge(self.preview)

    @property
    def badge_label(self) -> str:
        return self.badge[0]

    @property
    def badge_colour(self) -> str:
        return self.badge[1]

    def _sum(self, attribute: str) -> int:
        return sum(getattr(r, attribute) or 0 for r in self.records)

    @property
    def goods_fen(self) -> int:
        return self._sum("goods_fen")

    @property
    def carriage_fen(self) -> int:
        return self._sum("carriage_fen")

    @property
    def order_discount_fen(self) -> int:
        return self._sum("order_discount_fen")

    @property
    def other_fees_fen(self) -> int:
        return self._sum("other_fees_fen")

    @property
    def unexplained_fen(self) -> int:
        return self._sum("unexplained_fen")

    @property
    def savings_fen(self) -> int:
        return self._sum("promotion_savings_fen")

    @property
    def total_fen(self) -> int | None:
        """The orders' totals payable; unknown (None) when an order came without one."""
        if any(r.total_fen is None for r in self.records):
            return None
        return self._sum("total_fen")

    @property
    def free_postage(self) -> list[str]:
        return list(dict.fromkeys(text for r in self.records for text in r.free_postage))

    @property
    def left_out_reason(self) -> str:
        if self.preview.status == SupplierPreview.Status.PENDING:
            return _("not answered yet")
        if self.preview.status != SupplierPreview.Status.OK:
            return self.problems[0] if self.problems else self.preview.get_status_display()
        if not self.records:
            return _("the gateway returned no order")
        blocked = [r.problem for r in self.records if not r.status]
        if blocked:
            return blocked[0]
        if any(not r.orderable_through_api for r in self.records):
            return str(failures.NOT_THROUGH_API)
        return _("the gateway gave no total")


def supplier_badge(preview: SupplierPreview) -> tuple[str, str]:
    """THE badge of a supplier, (label, Bootstrap colour), from the one rule
    (`SupplierPreview.can_be_ordered`): the run page, its progress poll, the comparison and
    the exports all show this one. Reads `records.all()`: prefetch them."""
    if preview.status == SupplierPreview.Status.OK:
        if preview.can_be_ordered:
            return _("Can be ordered"), "success"
        return _("Cannot be ordered"), "warning"
    colour = "secondary" if preview.status == SupplierPreview.Status.PENDING else "danger"
    return preview.get_status_display(), colour


@dataclass
class RunBreakdown:
    suppliers: list[SupplierView]

    @property
    def included(self) -> list[SupplierView]:
        return [s for s in self.suppliers if s.orderable]

    @property
    def left_out(self) -> list[SupplierView]:
        return [s for s in self.suppliers if not s.orderable]

    @property
    def grand_total_fen(self) -> int:
        return sum(s.total_fen for s in self.included)


def build_breakdown(run: PreviewRun) -> RunBreakdown:
    """The breakdown of a run fetched with `runs_with_results`."""
    return RunBreakdown([_supplier_view(s) for s in run.suppliers.all()])


def supplier_view(preview: SupplierPreview) -> SupplierView:
    """One supplier's part of a breakdown (its records, lines and promotions prefetched):
    the same as `build_breakdown` gives for it."""
    return _supplier_view(preview)


def _supplier_view(preview: SupplierPreview) -> SupplierView:
    view = SupplierView(preview=preview)
    if preview.status in (SupplierPreview.Status.REJECTED, SupplierPreview.Status.FAILED):
        # The catalogue's text in the reader's language; the stored reason (the gateway's
        # own words) follows as detail, unless the failure is ours.
        summary = failures.failure_summary(kind=preview.error_kind, code=preview.error_code)
        view.problems.append(summary or preview.reason)
        detail = failures.upstream_detail(
            code=preview.error_code,
            http_status=preview.http_status,
            message=preview.upstream_message,
        )
        if summary and detail and not failures.is_own_failure(preview.error_kind):
            view.notes.append(
                ngettext(
                    "Details (tried %(n)s time): %(reason)s",
                    "Details (tried %(n)s times): %(reason)s",
                    preview.attempts,
                )
                % {"n": preview.attempts, "reason": detail}
            )
        return view
    titles = {
        (line["offer_id"], line["spec_id"] or ""): line.get("title", "")
        for line in preview.requested_lines
    }
    described = set(preview.post_fee_by_desc_offer_ids)
    unpayable = set(preview.unsupported_cross_border_pay_offer_ids)
    for record in preview.records.all():
        view.records.append(_record_view(record, titles, described))
    _supplier_notes(view, preview, described, unpayable)
    return view


def record_figures(record: PreviewRecord, line_amounts: list[int | None]) -> Reconciliation:
    """A previewed order's totals block by THE rule (`money.reconcile`): its goods are
    its lines' amounts after line promotions, when every line has one. The run page, the
    comparison, the exports and an order request's parts (`orders.part_figures`) show these."""
    goods = None
    if line_amounts and all(amount is not None for amount in line_amounts):
        goods = sum(line_amounts)
    return reconcile(
        goods_fen=goods,
        no_carriage_fen=record.sum_payment_no_carriage_fen,
        discount_fen=record.discount_fen,
        carriage_fen=record.sum_carriage_fen,
        additional_fee_fen=record.additional_fee_fen,
        total_fen=record.sum_payment_fen,
    )


def _record_view(record: PreviewRecord, titles, described) -> RecordView:
    lines = [
        LineView(
            offer_id=line.offer_id,
            spec_id=line.spec_id,
            title=titles.get((line.offer_id, line.spec_id), ""),
            quantity=line.quantity,
            unit_price_fen=line.final_unit_price_fen,
            amount_fen=line.amount_fen,
            promotions=list(line.promotions.all()),
            problems=[failures.order_problem(line.result_code, line.message)]
            if line.result_code or line.message
            else [],
            carriage_as_described=str(line.offer_id) in described,
        )
        for line in record.lines.all()
    ]
    _allocate_landed_costs(record, lines)
    over_limit = [
        (channel["name"], channel["amount_limit_fen"])
        for channel in record.pay_channels
        if channel.get("amount_limit_fen") is not None
        and record.sum_payment_fen is not None
        and record.sum_payment_fen > channel["amount_limit_fen"]
    ]
    shop_promotions = list(record.shop_promotions)
    promotions = [p for line in lines for p in line.promotions] + shop_promotions
    figures = record_figures(record, [line.amount_fen for line in lines])
    return RecordView(
        index=record.index,
        part=record.part,
        goods_fen=figures.goods_fen,
        order_discount_fen=figures.order_discount_fen,
        carriage_fen=figures.carriage_fen,
        other_fees_fen=figures.other_fees_fen,
        unexplained_fen=figures.unexplained_fen,
        total_fen=record.sum_payment_fen,
        status=record.status,
        can_be_ordered=record.can_be_ordered,
        problem="" if record.status else failures.order_problem(record.result_code, record.message),
        flow_flag=record.flow_flag,
        orderable_through_api=record.orderable_through_api,
        over_limit_channels=over_limit,
        shop_promotions=shop_promotions,
        free_postage=list(
            dict.fromkeys(p.text or p.promotion_id or "?" for p in promotions if p.free_postage)
        ),
        lines=lines,
        promotion_savings_fen=sum(p.discount_fen or 0 for p in promotions),
    )


def _allocate_landed_costs(record: PreviewRecord, lines: list[LineView]) -> None:
    """Share carriage and order-level adjustments over lines pro rata by amount, to the fen.

    Each share list sums exactly to its total, so the lines' landed totals add up to the
    record's total payable.
    """
    if record.sum_payment_fen is None or any(line.amount_fen is None for line in lines):
        return
    amounts = [line.amount_fen for line in lines]
    carriage = record.sum_carriage_fen or 0
    adjustment = record.sum_payment_fen - carriage - sum(amounts)
    for line, carriage_share, adjustment_share in zip(
        lines, allocate(carriage, amounts), allocate(adjustment, amounts), strict=True
    ):
        line.carriage_share_fen = carriage_share
        line.adjustment_share_fen = adjustment_share
        line.landed_total_fen = line.amount_fen + carriage_share + adjustment_share
        if line.quantity:
            line.landed_unit_cost = unit_cost(line.landed_total_fen, line.quantity)


def _supplier_notes(view: SupplierView, preview, described, unpayable) -> None:
    flows = sorted({r.flow_flag for r in view.records if r.flow_flag})
    if flows:
        view.notes.append(_("Flow used by 1688: %(flows)s.") % {"flows": ", ".join(flows)})
    view.notes += _split_notes(view, preview)
    if any(not r.orderable_through_api for r in view.records):
        view.notes.append(str(failures.NOT_THROUGH_API))
    if described:
        view.notes.append(
            _("Carriage is not final: the seller sets it as described for offers %(offers)s.")
            % {"offers": ", ".join(sorted(described))}
        )
    if unpayable:
        view.notes.append(
            _("Offers %(offers)s cannot be paid with cross-border pay.")
            % {"offers": ", ".join(sorted(unpayable))}
        )
    if preview.consign_offer_ids:
        view.notes.append(
            _("Consignment offers: %(offers)s.")
            % {"offers": ", ".join(sorted(preview.consign_offer_ids))}
        )
    view.notes += _pay_channel_notes(view)
    for record in view.records:
        if not record.status:
            view.problems.append(record.problem)
        for line in record.lines:
            view.problems += [
                _("Offer %(offer)s: %(problem)s") % {"offer": line.offer_id, "problem": p}
                for p in line.problems
            ]
    for warning in preview.warnings:
        view.notes.append(_("Inconsistent answer: %(warning)s.") % {"warning": warning})


def _split_notes(view: SupplierView, preview: SupplierPreview) -> list[str]:
    """Our own parts (at most 50 lines a call) apart from 1688's automatic order splitting."""
    orders = len(view.records)
    parts = math.ceil(len(preview.requested_lines) / MAX_LINES_PER_CALL)
    if parts <= 1:
        if orders <= 1:
            return []
        return [
            ngettext(
                "1688 splits this into %(n)s order, each with its own carriage.",
                "1688 splits this into %(n)s orders, each with its own carriage.",
                orders,
            )
            % {"n": orders}
        ]
    notes = [
        ngettext(
            "Sent in %(parts)s parts of at most %(max)s lines (the gateway's limit per call); "
            "1688 would create %(n)s order, each with its own carriage.",
            "Sent in %(parts)s parts of at most %(max)s lines (the gateway's limit per call); "
            "1688 would create %(n)s orders, each with its own carriage.",
            orders,
        )
        % {"parts": parts, "max": MAX_LINES_PER_CALL, "n": orders}
    ]
    per_part: dict[int, int] = {}
    for record in view.records:
        if record.part is not None:
            per_part[record.part] = per_part.get(record.part, 0) + 1
    for part, count in sorted(per_part.items()):
        if count > 1:
            notes.append(
                ngettext(
                    "1688 itself splits part %(part)s into %(n)s order.",
                    "1688 itself splits part %(part)s into %(n)s orders.",
                    count,
                )
                % {"part": part + 1, "n": count}
            )
    return notes


def _pay_channel_notes(view: SupplierView) -> list[str]:
    """One note per pay channel whose limit some of the supplier's orders exceed."""
    over: dict[tuple[str, int], list[int]] = {}
    for record in view.records:
        for channel, limit in record.over_limit_channels:
            over.setdefault((channel, limit), []).append(record.total_fen)
    return [
        ngettext(
            "%(n)s order (%(totals)s) is above the %(limit)s limit of pay channel %(channel)s.",
            "%(n)s orders (%(totals)s) are above the %(limit)s limit of pay channel %(channel)s.",
            len(totals),
        )
        % {
            "n": len(totals),
            "totals": ", ".join(format_fen(total) for total in totals),
            "limit": format_fen(limit),
            "channel": channel,
        }
        for (channel, limit), totals in over.items()
    ]
