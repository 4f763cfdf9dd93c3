from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.db.models.functions import Length
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _

from . import currency as currencies
from . import failures, limits, validators
from .limits import MAX_OFFER_ID, MAX_QUANTITY, MIN_QUANTITY, SPEC_ID_LENGTH

# Lets constraints say `spec_id__length=32`.
models.CharField.register_lookup(Length)

# Failure kinds (gateway.ErrorKind) by which the gateway itself said "try again later".
TEMPORARY_ERROR_KINDS = frozenset({"busy", "rate_limited"})


class ShippingAddress(models.Model):
    """Where a buyer's goods go: every field of the gateway's `addressParam`."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="shipping_addresses",
        verbose_name=_("owner"),
    )
    label = models.CharField(_("label"), max_length=60, help_text=_("e.g. Warehouse Hangzhou"))
    full_name = models.CharField(_("recipient name"), max_length=60)
    mobile = models.CharField(_("mobile"), max_length=11, validators=[validators.validate_mobile])
    phone = models.CharField(
        _("telephone"),
        max_length=20,
        blank=True,
        validators=[validators.validate_phone],
        help_text=_("Landline or mobile; the mobile number is sent when left empty."),
    )
    post_code = models.CharField(
        _("post code"), max_length=6, validators=[validators.validate_post_code]
    )
    province_text = models.CharField(_("province"), max_length=30)
    city_text = models.CharField(_("city"), max_length=30)
    area_text = models.CharField(_("district"), max_length=30)
    town_text = models.CharField(
        _("town or street"), max_length=60, help_text=_("Town or sub-district, e.g. 长河街道")
    )
    address = models.CharField(_("street address"), max_length=200)
    district_code = models.CharField(
        _("district code"),
        max_length=6,
        validators=[validators.validate_district_code],
        help_text=_("The 6-digit administrative division code, e.g. 330108"),
    )
    is_default = models.BooleanField(_("default"), default=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("shipping address")
        verbose_name_plural = _("shipping addresses")
        ordering = ["owner", "-is_default", "label", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["owner"],
                condition=Q(is_default=True),
                name="one_default_address_per_owner",
            ),
            models.CheckConstraint(
                condition=Q(district_code__regex=r"^[0-9]{6}$"),
                name="address_district_code_six_digits",
            ),
        ]

    def __str__(self):
        return f"{self.label} ({self.full_name}, {self.city_text}{self.area_text})"

    def get_absolute_url(self):
        return reverse("previews:address-edit", args=[self.pk])


class Supplier(models.Model):
    """A 1688 shop that lines are bought from; lines are previewed one supplier at a time."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="suppliers",
        verbose_name=_("owner"),
    )
    name = models.CharField(_("name"), max_length=limits.SUPPLIER_NAME_LENGTH)
    seller_open_id = models.CharField(
        _("seller open id"),
        max_length=64,
        blank=True,
        help_text=_("The gateway's stable seller key (sellerOpenId), when known."),
    )
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("supplier")
        verbose_name_plural = _("suppliers")
        ordering = ["owner", "name", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "name"], name="unique_supplier_name_per_owner"
            ),
            models.UniqueConstraint(
                fields=["owner", "seller_open_id"],
                condition=~Q(seller_open_id=""),
                name="unique_seller_open_id_per_owner",
            ),
        ]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("previews:supplier-edit", args=[self.pk])


class CartLine(models.Model):
    """One offer (and spec) a buyer means to order, with its quantity."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="cart_lines",
        verbose_name=_("owner"),
    )
    supplier = models.ForeignKey(
        Supplier, on_delete=models.CASCADE, related_name="lines", verbose_name=_("supplier")
    )
    offer_id = models.PositiveBigIntegerField(
        _("offer id"), validators=[validators.validate_offer_id]
    )
    spec_id = models.CharField(
        _("spec id"),
        max_length=SPEC_ID_LENGTH,
        blank=True,
        validators=[validators.validate_spec_id],
        help_text=validators.SPEC_ID_HELP,
    )
    quantity = models.PositiveIntegerField(_("quantity"), validators=[validators.validate_quantity])
    title = models.CharField(_("title"), max_length=limits.CART_TITLE_LENGTH, blank=True)
    attributes_text = models.CharField(
        _("attributes"), max_length=limits.CART_ATTRIBUTES_LENGTH, blank=True
    )
    image_url = models.URLField(_("picture"), max_length=limits.IMAGE_URL_LENGTH, blank=True)
    note = models.CharField(_("note"), max_length=limits.CART_NOTE_LENGTH, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("cart line")
        verbose_name_plural = _("cart lines")
        ordering = ["owner", "supplier__name", "offer_id", "spec_id", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "offer_id", "spec_id"], name="one_cart_line_per_offer_and_spec"
            ),
            models.CheckConstraint(
                condition=Q(offer_id__gte=1, offer_id__lte=MAX_OFFER_ID),
                name="cart_line_offer_id_positive_64_bit",
            ),
            models.CheckConstraint(
                condition=Q(quantity__gte=MIN_QUANTITY, quantity__lte=MAX_QUANTITY),
                # cart_line_quantity_1_to_99999: the name follows the limits, so a new
                # limit comes with a migration that says so.
                name=f"cart_line_quantity_{MIN_QUANTITY}_to_{MAX_QUANTITY}",
            ),
            models.CheckConstraint(
                condition=Q(spec_id="") | Q(spec_id__length=SPEC_ID_LENGTH),
                name=f"cart_line_spec_id_empty_or_{SPEC_ID_LENGTH}",
            ),
        ]

    def __str__(self):
        spec = f" / {self.spec_id}" if self.spec_id else ""
        return f"{self.offer_id}{spec} × {self.quantity}"

    def get_absolute_url(self):
        return reverse("previews:line-edit", args=[self.pk])

    @property
    def offer_url(self) -> str:
        return f"https://detail.1688.com/offer/{self.offer_id}.html"


class Flow(models.TextChoices):
    BEST = "", _("Best flow (let 1688 choose)")
    GENERAL = "general", _("General marketplace order")
    FENXIAO = "fenxiao", _("Distribution (fenxiao)")
    PAIRED = "paired", _("Daily deals (paired)")
    REPURCHASE = "repurchase", _("Repurchase contract")
    SALEPROXY = "saleproxy", _("Consignment (saleproxy)")
    BOUTIQUE_FENXIAO = "boutiquefenxiao", _("Curated supply, distribution price")
    BOUTIQUE_PIFA = "boutiquepifa", _("Curated supply, wholesale price")


class PreviewRun(models.Model):
    """One request of a buyer to preview a cart: a snapshot of address and lines, and its fate."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="preview_runs",
        verbose_name=_("owner"),
    )
    submission_token = models.UUIDField(_("submission token"))
    address = models.ForeignKey(
        ShippingAddress,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="preview_runs",
        verbose_name=_("address"),
    )
    address_snapshot = models.JSONField(_("address as sent"))
    flow = models.CharField(_("flow"), max_length=20, choices=Flow.choices, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.QUEUED
    )
    failure_reason = models.TextField(_("why it failed"), blank=True)
    failure_kind = models.CharField(_("kind of failure"), max_length=20, blank=True)
    fingerprint = models.CharField(
        _("what was asked"),
        max_length=64,
        db_index=True,
        help_text=_("Hash of the address and lines: runs with the same one can be compared."),
    )
    address_group = models.UUIDField(
        _("address comparison"),
        null=True,
        blank=True,
        db_index=True,
        help_text=_("Runs of the same lines to several addresses, started together."),
    )
    rerun_of = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="reruns",
        verbose_name=_("re-run of"),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    dispatched_at = models.DateTimeField(_("sent to the workers"), null=True, blank=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    # The execution that owns a running run: one delivery at a time works on it, touching
    # `heartbeat_at` while it does; a run left untouched is taken back by the recovery.
    worker_token = models.CharField(_("executed by"), max_length=120, blank=True)
    heartbeat_at = models.DateTimeField(_("last sign of its worker"), null=True, blank=True)
    executions = models.PositiveSmallIntegerField(_("times started"), default=0)
    # The buyer's second currency and the rate in force when the run was created
    # (rates.run_rate_fields): the run shows what was true then. CNY stays the record.
    display_currency = models.CharField(_("display currency"), max_length=3, blank=True)
    display_rate = models.DecimalField(
        _("CNY for one unit"),
        max_digits=currencies.RATE_MAX_INTEGER_DIGITS + currencies.RATE_DECIMAL_PLACES,
        decimal_places=currencies.RATE_DECIMAL_PLACES,
        null=True,
        blank=True,
    )
    display_rate_as_of = models.DateField(_("rate as of"), null=True, blank=True)
    display_rate_source = models.CharField(_("rate source"), max_length=10, blank=True)

    class Meta:
        verbose_name = _("preview run")
        verbose_name_plural = _("preview runs")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "submission_token"], name="one_run_per_submission"
            ),
        ]
        indexes = [models.Index(fields=["status", "started_at"], name="run_status_started")]

    def __str__(self):
        return f"#{self.pk} ({self.get_status_display()})"

    def get_absolute_url(self):
        return reverse("previews:run-detail", args=[self.pk])

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)

    @property
    def quoted_at(self):
        return self.finished_at or self.created_at

    @property
    def is_stale(self) -> bool:
        """Past the configured age, 1688's prices and stock may have moved on."""
        limit = timedelta(hours=settings.PREVIEW_QUOTE_MAX_AGE_HOURS)
        return self.status == self.Status.DONE and timezone.now() - self.quoted_at > limit

    @cached_property
    def conversion(self) -> currencies.Conversion | None:
        """The stored rate as a `currencies.Conversion`, flagged stale when it was older than
        CURRENCY_RATE_MAX_AGE_DAYS on the day the run was created; None without one."""
        if not self.display_currency or self.display_rate is None or not self.display_rate_as_of:
            return None
        created_on = timezone.localdate(self.created_at)
        return currencies.Conversion(
            code=self.display_currency,
            rate=self.display_rate,
            as_of=self.display_rate_as_of,
            source=self.display_rate_source,
            stale=currencies.is_stale(
                self.display_rate_as_of,
                on=created_on,
                max_age_days=settings.CURRENCY_RATE_MAX_AGE_DAYS,
            ),
            age_days=currencies.rate_age_days(self.display_rate_as_of, created_on),
        )

    @property
    def display_rate_missing(self) -> bool:
        """The buyer wanted a second currency, but there was no rate for it."""
        return bool(self.display_currency) and self.conversion is None


class RunSummary(models.Model):
    """What the runs list shows of a finished run, stored once when it finishes
    (summaries.py): a finished run never changes, so `/runs/` reads this row instead of
    adding up every supplier's orders, and costs the same whatever the runs' size."""

    run = models.OneToOneField(
        PreviewRun,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="summary",
        verbose_name=_("run"),
    )
    supplier_count = models.PositiveIntegerField(_("suppliers"))
    orderable_count = models.PositiveIntegerField(_("suppliers that can be ordered"))
    # The run page's grand total: the totals of the suppliers that can be ordered.
    grand_total_fen = models.BigIntegerField(_("grand total (fen)"))
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("run summary")
        verbose_name_plural = _("run summaries")
        ordering = ["run", "pk"]

    def __str__(self):
        return f"#{self.run_id}: {self.grand_total_fen} fen"


class SupplierPreviewQuerySet(models.QuerySet):
    def orderable(self) -> models.QuerySet:
        """In SQL, the suppliers `SupplierPreview.can_be_ordered` accepts (the same rule)."""
        records = PreviewRecord.objects.filter(supplier_preview=models.OuterRef("pk"))
        return self.filter(
            models.Exists(records),
            ~models.Exists(records.exclude(PreviewRecord.ORDERABLE)),
            status=SupplierPreview.Status.OK,
        )


class SupplierPreview(models.Model):
    """One supplier's part of a run: the lines asked for and what the gateway answered."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting")
        OK = "ok", _("Previewed")
        REJECTED = "rejected", _("Refused by the gateway")
        FAILED = "failed", _("Could not be previewed")

    run = models.ForeignKey(
        PreviewRun, on_delete=models.CASCADE, related_name="suppliers", verbose_name=_("run")
    )
    position = models.PositiveIntegerField(_("position"))
    supplier = models.ForeignKey(
        Supplier,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="previews",
        verbose_name=_("supplier"),
    )
    supplier_name = models.CharField(_("supplier"), max_length=limits.SUPPLIER_NAME_LENGTH)
    requested_lines = models.JSONField(_("lines as sent"))
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    reason = models.TextField(_("reason"), blank=True)
    error_kind = models.CharField(_("error kind"), max_length=20, blank=True)
    error_code = models.CharField(_("error code"), max_length=limits.ERROR_CODE_LENGTH, blank=True)
    # What is not ours in a failure, for the page's detail: the upstream's own words
    # (credentials removed) and the HTTP status. `reason` adds our English for the admin.
    upstream_message = models.TextField(_("upstream's words"), blank=True)
    http_status = models.PositiveSmallIntegerField(_("HTTP status"), null=True, blank=True)
    trace_id = models.CharField(_("trace id"), max_length=limits.TRACE_ID_LENGTH, blank=True)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    duration_ms = models.PositiveIntegerField(_("duration (ms)"), null=True, blank=True)
    warnings = models.JSONField(_("warnings"), default=list, blank=True)
    post_fee_by_desc_offer_ids = models.JSONField(default=list, blank=True)
    consign_offer_ids = models.JSONField(default=list, blank=True)
    unsupported_cross_border_pay_offer_ids = models.JSONField(default=list, blank=True)
    raw_body = models.TextField(_("raw answer (credentials removed)"), blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    objects = SupplierPreviewQuerySet.as_manager()

    class Meta:
        verbose_name = _("supplier preview")
        verbose_name_plural = _("supplier previews")
        ordering = ["run", "position", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["run", "position"], name="one_supplier_per_position"),
        ]

    def __str__(self):
        return f"{self.supplier_name} ({self.get_status_display()})"

    def get_status_display(self):
        """The status in words, everywhere it is shown (pages, progress, exports): a
        failure the gateway called temporary says so, so it is not read as a refusal."""
        if self.status == self.Status.FAILED and self.error_kind in TEMPORARY_ERROR_KINDS:
            return str(failures.TEMPORARY_FAILURE)
        # As Django's own get_FOO_display: a plain str in the active language.
        return str(self.Status(self.status).label) if self.status in self.Status else self.status

    @property
    def can_be_ordered(self) -> bool:
        """THE rule of "can be ordered" for a supplier: answered, with at least one order,
        and every order can be placed (`PreviewRecord.can_be_ordered`). Badge, grand total,
        left-out list, exports and comparisons use it; `orderable()` is its SQL twin.
        Reads `records.all()`, so a prefetched run costs no query."""
        records = list(self.records.all())
        return (
            self.status == self.Status.OK
            and bool(records)
            and all(record.can_be_ordered for record in records)
        )


class PreviewChunk(models.Model):
    """A part of a run's suppliers executed as a task of its own, so a big run is spread
    over every worker and interleaved with other buyers' runs. Claimed like a run: one
    execution at a time (`worker_token`, `heartbeat_at`); `executed_by` names the host and
    process of the last one."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")

    run = models.ForeignKey(
        PreviewRun, on_delete=models.CASCADE, related_name="chunks", verbose_name=_("run")
    )
    index = models.PositiveIntegerField(_("position"))
    supplier_ids = models.JSONField(_("suppliers"), default=list)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.QUEUED
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    dispatched_at = models.DateTimeField(_("sent to the workers"), null=True, blank=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    worker_token = models.CharField(_("executed by"), max_length=120, blank=True)
    heartbeat_at = models.DateTimeField(_("last sign of its worker"), null=True, blank=True)
    executions = models.PositiveSmallIntegerField(_("times started"), default=0)
    executed_by = models.CharField(_("worker"), max_length=120, blank=True)

    class Meta:
        verbose_name = _("part of a run")
        verbose_name_plural = _("parts of runs")
        ordering = ["run", "index", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["run", "index"], name="one_chunk_per_index"),
        ]
        indexes = [models.Index(fields=["status", "started_at"], name="chunk_status_started")]

    def __str__(self):
        return f"#{self.run_id}.{self.index} ({self.get_status_display()})"


class PreviewRecord(models.Model):
    """One order the gateway would create for a supplier (it may split into several)."""

    supplier_preview = models.ForeignKey(
        SupplierPreview, on_delete=models.CASCADE, related_name="records"
    )
    index = models.PositiveIntegerField()
    sum_payment_fen = models.BigIntegerField(null=True)
    sum_carriage_fen = models.BigIntegerField(null=True)
    sum_payment_no_carriage_fen = models.BigIntegerField(null=True)
    discount_fen = models.BigIntegerField(null=True)
    additional_fee_fen = models.BigIntegerField(null=True)
    status = models.BooleanField(default=True)
    message = models.TextField(blank=True)
    result_code = models.CharField(max_length=limits.RESULT_CODE_LENGTH, blank=True)
    flow_flag = models.CharField(max_length=limits.FLOW_FLAG_LENGTH, blank=True)
    trade_mode_names = models.JSONField(default=list)
    trade_modes = models.JSONField(default=list)
    pay_channels = models.JSONField(default=list)
    tao_sample_single_promotion = models.BooleanField(default=False)
    # Derived when stored (gateway.QuotedOrder.can_order_through_api): a non-empty
    # tradeModeNameList with a mode that supports it. A column, so SQL can apply the rule.
    orderable_through_api = models.BooleanField(default=True)
    # Which of the supplier's calls (0-based) returned this record: over 50 lines the
    # product sends several; empty for records stored before this was kept.
    part = models.PositiveIntegerField(null=True, blank=True)

    # THE rule of "can be ordered" for one order, in SQL; `can_be_ordered` is the same in
    # Python (tests/test_figures.py checks that they agree over the sandbox's scenarios).
    ORDERABLE = Q(status=True, orderable_through_api=True, sum_payment_fen__isnull=False)

    class Meta:
        verbose_name = _("previewed order")
        verbose_name_plural = _("previewed orders")
        ordering = ["supplier_preview", "index"]
        constraints = [
            # Idempotence: an answer stored twice would collide here.
            models.UniqueConstraint(
                fields=["supplier_preview", "index"], name="one_record_per_index"
            ),
        ]

    def __str__(self):
        return f"{self.supplier_preview} #{self.index + 1}"

    @property
    def can_be_ordered(self) -> bool:
        """1688 accepts it (`status`), it can be placed through the API and has a total."""
        return self.status and self.orderable_through_api and self.sum_payment_fen is not None


class PreviewLine(models.Model):
    record = models.ForeignKey(PreviewRecord, on_delete=models.CASCADE, related_name="lines")
    index = models.PositiveIntegerField()
    offer_id = models.PositiveBigIntegerField(null=True)
    spec_id = models.CharField(max_length=limits.ANSWER_SPEC_ID_LENGTH, blank=True)
    sku_id = models.PositiveBigIntegerField(null=True)
    quantity = models.PositiveIntegerField(null=True)
    final_unit_price_fen = models.BigIntegerField(null=True)
    amount_fen = models.BigIntegerField(null=True)
    message = models.TextField(blank=True)
    result_code = models.CharField(max_length=limits.RESULT_CODE_LENGTH, blank=True)

    class Meta:
        ordering = ["record", "index"]
        constraints = [
            models.UniqueConstraint(fields=["record", "index"], name="one_line_per_index"),
        ]

    def __str__(self):
        return f"{self.offer_id} × {self.quantity}"


class PreviewPromotion(models.Model):
    """A promotion of a line (`line` set) or of the whole order (shop-level, `line` empty)."""

    record = models.ForeignKey(PreviewRecord, on_delete=models.CASCADE, related_name="promotions")
    line = models.ForeignKey(
        PreviewLine, on_delete=models.CASCADE, null=True, blank=True, related_name="promotions"
    )
    promotion_id = models.CharField(max_length=limits.PROMOTION_ID_LENGTH, blank=True)
    text = models.CharField(max_length=limits.PROMOTION_TEXT_LENGTH, blank=True)
    description_html = models.TextField(blank=True)  # third-party HTML: sanitised when shown
    selected = models.BooleanField(default=False)
    free_postage = models.BooleanField(default=False)
    discount_fen = models.BigIntegerField(null=True)

    class Meta:
        ordering = ["record", "line", "pk"]

    def __str__(self):
        return self.text


# --------------------------------------------------------------------------- offer lookup


class ProductSnapshot(models.Model):
    """The last Product details answer for an offer, with its time. Public data: shared by
    every buyer (a lookup younger than PRODUCT_LOOKUP_MAX_AGE_SECONDS is reused)."""

    offer_id = models.PositiveBigIntegerField(_("offer id"), unique=True)
    fetched_at = models.DateTimeField(_("looked up at"))
    status = models.CharField(_("status"), max_length=40, blank=True)
    subject = models.CharField(_("title"), max_length=limits.CART_TITLE_LENGTH, blank=True)
    seller_open_id = models.CharField(_("seller open id"), max_length=64, blank=True)
    company_name = models.CharField(
        _("company name"), max_length=limits.SUPPLIER_NAME_LENGTH, blank=True
    )
    raw_body = models.TextField(_("raw answer (credentials removed)"))

    class Meta:
        verbose_name = _("product snapshot")
        verbose_name_plural = _("product snapshots")
        ordering = ["offer_id", "pk"]

    def __str__(self):
        return f"{self.offer_id} {self.subject}"

    def detail(self):
        """The stored answer as a `gateway.ProductDetail` (parsed again from `raw_body`)."""
        from . import gateway

        return gateway.parse_product_body(self.raw_body)


class OfferLookupBatch(models.Model):
    """Offers a buyer pasted at once, looked up in the background."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="lookup_batches",
        verbose_name=_("owner"),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    dispatched_at = models.DateTimeField(_("sent to the workers"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    # The execution working on the batch (as for runs): its token, when it last beat and
    # how many executions started it, so the recovery can take back a dead worker's batch.
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    worker_token = models.CharField(_("executed by"), max_length=120, blank=True)
    heartbeat_at = models.DateTimeField(_("last sign of its worker"), null=True, blank=True)
    executions = models.PositiveSmallIntegerField(_("times started"), default=0)

    class Meta:
        verbose_name = _("lookup batch")
        verbose_name_plural = _("lookup batches")
        ordering = ["-created_at", "pk"]

    def __str__(self):
        return f"#{self.pk}"

    def get_absolute_url(self):
        return reverse("previews:lookup-detail", args=[self.pk])


class OfferLookup(models.Model):
    """One offer of a batch: waiting, looked up (its snapshot) or failed (why, in words)."""

    class Status(models.TextChoices):
        WAITING = "waiting", _("Looking up")
        OK = "ok", _("Found")
        FAILED = "failed", _("Failed")

    batch = models.ForeignKey(
        OfferLookupBatch, on_delete=models.CASCADE, related_name="lookups", verbose_name=_("batch")
    )
    position = models.PositiveIntegerField(_("position"))
    offer_id = models.PositiveBigIntegerField(_("offer id"))
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.WAITING
    )
    failure_kind = models.CharField(_("kind of failure"), max_length=20, blank=True)
    reason = models.TextField(_("reason"), blank=True)
    snapshot = models.ForeignKey(
        ProductSnapshot,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("product snapshot"),
    )
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    # From an import: the row's quantity (and spec id, if it had one); an offer that needs
    # no picking then goes to the cart by itself once looked up.
    requested_spec_id = models.CharField(_("spec id asked for"), max_length=64, blank=True)
    requested_quantity = models.PositiveIntegerField(_("quantity asked for"), null=True, blank=True)
    added_at = models.DateTimeField(_("added to the cart"), null=True, blank=True)
    add_problem = models.TextField(_("why it was not added"), blank=True)

    class Meta:
        verbose_name = _("offer lookup")
        verbose_name_plural = _("offer lookups")
        ordering = ["batch", "position", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["batch", "offer_id"], name="one_lookup_per_offer"),
        ]

    def __str__(self):
        return f"{self.offer_id} ({self.status})"

    @property
    def offer_url(self) -> str:
        return f"https://detail.1688.com/offer/{self.offer_id}.html"


# --------------------------------------------------------------------------- ordering
#
# The path of an order (issue #13, previews/orders.py): a buyer requests ordering of what
# a run previewed (`OrderRequest`, one `SupplierOrder` per supplier and ≤50-line part,
# bound to the exact address and lines that will be sent), an approver approves it, the
# worker previews each part again and creates it once (`OrderAttempt`, its thirdOrderId
# stored and committed before the call), and what 1688 created is kept (`PlacedOrder`).
# Every step leaves an `OrderAuditEvent`.


def _noted(record, fallback: str) -> str:
    """A part's, attempt's or event's own note in the reader's language (its kind and
    values, `order_notes`), or `fallback` (the English kept before notes were) without one."""
    from . import order_notes  # order_notes reads PlacedOrder's reasons from this module

    if record.note_kind:
        return order_notes.text(record.note_kind, record.note_values)
    return fallback


class OrderRequest(models.Model):
    """A buyer's request to order what one run previewed, waiting for a person's approval."""

    class State(models.TextChoices):
        AWAITING_APPROVAL = "awaiting_approval", _("Awaiting approval")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")
        WITHDRAWN = "withdrawn", _("Withdrawn")
        PLACING = "placing", _("Placing")
        FINISHED = "finished", _("Finished")

    run = models.ForeignKey(
        PreviewRun, on_delete=models.PROTECT, related_name="order_requests", verbose_name=_("run")
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="order_requests",
        verbose_name=_("requested by"),
    )
    submission_token = models.UUIDField(_("submission token"))
    state = models.CharField(
        _("state"), max_length=20, choices=State.choices, default=State.AWAITING_APPROVAL
    )
    comment = models.TextField(_("comment"), blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="decided_order_requests",
        verbose_name=_("decided by"),
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_comment = models.TextField(_("decision comment"), blank=True)
    created_at = models.DateTimeField(_("requested at"), auto_now_add=True)
    # Sending the placing task once (dispatch.send_once), as for runs.
    dispatched_at = models.DateTimeField(_("sent to the workers"), null=True, blank=True)

    class Meta:
        verbose_name = _("order request")
        verbose_name_plural = _("order requests")
        ordering = ["-created_at", "-pk"]
        permissions = [("approve_orderrequest", "Can approve order requests")]
        constraints = [
            models.UniqueConstraint(
                fields=["requested_by", "submission_token"], name="one_order_request_per_submission"
            ),
        ]

    def __str__(self):
        return f"#{self.pk} ({self.get_state_display()})"

    def get_absolute_url(self):
        return reverse("previews:order-request-detail", args=[self.pk])

    @property
    def state_label(self) -> str:
        """Its state as the pages show it: awaiting approval while some parts were already
        placed (a part repriced at placing went back for approval) says so, not only
        "Awaiting approval". Reads `supplier_orders.all()`: prefetch them."""
        if self.state == self.State.AWAITING_APPROVAL:
            placed = {SupplierOrder.State.PLACED, SupplierOrder.State.PARTLY_PLACED}
            if any(part.state in placed for part in self.supplier_orders.all()):
                return str(_("Partly placed, the rest awaiting approval"))
        return self.get_state_display()

    @property
    def total_fen(self) -> int:
        """The sum of its supplier orders' totals as last previewed (fen)."""
        return sum(order.previewed_total_fen or 0 for order in self.supplier_orders.all())


class SupplierOrder(models.Model):
    """One create call's worth of a request: one supplier's lines (at most 50, so a
    supplier of more lines has several parts), bound to what was previewed and to the
    exact `addressParam` and `cargoParamList` that will be sent."""

    class State(models.TextChoices):
        AWAITING_APPROVAL = "awaiting_approval", _("Awaiting approval")
        REPRICED = "repriced", _("Price changed: awaiting approval again")
        APPROVED = "approved", _("Approved, waiting to be placed")
        REJECTED = "rejected", _("Rejected")
        WITHDRAWN = "withdrawn", _("Withdrawn")
        SENDING = "sending", _("Being placed")
        PLACED = "placed", _("Placed")
        PARTLY_PLACED = "partly_placed", _("Placed, some lines failed")
        REFUSED = "refused", _("Refused by 1688")
        OUTCOME_UNKNOWN = "outcome_unknown", _("Outcome unknown: being checked")
        NOT_PLACED = "not_placed", _("Not placed")

    request = models.ForeignKey(
        OrderRequest,
        on_delete=models.CASCADE,
        related_name="supplier_orders",
        verbose_name=_("order request"),
    )
    supplier_preview = models.ForeignKey(
        SupplierPreview,
        on_delete=models.PROTECT,
        related_name="supplier_orders",
        verbose_name=_("supplier preview"),
    )
    part = models.PositiveIntegerField(_("part"), default=0)
    supplier_name = models.CharField(_("supplier"), max_length=limits.SUPPLIER_NAME_LENGTH)
    # Exactly what the create call sends: the documented addressParam and cargoParamList.
    address_param = models.JSONField(_("address as it will be sent"))
    cargo_params = models.JSONField(_("lines as they will be sent"))
    flow_flag = models.CharField(_("flow"), max_length=limits.FLOW_FLAG_LENGTH, blank=True)
    records = models.PositiveIntegerField(_("orders 1688 will create"), default=1)
    # The figures of the preview it was requested from (fen).
    previewed_total_fen = models.BigIntegerField(_("total payable (previewed)"))
    # By the run page's rule (money.reconcile), so they add up as they do there:
    # goods − discounts + carriage + other fees + unexplained = previewed total.
    goods_fen = models.BigIntegerField(_("goods (after line promotions)"), null=True, blank=True)
    carriage_fen = models.BigIntegerField(_("carriage"), null=True, blank=True)
    discount_fen = models.BigIntegerField(_("order discounts"), null=True, blank=True)
    additional_fee_fen = models.BigIntegerField(_("other fees"), null=True, blank=True)
    unexplained_fen = models.BigIntegerField(
        _("unexplained difference (gateway)"), null=True, blank=True
    )
    trade_mode_name = models.CharField(_("trade mode"), max_length=120, blank=True)
    trade_type = models.CharField(_("trade type"), max_length=60, blank=True)
    pay_window = models.TextField(_("pay window"), blank=True)
    post_fee_by_desc_offer_ids = models.JSONField(
        _("carriage as described"), default=list, blank=True
    )
    state = models.CharField(
        _("state"), max_length=20, choices=State.choices, default=State.AWAITING_APPROVAL
    )
    state_reason = models.TextField(_("why"), blank=True)  # in English (order_notes.english)
    note_kind = models.CharField(_("note"), max_length=30, blank=True)  # order_notes kinds
    note_values = models.JSONField(_("note's values"), default=dict, blank=True)
    approved_total_fen = models.BigIntegerField(_("approved total"), null=True, blank=True)
    repriced_total_fen = models.BigIntegerField(
        _("total previewed before placing"), null=True, blank=True
    )
    repreviewed_at = models.DateTimeField(_("previewed again at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("supplier order")
        verbose_name_plural = _("supplier orders")
        ordering = ["request", "supplier_name", "part", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["request", "supplier_preview", "part"], name="one_supplier_order_per_part"
            ),
            # What a preview quoted is ordered by one live request at a time.
            models.UniqueConstraint(
                fields=["supplier_preview", "part"],
                condition=~Q(state__in=["rejected", "withdrawn", "refused", "not_placed"]),
                name="one_live_supplier_order_per_preview_part",
            ),
        ]

    def __str__(self):
        return f"{self.supplier_name} #{self.part + 1} ({self.get_state_display()})"

    @property
    def shown_reason(self) -> str:
        """Why it is where it is, in the reader's language (`state_reason` in English for
        a part recorded before notes were kept)."""
        return _noted(self, self.state_reason)

    @property
    def price_difference_fen(self) -> int | None:
        """How much the preview just before placing differs from the approved total."""
        if self.repriced_total_fen is None or self.approved_total_fen is None:
            return None
        return self.repriced_total_fen - self.approved_total_fen


class OrderAttempt(models.Model):
    """One create call. Its `third_order_id` and `marker` are stored and committed before
    the call; a lost answer is never sent again but resolved by reading orders."""

    class State(models.TextChoices):
        CLAIMED = "claimed", _("Claimed, not yet sent")
        SENT = "sent", _("Sent, waiting for the answer")
        CREATED = "created", _("Created")
        REFUSED = "refused", _("Refused")
        OUTCOME_UNKNOWN = "outcome_unknown", _("Outcome unknown")
        RESOLVED_PLACED = "resolved_placed", _("Resolved: placed")
        RESOLVED_NOT_PLACED = "resolved_not_placed", _("Resolved: not placed")

    supplier_order = models.ForeignKey(
        SupplierOrder,
        on_delete=models.CASCADE,
        related_name="attempts",
        verbose_name=_("supplier order"),
    )
    third_order_id = models.CharField(_("our order id (thirdOrderId)"), max_length=64, unique=True)
    marker = models.CharField(_("marker in the message"), max_length=64, unique=True)
    message = models.CharField(_("message to the seller"), max_length=500, blank=True)
    state = models.CharField(
        _("state"), max_length=20, choices=State.choices, default=State.CLAIMED
    )
    worker_token = models.CharField(_("sent by"), max_length=120, blank=True)
    claimed_at = models.DateTimeField(_("claimed at"), auto_now_add=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    error_kind = models.CharField(_("kind of failure"), max_length=20, blank=True)
    error_code = models.CharField(_("error code"), max_length=limits.ERROR_CODE_LENGTH, blank=True)
    upstream_message = models.TextField(_("upstream's words"), blank=True)
    http_status = models.PositiveSmallIntegerField(_("HTTP status"), null=True, blank=True)
    trace_id = models.CharField(_("trace id"), max_length=limits.TRACE_ID_LENGTH, blank=True)
    raw_body = models.TextField(_("raw answer (credentials removed)"), blank=True)
    failed_lines = models.JSONField(_("lines that failed"), default=list, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="resolved_order_attempts",
        verbose_name=_("resolved by"),
    )
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    resolution = models.TextField(_("how it was resolved"), blank=True)
    note_kind = models.CharField(_("note"), max_length=30, blank=True)  # order_notes kinds
    note_values = models.JSONField(_("note's values"), default=dict, blank=True)
    resolution_checks = models.PositiveIntegerField(_("automatic checks"), default=0)
    last_checked_at = models.DateTimeField(_("last checked at"), null=True, blank=True)

    class Meta:
        verbose_name = _("order attempt")
        verbose_name_plural = _("order attempts")
        ordering = ["supplier_order", "claimed_at", "pk"]
        constraints = [
            # Exactly once: of a supplier order's attempts, at most one may have created
            # (or may yet turn out to have created) an order.
            models.UniqueConstraint(
                fields=["supplier_order"],
                condition=~Q(state__in=["refused", "resolved_not_placed"]),
                name="one_live_attempt_per_supplier_order",
            ),
        ]

    def __str__(self):
        return f"{self.third_order_id} ({self.get_state_display()})"

    @property
    def shown_resolution(self) -> str:
        """How it was settled, in the reader's language (`resolution`, in English, for an
        attempt settled before notes were kept)."""
        return _noted(self, self.resolution)


class PlacedOrder(models.Model):
    """An order 1688 created (a create may create several), tracked from order detail."""

    class Source(models.TextChoices):
        CREATE = "create", _("The create call's answer")
        ORDER_LIST = "order_list", _("Found in the buyer's orders by its marker")
        PERSON = "person", _("Entered by a person")

    class CancelReason(models.TextChoices):
        BUYER_CANCEL = "buyerCancel", _("The buyer cancels")
        SELLER_GOODS_LACK = "sellerGoodsLack", _("The seller lacks the goods")
        OTHER = "other", _("Other")

    attempt = models.ForeignKey(
        OrderAttempt,
        on_delete=models.PROTECT,
        related_name="placed_orders",
        verbose_name=_("order attempt"),
    )
    order_id = models.CharField(_("1688 order id"), max_length=32, unique=True)
    source = models.CharField(_("known from"), max_length=20, choices=Source.choices)
    # From the create answer (fen).
    created_total_fen = models.BigIntegerField(_("total at creation"), null=True, blank=True)
    created_post_fee_fen = models.BigIntegerField(_("carriage at creation"), null=True, blank=True)
    # The total the preview approved for this order (fen), to compare with order detail.
    expected_total_fen = models.BigIntegerField(_("total previewed"), null=True, blank=True)
    # From order detail: yuan there, stored here as exact fen.
    total_fen = models.BigIntegerField(_("total (order detail)"), null=True, blank=True)
    shipping_fee_fen = models.BigIntegerField(_("carriage (order detail)"), null=True, blank=True)
    goods_fen = models.BigIntegerField(_("goods (order detail)"), null=True, blank=True)
    discount_fen = models.BigIntegerField(_("discount (order detail)"), null=True, blank=True)
    refund_fen = models.BigIntegerField(_("refunded"), null=True, blank=True)
    status = models.CharField(_("1688 status"), max_length=40, blank=True)
    ordered_at = models.DateTimeField(_("ordered at"), null=True, blank=True)
    pay_by = models.DateTimeField(_("pay by"), null=True, blank=True)
    price_changed = models.BooleanField(_("price changed by the seller"), default=False)
    refreshed_at = models.DateTimeField(_("status read at"), null=True, blank=True)
    refresh_problem = models.TextField(_("why the status could not be read"), blank=True)
    raw_detail = models.TextField(_("order detail (credentials removed)"), blank=True)
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    cancel_reason = models.CharField(
        _("cancel reason"), max_length=20, choices=CancelReason.choices, blank=True
    )
    cancel_remark = models.CharField(_("cancel remark"), max_length=200, blank=True)
    # Claimed before the cancel call is sent, so a double click sends it once
    # (orders.cancel_order); given back when the call fails.
    cancel_claimed_at = models.DateTimeField(_("cancel being sent since"), null=True, blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="cancelled_orders",
        verbose_name=_("cancelled by"),
    )
    created_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("placed order")
        verbose_name_plural = _("placed orders")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(order_id__regex=r"^[0-9]{1,32}$"), name="placed_order_id_digits"
            ),
        ]

    def __str__(self):
        return self.order_id

    @property
    def is_unpaid(self) -> bool:
        return self.status in ("", "waitbuyerpay") and self.cancelled_at is None

    @property
    def price_difference_fen(self) -> int | None:
        """Order detail's total minus the previewed one (fen); None until both are known."""
        if self.total_fen is None or self.expected_total_fen is None:
            return None
        return self.total_fen - self.expected_total_fen


class OrderAuditEvent(models.Model):
    """Who did what to an order request, when, with which totals. Never edited."""

    class Action(models.TextChoices):
        REQUESTED = "requested", _("Requested")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")
        WITHDRAWN = "withdrawn", _("Withdrawn")
        REPRICED = "repriced", _("Price changed before placing")
        SENT = "sent", _("Sent to 1688")
        PLACED = "placed", _("Placed")
        PARTLY_PLACED = "partly_placed", _("Placed, some lines failed")
        REFUSED = "refused", _("Refused by 1688")
        NOT_PLACED = "not_placed", _("Not placed")
        OUTCOME_UNKNOWN = "outcome_unknown", _("Outcome unknown")
        RESOLVED = "resolved", _("Resolved")
        REFRESHED = "refreshed", _("Status read")
        PRICE_CHANGED = "price_changed", _("Seller changed the price")
        PAYMENT_LINK = "payment_link", _("Payment link")
        CANCELLED = "cancelled", _("Cancelled")
        CANCEL_REFUSED = "cancel_refused", _("Cancel refused")

    at = models.DateTimeField(_("at"), default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="order_audit_events",
        verbose_name=_("who (empty: the worker)"),
    )
    action = models.CharField(_("action"), max_length=20, choices=Action.choices)
    request = models.ForeignKey(
        OrderRequest,
        on_delete=models.PROTECT,
        related_name="audit_events",
        verbose_name=_("order request"),
    )
    supplier_order = models.ForeignKey(
        SupplierOrder,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="audit_events",
        verbose_name=_("supplier order"),
    )
    attempt = models.ForeignKey(
        OrderAttempt,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="audit_events",
        verbose_name=_("order attempt"),
    )
    placed_order = models.ForeignKey(
        PlacedOrder,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="audit_events",
        verbose_name=_("placed order"),
    )
    total_fen = models.BigIntegerField(_("total at that moment"), null=True, blank=True)
    previous_total_fen = models.BigIntegerField(_("total before"), null=True, blank=True)
    comment = models.TextField(_("comment"), blank=True)
    note_kind = models.CharField(_("note"), max_length=30, blank=True)  # order_notes kinds
    note_values = models.JSONField(_("note's values"), default=dict, blank=True)

    class Meta:
        verbose_name = _("order audit event")
        verbose_name_plural = _("order audit events")
        ordering = ["at", "pk"]
        indexes = [models.Index(fields=["request", "at"], name="order_audit_request_at")]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M} {self.get_action_display()}"

    @property
    def shown_comment(self) -> str:
        """Its note in the reader's language and the person's comment; `comment` (in
        English) for an event recorded before notes were kept, or a person's own words."""
        return _noted(self, self.comment)


# --------------------------------------------------------------------------- currencies


class ExchangeRate(models.Model):
    """What one unit of a currency costs in CNY on a day, typed in the admin or fetched
    from the European Central Bank. A manual rate always wins over a fetched one
    (rates.current_rate)."""

    class Source(models.TextChoices):
        MANUAL = "manual", _("Manual")
        ECB = "ecb", _("European Central Bank")

    currency = models.CharField(
        _("currency"),
        max_length=3,
        validators=[validators.validate_currency_code],
        help_text=_("ISO 4217 code, e.g. USD"),
    )
    rate = models.DecimalField(
        _("CNY for one unit"),
        max_digits=currencies.RATE_MAX_INTEGER_DIGITS + currencies.RATE_DECIMAL_PLACES,
        decimal_places=currencies.RATE_DECIMAL_PLACES,
        validators=[validators.validate_rate],
        help_text=_("e.g. 7.1234 for 1 USD = 7.1234 CNY"),
    )
    as_of = models.DateField(_("as of"), help_text=_("The day the rate was published or set."))
    source = models.CharField(
        _("source"), max_length=10, choices=Source.choices, default=Source.MANUAL
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("exchange rate")
        verbose_name_plural = _("exchange rates")
        ordering = ["currency", "-as_of", "source", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["currency", "source", "as_of"], name="one_rate_per_currency_source_day"
            ),
            models.CheckConstraint(condition=Q(rate__gt=0), name="exchange_rate_positive"),
            models.CheckConstraint(
                condition=Q(currency__regex=r"^[A-Z]{3}$"), name="exchange_rate_currency_code"
            ),
        ]

    def __str__(self):
        return f"1 {self.currency} = {currencies.format_rate(self.rate)} CNY ({self.as_of})"

    def clean(self):
        super().clean()
        try:
            validators.validate_rate_date(self.as_of)
        except ValidationError as error:
            raise ValidationError({"as_of": error}) from error


class RateFetch(models.Model):
    """One day's fetch of the reference rates: the unique day is the claim, so one worker
    fetches per day (rates.fetch_rates_if_due); its outcome is kept for the admin."""

    day = models.DateField(_("day"), unique=True)
    claimed_at = models.DateTimeField(_("last tried"))
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=1)
    succeeded_at = models.DateTimeField(_("fetched"), null=True, blank=True)
    rates_as_of = models.DateField(_("rates as of"), null=True, blank=True)
    rate_count = models.PositiveSmallIntegerField(_("rates stored"), default=0)
    error = models.TextField(_("why it failed"), blank=True)

    class Meta:
        verbose_name = _("rate fetch")
        verbose_name_plural = _("rate fetches")
        ordering = ["-day", "pk"]

    def __str__(self):
        return str(self.day)


class BuyerPreferences(models.Model):
    """A buyer's settings: for now, the second currency new runs show beside CNY."""

    owner = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="preferences",
        verbose_name=_("owner"),
    )
    display_currency = models.CharField(
        _("display currency"),
        max_length=3,
        blank=True,
        validators=[validators.validate_currency_code],
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("buyer preferences")
        verbose_name_plural = _("buyer preferences")
        ordering = ["owner", "pk"]

    def __str__(self):
        return f"{self.owner}: {self.display_currency or '—'}"
