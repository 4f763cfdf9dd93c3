"""A run's breakdown as rows, and those rows as CSV (UTF-8 with BOM, for Excel) or XLSX."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any, BinaryIO, NamedTuple

from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from . import rates
from .breakdown import LineView, RecordView, RunBreakdown, SupplierView
from .currency import Conversion
from .models import PreviewRun
from .money import fen_to_yuan

# Text a spreadsheet would take for a formula (OWASP "CSV injection"): = + - @, tab and
# carriage return; also their full-width forms, which Chinese input methods type and
# which a spreadsheet may convert, so they are treated alike.
FORMULA_STARTS = frozenset("=+-@\uff1d\uff0b\uff0d\uff20")
CONTROL_STARTS = frozenset("\t\r")


def spreadsheet_safe(value):
    """A cell value that no spreadsheet evaluates: text that could start a formula gets a
    leading single quote (shown, never run); numbers and empty cells stay as they are.

    Supplier names, titles, specs, promotion texts and messages come from buyers and
    from the gateway, so any of them may be `=HYPERLINK(...)` or `+cmd|...`. Leading
    whitespace is looked through, as some importers trim it before evaluating.
    """
    if isinstance(value, Promise):
        value = str(value)
    if not isinstance(value, str) or not value:
        return value
    if value[0] in CONTROL_STARTS or value.lstrip()[:1] in FORMULA_STARTS:
        return "'" + value
    return value


def _yuan(fen: int | None) -> Decimal | None:
    return None if fen is None else fen_to_yuan(fen)


class Kind(StrEnum):
    """What a column holds, which decides how a spreadsheet shows it."""

    TEXT = "text"
    INT = "int"
    IDENTIFIER = "identifier"  # a whole number that names something, e.g. an offer id
    MONEY = "money"  # yuan as Decimal, to the fen
    CONVERTED = "converted"  # the second currency, as Decimal to its own minor units


# Other kinds keep the spreadsheet's default; in that "General" format Excel shows a
# 12-digit offer id as 7.33E+11, so identifiers are shown whole.
NUMBER_FORMATS = {Kind.MONEY: "#,##0.00", Kind.IDENTIFIER: "0"}


class LineRow(NamedTuple):
    """What a line's row is read from."""

    supplier: SupplierView
    record: RecordView
    line: LineView


@dataclass(frozen=True)
class Column:
    """One column of the export: its header, its width in the XLSX, what it holds, and
    how a line's row fills it (`line`). The other rows (a supplier's totals block, a
    supplier without an answer, the grand total) fill it by `key`."""

    key: str
    header: Promise | str
    width: int
    kind: Kind
    line: Callable[[LineRow], Any]
    number_format: str | None = None  # overrides the kind's (NUMBER_FORMATS)


def _promotions(row: LineRow) -> str:
    return "; ".join(f"{p.text} ({fen_to_yuan(p.discount_fen or 0)})" for p in row.line.promotions)


COLUMNS = (
    Column("supplier", _lazy("Supplier"), 18, Kind.TEXT, lambda r: r.supplier.name),
    Column("status", _lazy("Status"), 12, Kind.TEXT, lambda r: r.supplier.badge_label),
    Column("order", _lazy("Order"), 6, Kind.INT, lambda r: r.record.index + 1),
    Column("offer", _lazy("Offer"), 15, Kind.IDENTIFIER, lambda r: r.line.offer_id),
    Column("spec_id", _lazy("Spec id"), 34, Kind.TEXT, lambda r: r.line.spec_id),
    Column("title", _lazy("Title"), 24, Kind.TEXT, lambda r: r.line.title),
    Column("quantity", _lazy("Quantity"), 9, Kind.INT, lambda r: r.line.quantity),
    Column(
        "unit_price",
        _lazy("Unit price (¥)"),
        12,
        Kind.MONEY,
        lambda r: _yuan(r.line.unit_price_fen),
    ),
    Column("amount", _lazy("Amount (¥)"), 12, Kind.MONEY, lambda r: _yuan(r.line.amount_fen)),
    Column(
        "landed_unit_cost",
        _lazy("Landed unit cost (¥)"),
        14,
        Kind.MONEY,
        lambda r: r.line.landed_unit_cost,
    ),
    # A line's landed total; in the other rows, the row's figure.
    Column("total", _lazy("Total (¥)"), 12, Kind.MONEY, lambda r: _yuan(r.line.landed_total_fen)),
    Column("promotions", _lazy("Promotions"), 30, Kind.TEXT, _promotions),
    Column("problems", _lazy("Problems"), 40, Kind.TEXT, lambda r: "; ".join(r.line.problems)),
)


def currency_columns(conversion: Conversion | None) -> tuple[Column, ...]:
    """The run's second currency (issue #15), after the CNY columns: a line's landed unit
    cost and total converted with the rate the run stored; none without a rate. A rate
    that was stale when the run was created says so in the headers ("old rate")."""
    if conversion is None:
        return ()
    code = conversion.code
    if conversion.stale:
        unit_header = _("Landed unit cost (%(currency)s, old rate)") % {"currency": code}
        total_header = _("Total (%(currency)s, old rate)") % {"currency": code}
    else:
        unit_header = _("Landed unit cost (%(currency)s)") % {"currency": code}
        total_header = _("Total (%(currency)s)") % {"currency": code}
    number_format = "#,##0" + ("." + "0" * conversion.digits if conversion.digits else "")
    return (
        Column(
            "landed_unit_cost_converted",
            unit_header,
            14,
            Kind.CONVERTED,
            lambda r: conversion.unit_from_fen(r.line.landed_total_fen, r.line.quantity),
            number_format,
        ),
        Column(
            "total_converted",
            total_header,
            12,
            Kind.CONVERTED,
            lambda r: conversion.from_fen(r.line.landed_total_fen),
            number_format,
        ),
    )


@dataclass(frozen=True)
class Table:
    """The columns of one export: COLUMNS, then the second currency's, if any."""

    columns: tuple[Column, ...] = COLUMNS
    conversion: Conversion | None = None

    @classmethod
    def for_run(cls, run: PreviewRun | None) -> Table:
        conversion = run.conversion if run is not None else None
        return cls(COLUMNS + currency_columns(conversion), conversion)

    def header(self) -> list[str]:
        return [str(column.header) for column in self.columns]

    def line_row(self, row: LineRow) -> list:
        return [column.line(row) for column in self.columns]

    def row(self, *, fen: int | None = None, **cells) -> list:
        """A row that is not a line's: the named cells, the others empty (None); `fen`
        is the row's figure, in the Total column and converted in the second currency's."""
        keys = {column.key for column in self.columns}
        if fen is not None:
            cells["total"] = _yuan(fen)
            if self.conversion is not None:
                cells["total_converted"] = self.conversion.from_fen(fen)
        unknown = set(cells) - keys
        if unknown:
            raise KeyError(f"no export column {sorted(unknown)}")
        return [cells.get(column.key) for column in self.columns]


def header() -> list[str]:
    return Table().header()


def _summary_row(
    table: Table,
    supplier: SupplierView,
    label: str,
    fen: int | None,
    note: str = "",
    problems: str = "",
) -> list:
    """A row of a supplier's totals block: the figure's name, its amount, a note."""
    return table.row(
        supplier=supplier.name, status=label, fen=fen, promotions=note, problems=problems
    )


def _supplier_totals(table: Table, supplier: SupplierView) -> list[list]:
    """The totals block of the run page, one row each, adding up in the Total column:
    goods − order discounts + carriage + other fees + unexplained = supplier total."""
    free_postage = (
        _("Free postage: %(promotions)s") % {"promotions": ", ".join(supplier.free_postage)}
        if supplier.free_postage
        else ""
    )
    rows = [
        _summary_row(table, supplier, _("Goods (after line promotions)"), supplier.goods_fen),
        _summary_row(
            table,
            supplier,
            _("Order discounts"),
            supplier.order_discount_fen,
            _("subtracted from the goods"),
        ),
        _summary_row(table, supplier, _("Carriage"), supplier.carriage_fen, free_postage),
    ]
    if supplier.other_fees_fen:
        rows.append(_summary_row(table, supplier, _("Other fees"), supplier.other_fees_fen))
    if supplier.unexplained_fen:
        rows.append(
            _summary_row(
                table, supplier, _("Unexplained difference (gateway)"), supplier.unexplained_fen
            )
        )
    problems = "; ".join(supplier.problems)
    rows.append(
        _summary_row(table, supplier, _("Supplier total"), supplier.total_fen, problems=problems)
    )
    return rows


def export_rows(breakdown: RunBreakdown, *, run: PreviewRun | None = None) -> list[list]:
    """One row per line, then the supplier's totals block (a row per figure), then the
    grand total of the suppliers that can be ordered; with the `run`, its second currency
    (columns, and a last row saying the rate, or why there is none)."""
    return list(iter_export_rows(breakdown.suppliers, run=run))


def iter_export_rows(
    suppliers: Iterable[SupplierView], *, run: PreviewRun | None = None
) -> Iterator[list]:
    """`export_rows` row by row, reading the suppliers as it goes (they may be read from
    the database a few at a time): the grand total and the left-out list are added up on
    the way, by the breakdown's own rule (`SupplierView.orderable`)."""
    table = Table.for_run(run)
    yield table.header()
    grand_total_fen, left_out = 0, []
    for supplier in suppliers:
        if supplier.orderable:
            grand_total_fen += supplier.total_fen
        else:
            left_out.append(f"{supplier.name}: {supplier.left_out_reason}")
        if not supplier.records:
            yield table.row(
                supplier=supplier.name,
                status=supplier.badge_label,
                promotions="",
                problems="; ".join(supplier.problems),
            )
            continue
        for record in supplier.records:
            for line in record.lines:
                yield table.line_row(LineRow(supplier, record, line))
        yield from _supplier_totals(table, supplier)
    left_out_text = "; ".join(left_out)
    yield table.row(
        supplier=_("Grand total (orderable suppliers)"),
        status="",
        fen=grand_total_fen,
        promotions="",
        problems=_("Left out: %(list)s") % {"list": left_out_text} if left_out_text else "",
    )
    if run is not None:
        for note in rates.run_rate_notes(run):
            yield table.row(supplier=note)


class _Echo:
    """A file for csv.writer that hands back what it is given."""

    def write(self, value: str) -> str:
        return value


def iter_csv(rows: Iterable[list]) -> Iterator[bytes]:
    """UTF-8 with a byte-order mark, so Excel on Chinese Windows reads it right; in chunks
    of about 64 KB as the rows come, for a streamed answer."""
    # Every text field quoted (OWASP), so a separator inside a text never starts a new
    # cell, whatever separator the reader's locale uses; numbers stay bare numbers.
    writer = csv.writer(_Echo(), lineterminator="\r\n", quoting=csv.QUOTE_STRINGS)
    chunk = ["\ufeff"]
    size = 0
    for row in rows:
        text = writer.writerow([spreadsheet_safe(value) for value in row])
        chunk.append(text)
        size += len(text)
        if size >= 64 * 1024:
            yield "".join(chunk).encode("utf-8")
            chunk, size = [], 0
    yield "".join(chunk).encode("utf-8")


def to_csv(rows: Iterable[list]) -> bytes:
    return b"".join(iter_csv(rows))


def write_xlsx(
    rows: Iterable[list], file: BinaryIO, *, title: str, columns: tuple[Column, ...] = COLUMNS
) -> None:
    """The rows as an XLSX sheet written to `file`, in openpyxl's write-only mode: each
    row goes to disk as it comes, so memory does not grow with the run."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title[:31])
    for number, column in enumerate(columns, start=1):
        sheet.column_dimensions[get_column_letter(number)].width = column.width
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)
    formats = [column.number_format or NUMBER_FORMATS.get(column.kind) for column in columns]
    for row_number, row in enumerate(rows, start=1):
        cells = []
        for index, value in enumerate(row):
            number_format = formats[index] if index < len(formats) else None
            value = spreadsheet_safe(value)
            cell = WriteOnlyCell(sheet)
            if isinstance(value, str):
                # Set as text explicitly: openpyxl would make "=..." a formula and
                # "#N/A" an error; characters XLSX cannot hold are shown as U+FFFD.
                cell.value = ILLEGAL_CHARACTERS_RE.sub("\ufffd", value)
                cell.data_type = "s"
            else:
                cell.value = value
            if row_number == 1:
                cell.font = bold
            elif number_format:
                cell.number_format = number_format
            cells.append(cell)
        sheet.append(cells)
    workbook.save(file)


def to_xlsx(rows: Iterable[list], *, title: str, columns: tuple[Column, ...] = COLUMNS) -> bytes:
    buffer = io.BytesIO()
    write_xlsx(rows, buffer, title=title, columns=columns)
    return buffer.getvalue()


# --------------------------------------------------------------------------- order audit

ORDER_AUDIT_HEADERS = (
    _lazy("When"), _lazy("Who"), _lazy("Action"), _lazy("Request"), _lazy("Supplier"),
    _lazy("Our order id (thirdOrderId)"), _lazy("1688 order id"), _lazy("Total (¥)"),
    _lazy("Total before (¥)"), _lazy("Comment"),
)  # fmt: skip


def order_audit_rows(events) -> list[list]:
    """The order audit trail as rows (a header first): `events` an iterable of
    `OrderAuditEvent` (select_related actor, supplier_order, attempt, placed_order), in
    the order to show. Times in the active time zone, amounts in yuan, the worker's own
    steps written as "(worker)"."""
    from django.utils import timezone

    rows: list[list] = [[str(header) for header in ORDER_AUDIT_HEADERS]]
    for event in events:
        rows.append(
            [
                timezone.localtime(event.at).strftime("%Y-%m-%d %H:%M:%S"),
                event.actor.get_username() if event.actor_id else _("(worker)"),
                event.get_action_display(),
                event.request_id,
                event.supplier_order.supplier_name if event.supplier_order_id else "",
                event.attempt.third_order_id if event.attempt_id else "",
                event.placed_order.order_id if event.placed_order_id else "",
                _yuan(event.total_fen),
                _yuan(event.previous_total_fen),
                event.shown_comment,
            ]
        )
    return rows


def order_audit_csv(events) -> bytes:
    """The order audit trail as CSV (UTF-8 with BOM, every text cell spreadsheet-safe: a
    supplier name or comment starting `=` is never run as a formula)."""
    return to_csv(order_audit_rows(events))
