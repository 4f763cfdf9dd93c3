"""Each limit and format is written once (previews/limits.py) and everything reads it."""

import pytest
from django.urls import reverse
from django.utils import translation

from previews import limits
from previews.imports import TEXT_LIMITS, parse_cart_rows
from previews.models import (
    CartLine,
    PreviewLine,
    PreviewPromotion,
    PreviewRecord,
    Supplier,
    SupplierPreview,
)
from previews.validators import QUANTITY_HELP, SPEC_ID_HELP, normalize_spec_id

SPEC = "594b40c111b019af610a0078e4316373"
FULL_WIDTH_SPEC = "５９４Ｂ４０Ｃ１１１Ｂ０１９ＡＦ６１０Ａ００７８Ｅ４３１６３７３"


def test_the_columns_and_constraints_are_the_limits():
    field = CartLine._meta.get_field
    assert field("spec_id").max_length == limits.SPEC_ID_LENGTH
    assert field("title").max_length == limits.CART_TITLE_LENGTH == TEXT_LIMITS["title"]
    assert field("note").max_length == limits.CART_NOTE_LENGTH == TEXT_LIMITS["note"]
    assert Supplier._meta.get_field("name").max_length == limits.SUPPLIER_NAME_LENGTH
    assert TEXT_LIMITS["supplier"] == limits.SUPPLIER_NAME_LENGTH
    gateway_columns = [
        (SupplierPreview, "trace_id", limits.TRACE_ID_LENGTH),
        (SupplierPreview, "error_code", limits.ERROR_CODE_LENGTH),
        (PreviewRecord, "result_code", limits.RESULT_CODE_LENGTH),
        (PreviewRecord, "flow_flag", limits.FLOW_FLAG_LENGTH),
        (PreviewPromotion, "promotion_id", limits.PROMOTION_ID_LENGTH),
        (PreviewPromotion, "text", limits.PROMOTION_TEXT_LENGTH),
        (PreviewLine, "spec_id", limits.ANSWER_SPEC_ID_LENGTH),
    ]
    for model, name, limit in gateway_columns:
        assert model._meta.get_field(name).max_length == limit, (model, name)
    # The schema is unchanged: the constraint keeps the name migration 0001 gave it.
    names = {constraint.name for constraint in CartLine._meta.constraints}
    assert {"cart_line_quantity_1_to_99999", "cart_line_spec_id_empty_or_32"} <= names


def test_gateway_text_is_cut_to_its_column_with_a_visible_ellipsis():
    assert limits.shorten_for_column("abc", 3) == "abc"
    assert limits.shorten_for_column("abcd", 3) == "ab…"
    assert limits.shorten_for_column(None, 3) == ""


def test_help_texts_show_the_limits_in_the_active_language():
    with translation.override("en"):
        assert str(QUANTITY_HELP) == "A whole number from 1 to 99,999."
        assert str(SPEC_ID_HELP) == "32 hexadecimal characters; needed for offers that have specs."
    with translation.override("zh-hans"):
        assert str(QUANTITY_HELP) == "1 到 99,999 之间的整数。"
        assert str(CartLine._meta.get_field("spec_id").help_text).startswith("32 位十六进制")


@pytest.mark.django_db
def test_a_spec_id_is_normalised_alike_typed_or_imported(buyer_client, buyer):
    assert normalize_spec_id(f" {FULL_WIDTH_SPEC} ") == SPEC
    rows, errors = parse_cart_rows(f"1,{FULL_WIDTH_SPEC},2,A\n")
    assert errors == [] and rows[0].spec_id == SPEC
    response = buyer_client.post(
        reverse("previews:line-create"),
        {"offer": "1", "spec_id": FULL_WIDTH_SPEC, "quantity": "2", "new_supplier": "A"},
    )
    assert response.status_code == 302
    assert CartLine.objects.get(owner=buyer).spec_id == SPEC


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_quantity_messages_name_the_limit(buyer_client, language):
    # override: the language a request activates must not outlive this test
    with translation.override(language):
        buyer_client.post(reverse("set_language"), {"language": language})
        response = buyer_client.post(
            reverse("previews:line-create"),
            {"offer": "1", "spec_id": "", "quantity": "100000", "new_supplier": "A"},
        )
        errors = " ".join(response.context["form"].errors["quantity"])
    assert "99,999" in errors and ("数量" in errors) == (language == "zh-hans")
