"""Create the demo buyer, an order approver, an administrator and demo data; safe to run
again."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.management.base import BaseCommand
from django.db import transaction

from previews.models import CartLine, ShippingAddress, Supplier
from previews.orders import APPROVERS_GROUP

DEMO_USERNAME = "demo"
DEMO_PASSWORD = "demo-1688-preview"  # noqa: S105 - a published demo login, local only
ADMIN_USERNAME = "admin"
ADMIN_PASSWORD = "admin-1688-preview"  # noqa: S105 - a published demo login, local only
APPROVER_USERNAME = "approver"
APPROVER_PASSWORD = "approver-1688-preview"  # noqa: S105 - a published demo login, local only

DEMO_ADDRESSES = [
    {
        "label": "杭州仓库 Hangzhou warehouse",
        "full_name": "张三",
        "mobile": "13812345678",
        "phone": "0571-88886666",
        "post_code": "310051",
        "province_text": "浙江省",
        "city_text": "杭州市",
        "area_text": "滨江区",
        "town_text": "长河街道",
        "address": "网商路699号",
        "district_code": "330108",
        "is_default": True,
    },
    {
        "label": "北京办公室 Beijing office",
        "full_name": "李四",
        "mobile": "13900001111",
        "phone": "",
        "post_code": "100020",
        "province_text": "北京市",
        "city_text": "北京市",
        "area_text": "朝阳区",
        "town_text": "建外街道",
        "address": "建国门外大街1号",
        "district_code": "110105",
        "is_default": False,
    },
]

# Offers chosen for the sandbox's conventions (README, "The sandbox gateway").
DEMO_CART = {
    "杭州小商品店": [
        (670291644950, "594b40c111b019af610a0078e4316373", 1, "Cup (the reference's example)"),
    ],
    "义乌日用百货": [
        (612345001100, "", 10, "Storage box"),
        (612345001200, "", 5, "Towel, with a promotion"),
        (612345001700, "", 3, "Shipped from a second warehouse (split order)"),
    ],
    "深圳电子配件": [
        (623456001200, "", 20, "USB cable"),
        (623456001904, "", 2, "Charger (out of stock)"),
    ],
    "广州服装批发": [
        (634567001901, "", 4, "T-shirt (cannot be bought online)"),
    ],
    "汕头玩具厂": [
        (645678001100, "", 30, "Building blocks (a large order)"),
        (645678001812, "", 2, "Kite (carriage as described)"),
    ],
}  # fmt: skip


def approvers_group() -> Group:
    """The "Order approvers" group with its permission (migration 0008 makes it; made
    again here if it was deleted, so the demo approver can always approve)."""
    group, _ = Group.objects.get_or_create(name=APPROVERS_GROUP)
    group.permissions.add(
        Permission.objects.get(codename="approve_orderrequest", content_type__app_label="previews")
    )
    return group


class Command(BaseCommand):
    help = "Create (or refresh) the demo buyer, an admin and demo data. Idempotent."

    @transaction.atomic
    def handle(self, *args, **options):
        users = get_user_model()
        buyer, _ = users.objects.get_or_create(username=DEMO_USERNAME)
        buyer.set_password(DEMO_PASSWORD)
        buyer.save()
        admin, _ = users.objects.get_or_create(username=ADMIN_USERNAME)
        admin.is_staff = admin.is_superuser = True
        admin.set_password(ADMIN_PASSWORD)
        admin.save()
        approver, _ = users.objects.get_or_create(username=APPROVER_USERNAME)
        approver.set_password(APPROVER_PASSWORD)
        approver.save()
        approver.groups.add(approvers_group())
        ShippingAddress.objects.filter(owner=buyer, is_default=True).update(is_default=False)
        for values in DEMO_ADDRESSES:
            ShippingAddress.objects.update_or_create(
                owner=buyer, label=values["label"], defaults=values
            )
        for supplier_name, lines in DEMO_CART.items():
            supplier, _ = Supplier.objects.get_or_create(owner=buyer, name=supplier_name)
            for offer_id, spec_id, quantity, title in lines:
                CartLine.objects.update_or_create(
                    owner=buyer,
                    offer_id=offer_id,
                    spec_id=spec_id,
                    defaults={"supplier": supplier, "quantity": quantity, "title": title},
                )
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo buyer: {DEMO_USERNAME} / {DEMO_PASSWORD}    "
                f"Approver: {APPROVER_USERNAME} / {APPROVER_PASSWORD}    "
                f"Admin: {ADMIN_USERNAME} / {ADMIN_PASSWORD}"
            )
        )
