"""What every benchmark starts from: a migrated database, three users and the master data."""

import flask_migrate

from qa_app.services import accounts, clock
from tests.builders import setup_master_data
from tests.conftest import PASSWORD

USERS = (("tina", ["technician"]), ("rob", ["reviewer"]), ("ada", ["admin"]))


def prepare() -> dict[str, str]:
    """Inside an app context: schema, users (password: the tests' PASSWORD), lots, formulas, units."""
    flask_migrate.upgrade()
    for username, roles in USERS:
        accounts.create_user(
            None,
            username=username,
            full_name=username.title(),
            roles=roles,
            password=PASSWORD,
            actor_name="bench",
        )
    return setup_master_data(clock.today())
