"""Each role's home: the sections in the order that role works, each counting what it lists;
actions shown only to the people the services allow them, and refused to everyone else;
statuses in words; the printed record's history in the audit trail's sentences.

One database serves the module: tina (technician) has a draft; theo (technician) has a draft
whose API weighing waits for a second person; one batch awaits release, one is on hold for an
assay of 85.0 %, one waits for its results, and one is released; a lot waits in quarantine and
a formula version for approval.
"""

import html
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

import pytest
from flask import Flask

from qa_app.extensions import db
from qa_app.services import balances, batches, formulas, materials, release
from tests import builders
from tests.builders import capsule_formula_body, signature, user
from tests.conftest import make_user
from tests.services.test_release import add_releasers, completed_batch, ready_batch
from tests.services.test_results import record, shared_database_app
from tests.web.pages import sign_in, text


@dataclass(frozen=True)
class World:
    ready: str
    held: str
    waiting: str
    released: str
    tina_draft: str
    theo_draft: str
    quarantined_lot: str
    approved_lot: str


def words(fragment: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", fragment)).split())


def headings(page: str) -> list[str]:
    """The home's section headings, in page order, as read."""
    main = page.split('<main id="main"', 1)[1]
    return [words(h) for h in re.findall(r"<h2[^>]*>(.*?)</h2>", main, re.S)]


def section(page: str, heading_id: str) -> str:
    match = re.search(rf'<section aria-labelledby="{heading_id}">(.*?)</section>', page, re.S)
    return words(match.group(1)) if match else ""


def build_world(app: Flask) -> World:
    make_user(app, "theo", ("technician",), "Theo Technician")
    make_user(app, "tracy", ("technician", "reviewer"), "Tracy Both")
    add_releasers(app)
    with app.app_context():
        lots = app.config["TEST_LOTS"]
        ready = ready_batch()
        held = completed_batch()
        record(held, "assay", 85.0)
        waiting = completed_batch()
        released = ready_batch()
        release.release(user("rita"), released, signature("rita", "released"))
        tina_draft = batches.create_batch(user("tina"), formula="LDN-CAP", strength_mg=1.5, quantity=100)
        theo = batches.create_batch(
            user("theo"), formula="LDN-CAP", strength_mg=3.0, quantity=100, api_lot=lots["api"]
        )
        batches.record_component(
            user("theo"),
            theo.lot_number,
            barcode=lots["api"],
            quantity_mg=theo.calculation["api_mg"],
            balance="XS205",
        )
        quarantined = materials.receive_lot(
            user("tina"),
            material="MCC",
            supplier="Medisca",
            supplier_lot="M9",
            expiry_date=date(2029, 1, 1),
            received_date=date(2026, 11, 1),
        )
        formulas.create_formula(user("ada"), capsule_formula_body(code="LDN-NEW", name="LDN new capsules"))
        db.session.commit()
        return World(
            ready=ready,
            held=held,
            waiting=waiting,
            released=released,
            tina_draft=tina_draft.lot_number,
            theo_draft=theo.lot_number,
            quarantined_lot=quarantined.barcode,
            approved_lot=lots["mcc"],
        )


@pytest.fixture(scope="module")
def shared(databases, tmp_path_factory) -> Iterator[tuple[Flask, World]]:
    for app in shared_database_app(databases, str(tmp_path_factory.mktemp("homes"))):
        yield app, build_world(app)


def home_of(app: Flask, username: str) -> str:
    client = app.test_client()
    assert sign_in(client, username).status_code == 302
    return text(client.get("/"))


def signed_in(app: Flask, username: str):
    client = app.test_client()
    assert sign_in(client, username).status_code == 302
    return client


REVIEWER_SECTIONS = [
    "Awaiting release (1)",
    "On hold (1)",
    "Open OOS investigations (0)",
    "Open excursions (0)",
    "Batches waiting for an excursion disposition (0)",
    "Open trend signals (0)",
    "Material lots in quarantine (1)",
    "Unreleased batches near or past their BUD (14 days) (0)",
    "Formula versions waiting for approval (1)",
]
TECHNICIAN_SECTIONS = [
    "Your open drafts (1)",
    "Today's balance checks (0 to do)",
    "Batches waiting for a verification (1)",
    "Batches waiting for results (1)",
]


# --- homes ------------------------------------------------------------------------------------


def test_a_reviewer_sees_the_release_queue_holds_investigations_excursions_and_signals_first(shared):
    app, world = shared
    page = home_of(app, "rob")

    assert headings(page) == [*REVIEWER_SECTIONS, "Audit trail"]
    assert world.ready in section(page, "release-h") and world.held not in section(page, "release-h")
    held = section(page, "holds-h")
    assert world.held in held and "assay result" in held and "is out of specification" in held
    assert f"{world.quarantined_lot} — MCC, Medisca lot M9" in section(page, "lots-h")
    assert "LDN-NEW v1 — LDN new capsules, drafted by ada" in section(page, "formulas-h")
    assert section(page, "inv-h") == "Open OOS investigations (0) None open."


def test_a_technician_sees_their_drafts_balances_verifications_and_results_waiting(shared):
    app, world = shared
    page = home_of(app, "tina")

    assert headings(page) == TECHNICIAN_SECTIONS
    assert world.tina_draft in section(page, "drafts-h") and world.theo_draft not in section(page, "drafts-h")
    assert world.theo_draft in section(page, "verify-h")
    assert world.waiting in section(page, "waiting-h")
    assert "2 checked today, 0 still to check, 0 out of use." in section(page, "balances-h")


def test_the_compounder_is_not_asked_to_verify_their_own_weighing(shared):
    app, world = shared
    page = home_of(app, "theo")

    assert world.theo_draft in section(page, "drafts-h")
    assert section(page, "verify-h") == (
        "Batches waiting for a verification (0) API weighings by someone else: a second person "
        "verifies them. None waiting for you."
    )


def test_an_administrator_sees_security_events_and_users(shared):
    app, _world = shared
    client = app.test_client()
    sign_in(client, "ghost-user", "wrong-password")
    page = home_of(app, "ada")

    assert headings(page)[:2] == ["Failed sign-ins, failed signings and lockouts (1)", "Users (8)"]
    assert headings(page)[2:] == ["Formula versions waiting for approval (0)", "Audit trail"]
    assert "ghost-user failed sign-in" in section(page, "security-h")
    assert "8 active, 0 locked, 0 deactivated." in section(page, "users-h")
    assert "No account is locked." in section(page, "users-h")


def test_a_person_with_several_roles_sees_the_reviewers_sections_first(shared):
    app, _world = shared
    page = home_of(app, "tracy")

    assert headings(page) == [
        *REVIEWER_SECTIONS,
        "Your open drafts (0)",
        "Today's balance checks (0 to do)",
        "Batches waiting for a verification (1)",
        "Batches waiting for results (1)",
        "Audit trail",
    ]


def test_an_inspector_sees_the_audit_trail_only(shared):
    app, _world = shared
    assert headings(home_of(app, "ivan")) == ["Audit trail"]


def test_todays_balance_checks_name_the_checked_and_the_unchecked(app, client, users):
    with app.app_context():
        builders.create_balances()
        balances.record_check(user("tina"), "XS205", nominal_mg=100000.0, observed_mg=100000.0)
        db.session.commit()
    sign_in(client, "tina")
    page = text(client.get("/"))
    shown = section(page, "balances-h")

    assert "Today's balance checks (1 to do)" in shown
    assert "1 checked today, 1 still to check, 0 out of use." in shown
    rows = re.findall(r"<tr><td>(.*?)</tr>", page.split('id="balance-checks"', 1)[1], re.S)
    assert [words(r).split(" ")[0] for r in rows] == ["UMX2", "XS205"]
    assert "Needs its check: balance UMX2 has no performance check today" in words(rows[0])
    assert "Record the check" in words(rows[0])
    assert 'href="/balances/UMX2#record-check"' in rows[0]
    assert words(rows[1]).startswith(
        "XS205 Mettler Toledo XS205 semi-micro analytical balance Checked: passed"
    )
    assert "tina at" in words(rows[1]) and "Record the check" not in words(rows[1])


def test_a_balance_out_of_use_is_listed_as_such(app, client, users):
    with app.app_context():
        builders.create_balances()
        balances.update_balance(user("ada"), "UMX2", reason="Sent for repair", active=False)
        db.session.commit()
    sign_in(client, "tina")
    shown = section(text(client.get("/")), "balances-h")

    assert "Today's balance checks (1 to do)" in shown
    assert "0 checked today, 1 still to check, 1 out of use." in shown
    assert "UMX2 Mettler Toledo UMX2 ultra-micro balance Out of use" in shown


# --- actions shown only to those allowed them ---------------------------------------------------


def pages_of(world: World) -> list[str]:
    return [
        "/",
        "/batches/",
        "/lots/",
        f"/lots/{world.quarantined_lot}",
        f"/lots/{world.approved_lot}",
        "/lots/materials",
        "/formulas/",
        "/formulas/LDN-NEW",
        "/balances/",
        "/balances/XS205",
        "/storage/",
        "/storage/SHELF-1",
        f"/review/{world.ready}",
        f"/review/{world.released}",
        f"/batches/{world.ready}",
    ]


def forbidden_marks(world: World) -> dict[str, str]:
    """What a page shows for each action a technician may not take: its link or its form."""
    return {
        "release": f'action="/review/{world.ready}/release"',
        "reject": f'action="/review/{world.ready}/reject"',
        "recall a batch": f'action="/review/{world.released}/recall"',
        "approve a lot": f'action="/lots/{world.quarantined_lot}/approve"',
        "reject a lot": f'action="/lots/{world.quarantined_lot}/reject"',
        "recall a lot": f'action="/lots/{world.approved_lot}/recall"',
        "approve a formula": 'action="/formulas/LDN-NEW/approve"',
        "new formula": 'href="/formulas/new"',
        "new material": 'href="/lots/materials/new"',
        "new balance": 'href="/balances/new"',
        "change a balance": 'href="/balances/XS205/edit"',
        "new storage unit": 'href="/storage/new"',
        "users": 'href="/admin/users"',
        "audit trail": 'href="/audit/"',
        "trends": 'href="/trends/"',
        "export certificates": 'href="/review/exports"',
    }


def shown_marks(app: Flask, world: World, username: str) -> set[str]:
    client = signed_in(app, username)
    everything = "".join(text(client.get(path)) for path in pages_of(world))
    return {name for name, mark in forbidden_marks(world).items() if mark in everything}


def test_a_technician_sees_no_release_approval_recall_or_users(shared):
    app, world = shared
    assert shown_marks(app, world, "tina") == set()


def test_a_reviewer_sees_the_decisions_but_not_the_administrators_actions(shared):
    app, world = shared
    assert shown_marks(app, world, "rita") == {
        "release",
        "reject",
        "recall a batch",
        "approve a lot",
        "reject a lot",
        "recall a lot",
        "approve a formula",
        "audit trail",
        "trends",
        "export certificates",
    }


def test_an_administrator_sees_users_and_master_data_but_no_batch_or_lot_decision(shared):
    app, world = shared
    # ada drafted LDN-NEW: the author of a version never approves it, so no form for her either.
    assert shown_marks(app, world, "ada") == {
        "new formula",
        "new material",
        "new balance",
        "change a balance",
        "new storage unit",
        "users",
        "audit trail",
        "trends",
        "export certificates",
    }


def test_a_technician_sees_the_bench_actions(shared):
    app, world = shared
    client = signed_in(app, "tina")
    assert 'href="/batches/new"' in text(client.get("/batches/"))
    assert 'href="/batches/import-results"' in text(client.get("/batches/"))
    assert 'href="/lots/new"' in text(client.get("/lots/"))
    assert 'action="/balances/XS205/checks"' in text(client.get("/balances/XS205"))


def test_an_inspector_sees_no_bench_action(shared):
    app, world = shared
    client = signed_in(app, "ivan")
    assert 'href="/batches/new"' not in text(client.get("/batches/"))
    assert 'href="/batches/import-results"' not in text(client.get("/batches/"))
    assert 'href="/lots/new"' not in text(client.get("/lots/"))
    assert 'action="/balances/XS205/checks"' not in text(client.get("/balances/XS205"))
    assert shown_marks(app, world, "ivan") == {"audit trail", "trends"}


def test_each_hidden_action_still_refuses_a_technician(shared):
    app, world = shared
    client = signed_in(app, "tina")
    for path in (
        f"/review/{world.ready}/release",
        f"/review/{world.ready}/reject",
        f"/review/{world.released}/recall",
        f"/lots/{world.quarantined_lot}/approve",
        f"/lots/{world.quarantined_lot}/reject",
        f"/lots/{world.approved_lot}/recall",
        "/formulas/LDN-NEW/approve",
        "/formulas/new",
        "/lots/materials/new",
        "/balances/new",
        "/balances/XS205/edit",
        "/storage/new",
    ):
        assert client.post(path, data={}).status_code == 403, path
    for path in ("/admin/users", "/audit/", "/trends/", "/review/exports"):
        assert client.get(path).status_code == 403, path


# --- statuses in words --------------------------------------------------------------------------


def test_statuses_are_shown_in_words_with_the_code_kept_for_the_colour(shared):
    app, world = shared
    page = text(signed_in(app, "rob").get("/batches/"))

    assert '<span class="status status-awaiting_release">Awaiting release</span>' in page
    assert '<span class="status status-on_hold">On hold</span>' in page
    assert '<span class="status status-quarantine">In quarantine</span>' in page
    assert '<span class="status status-draft">Draft</span>' in page
    assert ">awaiting_release<" not in page and ">on_hold<" not in page and "awaiting release" not in page
    assert '<option value="on_hold" >On hold</option>' in page

    lot_page = text(signed_in(app, "rob").get(f"/lots/{world.quarantined_lot}"))
    assert '<span class="status status-quarantine">In quarantine</span>' in lot_page


def test_the_batch_record_says_its_status_in_words_and_offers_release_only_to_a_reviewer(shared):
    app, world = shared
    for_technician = text(signed_in(app, "tina").get(f"/batches/{world.held}"))
    for_reviewer = text(signed_in(app, "rob").get(f"/batches/{world.held}"))

    assert "<h1>Batch " in for_technician
    assert '<span class="status status-on_hold">On hold</span>' in for_technician
    assert ">Review summary</a>" in for_technician and "Review and release" not in for_technician
    assert ">Review and release</a>" in for_reviewer and "Review summary" not in for_reviewer


# --- the printed record's history ----------------------------------------------------------------


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="pdftotext (poppler-utils) is not installed")
def test_the_record_pdf_prints_its_history_as_sentences(shared, tmp_path):
    app, world = shared
    answer = signed_in(app, "ivan").get(f"/review/{world.held}/record.pdf")
    assert answer.status_code == 200
    path = tmp_path / "record.pdf"
    path.write_bytes(answer.data)
    printed = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True).stdout
    whole = " ".join(printed.decode().split())
    history = whole.split("Audit history of the batch", 1)[1]

    assert "· status On hold ·" in whole and "on_hold" not in whole.split("Audit history", 1)[0]

    assert (
        "tina Component recorded Lot: LOT000001 Material: NTX-HCL Role: api Quantity (mg): 151.52" in history
    )
    assert "tina Completed Status: draft → quarantine Actual yield: 100 Yield (%): 100.0" in history
    assert "Weights (mg): 225.0, 225.0, 225.0, 225.0, 225.0, 225.0, 225.0, 225.0, 225.0, 225.0" in history
    assert "Calculation: Dosage form capsule; Quantity 100;" in history
    assert "API unrounded (mg) 151.5151515151515;" in history  # the page's 151.515, in full on paper
    assert "Status: quarantine → on_hold" in history
    assert '{"' not in history and "batch.component_recorded" not in history


def test_the_person_who_weighed_the_api_is_not_asked_to_verify_it(app, client, users):
    """tina weighs the API on theo's draft: the service refuses her its verification, so her home
    does not list it."""
    make_user(app, "theo", ("technician",), "Theo Technician")
    with app.app_context():
        lots = builders.setup_master_data(date.today())
        draft = batches.create_batch(user("theo"), formula="LDN-CAP", strength_mg=1.5, quantity=100)
        batches.record_component(
            user("tina"),
            draft.lot_number,
            barcode=lots["api"],
            quantity_mg=draft.calculation["api_mg"],
            balance="XS205",
        )
        db.session.commit()
        lot = draft.lot_number
    sign_in(client, "tina")

    assert lot not in section(text(client.get("/")), "verify-h")
