import json

from django.contrib import admin
from django.db.models import Count, Sum
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from .currency import currency_name
from .forms import CleanTextModelForm, ExchangeRateAdminForm
from .models import (
    BuyerPreferences,
    CartLine,
    ExchangeRate,
    OrderAttempt,
    OrderAuditEvent,
    OrderRequest,
    PlacedOrder,
    PreviewChunk,
    PreviewRun,
    ProductSnapshot,
    RateFetch,
    ShippingAddress,
    Supplier,
    SupplierOrder,
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


class ReadOnlyInline(admin.TabularInline):
    """Rows shown on their parent's page to read: none added, changed or deleted there."""

    extra = 0
    can_delete = False
    show_change_link = True

    def get_readonly_fields(self, request, obj=None):
        return self.fields

    def has_add_permission(self, request, obj=None):
        return False


class SupplierPreviewInline(ReadOnlyInline):
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


class PreviewChunkInline(ReadOnlyInline):
    """Which worker (host/process) executed each chunk of a run, and when."""

    model = PreviewChunk
    fields = ("index", "status", "executed_by", "executions", "started_at", "finished_at")
    show_change_link = False


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


# --------------------------------------------------------------------------- ordering
# Money was (or may have been) spent: what the ordering path records is read only here,
# and nothing of it can be deleted from the admin. People act through the product's pages
# (approve, resolve, cancel), which write the audit trail.


class OrderReadOnlyAdmin(ReadOnlyAdmin):
    def has_delete_permission(self, request, obj=None):
        return False


class SupplierOrderInline(ReadOnlyInline):
    model = SupplierOrder
    fields = (
        "supplier_name", "part", "state", "previewed_total_fen", "approved_total_fen",
        "repriced_total_fen", "flow_flag", "trade_mode_name",
    )  # fmt: skip


class OrderAuditInline(ReadOnlyInline):
    model = OrderAuditEvent
    fields = ("at", "action", "actor", "supplier_order", "total_fen", "previous_total_fen",
              "comment")  # fmt: skip
    show_change_link = False


@admin.register(OrderRequest)
class OrderRequestAdmin(OrderReadOnlyAdmin):
    list_display = ("pk", "requested_by", "run", "state", "decided_by", "decided_at", "created_at")
    list_filter = ("state", ("requested_by", admin.RelatedOnlyFieldListFilter), "created_at")
    search_fields = ("=pk", "requested_by__username", "supplier_orders__supplier_name")
    list_select_related = ("requested_by", "decided_by", "run")
    inlines = [SupplierOrderInline, OrderAuditInline]
    readonly_fields = (
        "run", "requested_by", "state", "comment", "decided_by", "decided_at",
        "decision_comment", "created_at", "dispatched_at",
    )  # fmt: skip
    exclude = ("submission_token",)


class OrderAttemptInline(ReadOnlyInline):
    model = OrderAttempt
    fields = ("third_order_id", "state", "sent_at", "error_kind", "error_code", "resolution")


@admin.register(SupplierOrder)
class SupplierOrderAdmin(OrderReadOnlyAdmin):
    list_display = ("supplier_name", "part", "request", "state", "approved_total_fen", "updated_at")
    list_filter = ("state",)
    search_fields = ("supplier_name", "=request__pk")
    list_select_related = ("request",)
    inlines = [OrderAttemptInline]
    exclude = ("address_param", "cargo_params")
    readonly_fields = (
        "request", "supplier_preview", "part", "supplier_name", "state", "state_reason",
        "flow_flag", "records", "previewed_total_fen", "goods_fen", "carriage_fen",
        "discount_fen", "additional_fee_fen", "approved_total_fen", "repriced_total_fen",
        "repreviewed_at", "trade_mode_name", "trade_type", "pay_window",
        "post_fee_by_desc_offer_ids", "address_as_sent", "lines_as_sent", "created_at",
        "updated_at",
    )  # fmt: skip

    @admin.display(description=_("address as it will be sent"))
    def address_as_sent(self, part):
        return format_html(
            "<pre>{}</pre>", json.dumps(part.address_param, ensure_ascii=False, indent=2)
        )

    @admin.display(description=_("lines as they will be sent"))
    def lines_as_sent(self, part):
        return format_html("<pre>{}</pre>", json.dumps(part.cargo_params, indent=2))


@admin.register(OrderAttempt)
class OrderAttemptAdmin(OrderReadOnlyAdmin):
    list_display = ("third_order_id", "supplier_order", "state", "sent_at", "error_kind",
                    "resolved_by", "resolved_at")  # fmt: skip
    list_filter = ("state", "error_kind")
    search_fields = ("third_order_id", "marker", "placed_orders__order_id")
    list_select_related = ("supplier_order", "resolved_by")
    exclude = ("raw_body",)
    readonly_fields = (
        "supplier_order", "third_order_id", "marker", "message", "state", "worker_token",
        "claimed_at", "sent_at", "answered_at", "error_kind", "error_code", "upstream_message",
        "http_status", "trace_id", "failed_lines", "resolved_by", "resolved_at", "resolution",
        "resolution_checks", "last_checked_at", "raw_answer",
    )  # fmt: skip

    @admin.display(description=_("raw answer (credentials removed)"))
    def raw_answer(self, attempt):
        return format_html("<pre data-testid='raw-body'>{}</pre>", _pretty(attempt.raw_body))


@admin.register(PlacedOrder)
class PlacedOrderAdmin(OrderReadOnlyAdmin):
    list_display = ("order_id", "status", "total_fen", "expected_total_fen", "price_changed",
                    "pay_by", "cancelled_at", "refreshed_at")  # fmt: skip
    list_filter = ("status", "price_changed", "source")
    search_fields = ("=order_id", "attempt__third_order_id")
    list_select_related = ("attempt",)
    exclude = ("raw_detail",)
    readonly_fields = (
        "attempt", "order_id", "source", "created_total_fen", "created_post_fee_fen",
        "expected_total_fen", "total_fen", "shipping_fee_fen", "goods_fen", "discount_fen",
        "refund_fen", "status", "ordered_at", "pay_by", "price_changed", "refreshed_at",
        "refresh_problem", "cancelled_at", "cancel_reason", "cancel_remark", "cancelled_by",
        "created_at",
    )  # fmt: skip


@admin.register(OrderAuditEvent)
class OrderAuditEventAdmin(OrderReadOnlyAdmin):
    list_display = ("at", "action", "actor", "request", "supplier_order", "total_fen",
                    "previous_total_fen")  # fmt: skip
    list_filter = ("action", ("actor", admin.RelatedOnlyFieldListFilter), "at")
    search_fields = ("=request__pk", "comment", "placed_order__order_id")
    list_select_related = ("actor", "request", "supplier_order")
    readonly_fields = (
        "at", "actor", "action", "request", "supplier_order", "attempt", "placed_order",
        "total_fen", "previous_total_fen", "comment",
    )  # fmt: skip


@admin.register(ExchangeRate)
class ExchangeRateAdmin(admin.ModelAdmin):
    """Rates to CNY. Typed ones are manual and always win over the ECB's for their
    currency (rates.current_rate); fetched ones are read only."""

    form = ExchangeRateAdminForm
    list_display = ("currency", "name", "rate", "as_of", "source", "updated_at")
    list_filter = ("source", "currency")
    search_fields = ("currency",)
    date_hierarchy = "as_of"

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.source == ExchangeRate.Source.ECB:
            return ("currency", "rate", "as_of", "source")
        return ()

    def get_changeform_initial_data(self, request):
        return {"as_of": timezone.localdate(), **super().get_changeform_initial_data(request)}

    @admin.display(description=_("name"))
    def name(self, rate):
        return currency_name(rate.currency, get_language())


@admin.register(RateFetch)
class RateFetchAdmin(ReadOnlyAdmin):
    """The daily fetches of the ECB's reference rates, by the workers: read only."""

    list_display = ("day", "succeeded_at", "rates_as_of", "rate_count", "attempts", "error")
    readonly_fields = (
        "day", "claimed_at", "attempts", "succeeded_at", "rates_as_of", "rate_count", "error",
    )  # fmt: skip


@admin.register(BuyerPreferences)
class BuyerPreferencesAdmin(admin.ModelAdmin):
    list_display = ("owner", "display_currency", "updated_at")
    list_filter = ("display_currency",)
    search_fields = ("owner__username", "display_currency")
    list_select_related = ("owner",)
    autocomplete_fields = ("owner",)
