from django.contrib import admin
from django.db.models import Count, Sum
from django.utils.translation import gettext_lazy as _

from .models import CartLine, ShippingAddress, Supplier


@admin.register(ShippingAddress)
class ShippingAddressAdmin(admin.ModelAdmin):
    list_display = (
        "label", "full_name", "mobile", "province_text", "city_text", "area_text",
        "district_code", "is_default", "owner", "updated_at",
    )  # fmt: skip
    list_display_links = ("label", "full_name")
    list_filter = ("province_text", "is_default", ("owner", admin.RelatedOnlyFieldListFilter))
    search_fields = ("full_name", "mobile", "city_text", "district_code", "label", "address")
    list_select_related = ("owner",)
    autocomplete_fields = ("owner",)
    readonly_fields = ("created_at", "updated_at")
    address_fields = (
        "district_code", "province_text", "city_text", "area_text", "town_text", "address",
        "post_code",
    )  # fmt: skip
    fieldsets = (
        (None, {"fields": ("owner", "label", "is_default")}),
        (_("Recipient"), {"fields": ("full_name", "mobile", "phone")}),
        (_("Address"), {"fields": address_fields}),
        (_("History"), {"fields": ("created_at", "updated_at")}),
    )


@admin.register(Supplier)
class SupplierAdmin(admin.ModelAdmin):
    list_display = ("name", "seller_open_id", "owner", "line_count", "total_quantity", "created_at")
    list_filter = (("owner", admin.RelatedOnlyFieldListFilter), "created_at")
    search_fields = ("name", "seller_open_id", "note")
    list_select_related = ("owner",)
    autocomplete_fields = ("owner",)

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(line_count=Count("lines"), total_quantity=Sum("lines__quantity"))
        )

    @admin.display(description=_("lines"), ordering="line_count")
    def line_count(self, supplier):
        return supplier.line_count

    @admin.display(description=_("quantity"), ordering="total_quantity")
    def total_quantity(self, supplier):
        return supplier.total_quantity or 0


@admin.register(CartLine)
class CartLineAdmin(admin.ModelAdmin):
    list_display = ("offer_id", "spec_id", "quantity", "title", "supplier", "owner", "updated_at")
    list_filter = (
        ("owner", admin.RelatedOnlyFieldListFilter),
        ("supplier", admin.RelatedOnlyFieldListFilter),
        "updated_at",
    )
    search_fields = ("=offer_id", "spec_id", "title", "note", "supplier__name")
    list_select_related = ("owner", "supplier")
    autocomplete_fields = ("owner", "supplier")
    readonly_fields = ("created_at", "updated_at")
