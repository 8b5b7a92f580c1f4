"""Every page of every role in Chromium at 1366 and 1024 px wide: no serious or critical axe-core
violation, no page wider than the window at 1024 px, the filter bars on one line at 1366 px and
wrapping inside the window at 1024 px, and forms that work with the keyboard alone.

The demonstration data is loaded once for the module (released, rejected, recalled and draft
batches, a batch on hold for an excursion, lots in quarantine, a trend signal, balances with their
checks), with a few additions: an open investigation, a recalled supplier lot and a certificate
ZIP. The pages are found by walking the application's URL map, so a new page is visited (or
listed below with the reason it is not) without anyone remembering to add it.
"""

import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from axe_playwright_python.sync_playwright import Axe
from flask import Flask, url_for
from playwright.sync_api import Page
from werkzeug.serving import make_server

from qa_app.demo import DEMO_PASSWORD, load_demo
from qa_app.extensions import db
from qa_app.models import Batch, Certificate, Excursion, Formula, MaterialLot, Result, TrendSignal, User
from qa_app.services import clock, exports, investigations, recalls, results
from qa_app.services.signatures import SignatureInput
from tests.conftest import build_app
from tests.databases import DatabaseFactory
from tests.e2e.conftest import _screenshot_if_failed

pytestmark = pytest.mark.e2e

ROLES = {"technician": "tech", "reviewer": "reviewer", "admin": "admin"}
WIDTHS = (1366, 1024)
HEIGHT = 900
SERIOUS = ("serious", "critical")

# GET endpoints that are not HTML pages, or not pages of their own: each with its reason.
SKIPPED = {
    "static": "stylesheets, scripts and images",
    "audit.export_csv": "a CSV download",
    "batches.label": "a PDF label",
    "materials.label": "a PDF label",
    "materials.recall_report": "a PDF report",
    "formulas.review_pdf": "a PDF annual product review",
    "review.certificate_pdf": "a PDF certificate",
    "review.record_pdf": "a PDF batch record",
    "review.export_download": "a ZIP of certificates",
    "materials.check": "an htmx answer put into the lots and batch pages, visited with them",
}
# Pages anyone may open: visited before signing in.
PUBLIC = ("auth.login", "verify.lookup", "verify.certificate")
# Filter bars: (the list page, the form's accessible name).
FILTER_BARS = {
    "lots": ("/lots/", "Filter the lots"),
    "batches": ("/batches/", "Filter the batches"),
    "audit": ("/audit/", "Filter the audit trail"),
    "excursions": ("/storage/excursions", "Filter the excursions"),
}
SHOTS = Path(tempfile.gettempdir()) / "shots-axe"
# Lists shown ten rows long: more rows repeat the same markup and only slow axe-core down.
SHORT_LISTS = {"batches.index", "audit.events", "materials.index", "storage.excursions_list", "storage.unit"}
AXE = Axe()


@dataclass(frozen=True)
class Visit:
    """One page to open: the endpoint it belongs to and the URL with its parameters filled."""

    endpoint: str
    url: str


def _is_api(endpoint: str) -> bool:
    return endpoint.startswith("api.")


def html_get_endpoints(app: Flask) -> set[str]:
    """Every endpoint a browser may GET that is not part of the JSON API."""
    return {
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if "GET" in (rule.methods or ()) and not _is_api(rule.endpoint)
    }


def _sign(username: str, meaning: str) -> SignatureInput:
    return SignatureInput(username, DEMO_PASSWORD, meaning)


def _demo_user(username: str) -> User:
    return db.session.scalar(sa.select(User).where(User.username == username))


def _open_investigation() -> str:
    """A quarantined batch with an out-of-specification assay under an open investigation."""
    batch = db.session.scalar(
        sa.select(Batch)
        .where(Batch.status == "quarantine", ~sa.exists().where(Result.batch_id == Batch.id))
        .order_by(Batch.compounded_at.desc())
    )
    failed = results.record_result(
        _demo_user("tech"), batch.lot_number, test="assay", value=84.0, analyst="Lab: K. Osei"
    )
    investigations.open_investigation(
        _demo_user("reviewer"), batch.lot_number, result_id=failed.id, retests_allowed=1
    )
    return batch.lot_number


def _seed() -> dict[str, list[dict[str, object]]]:
    """The demonstration data and its additions; returns the path parameters of each page."""
    load_demo()
    investigated = _open_investigation()
    unused_api = db.session.scalar(
        sa.select(MaterialLot.barcode).where(MaterialLot.supplier_lot == "PC-88231")
    )
    recalls.recall_lot(
        _demo_user("reviewer"),
        unused_api,
        _sign("reviewer", "recalled"),
        "Supplier notice PC-R12: particulates",
    )
    export = exports.start(_demo_user("reviewer"), clock.today() - timedelta(days=60), clock.today())
    exports.run(_demo_user("reviewer"), export.id)
    db.session.commit()
    return _parameters(investigated, unused_api, export.id)


def _lot_of(status: str) -> str:
    return db.session.scalar(
        sa.select(Batch.lot_number).where(Batch.status == status).order_by(Batch.compounded_at.desc())
    )


def _parameters(investigated: str, recalled_lot: str, export_id: int) -> dict[str, list[dict[str, object]]]:
    """Path parameters per endpoint: several batches for the pages whose look depends on the state."""
    batches = [
        {"lot_number": _lot_of(s)} for s in ("draft", "on_hold", "released", "recalled", "awaiting_release")
    ]
    batches.append({"lot_number": investigated})
    certificate = db.session.scalar(sa.select(Certificate).where(Certificate.status == "valid"))
    quarantined_lot = db.session.scalar(
        sa.select(MaterialLot.barcode).where(MaterialLot.status == "quarantine")
    )
    held_excursion = db.session.scalar(
        sa.select(Excursion.id).where(Excursion.classification != "within").order_by(Excursion.start.desc())
    )
    signal_formula = db.session.scalar(
        sa.select(Formula.code).join(TrendSignal, TrendSignal.formula_id == Formula.id)
    )
    return {
        "admin.user": [{"username": "tech"}],
        "balances.balance": [{"balance_code": "AB204-02"}],
        "balances.edit": [{"balance_code": "XS205-01"}],
        "batches.record": batches,
        "formulas.formula": [{"code": "LDN-CAP"}, {"code": "LDN-LIQ-1"}],
        "formulas.new_version": [{"code": "LDN-CAP"}],
        "materials.lot": [{"barcode": quarantined_lot}, {"barcode": recalled_lot}],
        "materials.recall_page": [{"barcode": recalled_lot}],
        "materials.edit_material": [{"material_code": "NTX-HCL"}],
        "review.page": [{"lot_number": _lot_of("awaiting_release")}, {"lot_number": _lot_of("released")}],
        "review.export": [{"export_id": export_id}],
        "storage.unit": [{"unit_code": "FRIDGE-1"}],
        "storage.excursion": [{"excursion_id": held_excursion}],
        "trends.formula": [{"code": signal_formula}],
        "verify.certificate": [{"number": certificate.number, "code": certificate.verification_code}],
    }


@dataclass(frozen=True)
class Site:
    app: Flask
    url: str
    visits: list[Visit]


def _visits(app: Flask, parameters: dict[str, list[dict[str, object]]]) -> list[Visit]:
    """Every HTML GET page with its parameters filled, and the page a missing record shows."""
    visits = [Visit("errors.not_found", "/lots/NO-SUCH-LOT")]
    with app.test_request_context():
        for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
            endpoint = rule.endpoint
            if endpoint in SKIPPED or _is_api(endpoint) or "GET" not in (rule.methods or ()):
                continue
            short = {"per_page": 10} if endpoint in SHORT_LISTS else {}
            if not rule.arguments:
                visits.append(Visit(endpoint, url_for(endpoint, **short)))
            for values in parameters.get(endpoint, []) if rule.arguments else []:
                visits.append(Visit(endpoint, url_for(endpoint, **values, **short)))
    return list(dict.fromkeys(visits))


@pytest.fixture(scope="module")
def site(databases: DatabaseFactory, tmp_path_factory) -> Iterator[Site]:
    """The demonstration pharmacy, served on a port of its own for the whole module."""
    url = databases.new_url(template=True)
    app = build_app(url, str(tmp_path_factory.mktemp("axe-instance")))
    with app.app_context():
        parameters = _seed()
        db.session.remove()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield Site(app, f"http://127.0.0.1:{server.server_port}", _visits(app, parameters))
    server.shutdown()
    thread.join(timeout=5)
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    databases.drop(url)


@pytest.fixture
def sized(browser, request):
    """A page of the requested width (``request.param``) and 900 px high."""

    def open_page(width: int) -> Page:
        context = browser.new_context(viewport={"width": width, "height": HEIGHT})
        context.add_init_script(script=AXE.axe_script)  # axe-core in every page, before its own scripts
        opened.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        return page

    opened: list = []
    yield open_page
    for context in opened:
        if context.pages:
            _screenshot_if_failed(context.pages[0], request)
        context.close()


def sign_in(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_label("Password").press("Enter")
    page.wait_for_url(f"{base}/")


def serious_violations(page: Page, label: str) -> list[str]:
    """The page's serious and critical axe-core violations: page, rule, first target, and why."""
    found = []
    for violation in page.evaluate("axe.run(document, {resultTypes: ['violations']})")["violations"]:
        if violation.get("impact") in SERIOUS:
            nodes = violation["nodes"]
            first = " ".join(nodes[0]["target"]) if nodes else "?"
            found.append(
                f"{label}: {violation['id']} ({violation['impact']}, {len(nodes)} element(s)) "
                f"at {first}: {violation['help']}"
            )
    return found


def document_overflow(page: Page) -> int:
    """How many pixels the document is wider than the window (0: no horizontal scroll)."""
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


def check_page(page: Page, base: str, visit: Visit, width: int) -> list[str]:
    """Open one page; its problems as sentences (none when the role may not open it)."""
    response = page.goto(base + visit.url)
    status = response.status if response else 0
    if status == 403:
        return []
    label = f"{visit.url} [{visit.endpoint}]"
    expected = 404 if visit.endpoint == "errors.not_found" else 200
    if status != expected:
        return [f"{label}: answered {status}, not {expected}"]
    problems = serious_violations(page, label)
    overflow = document_overflow(page)
    if overflow > 0:
        problems.append(f"{label}: the page is {overflow} px wider than the {width} px window")
    return problems


def test_every_html_page_is_visited_or_skipped_with_a_reason(site):
    visited = {v.endpoint for v in site.visits}
    forgotten = html_get_endpoints(site.app) - visited - set(SKIPPED)
    assert not forgotten, f"pages neither visited nor listed in SKIPPED: {sorted(forgotten)}"
    assert not set(SKIPPED) - html_get_endpoints(site.app), "SKIPPED names endpoints that no longer exist"
    # A page no role may open would be skipped by every pass below without a word: each opens for one.
    opened = {v for v in site.visits if v.endpoint in PUBLIC or v.endpoint == "errors.not_found"}
    for username in ROLES.values():
        client = site.app.test_client()
        client.post("/login", data={"username": username, "password": DEMO_PASSWORD})
        opened |= {v for v in site.visits if client.get(v.url).status_code == 200}
    assert not [v.url for v in site.visits if v not in opened], "pages no role could open"


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("role", list(ROLES))
def test_every_page_of_the_role_passes_axe_and_fits_the_window(site, sized, role, width):
    page = sized(width)
    problems = []
    for visit in site.visits:
        if visit.endpoint in PUBLIC:
            problems.extend(check_page(page, site.url, visit, width))
    sign_in(page, site.url, ROLES[role])
    for visit in site.visits:
        if visit.endpoint not in PUBLIC and visit.endpoint != "auth.login":
            problems.extend(check_page(page, site.url, visit, width))
    assert not problems, f"{len(problems)} problem(s) for the {role} at {width} px:\n" + "\n".join(problems)


# --- the filter bars ---------------------------------------------------------------------------

CONTROLS = "input:not([type=hidden]), select, button"


def boxes(page: Page, selector: str) -> list[dict[str, float]]:
    """The boxes of the matching elements, in page pixels."""
    return [box for box in (each.bounding_box() for each in page.locator(selector).all()) if box]


def filter_bar(page: Page, base: str, path: str, name: str) -> str:
    """Open a list page; the selector of its filter bar's controls."""
    response = page.goto(base + path)
    assert response and response.status == 200, f"{path} answered {response.status if response else 0}"
    return f'form[role="search"][aria-label="{name}"] :is({CONTROLS})'


@pytest.mark.parametrize("bar", list(FILTER_BARS))
def test_a_filter_bar_is_one_line_at_1366_px(site, sized, bar):
    page = sized(1366)
    sign_in(page, site.url, ROLES["reviewer"])
    path, name = FILTER_BARS[bar]
    controls = boxes(page, filter_bar(page, site.url, path, name))
    assert len(controls) >= 3, f"the {bar} filter bar has {len(controls)} controls"
    tops = [round(box["y"]) for box in controls]
    assert max(tops) - min(tops) <= 3, f"the {bar} filter bar's controls start at heights {tops} px"
    clear = page.locator(f'form[role="search"][aria-label="{name}"] a').first.bounding_box()
    button = controls[-1]
    middle = clear["y"] + clear["height"] / 2
    assert button["y"] <= middle <= button["y"] + button["height"], (
        f"the {bar} bar's clear link is on a line of its own"
    )
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{bar}-1366.png"))


@pytest.mark.parametrize("bar", list(FILTER_BARS))
def test_a_filter_bar_wraps_inside_the_window_at_1024_px(site, sized, bar):
    page = sized(1024)
    sign_in(page, site.url, ROLES["reviewer"])
    path, name = FILTER_BARS[bar]
    controls = boxes(page, filter_bar(page, site.url, path, name))
    width = page.evaluate("window.innerWidth")
    outside = [box for box in controls if box["x"] < 0 or box["x"] + box["width"] > width]
    assert not outside, (
        f"{len(outside)} of the {bar} filter bar's controls reach beyond the {width} px window"
    )
    assert document_overflow(page) <= 0, f"the {bar} list scrolls sideways at 1024 px"
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{bar}-1024.png"))


# --- the keyboard alone ------------------------------------------------------------------------


def focus_outline(page: Page) -> dict[str, str]:
    """The focused element: its tag, name or id, and the outline drawn around it."""
    return page.evaluate(
        """() => { const e = document.activeElement, s = getComputedStyle(e);
        return {tag: e.tagName, id: e.id || e.name || e.textContent.trim().slice(0, 30),
                style: s.outlineStyle, width: s.outlineWidth}; }"""
    )


def tab_to(page: Page, element_id: str, most: int = 40) -> list[dict[str, str]]:
    """Press Tab until the element with ``element_id`` has the focus; every stop on the way."""
    stops: list[dict[str, str]] = []
    if focus_outline(page)["id"] == element_id:  # there already (autofocus)
        return stops
    for _ in range(most):
        page.keyboard.press("Tab")
        stops.append(focus_outline(page))
        if stops[-1]["id"] == element_id:
            return stops
    raise AssertionError(f"{most} presses of Tab never reached #{element_id}: {[s['id'] for s in stops]}")


def unoutlined(stops: list[dict[str, str]]) -> list[str]:
    """The stops drawn without an outline (the page itself aside: the focus passing to the browser)."""
    return [
        f"{s['tag']} {s['id']}"
        for s in stops
        if s["tag"] != "BODY" and (s["style"] == "none" or s["width"] in ("0px", ""))
    ]


def test_signing_in_filtering_and_recording_a_check_with_the_keyboard_alone(site, sized):
    page = sized(1366)
    page.goto(f"{site.url}/login")
    stops = tab_to(page, "username")
    page.keyboard.type(ROLES["technician"])
    stops += tab_to(page, "password")
    page.keyboard.type(DEMO_PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{site.url}/")

    held = _first_row_lot(page, site.url)
    page.goto(f"{site.url}/batches/")
    stops += tab_to(page, "q", most=60)
    page.keyboard.type(held)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{site.url}/batches/?*q={held}*")
    rows = page.locator("table.striped tbody tr")
    assert rows.count() == 1 and held in rows.first.inner_text()

    page.goto(f"{site.url}/balances/XS205-01")
    stops += tab_to(page, "nominal_mg", most=60)
    page.keyboard.type("100000")
    stops += tab_to(page, "observed_mg")
    page.keyboard.type("100000.5")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    newest = page.locator("#check-list tbody tr").first.locator("td").all_inner_texts()
    # 100,000.5 mg read for a 100,000 mg weight: +0.0005 %, within 0.10 %
    assert newest[1:6] == ["100000 mg", "100000.5 mg", "+0.001 %", "passed", "tech"], newest
    assert not unoutlined(stops), f"focused without a visible outline: {unoutlined(stops)}"


def _first_row_lot(page: Page, base: str) -> str:
    """The lot number of the batch on hold, as the batches list shows it."""
    page.goto(f"{base}/batches/?status=on_hold")
    return page.locator("table.striped tbody tr td a").first.inner_text().strip()
