"""Login, logout, navigation, the admin, assets served locally."""

import re
from pathlib import Path

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent


def test_app_page_redirects_anonymous_user_to_login(client):
    response = client.get(reverse("previews:home"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login") + "?next=/")


def test_login_page_renders_form_with_local_bootstrap(client):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="username"' in html and 'name="password"' in html
    assert "/static/vendor/bootstrap/css/bootstrap.min.css" in html


def test_log_in_shows_the_signed_in_user_and_log_out(client, buyer):
    response = client.post(
        reverse("login"), {"username": "buyer", "password": "pw-buyer-12345"}, follow=True
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="signed-in-user">buyer<' in html
    response = client.post(reverse("logout"), follow=True)
    assert response.redirect_chain[-1][0] == reverse("login")
    assert client.get(reverse("previews:home")).status_code == 302


def test_wrong_password_is_refused_with_a_message(client, buyer):
    response = client.post(reverse("login"), {"username": "buyer", "password": "nope"})
    assert response.status_code == 200
    assert "correct username and password" in response.content.decode()


def test_admin_is_at_admin_and_asks_for_login(client, admin_user):
    response = client.get("/admin/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    client.force_login(admin_user)
    assert client.get("/admin/").status_code == 200


def test_sandbox_banner_when_not_talking_to_production(buyer_client, settings):
    settings.DAJI_API_URL = "http://127.0.0.1:8001"
    assert 'data-testid="sandbox-banner"' in buyer_client.get("/cart/").content.decode()
    settings.DAJI_API_URL = settings.DAJI_PRODUCTION_URL
    assert 'data-testid="sandbox-banner"' not in buyer_client.get("/cart/").content.decode()


def test_no_template_loads_anything_from_a_cdn():
    remote = re.compile(r"""(src|href)=["']https?://""")
    offenders = [
        str(path)
        for path in (ROOT / "templates").rglob("*.html")
        if remote.search(path.read_text())
    ]
    assert offenders == []
    assert (ROOT / "static/vendor/bootstrap/js/bootstrap.bundle.min.js").stat().st_size > 50_000


def test_csp_header_forbids_inline_scripts(client):
    response = client.get(reverse("login"))
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy


def test_vendored_bootstrap_is_served_by_whitenoise(client):
    response = client.get("/static/vendor/bootstrap/css/bootstrap.min.css")
    assert response.status_code == 200
    assert b"Bootstrap" in b"".join(response.streaming_content)[:200]
