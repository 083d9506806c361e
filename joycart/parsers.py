"""The API's JSON parser: DRF's own, refusing a NUL in any string of the body (`joycart.text`).

Checked once, on the parsed document, so every field of every endpoint answers the same
400 `invalid_text` whatever its type: a NUL in an id or a choice is as much a forged
request as one in a title.
"""

from rest_framework import parsers

from joycart.text import refuse_nul


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        data = super().parse(stream, media_type, parser_context)
        refuse_nul(data)
        return data
