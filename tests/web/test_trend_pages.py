"""The trends pages: each formula's I and MR charts drawn on the server with every batch linked,
the limits and the capability in words, the signals with a reviewer's acknowledgement, and the
reviewer's home listing what waits (domain.md §10)."""

import re

import pytest
from flask import Flask

from qa_app.services import clock
from tests.builders import setup_master_data
from tests.services.test_trends import VECTOR, assayed_batches
from tests.web.pages import field_error, messages, sign_in, text
from tests.web.test_batch_pages import section, section_html, words

DRIFT = [100.0, 99.0, 101.0, 100.0, 99.0, 101.0, 100.0, 99.0, 101.0, 100.0] + [102.0] * 9
COMMENT = "New MCC lot since batch 11; blend time checked, no change."


@pytest.fixture
def lots(app, users) -> dict[str, str]:
    with app.app_context():
        return setup_master_data(clock.today())


def made(app: Flask, values: list[float], strength: float = 1.5) -> list[str]:
    with app.app_context():
        return assayed_batches(values, strength)


def svg(page: str, element_id: str) -> str:
    match = re.search(rf'<svg[^>]*id="{element_id}".*?</svg>', page, re.S)
    assert match, f"no chart {element_id}"
    return match.group(0)


def cell(page: str, cell_id: str) -> str:
    match = re.search(rf'<td id="{cell_id}">(.*?)</td>', page, re.S)
    return words(match.group(1)) if match else ""


def linked_circles(chart: str) -> list[str]:
    """The lot numbers the chart's circles link to, in drawing order."""
    return re.findall(r'<a href="/batches/([^"]+)" class="batch-link"><circle ', chart)


def test_the_public_vector_is_charted_with_each_batch_linked_and_its_limits(app, client, lots):
    lots_made = made(app, VECTOR)
    sign_in(client, "ivan")
    page = text(client.get("/trends/LDN-CAP?strength=1.5&attribute=assay"))
    chart = svg(page, "individuals-chart")
    assert linked_circles(chart) == lots_made
    assert chart.count("<circle") == 8
    assert "UCL 102.66" in chart and "LCL 97.34" in chart and "CL 100.00" in chart
    assert "USL 110.0" in chart and "LSL 90.0" in chart
    assert 'class="line-control line-ucl"' in chart and 'stroke-dasharray="6 4"' in chart
    assert (
        f"8 batches from {lots_made[0]} to {lots_made[-1]}: lowest 98.0, highest 102.0 % LC. Centre 100.00. "
        "Control limits 97.34 to 102.66. Specification 90.0 to 110.0. No signal." in chart
    )
    assert linked_circles(svg(page, "mr-chart")) == lots_made[1:]
    numbers = section(page, "chart-h")
    assert (
        cell(page, "control-limits")
        == "LCL 97.34 · UCL 102.66 (x̄ ± 3σ̂, σ̂ = MR̄ / 1.128 = 0.8865, MR̄ = 1.0000)"
    )
    assert cell(page, "spec-limits") == "LSL 90.0 · USL 110.0 % LC"
    assert (
        section(page, "capability-h")
        == "Process capability Capability is shown from 20 points (this series has 8)."
    )
    # the data table under the charts, for those who cannot see them
    assert f"8 {lots_made[-1]}" in numbers and "99.0 1.0" in numbers
    assert 'id="chart-note"' not in page


def test_under_eight_points_the_chart_says_why_there_are_no_limits(app, client, lots):
    made(app, [99.0, 100.0, 101.0])
    sign_in(client, "rob")
    page = text(client.get("/trends/LDN-CAP"))
    assert len(linked_circles(svg(page, "individuals-chart"))) == 3
    assert "Control limits are shown from 8 points on; this series has 3 points." in page
    assert cell(page, "control-limits") == "not yet"


def test_a_bad_filter_is_named_beside_its_field_and_the_rest_is_shown(app, client, lots):
    made(app, [99.0, 100.0])
    sign_in(client, "rob")
    response = client.get("/trends/LDN-CAP?strength=1,5&attribute=assay")
    assert response.status_code == 400
    page = text(response)
    assert field_error(page, "filter-strength") == (
        "The strength has a decimal comma: use a point as the decimal separator, give the strength in mg, e.g. 1.5."
    )
    assert len(linked_circles(svg(page, "individuals-chart"))) == 2
    assert client.get("/trends/NO-SUCH").status_code == 404


def test_a_signal_is_marked_listed_on_the_home_and_acknowledged_with_a_comment(app, client, lots):
    lots_made = made(app, DRIFT)
    last = lots_made[-1]
    sign_in(client, "rob")
    home = text(client.get("/"))
    assert section(home, "trend-signals-h").startswith(
        f"Open trend signals (1) LDN-CAP 1.5 mg, Assay (% LC) — Rule 2: nine points in a row on one side of "
        f"the centre, at batch {last}, detected "
    )
    assert 'href="/trends/LDN-CAP?attribute=assay&amp;strength=1.5#signal-' in section_html(
        home, "trend-signals-h"
    )

    index = text(client.get("/trends/"))
    assert "LDN-CAP" in index and "1 open" in words(index)

    page = text(client.get("/trends/LDN-CAP?attribute=assay&strength=1.5"))
    chart = svg(page, "individuals-chart")
    assert len(linked_circles(chart)) == 19
    assert re.findall(r'<text class="signal-rule"[^>]*>([^<]+)</text>', chart) == ["2"]
    assert f"Signals: {last}: rule 2." in chart
    signals = section(page, "signals")
    assert (
        f"Rule 2: nine points in a row on one side of the centre — Assay (% LC), 1.5 mg, at batch {last}"
        in signals
    )
    assert "Nine points in a row above the centre line." in signals
    action = re.search(r'<form method="post" action="([^"]+)" class="acknowledge-signal"', page)[1]

    refused = client.post(action.replace("&amp;", "&"), data={"comment": ""})
    assert refused.status_code == 400
    signal_id = re.search(r"/signals/(\d+)/", action)[1]
    assert field_error(text(refused), f"signal-{signal_id}-comment") == "Say what was found or done."

    done = client.post(action.replace("&amp;", "&"), data={"comment": COMMENT}, follow_redirects=True)
    page = text(done)
    assert messages(page) == [
        f"Signal acknowledged: rule 2: nine points in a row on one side of the centre at batch {last}."
    ]
    assert "Acknowledged by Rob Reviewer, PharmD (rob) at " in section(page, "signals")
    assert COMMENT in section(page, "signals")
    assert 'class="acknowledge-signal"' not in page
    assert section(text(client.get("/")), "trend-signals-h") == (
        "Open trend signals (0) No trend signal waits for acknowledgement."
    )


def test_the_inspector_sees_the_signal_but_no_form_and_no_home_section(app, client, lots):
    made(app, DRIFT)
    sign_in(client, "ivan")
    page = text(client.get("/trends/LDN-CAP"))
    assert "Waiting for a reviewer's acknowledgement." in section(page, "signals")
    assert 'class="acknowledge-signal"' not in page
    assert "Open trend signals" not in text(client.get("/"))
    assert '<a href="/trends/">Trends</a>' in page


def test_technicians_have_no_trends(client, lots):
    sign_in(client, "tina")
    assert client.get("/trends/").status_code == 403
    assert client.get("/trends/LDN-CAP").status_code == 403
    assert '<a href="/trends/">Trends</a>' not in text(client.get("/"))
