"""The contract laboratory's results CSV (api.md): all rows or none, every bad row named."""

import re
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from qa_app.domain import evaluation as ev
from qa_app.errors import InvalidInput, ServiceError
from qa_app.extensions import db
from qa_app.models import Batch, Result, User
from qa_app.services import alerts, audit, judgement, results, trends
from qa_app.services.accounts import require_role
from qa_app.validation import csv_records, parse_decimal

HEADER = ("lot_number", "test", "value", "replicate", "method", "analyst", "tested_at")
MAX_ROWS = 50_000
"""Rows of one file: about 100 s of work at the measured import rate, within the server's timeout."""
REPLICATE = re.compile(r"[0-9]{1,6}")  # ASCII digits: int() reads 1_0 and other scripts' digits too


@dataclass
class Group:
    """The rows of one result: one row, or the replicates of a content-uniformity set."""

    lot_number: str
    test: str
    first_row: int
    rows: list[tuple[int, dict[str, str]]] = field(default_factory=list)


@dataclass(frozen=True)
class ImportSummary:
    results: int
    rows: int
    batches: list[str]


def _text(raw: str | bytes) -> str:
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise InvalidInput(
                "The file is not UTF-8 text.", rows=[{"row": 1, "message": "Save the CSV as UTF-8."}]
            ) from None
    if "\x00" in raw:
        raise InvalidInput(
            "The file holds NUL characters; it is not a CSV.", rows=[{"row": 1, "message": "Not text."}]
        )
    return raw


def _groups(text: str) -> tuple[list[Group], int, list[dict[str, Any]]]:
    reader = csv_records(text)
    errors: list[dict[str, Any]] = []
    header = [h.strip().lower() for h in next(reader, (1, []))[1]]
    missing = [name for name in HEADER if name not in header]
    if missing:
        raise InvalidInput(
            "The header is not the agreed one.",
            rows=[
                {
                    "row": 1,
                    "message": f"Missing column(s): {', '.join(missing)}; the header is {','.join(HEADER)}.",
                }
            ],
        )
    groups: OrderedDict[tuple[str, str], Group] = OrderedDict()
    count = 0
    for number, cells in reader:
        if not any(c.strip() for c in cells):
            continue
        count += 1
        if count > MAX_ROWS:
            raise InvalidInput(
                f"At most {MAX_ROWS:,} rows per file.",
                rows=[{"row": number, "message": f"Too many rows (at most {MAX_ROWS:,}); split the file."}],
            )
        if len(cells) != len(header):
            errors.append({"row": number, "message": f"Expected {len(header)} cells, found {len(cells)}."})
            continue
        row = {name: cell.strip() for name, cell in zip(header, cells, strict=True)}
        if not row["lot_number"] or not row["test"]:
            errors.append({"row": number, "message": "lot_number and test are required."})
            continue
        key = (row["lot_number"].upper(), row["test"])
        group = groups.setdefault(key, Group(key[0], key[1], number))
        group.rows.append((number, row))
    if count == 0:
        raise InvalidInput(
            "The file has no result rows.", rows=[{"row": 2, "message": "No rows after the header."}]
        )
    return list(groups.values()), count, errors


def _number(text: str, number: int, errors: list[dict[str, Any]]) -> float | None:
    try:
        return parse_decimal(text)
    except ValueError as exc:
        errors.append({"row": number, "message": f"value {text[:40]!r} {exc}."})
        return None


def _time(text: str, number: int, errors: list[dict[str, Any]]) -> datetime | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        errors.append({"row": number, "message": f"tested_at {text!r} is not an ISO 8601 time."})
        return None
    if moment.tzinfo is None:
        errors.append(
            {"row": number, "message": f"tested_at {text!r} needs an offset, e.g. 2026-11-25T09:30:00Z."}
        )
        return None
    return moment


def _arguments(group: Group, kind: str, errors: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The add_result arguments for one group, or None when a row is bad (errors say which)."""
    before = len(errors)
    first_number, first = group.rows[0]
    common = {
        "test": group.test,
        "method": first["method"] or None,
        "analyst": first["analyst"] or None,
        "tested_at": _time(first["tested_at"], first_number, errors),
    }
    for number, row in group.rows[1:]:
        _time(row["tested_at"], number, errors)  # every row's time must be a time, not only the first's
    if kind == "content_uniformity":
        seen: dict[int, int] = {}
        values: list[tuple[int, float]] = []
        for number, row in group.rows:
            replicate = int(row["replicate"]) if REPLICATE.fullmatch(row["replicate"]) else None
            if replicate is None:
                errors.append(
                    {"row": number, "message": f"replicate {row['replicate']!r} must be a whole number."}
                )
                continue
            if replicate in seen:
                errors.append(
                    {"row": number, "message": f"replicate {replicate} repeats row {seen[replicate]}."}
                )
                continue
            seen[replicate] = number
            value = _number(row["value"], number, errors)
            if value is not None:
                values.append((replicate, value))
        common["values"] = [v for _, v in sorted(values)]
    else:
        if len(group.rows) > 1:
            for number, _row in group.rows[1:]:
                errors.append(
                    {
                        "row": number,
                        "message": f"{group.test} of {group.lot_number} takes one row; "
                        f"row {first_number} has it already.",
                    }
                )
        if kind == "range":
            common["value"] = _number(first["value"], first_number, errors)
        else:
            common["value"] = first["value"]
    return common if len(errors) == before else None


def import_csv(actor: User, raw: str | bytes) -> ImportSummary:
    """Record every result of the file, or none: any bad row refuses the whole file (400).

    The work per file is a fixed number of statements, whatever its rows: the named batches are
    read and locked with their evidence in chunks, each result is checked by the same function
    as one entered on a page, and the results, their audit events, alerts and the judgement of
    each batch are written together."""
    require_role(actor, *results.ANALYSTS)
    groups, count, errors = _groups(_text(raw))
    found = _locked_batches({group.lot_number for group in groups})
    proofs = _evidence([batch.id for batch in found.values()])
    touched: dict[str, Batch] = {}
    recorded: list[tuple[Batch, Result, ev.Evaluation]] = []
    for group in groups:
        batch = found.get(group.lot_number)
        if batch is None:
            errors.append(
                {"row": group.first_row, "message": f"No batch with lot number {group.lot_number}."}
            )
            continue
        touched.setdefault(batch.lot_number, batch)
        checked = _checked(actor, batch, proofs[batch.id], group, errors)
        if checked is not None:
            recorded.append((batch, *checked))
    if errors:
        db.session.rollback()
        raise InvalidInput(
            f"Nothing was imported: {len(errors)} row(s) need fixing.",
            rows=sorted(errors, key=lambda e: e["row"]),
        )
    _record(actor, recorded)
    for batch, result, _outcome in recorded:
        proofs[batch.id].results.append(result)
    judgement.judge_each(actor, [(batch, proofs[batch.id]) for batch in touched.values()])
    trends.refresh_tests(actor, [(batch, result.test_key) for batch, result, _outcome in recorded])
    db.session.commit()
    return ImportSummary(results=len(recorded), rows=count, batches=sorted(touched))


def _chunks(items: list[Any]) -> Iterator[list[Any]]:
    for first in range(0, len(items), judgement.CHUNK):
        yield items[first : first + judgement.CHUNK]


def _locked_batches(lot_numbers: set[str]) -> dict[str, Batch]:
    """The named batches that exist, by lot number, locked (PostgreSQL) in id order, the order
    a recall locks the batches of a lot in, so that the two never wait for each other: their ids
    read first, then the rows locked a chunk at a time; a few statements per file."""
    ids: list[int] = []
    for chunk in _chunks(sorted(lot_numbers)):
        ids += db.session.scalars(sa.select(Batch.id).where(Batch.lot_number.in_(chunk)))
    found: dict[str, Batch] = {}
    for chunk in _chunks(sorted(ids)):
        stmt = sa.select(Batch).where(Batch.id.in_(chunk)).order_by(Batch.id).with_for_update(of=Batch)
        found.update((batch.lot_number, batch) for batch in db.session.scalars(stmt))
    return found


def _evidence(batch_ids: list[int]) -> dict[int, judgement.Evidence]:
    proofs: dict[int, judgement.Evidence] = {}
    for chunk in _chunks(batch_ids):
        proofs.update(judgement.evidence_each(chunk))
    return proofs


def _checked(
    actor: User, batch: Batch, proof: judgement.Evidence, group: Group, errors: list[dict[str, Any]]
) -> tuple[Result, ev.Evaluation] | None:
    """The group's result checked and evaluated as one entered alone, or None (errors say why)."""
    try:
        kind = results.spec_test(batch, group.test)["kind"]
    except ServiceError as exc:
        errors.append({"row": group.first_row, "message": exc.fields.get("test", exc.message)})
        return None
    arguments = _arguments(group, kind, errors)
    if arguments is None:
        return None
    try:
        return results.new_result(actor, batch, proof, source="imported", **arguments)
    except ServiceError as exc:
        detail = "; ".join(exc.fields.values()) or exc.message
        errors.append(
            {
                "row": group.first_row,
                "message": f"{group.lot_number} {group.test}: {exc.message} {detail}".strip(),
            }
        )
        return None


def _record(actor: User, recorded: list[tuple[Batch, Result, ev.Evaluation]]) -> None:
    """Write the results (an INSERT for many rows at a time, their ids read back), then
    their audit events and out-of-specification alerts, in that order."""
    if not recorded:
        return
    # Every row with every column (None too), so that the rows go in one INSERT after another
    # of many rows each, stored as the session would store them one by one.
    table = Result.__table__
    columns = [c.key for c in table.columns if c.key not in ("id", "recorded_at")]
    # One row per batch and test in a file, so that pair names the id each row was given.
    stmt = sa.insert(table).returning(table.c.batch_id, table.c.test_key, table.c.id)
    rows = [{key: getattr(result, key) for key in columns} for _batch, result, _outcome in recorded]
    ids = {(batch_id, test): new_id for batch_id, test, new_id in db.session.execute(stmt, rows)}
    for _batch, result, _outcome in recorded:
        result.id = ids[result.batch_id, result.test_key]
    audit.record_many([results.recorded_event(actor, batch, result) for batch, result, _ in recorded])
    alerts.raise_alerts(
        "oos",
        [
            results.out_of_specification(batch, result, outcome)
            for batch, result, outcome in recorded
            if outcome.status == "fail"
        ],
    )
