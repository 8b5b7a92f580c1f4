import json
from qa_app.extensions import db

def show(r):
    print(r.status_code, r.headers.get("Allow"), r.get_data(as_text=True)[:300])

def test_probe(client, users, auth):
    h = auth.token("ada")
    show(client.post("/api/v1/users", headers=h, data="[" * 100000 + "]" * 100000, content_type="application/json"))
    show(client.post("/api/v1/tokens", data='{"username":"ada","password":"\\ud800"}', content_type="application/json"))
    show(client.post("/api/v1/tokens", data='{"username":"a\\ud800","password":"x"}', content_type="application/json"))
    show(client.post("/api/v1/tokens", data='{"username":"a\\u0000b","password":"x"}', content_type="application/json"))
    show(client.get("/api/v1/users?page=100000000000000000000", headers=h))
    show(client.get("/api/v1/users?page=10000000000000000", headers=h))
    show(client.delete("/api/v1/users", headers=h))
    show(client.post("/api/v1/users", headers=h, json={"username": "chefuser", "full_name": "C", "roles": ["chef"], "password": "x"*12}))
    show(client.post("/api/v1/users", headers=h, json={"username": "u\u0000ser", "full_name": "C\u0000", "roles": ["technician"], "password": "x"*12}))
    show(client.post("/api/v1/users", headers=h, json={"username": "user2", "full_name": "C\ud800", "roles": ["technician"], "password": "x"*12}))
    show(client.get("/api/v1/audit?entity=us%00er", headers=h))
    show(client.get("/api/v1/audit?format=csv&key=%00", headers=h))
    show(client.post("/api/v1/users/ti%00na/deactivate", headers=h, json={}))
    show(client.post("/api/v1/users/tina/deactivate", headers=h, data="null", content_type="application/json"))
    show(client.post("/api/v1/users", headers=h, data='{"username": NaN}', content_type="application/json"))
    show(client.post("/api/v1/users", headers=h, data=b'{"username": "\xff"}', content_type="application/json"))
    show(client.get("/api/v1/users", headers={"Authorization": "Bearer a\x00b"}))
