def test_health_answers_ok_with_the_database(client):
    response = client.get("/api/v1/health")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}


def test_a_token_opens_the_user_list_for_an_admin(client, users, auth):
    headers = auth.token("ada")
    body = client.get("/api/v1/users", headers=headers).get_json()
    assert body["total"] == 4
    assert [u["username"] for u in body["items"]] == ["ada", "ivan", "rob", "tina"]
