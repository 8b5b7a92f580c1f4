"""Benchmark: rendering a certificate of analysis beside its floor, releasing a batch, and ZIPs of
1,000 to 10,000 certificates.

make bench                                   # with the other benchmarks and BENCHMARKS.md
BENCH_RENDERS=200 BENCH_ZIP_CERTIFICATES=1000 BENCH_ZIP_REPEAT=3 BENCH_ZIP_SIZES=1000,5000,10000 \
    .venv/bin/python bench/bench_certificates.py

The render is the worst ordinary case: a QR code and 30 content-uniformity values (stage 2).
Each render of ``certificate_pdf`` (what the release and the preview call) alternates with the
floor, ``bench/certificate_floor.py``: the same content drawn with bare reportlab canvas calls,
so both see the same machine at the same moment. The ZIPs are made the way the export page
makes them, step by step, from stored certificates (copies of one released batch's certificate,
each of its own batch, inserted directly): BENCH_ZIP_CERTIFICATES of them BENCH_ZIP_REPEAT
times, then BENCH_ZIP_SCALING_REPEAT exports of each size in BENCH_ZIP_SIZES, timed (their
median), with the peak resident memory of the process during them (VmHWM, reset before) and, in
one more export of the same size, the peak of Python's own allocations (tracemalloc).
"""

import os
import statistics
import sys
import tempfile
import time
import tracemalloc
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa  # noqa: E402
from flask import current_app  # noqa: E402

from bench.certificate_floor import floor_pdf  # noqa: E402
from bench.common import figures, prepare, write_json  # noqa: E402
from config import TestConfig  # noqa: E402
from qa_app import create_app  # noqa: E402
from qa_app.extensions import db  # noqa: E402
from qa_app.models import Batch, Certificate  # noqa: E402
from qa_app.reports.certificate import (  # noqa: E402
    CertificateContent,
    ReleaseSignature,
    ResultLine,
    StorageLine,
    UniformityTable,
    certificate_pdf,
)
from qa_app.services import accounts, clock, exports, release  # noqa: E402
from tests.builders import signature, user  # noqa: E402
from tests.conftest import PASSWORD  # noqa: E402
from tests.services.test_release import ready_batch  # noqa: E402

RENDERS = int(os.environ.get("BENCH_RENDERS", "200"))
ZIP_CERTIFICATES = int(os.environ.get("BENCH_ZIP_CERTIFICATES", "1000"))
RELEASES = int(os.environ.get("BENCH_RELEASES", "20"))
ZIP_REPEAT = int(os.environ.get("BENCH_ZIP_REPEAT", "3"))
ZIP_SCALING_REPEAT = int(os.environ.get("BENCH_ZIP_SCALING_REPEAT", "3"))
ZIP_SIZES = [int(n) for n in os.environ.get("BENCH_ZIP_SIZES", "1000,5000,10000").split(",") if n.strip()]
AIM_TIMES_FLOOR = 1.3
AIM_RENDER_MS = 30.0


def content(i: int) -> CertificateContent:
    values = [f"{95 + (i * 7 + k * 3) % 100 / 10:.1f}" for k in range(30)]
    return CertificateContent(
        issuer_name="Riverside Compounding Pharmacy",
        issuer_address="12 Main Street\nSpringfield, IL 62701",
        number=f"COA-2026-{i:05d}",
        version=1,
        product="Naltrexone HCl capsules (LDN)",
        strength="1.5 mg naltrexone hydrochloride per capsule",
        dosage_form="capsule, size #3",
        lot_number=f"LDN-261125-{i % 1000:03d}",
        formula="LDN-CAP version 1",
        compounded="2026-11-25",
        bud="2027-05-23 (180 days, USP <795> nonaqueous (other))",
        storage_condition="Controlled room temperature, 20–25 °C",
        quantity="100 capsules",
        actual_yield="100 capsules (100.0 % of theoretical)",
        api_lot="NTX-0001 (supplier lot N1; assay 99.0 % as is; expiry 2028-06-30)",
        api_supplier="Medisca",
        specification="LDN-CAP v1",
        tests=[
            ResultLine("Assay", "HPLC-UV", "90.0–110.0 % LC", "99.8 % LC", "Pass"),
            ResultLine(
                "Content uniformity", "USP <905>", "AV ≤ 15.0 (L1)", "AV 8.4 (stage 2, n = 30)", "Pass"
            ),
            ResultLine("Appearance", "Visual", "White opaque #3 capsules", "Conforms", "Pass"),
        ],
        conclusion="The batch complies with its specification and is released.",
        components=[
            ("NTX-HCL — Naltrexone hydrochloride USP", "NTX-0001", "Medisca (N1)", "2028-06-30"),
            ("MCC — Microcrystalline cellulose", "MCC-0001", "Medisca (M1)", "2028-12-31"),
            ("CAP-3 — Capsule shell #3", "CAP-0001", "Capsugel (C1)", "2030-01-01"),
        ],
        uniformity=[
            UniformityTable(
                values=values,
                n=30,
                stage=2,
                mean="101.13",
                sd="3.31",
                m="101.13",
                k="2.0",
                av="6.6",
                l1="15.0",
                conclusion="Content uniformity passes at stage 2",
                unit_range="75.848–126.413 % (M ± L2 25 %)",
            )
        ],
        storage=[
            StorageLine(
                "SHELF-1 — Room shelf",
                "2026-11-25 09:00 CST",
                "2026-11-28 12:00 CST",
                "149",
                "20.1",
                "24.3",
                "22.4",
            )
        ],
        release=ReleaseSignature("Rita Release, PharmD", "2026-11-28 12:00:03 CST (UTC-06:00)", "released"),
        verify_url=f"https://qa.riverside.example/verify/COA-2026-{i:05d}",
    )


def bench_render() -> dict:
    """Wall-clock and CPU medians of the render and of its floor, taken in turns."""
    certificate_pdf(content(0))  # fonts parsed, code paths warm
    floor_pdf(content(0))
    timings: dict[str, dict[str, list[float]]] = {
        "render": {"wall": [], "cpu": []},
        "floor": {"wall": [], "cpu": []},
    }
    sizes = {}
    for i in range(1, RENDERS + 1):
        data = content(i)
        for name, draw in (
            (("render", certificate_pdf), ("floor", floor_pdf))
            if i % 2
            else (("floor", floor_pdf), ("render", certificate_pdf))
        ):
            started, started_cpu = time.perf_counter(), time.process_time()
            sizes[name] = len(draw(data))
            timings[name]["wall"].append((time.perf_counter() - started) * 1000)
            timings[name]["cpu"].append((time.process_time() - started_cpu) * 1000)
    found = {}
    for name, samples in timings.items():
        found[name] = figures(
            samples["wall"], cpu_median_ms=statistics.median(samples["cpu"]), kib=sizes[name] / 1024
        )
    render, floor = found["render"], found["floor"]
    print(
        f"certificate render (QR code, 30 CU values): median {render['median_ms']:.1f} ms "
        f"(CPU {render['cpu_median_ms']:.1f} ms), p95 {render['p95_ms']:.1f} ms over {RENDERS} renders, "
        f"{render['kib']:.0f} KiB; floor (bare canvas) {floor['median_ms']:.1f} ms (CPU "
        f"{floor['cpu_median_ms']:.1f} ms): {render['median_ms'] / floor['median_ms']:.2f}× "
        f"(CPU {render['cpu_median_ms'] / floor['cpu_median_ms']:.2f}×)",
        flush=True,
    )
    return {**render, "aim_ms": AIM_RENDER_MS, "aim_times_floor": AIM_TIMES_FLOOR, "floor": floor}


def _clone_certificates(prototype: Certificate, count: int, issued_at, first: int = 0) -> None:
    """``count`` more released batches with a certificate each, copied from one real release,
    issued at ``issued_at``; numbered from ``first``."""
    batch_row = {c.name: getattr(prototype.batch, c.key) for c in Batch.__table__.columns if c.name != "id"}
    pdf = db.session.scalar(sa.select(Certificate.pdf).where(Certificate.id == prototype.id))
    year = clock.today().year
    for start in range(first, first + count, 200):
        chunk = range(start, min(start + 200, first + count))
        ids = []
        for i in chunk:
            ids.append(
                db.session.execute(
                    sa.insert(Batch).values({**batch_row, "lot_number": f"BENCH-{i:05d}"}).returning(Batch.id)
                ).scalar_one()
            )
        db.session.execute(
            sa.insert(Certificate),
            [
                {
                    "number": f"COA-{year}-B{i:05d}",
                    "verification_code": f"BENCH{i:011d}",
                    "version": 1,
                    "batch_id": batch_id,
                    "status": "valid",
                    "pdf": pdf,
                    "size": prototype.size,
                    "sha256": prototype.sha256,
                    "issued_at": issued_at,
                    "issued_by_id": prototype.issued_by_id,
                    "signature_id": prototype.signature_id,
                    "row_version": 1,
                }
                for i, batch_id in zip(chunk, ids, strict=True)
            ],
        )
    db.session.commit()


def bench_release_and_zip() -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(TestConfig, instance_path=tmp, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp}/c.sqlite3")
        with app.app_context():
            current_app.config["TEST_LOTS"] = prepare()
            accounts.create_user(
                None,
                username="rita",
                full_name="Rita Release",
                roles=["reviewer"],
                password=PASSWORD,
                actor_name="bench",
            )
            timings = []
            certificate = None
            for _ in range(RELEASES):
                lot = ready_batch()
                started = time.perf_counter()
                certificate = release.release(user("rita"), lot, signature("rita", "released"))
                timings.append(time.perf_counter() - started)
            release_ms = [t * 1000 for t in timings]
            print(
                f"release (checklist, signature, render, store): median {statistics.median(release_ms):.0f} ms "
                f"over {RELEASES} releases (SQLite)",
                flush=True,
            )
            bands = _bands(certificate, sorted({ZIP_CERTIFICATES, *ZIP_SIZES}))
            zip_ms = []
            for _ in range(ZIP_REPEAT):
                export, seconds, steps = _export(bands[ZIP_CERTIFICATES])
                zip_ms.append(seconds * 1000)
                exported, mib = export.done, export.size / 1048576
                print(
                    f"ZIP export of {export.done:,} certificates: {seconds:.2f} s in {steps} progress "
                    f"steps, {export.size / 1048576:.1f} MiB",
                    flush=True,
                )
                exports.zip_path(export).unlink()
            scaling = [_scaling(size, bands[size]) for size in ZIP_SIZES]
    return {
        "release": figures(release_ms),
        "zip": figures(zip_ms, certificates=exported, mib=mib, steps=steps),
        "zip_scaling": scaling,
    }


def _bands(prototype: Certificate, sizes: list[int]) -> dict[int, tuple]:
    """Copies of ``prototype`` issued a day apart in the past, so that the export of the days
    from the first to the k-th holds ``sizes[k]`` certificates; each size's first and last day."""
    first_day = clock.today() - timedelta(days=len(sizes) + 1)
    made, bands = 0, {}
    for k, size in enumerate(sizes):
        day = first_day + timedelta(days=k)
        _clone_certificates(prototype, size - made, clock.start_of_local_day(day) + timedelta(hours=10), made)
        made = size
        bands[size] = (first_day, day)
    _checkpoint()
    return bands


def _checkpoint() -> None:
    """Move the copies from SQLite's write-ahead log into the database file now, outside any
    transaction, rather than in the exports' commits."""
    db.session.close()
    raw = db.engine.raw_connection()
    try:
        raw.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        raw.close()


def _export(days: tuple) -> tuple:
    """One export, step by step as the progress page drives it: the export, seconds, steps."""
    started = time.perf_counter()
    export = exports.start(user("ada"), *days)
    steps = 0
    while export.status == "running":
        export = exports.advance(user("ada"), export.id)
        steps += 1
    return export, time.perf_counter() - started, steps


def _peak_rss_kib() -> int | None:
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return None
    return int(status.split("VmHWM:")[1].split()[0])


def _reset_peak_rss() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def _scaling(size: int, days: tuple) -> dict:
    """BENCH_ZIP_SCALING_REPEAT timed exports of ``size`` certificates (their median) with the
    process's highest peak RSS during them, then one more under tracemalloc for the peak of
    Python's allocations."""
    db.session.expire_all()
    baseline = _peak_rss_kib() if _reset_peak_rss() else None
    timed = []
    for _ in range(ZIP_SCALING_REPEAT):
        export, seconds, steps = _export(days)
        timed.append(seconds)
        exports.zip_path(export).unlink()
    rss_peak = _peak_rss_kib() if baseline is not None else None
    seconds = statistics.median(timed)
    tracemalloc.start()
    traced, _, _ = _export(days)
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    exports.zip_path(traced).unlink()
    found = {
        "certificates": export.done,
        "seconds": seconds,
        "exports": len(timed),
        "steps": steps,
        "mib": export.size / 1048576,
        "per_certificate_ms": seconds * 1000 / export.done,
        "tracemalloc_peak_mib": traced_peak / 1048576,
        "rss_baseline_mib": baseline / 1024 if baseline is not None else None,
        "rss_peak_mib": rss_peak / 1024 if rss_peak is not None else None,
    }
    print(
        f"ZIP export of {export.done:,} certificates: {seconds:.2f} s ({found['per_certificate_ms']:.3f} ms a "
        f"certificate, {steps} steps, {found['mib']:.0f} MiB); peak RSS "
        + (
            f"{found['rss_peak_mib']:.0f} MiB (from {found['rss_baseline_mib']:.0f})"
            if rss_peak
            else "unknown"
        )
        + f"; tracemalloc peak {found['tracemalloc_peak_mib']:.1f} MiB",
        flush=True,
    )
    return found


def run() -> dict:
    return {"database": "SQLite", "render": bench_render(), **bench_release_and_zip()}


if __name__ == "__main__":
    write_json(run())
