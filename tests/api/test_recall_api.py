"""A lot recall through the JSON API (api.md ``POST /material-lots/{barcode}/recall``): the API
lot, the trituration made from it and the capsules made from that, in one signed transaction;
every refusal changes nothing; the recall report; the public check of a revoked certificate."""

import pytest

from tests.api.conftest import actions
from tests.conftest import PASSWORD
from tests.recalls import REASON, build


@pytest.fixture
def scenario(app, users):
    return build(app)


def signed(username: str, reason: str | None = REASON, password: str = PASSWORD) -> dict:
    body: dict = {"signature": {"username": username, "password": password, "meaning": "recalled"}}
    if reason is not None:
        body["reason"] = reason
    return body


def status_of(client, headers, lot_number: str) -> str:
    return client.get(f"/api/v1/batches/{lot_number}", headers=headers).get_json()["status"]


def test_recalling_the_api_lot_recalls_and_holds_everything_made_from_it(client, auth, scenario):
    s, rob, tina = scenario, auth.token("rob"), auth.token("tina")
    answer = client.post(f"/api/v1/material-lots/{s.api}/recall", json=signed("rob"), headers=rob)
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    assert body["recalled"] == [s.trituration_batch, s.released]
    assert body["held"] == [s.quarantined, s.draft, s.direct]
    assert body["lots"] == [s.api, s.trituration_lot]
    assert body["revoked_certificates"] == [s.certificate]

    for lot_number in (s.trituration_batch, s.released):
        assert status_of(client, tina, lot_number) == "recalled"
    for lot_number in (s.quarantined, s.draft, s.direct):
        assert status_of(client, tina, lot_number) == "on_hold"
    api_lot = client.get(f"/api/v1/material-lots/{s.api}", headers=tina).get_json()
    assert (api_lot["status"], api_lot["usable"]) == ("recalled", False)
    intermediate = client.get(f"/api/v1/material-lots/{s.trituration_lot}", headers=tina).get_json()
    assert intermediate["status"] == "recalled"
    used = client.get(f"/api/v1/material-lots/{s.api}/where-used", headers=tina).get_json()
    assert used["certificates"][0]["status"] == "revoked"

    # the public check: revoked, and (with the printed code) why
    public = client.get(f"/api/v1/certificates/{s.certificate}").get_json()
    assert public == {"number": s.certificate, "status": "revoked", "sha256": public["sha256"]}
    detailed = client.get(f"/api/v1/certificates/{s.certificate}?code={s.verification_code}").get_json()
    assert detailed["status"] == "revoked"
    assert detailed["revoked_reason"] == f"material recall of lot {s.api}: {REASON}"
    page = client.get(f"/verify/{s.certificate}?code={s.verification_code}").get_data(as_text=True)
    assert "Why it was revoked" in page
    assert f"material recall of lot {s.api}: {REASON}" in page

    report = client.get(f"/api/v1/material-lots/{s.api}/recall-report.pdf", headers=tina)
    assert report.status_code == 200
    assert report.mimetype == "application/pdf"
    assert report.data.startswith(b"%PDF")

    again = client.post(f"/api/v1/material-lots/{s.api}/recall", json=signed("rob", "again"), headers=rob)
    assert again.status_code == 409
    assert "recalled already" in again.get_json()["error"]["message"]


def test_a_lot_used_directly_recalls_only_what_used_it(client, auth, scenario):
    s, rhea = scenario, auth.token("rhea")
    caps = s.lots["caps"]
    answer = client.post(
        f"/api/v1/material-lots/{caps}/recall",
        json=signed("rhea", "Capsugel notice: split shells"),
        headers=rhea,
    )
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    assert body["lots"] == [caps]
    assert body["recalled"] == [s.released]
    assert body["held"] == [s.quarantined, s.direct]  # the draft has no capsule shells yet
    assert status_of(client, rhea, s.draft) == "draft"
    assert status_of(client, rhea, s.trituration_batch) == "released"
    assert client.get(f"/api/v1/material-lots/{s.api}", headers=rhea).get_json()["status"] == "approved"


def test_every_refusal_changes_nothing(app, client, auth, scenario):
    s = scenario
    rob, tina = auth.token("rob"), auth.token("tina")
    url = f"/api/v1/material-lots/{s.api}/recall"
    before = actions(app)

    wrong = client.post(url, json=signed("rob", password="not-my-password"), headers=rob)
    assert wrong.status_code == 401
    assert client.post(url, json=signed("tina"), headers=tina).status_code == 403
    assert client.post(url, json=signed("rob", reason=None), headers=rob).status_code == 400
    blank = client.post(url, json=signed("rob", reason="   "), headers=rob)
    assert blank.status_code == 400
    assert "reason" in blank.get_json()["error"]["fields"]
    unknown = client.post("/api/v1/material-lots/LOT999999/recall", json=signed("rob"), headers=rob)
    assert unknown.status_code == 404
    assert client.post(url, json=signed("rob")).status_code == 401  # no token

    assert client.get(f"/api/v1/material-lots/{s.api}", headers=tina).get_json()["status"] == "approved"
    assert status_of(client, tina, s.released) == "released"
    assert status_of(client, tina, s.quarantined) == "quarantine"
    assert [a for a in actions(app)[len(before) :] if not a.startswith("signature.")] == []

    not_recalled = client.get(f"/api/v1/material-lots/{s.api}/recall-report.pdf", headers=tina)
    assert not_recalled.status_code == 409
    assert "has not been recalled" in not_recalled.get_json()["error"]["message"]
    assert client.get("/api/v1/material-lots/LOT999999/recall-report.pdf", headers=tina).status_code == 404
    assert client.get(f"/api/v1/material-lots/{s.api}/recall-report.pdf").status_code == 401
