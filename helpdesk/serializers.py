"""Serializer fields shared by the APIs."""

from rest_framework import serializers


class StrictCharField(serializers.CharField):
    """A string, and only a string: 5 or true is an error, not "5" or "True"."""

    default_error_messages = {"not_a_string": "Must be a string."}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("not_a_string")
        return super().to_internal_value(data)
