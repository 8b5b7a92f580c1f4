"""E-mail alerts on the pages: a person chooses them on their account page; an admin on the user's page."""

from qa_app.services import accounts
from tests.web.pages import field_error, input_value, sign_in, text, ticked


def chosen(app, username: str) -> tuple[str | None, list[str]]:
    with app.app_context():
        person = accounts.get_user(username)
        return person.email, person.alerts


def test_a_person_chooses_their_alerts_on_their_account_page(client, users, app):
    sign_in(client, "rob")
    page = text(client.get("/account/password"))
    assert "E-mail alerts" in page
    assert "A result is out of specification" in page
    assert "An approved material lot expires within 30 days" in page

    response = client.post(
        "/account/alerts", data={"email": "rob@pharmacy.example", "alerts": ["oos", "excursion"]}
    )
    assert response.status_code == 302
    assert chosen(app, "rob") == ("rob@pharmacy.example", ["excursion", "oos"])
    page = text(client.get("/account/password"))
    assert input_value(page, "email") == "rob@pharmacy.example"
    assert ticked(page, "alerts") == ["excursion", "oos"]


def test_a_wrong_address_comes_back_beside_its_field(client, users, app):
    sign_in(client, "rob")
    response = client.post("/account/alerts", data={"email": "rob at pharmacy", "alerts": ["oos"]})
    assert response.status_code == 400
    assert "such as name@pharmacy.example" in field_error(text(response), "email")
    assert chosen(app, "rob") == (None, [])


def test_an_admin_sets_a_persons_alerts_on_the_user_page(client, users, app):
    sign_in(client, "ada")
    assert "E-mail alerts" in text(client.get("/admin/users/tina"))
    response = client.post(
        "/admin/users/tina/alerts", data={"email": "tina@pharmacy.example", "alerts": ["lot_expiring"]}
    )
    assert response.status_code == 302
    assert chosen(app, "tina") == ("tina@pharmacy.example", ["lot_expiring"])
    refused = client.post("/admin/users/tina/alerts", data={"email": "", "alerts": ["oos"]})
    assert refused.status_code == 400
    assert "Enter the e-mail address" in field_error(text(refused), "email")


def test_only_an_admin_reaches_the_user_page_form(client, users):
    sign_in(client, "tina")
    assert (
        client.post("/admin/users/rob/alerts", data={"email": "x@y.example", "alerts": []}).status_code == 403
    )
