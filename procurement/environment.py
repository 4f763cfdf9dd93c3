"""Typed, strict reading of the environment for settings.

django-environ parses URLs and lists; this module adds what it lacks for a product
that must fail loudly: a malformed value stops start-up with a message that names the
variable (and never echoes a credential back).
"""

from __future__ import annotations

from urllib.parse import urlsplit

import environ
from django.core.exceptions import ImproperlyConfigured

env = environ.Env()

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}

DATABASE_ENGINES = {
    "django.db.backends.postgresql",
    "django.db.backends.sqlite3",
}
BROKER_SCHEMES = {"filesystem", "redis", "rediss", "amqp", "pyamqp", "memory"}


def _raw(name: str) -> str | None:
    value = env.str(name, default=None)
    if value is None:
        return None
    return value.strip()


def read_bool(name: str, default: bool) -> bool:
    """A boolean that rejects anything but the usual spellings."""
    value = _raw(name)
    if value is None or value == "":
        return default
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise ImproperlyConfigured(
        f"{name} must be true or false (got {value!r}); accepted: 1/0, true/false, yes/no, on/off."
    )


def read_str(name: str, default: str) -> str:
    value = _raw(name)
    return default if value is None or value == "" else value


def read_choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    """One of `choices`; anything else stops start-up naming the variable and the choices."""
    value = read_str(name, default)
    if value not in choices:
        raise ImproperlyConfigured(f"{name} must be one of {', '.join(choices)} (got {value!r}).")
    return value


def read_secret(name: str, default: str = "") -> str:
    """A credential: read as is, and never quoted back in an error."""
    value = env.str(name, default=None)
    return default if value is None else value


def read_list(name: str, default: list[str]) -> list[str]:
    value = _raw(name)
    if value is None or value == "":
        return list(default)
    return [item.strip() for item in value.split(",") if item.strip()]


def read_positive_float(name: str, default: float) -> float:
    value = _raw(name)
    if value is None or value == "":
        return default
    try:
        number = float(value)
    except ValueError:
        number = -1.0
    if not number > 0:
        raise ImproperlyConfigured(f"{name} must be a positive number of seconds (got {value!r}).")
    return number


def read_rate(name: str, default: float) -> float:
    """A number of calls per second, 0 or more (0: no limit)."""
    value = _raw(name)
    if value is None or value == "":
        return default
    try:
        number = float(value)
    except ValueError:
        number = -1.0
    if not number >= 0 or number == float("inf"):
        raise ImproperlyConfigured(
            f"{name} must be a number of calls per second, 0 for no limit (got {value!r})."
        )
    return number


def read_positive_int(name: str, default: int) -> int:
    value = _raw(name)
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise ImproperlyConfigured(f"{name} must be a whole number of at least 1 (got {value!r}).")
    return number


def read_non_negative_int(name: str, default: int) -> int:
    value = _raw(name)
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        number = -1
    if number < 0:
        raise ImproperlyConfigured(f"{name} must be a whole number of at least 0 (got {value!r}).")
    return number


def read_http_url(name: str, default: str) -> str:
    value = read_str(name, default)
    parts = urlsplit(value)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise ImproperlyConfigured(f"{name} must be an http:// or https:// URL (got {value!r}).")
    return value.rstrip("/")


def read_database(name: str, default: str) -> dict:
    """A database URL as a Django DATABASES entry (PostgreSQL or SQLite)."""
    value = read_str(name, default)
    try:
        config = env.db_url_config(value)
    except Exception:  # django-environ raises several kinds on garbage
        config = {}
    if config.get("ENGINE") not in DATABASE_ENGINES or not config.get("NAME"):
        scheme = urlsplit(value).scheme or "(none)"
        raise ImproperlyConfigured(
            f"{name} is not a usable database URL (scheme {scheme!r}); expected "
            "postgres://USER:PASSWORD@HOST:PORT/NAME or sqlite:////absolute/path.sqlite3."
        )
    return config


def read_broker_url(name: str, default: str) -> str:
    value = read_str(name, default)
    scheme = urlsplit(value).scheme
    if scheme not in BROKER_SCHEMES:
        raise ImproperlyConfigured(
            f"{name} is not a broker URL this product supports (scheme {scheme or '(none)'!r}); "
            "leave it unset for the embedded broker, or use redis://HOST:PORT/DB."
        )
    return value


def read_cache(name: str, default_folder: str) -> dict:
    """A cache URL as a Django CACHES entry: empty for a file cache in `default_folder`
    (shared by the processes of one machine), file:///absolute/folder, redis://HOST:PORT/DB
    (Django's own Redis cache, shared by every machine), or locmem:// (one process)."""
    value = read_str(name, f"file://{default_folder}")
    parts = urlsplit(value)
    if parts.scheme == "file" and parts.path.startswith("/") and not parts.netloc:
        return {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
                "LOCATION": parts.path, "OPTIONS": {"MAX_ENTRIES": 20_000}}  # fmt: skip
    if parts.scheme in {"redis", "rediss"} and parts.netloc:
        return {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": value}
    if parts.scheme == "locmem":
        return {"BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                "LOCATION": parts.netloc or "default"}  # fmt: skip
    raise ImproperlyConfigured(
        f"{name} is not a cache URL this product supports (scheme {parts.scheme or '(none)'!r}); "
        "leave it unset for a file cache under var/, or use file:///absolute/folder, "
        "redis://HOST:PORT/DB or locmem://."
    )


def read_optional_bool(name: str) -> bool | None:
    """A boolean as `read_bool`, or None when unset (the default is decided elsewhere)."""
    value = _raw(name)
    if value is None or value == "":
        return None
    return read_bool(name, default=False)


def read_fen(name: str, default: int | None) -> int | None:
    """An amount in whole fen, 0 or more; unset is `default` (None: no amount)."""
    value = _raw(name)
    if value is None or value == "":
        return default
    if not value.isascii() or not value.isdigit():
        raise ImproperlyConfigured(
            f"{name} must be a whole number of fen, 0 or more (got {value!r}); ¥1.00 is 100."
        )
    return int(value)
