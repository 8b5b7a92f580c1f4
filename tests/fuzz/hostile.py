"""The hostile-input corpus and the small tools that carry it into forms, JSON and CSV.

The corpus is ordered most dangerous first: an action that succeeds may use its record up, and
the tests then make a fresh one, but a value that is refused must never depend on that.
"""

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any


@dataclass(frozen=True)
class Hostile:
    """One hostile value: its name, its raw JSON token, and the text typed into a form field.

    ``text`` is None for what no browser can send (a lone surrogate). ``finite`` is False for
    numbers no field may take; JSON carries them as NaN, Infinity, 1e309 (read as infinity) or
    a 400-digit integer.
    """

    name: str
    token: str
    text: str | None
    finite: bool = True

    @property
    def is_number(self) -> bool:
        return not self.token.startswith('"')


def _text(name: str, value: str) -> Hostile:
    return Hostile(name, json.dumps(value), value)


TEXTS = [
    _text("100k characters", "A" * 100_000),
    _text("NUL", "lot\x00"),
    Hostile("lone surrogate", '"\\ud800"', None),
    _text("control characters", "\x07ring \x1b[31mred\x1b[0m"),
    _text("CRLF", "one\r\ntwo"),
    _text("odd Unicode", "\u202eexe.txt a\u200db e\u0301\u0302 \U0001f48a\U0001f469\u200d\U0001f52c"),
    _text("script tag", "<script>alert(1)</script>"),
    _text("img onerror", '"><img src=x onerror=alert(1)>'),
    _text("SQL drop", "'; DROP TABLE batch; --"),
    _text("SQL or", "1 OR 1=1"),
    _text("NaN as text", "NaN"),
    _text("Infinity as text", "Infinity"),
]
# What a date or time field gets besides the texts: the ends of the calendar, where the day after
# (or a shift to UTC) does not exist.
DATES = [_text("the last day there is", "9999-12-31"), _text("the first day there is", "0001-01-01")]
NUMBERS = [
    Hostile("10**400", "1" + "0" * 400, "1" + "0" * 400, finite=False),
    Hostile("1e309", "1e309", "1e309", finite=False),
    Hostile("NaN", "NaN", "NaN", finite=False),
    Hostile("Infinity", "Infinity", "Infinity", finite=False),
    Hostile("-Infinity", "-Infinity", "-Infinity", finite=False),
    Hostile("1e308", "1e308", "1e308"),
    Hostile("10**30", "1" + "0" * 30, "1" + "0" * 30),  # a whole number past any integer column
    Hostile("negative zero", "-0.0", "-0"),
]
# Numbers that float() or Decimal() read but that are not plain ASCII decimals: a person checking
# the record would not read them as the number stored (225,3 is not 225 and 3). No field, CSV
# column or list of weights that holds an amount may take them.
NOT_PLAIN = [
    _text("digit groups", "1_000"),
    _text("Arabic-Indic digits", "\u0662\u0662\u0665"),
    _text("full-width digits", "\uff12\uff12\uff15"),
    _text("decimal comma", "225,3"),
    _text("exponent", "2.25e2"),
    _text("signalling NaN", "sNaN"),
]
# What a number field gets: the numbers, and text where a number belongs.
FOR_NUMBERS = NUMBERS + [h for h in TEXTS if h.name in ("NaN as text", "SQL or", "script tag")] + NOT_PLAIN
# What a form field gets: everything a browser can send, once each.
FOR_FORMS = [h for h in TEXTS if h.text is not None] + [
    h for h in NUMBERS if h.text not in ("NaN", "Infinity")
]

# Markup that must never come back raw in a page.
RAW_MARKUP = ("<script>alert(1)</script>", "<img src=x onerror=alert(1)>")
ESCAPED_SCRIPT = "&lt;script&gt;alert(1)&lt;/script&gt;"


# --- JSON bodies ------------------------------------------------------------------------------

Path = tuple[str | int, ...]
_SLOT = "\ue000hostile\ue000"


def dotted(path: Path) -> str:
    return ".".join(str(part) for part in path)


def leaf_fields(
    schema: dict[str, Any], components: dict[str, Any], path: Path = ()
) -> Iterator[tuple[Path, str]]:
    """(path, "text" | "date" | "number" | "both") of every string or number a schema describes."""
    if "$ref" in schema:
        schema = components[schema["$ref"].rsplit("/", 1)[1]]
    for alternative in schema.get("oneOf", []) + schema.get("anyOf", []):
        yield from leaf_fields(alternative, components, path)
    kinds = schema.get("type", [])
    kinds = set(kinds if isinstance(kinds, list) else [kinds])
    if "object" in kinds or "properties" in schema:
        for name, sub in schema.get("properties", {}).items():
            yield from leaf_fields(sub, components, (*path, name))
    elif "array" in kinds:
        yield from leaf_fields(schema.get("items", {}), components, (*path, 0))
    elif kinds & {"string", "number", "integer"}:
        text, number = "string" in kinds, bool(kinds & {"number", "integer"})
        if text and schema.get("format") in ("date", "date-time"):
            yield path, "date"
        else:
            yield path, "both" if text and number else "text" if text else "number"


def body_leaves(body: Any, path: Path = ()) -> Iterator[tuple[Path, str]]:
    """The same for a baseline body, for objects the schema leaves open (readings)."""
    if isinstance(body, dict):
        for name, value in body.items():
            yield from body_leaves(value, (*path, name))
    elif isinstance(body, list) and body:
        yield from body_leaves(body[0], (*path, 0))
    elif isinstance(body, str):
        yield path, "text"
    elif isinstance(body, int | float) and not isinstance(body, bool):
        yield path, "number"


def with_token(body: dict[str, Any], path: Path, token: str) -> str:
    """``body`` as JSON text with the raw ``token`` at ``path`` (created if missing)."""
    copy = json.loads(json.dumps(body))
    node: Any = copy
    for part, after in zip(path, path[1:], strict=False):
        if isinstance(node, list):
            while len(node) <= part:
                node.append([] if isinstance(after, int) else {})
            node = node[part]
        else:
            node = node.setdefault(part, [] if isinstance(after, int) else {})
    last = path[-1]
    if isinstance(node, list):
        while len(node) <= last:
            node.append(None)
    node[last] = _SLOT
    return json.dumps(copy).replace(json.dumps(_SLOT), token)


def value_at(document: Any, path: Path) -> Any:
    for part in path:
        if isinstance(document, list) and isinstance(part, int) and part < len(document):
            document = document[part]
            continue
        if not isinstance(document, dict) or part not in document:
            return None
        document = document[part]
    return document


def names_field(fields: dict[str, str], path: Path) -> bool:
    """An error's ``fields`` names the field at ``path``, an object holding it, or a part of it."""
    name = dotted(path)
    return any(key == name or name.startswith(key + ".") or key.startswith(name + ".") for key in fields)


# --- HTML forms -------------------------------------------------------------------------------


@dataclass
class Form:
    action: str
    method: str
    fields: dict[str, list[str]]  # name → the values the page fills in
    kinds: dict[str, str]  # name → input type (text, file, hidden, select, textarea, checkbox, ...)


class FormParser(HTMLParser):
    """The forms of a page with each field's default value, as a browser would submit them."""

    def __init__(self, page_url: str) -> None:
        super().__init__(convert_charrefs=True)
        self.page_url = page_url
        self.forms: list[Form] = []
        self._form: Form | None = None
        self._select: str | None = None
        self._textarea: str | None = None
        self._options: list[tuple[str, bool]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        form = self._form
        if tag == "form":
            action = (a.get("action") or self.page_url).split("#")[0]
            self._form = Form(action, (a.get("method") or "get").lower(), {}, {})
            self.forms.append(self._form)
        elif form is None or not a.get("name"):
            if tag == "option" and self._select is not None:
                self._options.append((a.get("value", ""), "selected" in a))
            return
        elif tag == "input":
            kind = a.get("type", "text").lower()
            placeholder = a.get("placeholder", "")
            if kind == "text" and placeholder.startswith("YYYY-MM-DD"):  # a date typed as ISO text
                kind = "datetime-local" if "HH:MM" in placeholder else "date"
            numeric = kind == "text" and a.get("inputmode") in ("decimal", "numeric")
            form.kinds[a["name"]] = "number" if numeric else kind
            values = form.fields.setdefault(a["name"], [])
            if kind in ("checkbox", "radio"):
                if "checked" in a:
                    values.append(a.get("value", "on"))
            elif kind not in ("submit", "button", "reset", "image"):
                values.append(a.get("value", ""))
        elif tag == "select":
            self._select, self._options = a["name"], []
            form.kinds[a["name"]] = "select"
        elif tag == "textarea":
            self._textarea = a["name"]
            form.kinds[a["name"]] = "textarea"
            form.fields[a["name"]] = [""]

    def handle_data(self, data: str) -> None:
        if self._form is not None and self._textarea is not None:
            self._form.fields[self._textarea][0] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "textarea":
            if self._form is not None and self._textarea is not None:
                value = self._form.fields[self._textarea][0]
                self._form.fields[self._textarea][0] = value.removeprefix("\r").removeprefix("\n")
            self._textarea = None
        elif tag == "select" and self._form is not None and self._select is not None:
            chosen = [v for v, selected in self._options if selected] or [v for v, _ in self._options[:1]]
            self._form.fields[self._select] = chosen
            self._select = None


def forms_of(html: str, page_url: str) -> list[Form]:
    parser = FormParser(page_url)
    parser.feed(html)
    return parser.forms


def csrf_token(html: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or re.search(
        r'value="([^"]+)"[^>]*name="csrf_token"', html
    )
    assert match, "the page has no CSRF token"
    return match.group(1)
