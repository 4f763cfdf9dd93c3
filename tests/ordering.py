"""Helpers of the ordering tests (issue #13): offers by sandbox scenario, a run previewed
against a sandbox over HTTP, an approver, and the orders the sandbox holds (counted
through the sandbox, never through the product's tables)."""

from __future__ import annotations

import uuid

import requests
from django.contrib.auth.models import Group

from previews import execution, gateway, orders, runs
from previews.models import CartLine, PreviewRun, ShippingAddress, Supplier

SELLER = 655123  # offers 655123000xxx share one seller (the sandbox's id // 1_000_000)
OTHER_SELLER = 656123


def offer(scenario: int, seller: int = SELLER) -> int:
    return seller * 1_000_000 + scenario


def config(url: str, **overrides) -> gateway.GatewayConfig:
    """The sandbox, giving up fast: a create whose answer hangs is cut off after 2 s."""
    options = {"max_attempts": 2, "backoff_base": 0.01, "read_timeout": 2.0,
               "call_deadline": 2.0, "retry_budget": 5.0}  # fmt: skip
    options.update(overrides)
    return gateway.GatewayConfig(base_url=url, **options)


def sandbox_orders(url: str) -> list[dict]:
    """Every order the sandbox holds (`GET /orders`)."""
    answer = requests.get(f"{url}/orders", timeout=5).json()
    assert answer["count"] == len(answer["orders"])
    return answer["orders"]


def creates_sent(url: str) -> int:
    """How many create calls reached the sandbox."""
    calls = requests.get(f"{url}/calls", timeout=5).json()
    return calls["by_path"].get(gateway.CREATE_ORDER_PATH, 0)


def address_of(owner) -> ShippingAddress:
    address, _created = ShippingAddress.objects.get_or_create(
        owner=owner,
        label="Hangzhou warehouse",
        defaults={
            "full_name": "张三", "mobile": "13812345678", "phone": "0571-88886666",
            "post_code": "310051", "district_code": "330108", "province_text": "浙江省",
            "city_text": "杭州市", "area_text": "滨江区", "town_text": "长河街道",
            "address": "网商路699号",
        },
    )  # fmt: skip
    return address


def cart(owner, suppliers: dict[str, list[tuple[int, int]]]) -> list[CartLine]:
    """Cart lines: {supplier name: [(offer id, quantity)]}."""
    lines = []
    for name, items in suppliers.items():
        supplier, _ = Supplier.objects.get_or_create(owner=owner, name=name)
        for offer_id, quantity in items:
            lines.append(
                CartLine.objects.create(
                    owner=owner, supplier=supplier, offer_id=offer_id, quantity=quantity
                )
            )
    return lines


def previewed_run(
    owner,
    url: str,
    suppliers: dict[str, list[tuple[int, int]]],
    *,
    gateway_config: gateway.GatewayConfig | None = None,
) -> PreviewRun:
    """A run of these lines, previewed in this process against the sandbox at `url`
    (with `gateway_config` when given: a keyed sandbox)."""
    run, _created = runs.start_preview(
        owner=owner,
        address=address_of(owner),
        lines=cart(owner, suppliers),
        flow="",
        submission_token=uuid.uuid4(),
    )
    # As execution.execute_run, in this thread (its pool's threads would need their own
    # database connections, which a test transaction on SQLite locks out).
    address = execution.address_param(run.address_snapshot)
    gateway_config = gateway_config or config(url)
    for supplier in run.suppliers.all():
        cargo = [
            gateway.Cargo(
                offer_id=line["offer_id"], spec_id=line["spec_id"], quantity=line["quantity"]
            )
            for line in supplier.requested_lines
        ]
        try:
            answer = gateway.preview_order(gateway_config, address=address, cargo=cargo, flow="")
        except gateway.GatewayError as error:
            execution.record_failure(supplier_preview_id=supplier.pk, error=error)
        else:
            execution.record_answer(supplier_preview_id=supplier.pk, answer=answer)
    runs.finish_run(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == PreviewRun.Status.DONE
    return run


def make_approver(django_user_model, username="approver"):
    user = django_user_model.objects.create_user(username=username, password="pw-approver-123")
    user.groups.add(Group.objects.get(name=orders.APPROVERS_GROUP))
    return django_user_model.objects.get(pk=user.pk)  # permissions are cached per object


def request_all(run: PreviewRun, buyer, comment: str = ""):
    return orders.request_ordering(
        run=run, requested_by=buyer, submission_token=uuid.uuid4(), comment=comment
    )
