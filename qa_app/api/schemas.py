"""JSON Schemas (OpenAPI 3.1 dialect) shared by validation and the OpenAPI document."""

from typing import Any

from qa_app.domain.compounding import WEIGHT_CHECK_MAX_MG
from qa_app.domain.formula_schema import FORMULA
from qa_app.validation import MAX_ID

ROLE_NAMES = ["technician", "reviewer", "admin", "inspector"]
ALERT_KIND_NAMES = ["excursion", "oos", "trend_signal", "lot_expiring", "batch_near_bud"]
# Checked by the service, so a wrong address or kind is a 400 naming ``email`` or ``alerts``.
_EMAIL = {"type": ["string", "null"], "maxLength": 1000}
_ALERT_KINDS = {"type": "array", "maxItems": 20, "items": {"type": "string", "maxLength": 40}}


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
            "email": {"type": ["string", "null"]},
            "alerts": {"type": "array", "items": {"type": "string", "enum": ALERT_KIND_NAMES}},
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
            "email": _EMAIL,
            "alerts": _ALERT_KINDS,
        },
        "additionalProperties": False,
    },
    "UserAlerts": {
        "type": "object",
        "description": "The e-mail address alerts go to (left out: kept as it is) and the kinds chosen: "
        + ", ".join(ALERT_KIND_NAMES)
        + ".",
        "required": ["alerts"],
        "properties": {"email": _EMAIL, "alerts": _ALERT_KINDS},
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


# --- materials, formulas, storage, batches (api.md "Endpoints" and "Shapes") ----------------

_SIGNED = {"signature": {"$ref": "#/components/schemas/Signature"}}
_REASON = {"type": "string", "minLength": 1, "maxLength": 2000}
_POSITIVE = {"type": "number", "exclusiveMinimum": 0}
_TIME = {"type": "string", "format": "date-time", "description": "ISO 8601 with an offset"}

COMPONENTS.update(
    {
        "Formula": FORMULA,
        "NewMaterial": {
            "type": "object",
            "required": ["code", "name", "kind"],
            "properties": {
                "code": {"type": "string", "minLength": 1, "maxLength": 40},
                "name": {"type": "string", "minLength": 1, "maxLength": 200},
                "kind": {"type": "string", "enum": ["api", "excipient", "container"]},
                "assay_min_percent": {
                    "type": "number",
                    "description": "an API's monograph lower limit, % on the anhydrous basis",
                },
                "assay_max_percent": {
                    "type": "number",
                    "description": "an API's monograph upper limit, % on the anhydrous basis",
                },
            },
            "additionalProperties": False,
        },
        "MaterialChange": {
            "type": "object",
            "properties": {
                "name": {"type": "string", "minLength": 1, "maxLength": 200},
                "assay_min_percent": {
                    "type": ["number", "null"],
                    "description": "an API's monograph lower limit, % anhydrous; null with the maximum for none",
                },
                "assay_max_percent": {
                    "type": ["number", "null"],
                    "description": "an API's monograph upper limit, % anhydrous; null with the minimum for none",
                },
            },
            "additionalProperties": False,
        },
        "Material": {
            "type": "object",
            "properties": {
                "code": {"type": "string"},
                "name": {"type": "string"},
                "kind": {"type": "string"},
                "assay_min_percent": {"type": ["number", "null"]},
                "assay_max_percent": {"type": ["number", "null"]},
            },
        },
        "NewLot": {
            "type": "object",
            "required": ["material", "lot_number", "supplier", "expiry_date"],
            "properties": {
                "material": {"type": "string", "minLength": 1, "maxLength": 40},
                "lot_number": {"type": "string", "minLength": 1, "maxLength": 100},
                "supplier": {"type": "string", "minLength": 1, "maxLength": 200},
                "expiry_date": {"type": "string", "format": "date"},
                "received_date": {"type": "string", "format": "date"},
                "assay_percent": {"type": "number"},
                "water_percent": {"type": "number"},
                "assay_basis": {
                    "type": "string",
                    "enum": ["as_is", "anhydrous"],
                    "description": "how the certificate states the assay; anhydrous needs water_percent",
                },
            },
            "additionalProperties": False,
        },
        "Lot": {
            "type": "object",
            "properties": {
                "barcode": {"type": "string"},
                "material": {"type": "string"},
                "lot_number": {"type": "string"},
                "supplier": {"type": "string"},
                "expiry_date": {"type": "string", "format": "date"},
                "status": {"type": "string", "enum": ["quarantine", "approved", "rejected"]},
                "usable": {"type": "boolean"},
                "reason": {"type": ["string", "null"]},
            },
        },
        "Signed": {
            "type": "object",
            "required": ["signature"],
            "properties": _SIGNED,
            "additionalProperties": False,
        },
        "SignedWithReason": {
            "type": "object",
            "required": ["signature", "reason"],
            "properties": {**_SIGNED, "reason": _REASON},
            "additionalProperties": False,
        },
        "FormulaVersion": {
            "type": "object",
            "properties": {
                "code": {"type": "string"},
                "version": {"type": "integer"},
                "status": {"type": "string", "enum": ["draft", "approved", "superseded"]},
                "body": {"$ref": "#/components/schemas/Formula"},
                "broken_rules": {
                    "type": "array",
                    "items": {"type": "string"},
                    "description": "Preparation rules (domain.md §3) this version breaks; "
                    "an approved version that breaks one makes no new batch",
                },
            },
        },
        "NewStorageUnit": {
            "type": "object",
            "required": ["code", "name", "condition"],
            "properties": {
                "code": {"type": "string", "minLength": 1, "maxLength": 40},
                "name": {"type": "string", "minLength": 1, "maxLength": 200},
                "condition": {"type": "string", "enum": ["room", "refrigerated", "freezer"]},
                "min_c": {"type": "number", "minimum": -80, "maximum": 80},
                "max_c": {"type": "number", "minimum": -80, "maximum": 80},
                "alarm_delay_minutes": {"type": "integer", "minimum": 0, "maximum": 60},
            },
            "additionalProperties": False,
        },
        "StorageUnit": {
            "type": "object",
            "properties": {"code": {"type": "string"}, "condition": {"type": "string"}},
        },
        "NewBatch": {
            "type": "object",
            "required": ["formula"],
            "properties": {
                "formula": {"type": "string", "minLength": 1, "maxLength": 40},
                "strength_mg": {"type": "number"},
                "quantity": {
                    "type": "number",
                    "description": "capsules, mL or g; required except for triturations",
                },
                "quantity_mg": {"type": "number", "description": "a trituration's total mass, in mg"},
                "concentration_mg_per_ml": _POSITIVE,
                "dose_volume_ml": _POSITIVE,
                "concentration_mg_per_g": _POSITIVE,
                "dose_g": _POSITIVE,
                "api_lot": {"type": "string", "minLength": 1, "maxLength": 60},
                "compounded_at": _TIME,
            },
            "additionalProperties": False,
        },
        "NewComponent": {
            "type": "object",
            "required": ["barcode"],
            "properties": {
                "barcode": {"type": "string", "minLength": 1, "maxLength": 60},
                "quantity_mg": _POSITIVE,
                "count": {"type": "integer", "minimum": 1, "maximum": 1_000_000},
                "balance": {"type": "string", "maxLength": 60},
                "deviation_reason": {"type": "string", "maxLength": 2000},
            },
            "additionalProperties": False,
        },
        "WeightCheckRequest": {
            "type": "object",
            "required": ["weights_mg"],
            "properties": {
                "weights_mg": {
                    "type": "array",
                    "minItems": 1,
                    "maxItems": 1000,
                    "items": {**_POSITIVE, "maximum": WEIGHT_CHECK_MAX_MG},
                },
                "reason": {"type": "string", "maxLength": 2000},
            },
            "additionalProperties": False,
        },
        "CompleteRequest": {
            "type": "object",
            "required": ["actual_yield", "storage_unit"],
            "properties": {
                "actual_yield": {"type": "number", "minimum": 0},
                "storage_unit": {"type": "string", "minLength": 1, "maxLength": 40},
                "at": _TIME,
                "deviation_reason": {"type": "string", "maxLength": 2000},
            },
            "additionalProperties": False,
        },
        "DiscardRequest": {
            "type": "object",
            "required": ["reason"],
            "properties": {"reason": _REASON},
            "additionalProperties": False,
        },
        "MoveRequest": {
            "type": "object",
            "required": ["storage_unit"],
            "properties": {"storage_unit": {"type": "string", "minLength": 1, "maxLength": 40}, "at": _TIME},
            "additionalProperties": False,
        },
        "Batch": {
            "type": "object",
            "required": ["lot_number", "status", "expired", "formula", "strength_mg", "quantity", "bud"],
            "properties": {
                "lot_number": {"type": "string"},
                "status": {"type": "string"},
                "expired": {"type": "boolean"},
                "formula": {"type": "object"},
                "dosage_form": {"type": "string"},
                "strength_mg": {"type": ["number", "null"], "description": "null for a trituration"},
                "quantity": {"type": "number"},
                "quantity_mg": {"type": "number", "description": "a trituration's total mass"},
                "concentration_percent": {"type": "number", "description": "a trituration's % w/w"},
                "produced_lot": {"type": ["string", "null"], "description": "the lot a trituration made"},
                "chain": {
                    "type": "array",
                    "description": "the lots behind the API: trituration lot, API lot",
                },
                "compounded_at": {"type": "string"},
                "compounded_by": {"type": "string"},
                "bud": {"type": "string", "format": "date"},
                "bud_reason": {"type": "string"},
                "storage_unit": {"type": ["string", "null"]},
                "calculation": {"type": "object"},
                "components": {"type": "array"},
                "results": {"type": "array"},
                "holds": {"type": "array"},
                "signatures": {"type": "array"},
                "certificate": {"type": ["object", "null"]},
            },
        },
    }
)


COMPONENTS.update(
    {
        "NewResult": {
            "type": "object",
            "required": ["test"],
            "properties": {
                "test": {"type": "string", "minLength": 1, "maxLength": 40},
                "value": {"type": ["number", "string"], "description": "a number, or the observed text"},
                "values": {"type": "array", "maxItems": 1000, "items": {"type": "number"}},
                "method": {"type": "string", "maxLength": 200},
                "analyst": {"type": "string", "maxLength": 200},
                "tested_at": _TIME,
            },
            "additionalProperties": False,
        },
        "Result": {
            "type": "object",
            "required": ["id", "test", "valid", "evaluation"],
            "properties": {
                "id": {"type": "integer"},
                "test": {"type": "string"},
                "value": {},
                "values": {"type": "array", "items": {"type": "number"}},
                "method": {"type": "string"},
                "analyst": {"type": "string"},
                "tested_at": {"type": "string"},
                "source": {"type": "string", "enum": ["entered", "imported", "api"]},
                "valid": {"type": "boolean"},
                "evaluation": {"type": "object"},
            },
        },
        "ImportSummary": {
            "type": "object",
            "properties": {
                "results": {"type": "integer"},
                "rows": {"type": "integer"},
                "batches": {"type": "array", "items": {"type": "string"}},
            },
        },
        "NewInvestigation": {
            "type": "object",
            "required": ["result_id", "retests_allowed"],
            "properties": {
                "result_id": {"type": "integer", "minimum": 1, "maximum": MAX_ID},
                "retests_allowed": {"type": "integer", "minimum": 0, "maximum": 10},
            },
            "additionalProperties": False,
        },
        "CloseInvestigation": {
            "type": "object",
            "required": ["signature", "phase", "assignable_cause", "conclusion"],
            "properties": {
                **_SIGNED,
                "phase": {"type": "string", "enum": ["I", "II"]},
                "assignable_cause": {"type": "string", "enum": ["laboratory", "manufacturing", "none"]},
                "cause": {"type": "string", "maxLength": 2000},
                "conclusion": {"type": "string", "minLength": 1, "maxLength": 4000},
            },
            "additionalProperties": False,
        },
        "Investigation": {
            "type": "object",
            "properties": {"id": {"type": "integer"}, "status": {"type": "string"}},
        },
    }
)

COMPONENTS.update(
    {
        "NewReadings": {
            "type": "object",
            "required": ["readings"],
            "properties": {
                "readings": {
                    "type": "array",
                    "minItems": 1,
                    "description": "[{at: ISO 8601 time with an offset, temperature_c: number}]; "
                    "each row is checked and every bad row named",
                    "items": {"type": "object"},
                }
            },
            "additionalProperties": False,
        },
        "ReadingsAccepted": {
            "type": "object",
            "properties": {"accepted": {"type": "integer"}, "duplicates": {"type": "integer"}},
        },
        "TemperatureSummary": {
            "type": "object",
            "properties": {
                "count": {"type": "integer"},
                "min_c": {"type": ["number", "null"]},
                "max_c": {"type": ["number", "null"]},
                "mean_c": {"type": ["number", "null"]},
                "mkt_c": {"type": ["number", "null"]},
                "gaps": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "start": {"type": "string"},
                            "end": {"type": "string"},
                            "minutes": {"type": "number"},
                        },
                    },
                },
                "excursions": {"type": "array", "items": {"$ref": "#/components/schemas/Excursion"}},
            },
        },
        "Excursion": {
            "type": "object",
            "properties": {
                "id": {"type": "integer"},
                "storage_unit": {"type": "string"},
                "start": {"type": "string"},
                "end": {"type": ["string", "null"]},
                "classification": {"type": "string", "enum": ["allowable", "needs_disposition"]},
                "reason": {"type": ["string", "null"]},
                "gap_minutes": {"type": "number"},
                "state": {
                    "type": "string",
                    "enum": ["allowable", "needs_disposition", "dispositioned", "withdrawn"],
                },
                "affected_batches": {"type": "array", "items": {"type": "string"}},
            },
        },
        "Acknowledgement": {
            "type": "object",
            "required": ["comment"],
            "properties": {"comment": {"type": "string", "minLength": 1, "maxLength": 4000}},
            "additionalProperties": False,
        },
        "NewDisposition": {
            "type": "object",
            "required": ["signature", "excursion_id", "decision", "comment"],
            "properties": {
                **_SIGNED,
                "excursion_id": {"type": "integer", "minimum": 1, "maximum": MAX_ID},
                "decision": {"type": "string", "enum": ["acceptable", "reject"]},
                "comment": {"type": "string", "minLength": 1, "maxLength": 4000},
            },
            "additionalProperties": False,
        },
        "Disposition": {
            "type": "object",
            "properties": {"id": {"type": "integer"}, "decision": {"type": "string"}},
        },
        "NewDeviceToken": {
            "type": "object",
            "required": ["label"],
            "properties": {"label": {"type": "string", "minLength": 1, "maxLength": 200}},
            "additionalProperties": False,
        },
        "DeviceToken": {
            "type": "object",
            "properties": {
                "id": {"type": "integer"},
                "label": {"type": "string"},
                "token": {"type": "string", "description": "the secret, shown once when made"},
            },
        },
    }
)


_CHECK_ITEM = {
    "type": "object",
    "required": ["key", "label", "ok", "detail"],
    "properties": {
        "key": {"type": "string"},
        "label": {"type": "string"},
        "ok": {"type": "boolean"},
        "detail": {"type": "string"},
        "lines": {"type": "array", "items": {"type": "string"}},
    },
}
_CERTIFICATE_REF = {
    "type": ["object", "null"],
    "properties": {
        "number": {"type": "string"},
        "version": {"type": "integer"},
        "status": {"type": "string", "enum": ["valid", "superseded", "revoked"]},
        "sha256": {"type": "string"},
    },
}

COMPONENTS.update(
    {
        "Review": {
            "type": "object",
            "required": ["lot_number", "status", "ready", "items"],
            "properties": {
                "lot_number": {"type": "string"},
                "status": {"type": "string"},
                "ready": {"type": "boolean"},
                "items": {"type": "array", "items": _CHECK_ITEM},
                "unmet": {"type": "array", "items": {"type": "string"}},
                "deviations": {"type": "array", "items": {"type": "string"}},
                "steps": {"type": "array", "items": {"type": "object"}},
                "decisions": {"type": "array", "items": {"type": "object"}},
                "certificate": _CERTIFICATE_REF,
            },
        },
        "CertificateStatus": {
            "type": "object",
            "required": ["number", "status", "sha256"],
            "description": "The other fields only with the certificate's verification code (``code``).",
            "properties": {
                "number": {"type": "string"},
                "version": {"type": "integer"},
                "lot_number": {"type": "string"},
                "status": {"type": "string", "enum": ["valid", "superseded", "revoked"]},
                "sha256": {"type": "string"},
                "issued_at": {"type": "string", "format": "date-time"},
                "product": {"type": ["string", "null"]},
                "bud": {"type": "string", "format": "date"},
                "revoked_at": {"type": ["string", "null"]},
                "revoked_reason": {"type": ["string", "null"], "description": "why it was revoked"},
            },
        },
    }
)


# --- balances (USP <41>) and their daily performance checks ------------------------------------

_FIGURE = {
    "type": "number",
    "description": "in the unit the name ends with; the service names a value out of range",
}
_BALANCE_CHECK = {
    "type": "object",
    "required": ["passed", "error_percent", "local_date"],
    "properties": {
        "id": {"type": "integer"},
        "balance": {"type": "string"},
        "nominal_mg": {"type": "number"},
        "observed_mg": {"type": "number"},
        "error_percent": {"type": "number", "description": "(reading − test weight) / test weight × 100"},
        "passed": {"type": "boolean"},
        "reason": {"type": ["string", "null"], "description": "why the check failed, and what to do"},
        "local_date": {"type": "string", "format": "date", "description": "the day the check counts for"},
        "recorded_by": {"type": "string"},
        "recorded_at": {"type": "string", "format": "date-time"},
    },
}

COMPONENTS.update(
    {
        "NewBalance": {
            "type": "object",
            "required": ["code", "name", "readability_mg", "repeatability_sd_mg", "capacity_g"],
            "properties": {
                "code": {"type": "string", "maxLength": 40},
                "name": {"type": "string", "maxLength": 200},
                "readability_mg": _FIGURE,
                "repeatability_sd_mg": {**_FIGURE, "description": "s of ≥ 10 replicate weighings (USP <41>)"},
                "capacity_g": _FIGURE,
                "qualified_on": {
                    "type": ["string", "null"],
                    "format": "date",
                    "description": "the date of the USP <41> repeatability test",
                },
            },
            "additionalProperties": False,
        },
        "BalanceChange": {
            "type": "object",
            "properties": {
                "name": {"type": "string", "maxLength": 200},
                "readability_mg": _FIGURE,
                "repeatability_sd_mg": _FIGURE,
                "capacity_g": _FIGURE,
                "qualified_on": {"type": ["string", "null"], "format": "date"},
                "active": {"type": "boolean", "description": "false takes the balance out of use"},
                "reason": {"type": "string", "maxLength": 2000, "description": "why, for the audit trail"},
            },
            "additionalProperties": False,
        },
        "Balance": {
            "type": "object",
            "required": ["code", "name", "minimum_weight_mg", "usable", "usable_reason", "last_check"],
            "properties": {
                "code": {"type": "string"},
                "name": {"type": "string"},
                "readability_mg": {"type": "number"},
                "repeatability_sd_mg": {"type": "number"},
                "capacity_g": {"type": "number"},
                "qualified_on": {"type": ["string", "null"], "format": "date"},
                "active": {"type": "boolean"},
                "minimum_weight_mg": {"type": "number", "description": "2000 × max(s, 0.41 d), one decimal"},
                "usable": {"type": "boolean", "description": "in use, and today's latest check passed"},
                "usable_reason": {"type": ["string", "null"]},
                "last_check": {
                    "oneOf": [_BALANCE_CHECK, {"type": "null"}],
                    "description": "today's latest check",
                },
                "checks": {
                    "type": "array",
                    "items": _BALANCE_CHECK,
                    "description": "newest first, up to 60 (one balance only)",
                },
            },
        },
        "NewBalanceCheck": {
            "type": "object",
            "required": ["nominal_mg", "observed_mg"],
            "properties": {
                "nominal_mg": {"type": "number", "description": "the test weight, 5–100 % of the capacity"},
                "observed_mg": {"type": "number", "description": "what the balance read"},
            },
            "additionalProperties": False,
        },
        "BalanceCheck": _BALANCE_CHECK,
    }
)
