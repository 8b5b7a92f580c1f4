"""The certificates issued in a date range, as one ZIP, made a chunk at a time.

Starting an export fixes what it holds (the certificates issued in the range, up to the newest
one at that moment) and counts them. Each call of :func:`advance` — the progress page polls it
— appends the next certificates to the ZIP in the instance folder within a time budget and
records how far it got, so progress is shown while the ZIP is made, any web worker can carry
it on, and no request runs long. The last step adds ``manifest.csv`` (number, version, lot,
status, SHA-256, issue time) and the ZIP's own SHA-256 goes to the audit trail.
"""

import csv
import hashlib
import io
import time
import zipfile
from datetime import date, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from flask import current_app

from qa_app.errors import InvalidInput, NotFound, WrongState
from qa_app.extensions import db
from qa_app.models import Batch, Certificate, CertificateExport, User
from qa_app.services import audit, clock
from qa_app.services.accounts import require_role

EXPORTERS = ("reviewer", "admin")
CHUNK = 25  # certificates fetched at a time: about 1 MiB of PDFs
BUDGET_SECONDS = 0.5
REOPENING_SHARE = 20  # a step writes for at least 20 times as long as reopening the ZIP took
MAX_DAYS = 3660
KEEP = timedelta(days=1)
MANIFEST_COLUMNS = ("number", "version", "lot_number", "status", "sha256", "issued_at", "file")


def directory() -> Path:
    path = Path(current_app.instance_path) / "exports"
    path.mkdir(parents=True, exist_ok=True)
    return path


def zip_path(export: CertificateExport) -> Path:
    return directory() / f"certificates-{export.id}.zip"


def download_name(export: CertificateExport) -> str:
    return f"certificates-{export.date_from.isoformat()}-to-{export.date_to.isoformat()}.zip"


def _in_range(date_from: date, date_to: date) -> sa.Select:
    return sa.select(Certificate).where(
        Certificate.issued_at >= clock.start_of_local_day(date_from),
        Certificate.issued_at < clock.start_of_local_day(date_to, days_after=1),
    )


def start(actor: User, date_from: date | None, date_to: date | None) -> CertificateExport:
    """Fix and count what the ZIP will hold; the ZIP itself is made by :func:`advance`."""
    require_role(actor, *EXPORTERS)
    fields = {}
    if date_from is None:
        fields["date_from"] = "Give the first day (YYYY-MM-DD)."
    if date_to is None:
        fields["date_to"] = "Give the last day (YYYY-MM-DD)."
    if not fields and date_to < date_from:
        fields["date_to"] = "Must not be before the first day."
    if not fields and (date_to - date_from).days > MAX_DAYS:
        fields["date_to"] = "At most ten years in one ZIP."
    if fields:
        raise InvalidInput("The export was not started: correct the marked fields.", fields)
    _remove_old()
    stmt = _in_range(date_from, date_to)
    up_to = db.session.scalar(sa.select(sa.func.max(Certificate.id))) or 0
    total = db.session.scalar(
        sa.select(sa.func.count()).select_from(stmt.where(Certificate.id <= up_to).subquery())
    )
    export = CertificateExport(
        requested_by_id=actor.id,
        date_from=date_from,
        date_to=date_to,
        up_to_id=up_to,
        total=total,
        done=0,
        last_certificate_id=0,
        status="running",
    )
    db.session.add(export)
    db.session.flush()
    zipfile.ZipFile(zip_path(export), "w").close()
    audit.record(
        "certificates.export_started",
        "certificate_export",
        export.id,
        actor=actor,
        new={"from": date_from, "to": date_to, "certificates": total},
    )
    db.session.commit()
    return export


def get(export_id: int) -> CertificateExport:
    export = db.session.get(CertificateExport, export_id)
    if export is None:
        raise NotFound(f"No export {export_id}.")
    return export


def advance(actor: User, export_id: int, budget: float = BUDGET_SECONDS) -> CertificateExport:
    """Append the next certificates until done or ``budget`` seconds are spent; then commit."""
    require_role(actor, *EXPORTERS)
    export = db.session.scalar(
        sa.select(CertificateExport)
        .where(CertificateExport.id == export_id)
        .with_for_update(of=CertificateExport)
    )
    if export is None:
        raise NotFound(f"No export {export_id}.")
    if export.status != "running":
        return export
    path = zip_path(export)
    if not path.exists():
        export.status = "failed"
        db.session.commit()
        raise WrongState(f"Export {export.id} lost its file; start it again.")
    opening = time.perf_counter()
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_STORED) as archive:
        deadline = _deadline(opening, budget)
        rows = db.session.execute(
            _members(export).where(Certificate.id > export.last_certificate_id),
            execution_options={"yield_per": CHUNK},
        )
        finished = True
        for certificate_id, number, version, lot_number, issued_at, pdf in rows:
            archive.writestr(_entry(_filename(number, version, lot_number), issued_at), pdf)
            export.done += 1
            export.last_certificate_id = certificate_id
            if time.perf_counter() >= deadline:
                finished = False
                break
        rows.close()
        if finished:
            _finish(actor, export, archive)
    if export.status == "done":
        export.size = path.stat().st_size
        audit.record(
            "certificates.exported",
            "certificate_export",
            export.id,
            actor=actor,
            new={
                "from": export.date_from,
                "to": export.date_to,
                "certificates": export.done,
                "zip_sha256": _sha256(path),
                "size": export.size,
            },
        )
    db.session.commit()
    return export


def _deadline(opening: float, budget: float) -> float:
    """When to stop writing: after ``budget`` seconds, or longer when reopening the ZIP took long.

    Reopening reads the ZIP's directory and closing writes it again, both in proportion to the
    certificates already in it; writing for at least REOPENING_SHARE times as long as the reopening
    keeps that share of the time bounded, so a step's certificates cost the same at 10,000 as at 100.
    """
    now = time.perf_counter()
    return now + max(budget, REOPENING_SHARE * (now - opening))


def _members(export: CertificateExport) -> sa.Select:
    """What the ZIP holds, in issue order, as plain columns (no objects kept in the session):
    each certificate's id, what names its file, its issue time and its bytes."""
    return (
        _in_range(export.date_from, export.date_to)
        .where(Certificate.id <= export.up_to_id)
        .with_only_columns(
            Certificate.id,
            Certificate.number,
            Certificate.version,
            Batch.lot_number,
            Certificate.issued_at,
            Certificate.pdf,
        )
        .join(Batch, Batch.id == Certificate.batch_id)
        .order_by(Certificate.id)
    )


def _filename(number: str, version: int, lot_number: str) -> str:
    """As :attr:`Certificate.filename` names it."""
    return f"{number}-v{version}-{lot_number}.pdf"


def _entry(name: str, issued_at: datetime) -> zipfile.ZipInfo:
    """A member dated with the certificate's local issue time, so the same export gives the same ZIP."""
    local = issued_at.astimezone(clock.zone())
    info = zipfile.ZipInfo(name, date_time=(max(local.year, 1980), *local.timetuple()[1:6]))
    info.compress_type = zipfile.ZIP_STORED  # PDFs are compressed already
    return info


def _finish(actor: User, export: CertificateExport, archive: zipfile.ZipFile) -> None:
    """Add ``manifest.csv``, written row by row as the rows stream in."""
    rows = db.session.execute(
        _in_range(export.date_from, export.date_to)
        .where(Certificate.id <= export.up_to_id)
        .with_only_columns(
            Certificate.number,
            Certificate.version,
            Batch.lot_number,
            Certificate.status,
            Certificate.sha256,
            Certificate.issued_at,
        )
        .join(Batch, Batch.id == Certificate.batch_id)
        .order_by(Certificate.id),
        execution_options={"yield_per": 1000},
    )
    info = zipfile.ZipInfo("manifest.csv", date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    with archive.open(info, "w", force_zip64=True) as member:
        text = io.TextIOWrapper(member, encoding="utf-8", newline="")
        writer = csv.writer(text)
        writer.writerow(MANIFEST_COLUMNS)
        for number, version, lot_number, status, sha256, issued_at in rows:
            writer.writerow(
                [
                    number,
                    version,
                    lot_number,
                    status,
                    sha256,
                    issued_at.isoformat(),
                    _filename(number, version, lot_number),
                ]
            )
        text.flush()
        text.detach()
    export.status, export.finished_at = "done", clock.utcnow()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def run(actor: User, export_id: int) -> CertificateExport:
    """Advance until done (the command line and the benchmark; pages poll instead)."""
    export = get(export_id)
    while export.status == "running":
        export = advance(actor, export_id)
    return export


def recent(limit: int = 20) -> list[CertificateExport]:
    return list(
        db.session.scalars(sa.select(CertificateExport).order_by(CertificateExport.id.desc()).limit(limit))
    )


def _remove_old() -> None:
    """ZIPs are kept a day: certificates stay in the database; the ZIP is only a copy."""
    cutoff = time.time() - KEEP.total_seconds()
    for path in directory().glob("certificates-*.zip"):
        if path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)
