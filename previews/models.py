from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Length
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

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
