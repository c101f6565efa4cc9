"""The save-time check of an integration's JSON configuration (`request`, `response`).

Shape (the JSON Schema, its errors in an administrator's words), placeholders, authentication
references, condition, and the `set` keys (their handlers in `set_keys`); each fault carries
its JSON path. `validation.clean_integration` runs it with the rest of an integration's rules.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError as SchemaError

from integrations.choices import (
    ECHO_ENDPOINT,
    METHODS_WITH_BODY,
    AuthenticationType,
    HttpMethod,
    authentication_type,
)
from integrations.conditions import ConditionError, condition_compile
from integrations.placeholders import Placeholder, find_placeholders, resolve
from integrations.schema import CONFIGURATION_SCHEMA, MAX_TIMEOUT_SECONDS
from integrations.set_keys import References, set_faults

MAX_DEPTH = 32
XML_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9._-]*$")
_SCHEMA_VALIDATOR = Draft202012Validator(CONFIGURATION_SCHEMA)
_URL_VALIDATOR = URLValidator(schemes=["https"])
# Where `{authentications.<id>}` may appear: places whose secrets the delivery record masks.
_SECRET_SECTIONS = (("request", "headers"), ("request", "params"), ("request", "body"))


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
            problem = placeholder_problem(placeholder, path=path, authentication_ids=ids)
            if problem:
                check.add(path, problem)
            elif placeholder.root == "authentications":
                used.add(placeholder.name.split(".", 1)[1])
    response = configuration.get("response")
    if isinstance(response, dict):
        for where, message in set_faults(response.get("set"), channel_type, references):
            check.add(where, message)
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


def placeholder_problem(
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
