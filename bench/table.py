"""The one table of the benchmark report, from the figures each benchmark hands over."""

from collections.abc import Callable

COLUMNS = ("measurement", "size", "database", "median", "p95", "ratio", "note")
LIST_VARIANTS = ("list_status", "list_search", "list_exact", "list_formula", "list_page_1000")


def ms(value: float) -> str:
    return f"{value:.1f} ms" if value < 100 else f"{value:,.0f} ms"


def times(value: float) -> str:
    return f"{value:.2f}×" if value < 10 else f"{value:,.0f}×"


def spread(row: dict) -> str:
    return f"{times(row['p95_ms'] / row['median_ms'])} p95/median"


def _pages(data: dict) -> list[tuple]:
    pages, size = data["pages"], f"{data['batches']:,} batches"
    aim = data["aim_list_ms"]
    newest, batch = pages["list_newest"], pages["batch_page"]
    slowest = max(LIST_VARIANTS, key=lambda k: pages[k]["median_ms"])
    worst = pages[slowest]
    others = "; ".join(f"{pages[k]['label']} {ms(pages[k]['median_ms'])}" for k in LIST_VARIANTS)
    return [
        ("List page, newest 50", size, "SQLite", ms(newest["median_ms"]), ms(newest["p95_ms"]),
         f"{times(newest['median_ms'] / aim)} the {aim:.0f} ms aim",
         f"{newest['n']} requests; API list {ms(pages['api_list']['median_ms'])}"),
        (f"List page, filtered or searched (slowest of {len(LIST_VARIANTS)}: {worst['label']})", size, "SQLite",
         ms(worst["median_ms"]), ms(worst["p95_ms"]), f"{times(worst['median_ms'] / aim)} the {aim:.0f} ms aim",
         others),
        ("Batch page (random lot)", size, "SQLite", ms(batch["median_ms"]), ms(batch["p95_ms"]), spread(batch),
         f"{batch['n']} different lots"),
    ]  # fmt: skip


def _results(data: dict, batches: dict | None) -> list[tuple]:
    found, cu = [], data["cu"]
    imp = data["import"]
    if imp:
        file_s = imp["file_ms"]["median_ms"] / 1000
        size = (
            f"{imp['rows']:,} rows ({imp['results']:,} CU results of 10) in {imp['files']} files of "
            f"{imp['file_rows']:,}, on top of {imp['generated_rows']:,} generated; {imp['batches']:,} batches"
        )
        found.append((
            "Results CSV import", size, "SQLite",
            f"{imp['median_file_rows_per_s']:,.0f} rows/s ({file_s:.2f} s a file)",
            f"{imp['file_ms']['p95_ms'] / 1000:.2f} s a file",
            f"{times(imp['last_tenth_rows_per_s'] / imp['first_tenth_rows_per_s'])} last tenth vs first tenth",
            f"all {imp['rows']:,} rows in {imp['seconds'] / 60:.1f} min = {imp['rows_per_s']:,.0f} rows/s; "
            f"{imp['rows_per_cpu_s']:,.0f} rows per CPU second",
        ))  # fmt: skip
        pages = imp["pages"]
        for key, label in (
            ("list_newest", "List page, newest 50"),
            ("batch_page", "Batch page (random lot)"),
        ):
            row = pages[key]
            ratio, note = spread(row), f"{row['n']} requests"
            if batches:
                before = batches["pages"][key]["median_ms"]
                ratio = f"{times(row['median_ms'] / before)} without results ({ms(before)})"
            if key == "list_newest":
                worst = max(LIST_VARIANTS, key=lambda k: pages[k]["median_ms"])
                note = f"slowest filtered/searched: {pages[worst]['label']} {ms(pages[worst]['median_ms'])}"
            found.append((f"{label}, with the results", f"{imp['batches']:,} batches, {imp['present_rows']:,} "
                          "result rows", "SQLite", ms(row["median_ms"]), ms(row["p95_ms"]), ratio, note))  # fmt: skip
    found.append((
        "Content-uniformity evaluation (USP <905> stage 1)", f"{cu['sets']:,} sets of 10", "none (numpy)",
        f"{cu['median_us']:.1f} µs a set", f"{cu['p95_us']:.1f} µs", times(cu["p95_us"] / cu["median_us"])
        + " p95/median", f"per chunk of {cu['chunk']:,} sets; CPU {cu['cpu_median_us']:.1f} µs a set",
    ))  # fmt: skip
    return found


def _readings(data: dict) -> list[tuple]:
    ingest = data["ingest"]
    fresh = ingest["FRIDGE-1"]
    rates = sorted(i["readings"] / i["seconds"] for i in ingest.values())
    found = [(
        "Readings ingest, fresh unit", f"{fresh['readings']:,} readings in {fresh['calls']} call(s)", "SQLite",
        f"{fresh['readings'] / fresh['seconds']:,.0f} readings/s ({fresh['seconds']:.1f} s)", "—", "—",
        f"one run; median over all {len(ingest)} units' ingests {rates[len(rates) // 2]:,.0f} readings/s",
    )]  # fmt: skip
    for days, label in (("365", "a year"), ("30", "30 days")):
        row = data["summaries"][days]
        plain = row["plain_median_ms"]
        ratio = f"{times(plain / row['median_ms'])} faster than plain Python ({ms(plain)})"
        if days == "365":
            ratio += f"; {times(row['median_ms'] / data['aim_year_ms'])} the {data['aim_year_ms']:.0f} ms aim"
        found.append((
            f"Storage summary (MKT, min, max, gaps), {label}",
            f"{row['readings']:,} readings of one unit; {data['units']} units, {data['stored']:,} stored",
            "SQLite", ms(row["median_ms"]), ms(row["p95_ms"]), ratio,
            f"{row['n']} runs; MKT {row['mkt_c']:.3f} °C, plain {row['plain_mkt_c']:.3f} °C: "
            + ("agree" if row["agree"] else "DISAGREE"),
        ))  # fmt: skip
    return found


def _certificates(data: dict) -> list[tuple]:
    render, zipped, release = data["render"], data["zip"], data["release"]
    floor = render.get("floor")
    ratio = f"{times(render['median_ms'] / render['aim_ms'])} the {render['aim_ms']:.0f} ms aim"
    note = f"{render['n']} renders; CPU {ms(render['cpu_median_ms'])}; {render['kib']:.0f} KiB"
    found = []
    if floor:
        ratio = (
            f"{times(render['median_ms'] / floor['median_ms'])} the bare-canvas floor ({ms(floor['median_ms'])}; "
            f"aim ≤ {render['aim_times_floor']:g}×); {ratio}"
        )
        note += f"; CPU {times(render['cpu_median_ms'] / floor['cpu_median_ms'])} the floor's"
    found.append(("Certificate render (`certificate_pdf`, as release and preview call it)", "QR code, 30 CU values",
                  "none (reportlab)", ms(render["median_ms"]), ms(render["p95_ms"]), ratio, note))  # fmt: skip
    if floor:
        found.append((
            "Certificate render floor: the same content drawn with bare reportlab canvas calls",
            "QR code, 30 CU values", "none (reportlab)", ms(floor["median_ms"]), ms(floor["p95_ms"]), spread(floor),
            f"{floor['n']} renders, in turns with the render above; CPU {ms(floor['cpu_median_ms'])}; "
            f"{floor['kib']:.0f} KiB; `bench/certificate_floor.py`",
        ))  # fmt: skip
    found.append((
        "ZIP export of certificates", f"{zipped['certificates']:,} certificates, {zipped['mib']:.1f} MiB", "SQLite",
        f"{zipped['median_ms'] / 1000:.2f} s", f"{zipped['p95_ms'] / 1000:.2f} s",
        f"{zipped['certificates'] / (zipped['median_ms'] / 1000):,.0f} certificates/s",
        f"median of {zipped['n']} exports; the last in {zipped['steps']} progress "
        + ("step" if zipped["steps"] == 1 else "steps"),
    ))  # fmt: skip
    found += _zip_scaling(data.get("zip_scaling") or [])
    found.append(("Release, one reviewer (checklist, signature, render, store)", f"{release['n']} releases", "SQLite",
                  ms(release["median_ms"]), ms(release["p95_ms"]), spread(release),
                  "no other traffic; the tests' cheap password hashing"))  # fmt: skip
    return found


def _zip_scaling(sizes: list[dict]) -> list[tuple]:
    """One row a size: the time a certificate against the smallest size's, and the peak memory."""
    if not sizes:
        return []
    first = sizes[0]
    found = []
    for size in sizes:
        rss = (
            f"peak RSS {size['rss_peak_mib']:.0f} MiB (from {size['rss_baseline_mib']:.0f} MiB before)"
            if size.get("rss_peak_mib") is not None
            else "peak RSS not measured"
        )
        found.append((
            f"ZIP export, scaling: {size['certificates']:,} certificates",
            f"{size['certificates']:,} certificates, {size['mib']:,.0f} MiB", "SQLite",
            f"{size['seconds']:.2f} s ({size['per_certificate_ms']:.3f} ms a certificate)", "—",
            f"{times(size['per_certificate_ms'] / first['per_certificate_ms'])} the time a certificate of "
            f"{first['certificates']:,}",
            f"median of {size.get('exports', 1)} exports, the last in {size['steps']} progress steps; {rss}; tracemalloc peak "
            f"{size['tracemalloc_peak_mib']:.1f} MiB (one more export)",
        ))  # fmt: skip
    return found


def _trace(data: dict) -> list[tuple]:
    api, floor, service = data["api"], data["floor"], data["service"]
    right = data["found"] == data["expected"] and data["found_via"] == data["via"]
    return [(
        "Where-used of an API lot (API)",
        f"{data['batches']:,} batches, {data['component_rows']:,} component rows; the lot in {data['direct']:,} "
        f"batches directly, {data['via']:,} more through a 10 % trituration lot", "SQLite",
        ms(api["median_ms"]), ms(api["p95_ms"]),
        f"{times(api['median_ms'] / data['aim_ms'])} the {data['aim_ms']:.0f} ms aim; "
        f"{times(api['median_ms'] / floor['median_ms'])} the same recursive SQL bare ({ms(floor['median_ms'])})",
        f"{api['n']} requests; {data['found']:,} batches found ({data['found_via']:,} through "
        f"{data['intermediate']}), {data['expected']:,} expected: " + ("right" if right else "WRONG")
        + f"; service alone {ms(service['median_ms'])}",
    )]  # fmt: skip


def _small_ms(value: float) -> str:
    return f"{value:.2f} ms" if value < 10 else ms(value)


def _trends(data: dict) -> list[tuple]:
    trend, review = data["trend"], data["review"]
    api, floor, memory = trend["api"], trend["floor"], trend["memory"]
    return [
        ("Trend of the assay, one formula and strength (API)",
         f"{trend['points']:,} points: {trend['batches']:,} batches of LDN-CAP 1.5 mg, an assay result each",
         "SQLite", ms(api["median_ms"]), ms(api["p95_ms"]),
         f"{times(api['median_ms'] / floor['median_ms'])} the bare SQL + numpy ({ms(floor['median_ms'])}; aim "
         f"≤ {trend['aim_times_floor']:g}×); {times(api['median_ms'] / trend['aim_ms'])} the {trend['aim_ms']:.0f} ms aim",
         f"{api['n']} requests; service alone {ms(trend['service']['median_ms'])}; {trend['signals']} Nelson "
         f"signals; centre {trend['center']}, σ̂ {trend['sigma']}: " + ("agree" if trend["agree"] else "DISAGREE")
         + " with the floor"),
        ("Trend statistics (centre, moving ranges, σ̂, limits, Nelson 1–4, capability)",
         f"{trend['points']:,} values in memory", "none (numpy)", _small_ms(memory["median_ms"]),
         _small_ms(memory["p95_ms"]), spread(memory), f"{memory['n']} runs of `domain.trending.trend`"),
        ("Annual product review, preview PDF", f"{review['batches']} batches of LDN-CAP in {review['year']}, "
         "six strengths, assay and CU results", "SQLite", ms(review["median_ms"]), ms(review["p95_ms"]),
         spread(review), f"{review['n']} renders; CPU {ms(review['cpu_median_ms'])}; {review['pages']} pages, "
         f"{review['kib']:.0f} KiB"),
    ]  # fmt: skip


def _alerts(data: dict) -> list[tuple]:
    run = data["seconds"]
    return [(
        "Alert delivery (`alerts send`) to SMTP on loopback", f"{data['alerts']:,} pending alerts a run, "
        f"{data['runs']} runs", "SQLite",
        f"{data['median_per_s']:,.0f} messages/s ({run['median_ms'] / 1000:.2f} s a run)",
        f"{data['slowest_per_s']:,.0f} messages/s (slowest run)",
        f"{times(data['per_message_ms'] / data['floor_per_message_ms'])} bare smtplib "
        f"({data['floor_per_s']:,.0f} messages/s)",
        f"{data['per_message_ms']:.1f} ms a message (claimed, sent, marked sent); {data['sent']:,} sent, "
        f"{data['received']:,} received, {data['failed']} failed",
    )]  # fmt: skip


def _load(data: dict) -> list[tuple]:
    release, overall = data["operations"].get("release"), data["overall"]
    who = (f"gunicorn {data['workers']} workers; {data['technicians']} technicians, {data['reviewers']} "
           f"reviewers, 1 sensor; {data['seconds']:.0f} s")  # fmt: skip
    found = []
    if release:
        found.append(("Release under load", f"{release['n']} releases; {who}", "PostgreSQL",
                      ms(release["median_ms"]), ms(release["p95_ms"]),
                      f"{times(release['p95_ms'] / release['median_ms'])} p95/median",
                      "through the JSON API, with the production argon2id check of the signature"))  # fmt: skip
    found.append((
        "All requests under load", f"{overall['requests']:,} requests, {overall['per_second']:.1f}/s",
        "PostgreSQL", ms(overall["median_ms"]), ms(overall["p95_ms"]),
        f"{times(overall['p95_ms'] / overall['median_ms'])} p95/median", f"errors: {overall['errors']}",
    ))  # fmt: skip
    return found


def rows(results: dict) -> list[tuple]:
    """The table's rows in the issue's order, for the parts that ran."""
    parts: list[tuple[str, Callable[[dict], list[tuple]]]] = [
        ("batches", _pages),
        ("results", lambda d: _results(d, results.get("batches"))),
        ("readings", _readings),
        ("certificates", _certificates),
        ("trace", _trace),
        ("trends", _trends),
        ("alerts", _alerts),
        ("load", _load),
    ]
    return [row for name, build in parts if name in results for row in build(results[name])]


def markdown_table(found: list[tuple]) -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(str(cell).replace("|", "\\|") for cell in row) + " |" for row in found]
    return "\n".join(lines)
