"""Events other apps react to, so accounts need not know about them.

Both are sent after commit:
- `seller_visibility_changed` when a seller's products may have become visible or hidden to
  shoppers (a seller blocked or unblocked, a store opened or closed);
- `store_renamed` when a store's name or web address changed, which its products' pages show.
The catalog listens to refresh its cached pages.
"""

from django.dispatch import Signal

seller_visibility_changed = Signal()
store_renamed = Signal()
