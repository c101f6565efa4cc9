"""Which callback, contact and integration a log line concerns, on every line that concerns them.

The ids live in context variables, set in one place each: where a callback is processed
(messaging.webhooks.processing.callback_process), where a contact's lifecycle runs
(conversations.lifecycle.record, and the work it defers) and where an integration is called
(integrations.delivery.execute). `LogContextFilter`, on the handler of settings.LOGGING, copies
them onto every record that reaches it, so lines of libraries logged meanwhile (urllib3,
django-tasks) carry them too, without any log call naming them.

Context variables, not thread-locals: each db_worker thread has its own, and work deferred to
after a commit runs in the context it was deferred from (`in_this_context`).
"""

from __future__ import annotations

import contextvars
import logging
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Any

from pythonjsonlogger.json import JsonFormatter

# The attributes a record gets, in the order the text format shows them.
FIELDS = ("callback_id", "contact_id", "integration_id")

_values: dict[str, contextvars.ContextVar[str | int | None]] = {
    name: contextvars.ContextVar(name, default=None) for name in FIELDS
}


@contextmanager
def log_context(**ids: str | int | None) -> Iterator[None]:
    """Within the block, log lines carry these ids (callback_id, contact_id, integration_id)."""
    tokens = [(_values[name], _values[name].set(value)) for name, value in ids.items()]
    try:
        yield
    finally:
        for variable, token in reversed(tokens):
            variable.reset(token)


def current() -> dict[str, str | int]:
    """The ids set where the caller runs."""
    return {name: value for name, var in _values.items() if (value := var.get()) is not None}


class _InContext:
    """`work` bound to a copy of the context it was deferred in."""

    def __init__(self, work: Callable[[], Any]) -> None:
        self.work = work
        self.context = contextvars.copy_context()

    def __call__(self) -> Any:
        return self.context.run(self.work)

    def __repr__(self) -> str:
        return repr(self.work)


def in_this_context(work: Callable[[], Any]) -> Callable[[], Any]:
    """`work`, to run later (after a commit) with the ids set now."""
    return _InContext(work)


class LogContextFilter(logging.Filter):
    """Puts the ids of the current context on each record (a handler filter: every logger's)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, value in current().items():
            if not hasattr(record, name):
                setattr(record, name, value)
        return True


class TextFormatter(logging.Formatter):
    """The plain format, with the record's ids appended (`[callback_id=12 contact_id=…]`)."""

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        ids = " ".join(
            f"{name}={getattr(record, name)}" for name in FIELDS if hasattr(record, name)
        )
        if not ids:
            return line
        first, newline, rest = line.partition("\n")
        return f"{first} [{ids}]{newline}{rest}"


class JsonLineFormatter(JsonFormatter):
    """One JSON object per line (python-json-logger): time, level, logger, message, ids, extras.

    A traceback is the `traceback` field of its line, never lines of its own.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault(
            "rename_fields", {"levelname": "level", "name": "logger", "exc_info": "traceback"}
        )
        kwargs.setdefault("timestamp", "time")
        super().__init__("%(levelname)s %(name)s %(message)s", *args, **kwargs)


_uncaught = logging.getLogger("configurator.uncaught")


def _log_uncaught(
    kind: type[BaseException], error: BaseException, trace: TracebackType | None
) -> None:
    _uncaught.critical("uncaught %s", kind.__name__, exc_info=(kind, error, trace))


def _log_uncaught_in_thread(args: threading.ExceptHookArgs) -> None:
    if args.exc_type is SystemExit:
        return  # as Python's own hook: a thread that exits is no error
    name = args.thread.name if args.thread is not None else "?"
    _uncaught.critical(
        "uncaught %s in thread %s",
        args.exc_type.__name__,
        name,
        exc_info=(args.exc_type, args.exc_value or args.exc_type(), args.exc_traceback),
    )


def log_uncaught_exceptions() -> None:
    """Send uncaught exceptions (main thread and any other) through logging, not raw stderr.

    Python prints them as plain text, which breaks a LOG_FORMAT=json stream; through logging they
    are one line of the configured format, with the traceback as a field.
    """
    sys.excepthook = _log_uncaught
    threading.excepthook = _log_uncaught_in_thread
