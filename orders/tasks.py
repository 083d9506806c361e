"""Background tasks of the orders app; each only calls into the notifications module."""

from django.tasks import task

from orders import notifications


@task
def order_placed_email_send(*, order_id: int) -> None:
    notifications.order_placed_send(order_id=order_id)


@task
def order_item_moved_email_send(*, event_id: int) -> None:
    notifications.item_moved_send(event_id=event_id)


@task
def return_complete(*, item_id: int) -> None:
    """A returned item's refund is REFUNDED: the item becomes RETURNED (a no-op if it already is)."""
    from orders.services.returns import return_complete as return_complete_service

    return_complete_service(item_id=item_id)
