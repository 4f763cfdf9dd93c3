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
