from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Length
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from . import validators

# Lets constraints say `spec_id__length=32`.
models.CharField.register_lookup(Length)

MAX_QUANTITY = 99_999
MAX_OFFER_ID = 2**63 - 1


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
    name = models.CharField(_("name"), max_length=120)
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
        max_length=32,
        blank=True,
        validators=[validators.validate_spec_id],
        help_text=_("32 hexadecimal characters; needed for offers that have specs."),
    )
    quantity = models.PositiveIntegerField(_("quantity"), validators=[validators.validate_quantity])
    title = models.CharField(_("title"), max_length=200, blank=True)
    note = models.CharField(_("note"), max_length=200, blank=True)
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
                condition=Q(quantity__gte=1, quantity__lte=MAX_QUANTITY),
                name="cart_line_quantity_1_to_99999",
            ),
            models.CheckConstraint(
                condition=Q(spec_id="") | Q(spec_id__length=32),
                name="cart_line_spec_id_empty_or_32",
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
