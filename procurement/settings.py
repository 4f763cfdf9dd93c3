"""Settings, all read from the environment (see .env.example and the README)."""

from datetime import timedelta
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from .environment import (
    env,
    read_bool,
    read_broker_url,
    read_cache,
    read_choice,
    read_database,
    read_fen,
    read_http_url,
    read_list,
    read_non_negative_int,
    read_optional_bool,
    read_positive_float,
    read_positive_int,
    read_rate,
    read_secret,
    read_str,
)

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(read_str("PROCUREMENT_VAR_DIR", str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

# A developer's .env is a convenience; real environment variables win over it.
if (BASE_DIR / ".env").is_file():
    env.read_env(BASE_DIR / ".env", overwrite=False)

DEVELOPMENT_SECRET_KEY = "development-only-insecure-key-never-use-in-production"  # noqa: S105

DEBUG = read_bool("DJANGO_DEBUG", default=True)
SECRET_KEY = read_secret("DJANGO_SECRET_KEY", default=DEVELOPMENT_SECRET_KEY)
if not DEBUG and SECRET_KEY in ("", DEVELOPMENT_SECRET_KEY):
    raise ImproperlyConfigured(
        "DJANGO_SECRET_KEY must be set to a long random value when DJANGO_DEBUG is false; "
        'generate one with: python -c "import secrets; print(secrets.token_urlsafe(50))"'
    )
ALLOWED_HOSTS = read_list(
    "DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"] if DEBUG else []
)
CSRF_TRUSTED_ORIGINS = read_list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "crispy_forms",
    "crispy_bootstrap5",
    "axes",
    "previews",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "previews.middleware.RequestLimitsMiddleware",  # before CSRF: see its docstring
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "axes.middleware.AxesMiddleware",
]

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Login throttling: after 5 failures the *username on that address* is locked for 15
# minutes, so one person's typos never lock out a whole office behind one address.
AXES_FAILURE_LIMIT = read_positive_int("LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=read_positive_int("LOGIN_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False
# Behind our TLS proxy every request has the proxy's address: the client's is the one
# the proxy appended to X-Forwarded-For (procurement/client_address.py). Only in that
# mode: otherwise a client could forge the header and pick the address it is locked on.
BEHIND_TLS_PROXY = read_bool("DJANGO_BEHIND_TLS_PROXY", default=False)
TRUSTED_PROXY_COUNT = read_positive_int("DJANGO_TRUSTED_PROXY_COUNT", 1)
if BEHIND_TLS_PROXY:
    AXES_CLIENT_IP_CALLABLE = "procurement.client_address.forwarded_client_address"

ROOT_URLCONF = "procurement.urls"
WSGI_APPLICATION = "procurement.wsgi.application"
ASGI_APPLICATION = "procurement.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "previews.context_processors.gateway",
            ],
        },
    },
]

DATABASES = {
    "default": read_database("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
}
# The worker and management commands open a connection when they need one and close it
# (previews/execution.py); the web processes keep theirs for WEB_CONN_MAX_AGE seconds
# (DJANGO_CONN_MAX_AGE; procurement/wsgi.py applies it), checked before each reuse.
DATABASES["default"]["CONN_MAX_AGE"] = 0
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
WEB_CONN_MAX_AGE = read_non_negative_int("DJANGO_CONN_MAX_AGE", 60)
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not memory, so the test suite's worker process sees the test database.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-db.sqlite3")}
    # Web and worker write at once; WAL and a busy timeout keep SQLite from erroring.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "previews:home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("zh-hans", _("Simplified Chinese"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = read_str("DJANGO_TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(read_str("DJANGO_STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# In development WhiteNoise serves straight from static/ (no collectstatic needed).
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# Security: strict by default in production, overridable behind a TLS proxy.
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SECURE_SSL_REDIRECT = read_bool("DJANGO_SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_HSTS_SECONDS = 0 if DEBUG else 31536000
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if BEHIND_TLS_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CSP = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    # Offer pictures (issue #12) are the sellers' own, hot-linked from 1688's image hosts
    # (alicdn.com and others the gateway names): any http(s) image, nothing else. The
    # product only puts http(s) URLs in <img src>; images cannot run script.
    "img-src": ["'self'", "data:", "https:", "http:"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "frame-ancestors": ["'none'"],
    "form-action": ["'self'"],
}

# The gateway (previews/gateway/ is the only package that reaches it).
DAJI_PRODUCTION_URL = "https://openapi.dajisaas.com"
DAJI_API_URL = read_http_url("DAJI_API_URL", DAJI_PRODUCTION_URL)
DAJI_APP_KEY = read_secret("DAJI_APP_KEY")
DAJI_APP_SECRET = read_secret("DAJI_APP_SECRET")
DAJI_CONNECT_TIMEOUT = read_positive_float("DAJI_CONNECT_TIMEOUT", 3.05)
DAJI_READ_TIMEOUT = read_positive_float("DAJI_READ_TIMEOUT", 15.0)
# The most seconds one call may take in all, connect to last byte: the read timeout is per
# read, so a gateway trickling its answer a byte at a time would otherwise never time out.
DAJI_CALL_DEADLINE = read_positive_float("DAJI_CALL_DEADLINE", 20.0)
# How Product details authenticates: `sign` (an MD5 signature; the secret never travels) or
# `secret` (appSecret as a parameter). upstream/product-detail.md: sources disagree.
DAJI_PRODUCT_AUTH = read_choice("DAJI_PRODUCT_AUTH", "sign", ("sign", "secret"))
DAJI_MAX_ATTEMPTS = read_positive_int("DAJI_MAX_ATTEMPTS", 3)
DAJI_RETRY_BUDGET = read_positive_float("DAJI_RETRY_BUDGET", 30.0)

# Celery. With no CELERY_BROKER_URL an embedded broker keeps messages as files under
# var/broker: no server, shared by web and worker, and persistent across restarts.
CELERY_BROKER_URL = read_broker_url("CELERY_BROKER_URL", "filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    BROKER_DIR = Path(read_str("CELERY_BROKER_DIR", str(VAR_DIR / "broker")))
    for folder in ("queue", "control"):
        (BROKER_DIR / folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "control_folder": str(BROKER_DIR / "control"),
        "polling_interval": 0.1,
    }
    (BROKER_DIR / "results").mkdir(exist_ok=True)
    CELERY_RESULT_BACKEND = f"file://{BROKER_DIR / 'results'}"
    # kombu's filesystem transport runs Celery's synchronous loop, under which a prefork
    # pool whose child was killed never hands work to the replacement child; threads have
    # no children to lose (a killed worker is caught by the sweeper instead).
    CELERY_WORKER_POOL = "threads"
else:
    # Longer than the hard time limit, so a task is redelivered only if its worker died.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 300}
    CELERY_RESULT_BACKEND = CELERY_BROKER_URL
    # prefork: a crash takes one pool process, its task redelivered; threads: cheaper slots
    # for work that mostly waits on the gateway (a dead worker's chunk is recovered anyway).
    CELERY_WORKER_POOL = read_choice("CELERY_WORKER_POOL", "prefork", ("prefork", "threads"))
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = 120
CELERY_TASK_TIME_LIMIT = 150
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
CELERY_TASK_ALWAYS_EAGER = False
CELERY_WORKER_CONCURRENCY = read_positive_int("CELERY_WORKER_CONCURRENCY", 4)

# The gateway quota (previews/gateway/quota.py): calls per second per app key, taken in
# turns by every worker process on every machine (in Redis when the broker is Redis, in a
# file lock under var/quota on the embedded default), slowed down by itself when the
# gateway answers 429 / gw.QosAppFrequencyLimit. 0 = no limit. Set it to your account's.
DAJI_RATE_LIMIT = read_rate("DAJI_RATE_LIMIT", 40.0)
DAJI_QUOTA_STORE = (
    CELERY_BROKER_URL
    if CELERY_BROKER_URL.startswith(("redis://", "rediss://"))
    else str(Path(read_str("DAJI_QUOTA_DIR", str(VAR_DIR / "quota"))))
)
CELERY_TIMEZONE = TIME_ZONE

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": read_str("DJANGO_LOG_LEVEL", "INFO")},
    "loggers": {"urllib3": {"level": "WARNING"}},
}

# Preview runs: how many gateway calls one run makes at once, and how long one execution
# may work on a run before it is failed as overdue: past the hard time limit (the threads
# pool of the embedded broker has no time limit of its own).
PREVIEW_MAX_PARALLEL_CALLS = read_positive_int("PREVIEW_MAX_PARALLEL_CALLS", 20)
# A run's suppliers are executed in chunks of at most PREVIEW_CHUNK_SIZE, each a task of its
# own (spread over every worker), at most PREVIEW_RUN_LANES chunks of one run sent or
# executing at once (so other buyers' runs are not queued behind a big one).
PREVIEW_CHUNK_SIZE = read_positive_int("PREVIEW_CHUNK_SIZE", 20)
PREVIEW_RUN_LANES = read_positive_int("PREVIEW_RUN_LANES", 4)
PREVIEW_STALE_AFTER_SECONDS = CELERY_TASK_TIME_LIMIT + 30
# A quote older than this is marked stale wherever it appears (prices and stock move).
PREVIEW_QUOTE_MAX_AGE_HOURS = read_positive_float("PREVIEW_QUOTE_MAX_AGE_HOURS", 24.0)

# Offer lookup (issue #12): a product snapshot younger than this is reused for every
# buyer without asking the gateway; a batch looks up this many offers at once.
PRODUCT_LOOKUP_MAX_AGE_SECONDS = read_positive_int("PRODUCT_LOOKUP_MAX_AGE_SECONDS", 300)
PRODUCT_LOOKUP_MAX_PARALLEL_CALLS = read_positive_int("PRODUCT_LOOKUP_MAX_PARALLEL_CALLS", 10)

# A finished run never changes: its page's breakdown, its per-supplier lines and its
# exports are rendered once per language and kept in this cache (previews/run_pages.py)
# for RUN_PAGE_CACHE_SECONDS. Default: files under var/cache, shared by the processes of
# one machine; DJANGO_CACHE_URL=redis://HOST:6379/2 shares it between machines.
CACHES = {"default": read_cache("DJANGO_CACHE_URL", str(VAR_DIR / "cache"))}
RUN_PAGE_CACHE_SECONDS = read_positive_int("RUN_PAGE_CACHE_SECONDS", 7 * 24 * 3600)

# Bad input: how much one request and one cart import may carry (README, .env.example).
# Django refuses a form body over DATA_UPLOAD_MAX_MEMORY_SIZE (a pasted list travels in
# it; an uploaded file does not count) or with more than DATA_UPLOAD_MAX_NUMBER_FIELDS
# fields; previews.middleware answers that with the page and the limit, not a bare 400.
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440  # Django's default (2.5 MB), stated
DATA_UPLOAD_MAX_NUMBER_FIELDS = 1000  # Django's default, stated
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440  # a bigger upload is spooled to a temporary file
IMPORT_MAX_ROWS = read_positive_int("IMPORT_MAX_ROWS", 10_000)

# --- Run recovery (issue #10: runs claimed once, recovered on a schedule) ---
# Every worker process, when it starts and then every PREVIEW_RECOVERY_INTERVAL seconds,
# sends the runs saved while the broker was down and takes back the runs of a dead worker
# (previews/recovery.py); no page view and no beat process is needed. An executing run is
# touched every PREVIEW_HEARTBEAT_SECONDS; one untouched for four beats is taken for dead
# and put back in the queue (a worker that comes back resumes it), at most
# PREVIEW_MAX_EXECUTIONS starts per run. With the defaults a waiting or orphaned run is
# picked up within 5 s of the broker coming back, 12-17 s after its worker died.
PREVIEW_RECOVERY_INTERVAL = read_positive_float("PREVIEW_RECOVERY_INTERVAL", 5.0)
PREVIEW_HEARTBEAT_SECONDS = read_positive_float("PREVIEW_HEARTBEAT_SECONDS", 3.0)
PREVIEW_WORKER_LOST_AFTER_SECONDS = 4 * PREVIEW_HEARTBEAT_SECONDS
PREVIEW_MAX_EXECUTIONS = 3

# --- Ordering (issue #13: previews/orders.py) ---
# Placing orders spends money: by default it is on only when DAJI_API_URL is not the
# production gateway (a sandbox); against production it stays off until
# DAJI_ORDERING_ENABLED=true. DAJI_ORDERING_ENABLED=false turns it off anywhere.
DAJI_ORDERING_ENABLED = read_optional_bool("DAJI_ORDERING_ENABLED")
# May a buyer approve their own order request (default no), and up to which total (fen;
# unset: any total once allowed).
ORDER_SELF_APPROVAL = read_bool("ORDER_SELF_APPROVAL", default=False)
ORDER_SELF_APPROVAL_LIMIT_FEN = read_fen("ORDER_SELF_APPROVAL_LIMIT_FEN", None)
# How far (fen) the total payable previewed just before placing may differ from the
# approved one before the part goes back for approval (default 0: any change).
ORDER_PRICE_TOLERANCE_FEN = read_fen("ORDER_PRICE_TOLERANCE_FEN", 0)
# The create call's `isvBizType` ("cross" in the gateway's example).
DAJI_ISV_BIZ_TYPE = read_str("DAJI_ISV_BIZ_TYPE", "cross")
# The buyer's order list (to find an order whose create answer was lost, by the marker we
# write into its message): the gateway's page names "the buyer's recent orders" but not
# the endpoint; this path is our assumption (1688's alibaba.trade.getBuyerOrderList).
DAJI_BUYER_ORDER_LIST_PATH = read_str(
    "DAJI_BUYER_ORDER_LIST_PATH", "/alibaba/trade/getBuyerOrderList"
)
# Seconds between the recovery's refreshes of the placed orders' status from order detail.
ORDER_REFRESH_INTERVAL_SECONDS = read_positive_int("ORDER_REFRESH_INTERVAL_SECONDS", 600)
# An attempt still "claimed" or "sent" this long after it was claimed lost its worker (the
# call itself ends within DAJI_CALL_DEADLINE): the recovery makes its outcome unknown.
ORDER_ATTEMPT_LOST_AFTER_SECONDS = DAJI_CALL_DEADLINE + 4 * PREVIEW_HEARTBEAT_SECONDS
# --- A second currency beside CNY (issue #15) ---
# Where the workers fetch the European Central Bank's daily reference rates from, once a
# day (previews/rates.py, from the recovery timer): an http(s) URL of an
# eurofxref-daily.xml, e.g. https://www.ecb.europa.eu/stats/eurofxref/eurofxref-daily.xml.
# Empty (the default): no fetch, only the rates typed in the admin.
CURRENCY_RATES_URL = (
    read_http_url("CURRENCY_RATES_URL", "") if read_str("CURRENCY_RATES_URL", "") else ""
)
# A rate older than this many days on the day a run is created is flagged beside every
# figure converted with it.
CURRENCY_RATE_MAX_AGE_DAYS = read_positive_int("CURRENCY_RATE_MAX_AGE_DAYS", 7)
# A failed fetch is tried again this long after (seconds); a successful one waits a day.
CURRENCY_RATES_RETRY_SECONDS = 3600
