"""Role checks for pages."""

import functools
from collections.abc import Callable

from flask import abort
from flask_login import current_user


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
