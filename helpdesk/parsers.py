"""Request bodies of the APIs: JSON."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


class JSONBodyParser(JSONParser):
    """DRF's JSON parser, with a body nested too deep for the decoder (its RecursionError)
    a 400 like any other malformed JSON, not a 500. The size limit is Django's
    DATA_UPLOAD_MAX_MEMORY_SIZE, answered with 413 by helpdesk.errors."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(_("JSON parse error: nested too deeply.")) from None
