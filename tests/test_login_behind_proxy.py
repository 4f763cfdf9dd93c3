"""The login lock-out counts on the client's address, behind our TLS proxy too.

Behind the proxy every request reaches Django from the proxy's address; the proxy
appends the client's to X-Forwarded-For. Only in that mode is the header believed.
"""

import pytest
import requests
from axes.models import AccessAttempt
from django.test import Client, RequestFactory
from django.urls import reverse

from procurement.client_address import forwarded_client_address

from .processes import child_database_url, child_env, web_server

PASSWORD = "pw-buyer-12345"


def log_in(base: str, username: str, password: str, forwarded_for: str) -> int:
    """One login over real HTTP, as it reaches gunicorn from our proxy."""
    session = requests.Session()
    headers = {"X-Forwarded-For": forwarded_for}
    session.get(f"{base}/accounts/login/", headers=headers, timeout=10)
    response = session.post(
        f"{base}/accounts/login/",
        data={"username": username, "password": password,
              "csrfmiddlewaretoken": session.cookies["csrftoken"]},
        headers=headers, allow_redirects=False, timeout=10,
    )  # fmt: skip
    return response.status_code


@pytest.mark.django_db(transaction=True)
def test_behind_the_proxy_a_lock_holds_the_forwarded_address_only(buyer, tmp_path, settings):
    env = child_env(
        DATABASE_URL=child_database_url(),
        PROCUREMENT_VAR_DIR=str(settings.VAR_DIR),
        DJANGO_BEHIND_TLS_PROXY="true",
    )
    with web_server(env, log=tmp_path / "web.log") as base:
        # Someone at 203.0.113.7 tries the buyer's name, claiming on the left of the
        # header to be the office (10.0.0.99); the proxy appended the address it saw.
        attacker = "10.0.0.99, 203.0.113.7"
        statuses = [log_in(base, "buyer", "wrong", attacker) for _ in range(5)]
        assert statuses == [200, 200, 200, 200, 429]
        assert log_in(base, "buyer", PASSWORD, attacker) == 429  # locked there
        # The buyer at the office (forwarded 10.0.0.99) still logs in.
        assert log_in(base, "buyer", PASSWORD, "10.0.0.99") == 302
    locked = AccessAttempt.objects.get(username="buyer")
    assert locked.ip_address == "203.0.113.7"


@pytest.mark.django_db
def test_without_the_proxy_a_forged_forwarded_for_is_ignored(buyer):
    """Guard: in the default mode the header is the client's word and never believed."""
    office = "10.1.1.1"
    for n in range(5):
        Client().post(
            reverse("login"), {"username": "buyer", "password": "wrong"},
            REMOTE_ADDR=office, HTTP_X_FORWARDED_FOR=f"198.51.100.{n}",
        )  # fmt: skip
    again = Client().post(
        reverse("login"), {"username": "buyer", "password": PASSWORD},
        REMOTE_ADDR=office, HTTP_X_FORWARDED_FOR="198.51.100.200",
    )  # fmt: skip
    assert again.status_code == 429
    assert list(AccessAttempt.objects.values_list("ip_address", flat=True)) == [office]


@pytest.mark.parametrize(
    ("header", "proxies", "expected"),
    [
        ("203.0.113.7", 1, "203.0.113.7"),
        ("1.2.3.4, 203.0.113.7", 1, "203.0.113.7"),  # the client's own entries are ignored
        ("1.2.3.4, 203.0.113.7, 10.0.0.2", 2, "203.0.113.7"),  # a CDN in front of nginx
        ("203.0.113.7", 2, "10.0.0.1"),  # fewer entries than proxies: not through them
        ("", 1, "10.0.0.1"),
        ("1.2.3.4, not-an-address", 1, "10.0.0.1"),
        (" 2001:db8::1 ", 1, "2001:db8::1"),
    ],
)
def test_the_forwarded_address_is_counted_from_the_right(header, proxies, expected, settings):
    settings.TRUSTED_PROXY_COUNT = proxies
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR=header)
    assert forwarded_client_address(request) == expected
