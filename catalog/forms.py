"""Seller-portal forms. They check the shape of the input; the services own the rules."""

from django import forms

from catalog.errors import InvalidImage
from catalog.images import image_process
from catalog.models import (
    MAX_ALT_LENGTH,
    MAX_BRAND_LENGTH,
    MAX_DESCRIPTION_LENGTH,
    MAX_SKU_LENGTH,
    MAX_TITLE_LENGTH,
    Product,
)
from catalog.selectors import categories
from catalog.services.images import MAX_IMAGES_PER_PRODUCT
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
DOMAIN_ERROR_FIELDS = {"duplicate_sku": "sku", "invalid_sku": "sku", "invalid_category": "category"}


def _money_field(**kwargs) -> forms.DecimalField:
    # No max_digits: the price validator's cap is the upper bound, with its own message.
    return forms.DecimalField(
        decimal_places=2,
        error_messages=MONEY_ERRORS,
        widget=forms.NumberInput(attrs={"step": "0.01", "min": "0.01", "max": str(MAX_PRICE), "inputmode": "decimal"}),
        **kwargs,
    )


class ProductForm(forms.Form):
    """A product's details. Stock is changed apart, by delta or checked set (see `StockAdjustForm`)."""

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

    def clean(self):
        cleaned = super().clean()
        try:
            validate_mrp_not_below_price(price=cleaned.get("price"), mrp=cleaned.get("mrp"))
        except forms.ValidationError as exc:
            self.add_error("mrp", exc)
        return cleaned

    @staticmethod
    def initial_for(product: Product) -> dict:
        return {
            "title": product.title,
            "description": product.description,
            "category": product.category_id,
            "brand": product.brand,
            "sku": product.sku,
            "price": product.price,
            "mrp": product.mrp,
        }

    def changed_details(self, product: Product) -> dict:
        """Only what differs from `product`, so an unchanged save writes nothing."""
        return {name: value for name, value in self.cleaned_data.items() if getattr(product, name) != value}

    def add_domain_error(self, exc: DomainError) -> None:
        field = DOMAIN_ERROR_FIELDS.get(exc.code)
        if exc.code == "invalid_price":
            price, mrp = self.cleaned_data.get("price"), self.cleaned_data.get("mrp")
            field = "mrp" if mrp_below_price(price=price, mrp=mrp) else "price"
        self.add_error(field, forms.ValidationError(exc.message, code=exc.code))


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
