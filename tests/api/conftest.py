"""Helpers for the API tests: an admin's token and row counts read through the ORM."""

import pytest
import sqlalchemy as sa

from qa_app.extensions import db
from qa_app.models import AuditEvent, User


def count(app, model) -> int:
    """How many rows ``model``'s table holds now."""
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def actions(app, **filters) -> list[str]:
    """The audit actions recorded so far, oldest first, optionally for one entity key."""
    with app.app_context():
        stmt = sa.select(AuditEvent.action).order_by(AuditEvent.seq)
        if "key" in filters:
            stmt = stmt.where(AuditEvent.entity_key == filters["key"])
        return list(db.session.scalars(stmt))


@pytest.fixture
def admin(users, auth) -> dict[str, str]:
    """Authorization headers of ada, the admin."""
    return auth.token(users["admin"])


@pytest.fixture
def snapshot(app):
    """A function answering (users, audit events) now, to prove a refusal changed nothing."""
    return lambda: (count(app, User), count(app, AuditEvent))
