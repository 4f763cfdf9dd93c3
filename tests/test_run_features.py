"""Exports, quote age, comparing runs, and previewing to several addresses."""

import csv
import io
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from previews import exports, selectors
from previews.models import PreviewRun

from .pages import preview

pytestmark = pytest.mark.django_db(transaction=True)

CART = {
    "杭州小商品店": [(670291644950, "594b40c111b019af610a0078e4316373", 1)],
    "义乌日用百货": [(612345001100, "", 10), (612345001700, "", 3)],
    "广州服装批发": [(634567001901, "", 4)],
}


def test_csv_export_has_a_bom_a_row_per_line_and_the_totals(
    buyer, buyer_client, stocked_cart, inline_runs
):
    address, lines = stocked_cart(buyer, CART)
    run = preview(buyer_client, address, lines)
    response = buyer_client.get(reverse("previews:run-csv", args=[run.pk]))
    assert response["Content-Type"].startswith("text/csv")
    assert 'filename="preview-run-' in response["Content-Disposition"]
    content = response.getvalue()  # streamed: read once
    assert content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    assert rows[0][:4] == ["Supplier", "Status", "Order", "Offer"]
    example = next(r for r in rows if r[3] == "670291644950")
    assert example[4] == "594b40c111b019af610a0078e4316373"
    assert (example[6], example[7], example[8], example[10]) == ("1", "13.90", "13.21", "16.71")
    assert "省0.69:PLUS会员价" in example[11]
    totals = {r[0]: r[10] for r in rows if r[1] == "Supplier total"}
    assert totals["杭州小商品店"] == "16.71"
    refused = next(r for r in rows if r[0] == "广州服装批发")
    assert "cannot be bought online" in refused[12]
    grand = rows[-1]
    assert grand[0].startswith("Grand total")
    assert Decimal(grand[10]) == Decimal("16.71") + Decimal(totals["义乌日用百货"])
    assert "广州服装批发" in grand[12]


def test_xlsx_export(buyer, buyer_client, stocked_cart, inline_runs):
    address, lines = stocked_cart(buyer, CART)
    run = preview(buyer_client, address, lines)
    response = buyer_client.get(reverse("previews:run-xlsx", args=[run.pk]))
    sheet = load_workbook(io.BytesIO(response.getvalue())).active
    rows = list(sheet.iter_rows(values_only=True))
    example = next(r for r in rows if r[3] == 670291644950)
    assert Decimal(str(example[10])) == Decimal("16.71") and example[6] == 1
    assert rows[-1][0].startswith("Grand total")
    # An offer id stays a number and is shown whole, not as 6.70E+11.
    offer_cell = next(row[3] for row in sheet.iter_rows(min_row=2) if row[3].value)
    assert isinstance(offer_cell.value, int) and offer_cell.number_format == "0"
    # The sheet is laid out by the one column table: headers, widths, number formats.
    assert list(rows[0]) == [str(column.header) for column in exports.COLUMNS]
    for number, column in enumerate(exports.COLUMNS, start=1):
        letter = get_column_letter(number)
        assert sheet.column_dimensions[letter].width == column.width
        money = sheet.cell(row=2, column=number).number_format == "#,##0.00"
        assert money == (column.kind == exports.Kind.MONEY), column.key


def test_quote_age_and_staleness(buyer, buyer_client, stocked_cart, inline_runs, settings):
    address, lines = stocked_cart(buyer, CART)
    run = preview(buyer_client, address, lines)
    page = buyer_client.get(run.get_absolute_url()).content.decode()
    assert "Quoted 0" in page and 'data-testid="stale"' not in page
    PreviewRun.objects.filter(pk=run.pk).update(finished_at=timezone.now() - timedelta(hours=30))
    page = buyer_client.get(run.get_absolute_url()).content.decode()
    assert 'data-testid="stale"' in page and "Quoted 1\xa0day" in page
    assert 'data-testid="stale"' in buyer_client.get(reverse("previews:run-list")).content.decode()
    settings.PREVIEW_QUOTE_MAX_AGE_HOURS = 48
    assert 'data-testid="stale"' not in buyer_client.get(run.get_absolute_url()).content.decode()


def test_compare_with_the_previous_run_of_the_same_lines(
    buyer, buyer_client, stocked_cart, inline_runs
):
    address, lines = stocked_cart(buyer, CART)
    first = preview(buyer_client, address, lines)
    nothing = buyer_client.get(reverse("previews:run-compare", args=[first.pk]))
    assert 'data-testid="no-previous"' in nothing.content.decode()
    # the same lines again, but the shop has since dropped a line's promotion and price
    second = preview(buyer_client, address, lines, flow="")
    from previews.models import PreviewLine

    line = PreviewLine.objects.get(record__supplier_preview__run=second, offer_id=670291644950)
    line.final_unit_price_fen = 1490
    line.save()
    line.promotions.all().delete()
    response = buyer_client.get(reverse("previews:run-compare", args=[second.pk]))
    comparison = response.context["comparison"]
    assert response.context["previous"].pk == first.pk
    changed = {c.name: c for c in comparison.suppliers}
    example = changed["杭州小商品店"].lines[0]
    assert example.changed and example.unit_price_delta_fen == 100
    assert example.promotions_before == ["省0.69:PLUS会员价"] and example.promotions_now == []
    assert not changed["义乌日用百货"].changed
    html = response.content.decode()
    assert "+¥1.00" in html and 'data-changed="true"' in html


def test_another_run_with_other_lines_is_not_compared(
    buyer, buyer_client, stocked_cart, inline_runs
):
    address, lines = stocked_cart(buyer, CART)
    preview(buyer_client, address, lines)
    other = preview(buyer_client, address, lines[:1])
    assert selectors.previous_run(other) is None


def test_same_lines_to_several_addresses_side_by_side(
    buyer, buyer_client, stocked_cart, make_address, inline_runs
):
    address, lines = stocked_cart(buyer, CART)
    beijing = make_address(
        buyer, label="Beijing", district_code="110105", province_text="北京市",
        city_text="北京市", area_text="朝阳区",
    )  # fmt: skip
    data = {
        "addresses": [address.pk, beijing.pk],
        "lines": [line.pk for line in lines],
        "flow": "general",
        "submission_token": str(uuid.uuid4()),
    }
    response = buyer_client.post(reverse("previews:address-comparison-create"), data)
    assert response.status_code == 302
    again = buyer_client.post(reverse("previews:address-comparison-create"), data)
    assert again["Location"] == response["Location"]
    assert PreviewRun.objects.filter(owner=buyer).count() == 2
    page = buyer_client.get(response["Location"])
    html = page.content.decode()
    assert html.count('data-testid="address-total"') == 2
    assert "Beijing" in html and "¥16.71" in html
    one = buyer_client.post(
        reverse("previews:address-comparison-create"), {**data, "addresses": [address.pk],
                                                        "submission_token": str(uuid.uuid4())}
    )  # fmt: skip
    assert "Choose two or three addresses" in one.content.decode()


def test_other_buyers_cannot_export_compare_or_see_groups(
    client, buyer, buyer_client, other_buyer, stocked_cart, inline_runs
):
    address, lines = stocked_cart(buyer, CART)
    run = preview(buyer_client, address, lines)
    client.force_login(other_buyer)
    for name in ("previews:run-csv", "previews:run-xlsx", "previews:run-compare"):
        assert client.get(reverse(name, args=[run.pk])).status_code == 404
    group = uuid.uuid4()
    PreviewRun.objects.filter(pk=run.pk).update(address_group=group)
    assert client.get(reverse("previews:address-comparison", args=[group])).status_code == 404
