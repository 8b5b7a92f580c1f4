"""Everything a batch page or the API's Batch shows, loaded in a fixed number of statements."""

from dataclasses import dataclass
from functools import cached_property

import sqlalchemy as sa
import sqlalchemy.orm as so

from qa_app.domain import compounding
from qa_app.errors import NotFound
from qa_app.extensions import db
from qa_app.models import (
    AuditEvent,
    Batch,
    BatchComponent,
    BatchLocation,
    Disposition,
    Excursion,
    FormulaVersion,
    Signature,
    WeightCheck,
)
from qa_app.services import batches, clock, judgement, readings, stays
from qa_app.services.pagination import Page, count


@dataclass(frozen=True)
class BatchView:
    batch: Batch
    components: list[BatchComponent]
    weight_checks: list[WeightCheck]
    locations: list[BatchLocation]
    signatures: list[Signature]
    history: list[AuditEvent]
    missing: list[str]
    expired: bool
    near_bud: bool
    specification_current: bool
    newer_version: int | None
    evidence: judgement.Evidence
    holds: list[dict]
    missing_tests: list[str]

    @cached_property
    def storage(self) -> "StorageHistory":
        """Each stay with its temperatures, and the excursions met: loaded only when a page asks."""
        return storage_history(self.batch)


def load(lot_number: str, with_history: bool = True) -> BatchView:
    stmt = (
        sa.select(Batch)
        .where(Batch.lot_number == (lot_number or "").strip().upper())
        .options(
            so.joinedload(Batch.formula_version).joinedload(FormulaVersion.formula),
            so.joinedload(Batch.api_lot),
            so.joinedload(Batch.api_verified_by),
            so.selectinload(Batch.components),
            so.selectinload(Batch.weight_checks),
            so.selectinload(Batch.locations),
        )
    )
    batch = db.session.scalar(stmt)
    if batch is None:
        raise NotFound(f"No batch with lot number {lot_number!r}.")
    signatures = list(
        db.session.scalars(
            sa.select(Signature)
            .where(Signature.entity_type == "batch", Signature.entity_key == batch.lot_number)
            .order_by(Signature.signed_at, Signature.id)
        )
    )
    history = (
        list(
            db.session.scalars(
                sa.select(AuditEvent)
                .where(AuditEvent.entity_type == "batch", AuditEvent.entity_key == batch.lot_number)
                .order_by(AuditEvent.seq)
            )
        )
        if with_history
        else []
    )
    newest = db.session.scalar(
        sa.select(sa.func.max(FormulaVersion.version)).where(
            FormulaVersion.formula_id == batch.formula_version.formula_id, FormulaVersion.status == "approved"
        )
    )
    today = clock.today()
    proof = judgement.evidence(batch.id)
    return BatchView(
        batch=batch,
        components=list(batch.components),
        weight_checks=list(batch.weight_checks),
        locations=list(batch.locations),
        signatures=signatures,
        history=history,
        missing=batches.missing_for_completion(batch) if batch.status == "draft" else [],
        expired=compounding.expired(batch.bud, today),
        near_bud=compounding.near_bud(batch.bud, today),
        specification_current=newest is None or newest == batch.formula_version.version,
        newer_version=newest if newest and newest != batch.formula_version.version else None,
        evidence=proof,
        holds=judgement.holds(batch, proof),
        missing_tests=judgement.missing_tests(batch, proof),
    )


@dataclass(frozen=True)
class StorageHistory:
    stays: list[readings.Stay]
    excursions: list[Excursion]
    dispositions: dict[int, Disposition]


def storage_history(batch: Batch) -> StorageHistory:
    """Where the batch has been with the readings of each stay, and the excursions it was in."""
    return StorageHistory(
        stays=readings.batch_storage(batch),
        excursions=stays.for_batch(batch.id),
        dispositions=stays.dispositions_for(batch.id),
    )


def list_page(filters: batches.BatchFilter, page: int, per_page: int) -> Page:
    """One page of batches with what a list row shows, in a fixed number of statements.

    The page's ids are found first (the sort then touches ids only, from the indexes), and the
    rows with their formula, compounder and storage unit are loaded for those ids alone.
    """
    base = filters.statement()
    total = count(base)
    ids = list(
        db.session.scalars(base.with_only_columns(Batch.id).limit(per_page).offset((page - 1) * per_page))
    )
    rows = db.session.scalars(
        sa.select(Batch)
        .where(Batch.id.in_(ids))
        .options(
            so.joinedload(Batch.formula_version).joinedload(FormulaVersion.formula),
            so.joinedload(Batch.compounded_by),
            so.joinedload(Batch.storage_unit),
        )
        .order_by(Batch.id.desc())
    )
    return Page(items=list(rows), page=page, per_page=per_page, total=total)
