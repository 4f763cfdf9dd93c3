import json

from django.contrib import admin
from django.db.models import Count, Sum
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from .forms import CleanTextModelForm
from .models import (
    CartLine,
    PreviewChunk,
    PreviewRun,
    ProductSnapshot,
    ShippingAddress,
    Supplier,
    SupplierPreview,
)


@admin.register(ShippingAddress)
class ShippingAddressAdmin(admin.ModelAdmin):
    form = CleanTextModelForm
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
    form = CleanTextModelForm
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
    form = CleanTextModelForm
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


class ReadOnlyAdmin(admin.ModelAdmin):
    """Results are written by the workers only: administrators read them."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class SupplierPreviewInline(admin.TabularInline):
    model = SupplierPreview
    fields = (
        "position",
        "supplier_name",
        "status",
        "reason",
        "trace_id",
        "attempts",
        "duration_ms",
    )
    readonly_fields = fields
    show_change_link = True
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


class PreviewChunkInline(admin.TabularInline):
    """Which worker (host/process) executed each chunk of a run, and when."""

    model = PreviewChunk
    fields = ("index", "status", "executed_by", "executions", "started_at", "finished_at")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(PreviewRun)
class PreviewRunAdmin(ReadOnlyAdmin):
    list_display = ("pk", "owner", "status", "flow", "created_at", "finished_at", "supplier_count")
    list_filter = ("status", "flow", ("owner", admin.RelatedOnlyFieldListFilter), "created_at")
    search_fields = ("=pk", "owner__username", "suppliers__supplier_name", "suppliers__trace_id")
    list_select_related = ("owner",)
    inlines = [SupplierPreviewInline, PreviewChunkInline]
    readonly_fields = (
        "owner", "status", "failure_reason", "flow", "address", "address_as_sent",
        "submission_token", "rerun_of", "created_at", "dispatched_at", "started_at", "finished_at",
    )  # fmt: skip
    exclude = ("address_snapshot",)

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(supplier_total=Count("suppliers"))

    @admin.display(description=_("suppliers"), ordering="supplier_total")
    def supplier_count(self, run):
        return run.supplier_total

    @admin.display(description=_("address as sent"))
    def address_as_sent(self, run):
        return format_html(
            "<pre>{}</pre>", json.dumps(run.address_snapshot, ensure_ascii=False, indent=2)
        )


@admin.register(SupplierPreview)
class SupplierPreviewAdmin(ReadOnlyAdmin):
    list_display = (
        "supplier_name",
        "run",
        "status",
        "error_code",
        "trace_id",
        "attempts",
        "duration_ms",
    )
    list_filter = ("status", "error_kind", "error_code")
    search_fields = ("supplier_name", "trace_id", "=run__pk", "reason")
    list_select_related = ("run",)
    exclude = ("raw_body", "requested_lines")
    readonly_fields = (
        "run", "position", "supplier", "supplier_name", "status", "reason", "error_kind",
        "error_code", "trace_id", "attempts", "duration_ms", "warnings", "finished_at",
        "post_fee_by_desc_offer_ids", "consign_offer_ids",
        "unsupported_cross_border_pay_offer_ids", "lines_as_sent", "raw_answer",
    )  # fmt: skip

    @admin.display(description=_("lines as sent"))
    def lines_as_sent(self, preview):
        return format_html(
            "<pre>{}</pre>", json.dumps(preview.requested_lines, ensure_ascii=False, indent=2)
        )

    @admin.display(description=_("raw answer (credentials removed)"))
    def raw_answer(self, preview):
        return format_html("<pre data-testid='raw-body'>{}</pre>", _pretty(preview.raw_body))


def _pretty(body: str) -> str:
    pretty = []
    for part in body.splitlines():
        try:
            pretty.append(json.dumps(json.loads(part), ensure_ascii=False, indent=2))
        except ValueError:
            pretty.append(part)
    return "\n".join(pretty)


@admin.register(ProductSnapshot)
class ProductSnapshotAdmin(ReadOnlyAdmin):
    """Product details as looked up (public data, shared by every buyer): read only."""

    list_display = ("offer_id", "subject", "status", "company_name", "seller_open_id", "fetched_at")
    list_filter = ("status", "fetched_at")
    search_fields = ("=offer_id", "subject", "company_name", "seller_open_id")
    readonly_fields = (
        "offer_id", "fetched_at", "status", "subject", "seller_open_id", "company_name",
        "raw_body",
    )  # fmt: skip
