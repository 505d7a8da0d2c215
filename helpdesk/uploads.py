"""Multipart uploads: a file part named with a folder path is refused.

Django's multipart parser keeps only the last part of a file name (`../../etc/x.png`
becomes `x.png`) and drops a part named `..`; nothing of the path reaches the views, so
they could not refuse it. `refuse_paths_in_file_names` (helpdesk.apps) makes the parser
refuse the request instead: every upload view, the API's (DRF parses with Django's
parser) and the desk's, answers 400 with the reason, and nothing is stored. A browser
never sends a path (a file input gives the file's own name): only a hand-made request
does.
"""

from __future__ import annotations

import html
import re

from django.http.multipartparser import MultiPartParser, MultiPartParserError
from django.utils.translation import gettext_lazy as _

_django_sanitize = MultiPartParser.sanitize_file_name
# A separator anywhere, or a name that is only "." or "..".
_PATH = re.compile(r"[\\/]|^\s*\.{1,2}\s*$")


class PathInFileName(MultiPartParserError):
    """A multipart file part named with a folder path (`../x.png`, `C:\\x.png`, `..`)."""


def _refusing_paths(parser: MultiPartParser, file_name: str) -> str | None:
    if _PATH.search(html.unescape(file_name)):
        raise PathInFileName(_("File names with a folder path (/, \\ or ..) are not accepted."))
    return _django_sanitize(parser, file_name)


def refuse_paths_in_file_names() -> None:
    """Have Django's multipart parser refuse a file name with a path (idempotent)."""
    MultiPartParser.sanitize_file_name = _refusing_paths
    MultiPartParser.IE_sanitize = _refusing_paths
