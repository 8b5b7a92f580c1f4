"""The individuals and moving-range charts as SVG: one linked circle per batch, the lines named
with their values, signals marked with their rule, and a description in words."""

import re
import xml.etree.ElementTree as ET

from qa_app.reports.trend_chart import ChartPoint, individuals_chart, moving_range_chart

VECTOR = [98.0, 99.0, 100.0, 101.0, 102.0, 101.0, 100.0, 99.0]
SVG = "{http://www.w3.org/2000/svg}"


def batches(values: list[float]) -> list[ChartPoint]:
    return [ChartPoint(f"LDN-{i + 1:03d}", v, f"/batches/LDN-{i + 1:03d}") for i, v in enumerate(values)]


def parsed(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # well-formed XML, or this raises


def line_labels(svg: str) -> list[str]:
    return re.findall(r'<text x="720\.0"[^>]*>([^<]+)</text>', svg)


def test_the_public_vector_draws_eight_linked_circles_and_the_five_lines():
    svg = individuals_chart(
        batches(VECTOR), center=100.0, ucl=102.66, lcl=97.34, lsl=90.0, usl=110.0, unit="% LC", decimals=1
    )
    root = parsed(svg)
    links = root.findall(f".//{SVG}a")
    assert [a.get("href") for a in links] == [f"/batches/LDN-{i:03d}" for i in range(1, 9)]
    assert [a.find(f"{SVG}circle/{SVG}title").text for a in links][:2] == ["LDN-001: 98.0", "LDN-002: 99.0"]
    assert len(root.findall(f".//{SVG}circle")) == 8
    assert line_labels(svg) == ["USL 110.0", "UCL 102.66", "CL 100.00", "LCL 97.34", "LSL 90.0"]
    assert root.find(f"{SVG}desc").text == (
        "8 batches from LDN-001 to LDN-008: lowest 98.0, highest 102.0 % LC. Centre 100.00. "
        "Control limits 97.34 to 102.66. Specification 90.0 to 110.0. No signal."
    )
    assert 'class="line-control line-ucl"' in svg and 'class="line-spec line-lsl"' in svg
    assert "style=" not in svg  # the Content-Security-Policy blocks style attributes


def test_a_signal_point_is_red_and_carries_its_rule_numbers():
    svg = individuals_chart(
        batches(VECTOR), center=100.0, ucl=102.66, lcl=97.34, signals=[(4, 1), (4, 3), (7, 2)]
    )
    assert re.findall(r'<text class="signal-rule"[^>]*>([^<]+)</text>', svg) == ["1,3", "2"]
    assert svg.count('class="point signal"') == 2
    assert "LDN-005: 102.00; signal rule 1 (a point beyond 3 sigma), rule 3 (six points" in svg
    assert "Signals: LDN-005: rule 1, 3; LDN-008: rule 2." in svg


def test_the_moving_range_chart_has_one_point_per_pair_linked_to_the_later_batch():
    svg = moving_range_chart(batches(VECTOR), mr_bar=1.0, mr_ucl=3.267)
    root = parsed(svg)
    assert [a.get("href") for a in root.findall(f".//{SVG}a")] == [
        f"/batches/LDN-{i:03d}" for i in range(2, 9)
    ]
    assert line_labels(svg) == ["UCL 3.27", "MR̄ 1.00"]
    assert root.find(f"{SVG}desc").text == (
        "Moving ranges of 7 consecutive pairs of batches: largest 1.00, average MR̄ 1.00, upper limit 3.27."
    )


def test_without_limits_or_points_the_chart_says_so():
    few = individuals_chart(batches([99.0, 101.0]), center=100.0, ucl=None, lcl=None)
    assert line_labels(few) == ["CL 100.00"]
    assert "No control limits yet." in few
    empty = individuals_chart([], center=None, ucl=None, lcl=None)
    assert "No batch has a value for this attribute yet." in empty
    assert "<circle" not in empty
    parsed(empty)
    assert "A moving range needs two batches." in moving_range_chart(
        batches([99.0]), mr_bar=None, mr_ucl=None
    )


def test_hostile_lot_numbers_are_escaped():
    svg = individuals_chart(
        [ChartPoint("<script>x</script>", 1.0, '/batches/"><img>')], center=1.0, ucl=None, lcl=None
    )
    assert "<script>" not in svg and "<img>" not in svg
    parsed(svg)
