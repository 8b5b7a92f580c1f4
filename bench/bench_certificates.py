"""Benchmark: rendering a certificate of analysis, releasing a batch, and the ZIP of 1,000 certificates.

make bench                                   # with the other benchmarks and BENCHMARKS.md
BENCH_RENDERS=200 BENCH_ZIP_CERTIFICATES=1000 BENCH_ZIP_REPEAT=3 .venv/bin/python bench/bench_certificates.py

The render is the worst ordinary case: a QR code and 30 content-uniformity values (stage 2).
The ZIP is made the way the export page makes it, chunk by chunk, from 1,000 stored certificates
(the batches behind them are copies of one released batch, inserted directly).
"""

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa  # noqa: E402
from flask import current_app  # noqa: E402

from bench.common import figures, p95, prepare, write_json  # noqa: E402
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
    """Wall-clock median, and the CPU time median that a busy machine does not inflate."""
    certificate_pdf(content(0))  # fonts parsed, code paths warm
    wall, cpu, size = [], [], 0
    for i in range(1, RENDERS + 1):
        data = content(i)
        started, started_cpu = time.perf_counter(), time.process_time()
        size = len(certificate_pdf(data))
        wall.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
    wall_ms, cpu_ms = [w * 1000 for w in wall], [c * 1000 for c in cpu]
    print(
        f"certificate render (QR code, 30 CU values): median {statistics.median(wall_ms):.1f} ms "
        f"(CPU {statistics.median(cpu_ms):.1f} ms), p95 {p95(wall_ms):.1f} ms "
        f"over {RENDERS} renders, {size / 1024:.0f} KiB each",
        flush=True,
    )
    return figures(wall_ms, cpu_median_ms=statistics.median(cpu_ms), kib=size / 1024, aim_ms=AIM_RENDER_MS)


def _clone_certificates(prototype: Certificate, count: int) -> None:
    """``count`` more released batches with a certificate each, copied from one real release."""
    batch_row = {c.name: getattr(prototype.batch, c.key) for c in Batch.__table__.columns if c.name != "id"}
    pdf = db.session.scalar(sa.select(Certificate.pdf).where(Certificate.id == prototype.id))
    year = clock.today().year
    for start in range(0, count, 200):
        chunk = range(start, min(start + 200, count))
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
                    "version": 1,
                    "batch_id": batch_id,
                    "status": "valid",
                    "pdf": pdf,
                    "size": prototype.size,
                    "sha256": prototype.sha256,
                    "issued_at": prototype.issued_at,
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
            _clone_certificates(certificate, ZIP_CERTIFICATES - RELEASES)
            today = clock.today()
            zip_ms = []
            for _ in range(ZIP_REPEAT):
                started = time.perf_counter()
                export = exports.start(user("ada"), today, today)
                steps = 0
                while export.status == "running":
                    export = exports.advance(user("ada"), export.id)
                    steps += 1
                zip_ms.append((time.perf_counter() - started) * 1000)
                print(
                    f"ZIP export of {export.done:,} certificates: {zip_ms[-1] / 1000:.2f} s in {steps} progress "
                    f"steps, {export.size / 1048576:.1f} MiB",
                    flush=True,
                )
    return {
        "release": figures(release_ms),
        "zip": figures(zip_ms, certificates=export.done, mib=export.size / 1048576, steps=steps),
    }


def run() -> dict:
    return {"database": "SQLite", "render": bench_render(), **bench_release_and_zip()}


if __name__ == "__main__":
    write_json(run())
