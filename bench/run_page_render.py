"""Render time and query count of the run page for 50 suppliers × 20 lines.

Usage: .venv/bin/python bench/run_page_render.py [--suppliers 50] [--lines 20] [--repeat 15]
"""

import argparse
import statistics
import time
import uuid

from common import buyer_with_address, setup_django

setup_django("bench-page-")

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from previews import services  # noqa: E402
from previews.models import (  # noqa: E402
    PreviewLine,
    PreviewPromotion,
    PreviewRecord,
    PreviewRun,
    SupplierPreview,
)


def make_run(user, address, suppliers: int, lines: int) -> PreviewRun:
    run = PreviewRun.objects.create(
        owner=user,
        address_snapshot=services.snapshot_address(address),
        submission_token=uuid.uuid4(),
        status="done",
    )
    for s in range(suppliers):
        requested = [
            {"offer_id": n + 1, "spec_id": "", "quantity": 2, "title": f"Item {n}"}
            for n in range(lines)
        ]
        preview = SupplierPreview.objects.create(
            run=run, position=s, supplier_name=f"Supplier {s}", requested_lines=requested,
            status="ok", trace_id=f"trace{s}",
        )  # fmt: skip
        record = PreviewRecord.objects.create(
            supplier_preview=preview, index=0, sum_payment_fen=lines * 1000 - 2000 + 350,
            sum_carriage_fen=350, sum_payment_no_carriage_fen=lines * 1000 - 2000,
            discount_fen=2000, flow_flag="general", trade_mode_names=["assureTrade"],
            pay_channels=[{"name": "shegou", "amount_limit_fen": 30000}],
        )  # fmt: skip
        made = PreviewLine.objects.bulk_create(
            PreviewLine(record=record, index=n, offer_id=n + 1, quantity=2,
                        final_unit_price_fen=525, amount_fen=1000)
            for n in range(lines)
        )  # fmt: skip
        PreviewPromotion.objects.bulk_create(
            PreviewPromotion(record=record, line=line, text="省0.50:PLUS会员价",
                             description_html="<ul><li>PLUS会员价:省0.50元</li></ul>",
                             discount_fen=50)
            for line in made
        )  # fmt: skip
        PreviewPromotion.objects.create(record=record, text="满300减20", discount_fen=2000)
    return run


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--suppliers", type=int, default=50)
    parser.add_argument("--lines", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    user, address = buyer_with_address(f"bench-{time.time_ns()}")
    run = make_run(user, address, args.suppliers, args.lines)
    client = Client()
    client.force_login(user)
    url = f"/runs/{run.pk}/"
    client.get(url)  # warm-up
    timings = []
    for _ in range(args.repeat):
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            response = client.get(url)
            timings.append(time.perf_counter() - started)
        assert response.status_code == 200
    print(
        f"run page, {args.suppliers} suppliers × {args.lines} lines: "
        f"{len(queries)} queries, median render {statistics.median(timings) * 1000:.0f} ms "
        f"(min {min(timings) * 1000:.0f}, max {max(timings) * 1000:.0f}, {args.repeat} requests, "
        f"{len(response.content) / 1024:.0f} KiB)"
    )


if __name__ == "__main__":
    main()
