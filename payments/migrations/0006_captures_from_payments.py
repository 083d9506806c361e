"""Every capture already on a Payment becomes a GatewayCapture, and its refunds point at it.

A payment's own capture (`gateway_payment_id`) paid its order, unless it came after the order was
cancelled: then it was refunded in full by a refund for no item. Payments flagged for staff held
a capture we could not accept, never recorded anywhere but in the flag's text: their "last change"
is moved to now and their rate guard cleared, so reconciliation reads their gateway orders again
within its lookback and records (and settles) every capture it finds there.
"""

from django.db import migrations
from django.db.models import Q
from django.utils import timezone

OWN_CAPTURE_DETAIL = "recorded from the payment when the capture ledger was introduced"
LATE_CAPTURE_DETAIL = "came after the order was cancelled; recorded when the capture ledger was introduced"


def captures_from_payments(apps, schema_editor):
    Payment = apps.get_model("payments", "Payment")
    GatewayCapture = apps.get_model("payments", "GatewayCapture")
    Refund = apps.get_model("payments", "Refund")
    captured = Payment.objects.filter(gateway_payment_id__isnull=False).order_by("pk")
    for payment in captured.iterator():
        late = Refund.objects.filter(payment=payment, order_item__isnull=True).exists()
        capture = GatewayCapture.objects.create(
            payment=payment,
            gateway_payment_id=payment.gateway_payment_id,
            gateway_order_id=payment.gateway_order_id or "",
            amount=payment.captured_amount,
            currency=payment.currency,
            captured_at=payment.captured_at or payment.updated_at,
            outcome="REFUNDED" if late else "PAID",
            reason="ORDER_CLOSED" if late else "",
            detail=LATE_CAPTURE_DETAIL if late else OWN_CAPTURE_DETAIL,
            refunded_amount=payment.refunded_amount,
        )
        Refund.objects.filter(payment=payment).update(capture=capture)
    Payment.objects.filter(Q(flagged=True) | ~Q(flag_reason="")).update(
        gateway_checked_at=None, updated_at=timezone.now()
    )


class Migration(migrations.Migration):
    dependencies = [("payments", "0005_gateway_capture")]

    operations = [migrations.RunPython(captures_from_payments, migrations.RunPython.noop)]
