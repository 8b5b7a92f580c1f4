"""The server-drawn temperature chart: limits where they belong, excursions shaded, local ticks."""

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from qa_app.reports.chart import Span, temperature_chart, time_ticks

START = datetime(2026, 1, 15, 0, 0, tzinfo=UTC)
END = START + timedelta(hours=24)
FIVE_MINUTES = 300.0


def fridge_day(values=(4.0, 6.0)) -> tuple[np.ndarray, np.ndarray]:
    """A day of 5-minute readings swinging between the two values."""
    t = np.arange(START.timestamp(), END.timestamp(), FIVE_MINUTES)
    low, high = values
    v = low + (high - low) * (np.sin(np.arange(t.size) / 20) + 1) / 2
    return t, v


def chart(t, v, **kwargs) -> str:
    arguments = {"start": START, "end": END, "min_c": 2.0, "max_c": 8.0} | kwargs
    return temperature_chart(t, v, **arguments)


def limit_lines(svg: str) -> dict[str, tuple[str, str]]:
    """limit name → (y1, y2) of its dashed line."""
    return {
        name: (y1, y2)
        for name, y1, y2 in re.findall(
            r'<line class="limit limit-(\w+)"[^>]*y1="([\d.]+)" y2="([\d.]+)"', svg
        )
    }


def rects(svg: str, classification: str) -> list[dict[str, str]]:
    tags = re.findall(rf'<rect class="excursion excursion-{classification}"[^>]*>', svg)
    return [dict(re.findall(r'([\w-]+)="([^"]*)"', tag)) for tag in tags]


def test_the_limit_lines_of_a_refrigerator_sit_at_2_and_8_degrees():
    # Readings of 4–6 °C and limits of 2–8 °C give an axis of 0–10 °C over the plot's
    # 220 px (y 16 at the top to 236 at the bottom): 8 °C at 16 + 2/10 × 220 = 60 and
    # 2 °C at 16 + 8/10 × 220 = 192.
    svg = chart(*fridge_day())
    assert limit_lines(svg) == {"max": ("60.0", "60.0"), "min": ("192.0", "192.0")}
    assert "max 8.0 °C" in svg
    assert "min 2.0 °C" in svg
    labels = re.findall(r'<text x="50.0" y="([\d.]+)"[^>]*>([^<]+)</text>', svg)
    assert ("64.0", "8 °C") in labels  # the tick label's baseline sits 4 px under its line
    assert ("196.0", "2 °C") in labels


def test_an_excursion_is_shaded_over_its_hours_and_links_to_its_page():
    # 10:00 to 14:00 of a 24-hour window on a plot 728 px wide from x = 56:
    # x = 56 + 10/24 × 728 = 359.3 and width = 4/24 × 728 = 121.3.
    cut = Span(
        START + timedelta(hours=10),
        START + timedelta(hours=14),
        "needs_disposition",
        "Excursion 7: needs disposition",
        "/storage/excursions/7",
    )
    svg = chart(*fridge_day(), spans=[cut])
    [shaded] = rects(svg, "needs_disposition")
    assert (shaded["x"], shaded["width"]) == ("359.3", "121.3")
    assert (shaded["y"], shaded["height"]) == ("16.0", "220.0")
    assert '<a href="/storage/excursions/7"><rect class="excursion excursion-needs_disposition"' in svg
    assert "<title>Excursion 7: needs disposition</title>" in svg
    assert "1 excursion shaded: Excursion 7: needs disposition." in svg


def test_allowable_and_needing_disposition_are_shaded_differently():
    spans = [
        Span(START + timedelta(hours=2), START + timedelta(hours=3), "allowable", "Excursion 1"),
        Span(START + timedelta(hours=10), None, "needs_disposition", "Excursion 2"),
    ]
    svg = chart(*fridge_day(), spans=spans)
    [allowable] = rects(svg, "allowable")
    [needs] = rects(svg, "needs_disposition")
    assert allowable["fill"] != needs["fill"]
    assert "Excursion: allowable" in svg
    assert "Excursion: needs disposition" in svg
    # an ongoing excursion is shaded to the window's end: 56 + 728 = 784
    assert float(needs["x"]) + float(needs["width"]) == 784.0


def test_no_readings_say_so_and_still_show_the_limits():
    svg = chart(np.array([]), np.array([]))
    assert "No readings in this window." in svg
    assert '<path class="reading"' not in svg
    assert set(limit_lines(svg)) == {"max", "min"}
    assert re.search(r'<desc id="chart-desc">No readings in this window, from 2026-01-15 00:00', svg)


def test_the_chart_names_itself_for_screen_readers():
    svg = chart(*fridge_day(), title="FRIDGE-1 temperatures, last 24 hours", element_id="unit-chart")
    assert svg.startswith('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 800 300"')
    assert 'role="img" aria-labelledby="unit-chart-title unit-chart-desc"' in svg
    assert '<title id="unit-chart-title">FRIDGE-1 temperatures, last 24 hours</title>' in svg
    desc = re.search(r'<desc id="unit-chart-desc">(.*?)</desc>', svg).group(1)
    assert desc == (
        "Temperatures from 2026-01-15 00:00 to 2026-01-16 00:00 (UTC): lowest 4.0 °C, highest 6.0 °C, "
        "288 points. Limits 2.0 to 8.0 °C. No excursion in this window."
    )


def test_time_ticks_fall_on_local_hours():
    # 05:00 UTC is midnight in New York in January: ticks every 2 hours of local time.
    start = datetime(2026, 1, 15, 5, 0, tzinfo=UTC)
    ticks = time_ticks(start, start + timedelta(hours=24), ZoneInfo("America/New_York"))
    assert [label for _moment, label in ticks] == [
        "15 Jan", "02:00", "04:00", "06:00", "08:00", "10:00", "12:00",
        "14:00", "16:00", "18:00", "20:00", "22:00", "16 Jan",
    ]  # fmt: skip
    assert ticks[1][0].astimezone(UTC) == datetime(2026, 1, 15, 7, 0, tzinfo=UTC)


def test_daily_ticks_stay_on_local_midnight_across_the_change_to_summer_time():
    berlin = ZoneInfo("Europe/Berlin")
    start = datetime(2026, 3, 26, 12, 0, tzinfo=UTC)
    ticks = time_ticks(start, start + timedelta(days=7), berlin)
    assert [label for _moment, label in ticks] == [
        "27 Mar",
        "28 Mar",
        "29 Mar",
        "30 Mar",
        "31 Mar",
        "01 Apr",
        "02 Apr",
    ]
    utc_hours = [moment.astimezone(UTC).hour for moment, _label in ticks]
    assert utc_hours == [23, 23, 23, 22, 22, 22, 22]  # CET midnight, then CEST midnight


def test_a_year_of_hourly_values_is_drawn_per_pixel_with_its_range():
    start = datetime(2025, 1, 1, tzinfo=UTC)
    end = start + timedelta(days=365)
    t = np.arange(start.timestamp(), end.timestamp(), 3600.0) + 1800
    mean = 22 + np.sin(np.arange(t.size) / 50)
    svg = temperature_chart(
        t, mean, mean - 0.5, mean + 0.5, start=start, end=end, min_c=20, max_c=25, series_label="Hourly mean"
    )
    [line] = re.findall(r'<path class="reading" d="([^"]+)"', svg)
    assert len(line.split(" L")) <= 729  # one point per pixel column of the 728 px plot, not 8,760
    assert '<path class="band"' in svg
    assert "Hourly mean (mean per pixel)" in svg
    assert "Lowest–highest" in svg
    assert len(svg) < 60_000
    months = [m.group(1) for m in re.finditer(r'<text class="tick-time"[^>]*>([^<]+)</text>', svg)]
    assert months[:3] == ["Jan 2025", "Feb", "Mar"]


def test_a_data_gap_breaks_the_line():
    t, v = fridge_day()
    keep = (t < START.timestamp() + 6 * 3600) | (t >= START.timestamp() + 16 * 3600)
    svg = chart(t[keep], v[keep])
    assert len(re.findall(r'<path class="reading"', svg)) == 2


def test_text_is_escaped():
    span = Span(START, START + timedelta(hours=1), "allowable", '<script>alert("x")</script>')
    svg = chart(*fridge_day(), spans=[span], title="A & B")
    assert "<script>" not in svg
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in svg
    assert '<title id="chart-title">A &amp; B</title>' in svg
