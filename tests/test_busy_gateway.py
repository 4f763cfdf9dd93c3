"""A busy gateway ("系统繁忙,请稍后再试") through a whole run: retried, and when it stays
busy, said to be temporary on the run page, never "refused"."""

import re
import uuid

import pytest
from django.urls import reverse
from django.utils import translation

from previews import execution, gateway, runs
from previews.models import PreviewRun

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def no_dispatch(monkeypatch):
    """The run executes in-process against the sandbox; the worker path has its own tests."""
    monkeypatch.setattr(runs, "dispatch_run", lambda *, run_id: False)


def supplier_section(html: str, name: str) -> str:
    match = re.search(rf'<section[^>]*data-supplier="{name}".*?</section>', html, re.S)
    assert match, f"no section for {name}"
    return match.group(0)


def test_busy_suppliers_are_retried_and_a_lasting_one_is_temporary_not_refused(
    buyer, buyer_client, stocked_cart, sandbox_url, no_dispatch
):
    address, lines = stocked_cart(
        buyer,
        {
            "busy-once": [(617777001960, "", 3)],
            "always-busy": [(618888001961, "", 1)],
            "refuses": [(619999001901, "", 1)],
        },
    )
    run, _ = runs.start_preview(
        owner=buyer, address=address, lines=lines, flow="general", submission_token=uuid.uuid4()
    )
    config = gateway.GatewayConfig(base_url=sandbox_url, max_attempts=3, backoff_base=0.01)
    execution.execute_run(run_id=run.pk, config=config)

    run = PreviewRun.objects.get(pk=run.pk)
    assert run.status == "done"
    previews = {s.supplier_name: s for s in run.suppliers.all()}
    assert (previews["busy-once"].status, previews["busy-once"].attempts) == ("ok", 2)
    busy = previews["always-busy"]
    assert (busy.status, busy.error_kind, busy.attempts) == ("failed", "busy", 3)
    assert previews["refuses"].status == "rejected"  # a documented refusal stays one

    html = buyer_client.get(reverse("previews:run-detail", args=[run.pk])).content.decode()
    section = supplier_section(html, "always-busy")
    assert 'data-status="failed"' in section
    assert "Temporary failure: try again" in section
    assert "a temporary failure, not a refusal" in section
    assert "Refused by the gateway" not in section and "refused" not in section.lower()
    assert "Refused by the gateway" in supplier_section(html, "refuses")

    progress = buyer_client.get(reverse("previews:run-status", args=[run.pk])).json()
    labels = {s["id"]: s["label"] for s in progress["suppliers"]}
    assert labels[busy.pk] == "Temporary failure: try again"

    with translation.override("zh-hans"):
        assert "临时" in str(busy.get_status_display())
