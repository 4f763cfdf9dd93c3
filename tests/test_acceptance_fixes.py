"""Defects found by the independent acceptance run (issue #10, second round), each against
the real sandbox over HTTP."""

import re

import pytest
from django.urls import reverse

from previews import execution, runs, selectors
from previews.breakdown import build_breakdown
from previews.models import PreviewRun

from .conftest import sandbox_config
from .pages import preview

pytestmark = pytest.mark.django_db(transaction=True)

CART = {
    "义乌日用百货": [(612345001100, "", 10)],
    "深圳拒单": [(623456001901, "", 1)],  # refused (500_001) in every run
    "汕头不能下单": [(634567001830, "", 1)],  # answered, but no trade mode: cannot be ordered
}


@pytest.fixture
def runs_on_demand(monkeypatch, sandbox_url):
    """Runs executed in this process against the sandbox while `execute` is true; left
    waiting (queued, every supplier pending) otherwise."""
    state = {"execute": True}

    def dispatch(*, run_id):
        if state["execute"]:
            execution.execute_run(run_id=run_id, config=sandbox_config(sandbox_url))
        return True

    monkeypatch.setattr(runs, "dispatch_run", dispatch)
    return state


def test_compare_while_the_run_is_still_working(buyer, buyer_client, stocked_cart, runs_on_demand):
    address, lines = stocked_cart(buyer, CART)
    preview(buyer_client, address, lines)
    runs_on_demand["execute"] = False
    working = preview(buyer_client, address, lines)
    assert not working.is_finished
    response = buyer_client.get(reverse("previews:run-compare", args=[working.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="not-finished"' in html
    assert "This run is not finished yet" in html
    # the suppliers still waiting have no figures yet, and no fake ¥0.00
    ok = next(c for c in response.context["comparison"].suppliers if c.name == "义乌日用百货")
    assert ok.now.badge_label == "Waiting"


def test_compare_shows_each_side_status_and_the_one_rule(
    buyer, buyer_client, stocked_cart, runs_on_demand
):
    address, lines = stocked_cart(buyer, CART)
    preview(buyer_client, address, lines)
    second = preview(buyer_client, address, lines)
    response = buyer_client.get(reverse("previews:run-compare", args=[second.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    sections = {
        name: html.split(f'<h2 class="h5 mb-0">{name}', 1)[1].split("</section>", 1)[0]
        for name in CART
    }
    refused = sections["深圳拒单"]
    assert "¥0.00" not in refused
    assert refused.count('data-testid="side-badge"') == 2
    assert "Refused by the gateway" in refused
    blocked = sections["汕头不能下单"]
    assert blocked.count("Cannot be ordered") == 2
    assert "yes → yes" not in blocked and "no → no" in blocked
    ok = sections["义乌日用百货"]
    assert ok.count("Can be ordered") == 2 and "yes → yes" in ok


BLOCKED = {
    "义乌日用百货": [(612345001100, "", 10)],
    "起订量": [(656789001905, "", 1)],  # below the minimum order quantity: status false
    "缺货": [(667890001904, "", 2)],  # out of stock: status false
    "无交易方式": [(678901001830, "", 1)],  # empty tradeModeNameList
    "交易方式空": [(689012001835, "", 1)],  # tradeModeNameList null
}


def test_status_json_uses_the_pages_badge(buyer, buyer_client, stocked_cart, runs_on_demand):
    address, lines = stocked_cart(buyer, BLOCKED)
    run = preview(buyer_client, address, lines)
    # What the run page shows (rendered when the run ended, served from the cache since).
    breakdown = build_breakdown(
        selectors.runs_with_results(PreviewRun.objects.filter(pk=run.pk)).get()
    )
    shown = {s.preview.pk: s.badge for s in breakdown.suppliers}
    state = buyer_client.get(reverse("previews:run-status", args=[run.pk])).json()
    labels = sorted(s["label"] for s in state["suppliers"])
    assert labels == ["Can be ordered"] + ["Cannot be ordered"] * 4
    assert {s["id"]: (s["label"], s["colour"]) for s in state["suppliers"]} == shown


def test_cart_counts_use_plural_forms(buyer, buyer_client, make_address, make_line, monkeypatch):
    from previews import forms

    make_address(buyer, is_default=True)
    monkeypatch.setattr(forms, "PREVIEW_FORM_MAX_LISTED_LINES", 2)  # whole suppliers only
    make_line(buyer, supplier="A", offer_id=1, quantity=1)
    make_line(buyer, supplier="B", offer_id=2, quantity=2)
    make_line(buyer, supplier="B", offer_id=3, quantity=3)
    cart = buyer_client.get(reverse("previews:cart")).content.decode()
    assert "1 line, 1 piece<" in cart and "2 lines, 5 pieces" in cart
    form = buyer_client.get(reverse("previews:preview-create")).content.decode()
    assert "1 line, 1 piece<" in form and "2 lines, 5 pieces" in form
    buyer_client.post(reverse("set_language"), {"language": "zh-hans"})
    chinese = buyer_client.get(reverse("previews:cart")).content.decode()
    assert "1 行,共 1 件" in chinese and "2 行,共 5 件" in chinese


def test_a_nul_is_named_once_never_echoed(buyer, buyer_client):
    fields = {
        "offer": "670291644950",
        "spec_id": "",
        "quantity": "5",
        "new_supplier": "杭州小商品店",
        "title": "Cup",
        "note": "",
    }
    for name in ("quantity", "offer", "spec_id", "new_supplier", "title", "note"):
        data = {**fields, name: fields[name] + "\x00"}
        response = buyer_client.post(reverse("previews:line-create"), data)
        assert response.status_code == 200, name
        html = response.content.decode()
        # the field gives back what was typed, for correcting it; no text on the page has it
        assert "\x00" not in re.sub(r'value="[^"]*"', "", html), name
        errors = response.context["form"].errors[name]
        assert len(errors) == 1, (name, errors)
        assert "U+0000 (NUL)" in errors[0], (name, errors)
        assert "Null characters are not allowed" not in html, name


FAILING = {
    "拒单": [(623456001901, "", 1)],  # refused: 500_001 with the upstream's words
    "出错页": [(645678001950, "", 1)],  # HTTP 500 with an HTML body
    "太慢": [(656789001952, "", 1)],  # answers after 3 s: cut off by a 1 s deadline
}


def test_failure_details_on_a_chinese_page_hold_no_english_of_ours(
    buyer, buyer_client, stocked_cart, monkeypatch, sandbox_url
):
    from dataclasses import replace

    config = replace(sandbox_config(sandbox_url), call_deadline=1.0)

    def dispatch(*, run_id):
        execution.execute_run(run_id=run_id, config=config)
        return True

    monkeypatch.setattr(runs, "dispatch_run", dispatch)
    address, lines = stocked_cart(buyer, FAILING)
    run = preview(buyer_client, address, lines)
    buyer_client.post(reverse("set_language"), {"language": "zh-hans"})
    html = buyer_client.get(run.get_absolute_url()).content.decode()
    cards = {
        name: html.split(f'data-supplier="{name}"', 1)[1].split("</section>", 1)[0]
        for name in FAILING
    }
    for name, card in cards.items():
        for english in ("The gateway", "gateway", "within", "server error", "refused"):
            assert english not in card, (name, english)
    assert "详情" in cards["拒单"] and "500_001" in cards["拒单"]
    assert "该商品不支持在线交易" in cards["拒单"]
    assert "HTTP 500" in cards["出错页"]
    assert "详情" not in cards["太慢"]  # a cut-off call: the upstream said nothing
