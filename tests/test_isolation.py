"""One buyer never sees, changes or deletes another's objects, whatever URL is typed."""

import pytest
from django.urls import reverse

from previews.models import CartLine, ShippingAddress, Supplier

pytestmark = pytest.mark.django_db


@pytest.fixture
def victims(buyer, make_address, make_line):
    line = make_line(buyer, supplier="Secret supplier", offer_id=670291644950, quantity=3)
    return {
        "address": make_address(buyer, label="Secret address", is_default=True),
        "supplier": line.supplier,
        "line": line,
    }


OBJECT_URLS = [
    ("previews:address-edit", "address"),
    ("previews:address-delete", "address"),
    ("previews:address-default", "address"),
    ("previews:supplier-edit", "supplier"),
    ("previews:supplier-delete", "supplier"),
    ("previews:line-edit", "line"),
    ("previews:line-delete", "line"),
]


@pytest.mark.parametrize(("name", "kind"), OBJECT_URLS)
@pytest.mark.parametrize("method", ["get", "post"])
def test_other_buyer_gets_404_and_changes_nothing(client, other_buyer, victims, name, kind, method):
    client.force_login(other_buyer)
    url = reverse(name, args=[victims[kind].pk])
    response = getattr(client, method)(url, {"label": "pwned", "name": "pwned", "quantity": "1"})
    # The make-default URL only takes POST; a GET is refused before any lookup.
    expected = 405 if name == "previews:address-default" and method == "get" else 404
    assert response.status_code == expected
    assert ShippingAddress.objects.filter(label="Secret address", is_default=True).count() == 1
    assert Supplier.objects.filter(name="Secret supplier").count() == 1
    assert CartLine.objects.get(pk=victims["line"].pk).quantity == 3


@pytest.mark.parametrize(
    "name", ["previews:address-list", "previews:supplier-list", "previews:cart"]
)
def test_lists_show_only_ones_own(client, other_buyer, victims, name):
    client.force_login(other_buyer)
    html = client.get(reverse(name)).content.decode()
    assert "Secret" not in html and "670291644950" not in html


def test_other_buyer_cannot_attach_a_line_to_someone_elses_supplier(client, other_buyer, victims):
    client.force_login(other_buyer)
    response = client.post(
        reverse("previews:line-create"),
        {"offer": "1", "quantity": "1", "supplier": victims["supplier"].pk},
    )
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert not CartLine.objects.filter(owner=other_buyer).exists()


def test_every_app_url_requires_login(client, victims):
    for name, kind in OBJECT_URLS:
        response = client.get(reverse(name, args=[victims[kind].pk]))
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_settings_are_each_buyers_own(client, buyer, other_buyer):
    from previews import rates

    url = reverse("previews:preferences")
    response = client.get(url)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    rates.set_display_currency(owner=buyer, code="USD")
    client.force_login(other_buyer)
    assert 'value="USD" selected' not in client.get(url).content.decode()
    client.post(url, {"display_currency": "JPY"})
    assert rates.display_currency(owner=buyer) == "USD"
    assert rates.display_currency(owner=other_buyer) == "JPY"
