"""Seller-portal forms. They check the shape of the input; the services own the rules."""

from django import forms

from catalog.errors import InvalidImage
from catalog.images import image_process
from catalog.models import (
    MAX_ALT_LENGTH,
    MAX_BRAND_LENGTH,
    MAX_DESCRIPTION_LENGTH,
    MAX_OPTION_NAME_LENGTH,
    MAX_OPTION_VALUE_LENGTH,
    MAX_OPTIONS,
    MAX_SKU_LENGTH,
    MAX_TITLE_LENGTH,
    MAX_VARIANTS,
    Product,
    ProductVariant,
)
from catalog.selectors import categories
from catalog.services.images import MAX_IMAGES_PER_PRODUCT
from catalog.services.stock import only_variant
from catalog.validators import (
    MAX_PRICE,
    MAX_STOCK,
    SKU_HELP,
    mrp_below_price,
    validate_mrp,
    validate_mrp_not_below_price,
    validate_price,
    validate_sku,
)
from joycart.errors import DomainError

IMAGE_ACCEPT = "image/jpeg,image/png,image/webp"
IMAGE_HELP = "A JPEG, PNG or WebP image of at most 5 MB."
MONEY_ERRORS = {
    "invalid": "Enter an amount in rupees, such as 499.00.",
    "max_decimal_places": "Use at most 2 decimal places (paise).",
}
# Which field a service's error belongs beside; other codes show above the form.
DOMAIN_ERROR_FIELDS = {
    "duplicate_sku": "sku",
    "invalid_sku": "sku",
    "invalid_category": "category",
    "invalid_stock": "stock",
}
# Of the only variant: a product with several variants edits them in its variants grid.
VARIANT_DETAILS = ("sku", "price", "mrp")


def _money_field(**kwargs) -> forms.DecimalField:
    # No max_digits: the price validator's cap is the upper bound, with its own message.
    return forms.DecimalField(
        decimal_places=2,
        error_messages=MONEY_ERRORS,
        widget=forms.NumberInput(attrs={"step": "0.01", "min": "0.01", "max": str(MAX_PRICE), "inputmode": "decimal"}),
        **kwargs,
    )


class ServiceErrorsForm(forms.Form):
    """Shows a service's refusal beside the field it concerns, in the service's words."""

    def add_domain_error(self, exc: DomainError) -> None:
        field = DOMAIN_ERROR_FIELDS.get(exc.code)
        if exc.code == "invalid_price":
            price, mrp = self.cleaned_data.get("price"), self.cleaned_data.get("mrp")
            field = "mrp" if mrp_below_price(price=price, mrp=mrp) else "price"
        if field not in self.fields:
            field = None
        self.add_error(field, forms.ValidationError(exc.message, code=exc.code))


class PricesForm(ServiceErrorsForm):
    """The MRP is checked against the price beside the MRP, by the one shared rule."""

    def clean(self):
        cleaned = super().clean()
        try:
            validate_mrp_not_below_price(price=cleaned.get("price"), mrp=cleaned.get("mrp"))
        except forms.ValidationError as exc:
            self.add_error("mrp", exc)
        return cleaned


class ProductForm(PricesForm):
    """A product's details, and its only variant's SKU and prices. Stock is changed apart, by delta or
    checked set (see `StockAdjustForm`). A product with several variants edits those in its grid."""

    title = forms.CharField(max_length=MAX_TITLE_LENGTH)
    description = forms.CharField(
        max_length=MAX_DESCRIPTION_LENGTH, required=False, widget=forms.Textarea(attrs={"rows": 6})
    )
    category = forms.ModelChoiceField(queryset=categories(), empty_label="Choose a category")
    brand = forms.CharField(max_length=MAX_BRAND_LENGTH, required=False)
    sku = forms.CharField(
        label="SKU",
        max_length=MAX_SKU_LENGTH,
        validators=[validate_sku],
        help_text=f"Your own stock-keeping code. SKUs are unique across all JoyCart sellers. {SKU_HELP}",
    )
    price = _money_field(label="Price (₹)", validators=[validate_price], help_text="What buyers pay.")
    mrp = _money_field(
        label="MRP (₹)",
        required=False,
        validators=[validate_mrp],
        help_text="Optional. At least the price; shown struck out.",
    )

    def __init__(self, *args, product: Product | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if product is not None and len(product.variants.all()) > 1:
            for name in VARIANT_DETAILS:
                del self.fields[name]

    @staticmethod
    def initial_for(product: Product) -> dict:
        details = {
            "title": product.title,
            "description": product.description,
            "category": product.category_id,
            "brand": product.brand,
        }
        variants = product.variants.all()
        if len(variants) == 1:
            details.update(sku=variants[0].sku, price=variants[0].price, mrp=variants[0].mrp)
        return details

    def changed_details(self, product: Product) -> dict:
        """Only what differs from `product` (and its only variant), so an unchanged save writes nothing."""
        current = {name: getattr(product, name) for name in self.cleaned_data if name not in VARIANT_DETAILS}
        if any(name in self.cleaned_data for name in VARIANT_DETAILS):
            variant = only_variant(product)
            current.update({name: getattr(variant, name) for name in VARIANT_DETAILS})
        return {name: value for name, value in self.cleaned_data.items() if current[name] != value}


class ProductCreateForm(ProductForm):
    """A new product: its opening stock, and optionally its first image.

    The image is checked here, with the same `image_process` the service uses, so a bad
    file is a form error before any product exists: nothing is ever left half-made.
    """

    stock = forms.IntegerField(min_value=0, max_value=MAX_STOCK, initial=0, label="Opening stock")
    image = forms.FileField(
        required=False,
        label="First image",
        help_text=f"Optional. {IMAGE_HELP} Up to {MAX_IMAGES_PER_PRODUCT} images in all: add the rest next.",
        widget=forms.FileInput(attrs={"accept": IMAGE_ACCEPT}),
    )
    image_alt = forms.CharField(
        max_length=MAX_ALT_LENGTH,
        required=False,
        label="Image description",
        help_text="For screen readers, e.g. “Red cotton saree, folded”. Defaults to the title.",
    )

    def clean_image(self):
        upload = self.cleaned_data.get("image")
        if upload:
            try:
                image_process(upload)
            except InvalidImage as exc:
                raise forms.ValidationError(exc.message, code=exc.code) from exc
            finally:
                upload.seek(0)
        return upload


class StockAdjustForm(forms.Form):
    delta = forms.IntegerField(
        label="Add or remove",
        min_value=-MAX_STOCK,
        max_value=MAX_STOCK,
        help_text="Received 10? Enter 10. Found 2 damaged? Enter -2.",
    )

    def clean_delta(self) -> int:
        delta = self.cleaned_data["delta"]
        if delta == 0:
            raise forms.ValidationError("Enter a number other than 0.", code="zero_delta")
        return delta


class StockSetForm(forms.Form):
    value = forms.IntegerField(
        label="Set stock to",
        min_value=0,
        max_value=MAX_STOCK,
        help_text="Counted your shelf? Enter the total. If an order takes stock meanwhile, nothing changes.",
    )
    # The stock the seller saw: if a sale changed it since, the service refuses the set.
    expected = forms.IntegerField(min_value=0, widget=forms.HiddenInput)


class ImageUploadForm(forms.Form):
    image = forms.FileField(label="Image", help_text=IMAGE_HELP, widget=forms.FileInput(attrs={"accept": IMAGE_ACCEPT}))
    alt = forms.CharField(
        max_length=MAX_ALT_LENGTH,
        required=False,
        label="Image description",
        help_text="Defaults to the product's title.",
    )


class SellerProductFilterForm(forms.Form):
    STATUS_CHOICES = [
        ("", "All products"),
        ("active", "Active"),
        ("inactive", "Inactive"),
        ("low", "Low stock"),
        ("out", "Out of stock"),
    ]

    q = forms.CharField(
        label="Search",
        max_length=100,
        required=False,
        widget=forms.SearchInput(attrs={"placeholder": "Title, SKU or brand"}),
    )
    status = forms.ChoiceField(label="Show", choices=STATUS_CHOICES, required=False)


class ProductImportForm(forms.Form):
    file = forms.FileField(
        label="CSV file",
        help_text="UTF-8 CSV, at most 5,000 products and 2 MB.",
        widget=forms.FileInput(attrs={"accept": ".csv,text/csv"}),
    )


# --- Options and variants -------------------------------------------------------------------


class OptionForm(forms.Form):
    """One row of the options editor: a name and its values, separated by commas."""

    name = forms.CharField(label="Option", max_length=MAX_OPTION_NAME_LENGTH, required=False)
    values = forms.CharField(
        label="Values",
        max_length=(MAX_OPTION_VALUE_LENGTH + 2) * MAX_VARIANTS,
        required=False,
        help_text="Separated by commas, in the order shoppers see them: S, M, L",
    )

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("name", "").strip() and not self.option_values():
            self.add_error("values", forms.ValidationError("Give this option at least one value.", code="required"))
        if self.option_values() and not cleaned.get("name", "").strip():
            self.add_error("name", forms.ValidationError("Name this option, e.g. Size.", code="required"))
        return cleaned

    def option_values(self) -> list[str]:
        return [value.strip() for value in self.cleaned_data.get("values", "").split(",") if value.strip()]


class BaseOptionFormSet(forms.BaseFormSet):
    def options(self) -> list[dict]:
        """The filled rows, in order, as `product_options_set` takes them; blank rows are left out."""
        return [
            {"name": form.cleaned_data["name"], "values": form.option_values()}
            for form in self.forms
            if form.cleaned_data.get("name", "").strip()
        ]

    @staticmethod
    def initial_for(product: Product) -> list[dict]:
        return [{"name": option.name, "values": ", ".join(option.values)} for option in product.options.all()]


# Always three rows: the product's options, then blank ones to add more.
OptionFormSet = forms.formset_factory(
    OptionForm, formset=BaseOptionFormSet, extra=MAX_OPTIONS, max_num=MAX_OPTIONS, validate_max=True
)


class VariantRowForm(PricesForm):
    """One row of the variants grid. Its stock is shown beside it and changed by its own stock form."""

    id = forms.IntegerField(widget=forms.HiddenInput)
    sku = forms.CharField(label="SKU", max_length=MAX_SKU_LENGTH, validators=[validate_sku])
    price = _money_field(label="Price (₹)", validators=[validate_price])
    mrp = _money_field(label="MRP (₹)", required=False, validators=[validate_mrp])
    is_active = forms.BooleanField(label="On sale", required=False)

    @staticmethod
    def initial_for(variant: ProductVariant) -> dict:
        return {name: getattr(variant, name) for name in ("id", "sku", "price", "mrp", "is_active")}

    def changes(self, variant: ProductVariant) -> dict:
        return {
            name: value for name, value in self.cleaned_data.items() if name != "id" and getattr(variant, name) != value
        }


class BaseVariantFormSet(forms.BaseFormSet):
    def __init__(self, *args, variants: list[ProductVariant], **kwargs):
        self.variants = {variant.pk: variant for variant in variants}
        kwargs.setdefault("initial", [VariantRowForm.initial_for(variant) for variant in variants])
        super().__init__(*args, **kwargs)

    def clean(self):
        super().clean()
        ids = [form.cleaned_data.get("id") for form in self.forms if form.cleaned_data]
        if any(variant_id not in self.variants for variant_id in ids) or len(set(ids)) != len(ids):
            # Another tab added or removed a variant meanwhile, or the page was tampered with.
            raise forms.ValidationError("The variants changed meanwhile. Reload the page and try again.")

    def changes(self) -> dict[int, dict]:
        """{variant id: what changed}, only for the rows that differ from the stored variant."""
        changes = {}
        for form in self.forms:
            variant = self.variants[form.cleaned_data["id"]]
            changed = form.changes(variant)
            if changed:
                changes[variant.pk] = changed
        return changes

    def form_for(self, variant_id: int) -> VariantRowForm | None:
        return next((form for form in self.forms if form.cleaned_data.get("id") == variant_id), None)


VariantFormSet = forms.formset_factory(
    VariantRowForm, formset=BaseVariantFormSet, extra=0, max_num=MAX_VARIANTS, validate_max=True
)


class VariantCreateForm(PricesForm):
    """The grid's "add a variant" row: a value of each option, its SKU, prices and opening stock."""

    sku = forms.CharField(label="SKU", max_length=MAX_SKU_LENGTH, validators=[validate_sku], help_text=SKU_HELP)
    price = _money_field(label="Price (₹)", validators=[validate_price])
    mrp = _money_field(label="MRP (₹)", required=False, validators=[validate_mrp])
    stock = forms.IntegerField(min_value=0, max_value=MAX_STOCK, initial=0, label="Opening stock")

    def __init__(self, *args, product: Product, **kwargs):
        super().__init__(*args, **kwargs)
        self.option_fields = []
        for position, option in enumerate(product.options.all(), start=1):
            name = f"option{position}"
            self.fields[name] = forms.ChoiceField(
                label=option.name, choices=[(value, value) for value in option.values]
            )
            self.option_fields.append(name)
        # The options first, as the grid's columns are.
        self.order_fields([*self.option_fields, "sku", "price", "mrp", "stock"])

    def details(self) -> dict:
        details = {name: self.cleaned_data[name] for name in ("sku", "price", "mrp", "stock")}
        details["option_values"] = [self.cleaned_data[name] for name in self.option_fields]
        return details

    def add_domain_error(self, exc: DomainError) -> None:
        if exc.code == "invalid_variant":
            self.add_error(None, forms.ValidationError(exc.message, code=exc.code))
        else:
            super().add_domain_error(exc)
