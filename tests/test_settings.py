"""Settings come from the environment; bad values stop start-up and name the variable."""

import json
import subprocess
import sys

import pytest

from .processes import ROOT

OUR_VARIABLES = (
    "DJANGO_SECRET_KEY", "DJANGO_DEBUG", "DJANGO_ALLOWED_HOSTS", "DATABASE_URL",
    "CELERY_BROKER_URL", "CELERY_BROKER_DIR", "DAJI_API_URL", "DAJI_APP_KEY",
    "DAJI_APP_SECRET", "DAJI_CONNECT_TIMEOUT", "DAJI_READ_TIMEOUT", "DAJI_MAX_ATTEMPTS",
    "DJANGO_CSRF_TRUSTED_ORIGINS", "DJANGO_SECURE_SSL_REDIRECT", "DJANGO_TIME_ZONE",
    "PREVIEW_MAX_PARALLEL_CALLS", "PREVIEW_QUOTE_MAX_AGE_HOURS", "CELERY_WORKER_CONCURRENCY",
    "LOGIN_FAILURE_LIMIT", "LOGIN_COOLOFF_MINUTES", "DJANGO_CONN_MAX_AGE", "DJANGO_CACHE_URL",
    "RUN_PAGE_CACHE_SECONDS",
)  # fmt: skip

PRODUCTION = {
    "DJANGO_DEBUG": "false",
    "DJANGO_SECRET_KEY": "x7" * 30 + "-a-long-random-production-secret",
    "DJANGO_ALLOWED_HOSTS": "previews.example.com",
}

READ_SETTINGS = """
import json, django
from django.conf import settings
django.setup()
db = settings.DATABASES["default"]
print(json.dumps({
    "DEBUG": settings.DEBUG,
    "ALLOWED_HOSTS": settings.ALLOWED_HOSTS,
    "ENGINE": db["ENGINE"], "NAME": str(db["NAME"]), "HOST": db.get("HOST"),
    "BROKER": settings.CELERY_BROKER_URL,
    "RESULTS": settings.CELERY_RESULT_BACKEND,
    "DAJI_API_URL": settings.DAJI_API_URL,
    "DAJI_APP_KEY": settings.DAJI_APP_KEY,
    "DAJI_APP_SECRET": settings.DAJI_APP_SECRET,
    "DAJI_READ_TIMEOUT": settings.DAJI_READ_TIMEOUT,
    "DAJI_CONNECT_TIMEOUT": settings.DAJI_CONNECT_TIMEOUT,
    "DAJI_MAX_ATTEMPTS": settings.DAJI_MAX_ATTEMPTS,
    "SECURE_SSL_REDIRECT": settings.SECURE_SSL_REDIRECT,
    "SESSION_COOKIE_SECURE": settings.SESSION_COOKIE_SECURE,
    "PARALLEL": settings.PREVIEW_MAX_PARALLEL_CALLS,
    "QUOTE_HOURS": settings.PREVIEW_QUOTE_MAX_AGE_HOURS,
    "CONCURRENCY": settings.CELERY_WORKER_CONCURRENCY,
    "POOL": settings.CELERY_WORKER_POOL,
    "LOGIN_LIMIT": settings.AXES_FAILURE_LIMIT,
    "COOLOFF_MINUTES": settings.AXES_COOLOFF_TIME.total_seconds() / 60,
}))
"""


def run_python(code: str, env_overrides: dict[str, str], tmp_path) -> subprocess.CompletedProcess:
    import os

    env = {k: v for k, v in os.environ.items() if k not in OUR_VARIABLES}
    env["DJANGO_SETTINGS_MODULE"] = "procurement.settings"
    env["PROCUREMENT_VAR_DIR"] = str(tmp_path / "var")
    env.update(env_overrides)
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )


def read_settings(tmp_path, **env_overrides) -> dict:
    result = run_python(READ_SETTINGS, env_overrides, tmp_path)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def start_up_error(tmp_path, **env_overrides) -> str:
    result = run_python(READ_SETTINGS, env_overrides, tmp_path)
    assert result.returncode != 0, f"start-up should have failed: {result.stdout}"
    return result.stderr


def test_defaults_are_sqlite_embedded_broker_and_production_gateway(tmp_path):
    values = read_settings(tmp_path)
    assert values["DEBUG"] is True
    assert values["ENGINE"] == "django.db.backends.sqlite3"
    assert values["NAME"] == str(tmp_path / "var" / "db.sqlite3")
    assert values["BROKER"] == "filesystem://"
    assert values["RESULTS"].startswith("file://")
    assert values["DAJI_API_URL"] == "https://openapi.dajisaas.com"
    assert values["DAJI_APP_KEY"] == ""
    assert values["DAJI_MAX_ATTEMPTS"] == 3
    assert values["POOL"] == "threads"
    assert (values["PARALLEL"], values["QUOTE_HOURS"], values["LOGIN_LIMIT"]) == (20, 24.0, 5)


def test_every_variable_is_read(tmp_path):
    values = read_settings(
        tmp_path,
        DJANGO_DEBUG="no",
        DJANGO_SECRET_KEY="a-real-production-secret-" * 3,
        DJANGO_ALLOWED_HOSTS="a.example, b.example",
        DATABASE_URL="postgres://buyer:pw@db.internal:5433/previews",
        CELERY_BROKER_URL="redis://cache.internal:6379/2",
        DAJI_API_URL="http://127.0.0.1:9999/",
        DAJI_APP_KEY="key-123",
        DAJI_APP_SECRET="secret-456",
        DAJI_CONNECT_TIMEOUT="1.5",
        DAJI_READ_TIMEOUT="7",
        DAJI_MAX_ATTEMPTS="5",
        DJANGO_SECURE_SSL_REDIRECT="off",
        PREVIEW_MAX_PARALLEL_CALLS="7",
        PREVIEW_QUOTE_MAX_AGE_HOURS="1.5",
        CELERY_WORKER_CONCURRENCY="3",
        LOGIN_FAILURE_LIMIT="8",
        LOGIN_COOLOFF_MINUTES="30",
    )
    assert values["DEBUG"] is False
    assert values["ALLOWED_HOSTS"] == ["a.example", "b.example"]
    assert values["ENGINE"] == "django.db.backends.postgresql"
    assert (values["NAME"], values["HOST"]) == ("previews", "db.internal")
    assert values["BROKER"] == values["RESULTS"] == "redis://cache.internal:6379/2"
    assert values["DAJI_API_URL"] == "http://127.0.0.1:9999"
    assert (values["DAJI_APP_KEY"], values["DAJI_APP_SECRET"]) == ("key-123", "secret-456")
    assert (values["DAJI_CONNECT_TIMEOUT"], values["DAJI_READ_TIMEOUT"]) == (1.5, 7.0)
    assert values["DAJI_MAX_ATTEMPTS"] == 5
    assert values["SECURE_SSL_REDIRECT"] is False
    assert values["SESSION_COOKIE_SECURE"] is True
    assert (values["PARALLEL"], values["QUOTE_HOURS"], values["CONCURRENCY"]) == (7, 1.5, 3)
    assert (values["LOGIN_LIMIT"], values["COOLOFF_MINUTES"]) == (8, 30)
    assert values["POOL"] == "prefork"  # on Redis; the embedded broker uses threads


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("DATABASE_URL", "nonsense"),
        ("DATABASE_URL", "mysql://u:p@h/db"),
        ("CELERY_BROKER_URL", "nonsense"),
        ("DJANGO_DEBUG", "maybe"),
        ("DAJI_API_URL", "ftp://gateway"),
        ("DAJI_READ_TIMEOUT", "soon"),
        ("DAJI_CONNECT_TIMEOUT", "-1"),
        ("DAJI_MAX_ATTEMPTS", "0"),
        ("DAJI_CALL_DEADLINE", "0"),
        ("DAJI_PRODUCT_AUTH", "md5"),
        ("PREVIEW_MAX_PARALLEL_CALLS", "many"),
        ("PREVIEW_QUOTE_MAX_AGE_HOURS", "0"),
        ("LOGIN_FAILURE_LIMIT", "-3"),
        ("DAJI_RATE_LIMIT", "-1"),
        ("DAJI_RATE_LIMIT", "fast"),
        ("PREVIEW_CHUNK_SIZE", "0"),
        ("PREVIEW_RUN_LANES", "none"),
        ("DJANGO_CONN_MAX_AGE", "-1"),
        ("DJANGO_CACHE_URL", "memcached://127.0.0.1:11211"),
        ("DJANGO_CACHE_URL", "file://relative/folder"),
        ("RUN_PAGE_CACHE_SECONDS", "0"),
    ],
)
def test_malformed_value_stops_start_up_naming_the_variable(tmp_path, variable, value):
    error = start_up_error(tmp_path, **{variable: value})
    assert "ImproperlyConfigured" in error
    assert variable in error.strip().splitlines()[-1]


def test_call_deadline_defaults_to_20_s_and_reaches_the_gateway_client(tmp_path):
    code = (
        "import django; django.setup(); from django.conf import settings;"
        "from previews.execution import gateway_config;"
        "print(settings.DAJI_CALL_DEADLINE, gateway_config().call_deadline)"
    )
    default = run_python(code, {}, tmp_path)
    assert default.stdout.split() == ["20.0", "20.0"], default.stderr
    configured = run_python(code, {"DAJI_CALL_DEADLINE": "7.5"}, tmp_path)
    assert configured.stdout.split() == ["7.5", "7.5"], configured.stderr


def test_product_auth_defaults_to_sign_and_reaches_the_gateway_client(tmp_path):
    code = (
        "import django; django.setup(); from django.conf import settings;"
        "from previews.execution import gateway_config;"
        "print(settings.DAJI_PRODUCT_AUTH, gateway_config().product_auth)"
    )
    default = run_python(code, {}, tmp_path)
    assert default.stdout.split() == ["sign", "sign"], default.stderr
    configured = run_python(code, {"DAJI_PRODUCT_AUTH": "secret"}, tmp_path)
    assert configured.stdout.split() == ["secret", "secret"], configured.stderr


def test_rate_limit_reaches_the_gateway_client_with_its_store(tmp_path):
    """40 calls/s by default, 0 turns the quota off; kept in a folder on the embedded
    broker, in Redis when the broker is Redis."""
    code = (
        "import django; django.setup(); from previews.execution import gateway_config;"
        "c = gateway_config(); print(c.rate_limit, c.quota_store)"
    )
    default = run_python(code, {}, tmp_path)
    rate, store = default.stdout.split()
    assert rate == "40.0" and store.endswith("quota"), default.stderr
    off = run_python(code, {"DAJI_RATE_LIMIT": "0"}, tmp_path)
    assert off.stdout.split()[0] == "0.0", off.stderr
    redis = run_python(code, {"CELERY_BROKER_URL": "redis://127.0.0.1:6379/3"}, tmp_path)
    assert redis.stdout.split()[1] == "redis://127.0.0.1:6379/3", redis.stderr


def test_database_password_is_not_echoed_in_the_error(tmp_path):
    error = start_up_error(tmp_path, DATABASE_URL="mysql://user:hunter2-pw@host/db")
    assert "hunter2-pw" not in error


def test_production_refuses_the_development_secret_key(tmp_path):
    error = start_up_error(tmp_path, DJANGO_DEBUG="false")
    assert "DJANGO_SECRET_KEY" in error.strip().splitlines()[-1]


def test_check_deploy_is_clean_with_the_documented_production_variables(tmp_path):
    result = run_python(
        "import sys; from django.core.management import execute_from_command_line;"
        "execute_from_command_line(['manage.py', 'check', '--deploy', '--fail-level', 'DEBUG'])",
        PRODUCTION,
        tmp_path,
    )
    assert result.returncode == 0, result.stderr + result.stdout
    assert "no issues" in result.stdout


def test_check_deploy_complains_in_development_settings(tmp_path):
    result = run_python(
        "from django.core.management import execute_from_command_line;"
        "execute_from_command_line(['manage.py', 'check', '--deploy', '--fail-level', 'WARNING'])",
        {},
        tmp_path,
    )
    assert result.returncode != 0
    assert "security.W018" in result.stderr  # DEBUG on


def test_web_processes_keep_their_connection_and_the_worker_does_not(tmp_path):
    """DJANGO_CONN_MAX_AGE (default 60 s) applies where the web is served (wsgi.py, which
    gunicorn and runserver load); the worker and commands keep closing theirs."""
    web = (
        "import procurement.wsgi; from django.conf import settings;"
        "from django.db import connection;"
        "print(connection.settings_dict['CONN_MAX_AGE'], connection.settings_dict["
        "'CONN_HEALTH_CHECKS'], settings.CACHES['default']['BACKEND'].rsplit('.', 1)[-1])"
    )
    default = run_python(web, {}, tmp_path)
    assert default.stdout.split() == ["60", "True", "FileBasedCache"], default.stderr
    configured = run_python(
        web, {"DJANGO_CONN_MAX_AGE": "0", "DJANGO_CACHE_URL": "redis://127.0.0.1:6379/2"}, tmp_path
    )
    assert configured.stdout.split() == ["0", "True", "RedisCache"], configured.stderr
    worker = (
        "import django; django.setup(); from django.db import connection;"
        "print(connection.settings_dict['CONN_MAX_AGE'])"
    )
    assert run_python(worker, {}, tmp_path).stdout.split() == ["0"]
