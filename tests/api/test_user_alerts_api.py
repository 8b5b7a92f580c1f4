"""PUT /api/v1/users/{username}/alerts: a person chooses their e-mail alerts; an admin may too."""

from tests.api.conftest import actions


def test_a_person_chooses_their_own_alerts(client, users, auth, app):
    rob = auth.token(users["reviewer"])
    response = client.put(
        "/api/v1/users/rob/alerts",
        json={"email": "rob@pharmacy.example", "alerts": ["oos", "excursion"]},
        headers=rob,
    )
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["email"], body["alerts"]) == ("rob@pharmacy.example", ["excursion", "oos"])
    assert actions(app, key="rob")[-1] == "user.alerts_changed"

    # Left out, the address stays; an empty list stops every alert.
    response = client.put("/api/v1/users/rob/alerts", json={"alerts": []}, headers=rob)
    assert (response.get_json()["email"], response.get_json()["alerts"]) == ("rob@pharmacy.example", [])


def test_an_admin_sets_anyones_alerts_and_sees_them_in_the_list(client, users, admin):
    response = client.put(
        "/api/v1/users/tina/alerts",
        json={"email": "tina@pharmacy.example", "alerts": ["lot_expiring", "batch_near_bud"]},
        headers=admin,
    )
    assert response.status_code == 200
    listed = {u["username"]: u for u in client.get("/api/v1/users", headers=admin).get_json()["items"]}
    assert (listed["tina"]["email"], listed["tina"]["alerts"]) == (
        "tina@pharmacy.example",
        ["lot_expiring", "batch_near_bud"],
    )
    assert (listed["rob"]["email"], listed["rob"]["alerts"]) == (None, [])


def test_nobody_else_may_choose_a_persons_alerts(client, users, auth, app):
    before = actions(app)
    tina = auth.token(users["technician"])
    response = client.put(
        "/api/v1/users/rob/alerts", json={"email": "tina@pharmacy.example", "alerts": ["oos"]}, headers=tina
    )
    assert response.status_code == 403
    assert "Only the person themself or an administrator" in response.get_json()["error"]["message"]
    assert (
        client.put("/api/v1/users/nobody-here/alerts", json={"alerts": []}, headers=tina).status_code == 403
    )
    assert actions(app)[len(before) :] == ["token.issued"]  # the token; nothing changed


def test_a_wrong_address_is_refused_naming_email(client, users, auth):
    rob = auth.token(users["reviewer"])
    response = client.put(
        "/api/v1/users/rob/alerts", json={"email": "rob at pharmacy", "alerts": ["oos"]}, headers=rob
    )
    assert response.status_code == 400
    assert list(response.get_json()["error"]["fields"]) == ["email"]
    response = client.put("/api/v1/users/rob/alerts", json={"email": None, "alerts": ["oos"]}, headers=rob)
    assert response.get_json()["error"]["fields"] == {
        "email": "Enter the e-mail address the chosen alerts are sent to, or choose no alerts."
    }


def test_an_unknown_kind_is_refused_naming_alerts(client, users, auth):
    rob = auth.token(users["reviewer"])
    response = client.put(
        "/api/v1/users/rob/alerts", json={"email": "rob@pharmacy.example", "alerts": ["weather"]}, headers=rob
    )
    assert response.status_code == 400
    assert response.get_json()["error"]["fields"] == {
        "alerts": "Unknown alert kind weather; use excursion, oos, trend_signal, lot_expiring, batch_near_bud."
    }


def test_a_new_user_can_be_created_with_alerts(client, users, admin):
    response = client.post(
        "/api/v1/users",
        json={
            "username": "nina",
            "full_name": "Nina Night",
            "roles": ["reviewer"],
            "password": "another-long-password",
            "email": "nina@pharmacy.example",
            "alerts": ["excursion"],
        },
        headers=admin,
    )
    assert response.status_code == 201, response.get_json()
    assert (response.get_json()["email"], response.get_json()["alerts"]) == (
        "nina@pharmacy.example",
        ["excursion"],
    )
    refused = client.post(
        "/api/v1/users",
        json={
            "username": "nora",
            "full_name": "Nora Night",
            "roles": ["reviewer"],
            "password": "another-long-password",
            "alerts": ["oos"],
        },
        headers=admin,
    )
    assert refused.status_code == 400
    assert list(refused.get_json()["error"]["fields"]) == ["email"]
    assert client.get("/api/v1/users", headers=admin).get_json()["total"] == 5  # four and nina, no nora
