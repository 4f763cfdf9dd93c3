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
        "Row 6: The quantity must be from 1 to 99,999 (you wrote 0).",
        "Row 8: “1.5” is not a quantity: write a whole number with the digits 0–9 only",
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


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("670291644950,,1,A,cup\x00lid\n", "the title contains an invisible control character, "
         "U+0000 (NUL) at character 4: remove it"),
        ("670291644950,,1,Sh\x00op\n", "the supplier contains an invisible control character, "
         "U+0000 (NUL) at character 3"),
        ("670291644950,,1,A,,rush\x07\n", "the note contains an invisible control character, "
         "U+0007 at character 5"),
        ('670291644950,,1,A,"cup\tlid"\n', "the title contains an invisible control character, "
         "U+0009 (tab) at character 4"),
        ('670291644950,,1,A,"cup\nlid"\n', "the title contains an invisible control character, "
         "U+000A (line break) at character 4"),
        ("670291644950,,1,A,cup\x1blid\n", "the title contains an invisible control "
         "character, U+001B at character 4"),
        ("670291644950,,1,\u202eA\n", "the supplier contains an invisible control character, "
         "U+202E at character 1"),
    ],
    ids=["nul-title", "nul-supplier", "bell-note", "tab-in-quoted-cell", "newline-in-cell",
         "escape", "bidi-override"],
)  # fmt: skip
def test_a_control_character_is_a_row_error_not_a_500(buyer_client, buyer, text, reason):
    """On PostgreSQL a NUL made the import answer 500; elsewhere it was stored."""
    response = buyer_client.post(reverse("previews:cart-import"), {"text": "42,,1,A\n" + text})
    assert response.status_code == 200
    assert f"Row 2: {reason}" in response.content.decode()
    assert not CartLine.objects.filter(owner=buyer).exists()


def test_a_nul_in_an_uploaded_file_is_a_row_error(buyer_client, buyer):
    response = upload(buyer_client, "42,,1,A\n43,,1,B,水\x00杯\n".encode("gbk"))
    assert response.status_code == 200
    assert "Row 2: the title contains an invisible control character, U+0000 (NUL)" in (
        response.content.decode()
    )
    assert not CartLine.objects.filter(owner=buyer).exists()


def test_tabs_between_cells_of_a_pasted_excel_row_are_separators():
    rows, errors = parse_cart_rows("42\t\t1\tA\tcup\tfragile\n43\t\t1\tA\tcup\x0blid\n")
    assert (rows[0].title, rows[0].note) == ("cup", "fragile")
    assert [(e.row_number, e.reason) for e in errors] == [
        (2, "the title contains an invisible control character, U+000B at character 4: remove it")
    ]


@pytest.mark.parametrize(("column", "limit"), [("title", 200), ("note", 200), ("supplier", 120)])
def test_over_long_text_is_refused_never_cut(buyer_client, buyer, column, limit):
    cells = {"offer": "42", "quantity": "1", "supplier": "A", "title": "", "note": ""}
    cells[column] = "长" * (limit + 1)
    text = "offer,quantity,supplier,title,note\n" + ",".join(cells.values())
    response = buyer_client.post(reverse("previews:cart-import"), {"text": text})
    assert response.status_code == 200
    assert (
        f"Row 2: the {column} is {limit + 1} characters long; at most {limit} fit: shorten it"
        in response.content.decode()
    )
    assert not CartLine.objects.filter(owner=buyer).exists()
    cells[column] = "长" * limit
    text = "offer,quantity,supplier,title,note\n" + ",".join(cells.values())
    assert buyer_client.post(reverse("previews:cart-import"), {"text": text}).status_code == 302


@pytest.mark.parametrize(
    ("quantity", "stored"),
    [("１２", 12), (" 12 ", 12), ("007", 7), ("99999", 99_999)],
)
def test_quantities_the_import_accepts(quantity, stored):
    rows, errors = parse_cart_rows(f"42,,{quantity},A")
    assert errors == [] and rows[0].quantity == stored


@pytest.mark.parametrize(
    ("quantity", "reason"),
    [
        ("²", "“²” is not a quantity: write a whole number with the digits 0–9 only"),
        ("1.0", "“1.0” is not a quantity"),
        ("٣", "“٣” is not a quantity"),
        ("1e3", "“1e3” is not a quantity"),
        ("-1", "“-1” is not a quantity"),
        ("+1", "“+1” is not a quantity"),
        ("1 2", "“1 2” is not a quantity"),
        ("0", "The quantity must be from 1 to 99,999 (you wrote 0)."),
        ("100000", "The quantity must be from 1 to 99,999 (you wrote 100000)."),
    ],
)
def test_quantities_the_import_refuses_with_a_reason(quantity, reason):
    rows, errors = parse_cart_rows(f"42,,{quantity},A")
    assert rows == [] and reason in errors[0].reason


def test_an_import_over_the_row_cap_is_refused_keeping_the_text(buyer_client, buyer, settings):
    settings.IMPORT_MAX_ROWS = 3
    text = "offer,quantity,supplier\n42,1,A\n\n43,1,A\n44,1,A\n"
    assert buyer_client.post(reverse("previews:cart-import"), {"text": text}).status_code == 302
    CartLine.objects.all().delete()
    text += "45,1,A\n"
    response = buyer_client.post(reverse("previews:cart-import"), {"text": text})
    html = response.content.decode()
    assert response.status_code == 200
    assert "This list has more than 3 rows, the most one import takes" in html
    assert "Split it into parts of at most 3 rows" in html
    assert response.context["form"]["text"].value() == text  # nothing typed is lost
    assert not CartLine.objects.filter(owner=buyer).exists()


def test_the_default_cap_is_ten_thousand_rows(buyer_client, buyer):
    rows = "\n".join(f"{612345000000 + n},,1,S" for n in range(10_001))
    response = upload(buyer_client, rows.encode())
    assert response.status_code == 200
    assert "more than 10,000 rows" in response.content.decode()
    assert not CartLine.objects.filter(owner=buyer).exists()


def test_a_paste_past_the_upload_limit_is_explained_on_the_page(buyer_client, buyer, settings):
    assert settings.DATA_UPLOAD_MAX_MEMORY_SIZE == 2_621_440
    text = "\n".join(f"{612345000000 + n},,1,供应商,{'长' * 40}" for n in range(25_000))
    response = buyer_client.post(reverse("previews:cart-import"), {"text": text})
    html = response.content.decode()
    assert response.status_code == 413
    assert "more than the 2.5\xa0MB a form can carry, so nothing was saved" in html
    assert "save them as a CSV file and upload it" in html
    assert 'name="text"' in html and 'type="file"' in html  # the form, shown again
    assert not CartLine.objects.filter(owner=buyer).exists()


def test_over_long_gateway_text_is_visibly_shortened(buyer, stocked_cart):
    """The gateway's text is not ours to refuse: past its column it is cut with a “…"."""
    import json
    import uuid

    from previews import execution, runs
    from previews.gateway import parse_preview_body

    from .test_gateway_parsing import body, record

    address, lines = stocked_cart(buyer, {"A": [(42, "", 1)]})
    run, _created = runs.start_preview(
        owner=buyer, address=address, lines=lines, flow="", submission_token=uuid.uuid4()
    )
    promotion = {"promotionId": "p" * 300, "text": "满300减20" * 100, "selected": True}
    answer = parse_preview_body(
        json.dumps(body([record(resultCode="E" * 80, flowFlag="general" * 10,
                                shopPromotionList=[promotion])]))
    )  # fmt: skip
    supplier = run.suppliers.get()
    assert execution.record_answer(supplier_preview_id=supplier.pk, answer=answer)
    stored = supplier.records.get()
    assert (len(stored.result_code), stored.result_code[-1]) == (60, "…")
    assert (len(stored.flow_flag), stored.flow_flag[-1]) == (30, "…")
    shop = stored.promotions.get()
    assert (len(shop.text), shop.text[-1]) == (500, "…")
    assert shop.text.startswith("满300减20满300减20")
    assert (len(shop.promotion_id), shop.promotion_id[-1]) == (200, "…")
