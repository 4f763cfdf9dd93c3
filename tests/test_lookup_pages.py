"""The offer lookup pages (issue #12): paste, the batch page with its picker, several SKUs
in one submit, errors re-shown, the line form's and the import's look-up, isolation.

Lookups go over real HTTP to the sandbox's Product details and execute in-process.
"""

from __future__ import annotations

import json
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from previews import lookups
from previews.models import CartLine, OfferLookupBatch, ProductSnapshot, Supplier

from .product_gateway import offer

pytestmark = pytest.mark.django_db(transaction=True)


def paste(client, text) -> OfferLookupBatch:
    response = client.post(reverse("previews:lookup-start"), {"text": text})
    assert response.status_code == 302, response.content.decode()[:1500]
    batch = OfferLookupBatch.objects.latest("pk")
    assert response["Location"] == batch.get_absolute_url()
    return batch


def card(html: str, offer_id: int) -> str:
    match = re.search(rf'<article[^>]*id="offer-{offer_id}".*?</article>', html, re.S)
    assert match, f"no card for {offer_id}"
    return match.group(0)


def test_paste_then_pick_from_the_grid_several_skus_in_one_submit(buyer, buyer_client, execute_now):
    cart_page = buyer_client.get(reverse("previews:cart")).content.decode()
    assert 'data-testid="nav-add-from-1688"' in cart_page
    batch = paste(
        buyer_client,
        f"https://detail.1688.com/offer/{offer(701)}.html?spm=x 看看 {offer(700)} {offer(704)}",
    )
    html = buyer_client.get(batch.get_absolute_url()).content.decode()
    grid = card(html, offer(701))
    detail = lookups.cached_products([offer(701)])[offer(701)][0]
    assert 'data-testid="sku-grid"' in grid  # two attributes: colour × size
    assert grid.count('class="sku-choice"') == 6 and grid.count("<tr>") == 3
    assert detail.subject in grid and (detail.subject_trans or "") in grid
    assert detail.company_name in grid
    assert 'src="https://' in grid
    no_skus = card(html, offer(700))
    assert 'data-testid="sku-list"' in no_skus and 'name="q-"' in no_skus
    assert re.search(r"from 50 pieces\s+¥11\.00", no_skus)
    failed = card(html, offer(704))
    assert "not available" in failed and "<form" not in failed

    first, second = detail.skus[0], detail.skus[4]
    response = buyer_client.post(
        reverse("previews:lookup-add", args=[batch.pk, offer(701)]),
        {f"q-{first.spec_id}": "3", f"q-{second.spec_id}": "２", f"q-{detail.skus[1].spec_id}": ""},
    )
    assert response.status_code == 302
    lines = {line.spec_id: line for line in CartLine.objects.filter(owner=buyer)}
    assert {k: v.quantity for k, v in lines.items()} == {first.spec_id: 3, second.spec_id: 2}
    supplier = Supplier.objects.get(owner=buyer)
    assert supplier.seller_open_id == detail.seller_open_id
    assert lines[first.spec_id].attributes_text == first.attribute_text

    cart_html = buyer_client.get(reverse("previews:cart")).content.decode()
    assert supplier.name in cart_html


def test_a_refused_quantity_adds_nothing_and_the_form_keeps_what_was_typed(
    buyer, buyer_client, execute_now
):
    batch = paste(buyer_client, str(offer(701)))
    detail = lookups.cached_products([offer(701)])[offer(701)][0]
    good, bad = detail.skus[0].spec_id, detail.skus[1].spec_id
    response = buyer_client.post(
        reverse("previews:lookup-add", args=[batch.pk, offer(701)]),
        {f"q-{good}": "7", f"q-{bad}": "1.5"},
    )
    assert response.status_code == 200
    html = card(response.content.decode(), offer(701))
    assert f'name="q-{good}" value="7"' in html and f'name="q-{bad}" value="1.5"' in html
    assert 'data-testid="sku-error"' in html and "is not a quantity" in html
    assert not CartLine.objects.exists()


def test_a_withdrawn_offer_cannot_be_added(buyer, buyer_client, execute_now):
    batch = paste(buyer_client, str(offer(703)))
    html = buyer_client.get(batch.get_absolute_url()).content.decode()
    assert "not available" in card(html, offer(703))
    response = buyer_client.post(
        reverse("previews:lookup-add", args=[batch.pk, offer(703)]), {"q-": "1"}
    )
    assert response.status_code == 200 and not CartLine.objects.exists()


def test_the_batch_page_polls_json_and_shows_lookups_arriving(buyer, buyer_client, monkeypatch):
    monkeypatch.setattr(lookups, "dispatch_batch", lambda *, batch_id: True)
    batch = paste(buyer_client, f"{offer(700)} {offer(701)}")
    html = buyer_client.get(batch.get_absolute_url()).content.decode()
    assert 'data-finished="false"' in html and "js/lookup-progress.js" in html
    assert "<script>" not in html  # no inline script under the CSP
    state = json.loads(buyer_client.get(reverse("previews:lookup-status", args=[batch.pk])).content)
    assert state["finished"] is False
    assert [lookup["status"] for lookup in state["lookups"]] == ["waiting", "waiting"]


def test_another_buyers_batch_is_a_404_whatever_the_url(
    buyer, buyer_client, other_buyer, client, execute_now
):
    batch = paste(buyer_client, str(offer(701)))
    client.force_login(other_buyer)
    detail = lookups.cached_products([offer(701)])[offer(701)][0]
    for url, method in (
        (reverse("previews:lookup-detail", args=[batch.pk]), "get"),
        (reverse("previews:lookup-status", args=[batch.pk]), "get"),
        (reverse("previews:lookup-add", args=[batch.pk, offer(701)]), "post"),
    ):
        response = getattr(client, method)(url, {f"q-{detail.skus[0].spec_id}": "1"})
        assert response.status_code == 404, url
    assert not CartLine.objects.exists()
    # Product data is public: the other buyer's own lookup reuses the snapshot.
    mine = lookups.start_lookup(owner=other_buyer, text=str(offer(701)))
    assert mine.finished_at is not None


def test_the_line_forms_look_up_brings_the_buyer_to_the_picker(buyer, buyer_client, execute_now):
    form = buyer_client.get(reverse("previews:line-create")).content.decode()
    assert 'data-testid="look-up-offer"' in form
    response = buyer_client.post(
        reverse("previews:lookup-offer"),
        {"offer": f"https://m.1688.com/offer/{offer(702)}.html", "quantity": ""},
    )
    batch = OfferLookupBatch.objects.get(owner=buyer)
    assert response.status_code == 302 and response["Location"] == batch.get_absolute_url()
    assert list(batch.lookups.values_list("offer_id", "status")) == [(offer(702), "ok")]
    bad = buyer_client.post(reverse("previews:lookup-offer"), {"offer": "nonsense"})
    assert bad.status_code == 200 and 'value="nonsense"' in bad.content.decode()


def test_import_look_up_adds_single_sku_offers_and_lists_the_others_on_one_screen(
    buyer, buyer_client, execute_now
):
    text = (
        f"https://detail.1688.com/offer/{offer(700)}.html,,3\n"
        f"https://detail.1688.com/offer/{offer(713)}.html,,4\n"
        f"https://detail.1688.com/offer/{offer(701)}.html,,5\n"
    )
    response = buyer_client.post(reverse("previews:cart-import"), {"text": text, "look_up": "1"})
    batch = OfferLookupBatch.objects.get(owner=buyer)
    assert response.status_code == 302 and response["Location"] == batch.get_absolute_url()
    lines = {line.offer_id: line for line in CartLine.objects.filter(owner=buyer)}
    only = lookups.cached_products([offer(713)])[offer(713)][0].skus[0]
    assert {o: (v.spec_id, v.quantity) for o, v in lines.items()} == {
        offer(700): ("", 3),
        offer(713): (only.spec_id, 4),
    }
    html = buyer_client.get(batch.get_absolute_url()).content.decode()
    assert 'data-testid="lookup-added"' in card(html, offer(700))
    assert "<form" in card(html, offer(701))  # to pick, on the same screen


def test_upstream_text_is_escaped_and_pictures_are_http_only(buyer, buyer_client, monkeypatch):
    body = {
        "code": 200,
        "data": {
            "offerId": offer(799),
            "subject": "<script>alert(1)</script>杯子",
            "subjectTrans": '<img src=x onerror="alert(2)">',
            "status": "published",
            "sellerOpenId": "BBBx",
            "companyName": "<b>shop</b>",
            "productImage": {"images": ["javascript:alert(3)"]},
            "productSaleInfo": {"quoteType": 0, "priceRangeList": [{"startQuantity": 1,
                                                                    "price": "1.00"}]},
        },
    }  # fmt: skip
    ProductSnapshot.objects.create(
        offer_id=offer(799),
        fetched_at=timezone.now(),
        status="published",
        raw_body=json.dumps(body),
    )
    monkeypatch.setattr(lookups, "dispatch_batch", lambda *, batch_id: True)
    batch = paste(buyer_client, str(offer(799)))
    html = card(buyer_client.get(batch.get_absolute_url()).content.decode(), offer(799))
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "onerror=" not in html.replace("onerror=&quot;", "")
    assert "<b>shop</b>" not in html and "javascript:" not in html


def test_the_csp_allows_http_pictures_and_still_no_inline_script(buyer_client):
    response = buyer_client.get(reverse("previews:lookup-start"))
    csp = response.headers.get("Content-Security-Policy", "")
    img = next(part for part in csp.split(";") if part.strip().startswith("img-src"))
    assert "https:" in img and "http:" in img
    script = next(part for part in csp.split(";") if part.strip().startswith("script-src"))
    assert "unsafe-inline" not in script
