"""Reading cart lines from pasted text or a CSV file: offer links or ids, spec, quantity, supplier.

Pure parsing, no database: `parse_cart_rows` returns the good rows and, for every bad
row, its row number and the reason. Storing them is `cart.import_cart_lines`.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from . import limits
from .limits import MAX_OFFER_ID, SPEC_ID
from .validators import (
    SPEC_ID_FORMAT,
    ascii_digits,
    describe_control_character,
    normalize_spec_id,
    parse_quantity,
)

OFFER_PATH = re.compile(r"/offer/([0-9]+)\.html?$")
DIGITS = re.compile(r"[0-9]+")
COLUMNS = ("offer", "spec_id", "quantity", "supplier", "title", "note")
HEADER_NAMES = {
    "offer": {"offer", "offerid", "offer_id", "offer id", "link", "url",
              "商品", "商品id", "链接", "商品链接"},
    "spec_id": {"spec", "specid", "spec_id", "spec id", "规格", "规格id"},
    "quantity": {"quantity", "qty", "数量"},
    "supplier": {"supplier", "shop", "供应商", "店铺", "卖家"},
    "title": {"title", "标题", "名称"},
    "note": {"note", "备注"},
}  # fmt: skip


@dataclass(frozen=True)
class CartRow:
    row_number: int
    offer_id: int
    spec_id: str
    quantity: int
    supplier: str
    title: str = ""
    note: str = ""


# Stored lengths of the text columns (CartLine.title/note, Supplier.name): a longer value
# is refused with its length, never cut without a word.
TEXT_LIMITS = {
    "supplier": limits.SUPPLIER_NAME_LENGTH,
    "title": limits.CART_TITLE_LENGTH,
    "note": limits.CART_NOTE_LENGTH,
}


class TooManyRows(ValueError):
    """More rows than one import may carry (settings.IMPORT_MAX_ROWS)."""

    def __init__(self, limit: int):
        super().__init__(limit)
        self.limit = limit


@dataclass(frozen=True)
class RowError:
    row_number: int
    reason: str


def decode_upload(data: bytes) -> str:
    """Text of an uploaded file: UTF-8 (with or without BOM), else GBK/GB18030 from Excel."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError:
        raise ValidationError(
            _("The file is neither UTF-8 nor GBK text. Save it from Excel as CSV and try again.")
        ) from None


def parse_offer_id(value: str) -> int | None:
    """The offer id in a bare id or a 1688 offer link (desktop or mobile), else None."""
    # A bare id follows the quantities' rule: ASCII or full-width digits, nothing else.
    digits = ascii_digits(value)
    if DIGITS.fullmatch(digits):
        number = int(digits)
        return number if 1 <= number <= MAX_OFFER_ID else None
    # NFKC reads a link typed with full-width punctuation (：／．) as the plain one.
    value = unicodedata.normalize("NFKC", value or "").strip()
    if "1688.com" not in value:
        return None
    parts = urlsplit(value if "://" in value else "https://" + value)
    if not (parts.hostname or "").endswith("1688.com"):
        return None
    match = OFFER_PATH.search(parts.path)
    candidates = [match.group(1)] if match else []
    query = parse_qs(parts.query)
    candidates += query.get("offerId", []) + query.get("offerid", [])
    for candidate in candidates:
        if DIGITS.fullmatch(candidate) and 1 <= int(candidate) <= MAX_OFFER_ID:
            return int(candidate)
    return None


def _header_mapping(cells: list[str]) -> dict[str, int] | None:
    mapping = {}
    for index, cell in enumerate(cells):
        name = cell.strip().lower()
        for column, names in HEADER_NAMES.items():
            if name in names:
                mapping[column] = index
    return mapping if "offer" in mapping else None


def _dialect(text: str) -> str:
    first = next((line for line in text.splitlines() if line.strip()), "")
    return "\t" if "\t" in first else ","


def parse_cart_rows(
    text: str, *, max_rows: int | None = None, supplier_required: bool = True
) -> tuple[list[CartRow], list[RowError]]:
    """Parse rows of `offer, spec id, quantity, supplier[, title, note]`, or of a header's order.

    Without `supplier_required` (an import whose offers are looked up: the supplier is
    found by the offer's seller) a row may leave the supplier empty.
    Raises TooManyRows as soon as there are more than `max_rows` rows (blank ones and the
    header not counted).
    """
    rows: list[CartRow] = []
    errors: list[RowError] = []
    counted = 0
    text = text.removeprefix("\ufeff")  # a BOM pasted along with the first cell
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_dialect(text))
    mapping = {column: index for index, column in enumerate(COLUMNS)}
    first = True
    for row_number, cells in _rows(reader, errors):
        if not any(cell.strip() for cell in cells):
            continue
        if first:
            first = False
            header = _header_mapping(cells)
            if header is not None:
                mapping = header
                continue
        counted += 1
        if max_rows is not None and counted > max_rows:
            raise TooManyRows(max_rows)
        row, reason = _parse_row(row_number, cells, mapping, supplier_required)
        if row is not None:
            rows.append(row)
        else:
            errors.append(RowError(row_number, reason))
    return rows, errors


def _rows(reader, errors: list[RowError]):
    """Numbered rows; a row the CSV reader cannot read is reported, and reading goes on."""
    row_number = 0
    while True:
        row_number += 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as problem:
            errors.append(RowError(row_number, _("this row is not valid CSV (%(problem)s)")
                                   % {"problem": problem}))  # fmt: skip
            continue
        yield row_number, cells


def _cell(cells: list[str], mapping: dict[str, int], column: str) -> str:
    index = mapping.get(column)
    if index is None or index >= len(cells):
        return ""
    return cells[index].strip()


COLUMN_NAMES = {
    "offer": gettext_lazy("the offer"),
    "spec_id": gettext_lazy("the spec id"),
    "quantity": gettext_lazy("the quantity"),
    "supplier": gettext_lazy("the supplier"),
    "title": gettext_lazy("the title"),
    "note": gettext_lazy("the note"),
}


def _bad_text(cells, mapping) -> str:
    """Why a cell this row uses cannot be stored as it is, or ""."""
    for column in COLUMNS:
        value = _cell(cells, mapping, column)
        found = describe_control_character(value)
        name = COLUMN_NAMES[column]
        if found:
            reason = _("%(column)s contains an invisible control character, %(found)s: remove it")
            return reason % {"column": name, "found": found}
        limit = TEXT_LIMITS.get(column)
        if limit and len(value) > limit:
            reason = _(
                "%(column)s is %(length)s characters long; at most %(limit)s fit: shorten it"
            )
            return reason % {"column": name, "length": len(value), "limit": limit}
    return ""


def _parse_row(
    row_number, cells, mapping, supplier_required: bool = True
) -> tuple[CartRow | None, str]:
    bad_text = _bad_text(cells, mapping)
    if bad_text:
        return None, bad_text
    raw_offer = _cell(cells, mapping, "offer")
    offer_id = parse_offer_id(raw_offer)
    if offer_id is None:
        if not raw_offer:
            return None, _("the offer is missing")
        return None, _("“%(value)s” is neither an offer id nor a 1688 offer link") % {
            "value": raw_offer[:80]
        }
    spec_id = normalize_spec_id(_cell(cells, mapping, "spec_id"))
    if spec_id and not SPEC_ID.match(spec_id):
        reason = _("the spec id “%(value)s” is not %(length)s hexadecimal characters")
        return None, reason % {**SPEC_ID_FORMAT, "value": spec_id[:40]}
    raw_quantity = _cell(cells, mapping, "quantity")
    if not raw_quantity:
        return None, _("the quantity is missing")
    try:
        quantity = parse_quantity(raw_quantity)
    except ValidationError as problem:
        return None, " ".join(problem.messages)
    supplier = _cell(cells, mapping, "supplier")
    if not supplier and supplier_required:
        return None, _("the supplier is missing (previews go one supplier at a time)")
    return (
        CartRow(
            row_number=row_number,
            offer_id=offer_id,
            spec_id=spec_id,
            quantity=quantity,
            supplier=supplier,
            title=_cell(cells, mapping, "title"),
            note=_cell(cells, mapping, "note"),
        ),
        "",
    )
