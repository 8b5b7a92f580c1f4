"""The shape of a master formula (api.md "Formula"), as JSON Schema (OpenAPI 3.1 dialect).

Structure only; the rules that need several fields at once (one API component, a strength range
inside 0.5–4.5 mg, limits in order) are checked by the formula service.
"""

from typing import Any

DOSAGE_FORMS = ("capsule", "oral_liquid", "sublingual_drops", "cream", "trituration")
PREPARATION_FORMS = ("capsule", "oral_liquid", "sublingual_drops", "cream")
"""Dosage forms dispensed to patients; a trituration is a stock dilution used to make them."""
LIQUID_FORMS = ("oral_liquid", "sublingual_drops")
ROUTES = {
    "capsule": "oral",
    "oral_liquid": "oral",
    "sublingual_drops": "sublingual",
    "cream": "topical",
    "trituration": "for compounding only",
}
"""The route of administration a label states for each dosage form (USP <795> labelling)."""
COMPONENT_ROLES = ("api", "filler", "vehicle", "container")
TEST_KINDS = ("range", "content_uniformity", "attribute")
BUD_CATEGORY_NAMES = (
    "aqueous_nonpreserved",
    "aqueous_preserved",
    "nonaqueous_oral_liquid",
    "nonaqueous_other",
)

_text = {"type": "string", "maxLength": 2000}
_number = {"type": "number"}

TEST: dict[str, Any] = {
    "type": "object",
    "required": ["key", "kind"],
    "properties": {
        "key": {"type": "string", "pattern": "^[a-z][a-z0-9_]{0,39}$"},
        "kind": {"type": "string", "enum": list(TEST_KINDS)},
        "unit": {"type": "string", "maxLength": 40},
        "method": {"type": "string", "maxLength": 200},
        "required": {"type": "boolean"},
        "min": _number,
        "max": _number,
        "decimals": {"type": "integer", "minimum": 0, "maximum": 4},
        "warn_min": _number,
        "warn_max": _number,
        "target": {"type": "number", "minimum": 90, "maximum": 110},
        "expected": {"type": "string", "maxLength": 500},
    },
    "additionalProperties": False,
}

FORMULA: dict[str, Any] = {
    "type": "object",
    "required": [
        "code",
        "name",
        "dosage_form",
        "components",
        "storage",
        "bud",
    ],
    "properties": {
        "code": {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$"},
        "name": {"type": "string", "minLength": 1, "maxLength": 200},
        "description": _text,
        "dosage_form": {"type": "string", "enum": list(DOSAGE_FORMS)},
        "strength_min_mg": _number,
        "strength_max_mg": _number,
        "concentration_percent": {"type": "number", "exclusiveMinimum": 0, "maximum": 50},
        "produces": {"type": "string", "minLength": 1, "maxLength": 40},
        "components": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["material", "role"],
                "properties": {
                    "material": {"type": "string", "minLength": 1, "maxLength": 40},
                    "role": {"type": "string", "enum": list(COMPONENT_ROLES)},
                },
                "additionalProperties": False,
            },
        },
        "fill_weight_mg": {"type": "number", "exclusiveMinimum": 0, "maximum": 2000},
        "capsule_size": {"type": "string", "maxLength": 10},
        "overage_percent": {"type": "number", "minimum": 0, "maximum": 20},
        "weighing_tolerance_percent": {"type": "number", "exclusiveMinimum": 0, "maximum": 10},
        "steps": {"type": "array", "items": _text},
        "equipment": {"type": "array", "items": {"type": "string", "maxLength": 200}},
        "container": {"type": "string", "maxLength": 200},
        "label_text": _text,
        "storage": {"type": "string", "enum": ["room", "refrigerated"]},
        "bud": {
            "oneOf": [
                {
                    "type": "object",
                    "required": ["category"],
                    "properties": {"category": {"type": "string", "enum": list(BUD_CATEGORY_NAMES)}},
                    "additionalProperties": False,
                },
                {
                    "type": "object",
                    "required": ["days", "reference"],
                    "properties": {
                        "days": {"type": "integer", "minimum": 1, "maximum": 3650},
                        "reference": {"type": "string", "minLength": 3, "maxLength": 500},
                    },
                    "additionalProperties": False,
                },
            ]
        },
        "specification": {
            "type": "object",
            "required": ["tests"],
            "properties": {"tests": {"type": "array", "minItems": 1, "items": TEST}},
            "additionalProperties": False,
        },
    },
    "additionalProperties": False,
}


def default_specification(dosage_form: str) -> dict[str, Any]:
    """The LDN defaults: assay 90.0–110.0 % LC; USP <905> for capsules; appearance. A trituration's
    default is its appearance (a uniform powder, checked before its lot is approved)."""
    if dosage_form == "trituration":
        return {
            "tests": [
                {
                    "key": "appearance",
                    "kind": "attribute",
                    "unit": "",
                    "method": "Visual",
                    "required": True,
                    "expected": "Uniform white to off-white powder",
                }
            ]
        }
    tests: list[dict[str, Any]] = [
        {
            "key": "assay",
            "kind": "range",
            "unit": "% LC",
            "method": "HPLC",
            "required": True,
            "min": 90.0,
            "max": 110.0,
            "decimals": 1,
        },
    ]
    if dosage_form == "capsule":
        tests.append(
            {
                "key": "content_uniformity",
                "kind": "content_uniformity",
                "unit": "% LC",
                "method": "USP <905>",
                "required": True,
                "target": 100.0,
            }
        )
    tests.append(
        {
            "key": "appearance",
            "kind": "attribute",
            "unit": "",
            "method": "Visual",
            "required": True,
            "expected": "Conforms to description",
        }
    )
    return {"tests": tests}
