"""A run's breakdown as rows, and those rows as CSV (UTF-8 with BOM, for Excel) or XLSX."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font

from .breakdown import RunBreakdown
from .money import fen_to_yuan

MONEY_COLUMNS = (7, 8, 9, 10)  # 0-based: unit price, amount, landed unit cost, total


def _yuan(fen: int | None) -> Decimal | None:
    return None if fen is None else fen_to_yuan(fen)


def header() -> list[str]:
    return [
        _("Supplier"), _("Status"), _("Order"), _("Offer"), _("Spec id"), _("Title"),
        _("Quantity"), _("Unit price (¥)"), _("Amount (¥)"), _("Landed unit cost (¥)"),
        _("Total (¥)"), _("Promotions"), _("Problems"),
    ]  # fmt: skip


def export_rows(breakdown: RunBreakdown) -> list[list]:
    """One row per line, then a total row per supplier, then the grand total."""
    rows: list[list] = [header()]
    for supplier in breakdown.suppliers:
        status = supplier.preview.get_status_display()
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
        summary = _("Goods %(goods)s, order discounts %(discount)s, carriage %(carriage)s") % {
            "goods": fen_to_yuan(supplier.goods_fen),
            "discount": fen_to_yuan(supplier.order_discount_fen),
            "carriage": fen_to_yuan(supplier.carriage_fen),
        }
        rows.append([supplier.name, _("Supplier total"), None, None, None, None, None, None,
                     None, None, _yuan(supplier.total_fen), summary,
                     "; ".join(supplier.problems)])  # fmt: skip
    left_out = "; ".join(f"{s.name}: {s.left_out_reason}" for s in breakdown.left_out)
    rows.append([_("Grand total (orderable suppliers)"), "", None, None, None, None, None, None,
                 None, None, _yuan(breakdown.grand_total_fen), "",
                 _("Left out: %(list)s") % {"list": left_out} if left_out else ""])  # fmt: skip
    return rows


def to_csv(rows: list[list]) -> bytes:
    """UTF-8 with a byte-order mark, so Excel on Chinese Windows reads it right."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for row in rows:
        writer.writerow(["" if value is None else value for value in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def to_xlsx(rows: list[list], *, title: str) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = title[:31]
    for row in rows:
        sheet.append(row)
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
