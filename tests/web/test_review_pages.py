"""The review page, release / reject / recall in the browser, the public verification page,
the reviewer's queue on the home page, and the export of certificates as a ZIP."""

import html
import io
import re
import zipfile
from collections.abc import Iterator

import pytest
from flask import Flask

from qa_app.services import batches, certificates, clock
from tests.conftest import PASSWORD
from tests.services.test_release import add_releasers, completed_batch, ready_batch
from tests.services.test_results import record, shared_database_app
from tests.web.pages import field_error, input_value, messages, sign_in, text


@pytest.fixture(scope="module")
def shared_app(databases, tmp_path_factory) -> Iterator[Flask]:
    for app in shared_database_app(databases, str(tmp_path_factory.mktemp("review-pages"))):
        add_releasers(app)
        yield app


def in_app(app: Flask, action, *args, **kwargs):
    with app.app_context():
        return action(*args, **kwargs)


@pytest.fixture
def ready(shared_app) -> str:
    return in_app(shared_app, ready_batch)


def signed_in(app: Flask, username: str):
    client = app.test_client()
    assert sign_in(client, username).status_code == 302
    return client


def words(fragment: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", fragment)).split())


def checklist(page: str) -> dict[str, str]:
    """Item key → YES/NO, as the table shows it."""
    rows = re.findall(r'<tr id="item-([a-z_]+)">\s*<td>(.*?)</td>', page, re.S)
    return {key: words(mark) for key, mark in rows}


def sign_form(prefix: str, username: str, password: str = PASSWORD, **fields) -> dict[str, str]:
    return {
        f"{prefix}-sig_username": username,
        f"{prefix}-sig_password": password,
        **{f"{prefix}-{name}": value for name, value in fields.items()},
    }


def test_the_checklist_of_a_ready_batch_and_the_release_form(shared_app, ready):
    page = text(signed_in(shared_app, "rita").get(f"/review/{ready}"))

    assert set(checklist(page).values()) == {"YES"}
    assert list(checklist(page)) == [
        "status",
        "components",
        "api_weighing",
        "deviations",
        "in_process",
        "tests",
        "investigations",
        "excursions",
        "bud",
        "specification",
    ]
    assert "Every item holds" in page
    assert 'id="release"' in page
    assert "Tina Technician (tina)" in page and "opened the compounding record" in page


def test_the_verifier_is_told_why_release_is_not_offered(shared_app, ready):
    page = text(signed_in(shared_app, "rob").get(f"/review/{ready}"))

    assert 'id="release"' not in page
    assert "You verified this batch&#39;s API weighing; another reviewer must release it." in page


def test_release_is_not_offered_while_results_are_missing(shared_app):
    lot = in_app(shared_app, completed_batch)
    page = text(signed_in(shared_app, "rita").get(f"/review/{lot}"))

    assert checklist(page)["tests"] == "NO"
    assert checklist(page)["status"] == "NO"
    assert 'id="release"' not in page
    assert "Release is offered once every checklist item holds." in page
    refused = signed_in(shared_app, "rita").post(f"/review/{lot}/release", data=sign_form("release", "rita"))
    assert refused.status_code == 409
    assert f"Batch {lot} cannot be released" in " ".join(messages(text(refused)))


def test_a_technician_sees_the_checklist_but_no_decision(shared_app, ready):
    page = text(signed_in(shared_app, "tina").get(f"/review/{ready}"))

    assert checklist(page)["tests"] == "YES"
    assert 'id="release"' not in page and 'id="reject"' not in page


def test_release_in_the_browser_issues_the_certificate(shared_app, ready):
    client = signed_in(shared_app, "rita")

    response = client.post(
        f"/review/{ready}/release", data=sign_form("release", "rita"), follow_redirects=True
    )

    page = text(response)
    assert response.status_code == 200
    shown = messages(page)
    assert "Batch released and signed." in shown
    number = re.search(r"Certificate (COA-\d{4}-\d{5}) version 1 issued\.", " ".join(shown))[1]
    assert f'href="/verify/{number}"' in page
    pdf = client.get(f"/review/{ready}/certificate.pdf")
    assert pdf.headers["X-Certificate-Status"] == "valid"
    with shared_app.app_context():
        assert pdf.data == certificates.stored_pdf(certificates.get(number))


def test_a_wrong_password_keeps_the_form_and_says_why(shared_app, ready):
    response = signed_in(shared_app, "rita").post(
        f"/review/{ready}/release", data=sign_form("release", "rita", password="wrong-password")
    )

    page = text(response)
    assert response.status_code == 401
    assert field_error(page, "release-sig_password") == "Wrong password; enter your own password again."
    assert input_value(page, "release-sig_username") == "rita"


def test_a_rejection_reason_with_markup_is_shown_escaped(shared_app):
    lot = in_app(shared_app, completed_batch)
    in_app(shared_app, record, lot, "assay", 85.0)
    reason = "<script>alert('x')</script> assay 85.0 %"

    response = signed_in(shared_app, "rob").post(
        f"/review/{lot}/reject", data=sign_form("reject", "rob", reason=reason), follow_redirects=True
    )

    page = text(response)
    assert "Batch rejected and signed." in messages(page)
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; assay 85.0 %" in page


def test_a_rejection_without_a_reason_is_refused_beside_the_field(shared_app):
    lot = in_app(shared_app, completed_batch)

    response = signed_in(shared_app, "rob").post(f"/review/{lot}/reject", data=sign_form("reject", "rob"))

    assert response.status_code == 400
    assert field_error(text(response), "reject-reason") == "Give the reason."


def test_recall_in_the_browser_then_verification_shows_revoked(shared_app, ready):
    client = signed_in(shared_app, "rita")
    client.post(f"/review/{ready}/release", data=sign_form("release", "rita"))
    issued = in_app(shared_app, lambda: certificates.current_for(batches.get_batch(ready).id))
    number, code = issued.number, issued.verification_code

    valid_page = text(shared_app.test_client().get(f"/verify/{number}?code={code}"))
    valid = words(valid_page)
    recalled = client.post(
        f"/review/{ready}/recall",
        data=sign_form("recall", "rita", reason="Customer complaint: <b>wrong colour</b>"),
        follow_redirects=True,
    )
    revoked = words(text(shared_app.test_client().get(f"/verify/{number}?code={code}")))

    assert f"Certificate {number}, version 1" in valid
    assert "Valid: issued by Compounding Pharmacy and not revoked." in valid
    assert f"<tr><th>Batch (lot)</th><td>{ready}</td></tr>" in valid_page
    assert "Batch recalled and signed; its certificate is revoked." in messages(text(recalled))
    assert "Revoked on" in revoked and "the batch was recalled. Do not use it." in revoked


def test_the_verification_page_checks_an_uploaded_pdf(shared_app, ready):
    signed_in(shared_app, "rita").post(f"/review/{ready}/release", data=sign_form("release", "rita"))
    with shared_app.app_context():
        issued = certificates.current_for(batches.get_batch(ready).id)
        number, pdf, digest = issued.number, certificates.stored_pdf(issued), issued.sha256
    visitor = shared_app.test_client()

    same = visitor.post(f"/verify/{number}", data={"file": (io.BytesIO(pdf), "coa.pdf")})
    altered = visitor.post(f"/verify/{number}", data={"file": (io.BytesIO(pdf + b"%tampered"), "coa.pdf")})
    page = text(visitor.get(f"/verify/{number}"))

    assert f"The file you uploaded is byte for byte certificate {number} version 1" in words(text(same))
    assert "is NOT the certificate issued" in words(text(altered))
    assert digest in page


def test_an_unknown_number_is_not_found_and_says_so(shared_app):
    response = shared_app.test_client().get("/verify/COA-1999-00001")

    assert response.status_code == 404
    assert "a certificate whose number is not found here is not genuine" in words(text(response))


def test_the_lookup_form_leads_to_the_certificate(shared_app):
    response = shared_app.test_client().get("/verify/?number=coa-2026-00007")

    assert response.status_code == 302
    assert response.headers["Location"].endswith("/verify/COA-2026-00007")


def test_the_home_page_queue_shows_ready_and_held_batches_with_what_holds_them(shared_app, ready):
    held = in_app(shared_app, completed_batch)
    in_app(shared_app, record, held, "assay", 85.0)

    page = text(signed_in(shared_app, "rob").get("/"))
    awaiting = words(re.search(r'<section aria-labelledby="release-h">(.*?)</section>', page, re.S)[1])
    on_hold = words(re.search(r'<section aria-labelledby="holds-h">(.*?)</section>', page, re.S)[1])

    assert ready in awaiting and held not in awaiting
    assert held in on_hold and ready not in on_hold
    assert "assay result" in on_hold and "is out of specification" in on_hold


def test_the_batch_record_links_to_its_review(shared_app, ready):
    page = text(signed_in(shared_app, "tina").get(f"/batches/{ready}"))
    assert f'href="/review/{ready}"' in page
    assert f'href="/review/{ready}/record.pdf"' in page


def test_an_inspector_downloads_the_record_and_the_batch_audit_csv_by_date(shared_app, ready):
    inspector = signed_in(shared_app, "ivan")
    today = in_app(shared_app, clock.today).isoformat()

    pdf = inspector.get(f"/review/{ready}/record.pdf")
    today_lines = csv_lines(inspector, f"/audit/export.csv?entity=batch&key={ready}&from={today}&to={today}")
    before_lines = csv_lines(inspector, f"/audit/export.csv?entity=batch&key={ready}&to=2000-01-01")

    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF-")
    assert today_lines[0].startswith("seq,occurred_at,username,action")
    assert any(",batch.created," in line for line in today_lines)
    assert before_lines[1:] == []


def csv_lines(client, url: str) -> list[str]:
    """A streamed CSV, read to the end (which closes its request) before the next request."""
    response = client.get(url)
    try:
        return response.get_data(as_text=True).splitlines()
    finally:
        response.close()


def test_a_bad_date_in_the_audit_filter_is_refused(shared_app):
    response = signed_in(shared_app, "ivan").get("/audit/export.csv?from=yesterday")
    assert response.status_code == 400


def test_the_export_shows_progress_and_ends_with_a_zip(shared_app):
    lots = [in_app(shared_app, ready_batch) for _ in range(3)]
    reviewer = signed_in(shared_app, "rita")
    for lot in lots:
        reviewer.post(f"/review/{lot}/release", data=sign_form("release", "rita"))
    today = in_app(shared_app, clock.today).isoformat()

    started = reviewer.post("/review/exports", data={"date_from": today, "date_to": today})
    progress_page = text(reviewer.get(started.headers["Location"]))
    fragment = reviewer.post(
        started.headers["Location"] + "/advance", data={}, headers={"HX-Request": "true"}
    ).get_data(as_text=True)
    download = reviewer.get(started.headers["Location"] + "/download")

    assert started.status_code == 302
    assert 'hx-trigger="load delay:200ms"' in progress_page
    assert "<progress" in progress_page and "Writing the ZIP: 0 of" in words(progress_page)
    assert "Done:" in words(fragment) and "Download the ZIP" in fragment
    assert "hx-post" not in fragment  # finished: polling stops
    archive = zipfile.ZipFile(io.BytesIO(download.data))
    names = archive.namelist()
    assert names[-1] == "manifest.csv"
    for lot in lots:
        assert any(name.endswith(f"-v1-{lot}.pdf") for name in names)
    manifest = archive.read("manifest.csv").decode().splitlines()
    assert manifest[0] == "number,version,lot_number,status,sha256,issued_at,file"
    assert len(manifest) - 1 == len(names) - 1


def test_an_export_with_the_dates_the_wrong_way_round_is_refused(shared_app):
    response = signed_in(shared_app, "rita").post(
        "/review/exports", data={"date_from": "2026-02-01", "date_to": "2026-01-01"}
    )
    assert response.status_code == 400
    assert field_error(text(response), "date_to") == "Must not be before the first day."
