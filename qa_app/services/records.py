"""The complete compounding record as an inspector reads it (USP <795> records; ALCOA+).

Everything the batch page shows, in print: the master formula version, every component and
lot, the calculation, weighing and its verification, in-process checks, results with their
evaluations, investigations, storage history with excursions and dispositions, decisions and
certificates, signatures, and the batch's whole audit history.
"""

import json
from datetime import datetime

from flask import current_app

from qa_app.field_labels import field_label
from qa_app.models import User
from qa_app.reports.record import Grid, RecordContent, Section, record_pdf
from qa_app.services import audit_text, clock, excursions, readings, stays, triturations
from qa_app.services.review import Review, reported, result_text, test_label
from qa_app.status_words import status_text


def _t(moment: datetime | None) -> str:
    if moment is None:
        return "—"
    return moment.astimezone(clock.zone()).strftime("%Y-%m-%d %H:%M:%S %Z")


def _who(user: User | None) -> str:
    return f"{user.full_name} ({user.username})" if user is not None else "—"


def _json(value) -> str:
    return "" if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True)


def _batch_section(r: Review) -> Section:
    b, body = r.batch, r.batch.formula_version.body
    unit = b.calculation.get("quantity_unit", "")
    fields = [
        ("Lot number", b.lot_number),
        ("Status", status_text(b.status) + (" (EXPIRED)" if r.view.expired else "")),
        ("Product", body.get("name", "")),
        ("Master formula", f"{b.formula_version.formula.code} version {b.formula_version.version}"),
        ("Dosage form", b.dosage_form.replace("_", " ")),
        (
            "Strength",
            f"{b.concentration:g} % w/w trituration"
            if b.dosage_form == "trituration"
            else f"{b.strength_mg:g} mg per dose",
        ),
        ("Quantity", f"{b.quantity:g} {unit}"),
        (
            "Actual yield",
            f"{b.actual_yield:g} {unit} ({reported(b.yield_percent)} %)"
            if b.actual_yield is not None
            else "—",
        ),
        ("Compounded", f"{_t(b.compounded_at)} by {_who(b.compounded_by)}"),
        ("Completed", _t(b.completed_at)),
        ("Beyond-use date", f"{b.bud.isoformat()} — {b.bud_reason}"),
        ("Storage", body.get("storage", "")),
        ("Specification", f"{b.specification.get('formula')} v{b.specification.get('version')} (frozen)"),
        ("Container", body.get("container", "") or "—"),
    ]
    if b.discard_reason:
        fields.append(("Discarded", b.discard_reason))
    steps = Grid(["#", "Step"], [(str(i), s) for i, s in enumerate(body.get("steps", []), 1)], [0.06, 0.94])
    equipment = "Equipment: " + (", ".join(body.get("equipment", [])) or "—")
    return Section(
        "Batch and master formula", fields, [steps], [equipment, f"Label text: {body.get('label_text', '—')}"]
    )


def _calculation_section(r: Review) -> Section:
    calc = r.batch.calculation
    fields = [
        ("API lot assumed", str(calc.get("api_lot"))),
        ("API assay (as is)", f"{calc.get('api_assay_percent')} %"),
        ("Overage", f"{calc.get('overage_percent')} %"),
        ("Fill weight", f"{calc.get('fill_weight_mg')} mg" if calc.get("fill_weight_mg") else "—"),
        ("API to weigh", f"{calc.get('api_mg')} mg"),
        ("Filler to weigh", f"{calc.get('filler_mg')} mg" if calc.get("filler_mg") is not None else "—"),
    ]
    return Section("Calculation", fields, notes=[str(calc.get("explanation", ""))])


def _components_section(r: Review) -> Section:
    rows = []
    for c in r.view.components:
        amount = f"{c.count} units" if c.count is not None else f"{c.quantity_mg:g} mg"
        deviation = f"{c.deviation_percent:+.2f} %" if c.deviation_percent is not None else ""
        if c.within_tolerance is False:
            deviation += " OUTSIDE TOLERANCE"
        rows.append(
            (
                f"{c.material.code} ({c.role})",
                c.lot.barcode,
                f"{c.lot.supplier} / {c.lot.supplier_lot}",
                c.lot.expiry_date.isoformat(),
                amount,
                f"{c.theoretical_mg:.2f} mg" if c.theoretical_mg is not None else "",
                deviation,
                c.deviation_reason or "",
                c.balance or "",
                f"{c.recorded_by.username}, {_t(c.recorded_at)}",
            )
        )
    grid = Grid(
        [
            "Material",
            "Lot",
            "Supplier / lot",
            "Expiry",
            "Weighed",
            "Theoretical",
            "Deviation",
            "Reason",
            "Balance",
            "By, when",
        ],
        rows,
        [0.11, 0.09, 0.12, 0.08, 0.08, 0.08, 0.09, 0.13, 0.07, 0.15],
        empty="No component recorded.",
    )
    b = r.batch
    verified = (
        f"Verified by {_who(b.api_verified_by)} at {_t(b.api_verified_at)}"
        if b.api_verified_by
        else "Not verified."
    )
    notes = [f"API weighing: {verified}"]
    links = triturations.batch_chain(b)
    if len(links) > 1:  # made from a trituration: the lots behind the API, down to the supplier's
        notes.append(f"API chain: {triturations.chain_text(links, b)}")
    if b.produced_lot is not None:
        notes.append(
            f"Made intermediate lot {b.produced_lot.barcode} ({status_text(b.produced_lot.status).lower()})."
        )
    return Section("Components, weighing and verification", grids=[grid], notes=notes)


def _checks_section(r: Review) -> Section:
    rows, notes = [], []
    for w in r.view.weight_checks:
        s = w.summary
        rows.append(
            (
                _t(w.recorded_at),
                w.recorded_by.username,
                str(s.get("n")),
                f"{s.get('mean_mg')}",
                f"{s.get('sd_mg')}",
                f"{s.get('rsd_percent')}",
                f"{s.get('min_mg')}–{s.get('max_mg')}",
                "PASS" if w.passed else "FAIL",
            )
        )
        notes.append(f"Weights ({_t(w.recorded_at)}), mg: " + ", ".join(f"{x:g}" for x in w.weights_mg))
        if w.reason:
            notes.append(
                f"Reason for the check of {_t(w.recorded_at)} (made again after a failed one): {w.reason}"
            )
    grid = Grid(
        ["When", "By", "n", "Mean mg", "SD mg", "RSD %", "Min–max mg", "Result"],
        rows,
        [0.2, 0.12, 0.06, 0.11, 0.1, 0.1, 0.17, 0.14],
        title="Capsule weight checks (each 90–110 % of the theoretical content)",
        empty="No capsule weight check (not a capsule batch, or none recorded).",
    )
    return Section("In-process checks", grids=[grid], notes=notes)


def _results_section(r: Review) -> Section:
    proof = r.view.evidence
    rows, notes = [], []
    for res in proof.results:
        invalid = proof.invalidated.get(res.id)
        rows.append(
            (
                str(res.id),
                test_label(res.test_key),
                result_text(res),
                res.method,
                res.analyst,
                _t(res.tested_at),
                res.source,
                res.status + (" — INVALIDATED" if invalid else ""),
                str(res.evaluation.get("message", ""))
                + (
                    f"\nInvalidated by investigation {invalid.investigation_id}: {invalid.reason}"
                    if invalid
                    else ""
                ),
            )
        )
        if res.kind == "content_uniformity":
            notes.append(
                f"Result {res.id} unit contents (% LC): " + ", ".join(f"{v:g}" for v in res.values or [])
            )
    grid = Grid(
        ["#", "Test", "Result", "Method", "Analyst", "Tested", "Source", "Status", "Evaluation"],
        rows,
        [0.04, 0.09, 0.16, 0.09, 0.1, 0.12, 0.06, 0.12, 0.22],
        empty="No result recorded.",
    )
    return Section("Results and their evaluations", grids=[grid], notes=notes)


def _investigations_section(r: Review) -> Section:
    rows = [
        (
            str(inv.id),
            test_label(inv.test_key),
            str(inv.result_id),
            inv.phase,
            status_text(inv.status),
            str(inv.retests_allowed),
            f"{inv.opened_by.username}, {_t(inv.opened_at)}",
            inv.assignable_cause or "",
            inv.cause or "",
            inv.conclusion or "",
            inv.outcome or "",
            f"{inv.closed_by.username}, {_t(inv.closed_at)}" if inv.closed_by else "",
        )
        for inv in r.view.evidence.investigations
    ]
    grid = Grid(
        [
            "#",
            "Test",
            "Result",
            "Phase",
            "Status",
            "Retests",
            "Opened",
            "Cause kind",
            "Cause",
            "Conclusion",
            "Outcome",
            "Closed",
        ],
        rows,
        [0.04, 0.08, 0.05, 0.05, 0.06, 0.06, 0.12, 0.08, 0.13, 0.13, 0.08, 0.12],
        empty="No OOS investigation.",
    )
    return Section("OOS investigations", grids=[grid])


def _storage_section(r: Review) -> Section:
    b = r.batch
    placements = Grid(
        ["Placed", "Storage unit", "Recorded by"],
        [
            (_t(p.placed_at), f"{p.storage_unit.code} — {p.storage_unit.name}", p.recorded_by.username)
            for p in r.view.locations
        ],
        [0.3, 0.45, 0.25],
        title="Locations",
        empty="Never placed in storage (not completed).",
    )
    released = next((c.issued_at for c in r.certificates), None)
    until = released or clock.utcnow()
    summary_rows = []
    for stay in readings.batch_storage(b, until=until) if r.view.locations else []:
        s = stay.summary
        summary_rows.append(
            (
                stay.unit.code,
                _t(stay.start),
                _t(stay.end or until),
                str(s.count),
                reported(s.min_c),
                reported(s.max_c),
                reported(s.mean_c),
                reported(s.mkt_c),
                str(len(s.gaps)),
            )
        )
    summaries = Grid(
        ["Unit", "From", "To", "Readings", "Min °C", "Max °C", "Mean °C", "MKT °C", "Gaps"],
        summary_rows,
        [0.12, 0.17, 0.17, 0.09, 0.09, 0.09, 0.09, 0.09, 0.09],
        title="Temperatures while stored" + (" (until release)" if released else " (until now)"),
        empty="No stay to summarise.",
    )
    decided = stays.dispositions_for(b.id)
    excursion_rows = []
    found = stays.for_batch(b.id)
    state = excursions.states(found)
    for e in found:
        d = decided.get(e.id)
        excursion_rows.append(
            (
                str(e.id),
                e.storage_unit.code,
                _t(e.start),
                _t(e.end) if e.end else "ongoing",
                f"{e.duration_minutes:.0f} min",
                f"{e.min_c:.1f}–{e.max_c:.1f}",
                reported(e.mkt_c),
                state[e.id].replace("_", " ")
                + (f"; unobserved {e.gap_minutes:.0f} min" if e.gap_minutes else ""),
                f"{d.decision} by {d.decided_by.username}: {d.comment}" if d else "—",
            )
        )
    excursion_grid = Grid(
        ["#", "Unit", "Start", "End", "Duration", "Range °C", "MKT °C", "State", "Disposition"],
        excursion_rows,
        [0.04, 0.09, 0.15, 0.15, 0.08, 0.1, 0.07, 0.12, 0.2],
        title="Excursions while the batch was there",
        empty="No excursion while the batch was stored.",
    )
    return Section("Storage history and excursions", grids=[placements, summaries, excursion_grid])


def _decisions_section(r: Review) -> Section:
    decisions = Grid(
        ["Decision", "By", "When", "Reason"],
        [(d.decision, _who(d.decided_by), _t(d.decided_at), d.reason or "") for d in r.decisions],
        [0.14, 0.28, 0.24, 0.34],
        title="Release decisions",
        empty="No release decision yet.",
    )
    certificates = Grid(
        ["Number", "Version", "Status", "Issued", "SHA-256", "Revoked"],
        [
            (
                c.number,
                str(c.version),
                status_text(c.status),
                _t(c.issued_at),
                c.sha256,
                f"{_t(c.revoked_at)}: {c.revoked_reason}" if c.revoked_at else "",
            )
            for c in r.certificates
        ],
        [0.14, 0.07, 0.09, 0.17, 0.35, 0.18],
        title="Certificates of analysis",
        empty="No certificate issued.",
    )
    signatures = Grid(
        ["Meaning", "Signer", "Signed", "Content SHA-256"],
        [(s.meaning, s.signer_name, _t(s.signed_at), s.content_sha256) for s in r.view.signatures],
        [0.12, 0.28, 0.22, 0.38],
        title="Electronic signatures",
        empty="No signature.",
    )
    deviations = [f"Deviation: {d}" for d in r.deviations] or ["No deviation recorded."]
    return Section(
        "Decisions, certificates, signatures and deviations",
        grids=[decisions, certificates, signatures],
        notes=deviations,
    )


def _iso_t(value: str) -> str:
    return _t(datetime.fromisoformat(value))


def _whole(value) -> str:
    """A value the audit page would shorten, said in full: a record as "Label value; …", a list
    as "a, b, …", a long text as it is."""
    if isinstance(value, dict):
        return "; ".join(f"{field_label(k)} {_said(v)}" for k, v in value.items()) or "none"
    if isinstance(value, list | tuple):
        return ", ".join(_said(v) for v in value) or "none"
    return str(value)


def _said(value) -> str:
    return audit_text.value_in_words(value, _iso_t, _whole)


def history_changes(old_values, new_values) -> str:
    """What an audit event changed, in the audit trail page's sentences ("Strength (mg): 1.5 →
    3.0"), a line a field, times in local time. A text, list or record the page would shorten
    prints whole, since paper has no "Details" to open; the raw values print only when no
    sentence says anything."""
    lines = audit_text.change_lines(old_values, new_values, show_time=_iso_t, spell_out=_whole)
    if lines:
        return "\n".join(lines)
    raw = [
        f"{name}: {_json(values)}" for name, values in (("Old", old_values), ("New", new_values)) if values
    ]
    return "\n".join(raw)


def _history_section(r: Review) -> Section:
    rows = [
        (
            str(e.seq),
            _t(e.occurred_at),
            e.username or "",
            audit_text.action_in_words(e.action),
            history_changes(e.old_values, e.new_values),
            e.reason or "",
        )
        for e in r.view.history
    ]
    grid = Grid(
        ["#", "When", "Who", "Action", "Changes", "Reason"],
        rows,
        [0.05, 0.14, 0.08, 0.14, 0.45, 0.14],
        empty="No event.",
    )
    return Section("Audit history of the batch (UTC stored, shown in local time)", grids=[grid])


def record_content(r: Review, printed_by: User | None) -> RecordContent:
    config = current_app.config
    by = f" by {_who(printed_by)}" if printed_by is not None else ""
    return RecordContent(
        pharmacy_name=config["QA_PHARMACY_NAME"],
        pharmacy_address=config.get("QA_PHARMACY_ADDRESS") or "",
        lot_number=r.batch.lot_number,
        product=r.batch.formula_version.body.get("name", ""),
        status=status_text(r.batch.status),
        printed=f"printed {_t(clock.utcnow())}{by}",
        sections=[
            _batch_section(r),
            _calculation_section(r),
            _components_section(r),
            _checks_section(r),
            _results_section(r),
            _investigations_section(r),
            _storage_section(r),
            _decisions_section(r),
            _history_section(r),
        ],
    )


def record_pdf_for(r: Review, printed_by: User | None) -> bytes:
    return record_pdf(record_content(r, printed_by))
