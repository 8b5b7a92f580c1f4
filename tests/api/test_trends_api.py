"""Trending through the JSON API: the chart of an attribute per formula and strength, the
signals waiting for a reviewer, and their acknowledgement (api.md, domain.md §10)."""

import pytest

from qa_app.models import TrendSignal
from qa_app.services import clock
from tests.api.conftest import actions, count
from tests.builders import setup_master_data
from tests.services.test_trends import VECTOR, assayed_batches

DRIFT = [100.0, 99.0, 101.0, 100.0, 99.0, 101.0, 100.0, 99.0, 101.0, 100.0] + [102.0] * 9


@pytest.fixture
def lots(app, users):
    with app.app_context():
        return setup_master_data(clock.today())


@pytest.fixture
def rob(auth, lots):
    return auth.token("rob")


def made(app, values: list[float], strength: float = 1.5) -> list[str]:
    with app.app_context():
        return assayed_batches(values, strength)


def trend(client, headers, **query):
    return client.get("/api/v1/trends", query_string=query, headers=headers)


def open_signals(client, headers):
    response = client.get("/api/v1/trend-signals", query_string={"open": "true"}, headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["items"]


def test_the_public_vector_gives_the_documented_chart(app, client, rob, auth):
    lots_made = made(app, VECTOR)
    for who in ("rob", "ada", "ivan"):
        response = trend(client, auth.token(who), formula="LDN-CAP", strength="1.5", attribute="assay")
        assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert [p["lot_number"] for p in body["points"]] == lots_made
    assert [p["value"] for p in body["points"]] == [98.0, 99.0, 100.0, 101.0, 102.0, 101.0, 100.0, 99.0]
    assert body["points"][0]["compounded_at"].endswith("Z")
    assert (body["center"], body["mr_bar"], body["sigma"]) == (100.0, 1.0, 0.8865)
    assert (body["lcl"], body["ucl"]) == (97.34, 102.66)
    assert (body["lsl"], body["usl"]) == (90.0, 110.0)
    assert body["signals"] == []
    assert body["capability"] is None


def test_under_eight_points_the_limits_are_null_and_the_note_says_why(app, client, rob):
    made(app, [99.0, 100.0, 101.0])
    body = trend(client, rob, formula="ldn-cap").get_json()
    assert body["attribute"] == "assay"
    assert (body["center"], body["ucl"], body["lcl"]) == (100.0, None, None)
    assert body["note"] == "Control limits are shown from 8 points on; this series has 3 points."


def test_a_strength_and_a_period_choose_the_batches(app, client, rob):
    made(app, [99.0, 101.0], strength=1.5)
    made(app, [97.0], strength=3.0)
    assert [p["value"] for p in trend(client, rob, formula="LDN-CAP", strength="3").get_json()["points"]] == [
        97.0
    ]
    assert len(trend(client, rob, formula="LDN-CAP").get_json()["points"]) == 3
    with app.app_context():
        today = clock.today()
    assert (
        trend(client, rob, formula="LDN-CAP", to=str(today.replace(year=today.year - 1))).get_json()["points"]
        == []
    )


def test_a_rule_2_drift_is_a_signal_listed_until_a_reviewer_acknowledges_it(app, client, rob):
    lots_made = made(app, DRIFT)
    body = trend(client, rob, formula="LDN-CAP", strength="1.5", attribute="assay").get_json()
    assert [{"rule": s["rule"], "lot_number": s["lot_number"]} for s in body["signals"]] == [
        {"rule": 2, "lot_number": lots_made[-1]}
    ]
    waiting = open_signals(client, rob)
    assert [
        (s["rule"], s["lot_number"], s["formula"], s["strength_mg"], s["attribute"]) for s in waiting
    ] == [(2, lots_made[-1], "LDN-CAP", 1.5, "assay")]
    signal_id = waiting[0]["id"]

    refused = client.post(
        f"/api/v1/trend-signals/{signal_id}/acknowledge", json={"comment": "  "}, headers=rob
    )
    assert refused.status_code == 400
    assert "comment" in refused.get_json()["error"]["fields"]
    missing = client.post(f"/api/v1/trend-signals/{signal_id}/acknowledge", json={}, headers=rob)
    assert missing.status_code == 400
    assert missing.get_json()["error"]["fields"] == {"comment": "Required."}

    done = client.post(
        f"/api/v1/trend-signals/{signal_id}/acknowledge",
        json={"comment": "New MCC lot since batch 11; blend time checked."},
        headers=rob,
    )
    assert done.status_code == 200, done.get_json()
    signal = done.get_json()
    assert (signal["acknowledged"], signal["acknowledged_by"]) == (True, "rob")
    assert signal["comment"] == "New MCC lot since batch 11; blend time checked."
    assert open_signals(client, rob) == []
    everything = client.get("/api/v1/trend-signals", headers=rob).get_json()
    assert [s["id"] for s in everything["items"]] == [signal_id]
    assert actions(app, key=str(signal_id)) == ["trend.signal", "trend.signal_acknowledged"]

    again = client.post(
        f"/api/v1/trend-signals/{signal_id}/acknowledge", json={"comment": "again"}, headers=rob
    )
    assert again.status_code == 409
    assert "acknowledged already" in again.get_json()["error"]["message"]


def test_an_unknown_signal_is_404(client, rob):
    response = client.post("/api/v1/trend-signals/999/acknowledge", json={"comment": "seen"}, headers=rob)
    assert response.status_code == 404


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"attribute": "potency"}, "attribute"),
        ({"strength": "abc"}, "strength"),
        ({"strength": "1,5"}, "strength"),
        ({"strength": "9"}, "strength"),
        ({"from": "2026-13-01"}, "from"),
        ({"to": "yesterday"}, "to"),
        ({"from": "2026-03-02", "to": "2026-03-01"}, "to"),
    ],
)
def test_a_bad_query_value_is_400_naming_it(client, rob, query, field):
    response = trend(client, rob, formula="LDN-CAP", **query)
    assert response.status_code == 400
    assert list(response.get_json()["error"]["fields"]) == [field]


def test_the_formula_is_needed_and_must_exist(client, rob):
    missing = trend(client, rob)
    assert missing.status_code == 400
    assert list(missing.get_json()["error"]["fields"]) == ["formula"]
    assert trend(client, rob, formula="NO-SUCH").status_code == 404


def test_an_open_filter_other_than_true_or_false_is_400(client, rob):
    response = client.get("/api/v1/trend-signals", query_string={"open": "maybe"}, headers=rob)
    assert response.status_code == 400
    assert list(response.get_json()["error"]["fields"]) == ["open"]


def test_technicians_may_not_read_trends_and_only_reviewers_work_signals(app, client, auth, lots):
    made(app, DRIFT)
    signal_id = open_signals(client, auth.token("rob"))[0]["id"]
    tina, ada, ivan = auth.token("tina"), auth.token("ada"), auth.token("ivan")
    assert trend(client, tina, formula="LDN-CAP").status_code == 403
    for headers in (tina, ada, ivan):
        assert client.get("/api/v1/trend-signals", headers=headers).status_code == 403
        response = client.post(
            f"/api/v1/trend-signals/{signal_id}/acknowledge", json={"comment": "seen"}, headers=headers
        )
        assert response.status_code == 403
    assert count(app, TrendSignal) == 1
    assert len(open_signals(client, auth.token("rob"))) == 1
