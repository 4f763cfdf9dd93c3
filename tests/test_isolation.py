"""One buyer never sees, changes or deletes another's objects, whatever URL is typed."""

import uuid

import pytest
from django.urls import reverse

from previews.models import (
    CartLine,
    OrderAttempt,
    OrderRequest,
    PlacedOrder,
    ShippingAddress,
    Supplier,
    SupplierOrder,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def victims(buyer, make_address, make_line, monkeypatch):
    from previews import runs

    monkeypatch.setattr(runs, "dispatch_run", lambda *, run_id: False)
    line = make_line(buyer, supplier="Secret supplier", offer_id=670291644950, quantity=3)
    address = make_address(buyer, label="Secret address", is_default=True)
    run, _ = runs.start_preview(
        owner=buyer, address=address, lines=[line], flow="", submission_token=uuid.uuid4()
    )
    # An order request awaiting approval, a part sent with its outcome unknown, and an
    # order 1688 created: the ordering pages' objects (issue #13).
    order_request = OrderRequest.objects.create(
        run=run, requested_by=buyer, submission_token=uuid.uuid4()
    )
    part = SupplierOrder.objects.create(
        request=order_request, supplier_preview=run.suppliers.get(),
        supplier_name="Secret supplier", address_param={}, cargo_params=[],
        previewed_total_fen=12_345,
    )  # fmt: skip
    attempt = OrderAttempt.objects.create(
        supplier_order=part, third_order_id="TSECRET1", marker="MSECRET1", state="outcome_unknown"
    )
    order = PlacedOrder.objects.create(
        attempt=attempt, order_id="4012345678901234567", source="create", status="waitbuyerpay"
    )
    return {
        "address": address,
        "supplier": line.supplier,
        "line": line,
        "run": run,
        "order_request": order_request,
        "attempt": attempt,
        "order": order,
    }


OBJECT_URLS = [
    ("previews:address-edit", "address"),
    ("previews:address-delete", "address"),
    ("previews:address-default", "address"),
    ("previews:supplier-edit", "supplier"),
    ("previews:supplier-delete", "supplier"),
    ("previews:line-edit", "line"),
    ("previews:line-delete", "line"),
    ("previews:order-request-create", "run"),
    ("previews:order-request-detail", "order_request"),
    ("previews:order-request-approve", "order_request"),
    ("previews:order-request-reject", "order_request"),
    ("previews:order-request-withdraw", "order_request"),
    ("previews:order-request-audit-export", "order_request"),
    ("previews:order-cancel", "order"),
    ("previews:order-attempt-check", "attempt"),
    ("previews:order-attempt-resolve", "attempt"),
]
# Refused before any lookup when asked with GET.
POST_ONLY = {
    "previews:address-default",
    "previews:order-request-create",
    "previews:order-request-approve",
    "previews:order-request-reject",
    "previews:order-request-withdraw",
    "previews:order-attempt-check",
}


@pytest.mark.parametrize(("name", "kind"), OBJECT_URLS)
@pytest.mark.parametrize("method", ["get", "post"])
def test_other_buyer_gets_404_and_changes_nothing(client, other_buyer, victims, name, kind, method):
    client.force_login(other_buyer)
    url = reverse(name, args=[victims[kind].pk])
    form = {
        "label": "pwned", "name": "pwned", "quantity": "1", "comment": "pwned",
        "submission_token": str(uuid.uuid4()), "reason": "other", "remark": "pwned",
        "outcome": "not_placed",
    }  # fmt: skip
    response = getattr(client, method)(url, form)
    expected = 405 if name in POST_ONLY and method == "get" else 404
    assert response.status_code == expected
    assert ShippingAddress.objects.filter(label="Secret address", is_default=True).count() == 1
    assert Supplier.objects.filter(name="Secret supplier").count() == 1
    assert CartLine.objects.get(pk=victims["line"].pk).quantity == 3
    assert OrderRequest.objects.get().state == "awaiting_approval"
    assert OrderRequest.objects.count() == 1 and SupplierOrder.objects.count() == 1
    assert OrderAttempt.objects.get().state == "outcome_unknown"
    assert PlacedOrder.objects.get().cancelled_at is None
    assert not OrderRequest.objects.get().audit_events.exists()


@pytest.mark.parametrize(
    "name",
    [
        "previews:address-list",
        "previews:supplier-list",
        "previews:cart",
        "previews:order-list",
        "previews:order-request-list",
        "previews:order-approvals",
        "previews:order-audit-export",
    ],
)
def test_lists_show_only_ones_own(client, other_buyer, victims, name):
    client.force_login(other_buyer)
    html = client.get(reverse(name)).content.decode()
    assert "Secret" not in html and "670291644950" not in html
    assert "4012345678901234567" not in html and "TSECRET1" not in html


def test_other_buyer_cannot_attach_a_line_to_someone_elses_supplier(client, other_buyer, victims):
    client.force_login(other_buyer)
    response = client.post(
        reverse("previews:line-create"),
        {"offer": "1", "quantity": "1", "supplier": victims["supplier"].pk},
    )
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert not CartLine.objects.filter(owner=other_buyer).exists()


def test_every_app_url_requires_login(client, victims):
    for name, kind in OBJECT_URLS:
        response = client.get(reverse(name, args=[victims[kind].pk]))
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_an_approver_sees_only_what_waits_for_them(client, django_user_model, victims):
    """Of another buyer, an approver opens the request awaiting their decision and the
    attempt whose outcome a person must settle, and nothing else."""
    from django.contrib.auth.models import Group, Permission

    from previews import orders

    group, _ = Group.objects.get_or_create(name=orders.APPROVERS_GROUP)
    group.permissions.add(Permission.objects.get(codename="approve_orderrequest"))
    approver = django_user_model.objects.create_user(username="approver", password="pw-a-12345")
    approver.groups.add(group)
    client.force_login(approver)
    queue = client.get(reverse("previews:order-approvals")).content.decode()
    assert f'data-request="{victims["order_request"].pk}"' in queue and "TSECRET1" in queue
    assert client.get(victims["order_request"].get_absolute_url()).status_code == 200
    for name, kind in [
        ("previews:run-detail", "run"),
        ("previews:order-cancel", "order"),
        ("previews:address-edit", "address"),
    ]:
        assert client.get(reverse(name, args=[victims[kind].pk])).status_code == 404, name
    for name in ("previews:order-list", "previews:order-request-list"):
        html = client.get(reverse(name)).content.decode()
        assert "4012345678901234567" not in html and "Secret supplier" not in html, name
    # decided, the request is no longer theirs to see
    OrderRequest.objects.update(state="rejected")
    SupplierOrder.objects.update(state="rejected")
    assert client.get(victims["order_request"].get_absolute_url()).status_code == 200  # attempt
    OrderAttempt.objects.update(state="resolved_not_placed")
    assert client.get(victims["order_request"].get_absolute_url()).status_code == 404
    assert (
        client.get(
            reverse("previews:order-attempt-resolve", args=[victims["attempt"].pk])
        ).status_code
        == 404
    )
