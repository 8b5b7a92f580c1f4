"""Recalling a lot from its page: what it will change, said before signing; refusals beside the
fields with nothing changed; then the recall page with what changed and the report; the batch
page's hold and the public check of the revoked certificate."""

import re

import pytest

from qa_app.services import certificates, materials
from tests.recalls import REASON, build
from tests.web.pages import _clean, field_error, messages, sign_in, text


@pytest.fixture
def scenario(app, users):
    return build(app)


def section(page: str, section_id: str, raw: bool = False) -> str:
    match = re.search(rf'<section[^>]*id="{section_id}"[^>]*>(.*?)</section>', page, re.S)
    assert match, f"the page has no section {section_id}"
    return match.group(1) if raw else _clean(match.group(1))


def table_rows(fragment: str) -> list[list[str]]:
    body = fragment.split("<tbody>")[1].split("</tbody>")[0]
    return [
        [_clean(cell) for cell in re.findall(r"<td>(.*?)</td>", tr, re.S)]
        for tr in re.findall(r"<tr>(.*?)</tr>", body, re.S)
    ]


def form(reason: str = REASON, password: str = "correct-horse-battery", username: str = "rob") -> dict:
    return {"recall-reason": reason, "recall-sig_username": username, "recall-sig_password": password}


def lot_status(app, barcode: str) -> str:
    with app.app_context():
        return materials.get_lot(barcode).status


def test_the_lot_page_says_what_the_recall_will_do_before_signing(client, scenario):
    s = scenario
    sign_in(client, "rob")
    shown = section(text(client.get(f"/lots/{s.api}")), "recall")
    assert shown.startswith("Recall this lot")
    assert (
        "5 batches will be recalled or put on hold: 2 released batches recalled (certificates revoked), "
        "3 unreleased batches put on hold. 1 lot made from it will be recalled too." in shown
    )
    assert f"Recalled, certificates revoked: {s.trituration_batch}, {s.released}." in shown
    assert f"Put on hold until a reviewer rejects them: {s.direct}, {s.quarantined}, {s.draft}." in shown
    assert f"Lots made from it, recalled too: {s.trituration_lot}." in shown
    assert "meaning: recalled" in shown
    assert "Recall and sign" in shown


def test_a_technician_sees_no_recall_form_and_may_not_post_one(client, scenario, app):
    sign_in(client, "tina")
    page = text(client.get(f"/lots/{scenario.api}"))
    assert 'id="recall"' not in page
    assert client.post(f"/lots/{scenario.api}/recall", data=form(username="tina")).status_code == 403
    assert lot_status(app, scenario.api) == "approved"


def test_refusals_are_shown_beside_the_fields_and_change_nothing(client, scenario, app):
    s = scenario
    sign_in(client, "rob")
    no_reason = client.post(f"/lots/{s.api}/recall", data=form(reason=""))
    assert no_reason.status_code == 400
    assert field_error(text(no_reason), "recall-reason") == (
        "Give the reason for the recall: the supplier's notice or what was found."
    )
    wrong = client.post(f"/lots/{s.api}/recall", data=form(password="not-my-password"))
    assert wrong.status_code == 401
    page = text(wrong)
    assert field_error(page, "recall-sig_password")
    assert re.search(
        rf'<textarea[^>]*name="recall-reason"[^>]*>\s*{REASON}</textarea>', page
    )  # kept as typed
    assert lot_status(app, s.api) == "approved"


def test_the_recall_shows_what_changed_and_links_the_report(client, scenario, app):
    s = scenario
    sign_in(client, "rob")
    response = client.post(f"/lots/{s.api}/recall", data=form())
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/lots/{s.api}/recall")
    page = text(client.get(response.headers["Location"]))
    assert (
        f"Lot {s.api} recalled and signed: 2 batches recalled, 3 batches put on hold, 2 lots recalled."
        in messages(page)
    )
    assert any(
        m.startswith("Recalled by Rob Reviewer, PharmD") and m.endswith(REASON) for m in messages(page)
    )
    assert f"{s.trituration_lot} (NTX-TRIT10, made in batch {s.trituration_batch})" in section(
        page, "recall-lots"
    )
    rows = [(r[0], r[2], r[3]) for r in table_rows(section(page, "recall-batches", raw=True))]
    via = f"lot {s.trituration_lot}"
    assert rows == [
        (s.trituration_batch, "recalled", "directly"),
        (s.direct, "on hold", "directly"),
        (s.released, "recalled", via),
        (s.quarantined, "on hold", via),
        (s.draft, "on hold", via),
    ]
    certificate = table_rows(section(page, "recall-certificates", raw=True))
    assert [r[:3] for r in certificate] == [[f"{s.certificate} (version 1)", s.released, "revoked"]]
    assert certificate[0][3].endswith(f": material recall of lot {s.api}: {REASON}")
    assert f'href="/lots/{s.api}/recall-report.pdf"' in page
    report = client.get(f"/lots/{s.api}/recall-report.pdf")
    assert (report.status_code, report.mimetype) == (200, "application/pdf")

    # the lot page now says it was recalled and links the same
    lot_page = text(client.get(f"/lots/{s.api}"))
    recall = section(lot_page, "recall")
    assert recall.startswith("Recall Recalled by Rob Reviewer, PharmD")
    assert "Recall report (PDF)" in recall
    assert 'action="/lots/' + s.api + '/recall"' not in lot_page
    # the intermediate lot too
    assert f"made from recalled lot {s.api}: {REASON}" in section(
        text(client.get(f"/lots/{s.trituration_lot}")), "recall"
    )

    # the batch page names the hold and what it leaves
    held = text(client.get(f"/batches/{s.quarantined}"))
    assert (
        f"NTX-HCL lot {s.api} in this batch was recalled ({REASON}): the batch can only be rejected."
        in _clean(held)
    )
    assert (
        f"NTX-TRIT10 lot {s.trituration_lot} in this batch was recalled (made from recalled lot {s.api}: {REASON})"
        in _clean(held)
    )

    # the public check of the certificate says revoked, and with its code why
    client.post("/logout")
    with app.app_context():
        code = certificates.get(s.certificate).verification_code
    public = _clean(text(client.get(f"/verify/{s.certificate}")))
    assert "the batch was recalled. Do not use it." in public
    assert "Why it was revoked" not in public
    detailed = text(client.get(f"/verify/{s.certificate}?code={code}"))
    why = re.search(r"<th>Why it was revoked</th><td[^>]*>(.*?)</td>", detailed, re.S)
    assert why and _clean(why.group(1)) == f"material recall of lot {s.api}: {REASON}"


def test_the_recall_page_of_a_lot_not_recalled_says_so(client, scenario):
    sign_in(client, "tina")
    response = client.get(f"/lots/{scenario.api}/recall")
    assert response.status_code == 409
    assert f"Lot {scenario.api} has not been recalled" in text(response)
    assert client.get(f"/lots/{scenario.api}/recall-report.pdf").status_code == 409
