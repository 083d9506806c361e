"""One rule for text that comes from outside: it never holds a NUL character (U+0000).

PostgreSQL cannot store NUL in text or jsonb, and psycopg refuses any query that carries one,
so a NUL that got past the doors would be a 500. No person types one: it comes from a broken
client or an attack. Every door refuses it the same way, with the code `invalid_text`:

- the path, the query string and the headers, cookies included: `joycart.middleware`, before
  any view, answering 400 (JSON under /api/, the 400 page elsewhere);
- API JSON bodies, every value and key of them: the parser (`joycart.parsers`);
- form and serializer CharFields: their built-in NUL validator takes this code and message
  (`nul_validator_adopt`, run at start-up by `joycart.apps.JoyCartConfig`), so pages show it
  beside the field, and the API adds the code to its field errors (`joycart.errors`);
- services that take text by other roads (CSV import, review comments, webhooks): `refuse_nul`,
  which raises `joycart.errors.InvalidText`.
"""

from collections.abc import Mapping

from django.core.validators import ProhibitNullCharactersValidator
from django.utils.datastructures import MultiValueDict

from joycart.errors import InvalidText

NUL = "\x00"
INVALID_TEXT = InvalidText.code
NUL_MESSAGE = InvalidText.message


def has_nul(value: object) -> bool:
    """Whether `value` (a string, or lists and mappings of them, keys included) holds a NUL anywhere.

    Walked with a stack rather than recursion: a deeply nested JSON body must not overflow it.
    """
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if NUL in item:
                return True
        elif isinstance(item, MultiValueDict):  # a QueryDict's items() would show only each key's last value
            for key, values in item.lists():
                pending.append(key)
                pending.extend(values)
        elif isinstance(item, Mapping):
            for key, each in item.items():
                pending.append(key)
                pending.append(each)
        elif isinstance(item, list | tuple):
            pending.extend(item)
    return False


def refuse_nul(value: object) -> None:
    """Raise `InvalidText` if `value` holds a NUL anywhere (see `has_nul`)."""
    if has_nul(value):
        raise InvalidText()


def nul_validator_adopt() -> None:
    """Give the NUL validator that every Django form CharField and DRF CharField already carries
    (subclasses included: e-mail, slug, regex, URL) our code and message.

    Setting the class's defaults is the one place that reaches them all: each field builds its
    own instance without arguments, and an instance reads the class's attributes.
    """
    ProhibitNullCharactersValidator.message = NUL_MESSAGE
    ProhibitNullCharactersValidator.code = INVALID_TEXT
