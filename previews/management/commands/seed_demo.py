"""Create the demo buyer, an administrator and demo data; safe to run again."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

DEMO_USERNAME = "demo"
DEMO_PASSWORD = "demo-1688-preview"  # noqa: S105 - a published demo login, local only
ADMIN_USERNAME = "admin"
ADMIN_PASSWORD = "admin-1688-preview"  # noqa: S105 - a published demo login, local only


class Command(BaseCommand):
    help = "Create (or refresh) the demo buyer, an admin and demo data. Idempotent."

    def handle(self, *args, **options):
        users = get_user_model()
        buyer, _ = users.objects.get_or_create(username=DEMO_USERNAME)
        buyer.set_password(DEMO_PASSWORD)
        buyer.save()
        admin, _ = users.objects.get_or_create(username=ADMIN_USERNAME)
        admin.is_staff = admin.is_superuser = True
        admin.set_password(ADMIN_PASSWORD)
        admin.save()
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo buyer: {DEMO_USERNAME} / {DEMO_PASSWORD}    "
                f"Admin: {ADMIN_USERNAME} / {ADMIN_PASSWORD}"
            )
        )
