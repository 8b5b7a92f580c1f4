"""Trending, service level: the points read from the records, the chart, signals stored once
with an alert and acknowledged by a reviewer (domain.md §10)."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from qa_app.errors import InvalidInput, NotPermitted, WrongState
from qa_app.extensions import db
from qa_app.models import AuditEvent, Batch, TrendSignal
from qa_app.services import batches, clock, result_import, results, trends
from tests.api.test_results_api import FAQ_SET
from tests.builders import setup_master_data, user
from tests.services.test_results import STAGE_TWO_PASSING

VECTOR = [98.0, 99.0, 100.0, 101.0, 102.0, 101.0, 100.0, 99.0]


@pytest.fixture
def lots(app, users):
    with app.app_context():
        return setup_master_data(clock.today())


def assayed_batches(assays: list[float], strength: float = 1.5) -> list[str]:
    """Batches compounded a day apart (oldest first), completed for results, each with its assay."""
    tina = user("tina")
    start = clock.utcnow() - timedelta(days=len(assays) + 1)
    made = []
    for i, assay in enumerate(assays):
        batch = batches.create_batch(
            tina,
            formula="LDN-CAP",
            strength_mg=strength,
            quantity=100,
            compounded_at=start + timedelta(days=i),
        )
        batch.status = "quarantine"  # set-up: results need a completed batch; completion is tested elsewhere
        db.session.commit()
        results.record_result(tina, batch.lot_number, test="assay", value=assay)
        made.append(batch.lot_number)
    return made


def test_the_public_vector_through_the_records(app, lots):
    with app.app_context():
        made = assayed_batches(VECTOR)
        found = trends.series("LDN-CAP", "assay", 1.5).as_dict()
        assert [p["value"] for p in found["points"]] == VECTOR
        assert [p["lot_number"] for p in found["points"]] == made
        assert (found["center"], found["mr_bar"], found["sigma"]) == (100.0, 1.0, 0.8865)
        assert (found["lcl"], found["ucl"]) == (97.34, 102.66)
        assert (found["lsl"], found["usl"]) == (90.0, 110.0)
        assert found["signals"] == []
        assert found["capability"] is None
        assert db.session.scalar(sa.select(sa.func.count()).select_from(TrendSignal)) == 0


def test_an_invalidated_or_superseded_assay_is_not_the_batch_point(app, lots):
    with app.app_context():
        made = assayed_batches([99.0, 101.0])
        tina = user("tina")
        results.record_result(tina, made[1], test="assay", value=100.4)
        found = trends.series("LDN-CAP", "assay", 1.5)
        assert [p.value for p in found.points] == [99.0, 100.4]


def test_a_slow_drift_raises_rule_2_once_stored_with_an_alert_and_a_reviewer_acknowledges_it(app, lots):
    with app.app_context():
        made = assayed_batches(
            [100.0, 99.0, 101.0, 100.0, 99.0, 101.0, 100.0, 99.0, 101.0, 100.0] + [102.0] * 9
        )
        open_signals = trends.open_signals()
        assert [(s.rule, s.batch.lot_number, s.attribute, s.strength_mg) for s in open_signals] == [
            (2, made[-1], "assay", 1.5)
        ]
        signal = open_signals[0]
        again = trends.refresh(user("tina"), [db.session.get(Batch, signal.batch_id)], ["assay"])
        assert again == []  # stored once
        with pytest.raises(NotPermitted):
            trends.acknowledge(user("tina"), signal.id, "seen")
        with pytest.raises(InvalidInput):
            trends.acknowledge(user("rob"), signal.id, "  ")
        trends.acknowledge(
            user("rob"), signal.id, "New MCC lot M2 since batch 11; blend time checked, no change."
        )
        assert trends.open_signals() == []
        with pytest.raises(WrongState):
            trends.acknowledge(user("rob"), signal.id, "again")
        actions = db.session.scalars(
            sa.select(AuditEvent.action).where(AuditEvent.entity_type == "trend_signal")
        ).all()
        assert actions == ["trend.signal", "trend.signal_acknowledged"]


def test_an_unknown_attribute_is_named(app, lots):
    with app.app_context():
        with pytest.raises(InvalidInput) as refused:
            trends.series("LDN-CAP", "potency")
        assert "attribute" in refused.value.fields


def cu_file(lots: list[str], spreads: list[float]) -> str:
    """A results CSV of one content-uniformity set of ten per lot: 100 ± the spread, five each."""
    lines = ["lot_number,test,value,replicate,method,analyst,tested_at"]
    for lot, spread in zip(lots, spreads, strict=True):
        values = [100.0 + spread] * 5 + [100.0 - spread] * 5
        lines += [f"{lot},content_uniformity,{v},{i},HPLC,Lab," for i, v in enumerate(values, 1)]
    return "\n".join(lines) + "\n"


def test_a_content_uniformity_import_reads_only_the_av_trend_and_stores_its_new_signal(
    app, lots, monkeypatch
):
    with app.app_context():
        made = assayed_batches([100.0] * 19)  # an assay series the file does not touch
        # AV = 2.4 s of each set: the slow drift of the assay test above, spreads 0.5 to 2.0.
        spreads = [1.0, 0.5, 1.5, 1.0, 0.5, 1.5, 1.0, 0.5, 1.5, 1.0] + [2.0] * 9
        tina = user("tina")
        result_import.import_csv(tina, cu_file(made[:10], spreads[:10]))
        assert trends.open_signals() == []
        read: list[str] = []
        real_rows = trends._rows
        monkeypatch.setattr(
            trends,
            "_rows",
            lambda formula, attribute, *rest: read.append(attribute) or real_rows(formula, attribute, *rest),
        )
        result_import.import_csv(tina, cu_file(made[10:], spreads[10:]))
        assert read == ["cu_av"]
        assert [(s.rule, s.batch.lot_number, s.attribute) for s in trends.open_signals()] == [
            (2, made[-1], "cu_av")
        ]


def test_the_av_point_of_a_batch_is_its_stage_two_once_the_twenty_more_units_are_in(app, lots):
    with app.app_context():
        made = assayed_batches([100.0, 100.0])
        tina = user("tina")
        results.record_result(tina, made[0], test="content_uniformity", values=FAQ_SET)
        results.record_result(tina, made[1], test="content_uniformity", values=[100.0] * 10)
        waiting = trends.series("LDN-CAP", "cu_av", 1.5)
        assert [(p.lot_number, p.value) for p in waiting.points] == [(made[1], 0.0)]
        results.record_result(tina, made[0], test="content_uniformity", values=STAGE_TWO_PASSING)
        found = trends.series("LDN-CAP", "cu_av", 1.5)
        assert [(p.lot_number, p.value) for p in found.points] == [(made[0], 8.4), (made[1], 0.0)]
