"""One definition per API operation: it registers the route, checks who may call it, validates
the body, and describes the operation in the OpenAPI document, so the two cannot drift."""

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, g, request

from qa_app.api import schemas
from qa_app.errors import InvalidInput, NotAuthenticated, NotPermitted
from qa_app.services import tokens
from qa_app.validation import validate

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
    text_body: str | None = None

    @property
    def openapi_path(self) -> str:
        return re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", self.rule)


OPERATIONS: list[Operation] = []


def json_body(schema: dict[str, Any]) -> Any:
    """The request's JSON, validated against ``schema``."""
    if not request.is_json:
        raise InvalidInput(
            "Send a JSON body with Content-Type: application/json.",
            {"body": "Expected application/json."},
        )
    try:
        payload = request.get_json(silent=True)
    except RecursionError:
        payload = None
    if payload is None:
        raise InvalidInput("The body is not valid JSON.", {"body": "Not valid JSON."})
    _check_text(payload, "")
    validate(schema, payload)
    return payload


def _check_text(node: Any, path: str) -> None:
    """Refuse text that cannot be stored: JSON allows lone surrogates and NULs; UTF-8 and PostgreSQL do not."""
    if isinstance(node, str):
        try:
            node.encode("utf-8")
        except UnicodeEncodeError:
            field = path or "body"
            raise InvalidInput(
                "The body holds text that is not valid Unicode.", {field: "Not valid Unicode text."}
            ) from None
        if "\x00" in node:
            raise InvalidInput(
                "The body holds a NUL character.", {path or "body": "Remove the NUL character."}
            )
    elif isinstance(node, dict):
        for key, value in node.items():
            _check_text(key, path or "body")
            _check_text(value, f"{path}.{key}" if path else str(key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            _check_text(value, f"{path}.{i}" if path else str(i))


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
    text_body: str | None = None,
    devices: bool = False,
) -> Callable:
    """Register ``fn`` as ``method rule`` on ``bp`` and describe it in the OpenAPI document.

    ``roles`` is PUBLIC (None), ANY_USER (any signed-in user) or the roles allowed. ``text_body``
    names the media type of a raw body the view reads itself (``text/csv``); with both, the
    view gets ``body=None`` when the request is of that type. The view receives the body,
    validated against the component schema named by ``body``, as ``body``. A device token
    (one sensor, one unit) is refused everywhere except where ``devices`` is set.
    """

    def decorate(fn: Callable) -> Callable:
        @functools.wraps(fn)
        def view(**kwargs: Any) -> Any:
            if roles is not PUBLIC:
                authenticate()
                if g.actor is None and not devices:
                    raise NotPermitted("A device token may only post readings to its storage unit.")
                if roles and g.actor is not None and not g.actor.has_role(*roles):
                    raise NotPermitted(f"This needs the role {' or '.join(roles)}.")
            if body is not None:
                raw = text_body is not None and request.mimetype == text_body
                kwargs["body"] = None if raw else json_body(schemas.schema(body))
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
                text_body=text_body,
            )
        )
        return view

    return decorate
