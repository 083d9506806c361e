from cart.models import MAX_LINES, MAX_QUANTITY, MIN_QUANTITY
from joycart.errors import DomainError


class InvalidQuantity(DomainError):
    code = "invalid_quantity"
    message = f"Choose a quantity from {MIN_QUANTITY} to {MAX_QUANTITY}."


class OutOfStock(DomainError):
    code = "out_of_stock"
    message = "This product is out of stock."

    @classmethod
    def for_stock(cls, *, title: str, stock: int) -> "OutOfStock":
        if stock <= 0:
            return cls(f"{title} is out of stock.")
        return cls(f"Only {stock} of {title} left in stock.")


class OwnProduct(DomainError):
    code = "own_product"
    message = "You sell this product, so you cannot buy it."


class ProductUnavailable(DomainError):
    code = "product_unavailable"
    message = "This product is no longer available."


class CartFull(DomainError):
    code = "cart_full"
    message = f"Your cart is full ({MAX_LINES} different products). Remove something to add more."
