"""Hostile input through every JSON endpoint, every CSV upload and every form: never a 500.

Script tags, SQL fragments, huge and non-finite numbers, odd Unicode and control characters go
into each field of each JSON body the OpenAPI document describes, each column of each CSV
body, and each field of each form found by walking the pages of the url_map as every role (with
CSRF on, as in production). A refusal names its field (JSON) or shows a message (pages); text
that is stored comes back exact in the API and escaped in every page.

Each field starts from a valid request, so the hostile value reaches the services and the
database, not only the first check; a request that succeeds gets a fresh record for the next
value, since an action such as a release uses its record up.
"""

import csv
import html
import io
import itertools
import json
import math
import re
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask, url_for
from flask.testing import FlaskClient

from qa_app.api.registry import OPERATIONS, PUBLIC
from qa_app.extensions import db
from qa_app.models import AuditEvent
from qa_app.services import batches
from tests.builders import capsule_formula_body
from tests.conftest import PASSWORD, ROLE_USERS
from tests.fuzz.conftest import RULES, World, build_world, served_document
from tests.fuzz.hostile import (
    DATES,
    ESCAPED_SCRIPT,
    FOR_FORMS,
    FOR_NUMBERS,
    NUMBERS,
    RAW_MARKUP,
    TEXTS,
    Form,
    Hostile,
    Path,
    body_leaves,
    csrf_token,
    dotted,
    forms_of,
    leaf_fields,
    names_field,
    value_at,
    with_token,
)
from tests.fuzz.records import CU_PASSING, RELEASER, Records, unique

DOCUMENT = served_document()
COMPONENTS = DOCUMENT["components"]["schemas"]
USERS = {role: username for role, (username, _name) in ROLE_USERS.items()}
ROLES = {(op.method, op.openapi_path): op.roles for op in OPERATIONS}
_readings_clock = (datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=n) for n in range(10**6))


@pytest.fixture(scope="module")
def world(databases, tmp_path_factory) -> Iterator[World]:
    """CSRF on, as in production; no lockout, since wrong signing passwords are part of the corpus."""
    yield from build_world(
        databases,
        str(tmp_path_factory.mktemp("hostile-instance")),
        WTF_CSRF_ENABLED=True,
        QA_LOCKOUT_THRESHOLD=10**9,
    )


def sig(username: str, meaning: str) -> dict[str, str]:
    return {"username": username, "password": PASSWORD, "meaning": meaning}


def now() -> str:
    return datetime.now(UTC).isoformat()


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

# --- JSON: a valid request per operation --------------------------------------------------------

Target = Callable[[Records], tuple[str, dict[str, Any], dict[str, Any]]]


def _component(make: Records) -> tuple[str, dict, dict]:
    lot = make.draft()
    api_mg = batches.get_batch(lot).calculation["api_mg"]
    body = {
        "barcode": make.lots["api"],
        "quantity_mg": api_mg,
        "balance": "BAL-1",
        "deviation_reason": "None",
    }
    return "tina", {"lot_number": lot}, body


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
    ("post", "/api/v1/formulas"): lambda make: (
        "ada",
        {},
        capsule_formula_body(code=unique("F-"), specification=SPECIFICATION),
    ),
    ("post", "/api/v1/formulas/{code}/versions"): _new_version,
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
            "min_c": 15.0,
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
        {"code": "SHELF-1"},
        {"readings": [{"at": next(_readings_clock).isoformat(), "temperature_c": 21.5}]},
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


def json_operations() -> list[tuple[str, str]]:
    return [
        (method, path)
        for path, item in DOCUMENT["paths"].items()
        for method, operation in item.items()
        if "application/json" in operation.get("requestBody", {}).get("content", {})
    ]


def hostile_for(kind: str) -> list[Hostile]:
    both = TEXTS + [h for h in FOR_NUMBERS if h not in TEXTS]
    return {"text": TEXTS, "date": TEXTS + DATES, "number": FOR_NUMBERS, "both": both}[kind]


def judge_json(hostile: Hostile, path: Path, kind: str, response) -> str | None:
    """What is wrong with the answer to ``hostile`` at ``path``, or None."""
    status, body = response.status_code, response.get_json(silent=True) or {}
    error = body.get("error", {}) if isinstance(body, dict) else {}
    credential = dotted(path).endswith(("username", "password", "meaning"))
    if status >= 500:
        return f"answered {status}"
    named = names_field(error.get("fields", {}), path) or bool(error.get("rows"))
    # A finite number may be refused with the field it clashes with (min above max, a dose out of
    # range for concentration × volume); anything else must be refused by its own name.
    combined = hostile.is_number and hostile.finite and bool(error.get("fields"))
    if status == 400 and not (named or combined):
        return f"400 without naming the field: {error}"
    if hostile.is_number and not hostile.finite and kind != "text" and status != 400:
        return f"a non-finite number was answered {status}, not 400: {str(body)[:200]}"
    if status in (401, 403) and not credential:
        return f"answered {status}: {error}"
    if status == 404:
        return f"a body field made a 404: {error}"
    if status < 300 and not hostile.is_number:
        return judge_echo(hostile_text(hostile), value_at(body, path), list(strings(body)))
    return None


def strings(document: Any) -> Iterator[str]:
    if isinstance(document, str):
        yield document
    elif isinstance(document, dict | list):
        for value in document.values() if isinstance(document, dict) else document:
            yield from strings(value)


def judge_echo(sent: str, at_path: Any, answered: list[str]) -> str | None:
    """Stored text comes back as sent; codes and usernames may come back in one case."""
    if any(sent in text for text in answered):
        return None
    if html.escape(sent) != sent and any(html.escape(sent) in text for text in answered):
        return "stored HTML-escaped: escaping belongs to the page, not the data"
    if isinstance(at_path, str) and at_path.casefold() != sent.casefold() and sent.strip() == sent:
        return f"stored text came back as {at_path[:60]!r}"
    return None


def hostile_text(hostile: Hostile) -> str:
    return json.loads(hostile.token)


class Subject:
    """The record a target made and the valid request on it; made afresh once it is used up.

    A success may use the record up (a lot is rejected once): a 409 after one means so, and the
    value is sent again on a fresh record. Anything else keeps the record, which keeps the run short.
    """

    def __init__(self, app: Flask, make: Records, target: Target) -> None:
        self.app, self.make, self.target = app, make, target
        self.used = False
        self.renew()

    def renew(self) -> None:
        with self.app.app_context():
            self.actor, self.params, self.body = self.target(self.make)
        self.used = False


def send_json(world: World, method: str, path: str, subject: Subject, field: Path, hostile: Hostile):
    def post():
        return world.app.test_client().open(
            path.format(**subject.params),
            method=method.upper(),
            data=with_token(subject.body, field, hostile.token),
            content_type="application/json",
            headers=world.headers.get(subject.actor, {}),
        )

    response = post()
    if response.status_code == 409 and subject.used:
        subject.renew()
        response = post()
    subject.used = subject.used or response.status_code < 300
    return response


@pytest.mark.parametrize(("method", "path"), json_operations(), ids=lambda v: v)
def test_every_json_field_refuses_or_stores_hostile_values_exactly(world, method, path):
    schema = DOCUMENT["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"]
    default = API_TARGETS.get((method, path)) or standing_target(world, method, path, schema)
    subjects = {default: Subject(world.app, world.records, default)}
    fields = dict(leaf_fields(schema, COMPONENTS)) | dict(body_leaves(subjects[default].body))
    problems = []
    for field, kind in fields.items():
        target = VARIANTS.get((method, path), {}).get(str(field[0]), default)
        subject = subjects.setdefault(target, Subject(world.app, world.records, target))
        for hostile in hostile_for(kind):
            response = send_json(world, method, path, subject, field, hostile)
            problem = judge_json(hostile, field, kind, response)
            if problem:
                problems.append(f"{dotted(field)} = {hostile.name}: {problem}")
    assert problems == [], f"{method.upper()} {path}:\n" + "\n".join(problems)


# --- forms: found by walking every page as every role -------------------------------------------

WEB_GET_RULES = sorted(
    rule
    for rule, endpoint, methods in RULES
    if "GET" in methods and not endpoint.startswith("api.") and endpoint != "static"
)
WEB_POST_ENDPOINTS = sorted(
    {endpoint for _rule, endpoint, methods in RULES if "POST" in methods and not endpoint.startswith("api.")}
)
BLUEPRINTS = sorted({endpoint.split(".")[0] for endpoint in WEB_POST_ENDPOINTS})
PAGE_PARAMETERS = {"code": "formulas.code", "unit_code": "storage-units.code"}
NOT_POSTED = {"auth.logout": "ends the session the walk goes on with"}
CSV_HEADER = "lot_number,test,value,replicate,method,analyst,tested_at"


def page_urls(world: World) -> Iterator[str]:
    """Every page of the url_map, each variable filled with each standing record's identifier."""
    for rule in WEB_GET_RULES:
        names = re.findall(r"<(?:[^:<>]+:)?([^<>]+)>", rule)
        if any(world.ids.get(PAGE_PARAMETERS.get(n, n)) is None for n in names):
            continue
        choices = [world.ids[PAGE_PARAMETERS.get(n, n)] for n in names]
        for values in itertools.product(*choices):
            url = rule
            for name, value in zip(names, values, strict=True):
                url = re.sub(rf"<(?:[^:<>]+:)?{name}>", value, url)
            if not url.endswith((".pdf", ".csv", "/download")):
                yield url


def sign_in(app: Flask, username: str) -> FlaskClient:
    """A browser signed in through the login form, CSRF token and all."""
    client = app.test_client()
    token = csrf_token(client.get("/login").get_data(as_text=True))
    answer = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token})
    assert answer.status_code == 302, answer.get_data(as_text=True)[:500]
    return client


@dataclass
class FoundForm:
    """A form as a user saw it: who, on which page, posting where."""

    username: str
    form: Form
    endpoint: str
    view_args: dict[str, Any]


@pytest.fixture(scope="module")
def browsers(world) -> dict[str, FlaskClient]:
    """A signed-in browser per user (and an anonymous one, under "")."""
    clients = {"": world.app.test_client()}
    for username in [*USERS.values(), RELEASER]:
        clients[username] = sign_in(world.app, username)
    return clients


@pytest.fixture(scope="module")
def csrf(browsers) -> dict[str, str]:
    """Each signed-in browser's CSRF token, read once from its home page."""
    return {
        name: csrf_token(client.get("/").get_data(as_text=True)) for name, client in browsers.items() if name
    }


@pytest.fixture(scope="module")
def site_forms(world, browsers, csrf) -> dict[tuple[str, frozenset[str]], FoundForm]:
    """Every kind of form on every page, as the first user who saw it.

    Anonymous, then each role that changes records (the inspector only reads) and the releaser,
    who sees the release form the others may not use.
    """
    adapter = world.app.url_map.bind("localhost")
    found: dict[str, FoundForm] = {}
    for username in ["", USERS["technician"], USERS["reviewer"], USERS["admin"], RELEASER]:
        for url in page_urls(world):
            page = browsers[username].get(url)
            if page.status_code != 200 or page.mimetype != "text/html":
                continue
            for form in forms_of(page.get_data(as_text=True), url):
                path = form.action.split("?")[0]
                endpoint, view_args = adapter.match(path, method=form.method.upper())
                # One of each kind: the same form for another record differs only in the numbers
                # of its field names (close-1-phase, close-2-phase).
                kind = (endpoint, frozenset(re.sub(r"\d", "", name) for name in form.fields))
                found.setdefault(kind, FoundForm(username, form, endpoint, view_args))
    return found


def test_the_walk_finds_a_form_for_every_web_endpoint_that_takes_a_post(site_forms):
    """So a new form is fuzzed without anyone listing it here."""
    walked = {endpoint for endpoint, _fields in site_forms}
    missing = [e for e in WEB_POST_ENDPOINTS if e not in walked and e not in FORM_EXTRAS]
    assert missing == []


def _lot(make: Records, state: str) -> Callable[[Records, str], tuple[dict, dict]]:
    return lambda make, username: ({"lot_number": getattr(make, state)()}, {})


def _component_form(make: Records, username: str) -> tuple[dict, dict]:
    lot = make.draft()
    api_mg = batches.get_batch(lot).calculation["api_mg"]
    return {"lot_number": lot}, {"barcode": make.lots["api"], "quantity_mg": str(api_mg), "balance": "BAL-1"}


def _result_form(make: Records, username: str) -> tuple[dict, dict]:
    values = {f"values-{i}": str(v) for i, v in enumerate(CU_PASSING)}
    values |= {
        "r-assay-value": "99.5",
        "r-appearance-value": "Conforms",
        "method": "HPLC-UV",
        "analyst": "J. Lab",
    }
    return {"lot_number": make.quarantined()}, values


def _import_form(make: Records, username: str) -> tuple[dict, dict]:
    text = f"{CSV_HEADER}\n{make.quarantined()},assay,99.5,1,HPLC-UV,J. Lab,2026-01-05T10:00:00Z\n"
    return {}, {"text": text}


def _failing(make: Records, username: str) -> tuple[dict, dict]:
    lot, result_id = make.failing()
    return {"lot_number": lot, "result_id": result_id}, {"retests_allowed": "1"}


def _investigation(make: Records, username: str) -> tuple[dict, dict]:
    lot, investigation = make.investigation()
    values = {"phase": "II", "assignable_cause": "manufacturing", "cause": "Blend", "conclusion": "Rejected"}
    return {"lot_number": lot, "investigation_id": investigation}, values


def _held(make: Records, username: str) -> tuple[dict, dict]:
    _unit, lot, excursion = make.held_by_excursion()
    return {"excursion_id": excursion, "lot_number": lot}, {"decision": "acceptable", "comment": "MKT fine"}


def _new_version_form(make: Records, username: str) -> tuple[dict, dict]:
    return {"code": make.approved_formula()}, {}


def _readings_file(make: Records, username: str) -> tuple[dict, dict]:
    moment = next(_readings_clock).isoformat()
    return {"unit_code": "SHELF-1"}, {"file": f"at,temperature_c\n{moment},21.5\n"}


# endpoint → a fresh record for the form (its URL's variables) and the values that make it valid;
# the page's own defaults fill the rest.
FORM_TARGETS: dict[str, Callable[[Records, str], tuple[dict, dict]]] = {
    "auth.login": lambda make, username: ({}, {"username": "ivan", "password": PASSWORD}),
    "batches.new": lambda make, username: (
        {},
        {"formula": "LDN-CAP", "strength_mg": "1.5", "quantity": "100"},
    ),
    "batches.add_component": _component_form,
    "batches.verify": _lot(None, "weighed"),
    "batches.weight_check": lambda make, username: (
        {"lot_number": make.weighed()},
        {"weights": "\n".join(["225.0"] * 10)},
    ),
    "batches.complete": lambda make, username: (
        {"lot_number": make.ready_to_complete()},
        {"actual_yield": "100", "storage_unit": "SHELF-1"},
    ),
    "batches.discard": lambda make, username: ({"lot_number": make.draft()}, {"reason": "Spilled"}),
    "batches.move": lambda make, username: ({"lot_number": make.quarantined()}, {"storage_unit": "FRIDGE-1"}),
    "batches.add_result": _result_form,
    "batches.import_results": _import_form,
    "batches.open_investigation": _failing,
    "batches.close_investigation": _investigation,
    "materials.new_lot": lambda make, username: (
        {},
        {
            "material": "NTX-HCL",
            "supplier": "Medisca",
            "lot_number": unique("SUP-"),
            "expiry_date": "2030-06-30",
            "received_date": datetime.now(UTC).date().isoformat(),
            "assay_percent": "99.0",
        },
    ),
    "materials.approve": lambda make, username: ({"barcode": make.material_lot()}, {}),
    "materials.reject": lambda make, username: ({"barcode": make.material_lot()}, {"reason": "Torn bag"}),
    "materials.new_material": lambda make, username: (
        {},
        {"code": unique("MAT-"), "name": "Lactose", "kind": "excipient"},
    ),
    "formulas.new": lambda make, username: ({}, {"code": unique("F-")}),
    "formulas.new_version": _new_version_form,
    "formulas.approve": lambda make, username: ({"code": make.draft_formula()}, {}),
    "storage.new_unit": lambda make, username: (
        {},
        {"code": unique("U-"), "name": "Shelf", "condition": "room", "alarm_delay_minutes": "30"},
    ),
    "storage.upload_readings": _readings_file,
    "storage.manual_reading": lambda make, username: ({"unit_code": "SHELF-1"}, {"temperature_c": "21.5"}),
    "storage.acknowledge_excursion": lambda make, username: (
        {"excursion_id": make.excursion()[1]},
        {"comment": "Door left open"},
    ),
    "storage.record_disposition": _held,
    "review.release_batch": lambda make, username: ({"lot_number": make.awaiting_release()}, {}),
    "review.reject_batch": lambda make, username: ({"lot_number": make.quarantined()}, {"reason": "Failed"}),
    "review.recall_batch": lambda make, username: (
        {"lot_number": make.released()[0]},
        {"reason": "Complaint"},
    ),
    "review.export_list": lambda make, username: ({}, {"date_from": "2026-01-01", "date_to": "2026-01-31"}),
    "admin.new_user": lambda make, username: (
        {},
        {"username": unique("user-"), "full_name": "New Person", "roles": "technician", "password": PASSWORD},
    ),
    "admin.user": lambda make, username: (
        {"username": make.account()},
        {"roles": "technician", "reason": "Moved"},
    ),
    "admin.deactivate": lambda make, username: ({"username": make.account()}, {}),
    "admin.reactivate": lambda make, username: ({"username": make.account(active=False)}, {}),
    "admin.unlock": lambda make, username: ({"username": make.account(locked=True)}, {}),
}
# Forms a role other than the first one to see them must send: the releaser made nothing.
FORM_USERS = {"review.release_batch": RELEASER, "review.recall_batch": RELEASER}
# Endpoints the walk cannot reach from a page (none yet; name each with the reason).
FORM_EXTRAS: dict[str, str] = dict(NOT_POSTED)
# Forms whose success is a page, not a redirect.
ANSWERED_WITH_A_PAGE = {"storage.issue_device_token": "shows the new token, once"}
TEXT_DEFAULTS = ("reason", "comment", "cause", "conclusion", "label", "name", "full_name", "supplier")


def base_values(found: FoundForm, username: str, wanted: dict[str, str]) -> dict[str, list[str]]:
    values = {name: list(v) for name, v in found.form.fields.items()}
    for name, kind in found.form.kinds.items():
        short = name.rsplit("-", 1)[-1]
        if values.get(name) not in ([], [""]):
            continue
        if short == "sig_username":
            values[name] = [username]
        elif short in ("sig_password", "password", "confirm"):
            values[name] = [PASSWORD]
        elif short in TEXT_DEFAULTS and kind != "file":
            values[name] = ["Checked"]
    for name, value in wanted.items():
        for field in [n for n in values if n == name or n.endswith("-" + name)]:
            values[field] = [value]
    return values


class FormSubject:
    """A form's URL and valid values on a fresh record; renewed once a success used it up."""

    def __init__(self, world: World, found: FoundForm, username: str) -> None:
        self.world, self.found, self.username = world, found, username
        self.renew()

    def renew(self) -> None:
        args, wanted = dict(self.found.view_args), {}
        target = FORM_TARGETS.get(self.found.endpoint)
        if target is not None:
            with self.world.app.app_context():
                fresh, wanted = target(self.world.records, self.username)
            args |= fresh
        with self.world.app.test_request_context():
            self.url = url_for(self.found.endpoint, **args)
        self.values = base_values(self.found, self.username, wanted)
        self.used = False


def form_data(subject: FormSubject, field: str, text: str, token: str) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for name, values in subject.values.items():
        chosen = [token] if name.endswith("csrf_token") else [text] if name == field else values
        if subject.found.form.kinds.get(name) == "file":
            data[name] = [(io.BytesIO(v.encode("utf-8")), "upload.csv") for v in chosen if v]
        else:
            data[name] = chosen
    return data


TEXT_WHERE_A_NUMBER_GOES = ("script tag", "SQL or", "NaN as text", "Infinity as text")
# Text fields that take numbers too: a result, the unit values, the weights, a temperature.
NUMBERS_AS_TEXT = re.compile(r"(^|-)(value|values-\d+|weights|temperature_c)$")


def form_values(field: str, kind: str) -> list[Hostile]:
    """A number field gets the numbers and text where a number belongs; a text field the texts
    (and the ends of the calendar, if a date); a text field that holds numbers everything."""
    if kind == "number":
        return [h for h in FOR_FORMS if h.is_number or h.name in TEXT_WHERE_A_NUMBER_GOES]
    if NUMBERS_AS_TEXT.search(field):
        return FOR_FORMS
    texts = [h for h in FOR_FORMS if not h.is_number]
    return texts + DATES if kind in ("date", "datetime-local") else texts


def fields_to_fuzz(values: dict[str, list[str]]) -> list[str]:
    """The form's fields but its CSRF token; of a list of cells (values-0 … values-9), the first."""
    seen, fields = set(), []
    for name in values:
        kind = re.sub(r"-\d+$", "", name)
        if not name.endswith("csrf_token") and kind not in seen:
            seen.add(kind)
            fields.append(name)
    return fields


def typed_finite(text: str | None) -> bool:
    """Whether a number typed as ``text`` is one a quantity can be: not NaN, ±Infinity or 1e309."""
    try:
        return math.isfinite(float(text or ""))
    except ValueError:
        return True  # not a number at all: the field's own check answers it


def judge_page(response, hostile: Hostile, numeric: bool, found: FoundForm) -> str | None:
    page = response.get_data(as_text=True)
    if response.status_code >= 500:
        return f"answered {response.status_code}"
    if any(markup in page for markup in RAW_MARKUP):
        return "raw markup in the page"
    if found.form.method == "get" or found.endpoint in ANSWERED_WITH_A_PAGE:
        return None
    if response.status_code < 400 and numeric and not typed_finite(hostile.text):
        return f"a non-finite number was taken ({response.status_code})"
    if response.status_code == 200 and "field-error" not in page and "flash-error" not in page:
        return "the page came back without a message"
    return None


@pytest.mark.parametrize("blueprint", BLUEPRINTS)
def test_every_form_field_refuses_or_stores_hostile_values(world, browsers, csrf, site_forms, blueprint):
    problems = []
    forms = [
        f
        for f in site_forms.values()
        if f.endpoint.split(".")[0] == blueprint and f.endpoint not in NOT_POSTED
    ]
    for found in forms:
        username = FORM_USERS.get(found.endpoint, found.username)
        browser = browsers[username] if username else world.app.test_client()
        token = csrf[username] if username else csrf_token(browser.get("/login").get_data(as_text=True))
        subject = FormSubject(world, found, username)
        for field in fields_to_fuzz(subject.values):
            numeric = found.form.kinds.get(field) == "number"
            for hostile in form_values(field, found.form.kinds.get(field, "text")):
                response = send_form(browser, subject, field, hostile, token, found.form.method)
                problem = judge_page(response, hostile, numeric, found)
                if problem:
                    problems.append(f"{found.endpoint} {field} = {hostile.name}: {problem}")
    assert forms, f"no form of {blueprint} was found"
    assert problems == [], "\n".join(problems)


def send_form(browser: FlaskClient, subject: FormSubject, field: str, hostile: Hostile, token, method: str):
    def submit():
        data = form_data(subject, field, hostile.text, token)
        if method == "get":
            return browser.get(subject.url, query_string={k: v for k, v in data.items() if k != "csrf_token"})
        kind = "multipart/form-data" if "file" in subject.found.form.kinds.values() else None
        return browser.post(subject.url, data=data, content_type=kind)

    response = submit()
    if response.status_code == 409 and subject.used:
        subject.renew()
        response = submit()
    subject.used = subject.used or 300 <= response.status_code < 400
    return response


# --- CSV bodies ---------------------------------------------------------------------------------


def _results_csv(make: Records) -> tuple[str, dict, list[str], list[str]]:
    header = CSV_HEADER.split(",")
    return "tina", {}, header, [make.quarantined(), "assay", "99.5", "1", "HPLC-UV", "J. Lab", now()]


def _readings_csv(make: Records) -> tuple[str, dict, list[str], list[str]]:
    return "tina", {"code": "SHELF-1"}, ["at", "temperature_c"], [next(_readings_clock).isoformat(), "21.5"]


CSV_TARGETS = {
    ("post", "/api/v1/results/import"): _results_csv,
    ("post", "/api/v1/storage-units/{code}/readings"): _readings_csv,
}


def csv_operations() -> list[tuple[str, str]]:
    return [
        (method, path)
        for path, item in DOCUMENT["paths"].items()
        for method, operation in item.items()
        if "text/csv" in operation.get("requestBody", {}).get("content", {})
    ]


def csv_body(header: list[str], row: list[str], column: int, value: str) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerow([value if i == column else cell for i, cell in enumerate(row)])
    return out.getvalue().encode("utf-8", "surrogatepass")  # a lone surrogate: bytes no UTF-8 reader takes


def test_every_csv_upload_has_a_target(world):
    assert sorted(CSV_TARGETS) == csv_operations()


@pytest.mark.parametrize(("method", "path"), csv_operations(), ids=lambda v: v)
def test_every_csv_column_refuses_hostile_values_by_row_or_stores_them(world, method, path):
    problems = []
    with world.app.app_context():
        actor, params, header, row = CSV_TARGETS[(method, path)](world.records)
    for column, name in enumerate(header):
        for hostile in [*TEXTS, *NUMBERS, *(DATES if name.endswith("at") else [])]:
            value = json.loads(hostile.token) if not hostile.is_number else hostile.text
            response = world.app.test_client().open(
                path.format(**params),
                method=method.upper(),
                data=csv_body(header, row, column, value),
                content_type="text/csv",
                headers=world.headers[actor],
            )
            error = (response.get_json(silent=True) or {}).get("error", {})
            if response.status_code >= 500:
                problems.append(f"{name} = {hostile.name}: answered {response.status_code}")
            elif response.status_code == 400 and not (error.get("rows") or error.get("fields")):
                problems.append(f"{name} = {hostile.name}: 400 naming no row: {error}")
    assert problems == [], f"{method.upper()} {path}:\n" + "\n".join(problems)


# --- what was stored, shown again -----------------------------------------------------------------

# The path variable of a page or an API operation, and the audit entity whose key fills it.
ENTITY_OF = {
    "lot_number": "batch",
    "barcode": "material_lot",
    "code": "formula",
    "unit_code": "storage_unit",
    "username": "user",
    "excursion_id": "excursion",
}
MARKER = "alert(1)"
PAGES_PER_KIND = 8  # records of each kind shown again: the pages differ by kind, not by record


def hostile_records(world: World) -> dict[str, list[str]]:
    """The keys of every record whose audit trail holds stored hostile markup, by entity type."""
    with world.app.app_context():
        text = sa.cast(AuditEvent.new_values, sa.Text)
        rows = db.session.execute(
            sa.select(AuditEvent.entity_type, AuditEvent.entity_key)
            .where(sa.or_(text.contains(MARKER), AuditEvent.reason.contains(MARKER)))
            .distinct()
        )
        found: dict[str, list[str]] = {}
        for entity_type, key in rows:
            found.setdefault(entity_type, []).append(key)
    return found


def filled(rule: str, records: dict[str, list[str]]) -> Iterator[str]:
    names = re.findall(r"<(?:[^:<>]+:)?([^<>]+)>|{([^}]+)}", rule)
    names = [a or b for a, b in names]
    if not names:
        yield rule
        return
    if len(names) > 1 or names[0] not in ENTITY_OF:
        return
    for key in records.get(ENTITY_OF[names[0]], [])[:PAGES_PER_KIND]:
        yield re.sub(r"<[^<>]+>|{[^}]+}", key, rule)


def test_stored_hostile_text_is_escaped_on_every_page_and_exact_in_the_api(world, browsers):
    """Runs after the tests above have stored what the services accepted."""
    records = hostile_records(world)
    assert records.get("batch") and records.get("material_lot"), records.keys()
    problems, escaped, exact = [], 0, 0
    for rule in WEB_GET_RULES:
        for url in filled(rule, records):
            if url.endswith((".pdf", ".csv", "/download")):
                continue
            for username in (USERS["reviewer"], USERS["admin"]):
                page = browsers[username].get(url, query_string={"per_page": 200})
                text = page.get_data(as_text=True)
                if page.status_code >= 500 or any(markup in text for markup in RAW_MARKUP):
                    problems.append(f"{url} as {username}: {page.status_code}, raw markup or 5xx")
                escaped += ESCAPED_SCRIPT in text
                if page.status_code == 200:
                    break
    for path, item in DOCUMENT["paths"].items():
        for url in filled(path, records) if "get" in item and "{" in path else []:
            answer = world.app.test_client().get(url, headers=world.headers["reviewer"])
            texts = list(strings(answer.get_json(silent=True)))
            if answer.status_code >= 500 or any(html.escape("<script>") in t for t in texts):
                problems.append(f"GET {url}: {answer.status_code} or HTML-escaped text in the JSON")
            exact += any("<script>alert(1)</script>" in t for t in texts)
    assert problems == []
    assert escaped > 0, "no page showed the stored <script> text (escaped)"
    assert exact > 0, "no API answer gave the stored <script> text back as sent"


# --- query strings and ids in URLs --------------------------------------------------------------


def query_operations() -> list[str]:
    return [
        path
        for path, item in DOCUMENT["paths"].items()
        if any(p["in"] == "query" for p in item.get("get", {}).get("parameters", []))
    ]


def query_text(hostile: Hostile) -> str:
    """``name=value`` as a browser would send it; a lone surrogate as the bytes of one."""
    if hostile.text is None:
        return "%ED%A0%80"
    return urllib.parse.quote(hostile.text, safe="")


@pytest.mark.parametrize("path", query_operations())
def test_every_query_parameter_refuses_hostile_values_by_name(world, path):
    operation = DOCUMENT["paths"][path]["get"]
    _actor, params, _body = standing_target(world, "get", path, {})(world.records)
    roles = ROLES[("get", path)]
    headers = world.headers[roles[0] if roles else "reviewer"]
    problems = []
    for parameter in (p for p in operation["parameters"] if p["in"] == "query"):
        dated = parameter["schema"].get("format") in ("date", "date-time")
        for hostile in [*TEXTS, *NUMBERS, *(DATES if dated else [])]:
            name = parameter["name"]
            url = f"{path.format(**params)}?{name}={query_text(hostile)}"
            response = world.app.test_client().get(url, headers=headers)
            fields = ((response.get_json(silent=True) or {}).get("error") or {}).get("fields", {})
            if response.status_code >= 500:
                problems.append(f"{name} = {hostile.name}: answered {response.status_code}")
            elif response.status_code == 400 and name not in fields:
                problems.append(f"{name} = {hostile.name}: 400 naming {sorted(fields)}")
    assert problems == [], f"GET {path}:\n" + "\n".join(problems)


def test_an_id_too_large_for_the_database_is_no_record(world, browsers):
    """Every ``<int:...>`` of the url_map, API and pages, with an id of 31 digits: 404."""
    too_large = str(10**30)
    problems, checked = [], 0
    for rule, endpoint, methods in RULES:
        if "<int:" not in rule:
            continue
        url = re.sub(r"<int:[^>]+>", too_large, rule)
        url = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", lambda m: world.ids[PAGE_PARAMETERS.get(m[1], m[1])][0], url)
        method = "GET" if "GET" in methods else next(iter(methods - {"HEAD", "OPTIONS"}))
        if endpoint.startswith("api."):
            response = world.app.test_client().open(url, method=method, headers=world.headers["admin"])
        else:
            response = browsers[USERS["reviewer"]].open(url, method=method)
        checked += 1
        if response.status_code != 404:
            problems.append(f"{method} {url}: {response.status_code}")
    assert checked >= 5
    assert problems == []
