"""The shape of an integration's JSON configuration, as a JSON Schema kept beside the code.

`x-message` is ours (validators ignore unknown keywords): the sentence an administrator reads
when a value breaks the rule of that schema node.
"""

from __future__ import annotations

from typing import Any

from integrations.choices import HttpMethod

HEADER_NAME_PATTERN = r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$"
MAX_TIMEOUT_SECONDS = 60
DEFAULT_TIMEOUT_SECONDS = 10

_STRING_OR_PLACEHOLDER_NUMBER: dict[str, Any] = {"type": ["string", "integer"]}

CONFIGURATION_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "request": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "authentication": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["type"],
                    "properties": {
                        "type": {"enum": ["basic", "digest", "oauth"]},
                        "client_id": {"type": "string", "minLength": 1},
                        "access_token_url": {"type": "string", "minLength": 1},
                        "scope": {
                            "anyOf": [
                                {"type": "string"},
                                {"type": "array", "items": {"type": "string"}},
                            ],
                            "x-message": "a scope or a list of scopes (strings)",
                        },
                    },
                },
                "method": {"enum": list(HttpMethod.values)},
                "headers": {
                    "type": "object",
                    "propertyNames": {
                        "pattern": HEADER_NAME_PATTERN,
                        "x-message": "a header name: letters, digits and - (no spaces)",
                    },
                    "additionalProperties": {"type": "string"},
                },
                "params": {
                    "type": "object",
                    "additionalProperties": {"type": ["string", "number", "boolean"]},
                },
                "body": {},
                "timeout": {
                    "anyOf": [
                        {
                            "type": "number",
                            "exclusiveMinimum": 0,
                            "maximum": MAX_TIMEOUT_SECONDS,
                        },
                        {"type": "string", "pattern": r"^\s*[0-9]+(\.[0-9]+)?\s*$"},
                    ],
                    "x-message": (
                        f"seconds, more than 0 and at most {MAX_TIMEOUT_SECONDS} "
                        f"(default {DEFAULT_TIMEOUT_SECONDS})"
                    ),
                },
                "condition": {"type": "string", "minLength": 1},
                "block": {"type": "boolean"},
            },
        },
        "response": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "set": {
                    "type": "object",
                    "additionalProperties": False,
                    "minProperties": 1,
                    "properties": {
                        "priority": {
                            **_STRING_OR_PLACEHOLDER_NUMBER,
                            "minimum": 0,
                            "x-message": "an unsigned integer, or a placeholder giving one",
                        },
                        "queue": {
                            "type": "object",
                            "additionalProperties": False,
                            "minProperties": 1,
                            "maxProperties": 1,
                            "properties": {
                                "id": _STRING_OR_PLACEHOLDER_NUMBER,
                                "address": {"type": "string", "minLength": 1},
                            },
                            "x-message": "an object with either “id” or “address”",
                        },
                        "preferredAgent": {
                            "type": "string",
                            "minLength": 1,
                            "x-message": (
                                "a non-empty string: agent ID, number, chat address or e-mail, "
                                "or a placeholder giving one"
                            ),
                        },
                        "requiredAgents": {
                            "type": "object",
                            "additionalProperties": False,
                            "required": ["agents"],
                            "properties": {
                                "agents": {
                                    "anyOf": [
                                        {"type": "string", "minLength": 1},
                                        {
                                            "type": "array",
                                            "minItems": 1,
                                            "items": {"type": "string", "minLength": 1},
                                        },
                                    ],
                                    "x-message": (
                                        "a list of agent identifiers, or a placeholder giving one"
                                    ),
                                },
                                "timeout": {
                                    **_STRING_OR_PLACEHOLDER_NUMBER,
                                    "minimum": 1,
                                    "x-message": (
                                        "seconds the conversation waits for a required agent "
                                        "(a positive integer, or a placeholder giving one)"
                                    ),
                                },
                            },
                        },
                    },
                },
                "save": {"type": "object", "minProperties": 1},
            },
        },
    },
}
