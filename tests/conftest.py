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


ADDRESS_FORM = {
    "label": "Hangzhou warehouse",
    "full_name": "张三",
    "mobile": "13812345678",
    "phone": "0571-88886666",
    "post_code": "310051",
    "district_code": "330108",
    "province_text": "",
    "city_text": "",
    "area_text": "",
    "town_text": "长河街道",
    "address": "网商路699号",
}


@pytest.fixture
def make_address():
    from previews.models import ShippingAddress

    def make(owner, **overrides):
        values = {
            **ADDRESS_FORM,
            "province_text": "浙江省",
            "city_text": "杭州市",
            "area_text": "滨江区",
            "is_default": False,
        }
        values.update(overrides)
        return ShippingAddress.objects.create(owner=owner, **values)

    return make


@pytest.fixture
def make_line():
    from previews.models import CartLine, Supplier

    def make(owner, supplier="义乌日用百货", offer_id=612345001100, quantity=1, spec_id=""):
        supplier_obj, _ = Supplier.objects.get_or_create(owner=owner, name=supplier)
        return CartLine.objects.create(
            owner=owner,
            supplier=supplier_obj,
            offer_id=offer_id,
            quantity=quantity,
            spec_id=spec_id,
        )

    return make


DEMO_SUPPLIERS = {
    # name: [(offer_id, spec_id, quantity)]; sandbox conventions in the README
    "杭州小商品店": [(670291644950, "594b40c111b019af610a0078e4316373", 1)],
    "义乌日用百货": [(612345001100, "", 10), (612345001200, "", 5), (612345001700, "", 3)],
    "深圳电子配件": [(623456001200, "", 20), (623456001904, "", 2)],
    "广州服装批发": [(634567001901, "", 4)],
    "汕头玩具厂": [(645678001950, "", 1)],  # HTTP 500 from the sandbox: a failed supplier
}


@pytest.fixture
def stocked_cart(make_address, make_line):
    """A buyer's default address and a cart whose suppliers cover ok, split, blocked,
    refused and failed answers from the sandbox."""

    def stock(owner, suppliers=DEMO_SUPPLIERS):
        address = make_address(owner, is_default=True)
        lines = [
            make_line(owner, supplier=name, offer_id=offer_id, spec_id=spec_id, quantity=quantity)
            for name, items in suppliers.items()
            for offer_id, spec_id, quantity in items
        ]
        return address, lines

    return stock
