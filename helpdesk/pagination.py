"""Cursor pagination for the partner API's lists, and the list view that uses it."""

from __future__ import annotations

import re

from django_filters import rest_framework as filters
from rest_framework import generics
from rest_framework.exceptions import NotFound
from rest_framework.pagination import CursorPagination

from helpdesk.api_auth import PartnerAPIMixin


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


class PartnerListView(PartnerAPIMixin, generics.GenericAPIView):
    """A partner API list: `queryset` filtered by `filterset_class`, a page of
    `pagination_class`, each row through `serializer_class`. A subclass sets those and its
    scope, and describes `get` with `extend_schema_view`."""

    filter_backends = [filters.DjangoFilterBackend]

    def get(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


def updated_after_filter() -> filters.IsoDateTimeFilter:
    """`?updated_after=`: rows changed at or after an ISO-8601 time (a sync's "since")."""
    return filters.IsoDateTimeFilter(
        field_name="updated_at", lookup_expr="gte", help_text="ISO-8601, at or after"
    )
