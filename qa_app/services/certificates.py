"""Certificates of analysis: what they print, their issue at release, verification and export.

The content is gathered here from the review (the same checklist, results and deviations the
reviewer saw) and laid out by :mod:`qa_app.reports.certificate`. A certificate's bytes are
stored with their SHA-256 when it is issued and served unchanged; a preview is rendered on
request and never stored.
"""

import base64
import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.dialects import postgresql, sqlite

from qa_app.errors import NotFound
from qa_app.extensions import db
from qa_app.models import Certificate, CertificateCounter, MaterialLot, Result, Signature
from qa_app.reports.certificate import (
    CertificateContent,
    ReleaseSignature,
    ResultLine,
    StorageLine,
    UniformityTable,
    certificate_pdf,
)
from qa_app.services import clock, readings, triturations
from qa_app.services.labels import QUANTITY_UNITS
from qa_app.services.review import Review, reported, result_text, test_label

NUMBER_PREFIX = "COA"
STORAGE_TEXT = {
    "room": "Controlled room temperature, 20–25 °C",
    "refrigerated": "Refrigerated, 2–8 °C",
    "freezer": "Frozen, −25 to −10 °C",
}
STATUS_WORDS = {
    "draft": "a draft",
    "quarantine": "in quarantine",
    "on_hold": "on hold",
    "awaiting_release": "awaiting release",
}
CONCLUSIONS = {"pass": "Pass", "warning": "Pass (warning)", "fail": "Fail", "more_units_required": "Pending"}


def local_time(moment: datetime) -> str:
    """A time as certificates print it: local, with the zone's name and offset."""
    local = moment.astimezone(clock.zone())
    offset = local.strftime("%z")
    return f"{local.strftime('%Y-%m-%d %H:%M:%S %Z')} (UTC{offset[:3]}:{offset[3:]})"


def verify_url(number: str, code: str | None = None) -> str:
    """Built from QA_PUBLIC_URL, never from the host a request came through; with the
    certificate's verification code, the page shows the batch, product and dates."""
    url = f"{current_app.config['QA_PUBLIC_URL'].rstrip('/')}/verify/{number}"
    return f"{url}?code={code}" if code else url


CODE_BYTES = 10  # 80 random bits: 16 characters of base32


def new_verification_code() -> str:
    """A random code printed on the certificate and in its QR code (letters A–Z and digits 2–7)."""
    return base64.b32encode(secrets.token_bytes(CODE_BYTES)).decode("ascii")


def printed_code(code: str) -> str:
    """The code as printed for typing: groups of four, ``ABCD-EFGH-IJKL-MNOP``."""
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def code_matches(certificate: Certificate, given: str | None) -> bool:
    """Whether ``given`` is the certificate's code (case, spaces and hyphens do not matter)."""
    typed = re.sub(r"[\s-]", "", given or "").upper()
    return bool(typed) and secrets.compare_digest(typed.encode(), certificate.verification_code.encode())


def next_number(moment: datetime) -> str:
    """``COA-YYYY-NNNNN``, counted per local year by one atomic upsert (safe under concurrency)."""
    dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
    year = clock.local_date(moment).year
    stmt = (
        dialect.insert(CertificateCounter)
        .values(year=year, last=1)
        .on_conflict_do_update(index_elements=["year"], set_={"last": CertificateCounter.last + 1})
        .returning(CertificateCounter.last)
    )
    n = db.session.execute(stmt).scalar_one()
    return f"{NUMBER_PREFIX}-{year}-{n:05d}"


# --- what a certificate prints ----------------------------------------------------------------


def _strength(review: Review) -> str:
    batch = review.batch
    if batch.dosage_form == "capsule":
        return f"{batch.strength_mg:g} mg naltrexone hydrochloride per capsule"
    unit = "g" if batch.dosage_form == "cream" else "mL"
    return (
        f"{batch.strength_mg:g} mg naltrexone hydrochloride per dose "
        f"({batch.concentration:g} mg/{unit} × {batch.dose_amount:g} {unit})"
    )


def _limits(test: dict) -> str:
    unit = f" {test['unit']}" if test.get("unit") else ""
    if test["kind"] == "range":
        decimals = test.get("decimals", 1)
        low = reported(test.get("min"), decimals) if test.get("min") is not None else None
        high = reported(test.get("max"), decimals) if test.get("max") is not None else None
        if low and high:
            return f"{low}–{high}{unit}"
        return f"≥ {low}{unit}" if low else f"≤ {high}{unit}"
    if test["kind"] == "content_uniformity":
        return f"AV ≤ 15.0 (L1); stage 2: each unit within (1 ± 25 %)·M; T = {test.get('target', 100.0):g} %"
    return test.get("expected", "")


def _api_lot_text(api_lot: MaterialLot | None) -> str:
    """The API lot; for one made from a trituration, the chain down to the supplier's lot."""
    if api_lot is None:
        return "—"
    links = triturations.chain(api_lot)
    if len(links) > 1:
        return " ← ".join(link.text for link in links)
    return (
        f"{api_lot.barcode} (supplier lot {api_lot.supplier_lot}; assay {reported(api_lot.assay_percent)} % as is; "
        f"expiry {api_lot.expiry_date.isoformat()})"
    )


def _api_supplier(api_lot: MaterialLot | None) -> str:
    if api_lot is None:
        return "—"
    links = triturations.chain(api_lot)
    return links[-1].lot.supplier if links else api_lot.supplier


def _test_lines(review: Review) -> list[ResultLine]:
    batch, proof = review.batch, review.view.evidence
    lines = []
    for test in batch.specification["tests"]:
        mine = [r for r in proof.valid_results if r.test_key == test["key"]]
        method = test.get("method", "")
        if not mine:
            waiting = (
                "stage 1 done, 20 more units needed" if test["key"] in proof.pending_stage1 else "no result"
            )
            conclusion = "Pending" if test.get("required", True) else "Not tested"
            lines.append(ResultLine(test_label(test["key"]), method, _limits(test), waiting, conclusion))
            continue
        for r in mine:
            lines.append(
                ResultLine(
                    test_label(test["key"]),
                    r.method or method,
                    _limits(test),
                    result_text(r),
                    CONCLUSIONS.get(r.status, r.status),
                )
            )
    return lines


def _uniformity(review: Review) -> list[UniformityTable]:
    proof = review.view.evidence
    by_id: dict[int, Result] = {r.id: r for r in proof.results}
    tables = []
    for r in proof.valid_results:
        if r.kind != "content_uniformity":
            continue
        e = r.evaluation
        values = list(r.values or [])
        if r.stage1_result_id is not None and r.stage1_result_id in by_id:
            values = list(by_id[r.stage1_result_id].values or []) + values
        unit_range = None
        if e.get("stage") == 2 and e.get("l2_low") is not None:
            unit_range = f"{e['l2_low']:.3f}–{e['l2_high']:.3f} % (M ± L2 {e.get('l2', 25.0):g} %)"
        tables.append(
            UniformityTable(
                values=[_unit_value(v) for v in values],
                n=int(e.get("n", len(values))),
                stage=int(e.get("stage", 1)),
                mean=str(e.get("mean_reported")),
                sd=str(e.get("sd_reported")),
                m=str(e.get("m_reported")),
                k=f"{e.get('k', 0):g}",
                av=str(e.get("av_reported")),
                l1=f"{e.get('l1', 15.0):.1f}",
                conclusion=e.get("message", CONCLUSIONS.get(r.status, r.status)),
                unit_range=unit_range,
            )
        )
    return tables


def _unit_value(value: float) -> str:
    """A unit's content as entered: at least one decimal, never fewer digits than typed."""
    return f"{value:.1f}" if round(value, 1) == value else repr(float(value))


def _storage(review: Review, until: datetime) -> tuple[list[StorageLine], str]:
    """Each stay from completion to ``until`` (the release), with its readings summarised."""
    lines, gaps = [], []
    for stay in readings.batch_storage(review.batch, until=until):
        summary = stay.summary
        lines.append(
            StorageLine(
                unit=f"{stay.unit.code} — {stay.unit.name}",
                start=_short_local(stay.start),
                end=_short_local(stay.end or until),
                readings=str(summary.count),
                min_c=reported(summary.min_c),
                max_c=reported(summary.max_c),
                mkt_c=reported(summary.mkt_c),
            )
        )
        gaps += [f"{stay.unit.code} {_short_local(g.start)} – {_short_local(g.end)}" for g in summary.gaps]
    note = "Readings missing (data gaps): " + "; ".join(gaps) + "." if gaps else ""
    return lines, note


def _short_local(moment: datetime) -> str:
    return moment.astimezone(clock.zone()).strftime("%Y-%m-%d %H:%M %Z")


def content(
    review: Review,
    *,
    number: str | None = None,
    version: int | None = None,
    signature: Signature | None = None,
    replaces: str | None = None,
    verification_code: str | None = None,
) -> CertificateContent:
    """The certificate of the batch under review: numbered and signed, or a preview (no number)."""
    batch = review.batch
    body = batch.formula_version.body
    config = current_app.config
    until = signature.signed_at if signature is not None else clock.utcnow()
    storage, storage_note = _storage(review, until)
    api = next((c for c in review.view.components if c.role == "api"), None)
    api_lot = api.lot if api is not None else batch.api_lot
    unit = QUANTITY_UNITS.get(batch.dosage_form, "")
    if signature is not None:
        conclusion = "The batch complies with its specification and is released."
        release = ReleaseSignature(signature.signer_name, local_time(signature.signed_at), signature.meaning)
    else:
        unmet = ", ".join(item.label.lower() for item in review.unmet)
        conclusion = f"NOT RELEASED — the batch is {STATUS_WORDS.get(batch.status, batch.status)}." + (
            f" Not yet met: {unmet}."
            if unmet
            else " Every checklist item holds; it awaits a reviewer's release."
        )
        release = None
    return CertificateContent(
        issuer_name=config["QA_PHARMACY_NAME"],
        issuer_address=config.get("QA_PHARMACY_ADDRESS") or "",
        number=number,
        version=version,
        product=body.get("name", batch.formula_version.formula.name),
        strength=_strength(review),
        dosage_form=batch.dosage_form.replace("_", " ")
        + (f", size #{body['capsule_size']}" if body.get("capsule_size") else ""),
        lot_number=batch.lot_number,
        formula=f"{batch.formula_version.formula.code} version {batch.formula_version.version}",
        compounded=clock.local_date(batch.compounded_at).isoformat(),
        bud=f"{batch.bud.isoformat()} ({batch.bud_reason})",
        storage_condition=STORAGE_TEXT.get(body.get("storage"), body.get("storage", "")),
        quantity=(
            f"{batch.actual_yield:g} {unit} (made)"
            if batch.actual_yield is not None
            else f"— (not completed; {batch.quantity:g} {unit} planned)"
        ),
        actual_yield=(
            f"{batch.actual_yield:g} {unit} of {batch.quantity:g} {unit} planned "
            f"({reported(batch.yield_percent)} % of theoretical)"
            if batch.actual_yield is not None
            else "—"
        ),
        api_lot=_api_lot_text(api_lot),
        api_supplier=_api_supplier(api_lot),
        specification=f"{batch.specification.get('formula')} v{batch.specification.get('version')}",
        tests=_test_lines(review),
        conclusion=conclusion,
        components=[
            (
                f"{c.material.code} — {c.material.name}",
                c.lot.barcode,
                f"{c.lot.supplier} ({c.lot.supplier_lot})",
                c.lot.expiry_date.isoformat(),
            )
            for c in review.view.components
        ],
        uniformity=_uniformity(review),
        storage=storage,
        storage_note=storage_note,
        deviations=review.deviations,
        release=release,
        verify_url=verify_url(number, verification_code) if number else None,
        verification_code=printed_code(verification_code) if verification_code else None,
        replaces=replaces,
    )


def preview_pdf(review: Review) -> bytes:
    """The certificate as it would be issued now, watermarked NOT RELEASED. Never stored."""
    return certificate_pdf(content(review))


def issue(review: Review, signature: Signature, number: str) -> Certificate:
    """Render and store version 1 in the caller's transaction (the release's)."""
    code = new_verification_code()
    pdf = certificate_pdf(
        content(review, number=number, version=1, signature=signature, verification_code=code)
    )
    certificate = Certificate(
        number=number,
        verification_code=code,
        version=1,
        batch_id=review.batch.id,
        status="valid",
        pdf=pdf,
        size=len(pdf),
        sha256=hashlib.sha256(pdf).hexdigest(),
        issued_at=signature.signed_at,
        issued_by_id=signature.user_id,
        signature_id=signature.id,
    )
    db.session.add(certificate)
    db.session.flush()
    return certificate


# --- reading and verifying ------------------------------------------------------------------


@dataclass(frozen=True)
class Document:
    """A certificate PDF as served: the issued bytes, or a preview (``status`` "preview")."""

    data: bytes
    filename: str
    status: str
    number: str | None = None
    sha256: str | None = None


def document(review: Review) -> Document:
    """The issued certificate byte for byte (its newest version), or before release a preview."""
    issued = review.certificate
    if issued is not None:
        return Document(stored_pdf(issued), issued.filename, issued.status, issued.number, issued.sha256)
    return Document(
        preview_pdf(review), f"{review.batch.lot_number}-certificate-PREVIEW-NOT-RELEASED.pdf", "preview"
    )


def get(number: str) -> Certificate:
    certificate = db.session.scalar(
        sa.select(Certificate).where(Certificate.number == (number or "").strip().upper())
    )
    if certificate is None:
        raise NotFound(f"No certificate numbered {number!r}.")
    return certificate


def current_for(batch_id: int) -> Certificate | None:
    """The batch's newest certificate, whatever its status."""
    return db.session.scalar(
        sa.select(Certificate)
        .where(Certificate.batch_id == batch_id)
        .order_by(Certificate.version.desc())
        .limit(1)
    )


def stored_pdf(certificate: Certificate) -> bytes:
    """The bytes issued, checked against their stored hash before they leave."""
    pdf = certificate.pdf
    if hashlib.sha256(pdf).hexdigest() != certificate.sha256:
        raise RuntimeError(f"certificate {certificate.number}: stored PDF does not match its SHA-256")
    return pdf


@dataclass(frozen=True)
class UploadCheck:
    certificate: Certificate
    sha256: str
    size: int

    @property
    def matches(self) -> bool:
        return self.sha256 == self.certificate.sha256


def check_upload(number: str, data: bytes) -> UploadCheck:
    """Whether an uploaded file is, byte for byte, the certificate issued under ``number``."""
    return UploadCheck(get(number), hashlib.sha256(data).hexdigest(), len(data))


def status_text(certificate: Certificate) -> str:
    return {
        "valid": "Valid",
        "superseded": "Superseded by a later version",
        "revoked": "Revoked",
    }[certificate.status]
