"""Preview runs: the form, snapshots, idempotence, the breakdown to the fen, isolation."""

import uuid
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from previews import execution, gateway, runs, summaries
from previews.breakdown import build_breakdown
from previews.models import (
    CartLine,
    PreviewLine,
    PreviewRecord,
    PreviewRun,
)
from previews.selectors import runs_with_results

from .conftest import DEMO_SUPPLIERS, sandbox_config
from .factories import finished_run


def start(owner, address, lines, flow="general"):
    run, created = runs.start_preview(
        owner=owner, address=address, lines=lines, flow=flow, submission_token=uuid.uuid4()
    )
    assert created
    return run


def finished(run_id) -> PreviewRun:
    return runs_with_results(PreviewRun.objects.filter(pk=run_id)).get()


@pytest.fixture
def no_dispatch(monkeypatch):
    """These tests execute runs in-process; the worker path has its own tests."""
    monkeypatch.setattr(runs, "dispatch_run", lambda *, run_id: False)


@pytest.mark.django_db(transaction=True)
def test_mixed_run_stores_every_outcome_and_totals_to_the_fen(
    buyer, stocked_cart, sandbox_url, no_dispatch
):
    address, lines = stocked_cart(buyer)
    run = start(buyer, address, lines)
    execution.execute_run(run_id=run.pk, config=sandbox_config(sandbox_url))
    run = finished(run.pk)
    assert run.status == PreviewRun.Status.DONE and run.finished_at
    statuses = {s.supplier_name: s.status for s in run.suppliers.all()}
    assert statuses == {
        "杭州小商品店": "ok",
        "义乌日用百货": "ok",
        "深圳电子配件": "ok",
        "广州服装批发": "rejected",
        "汕头玩具厂": "failed",
    }
    breakdown = build_breakdown(run)
    by_name = {s.name: s for s in breakdown.suppliers}
    example = by_name["杭州小商品店"]
    assert (example.goods_fen, example.carriage_fen, example.total_fen) == (1321, 350, 1671)
    assert example.savings_fen == 69
    line = example.records[0].lines[0]
    assert (line.unit_price_fen, line.amount_fen, line.quantity) == (1390, 1321, 1)
    assert line.landed_total_fen == 1671 and line.landed_unit_cost == Decimal("16.71")
    split = by_name["义乌日用百货"]
    assert len(split.records) == 2 and split.orderable
    blocked = by_name["深圳电子配件"]
    assert not blocked.orderable and "Not enough stock" in blocked.left_out_reason
    refused = by_name["广州服装批发"]
    assert "cannot be bought online" in refused.problems[0]
    failed = by_name["汕头玩具厂"]
    assert failed.left_out_reason == "The gateway failed with an error page."
    assert "Details (tried 2 times)" in failed.notes[0] and "HTTP 500" in failed.notes[0]
    assert failed.preview.attempts == 2
    assert {s.name for s in breakdown.included} == {"杭州小商品店", "义乌日用百货"}
    assert breakdown.grand_total_fen == 1671 + split.total_fen
    # the history shows the same grand total, the blocked supplier left out there too
    assert summaries.summarize([run.pk])[run.pk].grand_total_fen == breakdown.grand_total_fen
    for supplier in [*breakdown.included, blocked]:
        for record in supplier.records:
            assert sum(line.landed_total_fen for line in record.lines) == record.total_fen
            assert record.goods_fen - record.order_discount_fen + record.carriage_fen == (
                record.total_fen
            )


@pytest.mark.django_db(transaction=True)
def test_run_page_shows_the_breakdown(buyer, buyer_client, stocked_cart, sandbox_url, no_dispatch):
    address, lines = stocked_cart(buyer)
    run = start(buyer, address, lines)
    execution.execute_run(run_id=run.pk, config=sandbox_config(sandbox_url))
    html = buyer_client.get(reverse("previews:run-detail", args=[run.pk])).content.decode()
    split_total = build_breakdown(finished(run.pk)).suppliers[3].total_fen
    for text in (
        "¥16.71",  # the worked example
        "¥13.90",
        "省0.69:PLUS会员价",
        "1688 splits this into 2 orders",
        "Flow used by 1688: general.",
        "Not enough stock: lower the quantity or pick another spec.",
        "This offer cannot be bought online",
        "The gateway failed with an error page.",
        "HTTP 500",  # as detail: the status, not a sentence of ours
        "Left out:",
        "traceId",
    ):
        assert text in html, text
    assert f"¥{(1671 + split_total) / 100:,.2f}" in html


@pytest.mark.django_db(transaction=True)
def test_notes_for_empty_trade_modes_carriage_limits_and_cross_border(
    buyer, stocked_cart, sandbox_url, no_dispatch
):
    address, lines = stocked_cart(
        buyer, {"A": [(656789001812, "", 1), (656789001822, "", 1), (656789001832, "", 90)]}
    )
    run = start(buyer, address, lines, flow="")
    execution.execute_run(run_id=run.pk, config=sandbox_config(sandbox_url))
    (supplier,) = build_breakdown(finished(run.pk)).suppliers
    notes = " ".join(supplier.notes)
    assert "cannot be placed through the API" in notes
    assert "Carriage is not final" in notes and "656789001812" in notes
    assert "cannot be paid with cross-border pay" in notes and "656789001822" in notes
    assert "above the ¥300.00 limit of pay channel shegou" in notes
    assert "Flow used by 1688: general" in notes


@pytest.mark.django_db(transaction=True)
def test_an_answer_stored_twice_is_stored_once(buyer, stocked_cart, sandbox_url, no_dispatch):
    address, lines = stocked_cart(buyer, {"A": [(670291644950, "", 2)]})
    run = start(buyer, address, lines)
    supplier = run.suppliers.get()
    answer = gateway.preview_order(
        sandbox_config(sandbox_url),
        address=execution.address_param(run.address_snapshot),
        cargo=[gateway.Cargo(670291644950, 2)],
    )
    assert execution.record_answer(supplier_preview_id=supplier.pk, answer=answer) is True
    assert execution.record_answer(supplier_preview_id=supplier.pk, answer=answer) is False
    execution.execute_run(run_id=run.pk, config=sandbox_config(sandbox_url))
    execution.execute_run(run_id=run.pk, config=sandbox_config(sandbox_url))
    assert PreviewRecord.objects.count() == 1 and PreviewLine.objects.count() == 1
    assert PreviewRun.objects.get(pk=run.pk).status == "done"


@pytest.mark.django_db
def test_database_refuses_a_second_copy_of_a_record(buyer, stocked_cart, no_dispatch):
    from django.db import IntegrityError, transaction

    address, lines = stocked_cart(buyer, {"A": [(1, "", 1)]})
    supplier = start(buyer, address, lines).suppliers.get()
    PreviewRecord.objects.create(supplier_preview=supplier, index=0)
    with pytest.raises(IntegrityError), transaction.atomic():
        PreviewRecord.objects.create(supplier_preview=supplier, index=0)


@pytest.mark.django_db
def test_form_defaults_and_submit_snapshots(buyer, buyer_client, stocked_cart, no_dispatch):
    address, lines = stocked_cart(buyer)
    page = buyer_client.get(reverse("previews:preview-create"))
    form = page.context["form"]
    assert form["address"].value() == address.pk
    assert sorted(form["lines"].value()) == sorted(line.pk for line in lines)
    token = str(uuid.uuid4())
    data = {
        "address": address.pk,
        "lines": [line.pk for line in lines[:2]],
        "flow": "general",
        "submission_token": token,
    }
    response = buyer_client.post(reverse("previews:preview-create"), data)
    run = PreviewRun.objects.get(owner=buyer)
    assert response["Location"] == reverse("previews:run-detail", args=[run.pk])
    assert run.status == "queued" and run.address_snapshot["district_code"] == "330108"
    assert run.address_snapshot["phone"] == "0571-88886666"
    asked = [(s.supplier_name, s.requested_lines) for s in run.suppliers.all()]
    assert asked == [
        ("义乌日用百货", [{"offer_id": 612345001100, "spec_id": "", "quantity": 10, "title": ""}]),
        (
            "杭州小商品店",
            [
                {
                    "offer_id": 670291644950,
                    "spec_id": "594b40c111b019af610a0078e4316373",
                    "quantity": 1,
                    "title": "",
                }
            ],
        ),
    ]
    # a double click: the same form again makes no second run
    again = buyer_client.post(reverse("previews:preview-create"), data)
    assert again["Location"] == response["Location"]
    assert PreviewRun.objects.filter(owner=buyer).count() == 1
    # later edits never change what the run asked
    address.address = "Somewhere else 1号"
    address.save()
    CartLine.objects.filter(owner=buyer).update(quantity=99)
    run.refresh_from_db()
    assert run.address_snapshot["address"] == "网商路699号"
    assert run.suppliers.first().requested_lines[0]["quantity"] == 10


@pytest.mark.django_db
def test_form_refuses_no_lines_and_incomplete_address(buyer, buyer_client, stocked_cart):
    address, _lines = stocked_cart(buyer)
    data = {"address": address.pk, "flow": "general", "submission_token": str(uuid.uuid4())}
    response = buyer_client.post(reverse("previews:preview-create"), data)
    assert "Choose at least one line to preview." in response.content.decode()
    type(address).objects.filter(pk=address.pk).update(town_text="")
    data["lines"] = [_lines[0].pk]
    response = buyer_client.post(reverse("previews:preview-create"), data)
    assert "This address is incomplete (town or street)" in response.content.decode()
    assert not PreviewRun.objects.exists()


@pytest.mark.django_db
def test_rerun_asks_the_same_snapshot(buyer, buyer_client, stocked_cart, no_dispatch):
    address, lines = stocked_cart(buyer)
    run = start(buyer, address, lines)
    CartLine.objects.filter(owner=buyer).delete()
    token = str(uuid.uuid4())
    url = reverse("previews:run-rerun", args=[run.pk])
    response = buyer_client.post(url, {"submission_token": token})
    again = buyer_client.post(url, {"submission_token": token})
    new = PreviewRun.objects.exclude(pk=run.pk).get()
    assert response["Location"] == again["Location"] == new.get_absolute_url()
    assert new.rerun_of == run and new.address_snapshot == run.address_snapshot
    assert [s.requested_lines for s in new.suppliers.all()] == [
        s.requested_lines for s in run.suppliers.all()
    ]
    # without its button's token (a script, a tampered form), nothing runs: it says so
    for data in ({}, {"submission_token": "not-a-token"}):
        response = buyer_client.post(url, data, follow=True)
        assert "This page was out of date" in response.content.decode()
    assert PreviewRun.objects.count() == 2


@pytest.mark.django_db
def test_history_lists_runs_newest_first(buyer, buyer_client, stocked_cart, no_dispatch):
    address, lines = stocked_cart(buyer)
    first, second = start(buyer, address, lines), start(buyer, address, lines[:1])
    response = buyer_client.get(reverse("previews:run-list"))
    runs = list(response.context["runs"])
    assert [r.pk for r in runs] == [second.pk, first.pk]
    assert [r.supplier_count for r in runs] == [1, len(DEMO_SUPPLIERS)]


# What README.md's Performance part states: change both together.
RUN_PAGE_QUERIES = 10  # 9 for the breakdown, 1 for the ordering box (its requests)


@pytest.mark.django_db
def test_run_page_queries_do_not_grow_with_suppliers_or_lines(buyer, buyer_client, make_address):
    address = make_address(buyer)
    small = finished_run(buyer, address, suppliers=2, lines=2)
    big = finished_run(buyer, address, suppliers=50, lines=20)
    for run in (small, big):
        with CaptureQueriesContext(connection) as queries:
            response = buyer_client.get(reverse("previews:run-detail", args=[run.pk]))
        assert response.status_code == 200
        executed = [query["sql"] for query in queries.captured_queries]
        assert len(executed) == RUN_PAGE_QUERIES, "\n".join(executed)
    assert response.content.decode().count('data-testid="result-line"') == 1000


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "method"),
    [
        ("previews:run-detail", "get"),
        ("previews:run-status", "get"),
        ("previews:run-rerun", "post"),
        ("previews:run-dispatch", "post"),
    ],
)
def test_another_buyer_cannot_open_a_run(
    client, buyer, other_buyer, stocked_cart, no_dispatch, name, method
):
    address, lines = stocked_cart(buyer)
    run = start(buyer, address, lines)
    client.force_login(other_buyer)
    response = getattr(client, method)(reverse(name, args=[run.pk]))
    assert response.status_code == 404
    assert PreviewRun.objects.count() == 1
    assert "Secret" not in client.get(reverse("previews:run-list")).content.decode()
    assert not client.get(reverse("previews:run-list")).context["runs"]
