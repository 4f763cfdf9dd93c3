from pathlib import Path

import pytest
from django.conf import settings

from procurement.celery import app as celery_app

from .processes import child_database_url, child_env


@pytest.fixture(autouse=True)
def _default_language():
    """A test that switches to Chinese must not leave the next test reading Chinese."""
    yield
    from django.utils import translation

    translation.deactivate()


@pytest.fixture(autouse=True)
def _quick_password_hashing(settings):
    """Passwords hashed in a test take no time (tests/hashers.py); checked as ever."""
    settings.PASSWORD_HASHERS = [
        "tests.hashers.QuickPBKDF2PasswordHasher",
        *[h for h in settings.PASSWORD_HASHERS if not h.endswith("PBKDF2PasswordHasher")],
    ]


@pytest.fixture(autouse=True)
def _own_cache(settings):
    """Each test starts with an empty cache of its own (finished run pages are cached)."""
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                    "LOCATION": "tests"}
    }  # fmt: skip
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def buyer(django_user_model):
    return django_user_model.objects.create_user(username="buyer", password="pw-buyer-12345")


@pytest.fixture
def other_buyer(django_user_model):
    return django_user_model.objects.create_user(username="other", password="pw-other-12345")


@pytest.fixture
def buyer_client(client, buyer):
    client.force_login(buyer)
    return client


@pytest.fixture(scope="session")
def sandbox_url():
    """A real sandbox gateway process for the whole session (no latency)."""
    from .processes import sandbox_process

    with sandbox_process() as url:
        yield url


ADDRESS_FORM = {
    "label": "Hangzhou warehouse",
    "full_name": "张三",
    "mobile": "13812345678",
    "phone": "0571-88886666",
    "post_code": "310051",
    "district_code": "330108",
    "province_text": "",
    "city_text": "",
    "area_text": "",
    "town_text": "长河街道",
    "address": "网商路699号",
}


@pytest.fixture
def make_address():
    from previews.models import ShippingAddress

    def make(owner, **overrides):
        values = {
            **ADDRESS_FORM,
            "province_text": "浙江省",
            "city_text": "杭州市",
            "area_text": "滨江区",
            "is_default": False,
        }
        values.update(overrides)
        return ShippingAddress.objects.create(owner=owner, **values)

    return make


@pytest.fixture
def make_line():
    from previews.models import CartLine, Supplier

    def make(owner, supplier="义乌日用百货", offer_id=612345001100, quantity=1, spec_id=""):
        supplier_obj, _ = Supplier.objects.get_or_create(owner=owner, name=supplier)
        return CartLine.objects.create(
            owner=owner,
            supplier=supplier_obj,
            offer_id=offer_id,
            quantity=quantity,
            spec_id=spec_id,
        )

    return make


DEMO_SUPPLIERS = {
    # name: [(offer_id, spec_id, quantity)]; sandbox conventions in the README
    "杭州小商品店": [(670291644950, "594b40c111b019af610a0078e4316373", 1)],
    "义乌日用百货": [(612345001100, "", 10), (612345001200, "", 5), (612345001700, "", 3)],
    "深圳电子配件": [(623456001200, "", 20), (623456001904, "", 2)],
    "广州服装批发": [(634567001901, "", 4)],
    "汕头玩具厂": [(645678001950, "", 1)],  # HTTP 500 from the sandbox: a failed supplier
}


@pytest.fixture
def stocked_cart(make_address, make_line):
    """A buyer's default address and a cart whose suppliers cover ok, split, blocked,
    refused and failed answers from the sandbox."""

    def stock(owner, suppliers=DEMO_SUPPLIERS):
        address = make_address(owner, is_default=True)
        lines = [
            make_line(owner, supplier=name, offer_id=offer_id, spec_id=spec_id, quantity=quantity)
            for name, items in suppliers.items()
            for offer_id, spec_id, quantity in items
        ]
        return address, lines

    return stock


# --------------------------------------------------------------------------- real workers


def reset_producer_pool():
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@pytest.fixture
def private_broker(tmp_path):
    """The embedded broker in a folder of this test's own, so no other worker takes its tasks."""
    if not settings.CELERY_BROKER_URL.startswith("filesystem"):
        celery_app.control.purge()
        yield {"CELERY_BROKER_URL": settings.CELERY_BROKER_URL}
        return
    folder = tmp_path / "broker"
    for sub in ("queue", "control", "results"):
        (folder / sub).mkdir(parents=True)
    saved = celery_app.conf.broker_transport_options
    celery_app.conf.broker_transport_options = {
        **saved,
        "data_folder_in": str(folder / "queue"),
        "data_folder_out": str(folder / "queue"),
        "control_folder": str(folder / "control"),
    }
    reset_producer_pool()
    yield {"CELERY_BROKER_DIR": str(folder)}
    celery_app.conf.broker_transport_options = saved
    reset_producer_pool()


@pytest.fixture
def worker_env(sandbox_url, private_broker):
    env = child_env(
        DATABASE_URL=child_database_url(),
        DAJI_API_URL=sandbox_url,
        DAJI_MAX_ATTEMPTS="2",
        DAJI_READ_TIMEOUT="10",
        PROCUREMENT_VAR_DIR=str(settings.VAR_DIR),
    )
    env.pop("CELERY_BROKER_URL", None)
    env.update(private_broker)
    return env


# --------------------------------------------------------------------------- browser

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture
def chromium(monkeypatch):
    """Debian's Chromium, driven by Playwright (no browser download).

    Function-scoped: Playwright's sync API keeps an event loop in this thread while it
    runs, and Django refuses ORM calls under a running loop. The test's own ORM calls
    between browser steps are synchronous, so they are allowed for its duration only.
    """
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    from .processes import require_service

    if not Path(CHROMIUM).exists():
        require_service(f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update",
                "--disable-sync",
            ],
        )  # fmt: skip
        yield browser
        browser.close()


@pytest.fixture
def browser_page(chromium, request):
    """A fresh page; its screenshot is saved under test-artifacts/ when the test fails."""
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
    context.set_default_timeout(15_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.js_errors = errors
    yield page
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()


@pytest.fixture
def private_redis(tmp_path, monkeypatch):
    """A Redis server of the test's own (not yet started), made the web's broker; the
    test starts, stops and restarts it at will."""
    import subprocess

    import redis

    from .processes import free_port, stop_process_group, wait_until

    port = free_port()
    command = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
               "--appendonly", "no", "--dir", str(tmp_path)]  # fmt: skip
    client = redis.Redis(port=port, socket_connect_timeout=0.2)

    class PrivateRedis:
        url = f"redis://127.0.0.1:{port}/0"
        process = None

        def start(self):
            self.process = subprocess.Popen(
                command, stdout=subprocess.DEVNULL, start_new_session=True
            )
            wait_until(self.answers, timeout=10, what="the private Redis")

        def stop(self):
            stop_process_group(self.process)

        @staticmethod
        def answers() -> bool:
            try:
                return client.ping()
            except redis.exceptions.ConnectionError:
                return False

    server = PrivateRedis()
    monkeypatch.delenv("CELERY_BROKER_URL", raising=False)  # Celery lets it override conf
    saved = (celery_app.conf.broker_url, celery_app.conf.broker_transport_options)
    celery_app.conf.broker_url = server.url
    celery_app.conf.broker_transport_options = {"visibility_timeout": 300}
    reset_producer_pool()
    yield server
    if server.process is not None:
        server.stop()
    celery_app.conf.broker_url, celery_app.conf.broker_transport_options = saved
    reset_producer_pool()


def start_run(owner, address, lines, flow="general"):
    """A run started as the preview form starts one (dispatched after commit)."""
    import uuid

    from previews import runs

    run, _created = runs.start_preview(
        owner=owner, address=address, lines=lines, flow=flow, submission_token=uuid.uuid4()
    )
    return run


def wait_for_status(run_id, *, finished=False, timeout=60):
    """Wait until the run is running (or finished); return it fresh from the database."""
    from previews.models import PreviewRun

    from .processes import wait_until

    def reached():
        run = PreviewRun.objects.get(pk=run_id)
        return run if (run.is_finished if finished else run.status == "running") else None

    what = "finish" if finished else "start"
    return wait_until(reached, timeout=timeout, what=f"run {run_id} to {what}")


def sandbox_config(url):
    """A gateway config for the sandbox that gives up fast, for runs executed in-process."""
    from previews import gateway

    return gateway.GatewayConfig(base_url=url, max_attempts=2, backoff_base=0.01, read_timeout=3)


@pytest.fixture
def inline_runs(monkeypatch, sandbox_url):
    """Runs executed in this process against the sandbox, instead of by a worker."""
    from previews import execution, runs

    def dispatch(*, run_id):
        execution.execute_run(run_id=run_id, config=sandbox_config(sandbox_url))
        return True

    monkeypatch.setattr(runs, "dispatch_run", dispatch)


@pytest.fixture(scope="session")
def product_gateway(sandbox_url):
    """The sandbox's Product details over real HTTP, with a config that gives up fast."""
    from .product_gateway import ProductGateway

    return ProductGateway(sandbox_url)


@pytest.fixture
def execute_now(monkeypatch, product_gateway):
    """A lookup batch is executed in-process at commit, against the sandbox over HTTP."""
    from previews import lookups

    def execute(*, batch_id):
        lookups.execute_batch(batch_id=batch_id, config=product_gateway.config())
        return True

    monkeypatch.setattr(lookups, "dispatch_batch", execute)
