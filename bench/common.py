"""What every benchmark needs first: Django set up on a throw-away database, and a buyer."""

import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def setup_django(prefix: str, **environment: str) -> Path:
    """Point Django at a fresh folder (SQLite file, embedded broker) unless DATABASE_URL or
    CELERY_BROKER_URL say otherwise, set it up, migrate, and return the folder."""
    sys.path.insert(0, str(ROOT))
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    os.environ.setdefault("PROCUREMENT_VAR_DIR", str(folder))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "procurement.settings")
    os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "testserver,127.0.0.1")
    os.environ.update(environment)
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    return folder


def buyer_with_address(username: str):
    """A buyer and their default address in Hangzhou."""
    from django.contrib.auth import get_user_model

    from previews.models import ShippingAddress

    user = get_user_model().objects.create_user(username)
    address = ShippingAddress.objects.create(
        owner=user, label="HZ", full_name="张三", mobile="13812345678", phone="",
        post_code="310051", province_text="浙江省", city_text="杭州市", area_text="滨江区",
        town_text="长河街道", address="网商路699号", district_code="330108", is_default=True,
    )  # fmt: skip
    return user, address


# --------------------------------------------------------------------------- workers' benches


def load_average() -> str:
    """The machine's load (1, 5, 15 min), to note beside every figure: it is shared."""
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def offer_of(seller: int, line: int = 0) -> int:
    """An offer of `seller` whose last three digits (100) ask the sandbox for no scenario."""
    return seller * 1_000_000 + line * 1000 + 100


def stock_suppliers(user, suppliers: int, *, lines: int = 1, first_seller: int = 700000):
    """`suppliers` suppliers with `lines` cart lines each, every supplier a seller of its own."""
    from previews.models import CartLine, Supplier

    cart = []
    for n in range(suppliers):
        supplier = Supplier.objects.create(owner=user, name=f"Supplier {first_seller + n}")
        cart += CartLine.objects.bulk_create(
            CartLine(
                owner=user, supplier=supplier, offer_id=offer_of(first_seller + n, k), quantity=3
            )
            for k in range(lines)
        )
    return list(
        CartLine.objects.filter(pk__in=[line.pk for line in cart]).select_related("supplier")
    )


def submit_run(user, address, lines) -> int:
    """Start a run as the preview form does (sent to the workers after commit)."""
    import uuid

    from previews import runs

    run, _ = runs.start_preview(
        owner=user, address=address, lines=lines, flow="general", submission_token=uuid.uuid4()
    )
    return run.pk


def wait_finished(run_ids, *, timeout: float = 600, poll: float = 0.02) -> dict[int, float]:
    """Poll the database until every run is finished; returns when each was seen finished
    (time.perf_counter) and checks each ended done."""
    import time

    from previews.models import PreviewRun

    waiting, ended = set(run_ids), {}
    deadline = time.perf_counter() + timeout
    while waiting:
        if time.perf_counter() > deadline:
            raise SystemExit(f"runs {sorted(waiting)} not finished within {timeout} s")
        now = time.perf_counter()
        for pk, status in PreviewRun.objects.filter(pk__in=waiting).values_list("pk", "status"):
            if status in ("done", "failed"):
                ended[pk] = now
                waiting.discard(pk)
        time.sleep(poll)
    return ended


def started_workers(stack, env: dict, *, count: int, concurrency: int, log_dir: Path):
    """`count` real Celery worker nodes of `concurrency` slots each, started in `stack`
    (a contextlib.ExitStack) and stopped with it."""
    from tests.processes import celery_worker

    for n in range(count):
        stack.enter_context(
            celery_worker(
                env, concurrency=concurrency, log=log_dir / f"worker{n}.log", name=f"w{n}"
            )
        )


def configuration() -> str:
    """Database and broker of this bench, as quoted beside its figures."""
    from django.conf import settings

    broker = settings.CELERY_BROKER_URL.split(":", 1)[0]
    engine = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    return f"{engine} + {broker}"
