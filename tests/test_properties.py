"""Property-based tests: forms and import never fail with a 500, and every rejection is
explained; the gateway parser returns typed data or a typed error, never a float amount."""

import json
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from previews.forms import CartLineForm, ShippingAddressForm
from previews.gateway import GatewayError, PreviewAnswer, parse_preview_body
from previews.imports import parse_cart_rows
from previews.validators import is_control_character

from .conftest import ADDRESS_FORM
from .test_gateway_parsing import body, record

FIXTURES_OK = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
text = st.text(max_size=40)
field_text = st.one_of(
    text, st.sampled_from(["", " ", "0", "13812345678", "330108", "999999", "<script>", "１２３"])
)


def explained(errors) -> bool:
    return all(messages and all(str(m).strip() for m in messages) for messages in errors.values())


@pytest.mark.django_db
@FIXTURES_OK
@given(data=st.fixed_dictionaries({name: field_text for name in ADDRESS_FORM}))
def test_address_form_never_crashes_and_explains_every_rejection(buyer, data):
    form = ShippingAddressForm(data, owner=buyer)
    if not form.is_valid():
        assert form.errors and explained(form.errors)


@pytest.mark.django_db
@FIXTURES_OK
@given(data=st.fixed_dictionaries({name: field_text for name in ADDRESS_FORM}))
def test_address_page_never_answers_500(buyer_client, data):
    response = buyer_client.post(reverse("previews:address-create"), data)
    assert response.status_code in (200, 302)


@pytest.mark.django_db
@FIXTURES_OK
@given(
    data=st.fixed_dictionaries(
        {
            "offer": st.one_of(text, st.integers().map(str)),
            "spec_id": st.one_of(text, st.just("594b40c111b019af610a0078e4316373")),
            "quantity": st.one_of(text, st.integers(-10, 200_000).map(str)),
            "new_supplier": field_text,
            "title": text,
            "note": text,
        }
    )
)
def test_line_form_and_page(buyer, buyer_client, data):
    form = CartLineForm(data, owner=buyer)
    if not form.is_valid():
        assert explained(form.errors)
    response = buyer_client.post(reverse("previews:line-create"), data)
    assert response.status_code in (200, 302)


@given(st.text(max_size=400))
@settings(max_examples=300, deadline=None)
def test_import_parser_reports_every_bad_row_with_a_number_and_reason(pasted):
    rows, errors = parse_cart_rows(pasted)
    for error in errors:
        assert error.row_number >= 1 and error.reason.strip()
    for row in rows:
        assert row.offer_id >= 1 and 1 <= row.quantity <= 99_999 and row.supplier


@pytest.mark.django_db
@FIXTURES_OK
@given(content=st.binary(max_size=300))
def test_import_upload_never_answers_500(buyer_client, content):
    response = buyer_client.post(
        reverse("previews:cart-import"),
        {"file": SimpleUploadedFile("lines.csv", content, "text/csv")},
    )
    assert response.status_code in (200, 302)


json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(10**15), 10**15),
    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=20),
)  # fmt: skip
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)
RECORD_KEYS = ["sumPayment", "sumCarriage", "sumPaymentNoCarriage", "discountFee",
               "additionalFee", "status", "message", "resultCode", "flowFlag",
               "tradeModeNameList", "tradeModelList", "shopPromotionList",
               "payChannelInfos", "payChannelList", "cargoList"]  # fmt: skip
LINE_KEYS = ["amount", "finalUnitPrice", "offerId", "specId", "skuId", "message",
             "resultCode", "cargoPromotionList", "openOfferId"]  # fmt: skip


def no_float(value) -> None:
    if isinstance(value, float):
        raise AssertionError(f"float {value!r} in a parsed answer")
    if hasattr(value, "__dataclass_fields__"):
        for name in value.__dataclass_fields__:
            if name != "duration":
                no_float(getattr(value, name))
    elif isinstance(value, tuple | list):
        for item in value:
            no_float(item)


def parse_or_error(raw: str):
    try:
        answer = parse_preview_body(raw)
    except GatewayError as error:
        assert error.reason.strip()
        return error
    assert isinstance(answer, PreviewAnswer)
    no_float(answer)
    return answer


@given(st.text(max_size=300))
@settings(max_examples=300, deadline=None)
def test_parser_on_arbitrary_text(raw):
    parse_or_error(raw)


@given(json_values)
@settings(max_examples=300, deadline=None)
def test_parser_on_arbitrary_json(document):
    parse_or_error(json.dumps(document))


@given(
    record_changes=st.dictionaries(st.sampled_from(RECORD_KEYS), json_values, max_size=4),
    line_changes=st.dictionaries(st.sampled_from(LINE_KEYS), json_values, max_size=4),
    envelope_changes=st.dictionaries(
        st.sampled_from(["code", "message", "traceId", "data"]), json_values, max_size=1
    ),
)
@settings(max_examples=500, deadline=None)
def test_parser_on_mutated_answers(record_changes, line_changes, envelope_changes):
    document = body([record(**record_changes)])
    records = document["data"]["orderPreviewResuslt"]
    lines = records[0].get("cargoList")
    if isinstance(lines, list) and lines and isinstance(lines[0], dict):
        lines[0].update(line_changes)
    document.update(envelope_changes)
    result = parse_or_error(json.dumps(document))
    if isinstance(result, PreviewAnswer):
        for rec in result.records:
            assert rec.sum_payment_fen is None or isinstance(rec.sum_payment_fen, int)
            for line in rec.lines:
                assert line.amount is None or isinstance(line.amount, Decimal)


@given(st.integers(-(2**63) + 1, 2**63 - 1))
@settings(max_examples=300, deadline=None)
def test_extreme_amounts_stay_exact(fen):
    amount = Decimal(fen) / 100  # the same sum as a yuan amount with two decimals
    raw = json.dumps(body([record(sumPayment=fen, cargoList=[{"amount": "AMOUNT"}])]))
    (rec,) = parse_preview_body(raw.replace('"AMOUNT"', f"{amount:f}")).records
    assert rec.sum_payment_fen == fen
    assert rec.lines[0].amount == amount


# --------------------------------------------------------------------------- one quantity rule

FULL_WIDTH = str.maketrans("０１２３４５６７８９", "0123456789")
QUANTITY_EXAMPLES = ["²", "1.0", "٣", "１２", " 12 ", "1e3", "-1", "0", "+3", "1,000", "12",
                     "99999", "100000", "0x10", "١٢", "½", "12\u3000", "\u30001"]  # fmt: skip
quantity_text = st.one_of(
    st.sampled_from(QUANTITY_EXAMPLES),
    st.text(alphabet=st.characters(categories=("Nd", "No", "Zs", "Pd", "Po")), max_size=8),
    st.integers(-5, 150_000).map(str),
)


def expected_quantity(text: str) -> int | None:
    """The rule, written independently: ASCII digits after folding full-width ones."""
    folded = text.strip().translate(FULL_WIDTH)
    if folded and all("0" <= c <= "9" for c in folded) and 1 <= int(folded) <= 99_999:
        return int(folded)
    return None


@pytest.mark.django_db
@FIXTURES_OK
@given(quantity=quantity_text)
def test_line_form_and_import_apply_one_quantity_rule(buyer, quantity):
    form = CartLineForm({"offer": "42", "quantity": quantity, "new_supplier": "A"}, owner=buyer)
    quoted = quantity.replace('"', '""')  # CSV's own escape, so the cell holds `quantity`
    rows, errors = parse_cart_rows(f'42,,"{quoted}",A')
    expected = expected_quantity(quantity)
    if expected is None:
        assert not form.is_valid() and explained(form.errors)
        assert rows == [] and errors[0].reason.strip()
        if quantity.strip():
            assert " ".join(form.errors["quantity"]) == errors[0].reason  # one message
    else:
        assert form.is_valid(), form.errors
        assert form.cleaned_data["quantity"] == expected == rows[0].quantity


@given(st.text(max_size=60))
@settings(max_examples=300, deadline=None)
def test_no_imported_text_holds_a_control_character_or_is_cut(cell):
    rows, _errors = parse_cart_rows(
        f'42,,1,"A{cell.replace(chr(34), "")}","{cell.replace(chr(34), "")}"'
    )
    for row in rows:
        for value in (row.supplier, row.title, row.note):
            assert not any(is_control_character(c) for c in value)
        assert row.title == cell.replace('"', "").strip()
