import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "procurement.settings")
application = get_wsgi_application()


def _persistent_web_connections() -> None:
    """The web processes (gunicorn, runserver: both load this module) keep a database
    connection for WEB_CONN_MAX_AGE seconds instead of one per request; the worker and
    management commands keep CONN_MAX_AGE=0 (settings.py)."""
    from django.conf import settings
    from django.db import connections

    connections.settings["default"]["CONN_MAX_AGE"] = settings.WEB_CONN_MAX_AGE


_persistent_web_connections()
