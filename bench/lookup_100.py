"""Paste to all shown: 100 links looked up by a real worker, the sandbox answering each
Product details call in 1 s; next to the same 100 looked up one after another, and the
same batch again from the snapshot cache (no gateway calls).

Starts its own sandbox (--latency 1 applies to every answer, Product details included)
and a real Celery worker on the configured broker (embedded by default;
CELERY_BROKER_URL=redis://… for Redis) and database (a throw-away SQLite file by
default; DATABASE_URL for PostgreSQL). Pastes like a buyer and polls the batch's status
JSON as the page does (every second there; every 50 ms here, to time it finely), then
renders the batch page once and checks every offer's card is on it.

Usage: .venv/bin/python bench/lookup_100.py [--offers 100] [--latency 1]
"""

import argparse
import logging
import time
from pathlib import Path

from common import buyer_with_address, setup_django

setup_django("bench-lookup-")

from django.conf import settings  # noqa: E402
from django.test import Client  # noqa: E402
from django.urls import reverse  # noqa: E402

from previews import gateway  # noqa: E402
from previews.models import OfferLookupBatch  # noqa: E402
from tests.processes import (  # noqa: E402
    celery_worker,
    child_database_url,
    child_env,
    sandbox_calls,
    sandbox_process,
)


def links(count: int) -> str:
    """Links in the forms a browser copies; every offer from its own seller, no SKUs
    (last digits 100: no scenario of the sandbox's)."""
    forms = [
        "https://detail.1688.com/offer/{}.html?spm=a26352.13672862.0.0",
        "https://m.1688.com/offer/{}.html?src=share",
        "{}",
    ]
    return "\n".join(forms[n % 3].format(offer(n)) for n in range(count))


def offer(n: int) -> int:
    return (650000 + n) * 1_000_000 + 1100


def paste_to_all_shown(client, text: str, count: int) -> float:
    started = time.perf_counter()
    response = client.post(reverse("previews:lookup-start"), {"text": text})
    assert response.status_code == 302, response.status_code
    batch = OfferLookupBatch.objects.latest("pk")
    status_url = reverse("previews:lookup-status", args=[batch.pk])
    while True:
        state = client.get(status_url, HTTP_ACCEPT="application/json").json()
        if state["finished"]:
            break
        time.sleep(0.05)
    html = client.get(batch.get_absolute_url()).content.decode()
    elapsed = time.perf_counter() - started
    statuses = [lookup["status"] for lookup in state["lookups"]]
    assert statuses == ["ok"] * count, statuses
    assert html.count('class="offer-picker"') == count
    return elapsed


def one_after_another(url: str, count: int) -> float:
    config = gateway.GatewayConfig(base_url=url)
    started = time.perf_counter()
    for n in range(count):
        gateway.product_detail(config, offer_id=offer(n))
    return time.perf_counter() - started


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--offers", type=int, default=100)
    parser.add_argument("--latency", type=float, default=1.0)
    args = parser.parse_args()
    user, _ = buyer_with_address(f"bench-{time.time_ns()}")
    client = Client()
    client.force_login(user)
    text = links(args.offers)
    with sandbox_process(latency=args.latency) as url:
        env = child_env(DATABASE_URL=child_database_url(), DAJI_API_URL=url)
        with celery_worker(env, concurrency=2, log=Path(settings.VAR_DIR) / "bench-worker.log"):
            # warm-up: worker start, imports, connections
            paste_to_all_shown(client, str(offer(10_000)), 1)
            before = sandbox_calls(url)["lookups"]
            parallel = paste_to_all_shown(client, text, args.offers)
            asked = sandbox_calls(url)["lookups"] - before
            assert asked == args.offers, asked
            cached = paste_to_all_shown(client, text, args.offers)
            assert sandbox_calls(url)["lookups"] == before + asked, "the cache asked the gateway"
        logging.getLogger("previews").setLevel(logging.WARNING)  # a line per call otherwise
        sequential = one_after_another(url, args.offers)
    broker = settings.CELERY_BROKER_URL.split(":", 1)[0]
    engine = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    width = settings.PRODUCT_LOOKUP_MAX_PARALLEL_CALLS
    print(f"{args.offers} links, sandbox {args.latency:g} s per lookup, {engine} + {broker}:")
    print(f"| {'way':<44} | {'seconds':>7} | gateway calls |")
    print(f"|{'-' * 46}|{'-' * 9}|{'-' * 15}|")
    rows = [
        (f"paste → all shown, real worker ({width} at once)", parallel, args.offers),
        ("one after another (product_detail loop)", sequential, args.offers),
        ("paste again → all shown, from the cache", cached, 0),
    ]
    for name, seconds, calls in rows:
        print(f"| {name:<44} | {seconds:7.2f} | {calls:>13} |")


if __name__ == "__main__":
    main()
