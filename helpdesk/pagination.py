"""Cursor pagination for the partner API's lists."""

from __future__ import annotations

import re

from rest_framework.exceptions import NotFound
from rest_framework.pagination import CursorPagination


class PartnerCursor(CursorPagination):
    """Cursor pages over a unique ordering (set `ordering`): a cursor is an exact
    position, so a page never repeats or skips a row, and rows added meanwhile only ever
    come first. `page_size` up to 200 (50 by default). A cursor is opaque but not
    signed: a forged position — one `position` does not match — is a 404 like any other
    bad cursor, not a value the database cannot compare with."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
    position: re.Pattern[str]

    def decode_cursor(self, request):
        cursor = super().decode_cursor(request)
        if cursor and cursor.position is not None and not self.position.fullmatch(cursor.position):
            raise NotFound(self.invalid_cursor_message)
        return cursor
