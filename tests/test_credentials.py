"""Known gateway credentials appear in no log line, page, stored body, error text or
broker message, in any encoding an echoing answer gives them."""

import base64
import io
import json
import logging
import uuid
from pathlib import Path

import pytest
import requests
from django.conf import settings as django_settings
from django.core import serializers
from django.urls import reverse
from openpyxl import load_workbook

from previews.models import (
    PreviewLine,
    PreviewPromotion,
    PreviewRecord,
    PreviewRun,
    SupplierPreview,
)

from .processes import celery_worker, wait_until, web_server

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

# Credentials with a quote, a backslash, a slash, a space and Chinese characters: an
# echo shows them as \", \\, \u5bc6, %22, + ... Each carries distinctive fragments that
# survive every encoding (JSON, URL, twice), so finding none of them anywhere proves
# that no encoding of the credential leaked.
APP_KEY = 'key-Q7zXkP"密钥\\Rt5YwL'
APP_SECRET = 'secret Wq9VmN\\"可见/秘密 Hb3JdS'
FRAGMENTS = ("Q7zXkP", "Rt5YwL", "Wq9VmN", "Hb3JdS")
PASSWORD = "pw-buyer-12345"


def broker_messages(broker: dict[str, str]) -> list[str]:
    """Every message stored on the broker, with kombu's base64 bodies decoded."""
    stored: list[str] = []
    if "CELERY_BROKER_DIR" in broker:  # the embedded broker: one file per message
        for path in sorted(Path(broker["CELERY_BROKER_DIR"]).rglob("*")):
            if path.is_file():
                stored.append(path.read_bytes().decode("utf-8", "replace"))
    else:  # Redis: every key and value of the broker's database
        import redis

        client = redis.Redis.from_url(broker["CELERY_BROKER_URL"])
        for key in client.scan_iter():
            kind = client.type(key).decode()
            values = {
                "string": lambda k: [client.get(k)],
                "list": lambda k: client.lrange(k, 0, -1),
                "hash": lambda k: [v for pair in client.hgetall(k).items() for v in pair],
                "set": lambda k: list(client.smembers(k)),
                "zset": lambda k: client.zrange(k, 0, -1),
            }.get(kind, lambda k: [])(key)
            stored += [key.decode("utf-8", "replace")]
            stored += [v.decode("utf-8", "replace") for v in values if v is not None]
    decoded = []
    for text in stored:
        try:
            message = json.loads(text)
        except ValueError:
            continue
        if isinstance(message, dict) and message.get("properties", {}).get("body_encoding") == (
            "base64"
        ):
            decoded.append(base64.b64decode(message["body"]).decode("utf-8", "replace"))
    return stored + decoded


def _task_args(text: str) -> list:
    """The positional arguments of a Celery task message body (protocol 2), if it is one."""
    try:
        body = json.loads(text)
    except ValueError:
        return []
    return body[0] if isinstance(body, list) and body and isinstance(body[0], list) else []


def http_log_in(base: str) -> requests.Session:
    session = requests.Session()
    session.get(f"{base}/accounts/login/", timeout=10)
    response = session.post(
        f"{base}/accounts/login/",
        data={"username": "buyer", "password": PASSWORD,
              "csrfmiddlewaretoken": session.cookies["csrftoken"]},
        allow_redirects=False, timeout=10,
    )  # fmt: skip
    assert response.status_code == 302
    return session


def test_credentials_appear_nowhere(
    buyer, admin_client, stocked_cart, worker_env, tmp_path, caplog, settings
):
    settings.DAJI_APP_KEY, settings.DAJI_APP_SECRET = APP_KEY, APP_SECRET
    env = {**worker_env, "DAJI_APP_KEY": APP_KEY, "DAJI_APP_SECRET": APP_SECRET,
           "DJANGO_LOG_LEVEL": "DEBUG"}  # fmt: skip
    broker = {k: v for k, v in env.items() if k in ("CELERY_BROKER_DIR", "CELERY_BROKER_URL")}
    caplog.set_level(logging.DEBUG)
    address, lines = stocked_cart(
        buyer,
        {
            "ok": [(670291644950, "", 1)],
            "echo": [(691234001958, "", 1)],  # the sandbox echoes the request, credentials and all
            "broken": [(692345001950, "", 1)],  # HTTP 500
        },
    )
    web_log, worker_log = tmp_path / "web.log", tmp_path / "worker.log"
    texts: dict[str, str] = {}
    with web_server(env, log=web_log) as base:
        session = http_log_in(base)
        session.post(
            f"{base}{reverse('previews:preview-create')}",
            data={"address": address.pk, "lines": [line.pk for line in lines], "flow": "general",
                  "submission_token": str(uuid.uuid4()),
                  "csrfmiddlewaretoken": session.cookies["csrftoken"]},
            timeout=10,
        )  # fmt: skip
        run = PreviewRun.objects.get(owner=buyer)
        # The task waits on the broker until a worker starts: read it there first.
        queued = wait_until(lambda: broker_messages(broker), timeout=20, what="the task")
        assert any(_task_args(message)[:1] == [run.pk] for message in queued)  # the task
        texts["broker, queued"] = "\n".join(queued)
        with celery_worker(env, log=worker_log):
            status_url = f"{base}{reverse('previews:run-status', args=[run.pk])}"
            wait_until(
                lambda: session.get(status_url, timeout=10).json()["finished"], timeout=60,
                what="the run to finish",
            )  # fmt: skip
        for name in ("run-detail", "run-status", "run-csv", "run-compare"):
            url = f"{base}{reverse(f'previews:{name}', args=[run.pk])}"
            texts[name] = session.get(url, timeout=10).content.decode("utf-8", "replace")
        xlsx = session.get(f"{base}{reverse('previews:run-xlsx', args=[run.pk])}", timeout=10)
        sheet = load_workbook(io.BytesIO(xlsx.content)).active
        texts["run-xlsx"] = "\n".join(str(v) for row in sheet.iter_rows(values_only=True)
                                      for v in row if v is not None)  # fmt: skip
        texts["history"] = session.get(f"{base}{reverse('previews:run-list')}", timeout=10).text
    texts["broker, after"] = "\n".join(broker_messages(broker))
    texts["web server log"] = web_log.read_text("utf-8", "replace")
    texts["worker log"] = worker_log.read_text("utf-8", "replace")
    texts["test log"] = caplog.text

    texts["admin run"] = admin_client.get(
        reverse("admin:previews_previewrun_change", args=[run.pk])
    ).content.decode()
    for preview in SupplierPreview.objects.filter(run=run):
        texts[f"admin {preview.supplier_name}"] = admin_client.get(
            reverse("admin:previews_supplierpreview_change", args=[preview.pk])
        ).content.decode()
    for model in (PreviewRun, SupplierPreview, PreviewRecord, PreviewLine, PreviewPromotion):
        texts[f"stored {model.__name__}"] = serializers.serialize("json", model.objects.all())
    assert django_settings.DAJI_APP_SECRET == APP_SECRET
    leaks = {name: [f for f in FRAGMENTS if f in text] for name, text in texts.items()}
    assert {name: found for name, found in leaks.items() if found} == {}

    statuses = dict(SupplierPreview.objects.filter(run=run).values_list("supplier_name", "status"))
    assert statuses == {"ok": "ok", "echo": "rejected", "broken": "failed"}
    echoed = SupplierPreview.objects.get(run=run, supplier_name="echo")
    # The echo carried both credentials five ways (JSON body, query string, path, JSON
    # log, raw), each removed.
    assert "请求内容" in echoed.reason and echoed.reason.count("[redacted]") >= 10
    assert "[redacted]" in echoed.raw_body
    json.loads(echoed.raw_body)  # still valid JSON once redacted
    assert "GET /runs/" in texts["web server log"]  # the log is the server's, and complete

    assert "raw-body" in texts["admin echo"]  # the raw body is shown to administrators
