"""Shipping addresses: validation a buyer can act on, one default, pickers, pages."""

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse

from previews import cart
from previews.forms import ShippingAddressForm
from previews.models import ShippingAddress

from .conftest import ADDRESS_FORM

pytestmark = pytest.mark.django_db


def form(owner, **overrides):
    return ShippingAddressForm({**ADDRESS_FORM, **overrides}, owner=owner)


def test_valid_address_fills_texts_from_the_district_code(buyer):
    f = form(buyer)
    assert f.is_valid(), f.errors
    assert (f.cleaned_data["province_text"], f.cleaned_data["city_text"]) == ("浙江省", "杭州市")
    assert f.cleaned_data["area_text"] == "滨江区"


def test_municipality_city_text_is_the_municipality(buyer):
    f = form(buyer, district_code="110105")
    assert f.is_valid(), f.errors
    assert f.cleaned_data["city_text"] == "北京市" and f.cleaned_data["area_text"] == "朝阳区"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("mobile", "12345678901", "11 digits starting with 13–19"),
        ("mobile", "1381234567", "11 digits starting with 13–19"),
        ("phone", "12-34", "landline such as 0571-88888888"),
        ("post_code", "31005", "exactly 6 digits"),
        ("post_code", "31005a", "exactly 6 digits"),
        ("district_code", "33010", "exactly 6 digits"),
        ("district_code", "999999", "not a district in China"),
        ("full_name", "", "This field is required"),
        ("town_text", "", "This field is required"),
        ("address", "", "This field is required"),
    ],
)
def test_each_rule_gives_a_message_on_its_field(buyer, field, value, message):
    f = form(buyer, **{field: value})
    assert not f.is_valid()
    assert message in " ".join(f.errors[field])


def test_mobile_is_normalised(buyer):
    f = form(buyer, mobile="+86 138-1234-5678")
    assert f.is_valid(), f.errors
    assert f.cleaned_data["mobile"] == "13812345678"


def test_texts_inconsistent_with_the_code_are_refused_naming_the_right_text(buyer):
    f = form(buyer, province_text="江苏省", city_text="杭州市", area_text="西湖区")
    assert not f.is_valid()
    assert "“浙江省”" in f.errors["province_text"][0]
    assert "“滨江区”" in f.errors["area_text"][0]
    assert "city_text" not in f.errors


def test_reference_example_is_inconsistent_and_refused(buyer):
    # The reference's example pairs 杭州市滨江区 with 310107 (上海市普陀区).
    f = form(
        buyer,
        province_text="浙江省",
        city_text="杭州市",
        area_text="滨江区",
        district_code="310107",
    )
    assert not f.is_valid()
    assert "上海市" in f.errors["province_text"][0]


def test_database_allows_one_default_per_owner(buyer, make_address):
    make_address(buyer, is_default=True)
    with pytest.raises(IntegrityError), transaction.atomic():
        make_address(buyer, label="second", is_default=True)


def test_database_refuses_a_malformed_district_code(buyer, make_address):
    with pytest.raises(IntegrityError), transaction.atomic():
        make_address(buyer, district_code="33-108")


def test_first_address_becomes_default_and_a_new_default_replaces_it(buyer):
    first = cart.save_address(address=ShippingAddress(owner=buyer, **_fields("A")))
    assert first.is_default
    second = cart.save_address(
        address=ShippingAddress(owner=buyer, is_default=True, **_fields("B"))
    )
    first.refresh_from_db()
    assert second.is_default and not first.is_default
    cart.delete_address(address=second)
    first.refresh_from_db()
    assert first.is_default


def _fields(label):
    return {
        **ADDRESS_FORM,
        "label": label,
        "province_text": "浙江省",
        "city_text": "杭州市",
        "area_text": "滨江区",
    }


def test_create_edit_and_delete_through_the_pages(buyer_client, buyer):
    response = buyer_client.post(reverse("previews:address-create"), ADDRESS_FORM)
    assert response.status_code == 302
    address = ShippingAddress.objects.get(owner=buyer)
    assert address.is_default and address.area_text == "滨江区"
    listing = buyer_client.get(reverse("previews:address-list")).content.decode()
    assert "Hangzhou warehouse" in listing and "Default" in listing
    edit = reverse("previews:address-edit", args=[address.pk])
    buyer_client.post(edit, {**ADDRESS_FORM, "label": "Renamed", "is_default": "on"})
    address.refresh_from_db()
    assert address.label == "Renamed"
    buyer_client.post(reverse("previews:address-delete", args=[address.pk]))
    assert not ShippingAddress.objects.filter(pk=address.pk).exists()


def test_a_refused_form_shows_what_was_typed(buyer_client):
    response = buyer_client.post(
        reverse("previews:address-create"),
        {**ADDRESS_FORM, "mobile": "999", "address": "网商路700号"},
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert 'value="网商路700号"' in html and 'value="999"' in html
    assert "11 digits starting with 13–19" in html


def test_make_default_button(buyer_client, buyer, make_address):
    first = make_address(buyer, is_default=True)
    second = make_address(buyer, label="Second")
    buyer_client.post(reverse("previews:address-default", args=[second.pk]))
    first.refresh_from_db()
    second.refresh_from_db()
    assert second.is_default and not first.is_default


def test_region_pickers_endpoint(buyer_client):
    cities = buyer_client.get(reverse("previews:region-children", args=["33"])).json()["children"]
    assert {"code": "3301", "name": "杭州市"} in cities
    districts = buyer_client.get(reverse("previews:region-children", args=["3301"])).json()
    assert {"code": "330108", "name": "滨江区"} in districts["children"]
    beijing = buyer_client.get(reverse("previews:region-children", args=["11"])).json()
    assert {"code": "110105", "name": "朝阳区"} in beijing["children"]
    assert buyer_client.get(reverse("previews:region-children", args=["x"])).status_code == 404


def test_address_form_offers_the_pickers(buyer_client):
    html = buyer_client.get(reverse("previews:address-create")).content.decode()
    assert 'id="pick-province"' in html and ">浙江省<" in html
    assert "js/region-picker.js" in html
