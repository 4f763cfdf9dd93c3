"""Reads: what a page shows, always scoped to its owner (another buyer's id is a 404).

Writes live in the use-case modules (cart.py, runs.py, execution.py); views read
through here. A run's results are read with a constant number of queries however big
the run is (`runs_with_results`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.core.paginator import Page, Paginator
from django.db.models import (
    Count,
    Prefetch,
    Q,
    QuerySet,
    Sum,
    prefetch_related_objects,
)
from django.http import Http404
from django.shortcuts import get_object_or_404

from . import failures, gateway, orders, summaries
from .breakdown import RunBreakdown, SupplierView, build_breakdown, supplier_view
from .cart_advice import CartAdvice, cart_warnings
from .comparison import RunComparison, compare
from .models import (
    CartLine,
    OfferLookup,
    OfferLookupBatch,
    OrderAttempt,
    OrderAuditEvent,
    OrderRequest,
    PlacedOrder,
    PreviewLine,
    PreviewPromotion,
    PreviewRecord,
    PreviewRun,
    ShippingAddress,
    Supplier,
    SupplierOrder,
    SupplierPreview,
)
from .picker import OfferPicker

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser

# Cart lines per page: a cart of 10,000 lines renders one page at a time, still grouped
# by supplier (a supplier spanning pages is continued on the next one).
CART_LINES_PER_PAGE = 200
RUNS_PER_PAGE = 25


# --------------------------------------------------------------------------- owned objects


def owned_address(*, owner: AbstractBaseUser, pk: int) -> ShippingAddress:
    """One of the buyer's addresses, or 404."""
    return get_object_or_404(ShippingAddress, pk=pk, owner=owner)


def owned_supplier(*, owner: AbstractBaseUser, pk: int) -> Supplier:
    """One of the buyer's suppliers, with its `line_count`, or 404."""
    return get_object_or_404(
        Supplier.objects.annotate(line_count=Count("lines")), pk=pk, owner=owner
    )


def owned_line(*, owner: AbstractBaseUser, pk: int) -> CartLine:
    """One of the buyer's cart lines, or 404."""
    return get_object_or_404(CartLine, pk=pk, owner=owner)


def owned_run(*, owner: AbstractBaseUser, pk: int) -> PreviewRun:
    """One of the buyer's runs, or 404. Looking changes nothing: the workers' recovery
    schedule sends waiting runs and takes back a dead worker's (recovery.py)."""
    return get_object_or_404(PreviewRun, pk=pk, owner=owner)


def run_progress(*, owner: AbstractBaseUser, pk: int) -> PreviewRun:
    """One of the buyer's runs for its progress poll, or 404: only the columns the poll
    shows, its suppliers in order (`progress_suppliers`) with only what their badge reads
    (`breakdown.supplier_badge`), in three queries. A page polls this every second while
    its run works: no answer body or snapshot is read."""
    records = PreviewRecord.objects.only(
        "pk", "supplier_preview_id", "index", "status", "orderable_through_api", "sum_payment_fen"
    )
    suppliers = SupplierPreview.objects.only("pk", "run_id", "position", "status").order_by(
        "position"
    )
    return get_object_or_404(
        PreviewRun.objects.only("pk", "owner_id", "status", "dispatched_at").prefetch_related(
            Prefetch("suppliers", queryset=suppliers, to_attr="progress_suppliers"),
            Prefetch("progress_suppliers__records", queryset=records),
        ),
        pk=pk,
        owner=owner,
    )


# --------------------------------------------------------------------------- addresses, suppliers


def addresses(*, owner: AbstractBaseUser) -> QuerySet[ShippingAddress]:
    """The buyer's addresses, in their model's order."""
    return ShippingAddress.objects.filter(owner=owner)


def suppliers_with_totals(*, owner: AbstractBaseUser) -> QuerySet[Supplier]:
    """The buyer's suppliers, each with `line_count` and `total_quantity` in the cart."""
    return Supplier.objects.filter(owner=owner).annotate(
        line_count=Count("lines"), total_quantity=Sum("lines__quantity")
    )


# --------------------------------------------------------------------------- cart


@dataclass(frozen=True)
class CartPage:
    page: Page
    suppliers: list[Supplier]  # the page's lines by supplier, see `supplier_groups`
    totals: dict  # of the whole cart, see `cart_totals`
    advice: CartAdvice  # the lookups' warnings, also set as `warnings` on lines and suppliers


def cart_page(*, owner: AbstractBaseUser, page_number: str | int | None, products=None) -> CartPage:
    """One page of the buyer's cart, its lines grouped by supplier, and the cart's totals.

    Every line and supplier of the page carries `warnings`, the advisory warnings of the
    stored offer lookups (cart_advice.py; `products` as `cart_warnings` takes it).
    """
    lines = (
        CartLine.objects.filter(owner=owner)
        .select_related("supplier")
        .order_by("supplier__name", "supplier_id", "offer_id", "pk")
    )
    page = Paginator(lines, CART_LINES_PER_PAGE).get_page(page_number)
    before = page.start_index() - 2  # the line just before this page, if any
    continues_from = lines.values_list("supplier_id", flat=True)[before] if before >= 0 else None
    groups = supplier_groups(owner=owner, lines=page.object_list, continues_from=continues_from)
    advice = cart_warnings(owner, lines=page.object_list, products=products)
    for supplier in groups:
        supplier.warnings = advice.for_supplier(supplier.pk)
        for line in supplier.page_lines:
            line.warnings = advice.for_line(line.pk)
    return CartPage(page=page, suppliers=groups, totals=cart_totals(owner=owner), advice=advice)


def supplier_groups(
    *, owner: AbstractBaseUser, lines, continues_from: int | None = None
) -> list[Supplier]:
    """One page of cart lines grouped by supplier, in the page's order.

    Each supplier carries its whole-cart `line_count` and `total_quantity` (one query for
    the page's suppliers), `page_lines`, its lines on this page, and `continued`: whether
    its lines began on an earlier page (`continues_from` is the supplier of the line just
    before this page).
    """
    page_lines: dict[int, list[CartLine]] = {}
    for line in lines:
        page_lines.setdefault(line.supplier_id, []).append(line)
    suppliers = Supplier.objects.filter(owner=owner, pk__in=page_lines).annotate(
        line_count=Count("lines"), total_quantity=Sum("lines__quantity")
    )
    by_pk = {supplier.pk: supplier for supplier in suppliers}
    groups = []
    for position, (supplier_id, its_lines) in enumerate(page_lines.items()):
        supplier = by_pk[supplier_id]
        supplier.page_lines = its_lines
        supplier.continued = position == 0 and supplier_id == continues_from
        groups.append(supplier)
    return groups


def cart_totals(*, owner: AbstractBaseUser) -> dict:
    """Lines, pieces and suppliers of the whole cart."""
    return CartLine.objects.filter(owner=owner).aggregate(
        lines=Count("pk"), pieces=Sum("quantity"), suppliers=Count("supplier", distinct=True)
    )


# --------------------------------------------------------------------------- runs


def runs_with_results(runs: QuerySet[PreviewRun]) -> QuerySet[PreviewRun]:
    """Prefetch everything a breakdown reads: a constant number of queries."""
    suppliers = _suppliers_with_results(SupplierPreview.objects.order_by("position"))
    return runs.prefetch_related(Prefetch("suppliers", queryset=suppliers))


def runs_page(*, owner: AbstractBaseUser, page_number: str | int | None) -> Page:
    """One page of the buyer's runs, newest first, each with `supplier_count`,
    `orderable_count` and `grand_total_fen` (None while it works): read from the summary
    stored when a run finishes (summaries.py), so the page costs the same few queries
    whatever the size of the runs it lists."""
    runs = (
        PreviewRun.objects.filter(owner=owner)
        .select_related("summary")
        .order_by("-created_at", "-pk")
    )
    page = Paginator(runs, RUNS_PER_PAGE).get_page(page_number)
    page.object_list = list(page.object_list)
    summaries.attach_summaries(page.object_list)
    return page


def _suppliers_with_results(suppliers: QuerySet[SupplierPreview]) -> QuerySet[SupplierPreview]:
    """Suppliers with everything their part of a breakdown reads (as `runs_with_results`)."""
    line_promotions = PreviewPromotion.objects.order_by("pk")
    return suppliers.prefetch_related(
        Prefetch(
            "records",
            queryset=PreviewRecord.objects.order_by("index").prefetch_related(
                Prefetch("promotions", queryset=line_promotions.filter(line__isnull=True),
                         to_attr="shop_promotions"),
            ),
        ),
        Prefetch(
            "records__lines",
            queryset=PreviewLine.objects.order_by("index").prefetch_related(
                Prefetch("promotions", queryset=line_promotions)
            ),
        ),
    )  # fmt: skip


def run_supplier_with_results(*, run: PreviewRun, position: int) -> SupplierPreview:
    """The supplier at `position` of a run (one the caller owns), with its results; 404
    when there is none."""
    suppliers = _suppliers_with_results(SupplierPreview.objects.filter(run=run, position=position))
    supplier = suppliers.first()
    if supplier is None:
        raise Http404
    return supplier


# Suppliers an export reads at once: its memory stays bounded whatever the run's size.
EXPORT_SUPPLIERS_AT_ONCE = 20


def iter_supplier_views(run: PreviewRun, *, at_once: int = EXPORT_SUPPLIERS_AT_ONCE):
    """The suppliers of a breakdown (`build_breakdown(run).suppliers`, in order), read
    `at_once` at a time: for exports, whose memory must not grow with the run."""
    ids = list(
        SupplierPreview.objects.filter(run=run).order_by("position").values_list("pk", flat=True)
    )
    for start in range(0, len(ids), at_once):
        chunk = ids[start : start + at_once]
        suppliers = _suppliers_with_results(
            SupplierPreview.objects.filter(pk__in=chunk).order_by("position")
        )
        for preview in suppliers:
            yield supplier_view(preview)
            _forget_results(preview)


def _forget_results(preview: SupplierPreview) -> None:
    """Drop what a supplier's prefetch cached on its objects: a record and its lines, a
    line and its promotions point at each other, and such cycles would wait for the
    garbage collector, so an export's memory would grow with the run after all."""
    for record in preview.records.all():
        for line in record.lines.all():
            line._prefetched_objects_cache.clear()
        record._prefetched_objects_cache.clear()
    preview._prefetched_objects_cache.clear()


def run_with_results(*, owner: AbstractBaseUser, pk: int) -> PreviewRun:
    """One of the buyer's runs with everything its breakdown reads, or 404."""
    run = owned_run(owner=owner, pk=pk)
    return runs_with_results(PreviewRun.objects.filter(pk=run.pk)).get()


def previous_run(run: PreviewRun) -> PreviewRun | None:
    """The latest earlier finished run of the same owner that asked the same thing."""
    return (
        PreviewRun.objects.filter(
            owner=run.owner,
            fingerprint=run.fingerprint,
            status=PreviewRun.Status.DONE,
            created_at__lt=run.created_at,
        )
        .exclude(pk=run.pk)
        .order_by("-created_at", "-pk")
        .first()
    )


def comparison_with_previous(run: PreviewRun) -> tuple[PreviewRun | None, RunComparison | None]:
    """The previous run of the same lines to the same address, and what changed since;
    (None, None) when there is none."""
    previous = previous_run(run)
    if previous is None:
        return None, None
    both = runs_with_results(PreviewRun.objects.filter(pk__in=[run.pk, previous.pk]))
    by_pk = {r.pk: r for r in both}
    return previous, compare(
        build_breakdown(by_pk[previous.pk]),
        build_breakdown(by_pk[run.pk]),
        finished=run.is_finished and previous.is_finished,
    )


# --------------------------------------------------------------------------- address comparison


@dataclass(frozen=True)
class AddressComparison:
    columns: list[tuple[PreviewRun, RunBreakdown]]  # one run per address
    rows: list[tuple[str, list[SupplierView | None]]]  # per supplier name, a cell per run

    @property
    def runs(self) -> list[PreviewRun]:
        return [run for run, _breakdown in self.columns]


def address_comparison(*, owner: AbstractBaseUser, group: uuid.UUID) -> AddressComparison:
    """The buyer's runs of one address comparison side by side, supplier by supplier;
    404 when the group has none."""
    group_runs = PreviewRun.objects.filter(owner=owner, address_group=group).order_by("pk")
    runs = list(runs_with_results(group_runs))
    if not runs:
        raise Http404
    columns = [(run, build_breakdown(run)) for run in runs]
    names = list(dict.fromkeys(s.name for _run, b in columns for s in b.suppliers))
    rows = [
        (name, [next((s for s in b.suppliers if s.name == name), None) for _run, b in columns])
        for name in names
    ]
    return AddressComparison(columns=columns, rows=rows)


# --------------------------------------------------------------------------- offer lookup


def owned_lookup_batch(*, owner: AbstractBaseUser, pk: int) -> OfferLookupBatch:
    """One of the buyer's lookup batches, or 404 (another buyer's too)."""
    return get_object_or_404(OfferLookupBatch, pk=pk, owner=owner)


@dataclass
class LookupEntry:
    """One offer of a batch as its page shows it: the lookup, the product when it was
    found (withdrawn ones too, for their title), and why it failed, in words."""

    lookup: OfferLookup
    detail: gateway.ProductDetail | None
    failure: str
    picker: OfferPicker | None = None  # set by the view, with what was typed


def lookup_batch_entries(*, batch: OfferLookupBatch) -> list[LookupEntry]:
    """The offers of a batch in pasted order, with their products (two queries)."""
    entries = []
    for lookup in batch.lookups.select_related("snapshot").order_by("position", "pk"):
        detail = None
        if lookup.snapshot is not None:
            try:
                detail = lookup.snapshot.detail()
            except gateway.GatewayError:
                detail = None
        failure = (
            failures.lookup_failure(lookup.failure_kind)
            if lookup.status == OfferLookup.Status.FAILED
            else ""
        )
        entries.append(LookupEntry(lookup=lookup, detail=detail, failure=failure))
    return entries


# --------------------------------------------------------------------------- ordering
#
# Who sees what (issue #13): a buyer sees their own requests, orders and attempts. An
# approver (the `previews.approve_orderrequest` permission, via the "Order approvers"
# group) sees, of other buyers, only what waits for them: the requests awaiting their
# decision (`orders.requests_awaiting`) and the order attempts whose outcome is unknown
# (a person must say whether they were placed). Anything else of another buyer is a 404.

ORDER_REQUESTS_PER_PAGE = 25


def is_approver(user: AbstractBaseUser) -> bool:
    """Whether `user` holds the approver permission (the "Order approvers" group)."""
    return user.has_perm(orders.APPROVE_PERMISSION)


@dataclass(frozen=True)
class RunOrdering:
    """The run page's ordering box: what can be requested and what was, live (the box is
    rendered outside the cached breakdown)."""

    enabled: bool  # ordering_enabled()
    blocked: str  # why nothing can be requested now ("" when something can)
    suppliers: list[SupplierPreview]  # orderable and not yet requested
    requests: list[OrderRequest]  # this run's requests by the buyer, newest first


def has_placed_parts(order_request: OrderRequest) -> bool:
    """Some part of the request was sent to 1688 (placed, or its outcome being checked)."""
    return order_request.supplier_orders.filter(
        state__in=[
            SupplierOrder.State.PLACED, SupplierOrder.State.PARTLY_PLACED,
            SupplierOrder.State.SENDING, SupplierOrder.State.OUTCOME_UNKNOWN,
        ]
    ).exists()  # fmt: skip


def run_ordering(*, run: PreviewRun, user: AbstractBaseUser) -> RunOrdering:
    """What the run page's ordering box shows for one of the buyer's runs."""
    requests = list(
        OrderRequest.objects.filter(run=run, requested_by=user)
        .prefetch_related(
            Prefetch("supplier_orders", queryset=SupplierOrder.objects.order_by("pk"))
        )
        .order_by("-created_at", "-pk")
    )
    enabled = orders.ordering_enabled()
    suppliers: list[SupplierPreview] = []
    blocked = ""
    if not enabled:
        blocked = str(failures.ORDERING_OFF)
    elif not run.is_finished:
        blocked = str(failures.ORDER_RUN_NOT_DONE)
    elif run.status != PreviewRun.Status.DONE:
        blocked = str(failures.ORDER_NOTHING_ORDERABLE)
    elif run.is_stale:
        blocked = str(failures.ORDER_RUN_STALE)
    else:
        suppliers = _orderable_suppliers(run, requests)
        for supplier in suppliers:
            supplier.total_fen = sum(r.sum_payment_fen or 0 for r in supplier.records.all())
        if not suppliers and not requests:
            blocked = str(failures.ORDER_NOTHING_ORDERABLE)
    for order_request in requests:
        _set_totals(order_request)
    return RunOrdering(enabled=enabled, blocked=blocked, suppliers=suppliers, requests=requests)


# A part in one of these states no longer holds its supplier: it may be requested again
# (`orders.orderable_suppliers`, whose rule this follows without its queries).
ENDED_PART_STATES = frozenset(
    {
        SupplierOrder.State.REJECTED,
        SupplierOrder.State.WITHDRAWN,
        SupplierOrder.State.REFUSED,
        SupplierOrder.State.NOT_PLACED,
    }
)


def _orderable_suppliers(run: PreviewRun, requests: list[OrderRequest]) -> list[SupplierPreview]:
    """`orders.orderable_suppliers` from what the run page has already read: the run's
    suppliers and records (prefetched by `run_with_results`; read here only if not) and
    the run's requests with their parts (a run is requested by its owner only). The
    request itself is checked by the use case."""
    prefetch_related_objects([run], "suppliers__records")
    taken = {
        part.supplier_preview_id
        for order_request in requests
        for part in order_request.supplier_orders.all()
        if part.state not in ENDED_PART_STATES
    }
    suppliers = sorted(run.suppliers.all(), key=lambda s: s.position)
    return [s for s in suppliers if s.can_be_ordered and s.pk not in taken]


def awaiting_total_fen(part: SupplierOrder) -> int:
    """The total approving `part` now would approve: the repriced one when it came back."""
    if part.state == SupplierOrder.State.REPRICED and part.repriced_total_fen is not None:
        return part.repriced_total_fen
    return part.previewed_total_fen


def _set_totals(order_request: OrderRequest) -> OrderRequest:
    """Set `shown_total_fen` (all parts as previewed, repriced ones at their new total),
    `awaiting_total_fen` and `supplier_names` from the prefetched parts."""
    parts = list(order_request.supplier_orders.all())
    order_request.shown_total_fen = sum(awaiting_total_fen(p) for p in parts)
    order_request.awaiting_total_fen = sum(
        awaiting_total_fen(p) for p in parts if p.state in orders.AWAITING_STATES
    )
    order_request.supplier_names = list(dict.fromkeys(p.supplier_name for p in parts))
    return order_request


def _requests_seen_by(user: AbstractBaseUser) -> Q:
    """The requests `user` may open: their own, those awaiting their decision, and, for an
    approver, those with an attempt whose outcome a person must settle."""
    seen = Q(requested_by=user) | Q(pk__in=orders.requests_awaiting(user=user).values("pk"))
    if is_approver(user):
        seen |= Q(supplier_orders__attempts__state=OrderAttempt.State.OUTCOME_UNKNOWN)
    return seen


def visible_order_request(*, user: AbstractBaseUser, pk: int) -> OrderRequest:
    """An order request `user` may open (see above), or 404."""
    found = OrderRequest.objects.filter(_requests_seen_by(user), pk=pk).distinct()
    return get_object_or_404(found.select_related("run", "requested_by", "decided_by"))


def can_see_order_request(*, user: AbstractBaseUser, pk: int) -> bool:
    """Whether `user` may open order request `pk` (`visible_order_request`)."""
    return OrderRequest.objects.filter(_requests_seen_by(user), pk=pk).exists()


def decidable_order_request(*, user: AbstractBaseUser, pk: int) -> OrderRequest:
    """A request `user` may open or has decided (a second click on "Approve" lands on a
    request no longer waiting: the use case then refuses it), or 404."""
    seen = _requests_seen_by(user) | Q(decided_by=user)
    return get_object_or_404(OrderRequest.objects.filter(seen, pk=pk).distinct())


def owned_order_request(*, user: AbstractBaseUser, pk: int) -> OrderRequest:
    """One of the buyer's own order requests, or 404."""
    return get_object_or_404(OrderRequest, pk=pk, requested_by=user)


def order_requests_page(*, user: AbstractBaseUser, page_number: str | int | None) -> Page:
    """One page of the buyer's own order requests, newest first, with their parts."""
    requests = (
        OrderRequest.objects.filter(requested_by=user)
        .select_related("run", "decided_by")
        .prefetch_related(
            Prefetch("supplier_orders", queryset=SupplierOrder.objects.order_by("pk"))
        )
        .order_by("-created_at", "-pk")
    )
    page = Paginator(requests, ORDER_REQUESTS_PER_PAGE).get_page(page_number)
    for order_request in page.object_list:
        _set_totals(order_request)
    return page


@dataclass
class OrderLineView:
    """One line a create call sends, with what the preview said of it."""

    offer_id: int
    spec_id: str
    quantity: int
    title: str = ""
    unit_price_fen: int | None = None
    amount_fen: int | None = None
    carriage_as_described: bool = False


@dataclass
class SupplierOrderView:
    """A part of a request as its page shows it."""

    part: SupplierOrder
    lines: list[OrderLineView]
    attempts: list[OrderAttempt]
    placed: list[PlacedOrder]

    @property
    def shown_total_fen(self) -> int:
        return awaiting_total_fen(self.part)


@dataclass
class OrderRequestView:
    request: OrderRequest
    parts: list[SupplierOrderView]
    events: list[OrderAuditEvent]
    awaiting_total_fen: int  # what approving now would approve
    previewed_total_fen: int


def order_request_view(order_request: OrderRequest) -> OrderRequestView:
    """Everything the request page shows: per part the address and lines as they will be
    sent (with the preview's titles and amounts), totals, trade mode and pay window,
    attempts and the orders created; and the request's history (a constant number of
    queries)."""
    parts = list(
        order_request.supplier_orders.select_related("supplier_preview")
        .prefetch_related(
            Prefetch("attempts", queryset=OrderAttempt.objects.order_by("claimed_at", "pk")),
            Prefetch("attempts__placed_orders", queryset=PlacedOrder.objects.order_by("order_id")),
            Prefetch(
                "supplier_preview__records__lines",
                queryset=PreviewLine.objects.order_by("index"),
            ),
        )
        .order_by("supplier_name", "part", "pk")
    )
    views = []
    for part in parts:
        previewed = {}
        for record in part.supplier_preview.records.all():
            if (record.part or 0) != part.part:
                continue
            for line in record.lines.all():
                previewed.setdefault((line.offer_id, line.spec_id or ""), line)
        described = {str(o) for o in part.post_fee_by_desc_offer_ids}
        titles = {
            (line["offer_id"], line.get("spec_id") or ""): line.get("title", "")
            for line in part.supplier_preview.requested_lines
        }
        lines = []
        for cargo in part.cargo_params:
            key = (int(cargo["offerId"]), cargo.get("specId") or "")
            seen = previewed.get(key)
            lines.append(
                OrderLineView(
                    offer_id=key[0],
                    spec_id=key[1],
                    quantity=cargo["quantity"],
                    title=titles.get(key, ""),
                    unit_price_fen=seen.final_unit_price_fen if seen else None,
                    amount_fen=seen.amount_fen if seen else None,
                    carriage_as_described=str(key[0]) in described,
                )
            )
        attempts = list(part.attempts.all())
        placed = [order for attempt in attempts for order in attempt.placed_orders.all()]
        views.append(SupplierOrderView(part=part, lines=lines, attempts=attempts, placed=placed))
    events = list(
        order_request.audit_events.select_related(
            "actor", "supplier_order", "placed_order"
        ).order_by("at", "pk")
    )
    awaiting = [v for v in views if v.part.state in orders.AWAITING_STATES]
    return OrderRequestView(
        request=order_request,
        parts=views,
        events=events,
        awaiting_total_fen=sum(v.shown_total_fen for v in awaiting),
        previewed_total_fen=sum(v.part.previewed_total_fen for v in views),
    )


def _placed_orders() -> QuerySet[PlacedOrder]:
    return PlacedOrder.objects.select_related(
        "attempt__supplier_order__request", "cancelled_by"
    ).order_by("-created_at", "-pk")


def _with_changes(order: PlacedOrder) -> PlacedOrder:
    """Set `carriage_difference_fen`: order detail's carriage minus the create answer's,
    when both are known and differ (the seller changed the carriage), else None."""
    created, now = order.created_post_fee_fen, order.shipping_fee_fen
    order.carriage_difference_fen = (
        now - created if created is not None and now is not None and now != created else None
    )
    return order


def placed_orders(*, user: AbstractBaseUser) -> list[PlacedOrder]:
    """Every order created for the buyer's requests, newest first, each with
    `carriage_difference_fen` (see `_with_changes`)."""
    found = _placed_orders().filter(attempt__supplier_order__request__requested_by=user)
    return [_with_changes(order) for order in found]


def owned_placed_orders(*, user: AbstractBaseUser, pks) -> list[PlacedOrder]:
    """The buyer's own orders among `pks` (others' are silently left out)."""
    ids = [int(pk) for pk in pks if str(pk).isascii() and str(pk).isdigit()]
    return list(
        _placed_orders().filter(pk__in=ids, attempt__supplier_order__request__requested_by=user)
    )


def owned_placed_order(*, user: AbstractBaseUser, pk: int) -> PlacedOrder:
    """One of the buyer's own orders, or 404."""
    return get_object_or_404(
        _placed_orders(), pk=pk, attempt__supplier_order__request__requested_by=user
    )


def _attempts() -> QuerySet[OrderAttempt]:
    return OrderAttempt.objects.select_related(
        "supplier_order__request__requested_by", "supplier_order__request__run"
    ).order_by("claimed_at", "pk")


def unknown_attempts(*, user: AbstractBaseUser, others: bool = False) -> list[OrderAttempt]:
    """Attempts whose outcome is unknown: the buyer's own, or (`others`, for an approver)
    those of other buyers, which wait for a person too."""
    unknown = _attempts().filter(state=OrderAttempt.State.OUTCOME_UNKNOWN)
    if not others:
        return list(unknown.filter(supplier_order__request__requested_by=user))
    if not is_approver(user):
        return []
    return list(unknown.exclude(supplier_order__request__requested_by=user))


def visible_attempt(*, user: AbstractBaseUser, pk: int) -> OrderAttempt:
    """An order attempt of the buyer's own requests, or, for an approver, any attempt whose
    outcome is unknown; otherwise 404."""
    seen = Q(supplier_order__request__requested_by=user)
    if is_approver(user):
        seen |= Q(state=OrderAttempt.State.OUTCOME_UNKNOWN)
    return get_object_or_404(_attempts().filter(seen), pk=pk)


@dataclass(frozen=True)
class ApprovalsQueue:
    requests: list[OrderRequest]  # awaiting this user's decision
    attempts: list[OrderAttempt]  # outcome unknown, of other buyers (approvers only)


def approvals_queue(*, user: AbstractBaseUser) -> ApprovalsQueue:
    """What waits for an approver, and nothing else of other buyers."""
    requests = list(
        orders.requests_awaiting(user=user)
        .select_related("run", "requested_by")
        .prefetch_related(
            Prefetch("supplier_orders", queryset=SupplierOrder.objects.order_by("pk"))
        )
        .order_by("created_at", "pk")
    )
    for order_request in requests:
        _set_totals(order_request)
    return ApprovalsQueue(requests=requests, attempts=unknown_attempts(user=user, others=True))


def audit_events(
    *, user: AbstractBaseUser, order_request: OrderRequest | None = None
) -> QuerySet[OrderAuditEvent]:
    """Audit events for an export: of one request the user may open, or of every request
    for someone allowed to read the whole audit (`previews.view_orderauditevent`, granted
    in the admin), otherwise of the user's own requests."""
    events = OrderAuditEvent.objects.select_related(
        "actor", "request__requested_by", "supplier_order", "attempt", "placed_order"
    ).order_by("at", "pk")
    if order_request is not None:
        return events.filter(request=order_request)
    if user.has_perm("previews.view_orderauditevent"):
        return events
    return events.filter(request__requested_by=user)
