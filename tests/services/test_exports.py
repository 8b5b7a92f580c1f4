"""The ZIP of certificates: what it holds, under which names, and that a large one costs no more
statements than a small one (the certificates stream from one query; none is held back)."""

import hashlib
import io
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask import Flask

from qa_app.extensions import db
from qa_app.models import Batch, Certificate
from qa_app.services import certificates, clock, exports
from tests.builders import user
from tests.services.test_release import add_releasers, ready_batch, released
from tests.services.test_results import shared_database_app


@pytest.fixture(scope="module")
def shared_app(databases, tmp_path_factory) -> Iterator[Flask]:
    for app in shared_database_app(databases, str(tmp_path_factory.mktemp("exports-instance"))):
        add_releasers(app)
        yield app


@pytest.fixture
def ctx(shared_app):
    with shared_app.app_context():
        yield


@contextmanager
def statements() -> Iterator[list[str]]:
    """The SQL statements run while inside, in order."""
    seen: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany) -> None:
        seen.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", count)


def export_of(day, *, last_day=None) -> tuple[exports.CertificateExport, zipfile.ZipFile, int]:
    """The export of the certificates issued from ``day`` to ``last_day`` (the same day unless
    told), made in one step; its ZIP, and how many statements that step ran."""
    started = exports.start(user("ada"), day, last_day or day)
    with statements() as seen:
        done = exports.advance(user("ada"), started.id, budget=120)
    assert done.status == "done"
    return done, zipfile.ZipFile(io.BytesIO(exports.zip_path(done).read_bytes())), len(seen)


def copies(prototype: Certificate, count: int, issued_at, tag: str) -> None:
    """``count`` more certificates like ``prototype``, each of its own batch, issued at
    ``issued_at`` (a generator's shortcut, as the benchmark's: rows copied directly)."""
    batch_row = {c.name: getattr(prototype.batch, c.key) for c in Batch.__table__.columns if c.name != "id"}
    pdf = certificates.stored_pdf(prototype)
    for i in range(count):
        batch_id = db.session.execute(
            sa.insert(Batch).values({**batch_row, "lot_number": f"{tag}-{i:04d}"}).returning(Batch.id)
        ).scalar_one()
        db.session.execute(
            sa.insert(Certificate).values(
                number=f"COA-{tag}-{i:05d}",
                verification_code=f"CODE{i:012d}",
                version=1,
                batch_id=batch_id,
                status="valid",
                pdf=pdf,
                size=prototype.size,
                sha256=prototype.sha256,
                issued_at=issued_at,
                issued_by_id=prototype.issued_by_id,
                signature_id=prototype.signature_id,
                row_version=1,
            )
        )
    db.session.commit()


def test_the_zip_holds_each_certificate_of_the_day_by_name_with_its_bytes_and_a_manifest(ctx):
    lots = [ready_batch() for _ in range(3)]
    issued = [released(lot) for lot in lots]

    export, archive, _ = export_of(clock.today())

    names = archive.namelist()
    assert export.done == 3
    assert names == [f"{c.number}-v1-{lot}.pdf" for c, lot in zip(issued, lots, strict=True)] + [
        "manifest.csv"
    ]
    for certificate, name in zip(issued, names, strict=False):
        assert hashlib.sha256(archive.read(name)).hexdigest() == certificate.sha256
    manifest = archive.read("manifest.csv").decode().splitlines()
    assert manifest[0] == "number,version,lot_number,status,sha256,issued_at,file"
    assert [line.split(",")[-1] for line in manifest[1:]] == names[:-1]
    assert [line.split(",")[4] for line in manifest[1:]] == [c.sha256 for c in issued]


def test_two_hundred_certificates_take_as_many_statements_as_three(ctx):
    prototype = released(ready_batch())
    few_day, many_day = clock.today() - timedelta(days=40), clock.today() - timedelta(days=20)
    copies(prototype, 3, clock.start_of_local_day(few_day) + timedelta(hours=9), "FEW")
    copies(prototype, 200, clock.start_of_local_day(many_day) + timedelta(hours=9), "MANY")

    three, three_zip, three_statements = export_of(few_day)
    many, many_zip, many_statements = export_of(many_day)

    assert (three.done, len(three_zip.namelist())) == (3, 4)
    assert (many.done, len(many_zip.namelist())) == (200, 201)
    assert many_statements == three_statements
    assert many_statements <= 15


def test_a_range_without_certificates_gives_a_zip_with_only_the_manifest_header(ctx):
    day = clock.today() - timedelta(days=3000)

    export, archive, _ = export_of(day)

    assert (export.total, export.done) == (0, 0)
    assert archive.namelist() == ["manifest.csv"]
    assert archive.read("manifest.csv").decode().splitlines() == [
        "number,version,lot_number,status,sha256,issued_at,file"
    ]


def test_an_export_made_in_many_short_steps_is_the_same_zip_as_one_made_at_once(ctx, monkeypatch):
    day = clock.today() - timedelta(days=40)
    prototype = released(ready_batch())
    copies(prototype, 7, clock.start_of_local_day(day) + timedelta(hours=9), "STEP")

    whole, _, _ = export_of(day)
    monkeypatch.setattr(exports, "REOPENING_SHARE", 0)  # each step writes one certificate
    started = exports.start(user("ada"), day, day)
    steps = 0
    while exports.get(started.id).status != "done":
        exports.advance(user("ada"), started.id, budget=0)
        steps += 1

    assert steps > 1
    assert exports.zip_path(exports.get(started.id)).read_bytes() == exports.zip_path(whole).read_bytes()
