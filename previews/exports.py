"""A run's breakdown as rows, and those rows as CSV (UTF-8 with BOM, for Excel) or XLSX."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

from django.utils.functional import Promise
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font

from .breakdown import RunBreakdown, SupplierView
from .money import fen_to_yuan

MONEY_COLUMNS = (7, 8, 9, 10)  # 0-based: unit price, amount, landed unit cost, total

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


def header() -> list[str]:
    return [
        _("Supplier"), _("Status"), _("Order"), _("Offer"), _("Spec id"), _("Title"),
        _("Quantity"), _("Unit price (¥)"), _("Amount (¥)"), _("Landed unit cost (¥)"),
        _("Total (¥)"), _("Promotions"), _("Problems"),
    ]  # fmt: skip


def _summary_row(supplier: SupplierView, label: str, fen: int | None, note: str = "") -> list:
    return [supplier.name, label, None, None, None, None, None, None, None, None, _yuan(fen),
            note, ""]  # fmt: skip


def _supplier_totals(supplier: SupplierView) -> list[list]:
    """The totals block of the run page, one row each, adding up in the Total column:
    goods − order discounts + carriage + other fees + unexplained = supplier total."""
    free_postage = (
        _("Free postage: %(promotions)s") % {"promotions": ", ".join(supplier.free_postage)}
        if supplier.free_postage
        else ""
    )
    rows = [
        _summary_row(supplier, _("Goods (after line promotions)"), supplier.goods_fen),
        _summary_row(supplier, _("Order discounts"), supplier.order_discount_fen,
                     _("subtracted from the goods")),
        _summary_row(supplier, _("Carriage"), supplier.carriage_fen, free_postage),
    ]  # fmt: skip
    if supplier.other_fees_fen:
        rows.append(_summary_row(supplier, _("Other fees"), supplier.other_fees_fen))
    if supplier.unexplained_fen:
        rows.append(
            _summary_row(supplier, _("Unexplained difference (gateway)"), supplier.unexplained_fen)
        )
    total = _summary_row(supplier, _("Supplier total"), supplier.total_fen)
    total[12] = "; ".join(supplier.problems)
    rows.append(total)
    return rows


def export_rows(breakdown: RunBreakdown) -> list[list]:
    """One row per line, then the supplier's totals block (a row per figure), then the
    grand total of the suppliers that can be ordered."""
    rows: list[list] = [header()]
    for supplier in breakdown.suppliers:
        status = supplier.badge_label
        if not supplier.records:
            rows.append([supplier.name, status, None, None, None, None, None, None, None, None,
                         None, "", "; ".join(supplier.problems)])  # fmt: skip
            continue
        for record in supplier.records:
            for line in record.lines:
                rows.append(
                    [
                        supplier.name, status, record.index + 1, line.offer_id, line.spec_id,
                        line.title, line.quantity, _yuan(line.unit_price_fen),
                        _yuan(line.amount_fen), line.landed_unit_cost, _yuan(line.landed_total_fen),
                        "; ".join(f"{p.text} ({fen_to_yuan(p.discount_fen or 0)})"
                                  for p in line.promotions),
                        "; ".join(line.problems),
                    ]
                )  # fmt: skip
        rows += _supplier_totals(supplier)
    left_out = "; ".join(f"{s.name}: {s.left_out_reason}" for s in breakdown.left_out)
    rows.append([_("Grand total (orderable suppliers)"), "", None, None, None, None, None, None,
                 None, None, _yuan(breakdown.grand_total_fen), "",
                 _("Left out: %(list)s") % {"list": left_out} if left_out else ""])  # fmt: skip
    return rows


def to_csv(rows: list[list]) -> bytes:
    """UTF-8 with a byte-order mark, so Excel on Chinese Windows reads it right."""
    buffer = io.StringIO()
    # Every text field quoted (OWASP), so a separator inside a text never starts a new
    # cell, whatever separator the reader's locale uses; numbers stay bare numbers.
    writer = csv.writer(buffer, lineterminator="\r\n", quoting=csv.QUOTE_STRINGS)
    for row in rows:
        writer.writerow([spreadsheet_safe(value) for value in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def to_xlsx(rows: list[list], *, title: str) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = title[:31]
    for row_number, row in enumerate(rows, start=1):
        for column_number, value in enumerate(row, start=1):
            value = spreadsheet_safe(value)
            cell = sheet.cell(row=row_number, column=column_number)
            if isinstance(value, str):
                # Set as text explicitly: openpyxl would make "=..." a formula and
                # "#N/A" an error; characters XLSX cannot hold are shown as U+FFFD.
                cell.value = ILLEGAL_CHARACTERS_RE.sub("\ufffd", value)
                cell.data_type = "s"
            else:
                cell.value = value
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for column in MONEY_COLUMNS:
        for (cell,) in sheet.iter_rows(min_row=2, min_col=column + 1, max_col=column + 1):
            cell.number_format = "#,##0.00"
    sheet.freeze_panes = "A2"
    for letter, width in zip("ABCDEFGHIJKLM", (18, 12, 6, 15, 34, 24, 9, 12, 12, 14, 12, 30, 40),
                             strict=True):  # fmt: skip
        sheet.column_dimensions[letter].width = width
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
