"""Valid requests to start from: for each JSON operation, CSV upload and form, who sends it, on
which fresh record, with which values. The hostile-input tests put one hostile value into one
field of such a request at a time, so the value reaches the services, not only the first check.

An operation or a form missing here is still fuzzed: a body made from its schema, the page's
own defaults, on the standing records of the world.
"""

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from qa_app.api.registry import OPERATIONS, PUBLIC
from qa_app.services import balances, batches, clock
from tests.builders import capsule_formula_body, user
from tests.conftest import PASSWORD, ROLE_USERS
from tests.fuzz.conftest import LOGGER_UNIT, World, served_document
from tests.fuzz.records import CU_PASSING, RELEASER, Records, unique

DOCUMENT = served_document()
COMPONENTS = DOCUMENT["components"]["schemas"]
USERS = {role: username for role, (username, _name) in ROLE_USERS.items()}
ROLES = {(op.method, op.openapi_path): op.roles for op in OPERATIONS}
READINGS_CLOCK = (datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=n) for n in range(10**6))
CSV_HEADER = "lot_number,test,value,replicate,method,analyst,tested_at"


def sig(username: str, meaning: str) -> dict[str, str]:
    return {"username": username, "password": PASSWORD, "meaning": meaning}


def now() -> str:
    return datetime.now(UTC).isoformat()


# --- JSON bodies ------------------------------------------------------------------------------

SPECIFICATION = {
    "tests": [
        {
            "key": "assay",
            "kind": "range",
            "unit": "% LC",
            "method": "HPLC-UV",
            "required": True,
            "min": 90.0,
            "max": 110.0,
            "decimals": 1,
            "warn_min": 92.0,
            "warn_max": 108.0,
        },
        {"key": "content_uniformity", "kind": "content_uniformity", "target": 100.0, "required": True},
        {"key": "appearance", "kind": "attribute", "expected": "White opaque capsules", "required": True},
    ]
}

Target = Callable[[Records], tuple[str, dict[str, Any], dict[str, Any]]]


def _component(make: Records) -> tuple[str, dict, dict]:
    lot = make.draft()
    api_mg = batches.get_batch(lot).calculation["api_mg"]
    body = {
        "barcode": make.lots["api"],
        "quantity_mg": api_mg,
        "balance": "XS205",
        "deviation_reason": "None",
    }
    return "tina", {"lot_number": lot}, body


BALANCE_FIGURES = {"readability_mg": 0.01, "repeatability_sd_mg": 0.003, "capacity_g": 220.0}


def fresh_balance(make: Records) -> str:
    """A balance of its own, so that hostile figures and failed checks leave XS205 usable."""
    code = unique("BAL-")
    balances.create_balance(user("ada"), code=code, name="Fuzzed balance", **BALANCE_FIGURES)
    return code


def _investigation(make: Records) -> tuple[str, dict, dict]:
    lot, result_id = make.failing()
    return "rob", {"lot_number": lot}, {"result_id": result_id, "retests_allowed": 1}


def _close(make: Records) -> tuple[str, dict, dict]:
    _lot, investigation = make.investigation()
    body = {
        "signature": sig("rob", "reviewed"),
        "phase": "II",
        "assignable_cause": "manufacturing",
        "cause": "Blending time too short",
        "conclusion": "The batch is rejected",
    }
    return "rob", {"investigation_id": investigation}, body


def _disposition(make: Records) -> tuple[str, dict, dict]:
    _unit, lot, excursion = make.held_by_excursion()
    body = {
        "signature": sig("rob", "reviewed"),
        "excursion_id": excursion,
        "decision": "acceptable",
        "comment": "MKT within limits",
    }
    return "rob", {"lot_number": lot}, body


def _new_version(make: Records) -> tuple[str, dict, dict]:
    code = make.approved_formula()
    return "ada", {"code": code}, capsule_formula_body(code=code, specification=SPECIFICATION)


# (method, OpenAPI path) → who sends it, with which path parameters and which valid body.
API_TARGETS: dict[tuple[str, str], Target] = {
    ("post", "/api/v1/tokens"): lambda make: ("", {}, {"username": "ivan", "password": PASSWORD}),
    ("post", "/api/v1/users"): lambda make: (
        "ada",
        {},
        {
            "username": unique("user-"),
            "full_name": "New Person",
            "roles": ["technician"],
            "password": PASSWORD,
        },
    ),
    ("post", "/api/v1/users/{username}/deactivate"): lambda make: (
        "ada",
        {"username": make.account()},
        {"reason": "Left"},
    ),
    ("post", "/api/v1/materials"): lambda make: (
        "ada",
        {},
        {"code": unique("MAT-"), "name": "Lactose monohydrate", "kind": "excipient"},
    ),
    ("patch", "/api/v1/materials/{code}"): lambda make: (
        "ada",
        {"code": "NTX-HCL"},
        {"name": "Naltrexone hydrochloride USP", "assay_min_percent": 98.0, "assay_max_percent": 102.0},
    ),
    ("post", "/api/v1/material-lots"): lambda make: (
        "tina",
        {},
        {
            "material": "NTX-HCL",
            "lot_number": unique("SUP-"),
            "supplier": "Medisca",
            "expiry_date": "2030-06-30",
            "received_date": datetime.now(UTC).date().isoformat(),
            "assay_percent": 99.0,
            "water_percent": 0.5,
        },
    ),
    ("post", "/api/v1/material-lots/{barcode}/approve"): lambda make: (
        "rob",
        {"barcode": make.material_lot()},
        {"signature": sig("rob", "approved")},
    ),
    ("post", "/api/v1/material-lots/{barcode}/reject"): lambda make: (
        "rob",
        {"barcode": make.material_lot()},
        {"signature": sig("rob", "rejected"), "reason": "Torn bag"},
    ),
    ("post", "/api/v1/material-lots/{barcode}/recall"): lambda make: (
        "rob",
        {"barcode": make.material_lot()},
        {"signature": sig("rob", "recalled"), "reason": "Supplier recall notice"},
    ),
    ("put", "/api/v1/users/{username}/alerts"): lambda make: (
        "ada",
        {"username": make.account()},
        {"email": "person@pharmacy.example", "alerts": ["oos", "excursion"]},
    ),
    ("post", "/api/v1/formulas"): lambda make: (
        "ada",
        {},
        capsule_formula_body(code=unique("F-"), specification=SPECIFICATION),
    ),
    ("post", "/api/v1/formulas/{code}/versions"): _new_version,
    ("post", "/api/v1/formulas/{code}/reviews"): lambda make: (
        "rob",
        {"code": make.formula_with_batch()},
        {"year": clock.today().year, "conclusions": "In control.", "signature": sig("rob", "reviewed")},
    ),
    ("post", "/api/v1/formulas/{code}/approve"): lambda make: (
        "rob",
        {"code": make.draft_formula()},
        {"signature": sig("rob", "approved")},
    ),
    ("post", "/api/v1/storage-units"): lambda make: (
        "ada",
        {},
        {
            "code": unique("U-"),
            "name": "Second shelf",
            "condition": "room",
            "min_c": 20.0,
            "max_c": 25.0,
            "alarm_delay_minutes": 30,
        },
    ),
    ("post", "/api/v1/storage-units/{code}/device-tokens"): lambda make: (
        "ada",
        {"code": "SHELF-1"},
        {"label": "Shelf logger 2"},
    ),
    ("post", "/api/v1/storage-units/{code}/readings"): lambda make: (
        "tina",
        {"code": LOGGER_UNIT},
        {"readings": [{"at": next(READINGS_CLOCK).isoformat(), "temperature_c": 21.5}]},
    ),
    ("post", "/api/v1/balances"): lambda make: (
        "ada",
        {},
        {"code": unique("BAL-"), "name": "Bench balance", **BALANCE_FIGURES, "qualified_on": "2026-01-15"},
    ),
    ("patch", "/api/v1/balances/{code}"): lambda make: (
        "ada",
        {"code": fresh_balance(make)},
        {
            "name": "Bench balance",
            **BALANCE_FIGURES,
            "qualified_on": "2026-01-15",
            "active": True,
            "reason": "Test",
        },
    ),
    ("post", "/api/v1/balances/{code}/checks"): lambda make: (
        "tina",
        {"code": fresh_balance(make)},
        {"nominal_mg": 100000.0, "observed_mg": 100000.0},
    ),
    ("post", "/api/v1/batches"): lambda make: (
        "tina",
        {},
        {"formula": "LDN-CAP", "strength_mg": 1.5, "quantity": 100, "api_lot": make.lots["api"]},
    ),
    ("post", "/api/v1/batches/{lot_number}/components"): _component,
    ("post", "/api/v1/batches/{lot_number}/verify-weighing"): lambda make: (
        "rob",
        {"lot_number": make.weighed()},
        {"signature": sig("rob", "verified")},
    ),
    ("post", "/api/v1/batches/{lot_number}/weight-check"): lambda make: (
        "tina",
        {"lot_number": make.weighed()},
        {"weights_mg": [225.0] * 10},
    ),
    ("post", "/api/v1/batches/{lot_number}/complete"): lambda make: (
        "tina",
        {"lot_number": make.ready_to_complete()},
        {"actual_yield": 100, "storage_unit": "SHELF-1", "at": now(), "deviation_reason": "None"},
    ),
    ("post", "/api/v1/batches/{lot_number}/discard"): lambda make: (
        "tina",
        {"lot_number": make.draft()},
        {"reason": "Spilled"},
    ),
    ("post", "/api/v1/batches/{lot_number}/move"): lambda make: (
        "tina",
        {"lot_number": make.quarantined()},
        {"storage_unit": "FRIDGE-1", "at": now()},
    ),
    ("post", "/api/v1/batches/{lot_number}/results"): lambda make: (
        "tina",
        {"lot_number": make.quarantined()},
        {"test": "assay", "value": 99.5, "method": "HPLC-UV", "analyst": "J. Lab", "tested_at": now()},
    ),
    ("post", "/api/v1/batches/{lot_number}/investigations"): _investigation,
    ("post", "/api/v1/investigations/{investigation_id}/close"): _close,
    ("post", "/api/v1/batches/{lot_number}/dispositions"): _disposition,
    ("post", "/api/v1/trend-signals/{signal_id}/acknowledge"): lambda make: (
        "rob",
        {"signal_id": make.trend_signal()},
        {"comment": "Assay method checked"},
    ),
    ("post", "/api/v1/excursions/{excursion_id}/acknowledge"): lambda make: (
        "rob",
        {"excursion_id": make.excursion()[1]},
        {"comment": "Door left open"},
    ),
    ("post", "/api/v1/batches/{lot_number}/release"): lambda make: (
        RELEASER,
        {"lot_number": make.awaiting_release()},
        {"signature": sig(RELEASER, "released")},
    ),
    ("post", "/api/v1/batches/{lot_number}/reject"): lambda make: (
        "rob",
        {"lot_number": make.quarantined()},
        {"signature": sig("rob", "rejected"), "reason": "Failed visual inspection"},
    ),
    ("post", "/api/v1/batches/{lot_number}/recall"): lambda make: (
        RELEASER,
        {"lot_number": make.released()[0]},
        {"signature": sig(RELEASER, "recalled"), "reason": "Patient complaint"},
    ),
}


# The same, for fields that belong to another kind of request: a liquid's or a cream's dose, the
# 10 values of content uniformity.
VARIANTS: dict[tuple[str, str], dict[str, Target]] = {
    ("post", "/api/v1/batches"): {
        "concentration_mg_per_ml": lambda make: (
            "tina",
            {},
            {"formula": "LDN-LIQ", "quantity": 100, "concentration_mg_per_ml": 1.0, "dose_volume_ml": 1.5},
        ),
        "concentration_mg_per_g": lambda make: (
            "tina",
            {},
            {"formula": make.cream_formula(), "quantity": 100, "concentration_mg_per_g": 1.0, "dose_g": 1.5},
        ),
    },
    ("post", "/api/v1/batches/{lot_number}/results"): {
        "values": lambda make: (
            "tina",
            {"lot_number": make.quarantined()},
            {"test": "content_uniformity", "values": CU_PASSING, "method": "HPLC-UV", "analyst": "J. Lab"},
        ),
    },
}
VARIANTS[("post", "/api/v1/batches")]["dose_volume_ml"] = VARIANTS[("post", "/api/v1/batches")][
    "concentration_mg_per_ml"
]
VARIANTS[("post", "/api/v1/batches")]["dose_g"] = VARIANTS[("post", "/api/v1/batches")][
    "concentration_mg_per_g"
]


def placeholder(schema: dict[str, Any]) -> Any:
    """A plausible value for a schema: what an operation without a target starts from."""
    if "$ref" in schema:
        return placeholder(COMPONENTS[schema["$ref"].rsplit("/", 1)[1]])
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    kind = next((k for k in kind if k != "null"), None) if isinstance(kind, list) else kind
    if kind == "object" or "properties" in schema:
        return {name: placeholder(schema["properties"][name]) for name in schema.get("required", [])}
    if kind == "array":
        return [placeholder(schema.get("items", {}))] * schema.get("minItems", 1)
    return {"integer": 1, "number": 1.0, "boolean": True}.get(kind, "x")


def standing_target(world: World, method: str, path: str, schema: dict[str, Any]) -> Target:
    """For an operation without a target: a body from its schema, its records from the world."""
    roles = ROLES[(method, path)]
    actor = "" if roles is PUBLIC else USERS[roles[0] if roles else "inspector"]
    params = {}
    for name in re.findall(r"{([^}]+)}", path):
        key = name
        if name == "code":
            key = "formulas.code" if path.startswith("/api/v1/formulas") else "storage-units.code"
        params[name] = world.ids[key][0]
    return lambda make: (actor, params, placeholder(schema))


# --- CSV bodies -------------------------------------------------------------------------------


def _results_csv(make: Records) -> tuple[str, dict, list[str], list[str]]:
    header = CSV_HEADER.split(",")
    return "tina", {}, header, [make.quarantined(), "assay", "99.5", "1", "HPLC-UV", "J. Lab", now()]


def _readings_csv(make: Records) -> tuple[str, dict, list[str], list[str]]:
    return "tina", {"code": LOGGER_UNIT}, ["at", "temperature_c"], [next(READINGS_CLOCK).isoformat(), "21.5"]


# (method, OpenAPI path) → who sends it, where, the header and a valid row.
CSV_TARGETS = {
    ("post", "/api/v1/results/import"): _results_csv,
    ("post", "/api/v1/storage-units/{code}/readings"): _readings_csv,
}


# --- forms ------------------------------------------------------------------------------------

FormTarget = Callable[[Records], tuple[dict, dict]]


def _component_form(make: Records) -> tuple[dict, dict]:
    lot = make.draft()
    api_mg = batches.get_batch(lot).calculation["api_mg"]
    return {"lot_number": lot}, {"barcode": make.lots["api"], "quantity_mg": str(api_mg), "balance": "XS205"}


def _result_form(make: Records) -> tuple[dict, dict]:
    values = {f"values-{i}": str(v) for i, v in enumerate(CU_PASSING)}
    values |= {
        "r-assay-value": "99.5",
        "r-appearance-value": "Conforms",
        "method": "HPLC-UV",
        "analyst": "J. Lab",
    }
    return {"lot_number": make.quarantined()}, values


def _import_form(make: Records) -> tuple[dict, dict]:
    text = f"{CSV_HEADER}\n{make.quarantined()},assay,99.5,1,HPLC-UV,J. Lab,2026-01-05T10:00:00Z\n"
    return {}, {"text": text}


def _failing_form(make: Records) -> tuple[dict, dict]:
    lot, result_id = make.failing()
    return {"lot_number": lot, "result_id": result_id}, {"retests_allowed": "1"}


def _investigation_form(make: Records) -> tuple[dict, dict]:
    lot, investigation = make.investigation()
    values = {"phase": "II", "assignable_cause": "manufacturing", "cause": "Blend", "conclusion": "Rejected"}
    return {"lot_number": lot, "investigation_id": investigation}, values


def _held_form(make: Records) -> tuple[dict, dict]:
    _unit, lot, excursion = make.held_by_excursion()
    return {"excursion_id": excursion, "lot_number": lot}, {"decision": "acceptable", "comment": "MKT fine"}


def _new_version_form(make: Records) -> tuple[dict, dict]:
    return {"code": make.approved_formula()}, {}


def _readings_file(make: Records) -> tuple[dict, dict]:
    moment = next(READINGS_CLOCK).isoformat()
    return {"unit_code": LOGGER_UNIT}, {"file": f"at,temperature_c\n{moment},21.5\n"}


# endpoint → a fresh record for the form (its URL's variables) and the values that make it valid;
# the page's own defaults fill the rest.
FORM_TARGETS: dict[str, FormTarget] = {
    "auth.login": lambda make: ({}, {"username": "ivan", "password": PASSWORD}),
    "batches.new": lambda make: (
        {},
        {"formula": "LDN-CAP", "strength_mg": "1.5", "quantity": "100"},
    ),
    "batches.add_component": _component_form,
    "batches.verify": lambda make: ({"lot_number": make.weighed()}, {}),
    "batches.weight_check": lambda make: (
        {"lot_number": make.weighed()},
        {"weights": "\n".join(["225.0"] * 10)},
    ),
    "batches.complete": lambda make: (
        {"lot_number": make.ready_to_complete()},
        {"actual_yield": "100", "storage_unit": "SHELF-1"},
    ),
    "batches.discard": lambda make: ({"lot_number": make.draft()}, {"reason": "Spilled"}),
    "batches.move": lambda make: ({"lot_number": make.quarantined()}, {"storage_unit": "FRIDGE-1"}),
    "batches.add_result": _result_form,
    "batches.import_results": _import_form,
    "batches.open_investigation": _failing_form,
    "batches.close_investigation": _investigation_form,
    "materials.new_lot": lambda make: (
        {},
        {
            "material": "NTX-HCL",
            "supplier": "Medisca",
            "lot_number": unique("SUP-"),
            "expiry_date": "2030-06-30",
            "received_date": datetime.now(UTC).date().isoformat(),
            "assay_percent": "99.0",
            "assay_basis": "as_is",
        },
    ),
    "materials.approve": lambda make: ({"barcode": make.material_lot()}, {}),
    "materials.reject": lambda make: ({"barcode": make.material_lot()}, {"reason": "Torn bag"}),
    "materials.recall": lambda make: ({"barcode": make.material_lot()}, {"reason": "Supplier recall notice"}),
    "materials.edit_material": lambda make: (
        {"material_code": "NTX-HCL"},
        {"name": "Naltrexone hydrochloride USP", "assay_min_percent": "98.0", "assay_max_percent": "102.0"},
    ),
    "materials.new_material": lambda make: (
        {},
        {"code": unique("MAT-"), "name": "Lactose", "kind": "excipient"},
    ),
    "formulas.new": lambda make: ({}, {"code": unique("F-")}),
    "formulas.new_version": _new_version_form,
    "formulas.approve": lambda make: ({"code": make.draft_formula()}, {}),
    "storage.new_unit": lambda make: (
        {},
        {"code": unique("U-"), "name": "Shelf", "condition": "room", "alarm_delay_minutes": "30"},
    ),
    "storage.upload_readings": _readings_file,
    "balances.new": lambda make: (
        {},
        {
            "code": unique("BAL-"),
            "name": "Bench",
            "readability_mg": "0.01",
            "repeatability_sd_mg": "0.003",
            "capacity_g": "220",
        },
    ),
    "balances.edit": lambda make: (
        {"balance_code": fresh_balance(make)},
        {"name": "Bench", "readability_mg": "0.01", "repeatability_sd_mg": "0.003", "capacity_g": "220"},
    ),
    "balances.record_check": lambda make: (
        {"balance_code": fresh_balance(make)},
        {"nominal_mg": "100000", "observed_mg": "100000"},
    ),
    "storage.manual_reading": lambda make: ({"unit_code": LOGGER_UNIT}, {"temperature_c": "21.5"}),
    "trends.acknowledge": lambda make: ({"signal_id": make.trend_signal()}, {"comment": "Checked"}),
    "storage.acknowledge_excursion": lambda make: (
        {"excursion_id": make.excursion()[1]},
        {"comment": "Door left open"},
    ),
    "storage.record_disposition": _held_form,
    "review.release_batch": lambda make: ({"lot_number": make.awaiting_release()}, {}),
    "review.reject_batch": lambda make: ({"lot_number": make.quarantined()}, {"reason": "Failed"}),
    "review.recall_batch": lambda make: (
        {"lot_number": make.released()[0]},
        {"reason": "Complaint"},
    ),
    "review.export_list": lambda make: ({}, {"date_from": "2026-01-01", "date_to": "2026-01-31"}),
    "admin.new_user": lambda make: (
        {},
        {"username": unique("user-"), "full_name": "New Person", "roles": "technician", "password": PASSWORD},
    ),
    "admin.user": lambda make: (
        {"username": make.account()},
        {"roles": "technician", "reason": "Moved"},
    ),
    "admin.deactivate": lambda make: ({"username": make.account()}, {}),
    "admin.reactivate": lambda make: ({"username": make.account(active=False)}, {}),
    "admin.unlock": lambda make: ({"username": make.account(locked=True)}, {}),
}
# Forms a role other than the first one to see them must send: the releaser made nothing.
FORM_USERS = {"review.release_batch": RELEASER, "review.recall_batch": RELEASER}
# Forms whose success is a page, not a redirect.
ANSWERED_WITH_A_PAGE = {"storage.issue_device_token": "shows the new token, once"}
NOT_POSTED = {"auth.logout": "ends the session the walk goes on with"}
# Fields a valid form fills with words where the page leaves them empty.
TEXT_DEFAULTS = ("reason", "comment", "cause", "conclusion", "label", "name", "full_name", "supplier")
