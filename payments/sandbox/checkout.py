"""The sandbox's checkout pages: the stand-in for Razorpay's checkout.js popup.

The page works without JavaScript: "Pay" and "Fail" are plain forms, and the page that sends
the buyer back to the shop is a form with a "Continue" button that a one-line script submits.
"""

from __future__ import annotations

import json
from decimal import Decimal
from html import escape
from urllib.parse import urlsplit

from joycart.money import format_inr

LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})

STYLE = """
body{font-family:system-ui,sans-serif;background:#f4f5f7;color:#1d2433;margin:0}
main{max-width:26rem;margin:3rem auto;background:#fff;border-radius:12px;padding:2rem;
box-shadow:0 4px 24px rgba(0,0,0,.08)}
.badge{display:inline-block;background:#fff3cd;color:#7a5b00;border-radius:4px;padding:.1rem .5rem;font-size:.8rem}
.amount{font-size:2rem;font-weight:700;margin:.5rem 0}
dl{display:grid;grid-template-columns:auto 1fr;gap:.25rem 1rem;font-size:.9rem}dt{color:#5b6478}
form{display:inline}button{font-size:1rem;padding:.6rem 1.4rem;border-radius:6px;border:0;cursor:pointer;margin:.3rem}
.pay{background:#0b7a3e;color:#fff}.fail{background:#b42318;color:#fff}
a{color:#3450a1}
"""


def callback_allowed(url: str | None, allowed_hosts: frozenset[str]) -> bool:
    """Only send buyers back to this machine or the configured site: the sandbox is no open redirect."""
    if not url:
        return False
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        return False
    if parts.scheme not in {"http", "https"} or not host or parts.username or parts.password:
        return False
    if host in LOCAL_HOSTS:
        return True
    # Django's ALLOWED_HOSTS syntax: "shop.example.com", or ".example.com" for it and its subdomains.
    return any(
        host == allowed or (allowed.startswith(".") and (host == allowed[1:] or host.endswith(allowed)))
        for allowed in allowed_hosts
        if allowed != "*"
    )


def _page(title: str, body: str) -> str:
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width,initial-scale=1'>"
        f"<title>{escape(title)}</title><style>{STYLE}</style></head>"
        f"<body><main><span class='badge'>Razorpay sandbox: no real money</span>{body}</main></body></html>"
    )


def _hidden(fields: dict[str, str]) -> str:
    return "".join(
        f"<input type='hidden' name='{escape(name)}' value='{escape(value)}'>" for name, value in fields.items()
    )


def checkout_page(order: dict, *, callback_url: str, cancel_url: str | None) -> str:
    back = {"callback_url": callback_url, **({"cancel_url": cancel_url} if cancel_url else {})}
    order_id = escape(order["id"])
    cancel = f"<p><a href='{escape(cancel_url)}'>Cancel and go back</a></p>" if cancel_url else ""
    return _page(
        "Pay with the sandbox",
        f"<h1>Complete your payment</h1>"
        f"<p class='amount' data-testid='amount'>{escape(format_inr(Decimal(order['amount']) / 100))}</p>"
        f"<dl><dt>Order</dt><dd>{order_id}</dd><dt>Receipt</dt><dd>{escape(order.get('receipt') or '')}</dd>"
        f"<dt>Status</dt><dd>{escape(order['status'])}</dd></dl>"
        f"<form method='post' action='/checkout/{order_id}/pay'>{_hidden(back)}"
        "<button class='pay' type='submit'>Pay</button></form>"
        f"<form method='post' action='/checkout/{order_id}/fail'>{_hidden(back)}"
        "<button class='fail' type='submit'>Fail</button></form>"
        f"{cancel}",
    )


def return_page(callback_url: str, fields: dict[str, str]) -> str:
    """POSTs `fields` to the shop's callback URL, as Razorpay's checkout does."""
    return _page(
        "Returning to the shop",
        "<h1>Returning to the shop</h1>"
        f"<form id='callback' method='post' action='{escape(callback_url)}'>{_hidden(fields)}"
        "<button class='pay' type='submit'>Continue</button></form>"
        "<script>document.getElementById('callback').submit()</script>",
    )


def success_fields(order_id: str, payment_id: str, signature: str) -> dict[str, str]:
    return {"razorpay_payment_id": payment_id, "razorpay_order_id": order_id, "razorpay_signature": signature}


def failure_fields(payment: dict) -> dict[str, str]:
    """Razorpay's failure callback: error[...] fields, with the ids as JSON in error[metadata]."""
    return {
        "error[code]": payment["error_code"],
        "error[description]": payment["error_description"],
        "error[source]": payment["error_source"],
        "error[step]": payment["error_step"],
        "error[reason]": payment["error_reason"],
        "error[metadata]": json.dumps({"payment_id": payment["id"], "order_id": payment["order_id"]}),
    }


def message_page(title: str, message: str) -> str:
    return _page(title, f"<h1>{escape(title)}</h1><p>{escape(message)}</p>")
