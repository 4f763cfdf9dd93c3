"""Control characters from the gateway (a NUL, an escape sequence) are stored and shown as
U+FFFD: PostgreSQL refuses a NUL in text, and the run must still end with every answer."""

import uuid

import pytest
from django.urls import reverse

from previews import execution, gateway, runs
from previews.models import PreviewRun

pytestmark = pytest.mark.django_db(transaction=True)


def test_control_characters_from_the_gateway_are_stored_as_replacement_characters(
    buyer, buyer_client, stocked_cart, sandbox_url, monkeypatch
):
    monkeypatch.setattr(runs, "dispatch_run", lambda *, run_id: False)
    address, lines = stocked_cart(
        buyer,
        {
            "controls in a message": [(671111001964, "", 2)],
            "controls in an error page": [(672222001965, "", 1)],
            "plain": [(673333001100, "", 1)],
        },
    )
    run, _ = runs.start_preview(
        owner=buyer, address=address, lines=lines, flow="general", submission_token=uuid.uuid4()
    )
    config = gateway.GatewayConfig(base_url=sandbox_url, max_attempts=1)
    execution.execute_run(run_id=run.pk, config=config)

    run = PreviewRun.objects.get(pk=run.pk)
    assert run.status == "done"
    previews = {s.supplier_name: s for s in run.suppliers.all()}
    assert previews["plain"].status == "ok"
    message_line = previews["controls in a message"].records.get().lines.get()
    assert message_line.message == "库存\ufffd紧张\ufffd[31m"
    failed = previews["controls in an error page"]
    assert failed.status == "failed"
    assert "upstream\ufffd failed" in failed.reason
    stored = [failed.reason, failed.raw_body, message_line.message]
    stored += [body for s in previews.values() for body in [s.raw_body]]
    assert not any("\x00" in text or "\x1b" in text for text in stored)

    html = buyer_client.get(reverse("previews:run-detail", args=[run.pk])).content.decode()
    assert "库存\ufffd紧张" in html
    assert "\x00" not in html and "\x1b" not in html
