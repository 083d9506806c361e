"""Events other apps react to, so accounts need not know about them.

All are sent after commit:
- `seller_visibility_changed` when a seller's products may have become visible or hidden to
  shoppers (a seller blocked or unblocked, a store opened or closed);
- `store_renamed` when a store's name or web address changed, which its products' pages show;
- `user_renamed` when a user's first name, last name or username changed (reviews show them).
The catalog and reviews listen to refresh their cached pages.
"""

from django.dispatch import Signal

seller_visibility_changed = Signal()
store_renamed = Signal()
user_renamed = Signal()
