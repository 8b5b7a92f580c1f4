"""JSON Schemas (OpenAPI 3.1 dialect) shared by validation and the OpenAPI document."""

from typing import Any

ROLE_NAMES = ["technician", "reviewer", "admin", "inspector"]


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def page_of(item: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["items", "page", "per_page", "total"],
        "properties": {
            "items": {"type": "array", "items": item},
            "page": {"type": "integer", "minimum": 1},
            "per_page": {"type": "integer", "minimum": 1, "maximum": 200},
            "total": {"type": "integer", "minimum": 0},
        },
    }


SIGNATURE = {
    "type": "object",
    "description": "Both components again at every signing; the meaning is fixed by the action.",
    "required": ["username", "password", "meaning"],
    "properties": {
        "username": {"type": "string", "minLength": 1},
        "password": {"type": "string", "minLength": 1},
        "meaning": {
            "type": "string",
            "enum": ["approved", "rejected", "verified", "reviewed", "released", "recalled"],
        },
    },
}

COMPONENTS: dict[str, dict[str, Any]] = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {
                    "code": {"type": "string"},
                    "message": {"type": "string"},
                    "fields": {"type": "object", "additionalProperties": {"type": "string"}},
                    "rows": {"type": "array", "items": {"type": "object"}},
                },
            }
        },
    },
    "Signature": SIGNATURE,
    "Health": {
        "type": "object",
        "required": ["status", "database"],
        "properties": {"status": {"type": "string"}, "database": {"type": "string"}},
    },
    "TokenRequest": {
        "type": "object",
        "required": ["username", "password"],
        "properties": {
            "username": {"type": "string", "minLength": 1, "maxLength": 64},
            "password": {"type": "string", "minLength": 1, "maxLength": 1024},
        },
        "additionalProperties": False,
    },
    "Token": {
        "type": "object",
        "required": ["token", "expires_at"],
        "properties": {"token": {"type": "string"}, "expires_at": {"type": "string", "format": "date-time"}},
    },
    "User": {
        "type": "object",
        "required": ["username", "full_name", "roles", "active", "locked"],
        "properties": {
            "username": {"type": "string"},
            "full_name": {"type": "string"},
            "roles": {"type": "array", "items": {"type": "string", "enum": ROLE_NAMES}},
            "active": {"type": "boolean"},
            "locked": {"type": "boolean"},
            "locked_until": {"type": ["string", "null"], "format": "date-time"},
            "created_at": {"type": "string", "format": "date-time"},
        },
    },
    "NewUser": {
        "type": "object",
        "required": ["username", "full_name", "roles", "password"],
        "properties": {
            "username": {"type": "string", "minLength": 3, "maxLength": 64},
            "full_name": {"type": "string", "minLength": 1, "maxLength": 200},
            "roles": {"type": "array", "minItems": 1, "items": {"type": "string", "enum": ROLE_NAMES}},
            "password": {"type": "string", "minLength": 12, "maxLength": 1024},
        },
        "additionalProperties": False,
    },
    "Reason": {
        "type": "object",
        "properties": {"reason": {"type": "string", "maxLength": 2000}},
        "additionalProperties": False,
    },
    "AuditEvent": {
        "type": "object",
        "required": ["seq", "occurred_at", "action", "entity_type", "entity_key", "hash"],
        "properties": {
            "seq": {"type": "integer"},
            "occurred_at": {"type": "string", "format": "date-time"},
            "username": {"type": ["string", "null"]},
            "action": {"type": "string"},
            "entity_type": {"type": "string"},
            "entity_key": {"type": "string"},
            "old_values": {"type": ["object", "null"]},
            "new_values": {"type": ["object", "null"]},
            "reason": {"type": ["string", "null"]},
            "client_address": {"type": ["string", "null"]},
            "prev_hash": {"type": "string"},
            "hash": {"type": "string"},
        },
    },
    "AuditVerify": {
        "type": "object",
        "required": ["ok", "checked", "first_bad"],
        "properties": {
            "ok": {"type": "boolean"},
            "checked": {"type": "integer"},
            "first_bad": {"type": ["integer", "null"]},
        },
    },
}


def schema(name: str) -> dict[str, Any]:
    """A component schema made self-contained for validation (``$ref``s resolved inline)."""
    return _inline(COMPONENTS[name])


def _inline(node: Any) -> Any:
    if isinstance(node, dict):
        if "$ref" in node:
            return _inline(COMPONENTS[node["$ref"].rsplit("/", 1)[1]])
        return {k: _inline(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_inline(v) for v in node]
    return node
