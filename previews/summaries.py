"""What the runs list shows of a run: suppliers, how many can be ordered, the grand total.

A finished run never changes (every supplier has its outcome, and an outcome is stored
only on a waiting supplier), so its summary is computed once, by THE rule of "can be
ordered" (`SupplierPreview.can_be_ordered`, the run page's own), and stored in
`RunSummary` when the run ends (`runs.finish_run`, `runs.fail_run`). A finished run
without one (finished before summaries existed, or by a path that did not store it) is
summarised by the list the first time it shows it. Either way two queries summarise any
number of runs, and the list then reads one row per run.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Count, Prefetch

from .models import PreviewRecord, PreviewRun, RunSummary, SupplierPreview


@dataclass(frozen=True)
class Summary:
    supplier_count: int
    orderable_count: int
    grand_total_fen: int  # the run page's grand total (RunBreakdown.grand_total_fen)


def summarize(run_ids: Iterable[int]) -> dict[int, Summary]:
    """The summaries of runs, by run id, in two queries whatever their number and size.

    The grand total is a breakdown's: the totals of the suppliers that can be ordered,
    i.e. the sum of their orders' `sum_payment_fen` (a supplier that can be ordered has
    a total on every order)."""
    run_ids = list(run_ids)
    if not run_ids:
        return {}
    records = PreviewRecord.objects.only(
        "pk", "supplier_preview_id", "status", "orderable_through_api", "sum_payment_fen"
    ).order_by()
    suppliers = (
        SupplierPreview.objects.filter(run_id__in=run_ids)
        .only("pk", "run_id", "status")
        .order_by()
        .prefetch_related(Prefetch("records", queryset=records))
    )
    counts = {run_id: [0, 0, 0] for run_id in run_ids}
    for supplier in suppliers:
        figures = counts[supplier.run_id]
        figures[0] += 1
        if supplier.can_be_ordered:  # THE rule, as the run page applies it
            figures[1] += 1
            figures[2] += sum(record.sum_payment_fen for record in supplier.records.all())
    return {run_id: Summary(*figures) for run_id, figures in counts.items()}


def store_run_summary(*, run_id: int) -> RunSummary | None:
    """Store the summary of a finished run (called where a run ends). Idempotent: a
    summary already stored is kept; a run not finished gets none (None)."""
    run = PreviewRun.objects.filter(pk=run_id).only("pk", "status").first()
    if run is None or not run.is_finished:
        return None
    stored = store_summaries([run_id])
    return stored.get(run_id)


def store_summaries(run_ids: Iterable[int]) -> dict[int, RunSummary]:
    """Summarise finished runs and store their summaries (keeping any already stored;
    the caller makes sure they are finished)."""
    rows = [
        RunSummary(run_id=run_id, **vars(summary)) for run_id, summary in summarize(run_ids).items()
    ]
    RunSummary.objects.bulk_create(rows, ignore_conflicts=True)
    return {row.run_id: row for row in rows}


def attach_summaries(runs: list[PreviewRun]) -> None:
    """Set `supplier_count`, `orderable_count` and `grand_total_fen` on each run of a list
    fetched with `select_related("summary")`: from the stored summary; for a finished
    run without one, summarised now and stored (two queries and an insert for all of
    them); for a run still working, its supplier count (one query for all of them)."""
    unsummarized = [run for run in runs if not _has_summary(run)]
    finished = [run.pk for run in unsummarized if run.is_finished]
    made = store_summaries(finished) if finished else {}
    working = [run.pk for run in unsummarized if not run.is_finished]
    supplier_counts = dict(
        SupplierPreview.objects.filter(run_id__in=working)
        .order_by()
        .values_list("run_id")
        .annotate(n=Count("pk"))
        if working
        else ()
    )
    for run in runs:
        summary = run.summary if _has_summary(run) else made.get(run.pk)
        if summary is not None:
            run.supplier_count = summary.supplier_count
            run.orderable_count = summary.orderable_count
            run.grand_total_fen = summary.grand_total_fen
        else:
            run.supplier_count = supplier_counts.get(run.pk, 0)
            run.orderable_count = None
            run.grand_total_fen = None


def _has_summary(run: PreviewRun) -> bool:
    try:
        return run.summary is not None
    except RunSummary.DoesNotExist:
        return False
