"""The audit trail: who changed what, when, through what, and the field-level diff.

The recording is django-auditlog's (docs/governance.md says why that library): each app
registers its configuration models in its `AppConfig.ready()` through `register()` below, which
masks their secret fields, and django-auditlog writes an `AuditEntry` on every create, update and
delete of them, with the diff. This module adds what the library leaves to the project:

- *through what* (`via`): the middleware says admin or API from the request's path, the command
  line's entry says command, the worker says worker; anything else is system;
- *who*: the request's user read when the entry is written, not when the request starts, so an
  API token's user (which DRF authenticates inside the view) is the actor;
- *what the person did* (`operation`): a save inside `operation("disable")` is recorded as a
  disable, not a bare update, and `record()` writes an entry for an operator action that changes
  no configuration row (a test run, a simulated message, a contact's transfer).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model

from configurator.choices import AuditOperation, AuditVia

# This module is imported by the command line's entry before Django is set up: models and
# django-auditlog are imported where they are used.
__all__ = [
    "AuditOperation",
    "AuditVia",
    "audited_models",
    "disabled",
    "object_key",
    "object_name",
    "operation",
    "record",
    "register",
    "register_action_target",
    "via",
]

if TYPE_CHECKING:
    from django.db.models import Model
    from django.http import HttpRequest, HttpResponse

    from configurator.models import AuditEntry

# What a masked secret reads as in a diff: that it changed, never a usable part of it.
SECRET_MASK = "(secret)"  # noqa: S105  # a placeholder, not a password

_via: ContextVar[str] = ContextVar("audit_via", default=AuditVia.SYSTEM)
_request: ContextVar[HttpRequest | None] = ContextVar("audit_request", default=None)
_actor: ContextVar[Any] = ContextVar("audit_actor", default=None)
_operation: ContextVar[str | None] = ContextVar("audit_operation", default=None)
_detail: ContextVar[dict[str, Any] | None] = ContextVar("audit_detail", default=None)

# django-auditlog's own actions (`LogEntry.Action`: 0, 1, 2), in the words of `AuditOperation`.
_LIBRARY_ACTIONS = {0: AuditOperation.CREATE, 1: AuditOperation.UPDATE, 2: AuditOperation.DELETE}


def mask_secret(value: str) -> str:
    """AUDITLOG_MASK_CALLABLE: a secret field's old and new values both read `(secret)`."""
    return SECRET_MASK


def register(
    model: type[Model],
    *,
    secret_fields: Iterable[str] = (),
    exclude_fields: Iterable[str] = (),
    m2m_fields: Iterable[str] = (),
    key: Callable[[Any], str] | None = None,
    name: Callable[[Any], str] | None = None,
) -> None:
    """Record every create, update and delete of `model`, its secret fields only as changed.

    `key` and `name` replace the primary key and `str()` an entry names a row by, for a model
    whose own would reveal a secret; `m2m_fields` puts additions and removals in the diff.
    """
    from auditlog.registry import auditlog

    # Other tables' keys to this row (an integration's deliveries) are no field of it: the
    # library would write "Delivery.None" into every create's diff.
    reverse = [f.name for f in model._meta.get_fields() if f.auto_created and not f.concrete]
    auditlog.register(
        model,
        exclude_fields=[*exclude_fields, *reverse],
        mask_fields=list(secret_fields),
        m2m_fields=set(m2m_fields),
    )
    if key is not None or name is not None:
        from configurator.models import AuditEntry

        AuditEntry.objects.namings[model] = (key or _primary_key, name or str)


# Models whose rows get entries from `record()` only (a contact's transfer), not saves.
_action_targets: list[type[Model]] = []


def register_action_target(model: type[Model]) -> None:
    """`model`'s rows are named by operator actions' entries (filters offer its type)."""
    if model not in _action_targets:
        _action_targets.append(model)


def audited_models() -> list[type[Model]]:
    """The models entries name: registered ones, then the action targets."""
    from auditlog.registry import auditlog

    registered = list(auditlog.get_models())
    return registered + [model for model in _action_targets if model not in registered]


def _primary_key(instance: Any) -> str:
    return str(instance.pk)


def disabled() -> Any:
    """Record nothing inside (bulk demo data, whose thousands of rows nobody configured)."""
    from auditlog.context import disable_auditlog

    return disable_auditlog()


@contextmanager
def via(channel: str, *, actor: Any = None) -> Iterator[None]:
    """Entries written inside come through `channel` (admin, api, command, worker), by `actor`."""
    via_token = _via.set(channel)
    actor_token = _actor.set(actor)
    try:
        yield
    finally:
        _via.reset(via_token)
        _actor.reset(actor_token)


@contextmanager
def operation(name: str, **detail: Any) -> Iterator[None]:
    """Entries written inside record `name` (copy, disable, import…) instead of create/update."""
    operation_token = _operation.set(name)
    detail_token = _detail.set(detail or None)
    try:
        yield
    finally:
        _operation.reset(operation_token)
        _detail.reset(detail_token)


def record(
    *,
    operation: str,
    instance: Model,
    changes: dict[str, list[Any]] | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEntry:
    """Write an entry for an operator action on `instance` that saved no registered row."""
    from configurator.models import AuditEntry

    entry: AuditEntry = AuditEntry.objects.log_create(
        instance,
        force_log=True,
        action=AuditEntry.Action.UPDATE,
        changes=changes or {},
        operation=operation,
        additional_data=detail or None,
    )
    return entry


def entry_fill(sender: type[AuditEntry], instance: AuditEntry, **kwargs: Any) -> None:
    """pre_save of AuditEntry: the operation, the channel and the actor of the current context.

    A receiver because django-auditlog writes its entries from its own signal receivers; this
    is the one place the project's context reaches them.
    """
    if not instance.operation:
        instance.operation = _operation.get() or _LIBRARY_ACTIONS.get(
            instance.action, AuditOperation.UPDATE
        )
    if _detail.get() and not instance.additional_data:
        instance.additional_data = _detail.get()
    instance.via = _via.get()
    request = _request.get()
    if instance.remote_addr is None and request is not None:
        from configurator.authentication import client_ip

        # Behind the proxies TRUSTED_PROXY_COUNT names, the client's address, not theirs.
        instance.remote_addr = client_ip(request) or None
    if instance.actor_id is None:
        actor = _actor.get() or _request_user()
        if actor is not None:
            instance.actor = actor
            instance.actor_email = getattr(actor, "email", "") or None
    if instance.actor is not None and not instance.actor_username:
        instance.actor_username = instance.actor.get_username()


def _request_user() -> Any:
    request = _request.get()
    user = getattr(request, "user", None) if request is not None else None
    if isinstance(user, get_user_model()) and user.is_authenticated:
        return user
    return None


def request_channel(path: str) -> str:
    """admin or api, from a request's path; any other page is system."""
    if path.startswith("/api/"):
        return AuditVia.API
    if path.startswith("/admin/"):
        return AuditVia.ADMIN
    return AuditVia.SYSTEM


class AuditMiddleware:
    """Entries written while a request runs come through admin or API, by its user."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_token = _request.set(request)
        try:
            with via(request_channel(request.path_info)):
                return self.get_response(request)
        finally:
            _request.reset(request_token)


# --- Readers for records of their own (integration versions): who, and through what ---------


def current_actor() -> Any:
    """The user the current change is made by (an explicit actor, else the request's), or None."""
    return _actor.get() or _request_user()


def current_via() -> str:
    """Through what the current change comes: admin, api, command, worker or system."""
    return _via.get()


def object_key(instance: Model) -> str | None:
    """The key an entry names `instance` by, when its model replaces the primary key (else None)."""
    from configurator.models import AuditEntry

    naming = AuditEntry.objects.namings.get(type(instance))
    return naming[0](instance) if naming is not None else None


def object_name(instance: Model) -> str | None:
    """The text an entry shows for `instance`, when its model replaces `str()` (else None)."""
    from configurator.models import AuditEntry

    naming = AuditEntry.objects.namings.get(type(instance))
    return naming[1](instance) if naming is not None else None
