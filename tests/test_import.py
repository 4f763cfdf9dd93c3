"""Bulk import of cart lines: links or ids, every bad row reported, all or nothing, encodings."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from previews.imports import decode_upload, parse_cart_rows
from previews.models import CartLine, Supplier

pytestmark = pytest.mark.django_db

SPEC = "594b40c111b019af610a0078e4316373"
GOOD = (
    "offer,spec,quantity,supplier,title,note\n"
    f"https://detail.1688.com/offer/670291644950.html,{SPEC},2,杭州小商品店,水杯,加急\n"
    "https://m.1688.com/offer/612345001100.html,,10,义乌日用百货,,\n"
    "612345001700,,5,义乌日用百货,收纳盒,\n"
)


def upload(client, content: bytes, name="lines.csv"):
    return client.post(
        reverse("previews:cart-import"), {"file": SimpleUploadedFile(name, content, "text/csv")}
    )


def test_good_file_imports_every_row_and_creates_suppliers(buyer_client, buyer):
    response = upload(buyer_client, GOOD.encode())
    assert response.status_code == 302
    lines = CartLine.objects.filter(owner=buyer).order_by("offer_id")
    assert [(line.offer_id, line.quantity, line.supplier.name) for line in lines] == [
        (612345001100, 10, "义乌日用百货"),
        (612345001700, 5, "义乌日用百货"),
        (670291644950, 2, "杭州小商品店"),
    ]
    assert lines.get(offer_id=670291644950).spec_id == SPEC
    assert lines.get(offer_id=670291644950).title == "水杯"
    assert Supplier.objects.filter(owner=buyer).count() == 2


@pytest.mark.parametrize(
    "encoding", ["utf-8", "utf-8-sig", "gbk"], ids=["utf8", "utf8-bom", "gbk-excel"]
)
def test_encodings(buyer_client, buyer, encoding):
    content = GOOD.replace("\n", "\r\n").encode(encoding)
    assert upload(buyer_client, content).status_code == 302
    assert set(Supplier.objects.filter(owner=buyer).values_list("name", flat=True)) == {
        "杭州小商品店",
        "义乌日用百货",
    }


def test_a_file_in_neither_encoding_is_refused_plainly(buyer_client, buyer):
    response = upload(buyer_client, b"\xff\xfe\x00\x00\x81\x30\xff\xff")
    assert "neither UTF-8 nor GBK" in response.content.decode()
    assert not CartLine.objects.filter(owner=buyer).exists()


def test_every_bad_row_is_reported_and_nothing_is_imported(buyer_client, buyer):
    text = (
        "670291644950,,2,A\n"  # row 1 good
        "hello,,2,A\n"  # 2 not an offer
        ",,2,A\n"  # 3 offer missing
        "1,nothex,2,A\n"  # 4 bad spec
        "2,,,A\n"  # 5 quantity missing
        "3,,0,A\n"  # 6 quantity 0
        "4,,100000,A\n"  # 7 quantity too high
        "5,,1.5,A\n"  # 8 not whole
        "6,,1,\n"  # 9 supplier missing
        "https://example.com/offer/7.html,,1,A\n"  # 10 not a 1688 link
        "670291644950,,1,B\n"  # 11 same offer, other supplier
    )
    response = buyer_client.post(reverse("previews:cart-import"), {"text": text})
    html = response.content.decode()
    assert response.status_code == 200
    reported = [e.row_number for e in response.context["result"].errors]
    assert reported == [2, 3, 4, 5, 6, 7, 8, 9, 10, 11]
    for fragment in (
        "Row 2: “hello” is neither an offer id nor a 1688 offer link",
        "Row 3: the offer is missing",
        "Row 4: the spec id “nothex” is not 32 hexadecimal characters",
        "Row 5: the quantity is missing",
        "Row 6: the quantity “0” is not a whole number from 1 to 99,999",
        "Row 9: the supplier is missing",
        "Row 11: offer 670291644950 appears in row 1 with another supplier",
        "Nothing was imported: 10 rows need fixing.",
    ):
        assert fragment in html, fragment
    assert not CartLine.objects.exists()
    assert "hello,,2,A" in html  # the pasted text is shown again


def test_offer_already_in_the_cart_has_its_quantity_raised(buyer_client, buyer, make_line):
    make_line(buyer, supplier="A", offer_id=670291644950, quantity=4)
    buyer_client.post(
        reverse("previews:cart-import"), {"text": "670291644950,,2,A\n670291644950,,1,A"}
    )
    assert CartLine.objects.get(owner=buyer).quantity == 7


def test_offer_in_the_cart_under_another_supplier_is_a_bad_row(buyer_client, buyer, make_line):
    make_line(buyer, supplier="A", offer_id=42)
    response = buyer_client.post(reverse("previews:cart-import"), {"text": "42,,1,B"})
    assert "already in your cart under supplier “A”" in response.content.decode()
    assert CartLine.objects.get(owner=buyer).quantity == 1


def test_merged_quantity_over_the_limit_is_a_bad_row(buyer_client, buyer):
    response = buyer_client.post(
        reverse("previews:cart-import"), {"text": "42,,60000,A\n42,,60000,A"}
    )
    assert "would reach 120000, above 99,999" in response.content.decode()


def test_tab_separated_paste_from_excel():
    rows, errors = parse_cart_rows("670291644950\t\t3\t杭州小商品店\n612345001100\t\t1\tB\n")
    assert errors == [] and [(r.offer_id, r.quantity) for r in rows] == [
        (670291644950, 3),
        (612345001100, 1),
    ]


def test_header_in_another_order_and_in_chinese():
    rows, errors = parse_cart_rows("数量,供应商,商品链接\n3,A,670291644950\n")
    assert errors == [] and (rows[0].offer_id, rows[0].quantity, rows[0].supplier) == (
        670291644950,
        3,
        "A",
    )


def test_decode_upload():
    assert decode_upload("供应商".encode("gbk")) == "供应商"
    assert decode_upload("\ufeff供应商".encode()) == "供应商"


def test_empty_form_asks_for_lines(buyer_client):
    response = buyer_client.post(reverse("previews:cart-import"), {"text": "  "})
    assert "Paste some lines or choose a CSV file." in response.content.decode()


def test_ten_thousand_rows_import_in_one_request(buyer_client, buyer):
    rows = "\n".join(f"{612345000000 + n},,{1 + n % 50},Supplier {n % 40}" for n in range(10_000))
    response = upload(buyer_client, rows.encode())
    assert response.status_code == 302
    assert CartLine.objects.filter(owner=buyer).count() == 10_000
    assert Supplier.objects.filter(owner=buyer).count() == 40


def test_full_width_digits_and_a_stray_carriage_return():
    rows, errors = parse_cart_rows('６７０２９１６４４９５０,,１２,供应商（杭州）\n1,,"2\r",A\n')
    assert [(r.offer_id, r.quantity, r.supplier) for r in rows[:1]] == [
        (670291644950, 12, "供应商（杭州）")
    ]
    assert all(e.reason for e in errors)
