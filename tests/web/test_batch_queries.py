"""The batch list and the batch page cost a fixed number of SQL statements, whatever the table size."""

from contextlib import contextmanager

import pytest
import sqlalchemy as sa

from qa_app.extensions import db
from qa_app.services import batches, clock
from tests.builders import setup_master_data, user


@contextmanager
def counted(app):
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)


def _make_batches(app, n: int) -> str:
    with app.app_context():
        lots = setup_master_data(clock.today())
        tina = user("tina")
        last = None
        for i in range(n):
            batch = batches.create_batch(tina, formula="LDN-CAP", strength_mg=1.5, quantity=100)
            if i % 2 == 0 or i == n - 1:  # the page measured always shows components
                batches.record_component(
                    tina, batch.lot_number, barcode=lots["api"], quantity_mg=151.5, balance="XS205"
                )
                batches.record_component(
                    tina, batch.lot_number, barcode=lots["mcc"], quantity_mg=22348.0, balance="XS205"
                )
            last = batch.lot_number
        return last


def _statements_for(app, client, auth, n: int, path_for) -> int:
    lot = _make_batches(app, n)
    auth.login("tina")
    path = path_for(lot)
    client.get(path)  # warm caches that are not per request
    with counted(app) as statements:
        response = client.get(path)
    assert response.status_code == 200
    return len(statements)


@pytest.mark.parametrize(
    "path_for",
    [
        lambda lot: "/batches/?per_page=50",
        lambda lot: f"/batches/{lot}",
        lambda lot: "/api/v1/batches?per_page=50",
    ],
    ids=["list page", "batch page", "api list"],
)
def test_statement_count_does_not_grow_with_the_number_of_batches(databases, tmp_path, path_for):
    from tests.conftest import AuthActions, build_app, make_user

    counts = []
    for n in (5, 50):
        url = databases.new_url(template=True)
        app = build_app(url, str(tmp_path / f"i{n}"))
        try:
            for username, roles in (("tina", ("technician",)), ("rob", ("reviewer",)), ("ada", ("admin",))):
                make_user(app, username, roles)
            client = app.test_client()
            auth = AuthActions(client)
            if path_for("x").startswith("/api/"):
                headers = auth.token("tina")
                _make_batches(app, n)
                path = path_for("x")
                client.get(path, headers=headers)
                with counted(app) as statements:
                    assert client.get(path, headers=headers).status_code == 200
                counts.append(len(statements))
            else:
                counts.append(_statements_for(app, client, auth, n, path_for))
        finally:
            with app.app_context():
                db.session.remove()
                db.engine.dispose()
            databases.drop(url)
    assert counts[0] == counts[1], f"5 batches: {counts[0]} statements, 50 batches: {counts[1]}"
    # The weighing form lists the balances (one statement), the judgement looks for recalled
    # lots behind the batch, through intermediate lots (one recursive statement), and reads the
    # batch's result invalidations with its other evidence (one statement).
    assert counts[0] <= 18
