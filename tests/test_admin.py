"""The admin: addresses first, with the search and filters an administrator reaches for."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_with_data(admin_client, buyer, other_buyer, make_address, make_line):
    make_address(buyer, label="HZ", is_default=True)
    make_address(
        other_buyer, label="BJ", full_name="李四", mobile="13900001111", district_code="110105",
        province_text="北京市", city_text="北京市", area_text="朝阳区",
    )  # fmt: skip
    make_line(buyer, supplier="杭州小商品店", offer_id=670291644950)
    make_line(other_buyer, supplier="义乌日用百货", offer_id=612345001100)
    return admin_client


def rows(response) -> int:
    return response.context["cl"].result_count


def test_address_changelist_columns_search_and_filters(admin_client_with_data, buyer):
    client = admin_client_with_data
    url = reverse("admin:previews_shippingaddress_changelist")
    response = client.get(url)
    assert response.status_code == 200 and rows(response) == 2
    html = response.content.decode()
    for column in ("Recipient name", "Mobile", "District code", "Default", "Owner"):
        assert column in html
    assert rows(client.get(url, {"q": "李四"})) == 1
    assert rows(client.get(url, {"q": "13900001111"})) == 1
    assert rows(client.get(url, {"q": "杭州市"})) == 1
    assert rows(client.get(url, {"q": "110105"})) == 1
    assert rows(client.get(url, {"province_text": "北京市"})) == 1
    assert rows(client.get(url, {"owner__id__exact": buyer.pk})) == 1
    assert rows(client.get(url, {"is_default__exact": "1"})) == 1


def test_supplier_and_line_changelists(admin_client_with_data, buyer):
    client = admin_client_with_data
    suppliers = reverse("admin:previews_supplier_changelist")
    assert rows(client.get(suppliers)) == 2
    assert rows(client.get(suppliers, {"q": "杭州"})) == 1
    lines = reverse("admin:previews_cartline_changelist")
    assert rows(client.get(lines)) == 2
    assert rows(client.get(lines, {"q": "670291644950"})) == 1
    assert rows(client.get(lines, {"q": "义乌"})) == 1
    assert rows(client.get(lines, {"owner__id__exact": buyer.pk})) == 1


def test_address_add_and_change_pages_render(admin_client_with_data):
    client = admin_client_with_data
    assert client.get(reverse("admin:previews_shippingaddress_add")).status_code == 200
    from previews.models import ShippingAddress

    address = ShippingAddress.objects.first()
    url = reverse("admin:previews_shippingaddress_change", args=[address.pk])
    assert client.get(url).status_code == 200


def test_runs_and_results_are_read_only_with_raw_bodies(admin_client, buyer):
    import uuid

    from previews.models import PreviewRun, SupplierPreview

    run = PreviewRun.objects.create(
        owner=buyer, address_snapshot={"label": "HZ", "city_text": "杭州市"},
        submission_token=uuid.uuid4(), status="done",
    )  # fmt: skip
    preview = SupplierPreview.objects.create(
        run=run, position=0, supplier_name="A", requested_lines=[], status="ok",
        raw_body='{"code": 200, "traceId": "abc123trace"}', trace_id="abc123trace",
    )  # fmt: skip
    runs = reverse("admin:previews_previewrun_changelist")
    assert rows(admin_client.get(runs)) == 1
    assert rows(admin_client.get(runs, {"q": "abc123trace"})) == 1
    page = admin_client.get(reverse("admin:previews_supplierpreview_change", args=[preview.pk]))
    html = page.content.decode()
    assert page.status_code == 200 and "raw-body" in html and "abc123trace" in html
    assert 'name="_save"' not in html  # nothing to edit
    assert admin_client.get(reverse("admin:previews_previewrun_add")).status_code == 403
    change = reverse("admin:previews_previewrun_change", args=[run.pk])
    assert admin_client.get(change).status_code == 200
    admin_client.post(change, {"status": "failed"})
    run.refresh_from_db()
    assert run.status == "done"
