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
