"""Parsing what API requests send: bodies (parsers) and query-string filters.

Bad input is a 400 that names the parameter, never a 500: each class here turns a value the
database cannot take into a validation error.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import IO, Any

import django_filters
from django.core.exceptions import ValidationError
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

# The range of a database's integer key. SQLite's driver raises OverflowError for a larger
# number in an IN list, where PostgreSQL finds nothing.
KEY_RANGE = range(-(2**63), 2**63)


class BoundedJSONParser(JSONParser):
    """JSON whose nesting exhausts the interpreter is a 400, not a 500."""

    def parse(
        self,
        stream: IO[Any],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - nested too deeply.") from None


class KeysField(django_filters.fields.ModelMultipleChoiceField):
    """Object ids from the query string; an id beyond any key is invalid, not a server error."""

    def _check_values(self, value: Any) -> Any:
        for pk in value:
            if isinstance(pk, str) and pk.lstrip("-").isdigit() and int(pk) not in KEY_RANGE:
                raise ValidationError(
                    self.error_messages["invalid_pk_value"],
                    code="invalid_pk_value",
                    params={"pk": pk},
                )
        return super()._check_values(value)  # type: ignore[misc]  # private in Django, unstubbed


class KeysFilter(django_filters.ModelMultipleChoiceFilter):
    """`?queues=1&queues=2` that answers 400 for an id no database key can hold."""

    field_class = KeysField


# Times a filter may name: a day inside the calendar's ends, so that no database adaptation of
# the value (to UTC, to the local zone) leaves it.
_EARLIEST = datetime(1, 1, 2, tzinfo=UTC)
_LATEST = datetime(9999, 12, 30, tzinfo=UTC)


class UtcDateTimeField(django_filters.fields.IsoDateTimeField):
    """An ISO 8601 time, in UTC: PostgreSQL refuses offsets beyond ±15:59 (a DataError)."""

    def strptime(self, value: str, format: str) -> datetime:
        parsed: datetime = super().strptime(value, format)
        if parsed.tzinfo is None:
            return parsed
        try:
            return parsed.astimezone(UTC)
        except OverflowError:  # 0001-01-01T00:00+01:00 is before year 1 in UTC
            raise ValueError(value) from None

    def to_python(self, value: Any) -> datetime | None:
        # Django parses ISO input itself before any `strptime`, and makes the time aware in
        # the current zone: a time at the ends of the calendar overflows there, or later when
        # the database adapts it (SQLite). Both are a bad value, not a server error.
        try:
            parsed: datetime | None = super().to_python(value)
            if parsed is not None and parsed.tzinfo is not None:
                parsed = parsed.astimezone(UTC)
        except OverflowError:
            raise ValidationError(self.error_messages["invalid"], code="invalid") from None
        if parsed is not None and parsed.tzinfo is not None and not _EARLIEST <= parsed <= _LATEST:
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        return parsed


class UtcDateTimeFilter(django_filters.IsoDateTimeFilter):
    """`?received_after=` and the like, in UTC; a time out of range is a 400."""

    field_class = UtcDateTimeField
