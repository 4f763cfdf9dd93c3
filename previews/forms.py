import uuid

from crispy_forms.helper import FormHelper
from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import ProhibitNullCharactersValidator
from django.db.models import Count, Sum
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop, ngettext

from . import limits, regions
from .currency import display_choices
from .imports import parse_offer_id
from .models import CartLine, ExchangeRate, Flow, PlacedOrder, ShippingAddress, Supplier
from .runs import missing_address_fields, snapshot_address
from .validators import (
    QUANTITY_HELP,
    SPEC_ID_HELP,
    normalize_mobile,
    normalize_spec_id,
    parse_quantity,
    validate_currency_code,
    validate_no_control_characters,
    validate_no_control_characters_in_lines,
    validate_rate_date,
    validate_spec_id,
)

MAX_UPLOAD_BYTES = 5 * 1024 * 1024
# Above this many cart lines the preview form offers whole suppliers, not every line:
# thousands of checkboxes neither render quickly nor fit Django's field limit when posted.
PREVIEW_FORM_MAX_LISTED_LINES = 500
# Fields of the preview forms besides the supplier checkboxes (token, address(es), flow…):
# with more suppliers than DATA_UPLOAD_MAX_NUMBER_FIELDS leaves room for, one box stands
# for all of them, as a form with a box each could not be sent.
PREVIEW_FORM_OTHER_FIELDS = 10

# Django 6.1's blank choice label (BLANK_CHOICE_LABEL) has no Chinese in Django's own
# catalogue yet: ours has it, and naming it here keeps it there through `make messages`.
gettext_noop("- Select an option -")


def forbid_control_characters(form) -> None:
    """Every text field of `form` refuses control characters (they would be stored), with
    one message naming the character: Django's own NUL check would say it a second time."""
    for field in form.fields.values():
        if isinstance(field, forms.CharField):
            field.validators = [
                validator
                for validator in field.validators
                if not isinstance(validator, ProhibitNullCharactersValidator)
            ]
            field.validators.append(validate_no_control_characters)


class OwnedFormMixin:
    """Forms that belong to one buyer: choices and uniqueness are scoped to `owner`."""

    def __init__(self, *args, owner, **kwargs):
        self.owner = owner
        super().__init__(*args, **kwargs)
        forbid_control_characters(self)
        self.helper = FormHelper()
        self.helper.form_tag = False


class QuantityField(forms.Field):
    """A quantity by the one rule of `validators.parse_quantity` (also the import's)."""

    widget = forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"})

    def to_python(self, value):
        text = "" if value is None else str(value).strip()
        return None if text in self.empty_values else parse_quantity(text)


class ShippingAddressForm(OwnedFormMixin, forms.ModelForm):
    # Longer than the stored 11 digits: "+86 138-1234-5678" is accepted and normalised.
    mobile = forms.CharField(
        label=_("mobile"), max_length=20, widget=forms.TextInput(attrs={"inputmode": "tel"})
    )

    class Meta:
        model = ShippingAddress
        fields = [
            "label",
            "full_name",
            "mobile",
            "phone",
            "post_code",
            "district_code",
            "province_text",
            "city_text",
            "area_text",
            "town_text",
            "address",
            "is_default",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("province_text", "city_text", "area_text"):
            self.fields[name].required = False
            self.fields[name].help_text = _("Filled from the district code when left empty.")
        self.fields["phone"].widget.attrs["inputmode"] = "tel"
        self.fields["post_code"].widget.attrs["inputmode"] = "numeric"
        self.fields["district_code"].widget.attrs["inputmode"] = "numeric"

    def clean_mobile(self):
        return normalize_mobile(self.cleaned_data["mobile"])

    def clean_phone(self):
        phone = self.cleaned_data.get("phone", "").strip()
        return normalize_mobile(phone) if phone.startswith(("+86", "0086")) else phone

    def clean(self):
        cleaned = super().clean()
        district = regions.find_district(cleaned.get("district_code") or "")
        if district is None:
            return cleaned
        expected = {
            "province_text": district.province,
            "city_text": district.city,
            "area_text": district.district,
        }
        for field, value in expected.items():
            given = (cleaned.get(field) or "").strip()
            if not given:
                cleaned[field] = value
            elif given != value:
                self.add_error(
                    field,
                    _("District code %(code)s is %(place)s: this should be “%(value)s”.")
                    % {
                        "code": district.code,
                        "place": f"{district.province} {district.city} {district.district}",
                        "value": value,
                    },
                )
        return cleaned

    def _post_clean(self):
        self.instance.owner = self.owner
        super()._post_clean()


class SupplierForm(OwnedFormMixin, forms.ModelForm):
    class Meta:
        model = Supplier
        fields = ["name", "seller_open_id", "note"]

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        clash = Supplier.objects.filter(owner=self.owner, name=name).exclude(pk=self.instance.pk)
        if clash.exists():
            raise ValidationError(
                _("You already have a supplier called “%(name)s”.") % {"name": name}
            )
        return name

    def clean_seller_open_id(self):
        value = self.cleaned_data["seller_open_id"].strip()
        clash = Supplier.objects.filter(owner=self.owner, seller_open_id=value).exclude(
            pk=self.instance.pk
        )
        if value and clash.exists():
            raise ValidationError(
                _("Your supplier “%(name)s” already has this seller open id.")
                % {"name": clash.first().name}
            )
        return value

    def _post_clean(self):
        self.instance.owner = self.owner
        super()._post_clean()


class CartLineForm(OwnedFormMixin, forms.Form):
    """One cart line, typed in; `line` is the line being edited, if any."""

    offer = forms.CharField(
        label=_("Offer"),
        max_length=500,
        help_text=_("An offer id or a 1688 offer link (detail.1688.com/offer/<id>.html)."),
    )
    spec_id = forms.CharField(
        label=_("Spec id"),
        max_length=64,  # room for spaces and full-width forms before normalising
        required=False,
        help_text=SPEC_ID_HELP,
    )
    quantity = QuantityField(label=_("Quantity"), help_text=QUANTITY_HELP)
    supplier = forms.ModelChoiceField(
        label=_("Supplier"), queryset=Supplier.objects.none(), required=False
    )
    new_supplier = forms.CharField(
        label=_("…or a new supplier"),
        max_length=limits.SUPPLIER_NAME_LENGTH,
        required=False,
        help_text=_("Type a name to create the supplier with this line."),
    )
    title = forms.CharField(label=_("Title"), max_length=limits.CART_TITLE_LENGTH, required=False)
    note = forms.CharField(label=_("Note"), max_length=limits.CART_NOTE_LENGTH, required=False)

    def __init__(self, *args, line: CartLine | None = None, **kwargs):
        self.line = line
        if line is not None:
            kwargs.setdefault(
                "initial",
                {
                    "offer": line.offer_id,
                    "spec_id": line.spec_id,
                    "quantity": line.quantity,
                    "supplier": line.supplier_id,
                    "title": line.title,
                    "note": line.note,
                },
            )
        super().__init__(*args, **kwargs)
        self.fields["supplier"].queryset = Supplier.objects.filter(owner=self.owner)

    def clean_offer(self):
        offer_id = parse_offer_id(self.cleaned_data["offer"])
        if offer_id is None:
            raise ValidationError(
                _(
                    "Enter an offer id (digits) or a 1688 offer link such as "
                    "https://detail.1688.com/offer/670291644950.html."
                )
            )
        return offer_id

    def clean_spec_id(self):
        spec_id = normalize_spec_id(self.cleaned_data["spec_id"])
        validate_spec_id(spec_id)
        return spec_id

    def clean_new_supplier(self):
        name = self.cleaned_data["new_supplier"].strip()
        if name and Supplier.objects.filter(owner=self.owner, name=name).exists():
            raise ValidationError(_("You already have this supplier: choose it in the list."))
        return name

    def clean(self):
        cleaned = super().clean()
        supplier, new_name = cleaned.get("supplier"), cleaned.get("new_supplier")
        if supplier and new_name:
            self.add_error("new_supplier", _("Choose a supplier or type a new one, not both."))
        elif not supplier and not new_name and "new_supplier" not in self.errors:
            self.add_error("supplier", _("Choose the supplier of this offer, or type a new one."))
        offer_id = cleaned.get("offer")
        if self.line is not None and offer_id is not None:
            clash = CartLine.objects.filter(
                owner=self.owner, offer_id=offer_id, spec_id=cleaned.get("spec_id", "")
            ).exclude(pk=self.line.pk)
            if clash.exists():
                self.add_error(
                    "offer", _("This offer and spec is already another line of your cart.")
                )
        return cleaned


class CleanTextModelForm(forms.ModelForm):
    """The admin's forms: no control character is stored from there either."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        forbid_control_characters(self)


class OfferPasteForm(forms.Form):
    """Pasted 1688 links or offer ids to look up (lookups.offer_ids_in reads them)."""

    text = forms.CharField(
        label=_("1688 links or offer ids"),
        widget=forms.Textarea(attrs={"rows": 8, "spellcheck": "false"}),
        max_length=200_000,
        help_text=_(
            "Paste one link or up to 200: detail.1688.com/offer/… or m.1688.com links as the "
            "browser copies them, or bare offer ids, mixed with any other text."
        ),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The product's rule and message (naming the character, its line and place), not
        # Django's generic NUL refusal; line breaks and tabs are part of a paste.
        self.fields["text"].validators = [
            v
            for v in self.fields["text"].validators
            if not isinstance(v, ProhibitNullCharactersValidator)
        ] + [validate_no_control_characters_in_lines]


class CartImportForm(forms.Form):
    text = forms.CharField(
        label=_("Paste lines"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 8, "spellcheck": "false"}),
        help_text=_(
            "One line per row: offer link or id, spec id, quantity, supplier[, title, note], "
            "separated by commas or tabs (as copied from Excel)."
        ),
    )
    file = forms.FileField(
        label=_("…or upload a CSV file"),
        required=False,
        help_text=_("UTF-8 (with or without BOM) or GBK as saved by Excel; at most 5 MB."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The parser names the row holding a NUL; Django's field-wide refusal would not.
        self.fields["text"].validators = [
            v
            for v in self.fields["text"].validators
            if not isinstance(v, ProhibitNullCharactersValidator)
        ]
        limit = settings.IMPORT_MAX_ROWS
        self.fields["text"].help_text = ngettext(
            "One line per row: offer link or id, spec id, quantity, supplier[, title, note], "
            "separated by commas or tabs (as copied from Excel). At most %(rows)s row per "
            "import and %(paste)s per paste: upload a bigger list as a file, or in parts.",
            "One line per row: offer link or id, spec id, quantity, supplier[, title, note], "
            "separated by commas or tabs (as copied from Excel). At most %(rows)s rows per "
            "import and %(paste)s per paste: upload a bigger list as a file, or in parts.",
            limit,
        ) % {"rows": f"{limit:,}", "paste": filesizeformat(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)}
        self.helper = FormHelper()
        self.helper.form_tag = False

    def clean_file(self):
        upload = self.cleaned_data.get("file")
        if upload and upload.size > MAX_UPLOAD_BYTES:
            raise ValidationError(_("The file is larger than 5 MB: split it and import the parts."))
        return upload

    def clean(self):
        cleaned = super().clean()
        if not cleaned.get("text", "").strip() and not cleaned.get("file"):
            raise ValidationError(_("Paste some lines or choose a CSV file."))
        return cleaned


class PreviewForm(OwnedFormMixin, forms.Form):
    """Which address, which lines and which flow a new preview run asks for."""

    address = forms.ModelChoiceField(
        label=_("Ship to"), queryset=ShippingAddress.objects.none(), empty_label=None
    )
    lines = forms.ModelMultipleChoiceField(
        label=_("Lines"),
        queryset=CartLine.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Choose at least one line to preview.")},
    )
    flow = forms.ChoiceField(
        label=_("Flow"),
        choices=Flow.choices,
        required=False,
        initial=Flow.GENERAL,
        help_text=_("“Best flow” lets 1688 compare the flows; the page says which it used."),
    )
    submission_token = forms.UUIDField(widget=forms.HiddenInput)

    suppliers = forms.ModelMultipleChoiceField(
        label=_("Suppliers"),
        queryset=Supplier.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    every_supplier = forms.BooleanField(
        label=_("Preview every line of every supplier"), required=False, initial=True
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        addresses = ShippingAddress.objects.filter(owner=self.owner)
        self.fields["address"].queryset = addresses
        default = next((a for a in addresses if a.is_default), None)
        if default is not None:
            self.fields["address"].initial = default.pk
        lines = CartLine.objects.filter(owner=self.owner).select_related("supplier")
        self.line_count = lines.count()
        self.lists_lines = self.line_count <= PREVIEW_FORM_MAX_LISTED_LINES
        self.fields["lines"].queryset = lines
        if self.lists_lines:
            self.fields["lines"].initial = [line.pk for line in lines]
            del self.fields["suppliers"]
        else:
            # A big cart is chosen supplier by supplier: the page and the post stay small.
            self.fields["lines"].required = False
            suppliers = (
                Supplier.objects.filter(owner=self.owner)
                .annotate(line_count=Count("lines"), total_quantity=Sum("lines__quantity"))
                .filter(line_count__gt=0)
                .order_by("name", "pk")
            )
            self.fields["suppliers"].queryset = suppliers
            self.fields["suppliers"].initial = [supplier.pk for supplier in suppliers]
        self.supplier_count = 0 if self.lists_lines else len(self.fields["suppliers"].queryset)
        self.max_listed_suppliers = (
            settings.DATA_UPLOAD_MAX_NUMBER_FIELDS - PREVIEW_FORM_OTHER_FIELDS
        )
        self.lists_suppliers = self.supplier_count <= self.max_listed_suppliers
        if self.lists_lines or self.lists_suppliers:
            del self.fields["every_supplier"]
        self.fields["submission_token"].initial = uuid.uuid4()

    def clean(self):
        cleaned = super().clean()
        if not self.lists_lines and not self.lists_suppliers:
            if not cleaned.get("every_supplier"):
                self.add_error(
                    "every_supplier", _("Tick this box to preview every line of the cart.")
                )
            else:
                cleaned["lines"] = CartLine.objects.filter(owner=self.owner).order_by(
                    "supplier__name", "offer_id", "pk"
                )
            return cleaned
        if not self.lists_lines and "suppliers" in cleaned:
            chosen = cleaned["suppliers"]
            if not chosen:
                self.add_error("suppliers", _("Choose at least one supplier to preview."))
            else:
                cleaned["lines"] = CartLine.objects.filter(
                    owner=self.owner, supplier__in=chosen
                ).order_by("supplier__name", "offer_id", "pk")
        return cleaned

    def clean_address(self):
        address = self.cleaned_data["address"]
        missing = missing_address_fields(snapshot_address(address))
        if missing:
            names = ", ".join(str(ShippingAddress._meta.get_field(f).verbose_name) for f in missing)
            raise ValidationError(
                _("This address is incomplete (%(fields)s): complete it before previewing.")
                % {"fields": names}
            )
        return address

    max_listed_lines = PREVIEW_FORM_MAX_LISTED_LINES

    def grouped_lines(self):
        """The line checkboxes grouped by supplier, for the template (none for a big cart)."""
        if not self.lists_lines:
            return []
        by_supplier: dict[str, list] = {}
        lines = {str(line.pk): line for line in self.fields["lines"].queryset}
        for checkbox in self["lines"]:
            line = lines[str(checkbox.data["value"])]
            by_supplier.setdefault(line.supplier.name, []).append((checkbox, line))
        return sorted(by_supplier.items())

    def supplier_choices(self):
        """The supplier checkboxes of a big cart, each with its counts, for the template
        (none when there are too many suppliers for one form: `lists_suppliers`)."""
        if not self.lists_suppliers:
            return []
        suppliers = {str(s.pk): s for s in self.fields["suppliers"].queryset}
        return [(box, suppliers[str(box.data["value"])]) for box in self["suppliers"]]


class AddressComparisonForm(PreviewForm):
    """The same lines previewed to two or three saved addresses at once."""

    addresses = forms.ModelMultipleChoiceField(
        label=_("Ship to (choose 2 or 3)"),
        queryset=ShippingAddress.objects.none(),
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        del self.fields["address"]
        self.fields["addresses"].queryset = ShippingAddress.objects.filter(owner=self.owner)

    def clean_addresses(self):
        addresses = self.cleaned_data["addresses"]
        if not 2 <= len(addresses) <= 3:
            raise ValidationError(_("Choose two or three addresses to compare."))
        for address in addresses:
            missing = missing_address_fields(snapshot_address(address))
            if missing:
                raise ValidationError(
                    _("“%(label)s” is incomplete: complete it before previewing.")
                    % {"label": address.label}
                )
        return addresses


# --------------------------------------------------------------------------- ordering

ORDER_COMMENT_LENGTH = 1000


def _comment_field(label, *, required=False, help_text=""):
    return forms.CharField(
        label=label,
        required=required,
        max_length=ORDER_COMMENT_LENGTH,
        help_text=help_text,
        widget=forms.Textarea(attrs={"rows": 2}),
        validators=[validate_no_control_characters_in_lines],
    )


STALE_FORM_MESSAGE = _("This page was out of date or changed by hand: reload it and try again.")


class OrderingFormMixin:
    """Crispy, no form tag (the template has several buttons per form), and no control
    characters in what is stored (line breaks allowed in comments)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            if isinstance(field, forms.CharField):
                field.validators = [
                    v
                    for v in field.validators
                    if not isinstance(v, ProhibitNullCharactersValidator)
                ]
                if not isinstance(field.widget, forms.Textarea):
                    field.validators.append(validate_no_control_characters)
        self.helper = FormHelper()
        self.helper.form_tag = False

    def clean(self):
        # A hidden field's own error is never shown next to it, and the buyer could not
        # act on it anyway: only a page changed by hand or out of date sends one.
        if any(field.name in self.errors for field in self.hidden_fields()):
            raise forms.ValidationError(STALE_FORM_MESSAGE, code="stale_form")
        return super().clean()


class PreferencesForm(forms.Form):
    """The buyer's settings: the second currency new runs show beside CNY."""

    display_currency = forms.ChoiceField(
        label=_("Second currency"),
        required=False,
        help_text=_(
            "Shown beside CNY on the pages and exports of runs started from now on, at the "
            "rate of the day. CNY stays what is charged; earlier runs keep their own rate."
        ),
    )

    def __init__(self, *args, language: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["display_currency"].choices = [
            ("", _("None (CNY only)")),
            *display_choices(language, also=self.initial.get("display_currency", "")),
        ]
        stored = self.initial.get("display_currency", "")

        def validate_choice(code: str) -> None:
            if code != stored:  # a code stored earlier may be kept, never breaks the page
                validate_currency_code(code)

        self.fields["display_currency"].validators.append(validate_choice)
        self.helper = FormHelper()
        self.helper.form_tag = False


class OrderRequestForm(OrderingFormMixin, forms.Form):
    """Request ordering from a run: one supplier (`supplier`, the button pressed) or every
    orderable one (empty)."""

    submission_token = forms.UUIDField(widget=forms.HiddenInput)
    supplier = forms.IntegerField(required=False, widget=forms.HiddenInput, min_value=1)
    comment = _comment_field(
        _("Note for the approver"), help_text=_("Optional: why, for whom, by when.")
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["submission_token"].initial = uuid.uuid4()


class OrderDecisionForm(OrderingFormMixin, forms.Form):
    """An approver's comment on approving or rejecting (required to reject: the use case
    says so)."""

    comment = _comment_field(_("Comment"), help_text=_("Required when rejecting."))


class ResolveAttemptForm(OrderingFormMixin, forms.Form):
    """A person settles an order attempt whose outcome is unknown."""

    PLACED, NOT_PLACED = "placed", "not_placed"

    outcome = forms.ChoiceField(
        label=_("What happened"),
        widget=forms.RadioSelect,
        choices=[
            (PLACED, _("It was placed: I found the order on 1688")),
            (NOT_PLACED, _("It was not placed: there is no such order on 1688")),
        ],
    )
    order_id = forms.CharField(
        label=_("1688 order id"),
        required=False,
        max_length=32,
        help_text=_("The order's id on 1688, digits only (when it was placed)."),
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    comment = _comment_field(_("Comment"), help_text=_("Required when it was not placed."))

    def clean(self):
        data = super().clean()
        if data.get("outcome") == self.PLACED and not (data.get("order_id") or "").strip():
            self.add_error("order_id", _("Enter the 1688 order id of the order you found."))
        if data.get("outcome") == self.NOT_PLACED and not (data.get("comment") or "").strip():
            self.add_error("comment", _("Say how you know it was not placed."))
        return data


class CancelOrderForm(OrderingFormMixin, forms.Form):
    """Cancel an unpaid order: 1688's reason and a remark."""

    reason = forms.ChoiceField(label=_("Reason"), choices=PlacedOrder.CancelReason.choices)
    remark = forms.CharField(
        label=_("Remark"),
        required=False,
        max_length=200,
        help_text=_("Sent to 1688 with the cancellation (at most 200 characters)."),
    )


class ExchangeRateAdminForm(CleanTextModelForm):
    """A rate typed in the admin: always manual; the code is taken in capitals."""

    class Meta:
        model = ExchangeRate
        fields = ("currency", "rate", "as_of", "source")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "source" in self.fields:
            self.fields["source"].choices = [
                (ExchangeRate.Source.MANUAL, ExchangeRate.Source.MANUAL.label)
            ]

    def clean_currency(self):
        return self.cleaned_data["currency"].strip().upper()

    def clean_as_of(self):
        as_of = self.cleaned_data["as_of"]
        validate_rate_date(as_of)
        return as_of
