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
from previews.models import CartLine, Supplier

from .product_gateway import offer, product_gateway_for
from .test_lookup_pages import paste

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module")
def product_gateway(sandbox_url):
    with product_gateway_for(sandbox_url) as product_gateway:
        yield product_gateway


@pytest.fixture
def execute_now(monkeypatch, product_gateway):
    def execute(*, batch_id):
        lookups.execute_batch(batch_id=batch_id, config=product_gateway.config())
        return True

    monkeypatch.setattr(lookups, "dispatch_batch", execute)


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
