"""The API fuzzed from its own OpenAPI document: whatever is sent, never a 5xx, and every answer
is one the document declares for that operation.

Schemathesis reads ``GET /api/v1/openapi.json`` from the app in-process (WSGI) and, for each
operation, sends the coverage phase's boundary cases and a few generated requests, valid and
invalid. Each request carries a real token of a role the operation admits, so it reaches the
validation and the services behind the role check. A path identifier is either kept as
generated or swapped, chosen by its own hash, for a record of the world (a draft, a batch in
quarantine, one on hold, a released one, the excursion, ...) so the fuzzed bodies meet real
states too. Derandomized: the same examples on every run.

Checked: no 5xx; the status code, content type and body are the ones documented; an operation
behind the bearer scheme refuses a request without it; an undocumented method gets 405. Not
checked: that every schema-violating request is refused, since the list filters read a query
parameter leniently on purpose (``?to=`` is no filter, a repeated one counts once).
"""

import zlib
from typing import Any

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
)

from qa_app.api.registry import OPERATIONS, PUBLIC
from tests.fuzz.conftest import World, served_document

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    ignored_auth,
    unsupported_method,
]
MAX_EXAMPLES = 12  # generated requests per operation, besides the coverage phase's boundary cases
ROLES = {(op.method, op.openapi_path): op.roles for op in OPERATIONS}


schema = schemathesis.openapi.from_dict(served_document())


def bearer_for(world: World, method: str, path: str) -> dict[str, str]:
    """The token of the first role the operation admits; none for the public doors."""
    roles = ROLES[(method.lower(), path)]
    if roles is PUBLIC:
        return {}
    return world.headers[roles[0] if roles else "inspector"]


def pin_identifiers(world: World, case: Any) -> None:
    """Swap each generated path identifier, chosen by its hash, for a real record's or keep it."""
    for name, generated in case.path_parameters.items():
        key = name
        if name == "code":
            key = (
                "formulas.code"
                if case.operation.path.startswith("/api/v1/formulas")
                else "storage-units.code"
            )
        candidates = world.ids.get(key, [])
        pick = zlib.crc32(repr(generated).encode("utf-8", "backslashreplace")) % (len(candidates) + 1)
        if pick < len(candidates):
            case.path_parameters[name] = candidates[pick]


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_no_server_error_and_only_documented_answers(case, world):
    pin_identifiers(world, case)
    case.operation.schema.app = world.app  # checks that send again (ignored_auth) go in-process too
    case.call_and_validate(
        headers=bearer_for(world, case.operation.method, case.operation.path), checks=CHECKS, app=world.app
    )
