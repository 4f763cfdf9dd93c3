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
    QuerySet,
    Sum,
)
from django.http import Http404
from django.shortcuts import get_object_or_404

from . import failures, gateway, summaries
from .breakdown import RunBreakdown, SupplierView, build_breakdown, supplier_view
from .cart_advice import CartAdvice, cart_warnings
from .comparison import RunComparison, compare
from .models import (
    CartLine,
    OfferLookup,
    OfferLookupBatch,
    PreviewLine,
    PreviewPromotion,
    PreviewRecord,
    PreviewRun,
    ShippingAddress,
    Supplier,
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
    line_promotions = PreviewPromotion.objects.order_by("pk")
    return runs.prefetch_related(
        Prefetch("suppliers", queryset=SupplierPreview.objects.order_by("position")),
        Prefetch(
            "suppliers__records",
            queryset=PreviewRecord.objects.order_by("index").prefetch_related(
                Prefetch("promotions", queryset=line_promotions.filter(line__isnull=True),
                         to_attr="shop_promotions"),
            ),
        ),
        Prefetch(
            "suppliers__records__lines",
            queryset=PreviewLine.objects.order_by("index").prefetch_related(
                Prefetch("promotions", queryset=line_promotions)
            ),
        ),
    )  # fmt: skip


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
