"""Pagination of list queries: one count and one page of rows, whatever the table size."""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from qa_app.errors import InvalidInput
from qa_app.extensions import db

MAX_PER_PAGE = 200
MAX_PAGE = 1_000_000


@dataclass(frozen=True)
class Page:
    items: list[Any]
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    def as_dict(self, serialise) -> dict[str, Any]:
        return {
            "items": [serialise(item) for item in self.items],
            "page": self.page,
            "per_page": self.per_page,
            "total": self.total,
        }


def page_args(args: Mapping[str, str], default_per_page: int = 50) -> tuple[int, int]:
    """``page`` and ``per_page`` from a query string, or a 400 naming the bad one."""
    values = {}
    for name, default, top in (("page", 1, MAX_PAGE), ("per_page", default_per_page, MAX_PER_PAGE)):
        raw = args.get(name, "")
        try:
            value = int(raw) if raw != "" else default
        except ValueError:
            raise InvalidInput(f"{name} must be a whole number.", {name: "Must be a whole number."}) from None
        if not 1 <= value <= top:
            raise InvalidInput(
                f"{name} must be between 1 and {top}.", {name: f"Must be between 1 and {top}."}
            )
        values[name] = value
    return values["page"], values["per_page"]


def count(stmt: sa.Select) -> int:
    """How many rows ``stmt`` would return."""
    return db.session.scalar(sa.select(sa.func.count()).select_from(stmt.order_by(None).subquery())) or 0


def paginate(stmt: sa.Select, page: int, per_page: int) -> Page:
    total = count(stmt)
    items = list(db.session.scalars(stmt.limit(per_page).offset((page - 1) * per_page)))
    return Page(items=items, page=page, per_page=per_page, total=total)
