"""Figures that must add up (issue #10, items 4-7 and 9): every supplier's totals block
reconciles on the page, in CSV/XLSX and in comparisons; free postage is said; one rule
decides "can be ordered", in Python and in SQL alike; our own 50-line parts are told apart
from 1688's split; plurals are real plurals.

Runs go over real HTTP to the sandbox process: a real Celery worker for the main case,
in-process execution (`inline_runs`) for the others. Expected figures come from the
sandbox's own record (what the gateway sent), never from the code under test.
"""

import csv
import io
import re
import uuid
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import translation
from openpyxl import load_workbook

from previews import summaries
from previews.breakdown import build_breakdown
from previews.models import PreviewRecord, PreviewRun, SupplierPreview
from previews.sandbox import Sandbox
from previews.selectors import runs_with_results

from .conftest import ADDRESS_FORM
from .processes import celery_worker, wait_until

pytestmark = pytest.mark.django_db(transaction=True)

ADDRESS_PARAM = {
    "fullName": "张三", "mobile": "13812345678", "phone": "0571-88886666",
    "postCode": "310051", "cityText": "杭州市", "provinceText": "浙江省", "areaText": "滨江区",
    "townText": ADDRESS_FORM["town_text"], "address": ADDRESS_FORM["address"],
    "districtCode": "330108",
}  # fmt: skip


def offer(seller: int, scenario: int, n: int = 1) -> int:
    """An offer of seller 6600xx whose last three digits pick the sandbox's scenario."""
    return (660_000 + seller) * 1_000_000 + n * 1000 + scenario


def sandbox_records(items) -> list[dict]:
    """What the sandbox answers for these (offer, spec, quantity) lines: the gateway's own
    figures, to check the pages against."""
    request = {
        "flow": "general",
        "addressParam": ADDRESS_PARAM,
        "cargoParamList": [{"offerId": o, "specId": s or None, "quantity": q} for o, s, q in items],
    }
    return Sandbox().preview(request)["orderPreviewResuslt"]


def fen(text: str) -> int:
    """¥1,234.56 / −¥0.37 as integer fen."""
    text = text.strip()
    sign = -1 if text.startswith("−") else 1
    return sign * int(Decimal(text.lstrip("−").lstrip("¥").replace(",", "")) * 100)


def supplier_section(html: str, name: str) -> str:
    for chunk in html.split('data-testid="supplier-section"')[1:]:
        if f'data-supplier="{name}"' in chunk[:200]:
            return chunk.split('data-testid="supplier-section"')[0]
    raise AssertionError(f"no section for {name}")


def totals_block(html: str, name: str) -> dict[str, int]:
    """The figures of a supplier's totals block on the run page (promotions' savings are
    information, not a term of the sum)."""
    section = supplier_section(html, name)
    block = section.split('data-testid="supplier-totals"')[1].split("</dl>")[0]
    found = re.findall(r'data-field="([a-z-]+)">(−?¥[\d,.]+)', block)
    return {k: fen(v) for k, v in found if k != "savings"}


def adds_up(figures: dict[str, int]) -> bool:
    return (
        figures["goods"]
        - figures["order-discount"]
        + figures["carriage"]
        + figures.get("other-fees", 0)
        + figures.get("unexplained", 0)
        == figures["total"]
    )


def csv_rows(client, run) -> list[list[str]]:
    response = client.get(reverse("previews:run-csv", args=[run.pk]))
    return list(csv.reader(io.StringIO(response.getvalue().decode("utf-8-sig"))))


def xlsx_rows(client, run) -> list[tuple]:
    response = client.get(reverse("previews:run-xlsx", args=[run.pk]))
    return list(load_workbook(io.BytesIO(response.getvalue())).active.iter_rows(values_only=True))


def export_block(rows, name: str) -> dict[str, Decimal]:
    """The supplier's totals rows of an export: label (column B) -> amount (column K)."""
    labels = {
        "Goods (after line promotions)": "goods", "Order discounts": "order-discount",
        "Carriage": "carriage", "Other fees": "other-fees",
        "Unexplained difference (gateway)": "unexplained", "Supplier total": "total",
    }  # fmt: skip
    return {
        labels[row[1]]: Decimal(str(row[10]))
        for row in rows
        if row[0] == name and row[1] in labels and row[10] not in (None, "")
    }


def as_fen(block: dict[str, Decimal]) -> dict[str, int]:
    return {k: int(v * 100) for k, v in block.items()}


def submit(client, address, lines, flow="general") -> PreviewRun:
    response = client.post(
        reverse("previews:preview-create"),
        {"address": address.pk, "lines": [line.pk for line in lines], "flow": flow,
         "submission_token": str(uuid.uuid4())},
    )  # fmt: skip
    assert response.status_code == 302, response.content.decode()[:2000]
    return PreviewRun.objects.latest("pk")


# --------------------------------------------------------------------------- item 4

RECONCILE_CART = {
    "Coupon shop": [(offer(1, 860), "", 1)],  # discountFee taken after the goods
    "Fee shop": [(offer(2, 861), "", 1)],  # additionalFee
    "Odd shop": [(offer(3, 862), "", 1)],  # the gateway's figures do not add up
    "Big shop": [(offer(4, 100), "", 400)],  # 满300减20 netted inside sumPaymentNoCarriage
}


def test_every_totals_block_reconciles_on_the_page_in_exports_and_comparisons(
    buyer, buyer_client, stocked_cart, worker_env, tmp_path
):
    address, lines = stocked_cart(buyer, RECONCILE_CART)
    runs = []
    with celery_worker(worker_env, log=tmp_path / "worker.log"):
        for _again in range(2):  # twice, for the comparison
            run = submit(buyer_client, address, lines)
            wait_until(
                lambda pk=run.pk: PreviewRun.objects.get(pk=pk).is_finished,
                timeout=60, what="the run to finish",
            )  # fmt: skip
            runs.append(PreviewRun.objects.get(pk=run.pk))
    assert [r.status for r in runs] == ["done", "done"], (tmp_path / "worker.log").read_text()
    run = runs[-1]
    html = buyer_client.get(run.get_absolute_url()).content.decode()
    csv_data, xlsx_data = csv_rows(buyer_client, run), xlsx_rows(buyer_client, run)
    expected = {}
    for name, items in RECONCILE_CART.items():
        (record,) = sandbox_records(items)
        goods = sum(fen(f"¥{line['amount']}") for line in record["cargoList"])
        expected[name] = record
        page = totals_block(html, name)
        assert page["total"] == record["sumPayment"], name
        assert page["carriage"] == record["sumCarriage"], name
        assert page["goods"] == goods, name
        assert adds_up(page), (name, page)
        # the same block, row by row, in both exports
        assert as_fen(export_block(csv_data, name)) == page, name
        assert as_fen(export_block(xlsx_data, name)) == page, name

    coupon = totals_block(html, "Coupon shop")
    assert expected["Coupon shop"]["discountFee"] == 500  # the sandbox's coupon, nothing else
    assert coupon["order-discount"] == 500 and "unexplained" not in coupon
    assert totals_block(html, "Fee shop")["other-fees"] == 300
    assert "unexplained" not in totals_block(html, "Fee shop")
    odd = totals_block(html, "Odd shop")
    assert odd["unexplained"] == 37 and odd["order-discount"] == 0
    assert "Unexplained difference (gateway)" in supplier_section(html, "Odd shop")
    big = totals_block(html, "Big shop")
    assert expected["Big shop"]["discountFee"] == 2000  # netted inside: not taken twice
    assert big["order-discount"] == 2000 and "unexplained" not in big

    # the comparison with the previous run shows each side's block, adding up, to the fen
    response = buyer_client.get(reverse("previews:run-compare", args=[run.pk]))
    compare_html = response.content.decode()
    assert {c.name for c in response.context["comparison"].suppliers} == set(RECONCILE_CART)
    for name in RECONCILE_CART:
        page = totals_block(html, name)
        for side in ("before", "now"):
            shown = compare_block(compare_html, name, side)
            assert shown == page, (name, side, shown)
            assert adds_up(shown)


def compare_block(html: str, name: str, side: str) -> dict[str, int]:
    for chunk in html.split('data-testid="supplier-change"')[1:]:
        if f">{name}" in chunk.split("</h2>")[0]:
            table = chunk.split('data-testid="figures-change"')[1].split("</table>")[0]
            pattern = rf'data-field="([a-z-]+)".*?data-side="{side}">(−?¥[\d,.]+)<'
            return {k: fen(v) for k, v in re.findall(pattern, table)}
    raise AssertionError(f"no comparison of {name}")


# --------------------------------------------------------------------------- item 5


def test_free_postage_is_said_next_to_the_carriage(buyer, buyer_client, stocked_cart, inline_runs):
    address, lines = stocked_cart(
        buyer,
        {"Shop-wide": [(offer(5, 863), "", 2)], "One line": [(offer(6, 864), "", 1)],
         "Paid": [(offer(7, 100), "", 1)]},
    )  # fmt: skip
    run = submit(buyer_client, address, lines)
    html = buyer_client.get(run.get_absolute_url()).content.decode()
    for name, text in (("Shop-wide", "满2件包邮"), ("One line", "限时包邮")):
        carriage = supplier_section(html, name).split('data-field="carriage"')[1].split("</dd>")[0]
        assert f"Free postage: {text}" in carriage, carriage
        assert totals_block(html, name)["carriage"] == 0
    assert "Free postage" not in supplier_section(html, "Paid")
    for rows in (csv_rows(buyer_client, run), xlsx_rows(buyer_client, run)):
        carriage_rows = {r[0]: r[11] for r in rows if r[1] == "Carriage"}
        assert carriage_rows["Shop-wide"] == "Free postage: 满2件包邮"
        assert carriage_rows["One line"] == "Free postage: 限时包邮"
        assert carriage_rows["Paid"] in ("", None)


# --------------------------------------------------------------------------- item 6

SCENARIOS = {
    # name: (lines, can be ordered)
    "ok": ([(offer(10, 100), "", 1)], True),
    "split by 1688": ([(offer(11, 100), "", 1), (offer(11, 700), "", 1)], True),
    "no trade mode": ([(offer(12, 830), "", 1)], False),
    "trade mode null": ([(offer(13, 835), "", 1)], False),
    "out of stock": ([(offer(15, 904), "", 1)], False),
    "below minimum": ([(offer(16, 905), "", 2)], False),
    "refused": ([(offer(17, 901), "", 1)], False),
    "failed": ([(offer(18, 953), "", 1)], False),
    "coupon": ([(offer(19, 860), "", 1)], True),
    "odd figures": ([(offer(20, 862), "", 1)], True),
    "free postage": ([(offer(21, 863), "", 1)], True),
}


def test_one_rule_decides_what_can_be_ordered_everywhere(
    buyer, buyer_client, stocked_cart, inline_runs
):
    address, lines = stocked_cart(buyer, {n: items for n, (items, _ok) in SCENARIOS.items()})
    run = submit(buyer_client, address, lines)
    breakdown = build_breakdown(runs_with_results(PreviewRun.objects.filter(pk=run.pk)).get())
    expected = {name for name, (_items, ok) in SCENARIOS.items() if ok}
    assert {s.name for s in breakdown.included} == expected
    # the SQL twin agrees with the Python rule, record by record and supplier by supplier
    records = PreviewRecord.objects.filter(supplier_preview__run=run)
    assert set(records.filter(PreviewRecord.ORDERABLE)) == {r for r in records if r.can_be_ordered}
    suppliers = SupplierPreview.objects.filter(run=run)
    assert {s.supplier_name for s in suppliers.orderable()} == expected
    assert {s.supplier_name for s in suppliers if s.can_be_ordered} == expected
    grand_total = sum(s.total_fen for s in breakdown.included)
    assert breakdown.grand_total_fen == grand_total
    assert summaries.summarize([run.pk])[run.pk].grand_total_fen == grand_total
    # stored when the run finished, and what the runs list shows
    assert PreviewRun.objects.get(pk=run.pk).summary.grand_total_fen == grand_total
    (listed,) = buyer_client.get(reverse("previews:run-list")).context["runs"]
    assert (listed.grand_total_fen, listed.orderable_count) == (grand_total, len(expected))

    # the page: badges, grand total, left-out list
    html = buyer_client.get(run.get_absolute_url()).content.decode()
    for name in SCENARIOS:
        ((colour, label),) = re.findall(
            r'class="badge text-bg-(\w+)" data-testid="supplier-badge"[^>]*>([^<]*)<',
            supplier_section(html, name),
        )
        if name in expected:
            assert (colour, label) == ("success", "Can be ordered"), name
        else:
            assert colour != "success" and label != "Previewed", (name, colour, label)
    grand = html.split('data-testid="grand-total-amount">')[1].split("<")[0]
    assert fen(grand) == grand_total
    left_out = html.split('data-testid="left-out">')[1].split("</ul>")[0]
    for name in SCENARIOS:
        assert (f"<strong>{name}</strong>" in left_out) == (name not in expected), name
    assert "cannot be placed through the API" in left_out.split("<strong>no trade mode</strong>")[1]

    # the runs list (its SQL annotation) shows the same grand total
    listing = buyer_client.get(reverse("previews:run-list")).content.decode()
    assert fen(listing.split('data-testid="run-total">')[1].split("<")[0]) == grand_total

    # CSV and XLSX: the same status and the same grand total, to the fen
    for rows in (csv_rows(buyer_client, run), xlsx_rows(buyer_client, run)):
        for name in SCENARIOS:
            line_status = next(r[1] for r in rows if r[0] == name)
            assert (line_status == "Can be ordered") == (name in expected), (name, line_status)
        assert Decimal(str(rows[-1][10])) * 100 == grand_total
        for name in SCENARIOS:
            assert (f"{name}:" in rows[-1][12]) == (name not in expected), name

    # the comparison with a run where every supplier came back the same
    again = submit(buyer_client, address, lines)
    comparison = buyer_client.get(reverse("previews:run-compare", args=[again.pk])).context[
        "comparison"
    ]
    assert comparison.now.grand_total_fen == comparison.before.grand_total_fen == grand_total
    for change in comparison.suppliers:
        for line in change.lines:
            assert line.available_now == (change.name in expected and not line.now.problems)


# --------------------------------------------------------------------------- item 7


def test_our_50_line_parts_are_not_1688s_split(buyer, buyer_client, stocked_cart, inline_runs):
    sixty = [(offer(30, 100, n), "", 1) for n in range(60)]
    split_inside = [(offer(31, 100, n), "", 1) for n in range(59)] + [(offer(31, 700), "", 1)]
    address, lines = stocked_cart(buyer, {"Sixty": sixty, "Sixty, one split": split_inside})
    run = submit(buyer_client, address, lines)
    html = buyer_client.get(run.get_absolute_url()).content.decode()
    sixty_notes = supplier_section(html, "Sixty")
    assert (
        "Sent in 2 parts of at most 50 lines (the gateway&#x27;s limit per call); "
        "1688 would create 2 orders, each with its own carriage." in sixty_notes
    )
    assert "1688 splits this" not in sixty_notes and "itself splits" not in sixty_notes
    other = supplier_section(html, "Sixty, one split")
    assert "Sent in 2 parts" in other and "1688 would create 3 orders" in other
    assert "1688 itself splits part 1 into 2 orders." in other
    # what was stored: which call returned each record
    parts = {
        name: list(
            PreviewRecord.objects.filter(
                supplier_preview__run=run, supplier_preview__supplier_name=name
            ).values_list("part", flat=True)
        )
        for name in ("Sixty", "Sixty, one split")
    }
    # lines go in offer-id order: the 7xx offer is among the first 50, split off by 1688
    assert parts == {"Sixty": [0, 1], "Sixty, one split": [0, 0, 1]}


# --------------------------------------------------------------------------- item 9


def test_plurals_and_pay_channel_limits_said_once(buyer, buyer_client, stocked_cart, inline_runs):
    address, lines = stocked_cart(
        buyer,
        {"Garbled": [(offer(40, 953), "", 1)],  # not JSON: not retried, tried once
         "Two big orders": [(offer(41, 100), "", 1000), (offer(41, 700), "", 1000)]},
    )  # fmt: skip
    run = submit(buyer_client, address, lines)
    limits = [
        r["sumPayment"] > 30000 for r in sandbox_records([(offer(41, 100), "", 1000),
                                                          (offer(41, 700), "", 1000)])
    ]  # fmt: skip
    assert limits == [True, True]  # both of the supplier's orders are over shegou's limit
    html = buyer_client.get(run.get_absolute_url()).content.decode()
    garbled = supplier_section(html, "Garbled")
    assert "Details (tried 1 time):" in garbled and "1 times" not in garbled
    big = supplier_section(html, "Two big orders")
    assert big.count("limit of pay channel shegou") == 1
    assert "2 orders (" in big and "are above the ¥300.00 limit of pay channel shegou" in big
    buyer_client.post(reverse("set_language"), {"language": "zh-hans"})
    try:
        html = buyer_client.get(run.get_absolute_url()).content.decode()
    finally:
        translation.activate("en")  # the request left Chinese active in this thread
    assert "详情(尝试 1 次)" in supplier_section(html, "Garbled")
    assert supplier_section(html, "Two big orders").count("shegou") == 1


@pytest.mark.django_db
def test_import_summary_counts_in_real_plurals(buyer_client):
    from django.core.files.uploadedfile import SimpleUploadedFile

    content = "offer,spec,quantity,supplier\n612345001100,,1,义乌日用百货\n".encode()
    response = buyer_client.post(
        reverse("previews:cart-import"),
        {"file": SimpleUploadedFile("lines.csv", content, "text/csv")},
        follow=True,
    )
    text = response.content.decode()
    assert "Imported: 1 new line, 0 lines with a higher quantity, 1 new supplier." in text
