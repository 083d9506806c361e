"""The OpenAPI document's error responses and links, derived from the code rather than written beside it.

Every operation documents each error status it can answer, with a body schema whose `code` is an
enum of exactly the codes it can send there, and a description listing each code's message, all
read from the error registry (`joycart.errors.ERROR_CODES`). The codes come from two places:
- what any view of its kind can answer, read off the view: a body that is not JSON (400, 415),
  field errors (400), a NUL in a header or the query (400), a bad token (401), no login where one
  is needed (401), a CSRF failure or a role check (403), an id in the path or a page number that
  does not exist (404), a throttle (429);
- the domain errors its service can raise, declared on the view with `@api_errors(...)`.

`links_add` adds OpenAPI links from the operations that create things to the operations that use
their ids, so a client generator, or a stateful fuzzer, can follow them.
"""

from collections import defaultdict
from collections.abc import Iterable
from operator import attrgetter

from drf_spectacular import openapi
from rest_framework.permissions import SAFE_METHODS, AllowAny, IsAuthenticated

from accounts.permissions import IsActiveUser
from joycart.errors import ERROR_CODES, DomainError, ErrorCode

# What a token sent in the Authorization header, or the access cookie, can be refused for.
TOKEN_REFUSALS = (
    "authentication_failed",
    "bad_authorization_header",
    "token_not_valid",
    "user_not_found",
    "user_inactive",
    "account_blocked",
    "password_changed",
)
# Permissions that only ask for a login: refusing them is a 401, never a 403.
LOGIN_ONLY = (AllowAny, IsAuthenticated, IsActiveUser)
ERROR_MEDIA_TYPE = "application/json"


def api_errors(*errors: type[DomainError] | ErrorCode):
    """Declare the errors a view method (or every method of a view class) can answer with, beyond those
    of its kind: domain error classes, or registry entries (`error_code(401, "token_not_valid")`)."""
    entries = tuple(
        error if isinstance(error, ErrorCode) else error_code(error.status_code, error.code) for error in errors
    )

    def declare(view_or_method):
        view_or_method.api_errors = (*getattr(view_or_method, "api_errors", ()), *entries)
        return view_or_method

    return declare


def error_code(status_code: int, code: str) -> ErrorCode:
    """The registry's entry; a KeyError here means a view declares a code nobody registered."""
    return ERROR_CODES[(status_code, code)]


class AutoSchema(openapi.AutoSchema):
    def get_operation(self, path, path_regex, path_prefix, method, registry):
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        for parameter in operation.get("parameters", []):
            if parameter["in"] == "query":
                # Every list reads a blank parameter as an absent one, as the shop's GET forms send them.
                parameter["allowEmptyValue"] = True
        responses = operation["responses"]
        for status_code, entries in sorted(self._error_codes(operation).items()):
            responses[str(status_code)] = error_response(status_code, entries)
        operation["responses"] = dict(sorted(responses.items()))
        return operation

    def _declared_errors(self) -> tuple[ErrorCode, ...]:
        handler_name = getattr(self.view, "action", None) or self.method.lower()
        handler = getattr(self.view, handler_name, None)
        return (*getattr(type(self.view), "api_errors", ()), *getattr(handler, "api_errors", ()))

    def _error_codes(self, operation: dict) -> dict[int, list[ErrorCode]]:
        codes: dict[int, dict[str, ErrorCode]] = defaultdict(dict)

        def add(status_code: int, names: Iterable[str]) -> None:
            for name in names:
                codes[status_code][name] = ERROR_CODES[(status_code, name)]

        parameters = operation.get("parameters", [])
        has_body = "requestBody" in operation
        add(400, ["invalid_text", "bad_request"])  # a NUL in the query or a header; a bad Host header
        if has_body:
            add(400, ["parse_error", "invalid"])
            add(415, ["unsupported_media_type"])
        if any(parameter["in"] in ("query", "header") for parameter in parameters):
            add(400, ["invalid"])
        if self.view.get_authenticators():
            add(401, TOKEN_REFUSALS)
        permissions = self.view.get_permissions()
        if not all(isinstance(permission, AllowAny) for permission in permissions):
            add(401, ["not_authenticated"])
        unsafe = self.method not in SAFE_METHODS
        if any(not isinstance(permission, LOGIN_ONLY) for permission in permissions) or (
            unsafe and self.view.get_authenticators()  # the access cookie's CSRF check
        ):
            add(403, ["permission_denied"])
        paginated = self._is_list_view() and self._get_paginator() is not None
        if paginated or any(parameter["in"] == "path" for parameter in parameters):
            add(404, ["not_found"])
        if self.view.get_throttles():
            add(429, ["throttled"])
        for entry in self._declared_errors():
            add(entry.status, [entry.code])
        return {status_code: list(entries.values()) for status_code, entries in codes.items()}


def error_response(status_code: int, entries: list[ErrorCode]) -> dict:
    """One status's response: DRF's error format, `code` limited to what this operation can send there."""
    entries = sorted(entries, key=attrgetter("code"))
    names = [entry.code for entry in entries]
    properties = {
        "code": {"type": "string", "enum": names},
        "detail": {"type": "string"},
    }
    schema = {"type": "object", "properties": properties, "required": ["code"]}
    if "invalid" in names or "invalid_text" in names:
        # Field errors: DRF's map of each field to its messages (nested for nested input) beside the code.
        schema["additionalProperties"] = {"anyOf": [{"type": "array"}, {"type": "object"}]}
    else:
        schema["required"] = ["code", "detail"]
    response = {
        "description": "\n".join(f"- `{entry.code}`: {entry.message}" for entry in entries),
        "content": {ERROR_MEDIA_TYPE: {"schema": schema}},
    }
    if status_code == 429:
        response["headers"] = {
            "Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait before trying again."}
        }
    return response


# (operation that creates, its status) -> {link name: (operation that uses the id, {parameter: where from})}.
# Runtime expressions: https://spec.openapis.org/oas/v3.0.3#runtime-expressions
ORDER_ID = "$response.body#/id"
FIRST_ITEM_ID = "$response.body#/items/0/id"
LINKS: dict[tuple[str, str], dict[str, tuple[str, dict[str, str]]]] = {
    **{
        ("checkout_create", status_code): {
            "Order": ("orders_retrieve", {"order_id": ORDER_ID}),
            "PayOrder": ("orders_pay_create", {"order_id": ORDER_ID}),
            "CancelItem": ("orders_items_cancel_create", {"order_id": ORDER_ID, "item_id": FIRST_ITEM_ID}),
            "SellerConfirmItem": ("seller_order_items_confirm_create", {"item_id": FIRST_ITEM_ID}),
            "SellerShipItem": ("seller_order_items_ship_create", {"item_id": FIRST_ITEM_ID}),
            "SellerDeliverItem": ("seller_order_items_deliver_create", {"item_id": FIRST_ITEM_ID}),
            "SellerCancelItem": ("seller_order_items_cancel_create", {"item_id": FIRST_ITEM_ID}),
            "ReturnItem": ("orders_items_return_create", {"order_id": ORDER_ID, "item_id": FIRST_ITEM_ID}),
            "WithdrawReturn": (
                "orders_items_return_withdraw_create",
                {"order_id": ORDER_ID, "item_id": FIRST_ITEM_ID},
            ),
            "EscalateReturn": (
                "orders_items_return_escalate_create",
                {"order_id": ORDER_ID, "item_id": FIRST_ITEM_ID},
            ),
            "ReplaceRefundAccount": (
                "orders_items_return_refund_account_create",
                {"order_id": ORDER_ID, "item_id": FIRST_ITEM_ID},
            ),
            "SellerApproveReturn": ("seller_order_items_return_approve_create", {"item_id": FIRST_ITEM_ID}),
            "SellerRejectReturn": ("seller_order_items_return_reject_create", {"item_id": FIRST_ITEM_ID}),
            "SellerReceiveReturn": ("seller_order_items_return_receive_create", {"item_id": FIRST_ITEM_ID}),
        }
        for status_code in ("200", "201")
    },
    ("cart_items_create", "201"): {
        "UpdateCartItem": ("cart_items_partial_update", {"item_id": "$response.body#/lines/0/id"}),
        "RemoveCartItem": ("cart_items_destroy", {"item_id": "$response.body#/lines/0/id"}),
    },
    ("addresses_create", "201"): {
        "Address": ("addresses_retrieve", {"id": "$response.body#/id"}),
        "UpdateAddress": ("addresses_partial_update", {"id": "$response.body#/id"}),
        "ReplaceAddress": ("addresses_update", {"id": "$response.body#/id"}),
        "MakeAddressDefault": ("addresses_make_default_create", {"id": "$response.body#/id"}),
        "DeleteAddress": ("addresses_destroy", {"id": "$response.body#/id"}),
    },
    ("seller_products_create", "201"): {
        "Product": ("seller_products_retrieve", {"id": "$response.body#/id"}),
        "UpdateProduct": ("seller_products_partial_update", {"id": "$response.body#/id"}),
        "ChangeStock": ("seller_products_stock_create", {"id": "$response.body#/id"}),
        "UploadImage": ("seller_products_images_create", {"id": "$response.body#/id"}),
        "ListVariants": ("seller_products_variants_list", {"product_id": "$response.body#/id"}),
        "AddVariant": ("seller_products_variants_create", {"product_id": "$response.body#/id"}),
        "DeleteProduct": ("seller_products_destroy", {"id": "$response.body#/id"}),
    },
    ("seller_products_images_create", "201"): {
        "DeleteImage": ("seller_products_images_destroy", {"id": "$request.path.id", "image_id": "$response.body#/id"}),
    },
    ("seller_products_variants_create", "201"): {
        "Variant": (
            "seller_products_variants_retrieve",
            {"product_id": "$request.path.product_id", "variant_id": "$response.body#/id"},
        ),
        "UpdateVariant": (
            "seller_products_variants_partial_update",
            {"product_id": "$request.path.product_id", "variant_id": "$response.body#/id"},
        ),
        "DeactivateVariant": (
            "seller_products_variants_destroy",
            {"product_id": "$request.path.product_id", "variant_id": "$response.body#/id"},
        ),
        "ChangeVariantStock": ("seller_variants_stock_create", {"variant_id": "$response.body#/id"}),
    },
    ("products_reviews_create", "201"): {
        "UpdateReview": ("reviews_partial_update", {"review_id": "$response.body#/id"}),
        "DeleteReview": ("reviews_destroy", {"review_id": "$response.body#/id"}),
    },
}


def links_add(result: dict, generator, request, public) -> dict:
    """drf-spectacular postprocessing hook (settings): the OpenAPI links of `LINKS`.

    A link to or from an operation that does not exist fails the schema's generation, so renaming
    an operation cannot silently drop its links."""
    operations = {
        operation["operationId"]: operation
        for methods in result.get("paths", {}).values()
        for operation in methods.values()
        if isinstance(operation, dict) and "operationId" in operation
    }
    for (source, status_code), links in LINKS.items():
        response = operations[source]["responses"][status_code]
        for name, (target, parameters) in links.items():
            if target not in operations:
                raise KeyError(f"OpenAPI link {name} from {source} names no operation {target}")
            response.setdefault("links", {})[name] = {"operationId": target, "parameters": parameters}
    return result
