"""Events other apps react to, so accounts need not know about them.

`seller_visibility_changed` is sent after commit when a seller's products may have become
visible or hidden to shoppers (a seller blocked or unblocked, a store opened or closed).
The catalog listens to refresh its cached listings.
"""

from django.dispatch import Signal

seller_visibility_changed = Signal()
