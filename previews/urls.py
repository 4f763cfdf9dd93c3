from django.urls import path

from . import views

app_name = "previews"

urlpatterns = [
    path("", views.home, name="home"),
    path("addresses/", views.address_list, name="address-list"),
    path("addresses/new/", views.address_form, name="address-create"),
    path("addresses/<int:pk>/edit/", views.address_form, name="address-edit"),
    path("addresses/<int:pk>/delete/", views.address_delete, name="address-delete"),
    path("addresses/<int:pk>/default/", views.address_make_default, name="address-default"),
    path("regions/<str:code>/", views.region_children, name="region-children"),
    path("suppliers/", views.supplier_list, name="supplier-list"),
    path("suppliers/new/", views.supplier_form, name="supplier-create"),
    path("suppliers/<int:pk>/edit/", views.supplier_form, name="supplier-edit"),
    path("suppliers/<int:pk>/delete/", views.supplier_delete, name="supplier-delete"),
    path("cart/", views.cart_lines, name="cart"),
    path("cart/new/", views.line_form, name="line-create"),
    path("cart/import/", views.cart_import, name="cart-import"),
    path("cart/<int:pk>/edit/", views.line_form, name="line-edit"),
    path("cart/<int:pk>/delete/", views.line_delete, name="line-delete"),
    path("lookups/new/", views.lookup_start, name="lookup-start"),
    path("lookups/offer/", views.lookup_offer, name="lookup-offer"),
    path("lookups/<int:pk>/", views.lookup_detail, name="lookup-detail"),
    path("lookups/<int:pk>/status/", views.lookup_status, name="lookup-status"),
    path("lookups/<int:pk>/offers/<int:offer_id>/add/", views.lookup_add, name="lookup-add"),
    path("previews/new/", views.preview_create, name="preview-create"),
    path("runs/", views.run_list, name="run-list"),
    path("runs/<int:pk>/", views.run_detail, name="run-detail"),
    path("runs/<int:pk>/status/", views.run_status, name="run-status"),
    path("runs/<int:pk>/rerun/", views.run_rerun, name="run-rerun"),
    path("runs/<int:pk>/dispatch/", views.run_dispatch, name="run-dispatch"),
    path("runs/<int:pk>/compare/", views.run_compare, name="run-compare"),
    path("addresses/compare/", views.address_comparison_create, name="address-comparison-create"),
    path("addresses/compare/<uuid:group>/", views.address_comparison, name="address-comparison"),
    path("settings/", views.preferences, name="preferences"),
    path("runs/<int:pk>/export.csv", views.run_export, {"file_format": "csv"}, name="run-csv"),
    path("runs/<int:pk>/export.xlsx", views.run_export, {"file_format": "xlsx"}, name="run-xlsx"),
]
