"""The recall report of a lot, read back with pdftotext as a reader sees it: the lot, who recalled
it, when and why, the lot recalled with it, every batch with its chain and where it stands now,
and the certificate revoked; printed later, it shows what happened since."""

import shutil
import subprocess

import pytest

from qa_app.errors import WrongState
from qa_app.services import clock, materials, recalls, release
from tests.builders import signature, user
from tests.recalls import REASON, build

pytestmark = pytest.mark.skipif(
    shutil.which("pdftotext") is None, reason="pdftotext (poppler-utils) is not installed"
)


def pdf_text(data: bytes, tmp_path, *options: str) -> str:
    path = tmp_path / "recall.pdf"
    path.write_bytes(data)
    return subprocess.run(
        ["pdftotext", *options, str(path), "-"], capture_output=True, check=True
    ).stdout.decode()


def squeeze(text: str) -> str:
    return "".join(text.split())


@pytest.fixture
def recalled(app, users):
    s = build(app)
    with app.app_context():
        recalls.recall_lot(user("rob"), s.api, signature("rob", "recalled"), REASON)
    return s


def test_the_report_names_the_lot_the_recall_and_everything_made_from_it(app, recalled, tmp_path):
    s = recalled
    with app.app_context():
        lot = materials.get_lot(s.api)
        when = lot.recalled_at.astimezone(clock.zone()).strftime("%Y-%m-%d %H:%M")
        data = recalls.report_pdf(lot, user("ivan"))
    text, flat = pdf_text(data, tmp_path, "-layout"), squeeze(pdf_text(data, tmp_path))
    assert f"Recall of lot {s.api}" in text
    assert "MATERIAL LOT RECALL" in text
    for words in (
        "NTX-HCL — Naltrexone hydrochloride USP",
        "Supplier Medisca",
        "Supplier lot N1",
        "Recalled by Rob Reviewer, PharmD (rob)",
        f"Recalled at {when}",
        f"Reason {REASON}",
        "printed",
        "by Ivan Inspector (ivan)",
        "Page 1 of 1",
    ):
        assert squeeze(words) in flat, words
    # the intermediate lot recalled with it, and the batch it was made in
    assert squeeze(f"{s.trituration_lot} NTX-TRIT10 {s.trituration_batch}") in flat
    # every batch, its status now and how it was reached
    for lot_number, status, via in (
        (s.trituration_batch, "recalled", "directly"),
        (s.direct, "on hold", "directly"),
        (s.released, "recalled", f"lot {s.trituration_lot}"),
        (s.quarantined, "on hold", f"lot {s.trituration_lot}"),
        (s.draft, "on hold", f"lot {s.trituration_lot}"),
    ):
        line = next(row for row in text.splitlines() if row.lstrip().startswith(lot_number))
        assert status in line, line
        assert via.split()[0] in line, line
    # the chain back to the supplier's lot
    assert (
        squeeze(f"NTX-TRIT10 lot {s.trituration_lot} (10 % w/w, made in batch {s.trituration_batch})") in flat
    )
    assert squeeze(f"NTX-HCL lot {s.api} (Medisca, supplier lot N1)") in flat
    # the certificate and why it was revoked
    assert squeeze(f"{s.certificate} 1 {s.released} revoked") in flat
    assert squeeze(f"material recall of lot {s.api}: {REASON}") in flat


def test_printed_later_it_shows_where_the_batches_stand_then(app, recalled, tmp_path):
    s = recalled
    with app.app_context():
        release.reject(user("rob"), s.quarantined, signature("rob", "rejected"), "made from a recalled lot")
        text = pdf_text(recalls.report_pdf(materials.get_lot(s.api), None), tmp_path, "-layout")
    line = next(row for row in text.splitlines() if row.lstrip().startswith(s.quarantined))
    assert "rejected" in line
    assert "on hold" not in line


def test_a_lot_that_was_not_recalled_has_no_report(app, users):
    s = build(app)
    with app.app_context(), pytest.raises(WrongState, match="has not been recalled"):
        recalls.report(materials.get_lot(s.lots["api2"]))
