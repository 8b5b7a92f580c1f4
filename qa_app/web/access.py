"""Who may do what on the pages: one table of actions and the roles the services allow them.

Pages show an action's link or button only to the people whose roles :data:`ACTIONS` lists
for it (``may('batch.release')`` in a template), and its route refuses everyone else with 403
(``@action_required('batch.release')``). The roles are the ones the services' ``require_role``
calls check, so a person never meets a button the service would refuse them.
"""

import functools
from collections.abc import Callable

from flask import abort
from flask_login import current_user

from qa_app.services.exports import EXPORTERS
from qa_app.services.formulas import APPROVERS
from qa_app.services.materials import COMPOUNDERS
from qa_app.services.readings import RECORDERS
from qa_app.services.results import ANALYSTS

ADMIN = ("admin",)
REVIEWER = ("reviewer",)
AUDIT_READERS = ("reviewer", "admin", "inspector")

ACTIONS: dict[str, tuple[str, ...]] = {
    # Batches (services.batches, results, result_import, investigations, release)
    "batch.create": COMPOUNDERS,
    "batch.compound": COMPOUNDERS,  # components, verification, weight checks, complete, discard
    "batch.move": COMPOUNDERS,
    "result.record": ANALYSTS,
    "result.import": ANALYSTS,
    "investigation.open": REVIEWER,
    "investigation.close": REVIEWER,
    "batch.release": REVIEWER,
    "batch.reject": REVIEWER,
    "batch.recall": REVIEWER,
    "certificates.export": EXPORTERS,
    # Materials and lots (services.materials, recalls)
    "lot.receive": COMPOUNDERS,
    "lot.approve": REVIEWER,
    "lot.reject": REVIEWER,
    "lot.recall": REVIEWER,
    "material.create": ADMIN,
    "material.edit": ADMIN,
    # Formulas (services.formulas, product_reviews)
    "formula.create": ADMIN,
    "formula.new_version": ADMIN,
    "formula.approve": APPROVERS,
    "product_review.read": AUDIT_READERS,
    "product_review.sign": REVIEWER,
    # Balances (services.balances)
    "balance.create": ADMIN,
    "balance.edit": ADMIN,
    "balance.check": COMPOUNDERS,
    # Storage and excursions (services.storage, readings, tokens, excursions)
    "storage.create_unit": ADMIN,
    "storage.record_readings": RECORDERS,
    "storage.device_tokens": ADMIN,
    "excursion.acknowledge": REVIEWER,
    "excursion.disposition": REVIEWER,
    # Trends, audit trail, people
    "trend.read": AUDIT_READERS,
    "trend.acknowledge": REVIEWER,
    "audit.read": AUDIT_READERS,
    "users.manage": ADMIN,
    "security_events.read": ADMIN,
}


def roles_for(action: str) -> tuple[str, ...]:
    """The roles allowed ``action`` (an unknown action is a programming error: KeyError)."""
    return ACTIONS[action]


def may(action: str) -> bool:
    """Whether the signed-in person may take ``action``: what pages ask before showing it."""
    return bool(current_user.is_authenticated and current_user.has_role(*roles_for(action)))


def roles_required(*roles: str) -> Callable:
    """Only users holding one of ``roles`` may open the page (403 otherwise)."""

    def decorate(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated or not current_user.has_role(*roles):
                abort(403, description=f"This page needs the role {' or '.join(roles)}.")
            return view(*args, **kwargs)

        wrapped.qa_roles = roles  # type: ignore[attr-defined]
        return wrapped

    return decorate


def action_required(action: str) -> Callable:
    """Only people who :func:`may` take ``action`` reach the view (403 otherwise)."""
    return roles_required(*roles_for(action))
