"""Reading a page the way a person does: its messages, what the fields hold, the errors beside them."""

import html
import re
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.conftest import PASSWORD


def text(response: TestResponse) -> str:
    return response.get_data(as_text=True)


def _clean(fragment: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", fragment)).split())


def messages(page: str) -> list[str]:
    """The flashes and alerts shown above the content, in page order."""
    pattern = r'<p[^>]*\brole="(?:alert|status)"[^>]*>(.*?)</p>'
    return [_clean(m) for m in re.findall(pattern, page, re.S)]


def field_error(page: str, field_id: str) -> str | None:
    """The message printed beside a field (the ``<small id="…-error">`` the field points to)."""
    match = re.search(rf'<small id="{re.escape(field_id)}-error"[^>]*>(.*?)</small>', page, re.S)
    return _clean(match.group(1)) if match else None


class _Inputs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.inputs: list[dict[str, str | None]] = []
        self.ids: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if attributes.get("id"):
            self.ids.append(attributes["id"])
        if tag == "input":
            self.inputs.append(attributes)


def _parse(page: str) -> _Inputs:
    parser = _Inputs()
    parser.feed(page)
    return parser


def input_value(page: str, name: str) -> str | None:
    """What the first input called ``name`` holds, as the browser would show it."""
    for attributes in _parse(page).inputs:
        if attributes.get("name") == name:
            return attributes.get("value") or ""
    return None


def ticked(page: str, name: str) -> list[str]:
    """The values of the ticked checkboxes called ``name``."""
    return [
        a["value"] or ""
        for a in _parse(page).inputs
        if a.get("name") == name and a.get("type") == "checkbox" and "checked" in a
    ]


def element_ids(page: str) -> list[str]:
    return _parse(page).ids


def csrf_token(page: str) -> str:
    token = input_value(page, "csrf_token")
    assert token, "the page has no CSRF token field"
    return token


def sent_to_sign_in(response: TestResponse) -> bool:
    """A redirect to the sign-in page that brings the person back afterwards."""
    if response.status_code != 302:
        return False
    location = urlsplit(response.headers["Location"])
    return location.path == "/login" and "next" in parse_qs(location.query)


def sign_in(client: FlaskClient, username: str, password: str = PASSWORD) -> TestResponse:
    """Sign in through the form; returns the answer to the POST."""
    return client.post("/login", data={"username": username, "password": password})
