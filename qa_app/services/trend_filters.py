"""The filters of a trend, read from a query string (the API's and the trends page's): which
formula, strength, attribute and period. Every bad value is named at once, so a 400 says what
to fix in each field."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from qa_app.domain.compounding import STRENGTH_MAX_MG, STRENGTH_MIN_MG
from qa_app.errors import InvalidInput
from qa_app.models import TREND_ATTRIBUTES
from qa_app.validation import date_field, parse_decimal

DEFAULT_ATTRIBUTE = "assay"


@dataclass(frozen=True)
class TrendFilters:
    formula: str | None
    attribute: str
    strength_mg: float | None
    date_from: date | None
    date_to: date | None

    def query(self) -> dict[str, str]:
        """The filters as query-string values, for links that keep them."""
        out = {"attribute": self.attribute}
        if self.strength_mg is not None:
            out["strength"] = f"{self.strength_mg:g}"
        if self.date_from is not None:
            out["from"] = self.date_from.isoformat()
        if self.date_to is not None:
            out["to"] = self.date_to.isoformat()
        return out


def _text(args: Mapping[str, str], name: str) -> str:
    return (args.get(name) or "").strip()


def read(
    args: Mapping[str, str], *, formula: str | None = None, formula_required: bool = True
) -> TrendFilters:
    """The filters of ``args``; ``formula`` given by the caller (a page's path) wins over the query.

    Raises InvalidInput naming each bad field: ``formula`` (missing or unusable),
    ``attribute``, ``strength``, ``from``, ``to`` (also when it is before ``from``).
    """
    fields: dict[str, str] = {}

    code = formula if formula is not None else _text(args, "formula")
    if "\x00" in code:
        fields["formula"] = "Remove the NUL character from the formula's code."
    elif not code and formula_required:
        fields["formula"] = "Give the formula's code, e.g. LDN-CAP."

    attribute = _text(args, "attribute") or DEFAULT_ATTRIBUTE
    if attribute not in TREND_ATTRIBUTES:
        fields["attribute"] = f"Use one of: {', '.join(TREND_ATTRIBUTES)}."
        attribute = DEFAULT_ATTRIBUTE

    strength: float | None = None
    raw = _text(args, "strength")
    if raw:
        low, high = f"{STRENGTH_MIN_MG:g}", f"{STRENGTH_MAX_MG:g}"
        try:
            strength = parse_decimal(raw, "give the strength in mg, e.g. 1.5")
        except ValueError as exc:
            fields["strength"] = f"The strength {exc}."
        else:
            if not STRENGTH_MIN_MG <= strength <= STRENGTH_MAX_MG:
                fields["strength"] = (
                    f"Give a strength between {low} and {high} mg, or none for every strength."
                )
                strength = None

    dates: dict[str, date | None] = {}
    for name in ("from", "to"):
        value = _text(args, name)
        try:
            dates[name] = date_field({name: value or None}, name)
        except InvalidInput as exc:
            fields.update(exc.fields)
            dates[name] = None
    if dates["from"] and dates["to"] and dates["to"] < dates["from"]:
        fields["to"] = "The last day is before the first day; give a later date."

    if fields:
        raise InvalidInput(
            "The trend's filters have invalid values: " + ", ".join(sorted(fields)) + ".", fields
        )
    return TrendFilters(code or None, attribute, strength, dates["from"], dates["to"])
