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
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask, url_for
from flask.testing import FlaskClient

from qa_app.extensions import db
from qa_app.models import AuditEvent
from tests.conftest import PASSWORD
from tests.fuzz.conftest import RULES, World, build_world
from tests.fuzz.hostile import (
    DATES,
    ESCAPED_SCRIPT,
    FOR_FORMS,
    FOR_NUMBERS,
    NOT_PLAIN,
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
from tests.fuzz.records import RELEASER, Records
from tests.fuzz.targets import (
    ANSWERED_WITH_A_PAGE,
    API_TARGETS,
    COMPONENTS,
    CSV_TARGETS,
    DOCUMENT,
    FORM_TARGETS,
    FORM_USERS,
    NOT_POSTED,
    ROLES,
    TEXT_DEFAULTS,
    USERS,
    VARIANTS,
    Target,
    standing_target,
)


@pytest.fixture(scope="module")
def world(databases, tmp_path_factory) -> Iterator[World]:
    """CSRF on, as in production; no lockout, since wrong signing passwords are part of the corpus."""
    yield from build_world(
        databases,
        str(tmp_path_factory.mktemp("hostile-instance")),
        WTF_CSRF_ENABLED=True,
        QA_LOCKOUT_THRESHOLD=10**9,
    )


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
        if target not in subjects:
            subjects[target] = Subject(world.app, world.records, target)
        subject = subjects[target]
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
    """Every kind of form on every page, as the first user who saw it (after ``csrf`` read the
    tokens from home pages that were still short).

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
    missing = [e for e in WEB_POST_ENDPOINTS if e not in walked and e not in NOT_POSTED]
    assert missing == []


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
                fresh, wanted = target(self.world.records)
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
# Text fields that take numbers too: a result, the unit values, the weights, a temperature; of
# them, the ones that only take an amount (a result may be the text of an attribute test).
NUMBERS_AS_TEXT = re.compile(r"(^|-)(value|values-\d+|weights|temperature_c)$")
AMOUNTS_AS_TEXT = re.compile(r"(^|-)(values-\d+|weights|temperature_c)$")


def form_values(field: str, kind: str) -> list[Hostile]:
    """A number field gets the numbers and text where a number belongs; a text field the texts
    (and the ends of the calendar, if a date); a text field that holds numbers everything."""
    if kind == "number":
        return [h for h in FOR_FORMS if h.is_number or h.name in TEXT_WHERE_A_NUMBER_GOES] + NOT_PLAIN
    if NUMBERS_AS_TEXT.search(field):
        return FOR_FORMS + NOT_PLAIN
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
    if 300 <= response.status_code < 400 and numeric and not typed_finite(hostile.text):
        return "a non-finite number was taken"
    if 300 <= response.status_code < 400 and numeric and hostile in NOT_PLAIN:
        return "a number not written in plain digits was taken"
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
            numeric = found.form.kinds.get(field) == "number" or bool(AMOUNTS_AS_TEXT.search(field))
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


CSV_AMOUNTS = ("temperature_c", "value")  # the targets' rows are a reading and an assay result


def test_every_csv_upload_has_a_target():
    assert sorted(CSV_TARGETS) == csv_operations()


@pytest.mark.parametrize(("method", "path"), csv_operations(), ids=lambda v: v)
def test_every_csv_column_refuses_hostile_values_by_row_or_stores_them(world, method, path):
    problems = []
    with world.app.app_context():
        actor, params, header, row = CSV_TARGETS[(method, path)](world.records)
    for column, name in enumerate(header):
        for hostile in [*TEXTS, *NUMBERS, *NOT_PLAIN, *(DATES if name.endswith("at") else [])]:
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
            elif name in CSV_AMOUNTS and hostile in NOT_PLAIN and response.status_code < 300:
                problems.append(f"{name} = {hostile.name}: a number not in plain digits was stored")
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
    entity = "storage_unit" if names[0] == "code" and "storage" in rule else ENTITY_OF[names[0]]
    for key in records.get(entity, [])[:PAGES_PER_KIND]:
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
