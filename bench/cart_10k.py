"""Render time, query count and size of the cart page and the preview form with a cart of
10,000 lines (40 suppliers): the cart is paged and the preview form offers whole suppliers.

Usage: .venv/bin/python bench/cart_10k.py [--lines 10000] [--suppliers 40] [--repeat 15]
"""

import argparse
import statistics
import time

from common import buyer_with_address, setup_django

setup_django("bench-cart-")

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from tests.factories import big_cart  # noqa: E402


def measure(client, url, repeat):
    client.get(url)  # warm-up
    timings = []
    for _ in range(repeat):
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            response = client.get(url)
            timings.append(time.perf_counter() - started)
        assert response.status_code == 200, response.status_code
    return timings, len(queries), len(response.content)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=10_000)
    parser.add_argument("--suppliers", type=int, default=40)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    user, _address = buyer_with_address(f"bench-{time.time_ns()}")
    big_cart(user, lines=args.lines, suppliers=args.suppliers)
    client = Client()
    client.force_login(user)
    engine = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    pages = {
        "cart page 1": "/cart/",
        "cart last page": f"/cart/?page={-(-args.lines // 200)}",
        "preview form": "/previews/new/",
    }
    for name, url in pages.items():
        timings, queries, size = measure(client, url, args.repeat)
        print(
            f"{name}, {args.lines} lines / {args.suppliers} suppliers on {engine}: "
            f"median {statistics.median(timings) * 1000:.0f} ms "
            f"(min {min(timings) * 1000:.0f}, max {max(timings) * 1000:.0f}, "
            f"{args.repeat} requests), {queries} queries, {size / 1024:.0f} KiB"
        )


if __name__ == "__main__":
    main()
