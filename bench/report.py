"""The benchmark report: runs every benchmark, each in its own process, and writes one table.

    make bench                                    # everything, then BENCHMARKS.md at the repo root
    BENCH_ONLY=batches,readings .venv/bin/python bench/report.py
    .venv/bin/python bench/report.py --only trace,trends                        # the same, as an option
    BENCH_REPORT=/tmp/b.md BENCH_RESULTS=100000 .venv/bin/python bench/report.py   # smaller, elsewhere

Each benchmark prints its own lines as it goes and hands its figures over as JSON (BENCH_JSON);
this script turns them into one Markdown table with medians and ratios, the date, the machine,
the load average before and after, and how long each part took. The load run needs PostgreSQL
(LOAD_POSTGRES_URL, default the local server); without it that row says why it is missing.
"""

import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import machine  # noqa: E402
from bench.table import markdown_table, rows  # noqa: E402

STEPS = {
    "batches": "bench/bench_batches.py",
    "results": "bench/bench_results.py",
    "readings": "bench/bench_readings.py",
    "certificates": "bench/bench_certificates.py",
    "trace": "bench/bench_trace.py",
    "trends": "bench/bench_trends.py",
    "alerts": "bench/bench_alerts.py",
    "load": "bench/load.py",
}
SIZES = ("BENCH_BATCHES", "BENCH_RESULTS", "BENCH_CSV_ROWS", "BENCH_CU_SETS", "BENCH_READINGS",
         "BENCH_RENDERS", "BENCH_ZIP_CERTIFICATES", "BENCH_ZIP_SIZES", "BENCH_RELEASES", "BENCH_TRACE_BATCHES",
         "BENCH_TRACE_DIRECT", "BENCH_TRACE_VIA", "BENCH_TREND_BATCHES", "BENCH_REVIEW_BATCHES", "BENCH_ALERTS",
         "LOAD_SECONDS")  # fmt: skip


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f}, {five:.2f}, {fifteen:.2f}"


def run_step(name: str, script: str) -> tuple[dict | None, dict]:
    """Run one benchmark in its own interpreter; its figures, and how the run went."""
    info = {"load_before": load_average()}
    if name == "load" and (reason := machine.postgres_unreachable()):
        info.update(seconds=0.0, load_after=info["load_before"], status=f"not run: {reason}")
        return None, info
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / f"{name}.json"
        print(f"\n=== {name}: {script} (load average {info['load_before']})", flush=True)
        started = time.perf_counter()
        code = subprocess.run([sys.executable, str(ROOT / script)], cwd=ROOT,
                              env=dict(os.environ, BENCH_JSON=str(out))).returncode  # fmt: skip
        info["seconds"] = time.perf_counter() - started
        info["load_after"] = load_average()
        data = json.loads(out.read_text()) if out.exists() else None
    info["status"] = "ok" if code == 0 else f"exit {code}" + ("" if data else ", no figures")
    return data, info


def document(results: dict, steps: dict, context: dict) -> str:
    """BENCHMARKS.md: the table first, then the machine, the run and how to repeat it."""
    table = markdown_table(rows(results))
    lines = [
        "# Benchmarks",
        "",
        f"Run on {context['date']} by `make bench` (`bench/report.py`), in {context['minutes']:.1f} minutes "
        f"on the machine below. Medians and 95th percentiles are of wall-clock time unless a cell says "
        "otherwise; *ratio* says against what each row is compared.",
        "",
        table,
        "",
        "## Machine",
        "",
        *[f"- **{key}:** {value}" for key, value in context["machine"].items()],
        f"- **Load average (1, 5, 15 min):** {context['load_start']} at the start, {context['load_end']} at "
        "the end (the machine is shared: other jobs may have run beside the benchmarks).",
        "",
        "## The run",
        "",
        "| part | script | took | load average before | after | status |",
        "|---|---|---|---|---|---|",
        *[
            f"| {name} | `{STEPS[name]}` | {info['seconds'] / 60:.1f} min | {info['load_before']} | "
            f"{info['load_after']} | {info['status']} |"
            for name, info in steps.items()
        ],
        "",
        "The load part raises the load average itself: four gunicorn workers, seven client threads "
        "and PostgreSQL share the two cores for a minute.",
        "",
        *context["sizes"],
        "## Databases",
        "",
        "Every row names its database. The page, import, readings, certificate and ZIP rows use a "
        "throw-away SQLite file (WAL, `synchronous=NORMAL`, `BEGIN IMMEDIATE`, as in production on "
        "SQLite), made by the migrations and filled through the services (results through the CSV "
        "import, readings through the ingest, releases through the release service), except the "
        "batches of the page and import rows, which are bulk-inserted with their real frozen "
        "calculation and specification, and the batches behind the ZIP's certificates, copied from "
        "released ones. "
        "The load rows use a fresh PostgreSQL database on the local server, dropped afterwards, "
        "behind gunicorn with several workers on loopback. The where-used, trend and product-review "
        "rows bulk-insert their batches the same way, with their components (where-used) and assay and "
        "content-uniformity results (evaluated by the domain functions, no audit events); the "
        "trituration behind the where-used is made through the services. The alert rows deliver to an "
        "SMTP server on 127.0.0.1 in the same process. Content-uniformity evaluation, the trend "
        "statistics in memory and the certificate render touch no database.",
        "",
        "## Re-running",
        "",
        "```sh",
        "make bench                      # installs what it needs, runs everything, rewrites BENCHMARKS.md",
        "BENCH_ONLY=batches,results .venv/bin/python bench/report.py   # some parts only",
        ".venv/bin/python bench/report.py --only trace,trends,alerts   # the same, as an option",
        "BENCH_REPORT=/tmp/bench.md .venv/bin/python bench/report.py    # write the report elsewhere",
        "BENCH_JSON=out.json .venv/bin/python bench/bench_readings.py  # one benchmark, figures as JSON",
        "```",
        "",
        "Sizes are set by environment variables (`BENCH_BATCHES`, `BENCH_RESULTS`, `BENCH_CSV_ROWS`, "
        "`BENCH_CU_SETS`, `BENCH_READINGS`, `BENCH_RENDERS`, `BENCH_ZIP_CERTIFICATES`, `BENCH_ZIP_SIZES`, "
        "`BENCH_TRACE_BATCHES`, `BENCH_TREND_BATCHES`, `BENCH_REVIEW_BATCHES`, `BENCH_ALERTS`, `LOAD_SECONDS`, "
        "…; each script's docstring lists its own). Timings on a shared 2-core machine move with what "
        "else runs on it: compare the CPU-time figures, where given, and the load averages above before "
        "comparing two reports.",
        "",
    ]
    return "\n".join(lines)


def size_notes(results: dict) -> list[str]:
    """Say plainly when the sizes were not the defaults the issue asks for."""
    changed = [f"`{name}={os.environ[name]}`" for name in SIZES if os.environ.get(name)]
    notes = []
    if changed:
        notes.append(f"**Reduced or changed sizes:** this run was made with {', '.join(changed)}; "
                     "the defaults are 100,000 batches, 1,000,000 result rows and readings, 10,000 batches "
                     "in the trend, 200 in the product review, 500 alerts a run, 60 s of load.")  # fmt: skip
    imported = results.get("results", {}).get("import", {})
    if imported:
        rate = imported["rows_per_s"]
        notes.append(
            f"**Results:** {imported['present_rows']:,} result rows were present for the page rows; "
            f"{imported['rows']:,} of them came in through the CSV import (timed) and "
            f"{imported['generated_rows']:,} were generated first (evaluated by the domain function and "
            "bulk-inserted, without audit events), so the import was timed with that many already there. "
            f"At this run's {rate:,.0f} rows/s, all 1,000,000 through the import would take "
            f"{1_000_000 / rate / 60:.0f} minutes; the bench imports the last 100,000 to keep the whole "
            "`make bench` short, and `BENCH_IMPORT_ROWS=1000000` imports them all."
        )
    return [line for note in notes for line in (note, "")]


def selected(argv: list[str]) -> str:
    """The parts asked for: ``--only a,b`` (or ``--only=a,b``) on the command line, else BENCH_ONLY."""
    for i, arg in enumerate(argv):
        if arg == "--only" and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith("--only="):
            return arg.split("=", 1)[1]
    return os.environ.get("BENCH_ONLY", "")


def main() -> int:
    only = [s.strip() for s in selected(sys.argv[1:]).split(",") if s.strip()]
    unknown = [s for s in only if s not in STEPS]
    if unknown:
        print(f"unknown part(s) {', '.join(unknown)}; the parts are {', '.join(STEPS)}", file=sys.stderr)
        return 2
    context = {"date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), "load_start": load_average()}
    context["machine"] = machine.describe()
    started = time.perf_counter()
    results, steps = {}, {}
    for name, script in STEPS.items():
        if only and name not in only:
            continue
        data, steps[name] = run_step(name, script)
        if data is not None:
            results[name] = data
    context.update(minutes=(time.perf_counter() - started) / 60, load_end=load_average())
    context["sizes"] = size_notes(results)
    text = document(results, steps, context)
    target = Path(os.environ.get("BENCH_REPORT", ROOT / "BENCHMARKS.md"))
    target.write_text(text)
    print("\n" + markdown_table(rows(results)))
    print(f"\n{context['minutes']:.1f} min; load average {context['load_start']} → {context['load_end']}; "
          f"written to {target}")  # fmt: skip
    return 0 if all(info["status"] == "ok" for info in steps.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
