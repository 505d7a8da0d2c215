"""Cursor pagination for the partner API's lists, and the list view that uses it."""

from __future__ import annotations

import re
from datetime import UTC

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters
from django_filters.fields import IsoDateTimeField
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


class UTCDateTimeField(IsoDateTimeField):
    """An ISO-8601 time, in UTC once read: an offset PostgreSQL would refuse (-16:04) or a
    time that leaves the calendar in UTC (0001-01-01T00:00+05:00) is a 400, not a 500."""

    default_error_messages = {"out_of_range": _("This time is out of range.")}

    def to_python(self, value):
        parsed = super().to_python(value)
        if parsed is None:
            return None
        try:
            return parsed.astimezone(UTC)
        except OverflowError:
            raise ValidationError(
                self.error_messages["out_of_range"], code="out_of_range"
            ) from None


class UTCDateTimeFilter(filters.IsoDateTimeFilter):
    field_class = UTCDateTimeField


def after_filter(field_name: str) -> UTCDateTimeFilter:
    """`?…_after=`: rows whose `field_name` is at or after an ISO-8601 time."""
    return UTCDateTimeFilter(
        field_name=field_name, lookup_expr="gte", help_text="ISO-8601, at or after"
    )


def updated_after_filter() -> UTCDateTimeFilter:
    """`?updated_after=`: rows changed at or after an ISO-8601 time (a sync's "since")."""
    return after_filter("updated_at")
