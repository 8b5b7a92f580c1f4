"""A world to fuzz: one database per test module holding a record in every interesting state.

Fuzzing sends thousands of requests; making the database once per module (not per example)
keeps the run short, and real records let the inputs reach past "404 no such batch" into the
services' rules.
"""

import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask

from qa_app.extensions import db
from qa_app.services import exports, storage, tokens
from tests.builders import user
from tests.conftest import PASSWORD, ROLE_USERS, build_app, make_user
from tests.fuzz.records import RELEASER, Records
from tests.services.test_results import shared_database_app

VICTIM = "fuzz-victim"  # the account the fuzzer may deactivate and unlock
# The unit hostile temperatures are posted to: a reading the services accept (0 °C on a room
# shelf) may open an excursion there, which must not hold the batches the other tests act on.
LOGGER_UNIT = "FUZZ-LOG"


@dataclass
class World:
    """The app, a bearer header per role and per username, a record maker, standing records."""

    app: Flask
    records: Records
    headers: dict[str, dict[str, str]] = field(default_factory=dict)
    ids: dict[str, list[str]] = field(default_factory=dict)


def _standing_records(make: Records) -> dict[str, list[str]]:
    """A record in each state, by the name of the path parameter that names it."""
    lots = [make.draft(), make.weighed(), make.ready_to_complete(), make.quarantined()]
    failing, result_id = make.failing()
    on_hold, investigation = make.investigation()
    released, certificate = make.released()
    unit, held, excursion = make.held_by_excursion()
    _secret, device = tokens.issue_device_token(user("ada"), "SHELF-1", "Shelf logger")
    storage.create_unit(user("ada"), code=LOGGER_UNIT, name="Fuzzed logger", condition="room")
    today = datetime.now(UTC).date()
    export = exports.start(user("rob"), today - timedelta(days=30), today + timedelta(days=1))
    db.session.commit()
    return {
        "lot_number": [*lots, failing, on_hold, make.awaiting_release(), released, held],
        "barcode": [*make.lots.values(), make.material_lot()],
        "number": [certificate],
        "result_id": [str(result_id)],
        "investigation_id": [str(investigation)],
        "excursion_id": [str(excursion)],
        "token_id": [str(device.id)],
        "username": [VICTIM, make.account(active=False), make.account(locked=True)],
        "export_id": [str(export.id)],
        "test": ["assay", "content_uniformity", "appearance"],
        "formulas.code": ["LDN-CAP", "LDN-LIQ", make.draft_formula()],
        "material_code": ["NTX-HCL", "MCC"],
        "storage-units.code": ["SHELF-1", "FRIDGE-1", unit],
        "balance_code": ["XS205"],
        "year": [str(today.year)],
        "signal_id": [str(make.trend_signal())],
    }


def build_world(databases, instance_path: str, **config) -> Iterator[World]:
    """``shared_database_app`` (role users, master data) with the records above and API tokens."""
    for app in shared_database_app(databases, instance_path):
        app.config.update(config)
        make_user(app, RELEASER, ("reviewer",), "Rita Release, PharmD")
        make_user(app, VICTIM, ("technician",), "Fuzz Victim")
        with app.app_context():
            world = World(app, Records(app.config["TEST_LOTS"]))
            world.ids = _standing_records(world.records)
        client = app.test_client()
        for role, username in [
            *((role, name) for role, (name, _full) in ROLE_USERS.items()),
            (RELEASER, RELEASER),
        ]:
            answer = client.post("/api/v1/tokens", json={"username": username, "password": PASSWORD})
            assert answer.status_code == 201, answer.get_json()
            world.headers[role] = world.headers[username] = {
                "Authorization": f"Bearer {answer.get_json()['token']}"
            }
        yield world


def _served() -> tuple[dict, list[tuple[str, str, frozenset[str]]]]:
    """The OpenAPI document as ``GET /api/v1/openapi.json`` serves it, and the url_map's rules.

    Read at import, from an app on a throw-away database (neither needs data), because the tests
    are parametrized by operation and by blueprint at collection.
    """
    with tempfile.TemporaryDirectory() as instance:
        app = build_app("sqlite://", instance)
        response = app.test_client().get("/api/v1/openapi.json")
        rules = [(r.rule, r.endpoint, frozenset(r.methods or ())) for r in app.url_map.iter_rules()]
        with app.app_context():
            db.engine.dispose()
    assert response.status_code == 200
    return response.get_json(), rules


DOCUMENT, RULES = _served()


def served_document() -> dict:
    return DOCUMENT


@pytest.fixture(scope="module")
def world(databases, tmp_path_factory) -> Iterator[World]:
    yield from build_world(databases, str(tmp_path_factory.mktemp("fuzz-instance")))
