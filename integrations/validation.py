"""Every rule an integration must pass before it is saved, written once for the admin and the API.

Pure functions: what they need from the database (queues, agents) comes in as a `References`
object, so that the same checks run in a form, a serializer and a copy.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError as SchemaError

from configurator.credentials import CredentialBlock, secret_problem
from conversations.choices import Event
from integrations.choices import (
    CONVERSATION_TYPE_LABELS,
    ECHO_ENDPOINT,
    METHODS_WITH_BODY,
    QUEUE_CHANNEL_TYPES,
    AuthenticationType,
    HttpMethod,
    IntegrationChannelType,
    conversation_types,
    supported_events,
)
from integrations.conditions import ConditionError, condition_compile
from integrations.placeholders import (
    Kind,
    Placeholder,
    find_placeholders,
    holds_object,
    resolve,
)
from integrations.schema import CONFIGURATION_SCHEMA, MAX_TIMEOUT_SECONDS

MAX_SECRET_LENGTH = 4000
MAX_DEPTH = 32
HEADER_ENTRY_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
PREFIXED_ENTRY_RE = re.compile(r"^(?P<type>basic|digest|oauth):(?P<name>[^\s:]{1,150})$")
XML_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9._-]*$")
_SCHEMA_VALIDATOR = Draft202012Validator(CONFIGURATION_SCHEMA)
_URL_VALIDATOR = URLValidator(schemes=["https"])
# Where `{authentications.<id>}` may appear: places whose secrets the delivery record masks.
_SECRET_SECTIONS = (("request", "headers"), ("request", "params"), ("request", "body"))


# --- Authentication entries -----------------------------------------------------------------


def authentication_type(authentication_id: str) -> str:
    """The entry's type, told by its ID: `basic:<user>`, `digest:<user>`, `oauth:<client>`."""
    match = PREFIXED_ENTRY_RE.match(authentication_id)
    return match["type"] if match else AuthenticationType.HEADER


@dataclass
class AuthenticationInput:
    """One authentication entry as entered; `secret` None keeps a stored one."""

    authentication_id: str
    secret: str | None = None
    has_stored_secret: bool = False
    # The ID of the stored entry this one edits under a new ID (its secret stays with that ID).
    replaces: str | None = None


# The shared mechanism (configurator.credentials) told how this app's entries are keyed: by ID.
AUTHENTICATION_BLOCK = CredentialBlock(
    id_fields=("authentication_id",),
    key=lambda values: str(values.get("authentication_id") or "").strip(),
)


@dataclass
class CleanAuthentication:
    """An entry that passed the rules; its type is told by its ID (`authentication_type`)."""

    authentication_id: str
    secret: str | None


@dataclass
class AuthenticationsResult:
    """Cleaned entries, or the errors found, by entry index and field."""

    entries: list[CleanAuthentication] = field(default_factory=list)
    errors: dict[int, dict[str, list[str]]] = field(default_factory=dict)

    @property
    def is_valid(self) -> bool:
        return not self.errors

    def add(self, index: int, field_name: str, message: str) -> None:
        self.errors.setdefault(index, {}).setdefault(field_name, []).append(message)


def clean_authentications(entries: Sequence[AuthenticationInput]) -> AuthenticationsResult:
    """Check an integration's authentication block (seed 003, table 2)."""
    result = AuthenticationsResult()
    seen: dict[str, int] = {}
    for index, entry in enumerate(entries):
        authentication_id = (entry.authentication_id or "").strip()
        if not authentication_id:
            result.add(index, "authentication_id", "Enter the authentication ID.")
        elif authentication_id.split(":", 1)[0] in {"basic", "digest", "oauth"}:
            if not PREFIXED_ENTRY_RE.match(authentication_id):
                kind = authentication_id.split(":", 1)[0]
                who = "client ID" if kind == "oauth" else "username"
                result.add(
                    index,
                    "authentication_id",
                    f"Enter {kind}:<{who}>: the {who} after the colon, without spaces or "
                    "another colon.",
                )
        elif not HEADER_ENTRY_RE.match(authentication_id):
            result.add(
                index,
                "authentication_id",
                "Enter basic:<username>, digest:<username>, oauth:<client ID>, or a name for "
                "a header value (letters, digits, “.”, “_”, “-”; e.g. api-key).",
            )
        if authentication_id in seen:
            result.add(
                index,
                "authentication_id",
                f"“{authentication_id}” is already entry {seen[authentication_id] + 1}.",
            )
        seen.setdefault(authentication_id, index)
        secret = entry.secret or None
        problem = secret_problem(
            secret,
            has_stored_secret=entry.has_stored_secret,
            replaces=entry.replaces,
            max_length=MAX_SECRET_LENGTH,
        )
        if problem:
            result.add(index, "secret", problem)
        if index not in result.errors:
            result.entries.append(
                CleanAuthentication(authentication_id=authentication_id, secret=secret)
            )
    return result


# --- The integration as a whole ---------------------------------------------------------------


class References(Protocol):
    """What the checks need to know about queues and agents that exist."""

    def queue_channel_type(self, queue_id: str) -> str | None:
        """Channel type of the queue with this ID, None when there is none."""

    def queue_channel_type_by_address(self, address: str) -> str | None:
        """Channel type of the queue with this address, None when there is none."""

    def agent_exists(self, identifier: str) -> bool:
        """Whether an agent has this ID, number, chat address or e-mail."""


@dataclass(frozen=True)
class ScopeQueue:
    """A queue chosen for an integration's scope."""

    name: str
    channel_type: str


@dataclass
class IntegrationInput:
    """An integration as entered, before it is saved."""

    channel_type: str
    direction: str
    endpoint_url: str
    events: Sequence[str]
    direct_chats: bool
    direct_calls: bool
    queues: Sequence[ScopeQueue]
    authentication_ids: Sequence[str]
    configuration: Any


@dataclass
class IntegrationCheck:
    """Errors by field (`configuration` errors are "path: message"), and notices."""

    errors: dict[str, list[str]] = field(default_factory=dict)
    notices: list[str] = field(default_factory=list)

    @property
    def is_valid(self) -> bool:
        return not self.errors

    def add(self, field_name: str, message: str) -> None:
        self.errors.setdefault(field_name, []).append(message)


def clean_integration(spec: IntegrationInput, *, references: References) -> IntegrationCheck:
    """Check everything an administrator entered; nothing may fail later for a typo."""
    check = IntegrationCheck()
    for problem in endpoint_url_problems(spec.endpoint_url):
        check.add("endpoint_url", problem)
    _check_events(spec, check)
    _check_scope(spec, check)
    configuration = configuration_check(
        spec.configuration,
        channel_type=spec.channel_type,
        endpoint_url=spec.endpoint_url,
        authentication_ids=spec.authentication_ids,
        references=references,
    )
    for fault in configuration.problems:
        check.add("configuration", str(fault))
    check.notices.extend(configuration.notices)
    return check


def _check_events(spec: IntegrationInput, check: IntegrationCheck) -> None:
    types = conversation_types(spec.channel_type, spec.direction)
    if not types:
        check.add("direction", "E-mail conversations are inbound only: choose Inbound.")
        return
    supported = supported_events(types)
    produced_by = ", ".join(CONVERSATION_TYPE_LABELS[kind] for kind in types)
    for event in spec.events:
        if event not in Event.values:
            check.add("events", f"“{event}” is not an event; events: {', '.join(Event.values)}.")
        elif event not in supported:
            check.add(
                "events",
                f"{Event(event).label}: none of this integration's conversations "
                f"({produced_by}) produce it.",
            )


def _check_scope(spec: IntegrationInput, check: IntegrationCheck) -> None:
    channel = IntegrationChannelType(spec.channel_type)
    if spec.direct_chats and spec.channel_type not in {"chat", "multi"}:
        check.add("direct_chats", f"A {channel.label} integration has no direct chats.")
    if spec.direct_calls and spec.channel_type not in {"phone", "multi"}:
        check.add("direct_calls", f"A {channel.label} integration has no direct calls.")
    allowed = QUEUE_CHANNEL_TYPES[spec.channel_type]
    for queue in spec.queues:
        if queue.channel_type not in allowed:
            check.add(
                "queues",
                f"Queue “{queue.name}” is a {queue.channel_type} queue; a {channel.label} "
                f"integration takes {' or '.join(sorted(allowed))} queues.",
            )


def endpoint_url_problems(url: str) -> list[str]:
    """`https://…` (placeholders allowed in path and query, not in the host) or `edi://echo`."""
    url = (url or "").strip()
    if url == ECHO_ENDPOINT:
        return []
    if not url.lower().startswith("https://"):
        return [f"Enter an https:// address, or {ECHO_ENDPOINT} to answer from the contact's data."]
    problems: list[str] = []
    for placeholder in find_placeholders(url):
        problem = _placeholder_problem(placeholder, path=("endpoint_url",))
        if problem:
            problems.append(problem)
        elif holds_object(resolve(placeholder.parts)[0] or Kind.VALUE):
            problems.append(
                f"{placeholder} is an object; an address needs a single value "
                f"such as {{{placeholder.name}.id}}."
            )
    concrete = _without_placeholders(url)
    parts = urlsplit(concrete)
    if "{" in urlsplit(url).netloc or "}" in urlsplit(url).netloc:
        problems.append("Placeholders may be used in the path and query, not in the host.")
    elif parts.username or parts.password:
        problems.append(
            "Remove the credentials from the address: add them as an authentication entry."
        )
    else:
        try:
            _URL_VALIDATOR(concrete)
        except ValidationError:
            problems.append("Enter a complete https:// address, e.g. https://api.example.com/x.")
    return problems


def _without_placeholders(text: str) -> str:
    return re.sub(r"\{[^{}]*\}", "x", text.replace("{{", "").replace("}}", ""))


# --- The JSON configuration -------------------------------------------------------------------


@dataclass(frozen=True)
class ConfigurationProblem:
    """One fault, at its JSON path (`request.headers.x-api-key`)."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


@dataclass
class ConfigurationCheck:
    """Problems (each blocks saving) and notices (worth knowing, not blocking)."""

    problems: list[ConfigurationProblem] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)

    def add(self, path: Sequence[str | int], message: str) -> None:
        problem = ConfigurationProblem(json_path(path), message)
        if problem not in self.problems:
            self.problems.append(problem)


def json_path(parts: Sequence[str | int]) -> str:
    """`request.body.items[0]`: dots between keys, brackets around list indexes."""
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def configuration_check(
    configuration: Any,
    *,
    channel_type: str,
    endpoint_url: str,
    authentication_ids: Sequence[str],
    references: References,
) -> ConfigurationCheck:
    """Check a configuration's shape, placeholders, references and condition."""
    check = ConfigurationCheck()
    if _depth(configuration) > MAX_DEPTH:
        check.add([], f"The configuration is nested more than {MAX_DEPTH} levels deep.")
        return check
    if not isinstance(configuration, dict):
        check.add([], 'The configuration is a JSON object: {"request": {...}, "response": {...}}.')
        return check
    is_echo = (endpoint_url or "").strip() == ECHO_ENDPOINT
    if is_echo and not configuration:
        # An https endpoint is told below that it needs a request; an echo makes no request,
        # and with nothing in "response" it would fire and change nothing.
        check.add(
            [],
            f"The configuration is empty: {ECHO_ENDPOINT} answers with the contact's data; "
            'say what to do with it in "response" ("set" or "save").',
        )
        return check
    for error in _SCHEMA_VALIDATOR.iter_errors(configuration):
        for where, message in _schema_messages(error):
            check.add(where, message)
    ids = [i.strip() for i in authentication_ids if i and i.strip()]
    used: set[str] = set()
    request = configuration.get("request")
    request = request if isinstance(request, dict) else {}
    _check_request(request, configuration, is_echo, ids, used, check)
    for path, text in _strings(configuration, ()):
        if tuple(path[:2]) in {("request", "condition"), ("request", "authentication")}:
            continue
        for placeholder in find_placeholders(text):
            problem = _placeholder_problem(placeholder, path=path, authentication_ids=ids)
            if problem:
                check.add(path, problem)
            elif placeholder.root == "authentications":
                used.add(placeholder.name.split(".", 1)[1])
    response = configuration.get("response")
    if isinstance(response, dict):
        _check_set(response.get("set"), channel_type, references, check)
        _check_save(response.get("save"), check)
    for unused in sorted(set(ids) - used):
        check.notices.append(f"Authentication “{unused}” is not used by the JSON configuration.")
    return check


def _check_request(
    request: dict[str, Any],
    configuration: dict[str, Any],
    is_echo: bool,
    ids: list[str],
    used: set[str],
    check: ConfigurationCheck,
) -> None:
    if is_echo:
        for key in ("authentication", "headers", "params", "body"):
            if key in request:
                check.add(
                    ["request", key],
                    f"{ECHO_ENDPOINT} makes no call: remove it (the answer is the contact's data).",
                )
    else:
        if "request" not in configuration:
            check.add(["request"], 'required: {"request": {"method": "POST", ...}}')
        elif "method" not in request:
            check.add(["request", "method"], "required: GET, POST, PUT, PATCH or DELETE")
    method = request.get("method")
    if "body" in request and method in HttpMethod.values and method not in METHODS_WITH_BODY:
        check.add(
            ["request", "body"],
            f"a {method} request has no body; send data in params, or use POST, PUT or PATCH",
        )
    timeout = request.get("timeout")
    if (
        isinstance(timeout, str)
        and re.fullmatch(r"\s*[0-9]+(\.[0-9]+)?\s*", timeout)
        and not 0 < float(timeout) <= MAX_TIMEOUT_SECONDS
    ):
        check.add(
            ["request", "timeout"], f"expected seconds, more than 0 and at most 60 ({timeout})"
        )
    condition = request.get("condition")
    if isinstance(condition, str) and condition.strip():
        try:
            condition_compile(condition)
        except ConditionError as exc:
            check.add(["request", "condition"], str(exc))
    authentication = request.get("authentication")
    if isinstance(authentication, dict) and isinstance(authentication.get("type"), str):
        _check_authentication_type(authentication, ids, used, check)


def _check_authentication_type(
    authentication: dict[str, Any], ids: list[str], used: set[str], check: ConfigurationCheck
) -> None:
    kind = authentication["type"]
    path = ["request", "authentication", "type"]
    entries = [i for i in ids if authentication_type(i) == kind]
    defined = _defined(ids)
    if kind == AuthenticationType.OAUTH:
        client_id = authentication.get("client_id")
        if isinstance(client_id, str):
            wanted = f"oauth:{client_id}"
            if wanted not in ids:
                check.add(
                    ["request", "authentication", "client_id"],
                    f'unknown authentication "{wanted}"; defined: {defined}',
                )
            entries = [wanted]
        token_url = authentication.get("access_token_url")
        if token_url is None:
            check.add(["request", "authentication", "access_token_url"], "required for oauth")
        elif isinstance(token_url, str):
            try:
                _URL_VALIDATOR(token_url)
            except ValidationError:
                check.add(
                    ["request", "authentication", "access_token_url"],
                    "expected the token endpoint as an https:// address",
                )
    else:
        for key in ("client_id", "access_token_url", "scope"):
            if key in authentication:
                check.add(["request", "authentication", key], f"only for oauth, not {kind}")
    if not entries:
        who = "client ID" if kind == AuthenticationType.OAUTH else "username"
        check.add(path, f'"{kind}" needs an authentication {kind}:<{who}>; defined: {defined}')
    elif len(entries) > 1:
        check.add(
            path,
            f'"{kind}" finds several entries ({", ".join(entries)}): keep one, '
            + (
                "or name it with client_id"
                if kind == AuthenticationType.OAUTH
                else "remove the others"
            ),
        )
    used.update(entries)


def _placeholder_problem(
    placeholder: Placeholder,
    *,
    path: Sequence[str | int],
    authentication_ids: Sequence[str] = (),
) -> str:
    section = path[0] if path else ""
    root = placeholder.root
    if root == "authentications":
        if len(placeholder.parts) < 2:
            return "name the authentication: {authentications.<authentication ID>}"
        if tuple(path[:2]) not in _SECRET_SECTIONS:
            return (
                f"{placeholder} may only be used in request headers, params or body, "
                "where delivery records mask it"
            )
        wanted = placeholder.name.split(".", 1)[1]
        if wanted not in authentication_ids:
            close = difflib.get_close_matches(wanted, authentication_ids, n=1)
            hint = f' (did you mean "{close[0]}"?)' if close else ""
            return (
                f'unknown authentication "{wanted}"; defined: {_defined(authentication_ids)}' + hint
            )
        kind = authentication_type(wanted)
        if kind != AuthenticationType.HEADER:
            return (
                f'"{wanted}" is a {AuthenticationType(kind).label} entry, used through '
                f'"authentication": {{"type": "{kind}"}}; a placeholder takes a header-value entry'
            )
        return ""
    if root == "response" and section != "response":
        return f"{placeholder} is only known in response, after the call has answered"
    _, problem = resolve(placeholder.parts)
    return problem


def _check_set(
    value: Any, channel_type: str, references: References, check: ConfigurationCheck
) -> None:
    if not isinstance(value, dict):
        return
    priority = value.get("priority")
    if _is_static(priority) and isinstance(priority, str) and not priority.strip().isdigit():
        check.add(
            ["response", "set", "priority"],
            f"expected an unsigned integer, or a placeholder giving one; found “{priority}”",
        )
    queue = value.get("queue")
    if isinstance(queue, dict):
        _check_set_queue(queue, channel_type, references, check)
    agent = value.get("preferredAgent")
    if _is_static(agent) and not references.agent_exists(str(agent).strip()):
        check.add(["response", "set", "preferredAgent"], f"no agent has the identifier “{agent}”")
    required = value.get("requiredAgents")
    if isinstance(required, dict):
        agents = required.get("agents")
        listed = agents if isinstance(agents, list) else [agents]
        for index, identifier in enumerate(listed):
            where: list[str | int] = ["response", "set", "requiredAgents", "agents"]
            if isinstance(agents, list):
                where.append(index)
            if _is_static(identifier) and not references.agent_exists(str(identifier).strip()):
                check.add(where, f"no agent has the identifier “{identifier}”")
        timeout = required.get("timeout")
        if isinstance(timeout, str) and _is_static(timeout) and not timeout.strip().isdigit():
            check.add(
                ["response", "set", "requiredAgents", "timeout"],
                f"expected a positive number of seconds; found “{timeout}”",
            )


def _check_set_queue(
    queue: dict[str, Any], channel_type: str, references: References, check: ConfigurationCheck
) -> None:
    allowed = QUEUE_CHANNEL_TYPES[channel_type]
    label = IntegrationChannelType(channel_type).label
    for key, lookup in (
        ("id", references.queue_channel_type),
        ("address", references.queue_channel_type_by_address),
    ):
        given = queue.get(key)
        if not _is_static(given):
            continue
        found = lookup(str(given).strip())
        path = ["response", "set", "queue", key]
        if found is None:
            check.add(path, f"no queue has the {'ID' if key == 'id' else 'address'} “{given}”")
        elif found not in allowed:
            check.add(
                path,
                f"queue “{given}” is a {found} queue; a {label} integration sets "
                f"{' or '.join(sorted(allowed))} queues",
            )


def _check_save(value: Any, check: ConfigurationCheck) -> None:
    if not isinstance(value, dict):
        return
    for path, key in _keys(value, ("response", "save")):
        if not XML_NAME_RE.match(key) or key.lower().startswith("xml"):
            check.add(
                path,
                f"“{key}” is not a valid XML name: start with a letter or “_”, then letters, "
                "digits, “_”, “-” or “.”, no spaces and not “xml…” (e.g. customerId)",
            )


def _depth(value: Any) -> int:
    """Nesting depth, without recursion (the checks below recurse)."""
    deepest, pending = 0, [(value, 1)]
    while pending:
        item, level = pending.pop()
        deepest = max(deepest, level)
        if level > MAX_DEPTH:
            break
        if isinstance(item, dict):
            pending.extend((v, level + 1) for v in item.values())
        elif isinstance(item, list):
            pending.extend((v, level + 1) for v in item)
    return deepest


def _is_static(value: Any) -> bool:
    """A set value written as a literal (so it can be checked now), not as a placeholder."""
    if isinstance(value, bool) or value is None:
        return False
    if isinstance(value, int):
        return True
    return isinstance(value, str) and bool(value.strip()) and not list(find_placeholders(value))


def _defined(ids: Sequence[str]) -> str:
    return ", ".join(ids) if ids else "none"


def _strings(
    value: Any, path: tuple[str | int, ...]
) -> Iterator[tuple[tuple[str | int, ...], str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, (*path, str(key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, (*path, index))


def _keys(value: Any, path: tuple[str | int, ...]) -> Iterator[tuple[tuple[str | int, ...], str]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield (*path, str(key)), str(key)
            yield from _keys(item, (*path, str(key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _keys(item, (*path, index))


# --- JSON Schema errors in an administrator's words ---------------------------------------------

_JSON_TYPES = {
    "object": "an object",
    "array": "a list",
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "null": "null",
}


def _schema_messages(error: SchemaError) -> list[tuple[list[str | int], str]]:
    path: list[str | int] = list(error.absolute_path)
    schema = error.schema if isinstance(error.schema, dict) else {}
    instance = error.instance
    if error.validator == "additionalProperties" and isinstance(instance, dict):
        allowed = list(schema.get("properties", {}))
        messages = []
        for key in instance:
            if key not in allowed:
                close = difflib.get_close_matches(key, allowed, n=1)
                hint = f"did you mean “{close[0]}”? " if close else ""
                messages.append(
                    ([*path, key], f"unknown key; {hint}allowed here: {', '.join(allowed)}")
                )
        return messages
    if error.validator == "required" and isinstance(instance, dict):
        return [([*path, name], "required") for name in schema["required"] if name not in instance]
    if error.validator == "enum":
        choices = ", ".join(str(c) for c in schema["enum"])
        return [(path, f"“{instance}” is not allowed; use one of {choices}")]
    if (
        error.validator == "pattern"
        and isinstance(instance, str)
        and list(error.relative_schema_path)[-2:-1] == ["propertyNames"]
    ):
        return [([*path, instance], "expected " + str(schema.get("x-message", "a valid name")))]
    parent = _parent_schema(error)
    message = schema.get("x-message") or parent.get("x-message")
    if message:
        return [(path, f"expected {message}")]
    if error.validator == "type":
        expected = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        words = " or ".join(_JSON_TYPES.get(str(t), str(t)) for t in expected)
        return [(path, f"expected {words}, found {_json_type(instance)}")]
    if error.validator in {"minProperties", "minLength", "minItems"}:
        return [(path, "must not be empty")]
    return [(path, error.message)]


def _parent_schema(error: SchemaError) -> Mapping[str, Any]:
    parent = error.parent
    while parent is not None:
        if isinstance(parent.schema, dict) and parent.schema.get("x-message"):
            return parent.schema
        parent = parent.parent
    return {}


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "true or false"
    for python, word in ((dict, "an object"), (list, "a list"), (str, "a string")):
        if isinstance(value, python):
            return word
    if isinstance(value, int | float):
        return "a number"
    return "null"
