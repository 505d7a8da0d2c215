"""Serializer fields shared by the APIs."""

from collections.abc import Mapping
from datetime import UTC

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers


class StrictCharField(serializers.CharField):
    """A string, and only a string: 5 or true is an error, not "5" or "True"."""

    default_error_messages = {"not_a_string": "Must be a string."}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("not_a_string")
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    """true or false, and only those: "yes", 1 or "false" is an error, not a boolean."""

    default_error_messages = {"not_a_boolean": _("Must be true or false.")}

    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("not_a_boolean")
        return data


class StrictSerializer(serializers.Serializer):
    """Refuses the fields it does not declare as writable (no mass assignment): each one
    sent is a field error of its own, alongside the other errors."""

    default_error_messages = {"not_writable": _("This field cannot be set here.")}

    def to_internal_value(self, data):
        refused = {}
        if isinstance(data, Mapping):
            writable = {name for name, field in self.fields.items() if not field.read_only}
            refused = {
                str(name): [self.error_messages["not_writable"]]
                for name in data
                if name not in writable
            }
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as error:
            if refused and isinstance(error.detail, dict):
                raise serializers.ValidationError({**error.detail, **refused}) from None
            raise
        if refused:
            raise serializers.ValidationError(refused)
        return value


def utc_time(**kwargs) -> serializers.DateTimeField:
    """An ISO-8601 time in UTC (…Z), whatever the server's TIME_ZONE."""
    return serializers.DateTimeField(default_timezone=UTC, read_only=True, **kwargs)
