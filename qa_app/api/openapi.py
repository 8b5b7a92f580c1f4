"""The OpenAPI 3.1 document, built from the operations the API registered."""

import re
from typing import Any

from qa_app.api.registry import OPERATIONS, PUBLIC, Operation
from qa_app.api.schemas import COMPONENTS, ref

ERROR_TEXT = {
    400: "Malformed or invalid input; `fields` names each bad field.",
    401: "Not authenticated, or a wrong signing password.",
    403: "The role, or segregation of duties, forbids it.",
    404: "No such record.",
    409: "Not allowed in the record's current state, or a clash with stored data.",
    413: "The body is larger than 32 MiB.",
    429: "Too many requests from this address; wait the seconds given in Retry-After.",
}


def _operation(op: Operation) -> dict[str, Any]:
    who = (
        "Anyone."
        if op.roles is PUBLIC
        else "Any signed-in user."
        if not op.roles
        else "Role: " + " or ".join(op.roles) + "."
    )
    out: dict[str, Any] = {
        "operationId": op.endpoint.replace(".", "_"),
        "summary": op.summary,
        "description": f"{op.description}\n\n{who}".strip(),
        "tags": [op.tag],
        "responses": {},
    }
    params = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in _path_names(op.openapi_path)
    ]
    params += [{"in": "query", **q} for q in op.query]
    if params:
        out["parameters"] = params
    if op.body:
        out["requestBody"] = {"required": True, "content": {"application/json": {"schema": ref(op.body)}}}
    if op.text_body:
        content = out.get("requestBody", {}).get("content", {})
        content[op.text_body] = {"schema": {"type": "string"}}
        out["requestBody"] = {"required": True, "content": content}
    success: dict[str, Any] = {"description": "Success."}
    if op.response is not None:
        success["content"] = {t: {"schema": op.response} for t in op.response_types}
    out["responses"][str(op.status)] = success
    codes = set(op.errors) | ({400, 413} if op.body or op.text_body or op.query else set())
    if op.roles is not PUBLIC:
        out["security"] = [{"bearer": []}]
        codes |= {401} | ({403} if op.roles else set())
    for code in sorted(codes):
        out["responses"][str(code)] = {
            "description": ERROR_TEXT[code],
            "content": {"application/json": {"schema": ref("Error")}},
        }
    return out


def _path_names(path: str) -> list[str]:
    return re.findall(r"{([^{}/]+)}", path)  # also a name inside a segment: {year}.pdf


def build_document(title: str, version: str = "1.0.0") -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for op in OPERATIONS:
        paths.setdefault(op.openapi_path, {})[op.method] = _operation(op)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": title,
            "version": version,
            "description": "Batch quality assurance for compounded Low Dose Naltrexone.",
        },
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": COMPONENTS,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
