"""The Celery application: configured from Django settings (CELERY_* names)."""

import os

from celery import Celery

from . import broker

broker.install()  # the embedded broker writes a message in full before a worker sees it

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "procurement.settings")

app = Celery("procurement")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
