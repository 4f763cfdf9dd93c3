"""Stored data made directly, for tests and benchmarks that need a big finished run or cart."""

import uuid

from django.utils import timezone

from previews import runs
from previews.models import (
    CartLine,
    PreviewLine,
    PreviewPromotion,
    PreviewRecord,
    PreviewRun,
    Supplier,
    SupplierPreview,
)


def finished_run(owner, address, *, suppliers: int, lines: int) -> PreviewRun:
    """A done run of `suppliers` suppliers with `lines` lines each: every line with a
    promotion, every order with a shop discount and a total above the shegou limit."""
    run = PreviewRun.objects.create(
        owner=owner,
        address_snapshot=runs.snapshot_address(address),
        submission_token=uuid.uuid4(),
        status=PreviewRun.Status.DONE,
        finished_at=timezone.now(),
    )
    for s in range(suppliers):
        requested = [
            {"offer_id": n + 1, "spec_id": "", "quantity": 2, "title": f"Item {n}"}
            for n in range(lines)
        ]
        preview = SupplierPreview.objects.create(
            run=run, position=s, supplier_name=f"Supplier {s}", requested_lines=requested,
            status=SupplierPreview.Status.OK, trace_id=f"trace{s}",
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


def big_cart(owner, *, lines: int, suppliers: int) -> list[Supplier]:
    """A cart of `lines` lines spread evenly over `suppliers` suppliers, in bulk."""
    made = Supplier.objects.bulk_create(
        [Supplier(owner=owner, name=f"Supplier {s:03d}") for s in range(suppliers)]
    )
    CartLine.objects.bulk_create(
        [
            CartLine(
                owner=owner, supplier=made[n % suppliers], offer_id=612_345_000_000 + n,
                quantity=1 + n % 50, title=f"Item {n}",
            )
            for n in range(lines)
        ],
        batch_size=1000,
    )  # fmt: skip
    return made
