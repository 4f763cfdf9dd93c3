"""Suppliers and cart lines: merging, limits, links, grouping, constraints."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse

from previews import cart
from previews.imports import parse_offer_id
from previews.models import CartLine, PreviewRun, Supplier

pytestmark = pytest.mark.django_db

SPEC = "594b40c111b019af610a0078e4316373"


@pytest.mark.parametrize(
    ("text", "offer_id"),
    [
        ("670291644950", 670291644950),
        ("https://detail.1688.com/offer/670291644950.html", 670291644950),
        (
            "https://detail.1688.com/offer/670291644950.html?spm=a26352.13672862&sk=consign",
            670291644950,
        ),
        ("detail.1688.com/offer/670291644950.html", 670291644950),
        ("https://m.1688.com/offer/670291644950.html", 670291644950),
        ("https://detail.m.1688.com/page/index.htm?offerId=670291644950", 670291644950),
        ("https://example.com/offer/670291644950.html", None),
        ("https://detail.1688.com/offer/abc.html", None),
        ("0", None),
        ("-5", None),
        (str(2**63), None),
        ("", None),
    ],
)
def test_offer_links_and_ids(text, offer_id):
    assert parse_offer_id(text) == offer_id


def test_adding_the_same_offer_and_spec_raises_the_quantity(buyer):
    supplier = Supplier.objects.create(owner=buyer, name="A")
    line, created = cart.add_cart_line(
        owner=buyer, supplier=supplier, offer_id=1, spec_id=SPEC, quantity=2
    )
    again, created_again = cart.add_cart_line(
        owner=buyer, supplier=supplier, offer_id=1, spec_id=SPEC.upper(), quantity=3
    )
    assert created and not created_again and again.pk == line.pk and again.quantity == 5
    _, created = cart.add_cart_line(owner=buyer, supplier=supplier, offer_id=1, quantity=1)
    assert created and CartLine.objects.filter(owner=buyer).count() == 2


def test_merged_quantity_may_not_pass_99999(buyer):
    supplier = Supplier.objects.create(owner=buyer, name="A")
    cart.add_cart_line(owner=buyer, supplier=supplier, offer_id=1, quantity=99_000)
    with pytest.raises(ValidationError, match="99,999"):
        cart.add_cart_line(owner=buyer, supplier=supplier, offer_id=1, quantity=1000)
    assert CartLine.objects.get(owner=buyer).quantity == 99_000


@pytest.mark.parametrize(
    "fields",
    [{"quantity": 0}, {"quantity": 100_000}, {"offer_id": 0}, {"spec_id": "abc"}],
    ids=["zero", "too-many", "offer-0", "short-spec"],
)
def test_database_constraints(buyer, fields):
    supplier = Supplier.objects.create(owner=buyer, name="A")
    values = {"offer_id": 1, "quantity": 1, "spec_id": "", **fields}
    with pytest.raises(IntegrityError), transaction.atomic():
        CartLine.objects.create(owner=buyer, supplier=supplier, **values)


def test_database_refuses_a_duplicate_line(buyer, make_line):
    make_line(buyer, offer_id=5)
    with pytest.raises(IntegrityError), transaction.atomic():
        make_line(buyer, offer_id=5)


def test_add_a_line_with_a_new_supplier_through_the_page(buyer_client, buyer):
    response = buyer_client.post(
        reverse("previews:line-create"),
        {"offer": "https://detail.1688.com/offer/670291644950.html", "spec_id": SPEC,
         "quantity": "3", "new_supplier": "杭州小商品店", "title": "Cup"},
    )  # fmt: skip
    assert response.status_code == 302
    line = CartLine.objects.get(owner=buyer)
    assert (line.offer_id, line.quantity, line.supplier.name) == (670291644950, 3, "杭州小商品店")


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"offer": "hello"}, "offer", "offer id (digits) or a 1688 offer link"),
        ({"spec_id": "xyz"}, "spec_id", "32 hexadecimal characters"),
        ({"quantity": "0"}, "quantity", "from 1 to 99,999 (you wrote 0)"),
        ({"quantity": "100000"}, "quantity", "from 1 to 99,999 (you wrote 100000)"),
        ({"new_supplier": ""}, "supplier", "Choose the supplier"),
    ],
)
def test_line_form_messages(buyer_client, data, field, message):
    base = {"offer": "670291644950", "spec_id": "", "quantity": "1", "new_supplier": "A"}
    response = buyer_client.post(reverse("previews:line-create"), {**base, **data})
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert message in " ".join(errors[field])


def test_editing_a_line_into_another_lines_offer_is_refused(buyer_client, buyer, make_line):
    make_line(buyer, offer_id=11)
    second = make_line(buyer, offer_id=22)
    response = buyer_client.post(
        reverse("previews:line-edit", args=[second.pk]),
        {"offer": "11", "quantity": "1", "supplier": second.supplier_id},
    )
    assert "already another line" in response.content.decode()
    second.refresh_from_db()
    assert second.offer_id == 22


def test_edit_and_delete_a_line(buyer_client, buyer, make_line):
    line = make_line(buyer, offer_id=11)
    buyer_client.post(
        reverse("previews:line-edit", args=[line.pk]),
        {"offer": "11", "quantity": "7", "supplier": line.supplier_id, "title": "Cup"},
    )
    line.refresh_from_db()
    assert (line.quantity, line.title) == (7, "Cup")
    buyer_client.post(reverse("previews:line-delete", args=[line.pk]))
    assert not CartLine.objects.filter(pk=line.pk).exists()


def test_cart_groups_lines_by_supplier_with_counts(buyer_client, buyer, make_line):
    make_line(buyer, supplier="A", offer_id=1, quantity=2)
    make_line(buyer, supplier="A", offer_id=2, quantity=3)
    make_line(buyer, supplier="B", offer_id=3, quantity=10)
    response = buyer_client.get(reverse("previews:cart"))
    sections = response.context["suppliers"]
    assert [(s.name, s.line_count, s.total_quantity) for s in sections] == [
        ("A", 2, 5),
        ("B", 1, 10),
    ]
    assert "2 lines, 5 pieces" in response.content.decode()


def test_supplier_pages_and_uniqueness(buyer_client, buyer):
    buyer_client.post(reverse("previews:supplier-create"), {"name": "A", "seller_open_id": "b2b-1"})
    response = buyer_client.post(reverse("previews:supplier-create"), {"name": "A"})
    assert "already have a supplier called" in response.content.decode()
    response = buyer_client.post(
        reverse("previews:supplier-create"), {"name": "B", "seller_open_id": "b2b-1"}
    )
    assert "already has this seller open id" in response.content.decode()
    supplier = Supplier.objects.get(owner=buyer, name="A")
    page = buyer_client.get(reverse("previews:supplier-delete", args=[supplier.pk]))
    assert page.status_code == 200
    buyer_client.post(reverse("previews:supplier-delete", args=[supplier.pk]))
    assert not Supplier.objects.filter(owner=buyer).exists()


def test_two_buyers_may_use_the_same_supplier_name(buyer, other_buyer):
    Supplier.objects.create(owner=buyer, name="A")
    Supplier.objects.create(owner=other_buyer, name="A")
    assert Supplier.objects.filter(name="A").count() == 2


# --------------------------------------------------------------------------- bad input

LINE = {"offer": "670291644950", "spec_id": "", "quantity": "1", "new_supplier": "A"}


@pytest.mark.parametrize(
    ("quantity", "stored"), [("１２", 12), (" 12 ", 12), ("007", 7), ("99999", 99_999)]
)
def test_quantities_the_line_form_accepts(buyer_client, buyer, quantity, stored):
    response = buyer_client.post(reverse("previews:line-create"), {**LINE, "quantity": quantity})
    assert response.status_code == 302
    assert CartLine.objects.get(owner=buyer).quantity == stored


@pytest.mark.parametrize(
    ("quantity", "message"),
    [
        ("²", "“²” is not a quantity: write a whole number with the digits 0–9 only"),
        ("1.0", "“1.0” is not a quantity"),
        ("٣", "“٣” is not a quantity"),
        ("1e3", "“1e3” is not a quantity"),
        ("-1", "“-1” is not a quantity"),
        ("0", "The quantity must be from 1 to 99,999 (you wrote 0)."),
        ("", "This field is required."),
    ],
)
def test_quantities_the_line_form_refuses_with_a_reason(buyer_client, buyer, quantity, message):
    response = buyer_client.post(reverse("previews:line-create"), {**LINE, "quantity": quantity})
    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors["quantity"])
    assert not CartLine.objects.filter(owner=buyer).exists()


@pytest.mark.parametrize(
    ("field", "value", "found"),
    [
        ("title", "cup\x07lid", "U+0007 at character 4"),
        ("note", "a\tb", "U+0009 (tab) at character 2"),
        ("new_supplier", "\u202eA", "U+202E at character 1"),
        ("title", "cup\u2028lid", "U+2028 (line separator) at character 4"),
        ("note", "x\x85y", "U+0085 at character 2"),
    ],
)
def test_line_form_stores_no_control_character(buyer_client, buyer, field, value, found):
    response = buyer_client.post(reverse("previews:line-create"), {**LINE, field: value})
    assert response.status_code == 200
    assert f"This contains an invisible control character, {found}; remove it" in " ".join(
        response.context["form"].errors[field]
    )
    assert not CartLine.objects.filter(owner=buyer).exists()


def test_address_and_supplier_forms_store_no_control_character(buyer_client, buyer):
    from .conftest import ADDRESS_FORM

    response = buyer_client.post(
        reverse("previews:address-create"), {**ADDRESS_FORM, "address": "网商路\t699号"}
    )
    assert response.status_code == 200
    assert "U+0009 (tab) at character 4" in " ".join(response.context["form"].errors["address"])
    response = buyer_client.post(reverse("previews:supplier-create"), {"name": "A\x1bB"})
    assert response.status_code == 200
    assert "U+001B at character 2" in " ".join(response.context["form"].errors["name"])
    assert not Supplier.objects.filter(owner=buyer).exists()


def test_admin_stores_no_control_character(admin_client, buyer, make_line):
    line = make_line(buyer, offer_id=42)
    response = admin_client.post(
        reverse("admin:previews_cartline_change", args=[line.pk]),
        {"owner": buyer.pk, "supplier": line.supplier_id, "offer_id": 42, "spec_id": "",
         "quantity": 1, "title": "cup\x07lid", "note": ""},
    )  # fmt: skip
    assert response.status_code == 200
    assert "control character" in response.content.decode()
    line.refresh_from_db()
    assert line.title == ""


def big_cart_of(buyer, lines=10_000, suppliers=40):
    from .factories import big_cart

    return big_cart(buyer, lines=lines, suppliers=suppliers)


def test_a_cart_of_ten_thousand_lines_renders_one_bounded_page(
    buyer_client, buyer, django_assert_max_num_queries
):
    big_cart_of(buyer)
    with django_assert_max_num_queries(10):
        response = buyer_client.get(reverse("previews:cart"))
    html = response.content.decode()
    assert html.count("<tr>") <= 200 + 2  # one page of lines and its table heads
    assert "Lines: 10,000 · Pieces: 255,000 · Suppliers: 40 · showing lines 1–200" in html
    groups = response.context["suppliers"]
    assert [(g.name, g.line_count, len(g.page_lines)) for g in groups] == [
        ("Supplier 000", 250, 200)
    ]
    with django_assert_max_num_queries(10):
        response = buyer_client.get(reverse("previews:cart"), {"page": 2})
    groups = response.context["suppliers"]
    assert [(g.name, g.continued, len(g.page_lines)) for g in groups] == [
        ("Supplier 000", True, 50),
        ("Supplier 001", False, 150),
    ]
    assert "Supplier 000 <span" in response.content.decode()  # “(continued)”
    assert 'href="?page=50"' in response.content.decode()


def test_preview_form_of_a_big_cart_offers_whole_suppliers(
    buyer_client, buyer, make_address, django_assert_max_num_queries
):
    address = make_address(buyer, is_default=True)
    suppliers = big_cart_of(buyer)
    with django_assert_max_num_queries(10):
        page = buyer_client.get(reverse("previews:preview-create"))
    html = page.content.decode()
    assert html.count('name="lines"') == 0
    assert html.count('name="suppliers"') == 40
    assert "Your cart has 10,000 lines, too many to list here one by one" in html
    response = buyer_client.post(
        reverse("previews:preview-create"),
        {"address": address.pk, "suppliers": [suppliers[0].pk, suppliers[3].pk],
         "flow": "general", "submission_token": "6b0c7f43-6d8e-4f7b-9f1e-0f4b2c1a9d11"},
    )  # fmt: skip
    assert response.status_code == 302
    run = PreviewRun.objects.get(owner=buyer)
    asked = {s.supplier_name: len(s.requested_lines) for s in run.suppliers.all()}
    assert sum(asked.values()) == 500
    assert {name.split(" #")[0].split(" (")[0] for name in asked} <= {
        "Supplier 000",
        "Supplier 003",
    }
    response = buyer_client.post(
        reverse("previews:preview-create"),
        {"address": address.pk, "flow": "general",
         "submission_token": "7b0c7f43-6d8e-4f7b-9f1e-0f4b2c1a9d11"},
    )  # fmt: skip
    assert "Choose at least one supplier to preview." in response.content.decode()


def test_a_form_past_the_field_limit_is_explained_not_a_bare_400(buyer_client, buyer):
    response = buyer_client.post(
        reverse("previews:preview-create"), {"lines": list(range(1, 1200)), "flow": "general"}
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert "The form sent more than 1,000 choices, the most one form can carry" in html
    assert "Preview the orders" in html  # the page itself, not “Bad Request (400)”
