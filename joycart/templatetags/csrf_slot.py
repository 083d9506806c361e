from django import template
from django.template.defaulttags import CsrfTokenNode
from django.utils.safestring import mark_safe

from catalog.response_cache import csrf_slot_marker

register = template.Library()


class CsrfSlotNode(template.Node):
    def render(self, context) -> str:
        request = context.get("request")
        if getattr(request, "response_is_shared", False) or getattr(request, "csrf_token_as_slot", False):
            # Filled with this visitor's token by catalog.response_cache on every response.
            return mark_safe(csrf_slot_marker())  # noqa: S308 - our own constant, no user text
        return CsrfTokenNode().render(context)


@register.tag
def csrf_slot(parser, token) -> CsrfSlotNode:
    """`{% csrf_token %}` for pages whose finished HTML may be shared between visitors."""
    return CsrfSlotNode()
