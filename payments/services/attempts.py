"""Opening an order's payment for its buyer: the pay page and `POST /api/v1/orders/{id}/pay/`.

`payment_attempt_prepare` creates the gateway order outside any transaction, so the order can
change while the gateway answers: its deadline passes, the expiry cancels it, or a payment made
in another tab is captured. So the order is read again afterwards, and the buyer is told what
became of it instead of being handed a checkout for an order that no longer awaits payment.
"""

from orders.models import Order
from payments.errors import GatewayUnavailable, PaymentBelowMinimum, PaymentNotAwaited
from payments.gateway import below_order_minimum
from payments.models import Payment
from payments.selectors import payment_awaiting
from payments.services.online import payment_attempt_prepare


def _still_awaiting(*, order_id: int) -> bool:
    order = Order.objects.select_related("payment").get(pk=order_id)
    return payment_awaiting(payment=order.payment, order=order)


def payment_attempt_open(*, order: Order) -> None:
    """Make the buyer's online order ready to pay now, or say why it cannot be.

    Raises:
    - `PaymentNotAwaited` (409) when it is paid, cancelled or past its deadline, found before or
      after the gateway order was created;
    - `PaymentBelowMinimum` (409) for an order under the gateway's minimum (placed before checkout
      refused them): the gateway would refuse it every time, so it is not asked;
    - `GatewayUnavailable` (503) when the gateway order cannot be created and the order still awaits payment.
    """
    payment = Payment.objects.get(order=order)
    if not payment_awaiting(payment=payment, order=order):
        raise PaymentNotAwaited()
    if below_order_minimum(payment.amount):
        raise PaymentBelowMinimum()
    try:
        payment_attempt_prepare(order=order)
    except GatewayUnavailable:
        if _still_awaiting(order_id=order.pk):
            raise
        raise PaymentNotAwaited() from None  # it stopped awaiting before the gateway was asked
    if not _still_awaiting(order_id=order.pk):
        raise PaymentNotAwaited()
