"""Applying a plan: each object through its app's own validation and services.

The same rules as the admin and the API (messaging's, queues', integrations' validation
modules, the models' `full_clean`), called by the services that write the rows. A fault stops
the import with `ImportRefused`, naming the object and the field, and the caller's transaction
rolls everything back.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from functools import partial
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError

from configurator import names
from conversations.models import Agent
from conversations.services import agent_delete, agent_save
from integrations import selectors as integration_selectors
from integrations import services as integration_services
from integrations.models import Integration
from integrations.selectors import DatabaseReferences, stored_check
from integrations.validation import AUTHENTICATION_BLOCK as INTEGRATION_BLOCK
from integrations.validation import AuthenticationInput as IntegrationAuthenticationInput
from integrations.validation import IntegrationInput, clean_integration
from integrations.validation import clean_authentications as clean_integration_authentications
from messaging import selectors as messaging_selectors
from messaging import services as messaging_services
from messaging.models import MessagingService
from messaging.validation import AUTHENTICATION_BLOCK as SERVICE_BLOCK
from messaging.validation import AuthenticationInput as ServiceAuthenticationInput
from messaging.validation import CleanAuthentication, entry_match_key
from messaging.validation import clean_authentications as clean_service_authentications
from queues import selectors as queue_selectors
from queues import services as queue_services
from queues.models import Queue
from queues.validation import CleanAddress, clean_addresses
from transfer.plan import CREATE, DELETE, UNCHANGED, UPDATE, Plan, Planned


class ImportRefused(Exception):
    """The document cannot be imported: each fault with its object and field."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__(errors)
        self.errors = errors


def _refuse(planned: Planned, errors: dict[str, Any]) -> ImportRefused:
    return ImportRefused(
        [
            {"object": planned.label, "field": name, "messages": [str(m) for m in messages]}
            for name, messages in errors.items()
        ]
    )


def _model_errors(exc: ValidationError) -> dict[str, Any]:
    if hasattr(exc, "error_dict"):
        return {name: list(messages) for name, messages in exc.message_dict.items()}
    return {"__all__": exc.messages}


@contextmanager
def _naming(planned: Planned) -> Iterator[None]:
    """A name taken meanwhile (another save passed the same check a moment earlier, and the
    unique index refused this one) is refused naming the object, as the check would have."""
    try:
        yield
    except IntegrityError as exc:
        if names.CONSTRAINT_SUFFIX not in str(exc):
            raise
        raise _refuse(planned, {names.NAME_FIELD: [str(names.NAME_TAKEN_MEANWHILE)]}) from None


def plan_apply(plan: Plan) -> list[dict[str, str]]:
    """Write every object the plan creates, updates or deletes; returns what was not deleted."""
    _take_away(plan)
    for planned in plan.of("services"):
        if planned.action in {CREATE, UPDATE}:
            with _naming(planned):
                _service_apply(planned)
    deferred = []
    for planned in plan.of("queues"):
        if planned.action in {CREATE, UPDATE}:
            with _naming(planned):
                if _queue_apply(planned):
                    deferred.append(planned)
    for planned in deferred:
        _queue_overflow_apply(planned)
    for planned in plan.of("agents"):
        if planned.action in {CREATE, UPDATE}:
            _agent_apply(planned)
    for planned in plan.of("integrations"):
        if planned.action in {CREATE, UPDATE}:
            with _naming(planned):
                _integration_apply(planned)
    not_deleted = _prune(plan)
    for planned in plan.of("integrations"):
        if planned.action == UNCHANGED:
            _integration_recheck(planned)
    return not_deleted


def _take_away(plan: Plan) -> None:
    """First pass: take from stored objects the apps and addresses the document takes away.

    An app or an address may move from one object to another; whichever is applied first,
    the other still holds it until this pass has let go of it. What stays keeps its row.
    """
    for planned in plan.of("services"):
        service = planned.stored
        if planned.action != UPDATE or not isinstance(service, MessagingService):
            continue
        wanted = {
            entry_match_key(e["direction"], e["authentication_id"])
            for e in (planned.desired or {})["authentications"]
        }
        rows = list(service.authentications.all())
        kept = [r for r in rows if entry_match_key(r.direction, r.authentication_id) in wanted]
        if len(kept) < len(rows):
            messaging_services.authentications_replace(
                service=service,
                entries=[
                    CleanAuthentication(
                        direction=r.direction,
                        authentication_id=r.authentication_id,
                        key_id=r.key_id,
                        app_id=r.app_id,
                        secret=None,
                        triggers=list(r.triggers or []),
                    )
                    for r in kept
                ],
                missing_secret_allowed=True,
            )
            _forget_prefetched(service, "authentications")
    for planned in plan.of("queues"):
        queue = planned.stored
        if planned.action != UPDATE or not isinstance(queue, Queue):
            continue
        wanted_addresses = set((planned.desired or {})["addresses"])
        stored = list(queue.addresses.all())
        kept_addresses = [a for a in stored if a.address in wanted_addresses]
        if len(kept_addresses) < len(stored):
            queue_services.addresses_replace(
                queue=queue,
                addresses=[
                    CleanAddress(address=a.address, app_id=a.app_id, subchannel=a.subchannel)
                    for a in kept_addresses
                ],
            )
            _forget_prefetched(queue, "addresses")


def _forget_prefetched(row: Any, relation: str) -> None:
    getattr(row, "_prefetched_objects_cache", {}).pop(relation, None)


# --- Messaging services ----------------------------------------------------------------------


def _service_apply(planned: Planned) -> None:
    desired = planned.desired or {}
    stored = planned.stored if isinstance(planned.stored, MessagingService) else None
    entries = desired["authentications"]
    rows = list(stored.authentications.all()) if stored is not None else []
    states = SERVICE_BLOCK.api_secret_states(entries, rows)
    inputs = [
        ServiceAuthenticationInput(
            direction=entry["direction"],
            authentication_id=entry["authentication_id"],
            secret=planned.secrets.get(entry["authentication_id"]) or None,
            triggers=entry["triggers"],
            has_stored_secret=state.has_stored_secret,
            replaces=state.replaces,
        )
        for entry, state in zip(entries, states, strict=True)
    ]
    result = clean_service_authentications(
        inputs,
        app_owners=partial(
            messaging_selectors.app_owners, exclude_service_id=stored.pk if stored else None
        ),
        secrets_optional=True,
    )
    if not result.is_valid:
        errors: dict[str, Any] = {
            f"authentications[{index}].{name}": messages
            for index, fields in result.errors.items()
            for name, messages in fields.items()
        }
        if result.non_field_errors:
            errors["authentications"] = result.non_field_errors
        raise _refuse(planned, errors)
    try:
        if stored is None:
            messaging_services.messaging_service_create(
                name=desired["name"],
                service_connection=desired["service_connection"],
                type=desired["type"],
                auth_method=desired["auth_method"],
                authentications=result.entries,
                enabled=desired["enabled"],
                missing_secret_allowed=True,
            )
        else:
            messaging_services.messaging_service_update(
                service=stored,
                name=desired["name"],
                service_connection=desired["service_connection"],
                type=desired["type"],
                auth_method=desired["auth_method"],
                authentications=result.entries,
                enabled=desired["enabled"],
                missing_secret_allowed=True,
            )
    except ValidationError as exc:
        raise _refuse(planned, _model_errors(exc)) from None


# --- Queues ----------------------------------------------------------------------------------


def _queue_named(name: str | None) -> Queue | None:
    return None if not name else Queue.objects.filter(name__iexact=name).first()


def _queue_apply(planned: Planned) -> bool:
    """Save the queue; True when its overflow waits for a queue created after it."""
    desired = planned.desired or {}
    stored = planned.stored if isinstance(planned.stored, Queue) else None
    result = clean_addresses(
        desired["addresses"],
        channel_type=desired["channel_type"],
        sms_sender_id=desired["sms_sender_id"] or "",
        taken=partial(
            queue_selectors.addresses_taken, exclude_queue_id=stored.pk if stored else None
        ),
        stored=[a.address for a in stored.addresses.all()] if stored else [],
    )
    if not result.valid:
        errors: dict[str, Any] = dict(result.field_errors)
        named = [
            f"{desired['addresses'][i]}: {message}"
            for i, messages in sorted(result.errors.items())
            for message in messages
        ]
        if named:
            errors.setdefault("addresses", []).extend(named)
        raise _refuse(planned, errors)
    seconds = desired["max_waiting_time"]
    overflow = _queue_named(desired["overflow_queue"])
    deferred = desired["overflow_queue"] is not None and overflow is None
    fields = {
        "name": desired["name"],
        "description": desired["description"],
        "channel_type": desired["channel_type"],
        "default_priority": desired["default_priority"],
        "sms_sender_id": desired["sms_sender_id"],
        # An overflow into a queue the import has not created yet is set once it exists.
        "max_waiting_time": None if seconds is None or deferred else timedelta(seconds=seconds),
        "overflow_queue": None if deferred else overflow,
    }
    try:
        if stored is None:
            planned.stored = queue_services.queue_create(addresses=result.addresses, **fields)
        else:
            queue_services.queue_update(queue=stored, addresses=result.addresses, **fields)
    except ValidationError as exc:
        raise _refuse(planned, _model_errors(exc)) from None
    return deferred


def _queue_overflow_apply(planned: Planned) -> None:
    desired = planned.desired or {}
    overflow = _queue_named(desired["overflow_queue"])
    if overflow is None:
        raise _refuse(
            planned, {"overflow_queue": [f"There is no queue “{desired['overflow_queue']}”."]}
        )
    seconds = desired["max_waiting_time"]
    try:
        queue_services.queue_update(
            queue=planned.stored,  # type: ignore[arg-type]
            max_waiting_time=None if seconds is None else timedelta(seconds=seconds),
            overflow_queue=overflow,
        )
    except ValidationError as exc:
        raise _refuse(planned, _model_errors(exc)) from None


def _queues_named(planned: Planned, names: list[str]) -> list[Queue]:
    """The queues an agent or integration names (names are unique regardless of case)."""
    found = {name: _queue_named(name) for name in names}
    unknown = [name for name, queue in found.items() if queue is None]
    if unknown:
        raise _refuse(planned, {"queues": [f"There is no queue “{name}”." for name in unknown]})
    return [queue for queue in found.values() if queue is not None]


# --- Agents and integrations -----------------------------------------------------------------


def _agent_apply(planned: Planned) -> None:
    desired = planned.desired or {}
    queues = _queues_named(planned, desired["queues"])
    agent = planned.stored if isinstance(planned.stored, Agent) else Agent()
    for name in ("name", "number", "chat_address", "email"):
        setattr(agent, name, desired[name])
    try:
        agent_save(agent=agent, queues=queues)
    except ValidationError as exc:
        raise _refuse(planned, _model_errors(exc)) from None


def _integration_apply(planned: Planned) -> None:
    desired = planned.desired or {}
    queues = _queues_named(planned, desired["queues"])
    stored = planned.stored if isinstance(planned.stored, Integration) else None
    entries = desired["authentications"]
    rows = list(stored.authentications.all()) if stored is not None else []
    states = INTEGRATION_BLOCK.api_secret_states(entries, rows)
    authentications = clean_integration_authentications(
        [
            IntegrationAuthenticationInput(
                authentication_id=entry["authentication_id"],
                secret=planned.secrets.get(entry["authentication_id"]) or None,
                has_stored_secret=state.has_stored_secret,
                replaces=state.replaces,
            )
            for entry, state in zip(entries, states, strict=True)
        ],
        secrets_optional=True,
    )
    check = clean_integration(
        IntegrationInput.of(
            desired.get,
            queues=queues,
            authentication_ids=[e["authentication_id"] for e in entries],
        ),
        references=DatabaseReferences(),
    )
    errors: dict[str, Any] = dict(check.errors)
    errors.update(
        {
            f"authentications[{index}].{name}": messages
            for index, fields in authentications.errors.items()
            for name, messages in fields.items()
        }
    )
    if errors:
        raise _refuse(planned, errors)
    integration = stored or Integration()
    for name in (
        "name",
        "description",
        "channel_type",
        "endpoint_url",
        "ordinal",
        "direction",
        "events",
        "direct_chats",
        "direct_calls",
        "configuration",
        "enabled",
    ):
        setattr(integration, name, desired[name])
    try:
        integration_services.integration_save(
            integration=integration,
            queues=queues,
            authentications=authentications.entries,
            missing_secret_allowed=True,
        )
    except ValidationError as exc:
        raise _refuse(planned, _model_errors(exc)) from None


def _integration_recheck(planned: Planned) -> None:
    """An integration left as it is still passes its checks among the objects changed around it.

    Its `set` may name a queue address or agent the import took away: left enabled, it would
    fail at run time, so the import is refused naming it.
    """
    if planned.stored is None:
        return
    integration = (
        Integration.objects.prefetch_related("queues", "authentications")
        .filter(pk=planned.stored.pk, enabled=True)
        .first()
    )
    if integration is None:
        return
    check = stored_check(integration, references=DatabaseReferences())
    if check.errors:
        raise _refuse(planned, dict(check.errors))


# --- What the result deserves a second look at ----------------------------------------------


def result_warnings(plan: Plan, *, apps_before: set[str]) -> list[str]:
    """The save-time warnings the admin and the API give, over the imported result.

    Objects left unchanged are looked at too: a change around them (an app taken from a
    service, a queue's new overflow) can strand or circle them. `apps_before`: the apps the
    services held before the import, so that only apps the import took away are named.
    """
    warnings: list[str] = []
    apps_after = messaging_selectors.held_app_ids()
    warnings.extend(messaging_selectors.stranded_queue_warnings(apps_before - apps_after))
    # Only a queue that overflows can be in a circle.
    overflowing = Queue.objects.filter(
        overflow_queue__isnull=False, max_waiting_time__isnull=False
    ).order_by("name")
    for queue in overflowing:
        warnings.extend(
            f"queue “{queue.name}”: {text}" for text in queue_selectors.save_warnings(queue)
        )
    kept = [p for p in plan.objects if p.action != DELETE]
    changed = {p.name for p in kept if p.kind == "integrations" and p.action != UNCHANGED}
    in_document = {p.name for p in kept if p.kind == "integrations"}
    for integration in Integration.objects.prefetch_related("queues").order_by("name"):
        if integration.name not in in_document:
            continue
        found = (
            integration_selectors.save_warnings(integration)
            if integration.name in changed
            else integration_selectors.crowded_event_warnings(integration)
        )
        warnings.extend(f"integration “{integration.name}”: {text}" for text in found)
    return list(dict.fromkeys(warnings))


# --- Prune -----------------------------------------------------------------------------------


def _prune(plan: Plan) -> list[dict[str, str]]:
    """Delete what the document lacks, dependents first; what may not go is said, and kept."""
    not_deleted: list[dict[str, str]] = []
    deleters = {
        "integrations": lambda row: integration_services.integration_delete(integration=row),
        "agents": lambda row: agent_delete(agent=row),
        "queues": lambda row: queue_services.queue_delete(queue=row),
        "services": lambda row: messaging_services.messaging_service_delete(service=row),
    }
    for kind in ("integrations", "agents", "queues", "services"):
        for planned in plan.of(kind):
            if planned.action != DELETE:
                continue
            if kind == "services" and (
                problems := messaging_selectors.service_delete_problems(planned.stored)  # type: ignore[arg-type]
            ):
                not_deleted.append({"object": planned.label, "reason": " ".join(problems)})
                continue
            try:
                deleters[kind](planned.stored)
            except ValidationError as exc:
                not_deleted.append({"object": planned.label, "reason": " ".join(exc.messages)})
    return not_deleted
