import pytest


@pytest.fixture
def buyer(django_user_model):
    return django_user_model.objects.create_user(username="buyer", password="pw-buyer-12345")


@pytest.fixture
def other_buyer(django_user_model):
    return django_user_model.objects.create_user(username="other", password="pw-other-12345")


@pytest.fixture
def buyer_client(client, buyer):
    client.force_login(buyer)
    return client


@pytest.fixture(scope="session")
def sandbox_url():
    """A real sandbox gateway process for the whole session (no latency)."""
    from .services import sandbox_process

    with sandbox_process() as url:
        yield url
