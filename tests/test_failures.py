"""The catalogue of failure texts: by code and by kind, in the reader's language, and a crash
in our own code told apart from the gateway's failures."""

import logging
import re
import uuid

import pytest
from django.urls import reverse
from django.utils import translation

from previews import execution, failures, gateway, runs
from previews.models import PreviewRun, SupplierPreview

SECRET = "crash-test-app-secret-7f3a"


def supplier_section(html: str, name: str) -> str:
    match = re.search(rf'<section[^>]*data-supplier="{name}".*?</section>', html, re.S)
    assert match, f"no section for {name}"
    return match.group(0)


def page(client, run, language="en") -> str:
    # The request activates its language in this thread: give the next tests theirs back.
    with translation.override(translation.get_language()):
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
        address_snapshot=runs.snapshot_address(make_address(buyer)),
        submission_token=uuid.uuid4(),
        status=PreviewRun.Status.DONE,
    )
    SupplierPreview.objects.create(
        run=run, position=0, supplier_name="refuses", requested_lines=[],
        status=SupplierPreview.Status.REJECTED, error_kind="rejected", error_code="500_004",
        reason="The gateway refused this order (500_004): 库存不足(上游原话)", attempts=1,
        upstream_message="库存不足(上游原话)",
    )  # fmt: skip
    english = supplier_section(page(buyer_client, run), "refuses")
    assert "Not enough stock: lower the quantity" in english
    assert "库存不足(上游原话)" in english  # the upstream's own words, as detail
    chinese = supplier_section(page(buyer_client, run, "zh-hans"), "refuses")
    assert "库存不足:请减少数量或选择其他规格。" in chinese
    assert "库存不足(上游原话)" in chinese
    assert "Not enough stock" not in chinese  # not shown a second time, in English


@pytest.mark.django_db(transaction=True)
def test_a_crash_in_our_own_code_is_stored_as_internal_not_blamed_on_the_gateway(
    buyer, buyer_client, stocked_cart, sandbox_url, monkeypatch, caplog
):
    monkeypatch.setattr(runs, "dispatch_run", lambda *, run_id: False)
    address, lines = stocked_cart(
        buyer, {"answers": [(612345001100, "", 10)], "crashes": [(623456001200, "", 20)]}
    )
    line_row = execution._line_row

    def mapping_with_a_bug(record_row, index, line, quantities):
        if line.offer_id == 623456001200:
            raise RuntimeError(f"a bug in mapping, holding {SECRET}")
        return line_row(record_row, index, line, quantities)

    monkeypatch.setattr(execution, "_line_row", mapping_with_a_bug)
    run, _ = runs.start_preview(
        owner=buyer, address=address, lines=lines, flow="general", submission_token=uuid.uuid4()
    )
    config = gateway.GatewayConfig(base_url=sandbox_url, app_secret=SECRET, backoff_base=0.01)
    with caplog.at_level(logging.ERROR, logger="previews.execution"):
        execution.execute_run(run_id=run.pk, config=config)

    run = PreviewRun.objects.get(pk=run.pk)
    assert run.status == PreviewRun.Status.DONE
    previews = {s.supplier_name: s for s in run.suppliers.all()}
    assert previews["answers"].status == SupplierPreview.Status.OK
    crashed = previews["crashes"]
    assert (crashed.status, crashed.error_kind) == ("failed", "internal")
    assert "RuntimeError" in crashed.reason and SECRET not in crashed.reason
    assert not crashed.records.exists()  # the half-stored answer was rolled back

    (logged,) = [r for r in caplog.records if r.name == "previews.execution"]
    assert "Traceback" in logged.getMessage() and "RuntimeError" in logged.getMessage()
    assert SECRET not in caplog.text and gateway.REDACTED in logged.getMessage()

    section = supplier_section(page(buyer_client, run), "crashes")
    assert "An error in this product, not in the gateway" in section
    assert "not a valid preview" not in section
    assert "本产品自身出错" in supplier_section(page(buyer_client, run, "zh-hans"), "crashes")
