"""One definition per API operation: it registers the route, checks who may call it, validates
the body, and describes the operation in the OpenAPI document, so the two cannot drift."""

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, g, request
from jsonschema import Draft202012Validator, FormatChecker

from qa_app.api import schemas
from qa_app.errors import InvalidInput, NotAuthenticated, NotPermitted
from qa_app.services import tokens

PUBLIC: None = None
ANY_USER: tuple[str, ...] = ()


@dataclass
class Operation:
    rule: str
    method: str
    endpoint: str
    summary: str
    description: str
    roles: tuple[str, ...] | None
    body: str | None
    response: dict[str, Any] | None
    status: int
    query: tuple[dict[str, Any], ...]
    tag: str
    response_types: tuple[str, ...] = ("application/json",)
    errors: tuple[int, ...] = field(default=())

    @property
    def openapi_path(self) -> str:
        return re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", self.rule)


OPERATIONS: list[Operation] = []

_MESSAGES = {
    "type": lambda e: f"Must be {_type_name(e.validator_value)}.",
    "enum": lambda e: f"Must be one of: {', '.join(map(str, e.validator_value))}.",
    "minLength": lambda e: f"Must be at least {e.validator_value} characters.",
    "maxLength": lambda e: f"Must be at most {e.validator_value} characters.",
    "minimum": lambda e: f"Must be at least {e.validator_value}.",
    "maximum": lambda e: f"Must be at most {e.validator_value}.",
    "minItems": lambda e: f"Give at least {e.validator_value} item(s).",
    "maxItems": lambda e: f"Give at most {e.validator_value} item(s).",
    "format": lambda e: f"Must be a valid {e.validator_value}.",
    "pattern": lambda e: "Has the wrong format.",
    "additionalProperties": lambda e: "Is not a field of this request.",
}


def _type_name(value: Any) -> str:
    names = {
        "string": "text",
        "integer": "a whole number",
        "number": "a number",
        "boolean": "true or false",
        "array": "a list",
        "object": "an object",
    }
    if isinstance(value, list):
        return " or ".join(names.get(v, v) for v in value if v != "null")
    return names.get(value, value)


def validate(schema: dict[str, Any], payload: Any) -> None:
    """Raise InvalidInput naming every field of ``payload`` that breaks ``schema``."""
    validator = Draft202012Validator(schema, format_checker=FormatChecker())
    fields: dict[str, str] = {}
    for error in sorted(validator.iter_errors(payload), key=lambda e: list(e.path)):
        path = ".".join(str(p) for p in error.path)
        if error.validator == "required":
            missing = [name for name in error.validator_value if name not in error.instance]
            for name in missing:
                fields.setdefault(f"{path}.{name}" if path else name, "Required.")
        elif error.validator == "additionalProperties":
            extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
            for name in extra:
                fields.setdefault(
                    f"{path}.{name}" if path else name, _MESSAGES["additionalProperties"](error)
                )
        else:
            message = _MESSAGES.get(error.validator, lambda e: e.message)(error)
            fields.setdefault(path or "body", message)
    if fields:
        raise InvalidInput("The request has invalid fields: " + ", ".join(sorted(fields)) + ".", fields)


def json_body(schema: dict[str, Any]) -> Any:
    """The request's JSON, validated against ``schema``."""
    if not request.is_json:
        raise InvalidInput(
            "Send a JSON body with Content-Type: application/json.",
            {"body": "Expected application/json."},
        )
    payload = request.get_json(silent=True)
    if payload is None:
        raise InvalidInput("The body is not valid JSON.", {"body": "Not valid JSON."})
    validate(schema, payload)
    return payload


def authenticate() -> None:
    """Set ``g.actor`` (the user) and ``g.token`` from the Bearer token, or raise 401."""
    header = request.headers.get("Authorization", "")
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise NotAuthenticated("Send Authorization: Bearer <token>; get one from POST /api/v1/tokens.")
    g.token = tokens.resolve(secret.strip())
    g.actor = g.token.user


def operation(
    bp: Blueprint,
    rule: str,
    method: str,
    *,
    summary: str,
    roles: tuple[str, ...] | None,
    tag: str,
    body: str | None = None,
    response: dict[str, Any] | None = None,
    status: int = 200,
    query: tuple[dict[str, Any], ...] = (),
    response_types: tuple[str, ...] = ("application/json",),
    errors: tuple[int, ...] = (),
) -> Callable:
    """Register ``fn`` as ``method rule`` on ``bp`` and describe it in the OpenAPI document.

    ``roles`` is PUBLIC (None), ANY_USER (any signed-in user) or the roles allowed. The view
    receives the body, validated against the component schema named by ``body``, as ``body``.
    """

    def decorate(fn: Callable) -> Callable:
        @functools.wraps(fn)
        def view(**kwargs: Any) -> Any:
            if roles is not PUBLIC:
                authenticate()
                if roles and (g.actor is None or not g.actor.has_role(*roles)):
                    raise NotPermitted(f"This needs the role {' or '.join(roles)}.")
            if body is not None:
                kwargs["body"] = json_body(schemas.schema(body))
            return fn(**kwargs)

        view.qa_roles = roles  # type: ignore[attr-defined]
        bp.add_url_rule(rule, fn.__name__, view, methods=[method])
        OPERATIONS.append(
            Operation(
                rule=bp.url_prefix + rule if bp.url_prefix else rule,
                method=method.lower(),
                endpoint=f"{bp.name}.{fn.__name__}",
                summary=summary,
                description=(fn.__doc__ or "").strip(),
                roles=roles,
                body=body,
                response=response,
                status=status,
                query=query,
                tag=tag,
                response_types=response_types,
                errors=errors,
            )
        )
        return view

    return decorate
