from rest_framework import serializers

from joycart.serializers import StrictJSONInput
from payments.models import Payment

GATEWAY_ID_LENGTH = Payment._meta.get_field("gateway_order_id").max_length


class RazorpayVerifyInputSerializer(StrictJSONInput, serializers.Serializer):
    """What Razorpay Checkout hands the page on success."""

    razorpay_order_id = serializers.CharField(max_length=GATEWAY_ID_LENGTH)
    razorpay_payment_id = serializers.CharField(max_length=GATEWAY_ID_LENGTH)
    razorpay_signature = serializers.CharField(max_length=128)
