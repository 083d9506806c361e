from joycart.errors import Conflict, DomainError


class DuplicateSku(DomainError):
    code = "duplicate_sku"
    message = "A product with this SKU already exists on JoyCart. SKUs are unique across all sellers."


class InvalidSku(DomainError):
    code = "invalid_sku"
    message = "Enter a valid SKU."


class InvalidPrice(DomainError):
    code = "invalid_price"
    message = "The price must be above ₹0, and the MRP, if given, at least the price."


class InvalidCategory(DomainError):
    code = "invalid_category"
    message = "Choose an existing category."


class InvalidStock(DomainError):
    code = "invalid_stock"
    message = "The stock must be a whole number from 0 to the limit."


class StockConflict(Conflict):
    code = "stock_conflict"
    message = "The stock has changed since you looked. Reload and try again."


class ProductHasOpenOrders(Conflict):
    code = "product_has_open_orders"
    message = "This product has orders still to deliver, so it cannot be deleted. Deactivate it instead."


class InvalidImage(DomainError):
    code = "invalid_image"
    message = "Upload a JPEG, PNG or WebP image of at most 5 MB."


class TooManyImages(InvalidImage):
    code = "too_many_images"
    message = "This product has as many images as it can hold. Delete one first."


class InvalidImageOrder(InvalidImage):
    code = "invalid_image_order"
    message = "List each of this product's images exactly once."


class CsvImportFailed(DomainError):
    code = "csv_invalid"
    message = "The file was not imported. Fix the listed lines and upload it again."

    def __init__(self, errors: list[tuple[int, str]]) -> None:
        self.errors = errors
        super().__init__()


class VariantRequired(DomainError):
    code = "variant_required"
    message = "This product comes in several variants. Choose one."


class InvalidVariant(DomainError):
    code = "invalid_variant"
    message = "Check the variant's options, SKU, prices and stock."


class InvalidOptions(DomainError):
    code = "invalid_options"
    message = "A product has up to 3 options, each with a name and at least one value, none repeated."
