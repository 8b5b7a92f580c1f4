"""Field names in words, for people: ``strength_mg`` is "Strength (mg)" in a table, "Strength"
in a sentence.

The API names fields by their keys (that is its contract); pages and the audit trail's
sentences name them as people say them. Known keys have their words here; any other key is
read by a rule: underscores become spaces, a unit suffix becomes the unit in parentheses, and
abbreviations stay in capitals (``api_lot`` is "API lot", ``mkt_c`` "MKT (°C)").
"""

import re

UNITS = {
    "mg": "mg",
    "g": "g",
    "percent": "%",
    "c": "°C",
    "minutes": "min",
    "ml": "mL",
}

ABBREVIATIONS = {"api", "bud", "coa", "id", "mkt", "rsd", "sd", "sha256", "usp"}

# key: (words, unit or None)
FIELD_LABELS: dict[str, tuple[str, str | None]] = {
    "strength_mg": ("Strength", "mg"),
    "quantity_mg": ("Quantity", "mg"),
    "quantity": ("Quantity", None),
    "quantity_unit": ("Unit of quantity", None),
    "status": ("Status", None),
    "reason": ("Reason", None),
    "bud": ("BUD", None),
    "bud_reason": ("Reason for the BUD", None),
    "lot": ("Lot", None),
    "lot_number": ("Lot number", None),
    "api_lot": ("API lot", None),
    "api_mg": ("API", "mg"),
    "api_mg_raw": ("API unrounded", "mg"),
    "api_assay_percent": ("API assay", "%"),
    "filler_mg": ("Filler", "mg"),
    "filler_mg_raw": ("Filler unrounded", "mg"),
    "fill_weight_mg": ("Fill weight", "mg"),
    "theoretical_mg": ("Theoretical mass", "mg"),
    "theoretical_unit_mg": ("Theoretical unit mass", "mg"),
    "theoretical_yield": ("Theoretical yield", None),
    "actual_yield": ("Actual yield", None),
    "yield_percent": ("Yield", "%"),
    "deviation_percent": ("Deviation", "%"),
    "deviation_reason": ("Reason for the deviation", None),
    "dose_amount": ("Dose", None),
    "dosage_form": ("Dosage form", None),
    "concentration": ("Concentration", None),
    "concentration_percent": ("Concentration", "%"),
    "concentration_mg_per_ml": ("Concentration", "mg/mL"),
    "water_percent": ("Water", "%"),
    "overage_percent": ("Overage", "%"),
    "compounded_at": ("Compounded at", None),
    "formula_version": ("Formula version", None),
    "weights_mg": ("Weights", "mg"),
    "nominal_mg": ("Nominal mass", "mg"),
    "observed_mg": ("Observed mass", "mg"),
    "error_percent": ("Error", "%"),
    "low_mg": ("Lower limit", "mg"),
    "high_mg": ("Upper limit", "mg"),
    "mean_mg": ("Mean", "mg"),
    "min_mg": ("Lightest", "mg"),
    "max_mg": ("Heaviest", "mg"),
    "n": ("Number weighed", None),
    "outside": ("Outside the limits", None),
    "balance_minimum_mg": ("Minimum weight of the balance", "mg"),
    "minimum_weight_mg": ("Minimum weight", "mg"),
    "readability_mg": ("Readability", "mg"),
    "repeatability_sd_mg": ("Repeatability SD", "mg"),
    "capacity_g": ("Capacity", "g"),
    "qualified_on": ("Qualified on", None),
    "local_date": ("Date", None),
    "passed": ("Passed", None),
    "storage_unit": ("Storage unit", None),
    "placed_at": ("Placed at", None),
    "produced_lot": ("Lot made", None),
    "made_in": ("Made in batch", None),
    "min_c": ("Lowest temperature", "°C"),
    "max_c": ("Highest temperature", "°C"),
    "mkt_c": ("Mean kinetic temperature", "°C"),
    "alarm_delay_minutes": ("Alarm delay", "min"),
    "duration_minutes": ("Duration", "min"),
    "gap_minutes": ("Gap in readings", "min"),
    "expiry_date": ("Expiry date", None),
    "received_date": ("Received date", None),
    "assay_percent": ("Assay", "%"),
    "assay_anhydrous_percent": ("Assay, anhydrous", "%"),
    "assay_min_percent": ("Lowest assay", "%"),
    "assay_max_percent": ("Highest assay", "%"),
    "content_sha256": ("Content SHA-256", None),
    "sha256": ("SHA-256", None),
    "signer_name": ("Signed by", None),
    "full_name": ("Full name", None),
    "tested_at": ("Tested at", None),
    "stage1_result": ("Stage 1 result", None),
    "retest_of_investigation": ("Retest for investigation", None),
    "retests_allowed": ("Retests allowed", None),
    "first_at": ("First reading", None),
    "last_at": ("Last reading", None),
    "from": ("From date", None),
    "to": ("To date", None),
    "per_page": ("Rows per page", None),
    "strength": ("Strength", "mg"),
}


def _words(key: str) -> tuple[str, str | None]:
    if key in FIELD_LABELS:
        return FIELD_LABELS[key]
    parts = [p for p in key.replace(".", "_").split("_") if p]
    unit = None
    if len(parts) > 1 and parts[-1] in UNITS:
        unit = UNITS[parts.pop()]
    words = " ".join(p.upper() if p in ABBREVIATIONS else p for p in parts) or key
    return words[:1].upper() + words[1:], unit


def field_label(key: str, unit: bool = True) -> str:
    """ "Strength (mg)" for ``strength_mg``; "Strength" with ``unit=False``."""
    words, unit_name = _words(key)
    return f"{words} ({unit_name})" if unit and unit_name else words


SNAKE_KEY = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b")
LEADING_KEY = re.compile(r"^([a-z][a-z0-9_]*)(?= (?:is|must|needs|has|are|cannot|may|should)\b)")


def _in_sentence(words: str) -> str:
    """A label inside a sentence: lower case, except an abbreviation such as "API lot"."""
    return words if words[1:2].isupper() else words[:1].lower() + words[1:]


def in_words(message: str) -> str:
    """A message for a page, with the field keys it names in words: ``"strength_mg must be
    positive"`` reads "Strength must be positive", ``"give api_lot"`` "give API lot". Only known
    keys are replaced, so other words (a username such as ``j_smith``, or ``tina`` opening
    "tina is unlocked.") stay as they are."""
    if not message:
        return message
    leading = LEADING_KEY.match(message)
    if leading and leading.group(1) in FIELD_LABELS:
        message = field_label(leading.group(1), unit=False) + message[leading.end() :]

    def known(match: re.Match) -> str:
        key = match.group(0)
        return _in_sentence(field_label(key, unit=False)) if key in FIELD_LABELS else key

    return SNAKE_KEY.sub(known, message)
