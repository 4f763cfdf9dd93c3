"""The catalogue of failure texts: by code and by kind, in the reader's language."""

import re
import uuid

import pytest
from django.urls import reverse
from django.utils import translation

from previews import failures, services
from previews.models import PreviewRun, SupplierPreview


def supplier_section(html: str, name: str) -> str:
    match = re.search(rf'<section[^>]*data-supplier="{name}".*?</section>', html, re.S)
    assert match, f"no section for {name}"
    return match.group(0)


def page(client, run, language="en") -> str:
    client.post(reverse("set_language"), {"language": language})
    return client.get(reverse("previews:run-detail", args=[run.pk])).content.decode()


def test_every_documented_refusal_code_is_explained_in_both_languages():
    codes = [f"500_00{n}" for n in range(1, 10)]
    with translation.override("en"):
        english = [failures.refusal_explanation(code) for code in codes]
        assert "lower the quantity" in failures.refusal_explanation("500004")
    with translation.override("zh-hans"):
        chinese = [failures.refusal_explanation(code) for code in codes]
        assert "库存不足" in failures.refusal_explanation(500004)
    assert all(english) and all(chinese)
    assert all(en != zh for en, zh in zip(english, chinese, strict=True))
    assert failures.refusal_explanation("999_999") is None
    assert failures.refusal_explanation("") is None


@pytest.mark.django_db
def test_a_refusal_shows_the_catalogue_text_in_the_readers_language_and_the_upstream_words(
    buyer, buyer_client, make_address
):
    run = PreviewRun.objects.create(
        owner=buyer,
        address_snapshot=services.snapshot_address(make_address(buyer)),
        submission_token=uuid.uuid4(),
        status=PreviewRun.Status.DONE,
    )
    SupplierPreview.objects.create(
        run=run, position=0, supplier_name="refuses", requested_lines=[],
        status=SupplierPreview.Status.REJECTED, error_kind="rejected", error_code="500_004",
        reason="The gateway refused this order (500_004): 库存不足(上游原话)", attempts=1,
    )  # fmt: skip
    english = supplier_section(page(buyer_client, run), "refuses")
    assert "Not enough stock: lower the quantity" in english
    assert "库存不足(上游原话)" in english  # the upstream's own words, as detail
    chinese = supplier_section(page(buyer_client, run, "zh-hans"), "refuses")
    assert "库存不足:请减少数量或选择其他规格。" in chinese
    assert "库存不足(上游原话)" in chinese
    assert "Not enough stock" not in chinese  # not shown a second time, in English
