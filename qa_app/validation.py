"""Input checks that name each bad field in words a person can act on: JSON Schema validation,
dates and times read from bodies and query strings, and record ids in URLs."""

import csv
import io
import math
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker, validators
from werkzeug.routing import IntegerConverter

from qa_app.errors import InvalidInput

EARLIEST, LATEST = datetime(1900, 1, 1, tzinfo=UTC), datetime(9000, 1, 1, tzinfo=UTC)
MAX_ID = 2**31 - 1  # the largest id an integer column holds (PostgreSQL's integer)
MAX_SEARCH = 100  # characters of a search term; SQLite refuses a LIKE pattern over 50,000 bytes
MAX_CSV_CELL = 131_072  # characters of one CSV cell (the csv module's own limit)
# A number as a person types it on a balance or a spreadsheet in the pharmacy: ASCII digits with
# an optional sign and decimal point. No digit groups (1_000, 1,000), no other scripts' digits
# (Arabic-Indic, full-width), no exponents, no NaN: Python's float() and Decimal() take them all.
PLAIN_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
COMMA_HINT = "use a point as the decimal separator"

_MESSAGES = {
    "type": lambda e: (
        "Must be a finite number." if _is_number(e.instance) else f"Must be {_type_name(e.validator_value)}."
    ),
    "enum": lambda e: f"Must be one of: {', '.join(map(str, e.validator_value))}.",
    "minLength": lambda e: f"Must be at least {e.validator_value} characters.",
    "maxLength": lambda e: f"Must be at most {e.validator_value} characters.",
    "minimum": lambda e: f"Must be at least {e.validator_value}.",
    "maximum": lambda e: f"Must be at most {e.validator_value}.",
    "minItems": lambda e: f"Give at least {e.validator_value} item(s).",
    "maxItems": lambda e: f"Give at most {e.validator_value} item(s).",
    "format": lambda e: f"Must be a valid {e.validator_value}.",
    "pattern": lambda e: "Has the wrong format.",
    "additionalProperties": lambda e: "Is not a field of this request.",
    "oneOf": lambda e: (
        "Give one of: "
        + " or ".join("{" + ", ".join(alt.get("required", [])) + "}" for alt in e.validator_value)
        + "."
    ),
    "exclusiveMinimum": lambda e: f"Must be more than {e.validator_value}.",
}


def _type_name(value: Any) -> str:
    names = {
        "string": "text",
        "integer": "a whole number",
        "number": "a number",
        "boolean": "true or false",
        "array": "a list",
        "object": "an object",
    }
    if isinstance(value, list):
        return " or ".join(names.get(v, v) for v in value if v != "null")
    return names.get(value, value)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_finite(value: Any) -> bool:
    """NaN, ±Infinity, 1e309 (read as infinity) and integers past the float range are no amount."""
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def _finite_type(kind: str):
    base = Draft202012Validator.TYPE_CHECKER
    return lambda checker, value: base.is_type(value, kind) and _is_finite(value)


# JSON (as Python reads it) allows NaN, Infinity and 400-digit integers where a number goes; a
# quantity of them would be stored, or break the arithmetic and rounding behind the services.
_FiniteValidator = validators.extend(
    Draft202012Validator,
    type_checker=Draft202012Validator.TYPE_CHECKER.redefine_many(
        {"number": _finite_type("number"), "integer": _finite_type("integer")}
    ),
)


def validate(schema: dict[str, Any], payload: Any) -> None:
    """Raise InvalidInput naming every field of ``payload`` that breaks ``schema``.

    A number must be finite: NaN, Infinity and integers too large for a float are refused.
    """
    validator = _FiniteValidator(schema, format_checker=FormatChecker())
    fields: dict[str, str] = {}
    for error in sorted(validator.iter_errors(payload), key=lambda e: list(e.path)):
        path = ".".join(str(p) for p in error.path)
        if error.validator == "required":
            missing = [name for name in error.validator_value if name not in error.instance]
            for name in missing:
                fields.setdefault(f"{path}.{name}" if path else name, "Required.")
        elif error.validator == "additionalProperties":
            extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
            for name in extra:
                fields.setdefault(
                    f"{path}.{name}" if path else name, _MESSAGES["additionalProperties"](error)
                )
        else:
            message = _MESSAGES.get(error.validator, lambda e: e.message)(error)
            fields.setdefault(path or "body", message)
    if fields:
        raise InvalidInput("The request has invalid fields: " + ", ".join(sorted(fields)) + ".", fields)


def date_field(body: Any, name: str) -> date | None:
    value = body.get(name)
    if value is None:
        return None
    try:
        day = date.fromisoformat(value)
    except (TypeError, ValueError):
        raise InvalidInput(f"{name} is not a date.", {name: "Use YYYY-MM-DD."}) from None
    if not EARLIEST.date() <= day < LATEST.date():  # a day next to year 1 or 9999 has no next day
        raise InvalidInput(f"{name} is out of range.", {name: "Give a date between the years 1900 and 8999."})
    return day


def search_field(args: Any, name: str) -> str | None:
    """Text to search for (a part of a lot number, a barcode, an action): trimmed, or None."""
    value = (args.get(name) or "").strip()
    if len(value) > MAX_SEARCH:
        raise InvalidInput(f"{name} is too long to search for.", {name: f"At most {MAX_SEARCH} characters."})
    return value or None


def datetime_field(body: Any, name: str) -> datetime | None:
    """An ISO 8601 time that must carry its offset (a time without one could be any zone's)."""
    value = body.get(name)
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise InvalidInput(
            f"{name} is not a time.", {name: "Use ISO 8601, e.g. 2026-11-25T09:30:00Z."}
        ) from None
    if moment.tzinfo is None:
        raise InvalidInput(f"{name} needs an offset.", {name: "Add the offset, e.g. 2026-11-25T09:30:00Z."})
    if not EARLIEST <= moment < LATEST:  # near years 1 and 9999 a time cannot be shifted or stored
        raise InvalidInput(f"{name} is out of range.", {name: "Give a time between the years 1900 and 8999."})
    return moment


def local_time(value: datetime, zone: tzinfo, name: str) -> datetime:
    """A clock reading typed on a page, placed in the pharmacy's zone ``zone``.

    On the day the clocks go forward some readings never happen, and on the day they go back
    some happen twice; either is refused, naming the field, rather than guessed.
    """
    earlier, later = value.replace(tzinfo=zone, fold=0), value.replace(tzinfo=zone, fold=1)
    if earlier.utcoffset() == later.utcoffset():
        return earlier
    shown, zone_name = value.strftime("%Y-%m-%d %H:%M"), getattr(zone, "key", str(zone))
    if earlier.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != value:
        after = (value + (later.utcoffset() - earlier.utcoffset())).strftime("%H:%M")  # type: ignore[operator]
        raise InvalidInput(
            f"{name} is a time that does not exist in {zone_name}.",
            {
                name: f"{shown} does not exist in {zone_name}: the clocks jumped an hour forward "
                f"(daylight saving time began). Enter the time the clock showed after the change, "
                f"e.g. {after}."
            },
        )
    hour = value.replace(minute=0)
    repeated = earlier.utcoffset() - later.utcoffset()  # type: ignore[operator]
    first, last = hour.strftime("%H:%M"), (hour + repeated - timedelta(minutes=1)).strftime("%H:%M")
    raise InvalidInput(
        f"{name} is a time that happened twice in {zone_name}.",
        {
            name: f"{shown} happened twice in {zone_name}: the clocks went an hour back "
            f"(daylight saving time ended). Enter a time outside {first}–{last}, or send it "
            "through the API with its UTC offset."
        },
    )


class RecordIdConverter(IntegerConverter):
    """``<int:...>`` in a URL: a record's id, so at most MAX_ID; a larger one is no record (404).

    Without the bound, a 30-digit id reaches the database, which cannot take it as an integer.
    """

    def __init__(self, map, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def parse_decimal(text: str, hint: str | None = None) -> float:
    """A plain ASCII decimal (``-12.5``, ``225``, ``.5``) as a finite float.

    Raises ValueError whose message follows the value ("'1,5' has a decimal comma: ...",
    "'abc' is not a number: <hint>").
    """
    text = text.strip()
    if PLAIN_DECIMAL.fullmatch(text):
        value = float(text)
        if math.isfinite(value):
            return value
    elif "," in text:
        raise ValueError(f"has a decimal comma: {COMMA_HINT}" + (f", {hint}" if hint else ""))
    raise ValueError("is not a number" + (f": {hint}" if hint else ""))


def one_number(text: str, per: str = "line") -> float:
    """One plain number typed or pasted where exactly one belongs: a cell, a line of a column.

    Raises ValueError whose message names the text and says what to do: a decimal comma
    ("225,1") is not read as one number nor split into two, and two numbers ("224 226",
    "224;226") are never split either.
    """
    shown = text.strip()
    try:
        return parse_decimal(shown)
    except ValueError:
        pass
    quoted = f'"{shown[:40]}"'
    if "," in shown:
        raise ValueError(f"{quoted} is not one number; use a point for decimals")
    if len(re.split(r"[\s;]+", shown)) > 1:
        raise ValueError(f"{quoted} is not one number; give one number per {per}")
    raise ValueError(f"{quoted} is not a number")


def numbers_by_line(text: str) -> list[float]:
    """One number per line (a pasted spreadsheet column), blank lines aside.

    Raises ValueError naming the first line that is not one number ("Line 3: "225,1" is not one
    number; use a point for decimals").
    """
    numbers = []
    for n, line in enumerate((text or "").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            numbers.append(one_number(line))
        except ValueError as exc:
            raise ValueError(f"Line {n}: {exc}") from None
    return numbers


def csv_records(text: str) -> Iterator[tuple[int, list[str]]]:
    """The records of a CSV text as ``(row number from 1, cells)``.

    A file the csv reader cannot read (a bare carriage return ending a line, a cell longer than
    MAX_CSV_CELL characters) is refused naming the row it stopped at.
    """
    reader = csv.reader(io.StringIO(text))
    number = 0
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            row = number + 1
            if "new-line character" in str(exc):
                message = (
                    f"Row {row} has a bare carriage return (CR) as a line ending: "
                    "save the CSV with LF or CRLF line endings."
                )
            elif "field larger than field limit" in str(exc):
                message = f"Row {row} has a cell longer than {MAX_CSV_CELL:,} characters."
            else:
                message = f"Row {row} is not valid CSV: {exc}."
            raise InvalidInput(
                f"The file cannot be read at row {row}.",
                {"file": message},
                rows=[{"row": row, "message": message}],
            ) from None
        number += 1
        yield number, cells
