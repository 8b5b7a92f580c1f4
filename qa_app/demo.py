"""Demonstration data: one user per role (later features add their records)."""

import sqlalchemy as sa

from qa_app.extensions import db
from qa_app.models import User
from qa_app.services import accounts

DEMO_PASSWORD = "ldn-demo-password"
DEMO_USERS = (
    ("tech", "Tessa Technician", ("technician",)),
    ("tech2", "Tomas Second-Technician", ("technician",)),
    ("reviewer", "Rita Reviewer, PharmD", ("reviewer",)),
    ("admin", "Adam Administrator, RPh", ("admin",)),
    ("inspector", "Ines Inspector", ("inspector",)),
)


def load_demo() -> list[str]:
    """Create what is missing (it can run again) and return the lines to print."""
    lines = [f"Demo logins (password for all: {DEMO_PASSWORD}):"]
    for username, full_name, roles in DEMO_USERS:
        exists = db.session.scalar(sa.select(User.id).where(User.username == username))
        if exists is None:
            accounts.create_user(
                None,
                username=username,
                full_name=full_name,
                roles=roles,
                password=DEMO_PASSWORD,
                actor_name="demo",
            )
        lines.append(f"  {username:<10} {', '.join(roles):<12} {full_name}")
    return lines
