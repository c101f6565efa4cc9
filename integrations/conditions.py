"""`request.condition`: a CEL expression (Common Expression Language, through cel-python).

CEL is sandboxed by design: no assignments, no loops beyond bounded macros, no access to Python.
The variables are the placeholder data: `contact` (every `{contact.*}` field) and `event`
(`name`, `datetime`, `id`). Examples:

    contact.priority <= 50 && contact.channel_sub_type == "whatsapp"
    event.name in ["ended", "abandoned"] && has(contact.agent)
    has(contact.cad.customer) && contact.cad.customer.rank == "gold"
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache
from typing import Any

import celpy
import celpy.celtypes
import celpy.evaluation
from celpy.adapter import json_to_cel
from celpy.celparser import CELParseError
from lark import Token, Tree

from integrations.placeholders import CONTACT_FIELDS, EVENT_FIELDS, Node, resolve

CONDITION_VARIABLES: Mapping[str, Node] = {"contact": CONTACT_FIELDS, "event": EVENT_FIELDS}
# Macros whose first argument names a variable bound inside them (`skills.exists(s, s.value > 3)`).
_BINDING_MACROS = frozenset({"all", "exists", "exists_one", "map", "filter"})
# Functions and methods CEL provides (cel-python's registry, plus its macros).
_FUNCTIONS = frozenset(
    {name for name in celpy.evaluation.base_functions if name[:1].isalpha()}
    | _BINDING_MACROS
    | {"has", "dyn"}
)
_PYTHON_WORDS = re.compile(r"\b(and|or|not|True|False|None)\b")


class ConditionError(ValueError):
    """A condition that does not compile, or names data that does not exist."""


@cache
def _environment() -> celpy.Environment:
    # Building the parser takes ~0.1 s: once per process.
    return celpy.Environment()


def condition_compile(expression: str) -> Any:
    """Parse and check a condition; returns the compiled program, raises ConditionError."""
    environment = _environment()
    try:
        tree = environment.compile(expression)
    except CELParseError as exc:
        raise ConditionError(_parse_message(expression, exc)) from None
    problems = [
        f"unknown function “{name}”" for name in _function_names(tree) if name not in _FUNCTIONS
    ]
    problems += [problem for path in _variable_paths(tree) if (problem := _check_path(path))]
    if problems:
        raise ConditionError("; ".join(dict.fromkeys(problems)))
    return environment.program(tree)


def _parse_message(expression: str, exc: CELParseError) -> str:
    where = f" at column {exc.column}" if exc.column else ""
    message = f"the expression does not parse{where}"
    if exc.column:
        message += f" (near “{expression[exc.column - 1 : exc.column + 19].strip()}”)"
    if _PYTHON_WORDS.search(expression):
        message += "; CEL writes &&, ||, !, true, false and null"
    return message


def _check_path(path: list[str]) -> str:
    root = path[0]
    if root not in CONDITION_VARIABLES:
        known = ", ".join(CONDITION_VARIABLES)
        return f"unknown variable “{root}”; known: {known}"
    _, problem = resolve(path)
    return problem.replace("placeholder ", "field ").replace("{", "").replace("}", "")


def _variable_paths(tree: Tree[Any]) -> list[list[str]]:
    """Dotted names the expression reads, minus variables bound by macros."""
    bound: set[str] = set()
    for node in tree.iter_subtrees():
        if node.data == "member_dot_arg" and len(node.children) >= 3:
            method, arguments = node.children[1], node.children[2]
            if str(method) in _BINDING_MACROS and isinstance(arguments, Tree):
                first = _leading_path(arguments.children[0]) if arguments.children else None
                if first and len(first) == 1:
                    bound.add(first[0])
    paths: list[list[str]] = []
    for node in tree.iter_subtrees():
        if node.data in {"member_dot", "member_dot_arg"}:
            path = _leading_path(node.children[0])
            if path is not None and node.data == "member_dot":
                path.append(str(node.children[1]))
            if path and path[0] not in bound:
                paths.append(path)
        elif node.data == "primary":
            name = _ident(node)
            if name is not None and name not in bound:
                paths.append([name])
    # Keep the longest reading of each chain (contact.queue.id covers contact.queue).
    return [p for p in paths if not any(len(o) > len(p) and o[: len(p)] == p for o in paths)]


def _leading_path(node: Any) -> list[str] | None:
    """`a.b.c` of a member chain made of plain names, or None when it starts elsewhere."""
    while isinstance(node, Tree) and node.data in {
        "expr",
        "conditionalor",
        "conditionaland",
        "relation",
        "addition",
        "multiplication",
        "unary",
        "member",
    }:
        if len(node.children) != 1:
            return None
        node = node.children[0]
    if not isinstance(node, Tree):
        return None
    if node.data == "primary":
        name = _ident(node)
        return None if name is None else [name]
    if node.data == "member_dot":
        base = _leading_path(node.children[0])
        return None if base is None else [*base, str(node.children[1])]
    return None


def _function_names(tree: Tree[Any]) -> list[str]:
    """Names of the functions and methods an expression calls."""
    names = []
    for node in tree.iter_subtrees():
        if node.data == "ident_arg" and node.children:
            names.append(str(node.children[0]))
        elif node.data == "member_dot_arg" and len(node.children) >= 2:
            names.append(str(node.children[1]))
    return names


def _ident(primary: Tree[Any]) -> str | None:
    """The name of a `primary` that is a bare identifier (not a call or a literal)."""
    child = primary.children[0] if primary.children else None
    if isinstance(child, Tree) and child.data == "ident" and child.children:
        token = child.children[0]
        if isinstance(token, Token) and token.type == "IDENT":
            return str(token)
    return None


def condition_evaluate(
    program: Any, *, contact: Mapping[str, Any], event: Mapping[str, Any]
) -> bool:
    """Run a compiled condition over the placeholder data; ConditionError when it cannot.

    Fields without a value are left out rather than set to null, so that conditions test them
    the CEL way, `has(contact.agent)`: cel-python cannot compare an object with null.
    """
    activation = {
        "contact": json_to_cel(_without_nulls(contact)),
        "event": json_to_cel(_without_nulls(event)),
    }
    try:
        result = program.evaluate(activation)
    except Exception as exc:  # cel-python raises CELEvalError, and TypeError on some paths
        raise ConditionError(f"the condition failed on this conversation: {exc}") from None
    if isinstance(result, celpy.evaluation.CELEvalError):
        raise ConditionError(f"the condition failed on this conversation: {result}")
    if not isinstance(result, celpy.celtypes.BoolType):
        raise ConditionError(f"the condition gave {result!r}, not true or false")
    return bool(result)


def _without_nulls(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value
