"""A Razorpay-compatible gateway on 127.0.0.1: the development default and the engine of the tests.

It implements the API calls JoyCart makes with Razorpay's own rules, a checkout page with
"Pay" and "Fail", signed webhooks, and faults on demand. See `SandboxGateway`.
"""

from .server import CONTROL_ACTIONS, FAILED_PAYMENT_DESCRIPTION, SandboxGateway
from .webhooks import Delivery, Event, sign

__all__ = ["CONTROL_ACTIONS", "FAILED_PAYMENT_DESCRIPTION", "Delivery", "Event", "SandboxGateway", "sign"]
