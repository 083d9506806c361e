from django import template

from joycart.money import format_inr

register = template.Library()


@register.filter(name="inr")
def inr(amount) -> str:
    return format_inr(amount)
