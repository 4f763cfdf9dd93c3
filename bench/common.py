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
    os.environ.setdefault("DJANGO_LOG_LEVEL", "WARNING")
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


def machine_load() -> str:
    """The load averages (as `uptime` prints them), to note beside each figure: the
    machine is shared, so figures are compared as ratios within one run."""
    one, five, fifteen = os.getloadavg()
    return f"load {one:.2f} {five:.2f} {fifteen:.2f}"


def measure(client, url: str, repeat: int, *, warm_up: bool = True) -> dict:
    """GET `url` `repeat` times: median/min/max in ms, queries and bytes of the last
    answer (a streamed answer is read through, chunk by chunk)."""
    import statistics
    import time

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    if warm_up:
        _read(client.get(url))
    timings = []
    for _ in range(repeat):
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            response = client.get(url)
            size = _read(response)
            timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    return {
        "median_ms": statistics.median(timings),
        "min_ms": min(timings),
        "max_ms": max(timings),
        "queries": len(queries),
        "bytes": size,
    }


def measure_alternately(client, first: str, second: str, repeat: int) -> tuple[dict, dict]:
    """`measure` of two URLs taking turns, request by request (after a warm-up of each),
    so that a change in the shared machine's load weighs on both alike."""
    _read(client.get(first))
    _read(client.get(second))
    runs = {first: [], second: []}
    for _ in range(repeat):
        for url in (first, second):
            runs[url].append(measure(client, url, 1, warm_up=False))
    return tuple(_combined(runs[url]) for url in (first, second))


def _combined(measures: list[dict]) -> dict:
    import statistics

    timings = [m["median_ms"] for m in measures]
    return {
        "median_ms": statistics.median(timings),
        "min_ms": min(timings),
        "max_ms": max(timings),
        "queries": measures[-1]["queries"],
        "bytes": measures[-1]["bytes"],
    }


def _read(response) -> int:
    if getattr(response, "streaming", False):
        return sum(len(chunk) for chunk in response.streaming_content)
    return len(response.content)


# --------------------------------------------------------------------------- CPU by role

CPU_ROLES = {
    "web": ("gunicorn",),
    "worker": ("celery", "run_worker"),
    "sandbox": ("previews.sandbox",),
    "postgres": ("postgres",),
    "redis": ("redis-server",),
}


def cpu_seconds_by_role() -> dict[str, float]:
    """CPU seconds (user + system) used so far by the processes of each role on this
    machine, read from /proc, and by this benchmark itself: to say where a minute's CPU
    went (take two readings and subtract)."""
    ticks = os.sysconf("SC_CLK_TCK")
    totals = dict.fromkeys([*CPU_ROLES, "bench"], 0.0)
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            command = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # gone meanwhile
            continue
        seconds = (int(fields[11]) + int(fields[12])) / ticks
        if int(entry) == os.getpid():
            totals["bench"] += seconds
            continue
        for role, marks in CPU_ROLES.items():
            if any(mark in command for mark in marks):
                totals[role] += seconds
                break
    return totals


def cpu_used(before: dict[str, float], after: dict[str, float], seconds: float) -> str:
    """Where the CPU went between two readings, in cores (1.0 = one core busy)."""
    return (
        ", ".join(f"{role} {(after[role] - before[role]) / seconds:.2f}" for role in before)
        + f" cores (of {os.cpu_count()})"
    )
