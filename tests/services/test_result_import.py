"""The laboratory's results CSV: every row recorded and judged, or none, with each bad row named."""

from collections.abc import Iterator
from datetime import datetime

import pytest
import sqlalchemy as sa
from flask import Flask, current_app

from qa_app.errors import InvalidInput, NotPermitted
from qa_app.extensions import db
from qa_app.models import Alert, AuditEvent, Result, TrendSignal
from qa_app.services import alerts, audit, batches, investigations, result_import, results
from tests.api.test_results_api import FAQ_SET, VECTOR_A
from tests.builders import signature, user
from tests.services.test_results import (
    STAGE_TWO_ONE_UNIT_LOW,
    STAGE_TWO_PASSING,
    events,
    quarantined_batch,
    record,
    shared_database_app,
    status,
)

HEADER = "lot_number,test,value,replicate,method,analyst,tested_at"
TESTED = "2026-11-20T10:00:00Z"


@pytest.fixture(scope="module")
def shared_app(databases, tmp_path_factory) -> Iterator[Flask]:
    yield from shared_database_app(databases, str(tmp_path_factory.mktemp("import-instance")))


@pytest.fixture
def lot(shared_app) -> Iterator[str]:
    """A fresh batch in quarantine; the test runs inside the app context."""
    with shared_app.app_context():
        yield quarantined_batch()


def unit_rows(lot: str, values: list, test: str = "content_uniformity", first: int = 1) -> list[str]:
    return [f"{lot},{test},{v},{i},HPLC,J. Lab,{TESTED}" for i, v in enumerate(values, start=first)]


def assay_row(lot: str, value="100.2", tested_at: str = TESTED) -> str:
    return f"{lot},assay,{value},1,HPLC,J. Lab,{tested_at}"


def csv_text(*rows: str, header: str = HEADER) -> str:
    return "\n".join([header, *rows]) + "\n"


def import_as(text: str | bytes, username: str = "tina") -> result_import.ImportSummary:
    return result_import.import_csv(user(username), text)


def refused_rows(text: str | bytes) -> list[dict]:
    """The rows named by the refusal, after checking that nothing at all was stored."""
    before = stored()
    with pytest.raises(InvalidInput) as refused:
        import_as(text)
    assert stored() == before
    return refused.value.rows


def stored() -> tuple[int, int]:
    """Results and audit events in the whole database."""
    return (
        db.session.scalar(sa.select(sa.func.count()).select_from(Result)),
        db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)),
    )


def results_of(lot: str) -> list[Result]:
    batch = batches.get_batch(lot)
    return list(db.session.scalars(sa.select(Result).where(Result.batch_id == batch.id).order_by(Result.id)))


# --- a good file ------------------------------------------------------------------------------


def test_a_content_uniformity_set_and_an_assay_are_recorded_and_judged(lot):
    record(lot, "appearance", "Conforms")
    summary = import_as(csv_text(*unit_rows(lot, VECTOR_A), assay_row(lot)))
    assert summary == result_import.ImportSummary(results=2, rows=11, batches=[lot])
    cu, assay = results_of(lot)[1:]
    assert (cu.test_key, cu.values, cu.evaluation["av"], cu.status) == (
        "content_uniformity",
        VECTOR_A,
        3.4,
        "pass",
    )
    assert (assay.test_key, assay.values, assay.status) == ("assay", [100.2], "pass")
    assert {cu.source, assay.source} == {"imported"}
    assert (assay.method, assay.analyst, assay.tested_at.isoformat()) == (
        "HPLC",
        "J. Lab",
        "2026-11-20T10:00:00+00:00",
    )
    assert status(lot) == "awaiting_release"
    assert [e.new_values["source"] for e in events(lot, "result.recorded")] == [
        "entered",
        "imported",
        "imported",
    ]


def test_replicates_are_taken_in_their_numbered_order(lot):
    rows = unit_rows(lot, VECTOR_A)
    import_as(csv_text(*reversed(rows)))
    assert results_of(lot)[0].values == VECTOR_A


def test_an_imported_failure_holds_the_batch(lot):
    import_as(csv_text(assay_row(lot, "111.0")))
    assert status(lot) == "on_hold"


def test_stage_two_can_follow_in_a_second_file(lot):
    import_as(csv_text(*unit_rows(lot, FAQ_SET)))
    import_as(csv_text(*unit_rows(lot, STAGE_TWO_PASSING, first=11)))
    first, second = results_of(lot)
    assert (first.status, second.status, second.evaluation["n"], second.stage1_result_id) == (
        "more_units_required",
        "pass",
        30,
        first.id,
    )


def test_rows_for_two_batches_are_all_recorded(lot):
    other = quarantined_batch()
    summary = import_as(csv_text(assay_row(lot), assay_row(other.lower(), "99.1")))
    assert summary == result_import.ImportSummary(results=2, rows=2, batches=sorted([lot, other]))
    assert [r.values for r in results_of(lot)] == [[100.2]]
    assert [r.values for r in results_of(other)] == [[99.1]]


def test_blank_lines_windows_line_ends_and_a_byte_order_mark_are_taken_in_stride(lot):
    text = "\ufeff" + csv_text("", assay_row(lot), "   ").replace("\n", "\r\n")
    assert import_as(text.encode("utf-8")).results == 1


def test_only_technicians_and_reviewers_import(lot):
    with pytest.raises(NotPermitted):
        import_as(csv_text(assay_row(lot)), username="ivan")


# --- a bad file: nothing is stored, every bad row is named ------------------------------------


def test_a_missing_column_is_named_on_row_one(lot):
    header = "lot_number,test,value,replicate,method,analyst"
    rows = refused_rows(csv_text(assay_row(lot)[: -len(TESTED) - 1], header=header))
    assert rows == [
        {
            "row": 1,
            "message": "Missing column(s): tested_at; the header is "
            "lot_number,test,value,replicate,method,analyst,tested_at.",
        }
    ]


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ("LDN-000000-999,assay,100.0,1,HPLC,J. Lab,", "No batch with lot number LDN-000000-999."),
        ("{lot},assay,abc,1,HPLC,J. Lab,", "value 'abc' is not a number."),
        ("{lot},assay,nan,1,HPLC,J. Lab,", "value 'nan' is not a number."),
        (
            "{lot},assay,100.0,1,HPLC,J. Lab,2026-11-20T10:00:00",
            "tested_at '2026-11-20T10:00:00' needs an offset, e.g. 2026-11-25T09:30:00Z.",
        ),
        (
            "{lot},dissolution,80.0,1,USP <711>,J. Lab,",
            "Unknown test; this batch's specification has: assay, content_uniformity, appearance.",
        ),
        ("{lot},assay,100.0,1,HPLC", "Expected 7 cells, found 5."),
    ],
    ids=["unknown lot", "a word", "NaN", "time without offset", "unknown test", "short row"],
)
def test_a_bad_row_is_named_with_its_row_number(lot, bad, message):
    other = quarantined_batch()
    text = csv_text(*unit_rows(other, VECTOR_A), bad.format(lot=lot))
    assert refused_rows(text) == [{"row": 12, "message": message}]


def test_a_repeated_replicate_is_named(lot):
    rows = unit_rows(lot, VECTOR_A)
    rows[9] = rows[9].replace(",10,HPLC", ",9,HPLC")
    assert refused_rows(csv_text(*rows)) == [{"row": 11, "message": "replicate 9 repeats row 10."}]


def test_a_second_row_for_a_range_test_is_named(lot):
    text = csv_text(assay_row(lot), assay_row(lot, "99.0"), assay_row(lot, "98.0"))
    assert refused_rows(text) == [
        {"row": 3, "message": f"assay of {lot} takes one row; row 2 has it already."},
        {"row": 4, "message": f"assay of {lot} takes one row; row 2 has it already."},
    ]


def test_every_bad_row_of_a_file_is_named_at_once(lot):
    rows = [assay_row(lot, "abc"), *unit_rows(lot, VECTOR_A[:9]), "LDN-000000-999,assay,1,1,,,"]
    assert refused_rows(csv_text(*rows)) == [
        {"row": 2, "message": "value 'abc' is not a number."},
        {
            "row": 3,
            "message": f"{lot} content_uniformity: Content uniformity at stage 1 needs 10 values; got 9. "
            "Give exactly 10 values, one per unit: 9 given, 10 needed.",
        },
        {"row": 12, "message": "No batch with lot number LDN-000000-999."},
    ]


def test_a_bad_time_on_a_later_replicate_row_is_named(lot):
    rows = unit_rows(lot, VECTOR_A)
    rows[4] = rows[4].replace(TESTED, "yesterday")
    assert refused_rows(csv_text(*rows)) == [
        {"row": 6, "message": "tested_at 'yesterday' is not an ISO 8601 time."}
    ]


def test_one_bad_batch_stops_the_whole_file(lot):
    other = quarantined_batch()
    text = csv_text(assay_row(lot), *unit_rows(other, VECTOR_A[:9]))
    assert [r["row"] for r in refused_rows(text)] == [3]
    assert results_of(lot) == results_of(other) == []
    assert status(lot) == status(other) == "quarantine"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (
            b"",
            {
                "row": 1,
                "message": "Missing column(s): lot_number, test, value, replicate, method, analyst, "
                "tested_at; the header is lot_number,test,value,replicate,method,analyst,tested_at.",
            },
        ),
        (HEADER.encode() + b"\n", {"row": 2, "message": "No rows after the header."}),
        (
            "lot_number,test,value,replicate,method,analyst,tested_at\nLDN,assay,99°5".encode("latin-1"),
            {"row": 1, "message": "Save the CSV as UTF-8."},
        ),
        (b"lot_number\x00", {"row": 1, "message": "Not text."}),
    ],
    ids=["empty", "header only", "not UTF-8", "binary"],
)
def test_a_file_without_results_is_refused(lot, raw, expected):
    assert refused_rows(raw) == [expected]


# --- no result outside the plan (domain.md §5) ------------------------------------------------


def conflicting_rows(text: str) -> list[dict]:
    """The rows named by the refusal of a well-formed file (api.md: a refused row fails the file
    with 400), after checking that nothing at all was stored."""
    before = stored()
    with pytest.raises(InvalidInput) as refused:
        import_as(text)
    assert refused.value.message == "Nothing was imported: 1 row(s) need fixing."
    assert stored() == before
    return refused.value.rows


def close_with_laboratory_cause(investigation_id: int) -> None:
    investigations.close_investigation(
        user("rob"),
        investigation_id,
        signature("rob", "reviewed"),
        phase="I",
        assignable_cause="laboratory",
        cause="Standard prepared at the wrong dilution",
        conclusion="Original result invalid",
    )


def test_a_row_for_a_test_waiting_for_its_investigation_refuses_the_whole_file(lot):
    failed = record(lot, "assay", 80.0)
    other = quarantined_batch()
    text = csv_text(assay_row(other, "99.1"), assay_row(lot, "99.0"))
    assert conflicting_rows(text) == [
        {
            "row": 3,
            "message": f"{lot} assay: Assay result {failed.id} of {lot} is out of specification and no "
            f"investigation covers it: open an investigation first. "
            f"Open an investigation on result {failed.id} first.",
        }
    ]
    assert [r.values for r in results_of(lot)] == [[80.0]]
    assert results_of(other) == []


def test_a_fail_then_a_pass_in_one_file_records_neither(lot):
    text = csv_text(assay_row(lot, "80.0"), assay_row(lot, "99.0"))
    assert [r["row"] for r in refused_rows(text)] == [3]
    assert results_of(lot) == []
    assert status(lot) == "quarantine"


def test_a_failed_content_uniformity_set_takes_no_new_set_from_a_file(lot):
    import_as(csv_text(*unit_rows(lot, FAQ_SET)))
    import_as(csv_text(*unit_rows(lot, STAGE_TWO_ONE_UNIT_LOW, first=11)))
    failed = results_of(lot)[-1]
    assert failed.status == "fail"
    [row] = conflicting_rows(csv_text(assay_row(lot), *unit_rows(lot, VECTOR_A)))
    assert row["row"] == 3
    assert row["message"].endswith(f"Open an investigation on result {failed.id} first.")


def test_a_file_cannot_run_a_retest_beyond_the_allowance(lot):
    failed = record(lot, "assay", 80.0)
    investigation = investigations.open_investigation(
        user("rob"), lot, result_id=failed.id, retests_allowed=0
    )
    [row] = conflicting_rows(csv_text(assay_row(lot, "99.0")))
    assert row == {
        "row": 2,
        "message": f"{lot} assay: Investigation {investigation.id} allows 0 retest(s) of assay, fixed when "
        "it opened; 0 already recorded. No retest left under the investigation's plan.",
    }


def test_a_file_may_carry_the_one_replacement_after_a_laboratory_cause(lot):
    failed = record(lot, "assay", 80.0)
    investigation = investigations.open_investigation(
        user("rob"), lot, result_id=failed.id, retests_allowed=0
    )
    close_with_laboratory_cause(investigation.id)
    import_as(csv_text(assay_row(lot, "99.0")))
    assert [(r.values, r.retest_of_id) for r in results_of(lot)] == [
        ([80.0], None),
        ([99.0], investigation.id),
    ]
    [row] = conflicting_rows(csv_text(assay_row(lot, "99.5")))
    assert row["message"].endswith("No retest or replacement left under the investigation's plan.")


def test_bad_rows_and_conflicting_rows_together_are_a_bad_file(lot):
    failed = record(lot, "assay", 80.0)
    other = quarantined_batch()
    rows = refused_rows(csv_text(assay_row(lot, "99.0"), *unit_rows(other, VECTOR_A[:9])))
    assert [r["row"] for r in rows] == [2, 3]
    assert rows[0]["message"].endswith(f"Open an investigation on result {failed.id} first.")


# --- statements per file ----------------------------------------------------------------------


def statements_of_import(text: str) -> int:
    """SQL statements the database received for one import of ``text``."""
    seen: list[str] = []

    def count(_conn, _cursor, statement, _params, _context, _executemany) -> None:
        seen.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", count)
    try:
        import_as(text)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", count)
    return len(seen)


def cu_rows(lots: list[str]) -> list[str]:
    return [row for lot in lots for row in unit_rows(lot, VECTOR_A)]


def test_statements_do_not_grow_with_the_rows_of_a_file(lot):
    """20 rows on 2 batches and 200 rows on 20 batches each cost at most 30 statements (22 on
    SQLite when this was written, and up to 7 more when the file brings new trend signals;
    before, 16 per result: 16,361 for 1,000 batches). 240 rows of three tests on 20 batches,
    which move all 20 to awaiting release, cost at most 3 more for the file (the status changes'
    audit events) and 1 more per batch (its status)."""
    two = [lot, quarantined_batch()]
    twenty = [quarantined_batch() for _ in range(20)]
    three_tests = [quarantined_batch() for _ in range(20)]
    two_batches = statements_of_import(csv_text(*cu_rows(two)))
    twenty_batches = statements_of_import(csv_text(*cu_rows(twenty)))
    rows = [row for b in three_tests for row in (*unit_rows(b, VECTOR_A), assay_row(b), appearance_row(b))]
    twenty_with_three_tests = statements_of_import(csv_text(*rows))
    assert [status(b) for b in three_tests] == ["awaiting_release"] * 20
    assert [len(results_of(b)) for b in three_tests] == [3] * 20
    assert two_batches <= 30
    assert twenty_batches <= 30
    assert twenty_with_three_tests <= 30 + 3 + 20


def appearance_row(lot: str) -> str:
    return f"{lot},appearance,Conforms,1,Visual,J. Lab,{TESTED}"


# --- an imported result is judged and announced as one entered alone ---------------------------


def _alerts_of(lot: str) -> list[tuple[str, str, str]]:
    """Each oos alert about the batch: to whom, its subject, its text with the result id left out."""
    rows = db.session.execute(
        sa.select(Alert.email, Alert.subject, Alert.body, Alert.cause)
        .where(Alert.kind == "oos", Alert.subject.like(f"% {lot}"))
        .order_by(Alert.email)
    )
    return [
        (email, subject, body.replace(f"result {cause.split(':')[1]} of", "result # of"))
        for email, subject, body, cause in rows
    ]


def _story(lot: str) -> list[tuple[str, dict]]:
    """The batch's audit events after its completion, their ids and sources left out."""
    drop = {"result_id", "source", "id"}
    found = []
    for event in db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.entity_key == lot).order_by(AuditEvent.seq)
    ):
        if event.action in ("result.recorded", "batch.status_changed"):
            new = {k: v for k, v in (event.new_values or {}).items() if k not in drop}
            if "holds" in new:
                new["holds"] = [
                    {k: v for k, v in h.items() if k not in ("id", "message")} for h in new["holds"]
                ]
            found.append((event.action, new))
    return found


def test_an_imported_failure_is_held_audited_and_alerted_as_one_entered_alone(lot):
    alerts.set_alerts(user("ada"), "rob", "rob@pharmacy.example", ["oos"])
    entered = quarantined_batch()
    results.record_result(
        user("tina"),
        entered,
        test="assay",
        value=111.0,
        method="HPLC",
        analyst="J. Lab",
        tested_at=datetime.fromisoformat(TESTED),
    )
    import_as(csv_text(assay_row(lot, "111.0")))

    assert status(lot) == status(entered) == "on_hold"
    assert _story(lot) == _story(entered)
    assert len(_alerts_of(lot)) == 1
    assert [a[2].replace(lot, "LOT") for a in _alerts_of(lot)] == [
        a[2].replace(entered, "LOT") for a in _alerts_of(entered)
    ]


def test_a_refused_batch_in_a_file_leaves_no_alert_and_no_trend_signal(lot):
    alerts.set_alerts(user("ada"), "rob", "rob@pharmacy.example", ["oos", "trend_signal"])
    draft = batches.create_batch(
        user("tina"),
        formula="LDN-CAP",
        strength_mg=1.5,
        quantity=100,
        api_lot=current_app.config["TEST_LOTS"]["api"],
    ).lot_number
    before = (
        db.session.scalar(sa.select(sa.func.count()).select_from(Alert)),
        db.session.scalar(sa.select(sa.func.count()).select_from(TrendSignal)),
    )
    rows = refused_rows(csv_text(assay_row(lot, "111.0"), assay_row(draft, "99.0")))
    assert [r["row"] for r in rows] == [3]
    assert (
        db.session.scalar(sa.select(sa.func.count()).select_from(Alert)),
        db.session.scalar(sa.select(sa.func.count()).select_from(TrendSignal)),
    ) == before
    assert status(lot) == "quarantine"


def test_the_audit_trail_of_a_file_of_two_batches_with_a_failure_verifies_whole(lot):
    other = quarantined_batch()
    import_as(csv_text(*unit_rows(lot, VECTOR_A), assay_row(other, "111.0"), assay_row(lot)))
    check = audit.verify_chain()
    assert check.ok, check
    assert [e.new_values["test"] for e in events(lot, "result.recorded")] == ["content_uniformity", "assay"]
    assert status(other) == "on_hold"
