"""Known gateway credentials appear in no log line, page, stored body or error text."""

import logging
import uuid

import pytest
from django.core import serializers
from django.urls import reverse

from previews.models import (
    PreviewLine,
    PreviewPromotion,
    PreviewRecord,
    PreviewRun,
    SupplierPreview,
)

from .services import celery_worker, wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

APP_KEY = "appkey-7f3a9c1e-visible"
APP_SECRET = "appsecret-91bc44d2-visible"


def test_credentials_appear_nowhere(
    buyer, buyer_client, admin_client, stocked_cart, worker_env, tmp_path, caplog, settings
):
    settings.DAJI_APP_KEY, settings.DAJI_APP_SECRET = APP_KEY, APP_SECRET
    worker_env.update(DAJI_APP_KEY=APP_KEY, DAJI_APP_SECRET=APP_SECRET, DJANGO_LOG_LEVEL="DEBUG")
    caplog.set_level(logging.DEBUG)
    address, lines = stocked_cart(
        buyer,
        {
            "ok": [(670291644950, "", 1)],
            "echo": [(691234001958, "", 1)],  # the sandbox echoes the request, credentials and all
            "broken": [(692345001950, "", 1)],  # HTTP 500
        },
    )
    log = tmp_path / "worker.log"
    with celery_worker(worker_env, log=log):
        buyer_client.post(
            reverse("previews:preview-create"),
            {"address": address.pk, "lines": [line.pk for line in lines], "flow": "general",
             "submission_token": str(uuid.uuid4())},
        )  # fmt: skip
        run = PreviewRun.objects.get(owner=buyer)
        wait_until(lambda: PreviewRun.objects.get(pk=run.pk).is_finished, timeout=60)
    statuses = dict(SupplierPreview.objects.filter(run=run).values_list("supplier_name", "status"))
    assert statuses == {"ok": "ok", "echo": "rejected", "broken": "failed"}
    echoed = SupplierPreview.objects.get(run=run, supplier_name="echo")
    assert "请求内容" in echoed.reason and "[redacted]" in echoed.raw_body

    texts = {"worker log": log.read_text(), "test log": caplog.text}
    for name in ("run-detail", "run-status", "run-csv", "run-xlsx", "run-compare"):
        texts[name] = buyer_client.get(reverse(f"previews:{name}", args=[run.pk])).content.decode(
            "utf-8", "replace"
        )
    texts["history"] = buyer_client.get(reverse("previews:run-list")).content.decode()
    texts["admin run"] = admin_client.get(
        reverse("admin:previews_previewrun_change", args=[run.pk])
    ).content.decode()
    for preview in SupplierPreview.objects.filter(run=run):
        texts[f"admin {preview.supplier_name}"] = admin_client.get(
            reverse("admin:previews_supplierpreview_change", args=[preview.pk])
        ).content.decode()
    for model in (PreviewRun, SupplierPreview, PreviewRecord, PreviewLine, PreviewPromotion):
        texts[f"stored {model.__name__}"] = serializers.serialize("json", model.objects.all())
    assert "raw-body" in texts["admin echo"]  # the raw body is shown to administrators
    for name, text in texts.items():
        assert APP_KEY not in text, name
        assert APP_SECRET not in text, name
