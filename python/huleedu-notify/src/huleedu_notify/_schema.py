"""Validation against the protocol's JSON Schema, with errors a person can act on."""

from __future__ import annotations

import difflib
import json
from functools import lru_cache
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from .catalog import NOTIFICATION_TYPES


@lru_cache(maxsize=1)
def protocol_schema() -> dict[str, Any]:
    """The shipped `notifications.schema.json`: generated from the zod catalogue of `@huleedu/ws-protocol`."""
    text = resources.files(__package__).joinpath("_data/notifications.schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


@lru_cache(maxsize=1)
def _validator() -> Any:
    return Draft202012Validator(protocol_schema())


def closest_types(name: str) -> list[str]:
    """The catalogue types most like `name` (a misspelt type), best first; may be empty."""
    return difflib.get_close_matches(name, NOTIFICATION_TYPES, n=3, cutoff=0.6)


def unknown_type_message(name: object) -> str:
    """`unknown notification type "x"; did you mean y? (known types: ...)`."""
    text = json.dumps(name) if isinstance(name, str) else f"of type {type(name).__name__}"
    close = closest_types(name) if isinstance(name, str) else []
    hint = f"; did you mean {' or '.join(close)}?" if close else ""
    return (
        f"unknown notification type {text}{hint} (known types: {', '.join(NOTIFICATION_TYPES)}; "
        "use publish() for events outside the catalogue)"
    )


def describe_value(value: Any) -> str:
    """A short description of what came: JSON for a scalar, the kind for a container."""
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 80 else f"{text[:77]}..."


def describe_schema(schema: Any) -> str:
    """What a property of the generated schema accepts, in words (as the zod schemas word it)."""
    if not isinstance(schema, dict):
        return "anything"
    if "anyOf" in schema:
        return " or ".join(describe_schema(option) for option in schema["anyOf"])
    if "enum" in schema:
        return "one of " + "|".join(str(option) for option in schema["enum"])
    kind = schema.get("type")
    if kind == "string":
        if "pattern" in schema:
            return "an ISO 8601 time like 2026-11-22T10:00:00Z"
        return "a non-empty string" if schema.get("minLength") == 1 else "a string"
    if kind == "integer":
        return "a whole number >= 0" if schema.get("minimum") == 0 else "a whole number"
    if kind == "number":
        return "a number >= 0" if schema.get("minimum") == 0 else "a number"
    if kind == "boolean":
        return "true or false"
    if kind == "null":
        return "null"
    if kind == "array":
        return f"a list of {describe_schema(schema.get('items', {})).removeprefix('a ')}s"
    if kind == "object":
        return "an object"
    return "anything"


def _path(error: ValidationError) -> str:
    parts = [str(part) if isinstance(part, str) else f"[{part}]" for part in error.absolute_path]
    return ".".join(parts).replace(".[", "[") or "the message"


def _field_schemas(error: ValidationError) -> dict[str, Any]:
    properties = error.schema.get("properties", {}) if isinstance(error.schema, dict) else {}
    return properties if isinstance(properties, dict) else {}


def _issues(error: ValidationError, event: str) -> list[str]:
    where = _path(error)
    if str(error.validator) == "additionalProperties":
        known = list(_field_schemas(error))
        lines = []
        for field in sorted(set(error.instance) - set(known)):
            close = difflib.get_close_matches(field, known, n=1, cutoff=0.6)
            hint = f" (did you mean {close[0]}?)" if close else ""
            lines.append(f"{where}.{field}: unknown field{hint}")
        lines.append(f"the fields of {event} are {', '.join(known)}")
        return lines
    if str(error.validator) == "required":
        fields = _field_schemas(error)
        return [
            f"{where}.{field}: missing (expected {describe_schema(fields.get(field))})"
            for field in error.validator_value
            if isinstance(error.instance, dict) and field not in error.instance
        ]
    return [f"{where}: expected {describe_schema(error.schema)}, got {describe_value(error.instance)}"]


def message_issues(message: Any) -> list[str]:
    """Every problem of a message (envelope and, for a catalogue type, its `data`), one line each."""
    event = message.get("event") if isinstance(message, dict) else None
    name = event if isinstance(event, str) else "the message"
    errors = sorted(_validator().iter_errors(message), key=lambda e: list(map(str, e.absolute_path)))
    lines: list[str] = []
    for error in errors:
        for line in _issues(error, name):
            if line not in lines:
                lines.append(line)
    # In field order, the list of a type's fields last.
    lines.sort(key=lambda line: (line.startswith("the fields of "), line))
    return lines
