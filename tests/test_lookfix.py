"""Acceptance findings on offer lookup (lookfix): cart lines show the SKU, the line form's
look-up keeps what was typed, NUL in pasted text, plurals, import rows added once.

Lookups go over real HTTP to the sandbox's Product details and execute in-process.
"""

from __future__ import annotations

import html as html_lib
import re

import pytest
from django.urls import reverse

from previews import lookups
from previews.models import CartLine, OfferLookupBatch, Supplier

from .product_gateway import offer
from .test_lookup_pages import card, paste

pytestmark = pytest.mark.django_db(transaction=True)


# --------------------------------------------------------------------------- 2. the SKU shown


def test_cart_lines_show_the_skus_attribute_text_and_picture(
    buyer, buyer_client, execute_now, make_address
):
    make_address(buyer)
    batch = paste(buyer_client, str(offer(701)))
    sku = lookups.cached_products([offer(701)])[offer(701)][0].skus[2]
    response = buyer_client.post(
        reverse("previews:lookup-add", args=[batch.pk, offer(701)]), {f"q-{sku.spec_id}": "4"}
    )
    assert response.status_code == 302
    line = CartLine.objects.get(owner=buyer)
    assert line.attributes_text and line.image_url.startswith("https://")
    cart = buyer_client.get(reverse("previews:cart")).content.decode()
    attributes = re.search(r'data-testid="line-attributes">(.*?)</div>', cart, re.S)
    assert attributes and html_lib.unescape(attributes.group(1)) == line.attributes_text
    picture = re.search(r'<img src="([^"]*)" alt="([^"]*)"[^>]*data-testid="line-picture"', cart)
    assert picture and html_lib.unescape(picture.group(1)) == line.image_url
    assert html_lib.unescape(picture.group(2)) == line.attributes_text
    form = buyer_client.get(reverse("previews:preview-create")).content.decode()
    assert html_lib.escape(line.attributes_text) in form  # the lines chosen for a preview


def test_cart_pictures_are_http_only_and_attribute_text_is_escaped(buyer, buyer_client):
    supplier = Supplier.objects.create(owner=buyer, name="S")
    CartLine.objects.create(owner=buyer, supplier=supplier, offer_id=offer(701), spec_id="a" * 32,
                            quantity=1, title="t", attributes_text="<script>x</script>红",
                            image_url="javascript:alert(1)")  # fmt: skip
    cart = buyer_client.get(reverse("previews:cart")).content.decode()
    assert "<script>x</script>" not in cart and "&lt;script&gt;x&lt;/script&gt;红" in cart
    assert "javascript:" not in cart and 'data-testid="line-picture"' not in cart


# --------------------------------------------------------------------------- 3. line form


def test_the_line_forms_look_up_keeps_what_was_typed_and_prefills_the_quantity(
    buyer, buyer_client, execute_now
):
    supplier = Supplier.objects.create(owner=buyer, name="Hand-made")
    typed = {"offer": "not an offer", "quantity": "7", "supplier": str(supplier.pk),
             "new_supplier": "", "title": "我的杯子", "note": "rush <b>"}  # fmt: skip
    bad = buyer_client.post(reverse("previews:lookup-offer"), typed)
    assert bad.status_code == 200
    page = bad.content.decode()
    assert "Enter an offer id or a 1688 offer link to look it up." in page
    assert 'value="not an offer"' in page and 'name="quantity" value="7"' in page
    assert 'value="我的杯子"' in page and "rush &lt;b&gt;" in page
    assert re.search(rf'<option value="{supplier.pk}"[^>]*selected', page)

    for scenario in (700, 713):  # no SKUs; a single SKU
        typed["offer"] = f"https://detail.1688.com/offer/{offer(scenario)}.html"
        response = buyer_client.post(reverse("previews:lookup-offer"), typed)
        assert response.status_code == 302 and response["Location"].endswith("?quantity=7")
        detail = lookups.cached_products([offer(scenario)])[offer(scenario)][0]
        field = f"q-{detail.skus[0].spec_id}" if detail.skus else "q-"
        picker = card(buyer_client.get(response["Location"]).content.decode(), offer(scenario))
        assert re.search(rf'name="{field}" value="7" data-suggested="true"', picker)
        batch = OfferLookupBatch.objects.latest("pk")
        added = buyer_client.post(  # one click: the form as shown
            reverse("previews:lookup-add", args=[batch.pk, offer(scenario)]), {field: "7"}
        )
        assert added.status_code == 302
    assert sorted(CartLine.objects.filter(owner=buyer).values_list("offer_id", "quantity")) == [
        (offer(700), 7),
        (offer(713), 7),
    ]
    typed["offer"] = str(offer(701))  # several SKUs: no obvious place, nothing pre-filled
    response = buyer_client.post(reverse("previews:lookup-offer"), typed)
    picker = card(buyer_client.get(response["Location"]).content.decode(), offer(701))
    assert 'value="7"' not in picker


# --------------------------------------------------------------------------- 4. NUL pasted


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_a_nul_in_pasted_links_gets_the_products_one_message_naming_it(buyer_client, language):
    buyer_client.post(reverse("set_language"), {"language": language, "next": "/"})
    text = (
        f"{offer(700)}\r\n\tok {offer(701)}\nhttps://detail.1688.com/offer/1\x00{offer(702)}.html"
    )
    response = buyer_client.post(reverse("previews:lookup-start"), {"text": text})
    assert response.status_code == 200
    page = html_lib.unescape(response.content.decode())
    assert "Null characters are not allowed" not in page
    assert "不允许使用空字符" not in page and not OfferLookupBatch.objects.exists()
    if language == "en":
        assert "invisible control character, U+0000 (NUL) on line 3, character 32" in page
    else:
        assert "第 3 行第 32 个字符处的 U+0000(空字符 NUL)" in page
    assert page.count("U+0000") == 1
    ok = buyer_client.post(
        reverse("previews:lookup-start"), {"text": f"{offer(700)}\r\n\t{offer(713)}"}
    )
    assert ok.status_code == 302  # line breaks and tabs are part of a paste


# --------------------------------------------------------------------------- 6. minor


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_tier_text_has_real_plurals(buyer_client, execute_now, language):
    buyer_client.post(reverse("set_language"), {"language": language, "next": "/"})
    batch = paste(buyer_client, str(offer(700)))
    tiers = card(buyer_client.get(batch.get_absolute_url()).content.decode(), offer(700))
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", tiers))
    if language == "en":
        assert "from 1 piece ¥12.00" in text and "from 50 pieces ¥11.00" in text
        assert "1 pieces" not in text
    else:
        assert "1 件起 ¥12.00" in text and "50 件起 ¥11.00" in text


def test_import_look_up_shows_added_offers_as_added_and_prefills_a_named_spec(
    buyer, buyer_client, execute_now
):
    detail = lookups.cached_products([offer(701)]).get(offer(701))
    if detail is None:
        paste(buyer_client, str(offer(701)))
    skus = lookups.cached_products([offer(701)])[offer(701)][0].skus
    named = skus[3].spec_id
    supplier = Supplier.objects.create(owner=buyer, name="Full")  # the merge would overflow
    CartLine.objects.create(owner=buyer, supplier=supplier, offer_id=offer(701), spec_id=named,
                            quantity=99_990)  # fmt: skip
    text = (
        f"https://detail.1688.com/offer/{offer(700)}.html,,3\n"
        f"https://detail.1688.com/offer/{offer(701)}.html,{named},20\n"
        f"https://detail.1688.com/offer/{offer(702)}.html,,6\n"
    )
    response = buyer_client.post(reverse("previews:cart-import"), {"text": text, "look_up": "1"})
    assert response.status_code == 302
    page = buyer_client.get(response["Location"]).content.decode()
    added = card(page, offer(700))
    assert 'data-testid="lookup-added"' in added and "<form" not in added
    assert CartLine.objects.get(owner=buyer, offer_id=offer(700)).quantity == 3
    named_card = card(page, offer(701))  # not added (over the limit): the row's spec filled
    assert re.search(rf'name="q-{named}" value="20" data-suggested="true"', named_card)
    assert named_card.count('data-suggested="true"') == 1
    several = card(page, offer(702))  # several SKUs, none named: no obvious place
    assert "<form" in several and 'data-suggested="true"' not in several
