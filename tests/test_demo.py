"""`make run`'s demo data: idempotent, and a cart of several suppliers."""

import pytest
from django.core.management import call_command

from previews.models import CartLine, ShippingAddress, Supplier

pytestmark = pytest.mark.django_db


def test_seed_demo_twice_gives_the_same_data(django_user_model):
    call_command("seed_demo", stdout=None)
    counts = (ShippingAddress.objects.count(), Supplier.objects.count(), CartLine.objects.count())
    call_command("seed_demo")
    assert counts == (
        ShippingAddress.objects.count(),
        Supplier.objects.count(),
        CartLine.objects.count(),
    )
    demo = django_user_model.objects.get(username="demo")
    assert demo.check_password("demo-1688-preview")
    assert ShippingAddress.objects.filter(owner=demo, is_default=True).count() == 1
    assert Supplier.objects.filter(owner=demo, lines__isnull=False).distinct().count() >= 4
    assert django_user_model.objects.get(username="admin").is_superuser
    approver = django_user_model.objects.get(username="approver")
    assert approver.check_password("approver-1688-preview")
    assert approver.has_perm("previews.approve_orderrequest") and not approver.is_staff
    assert not demo.has_perm("previews.approve_orderrequest")
