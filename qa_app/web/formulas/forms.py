"""The master formula form: plain fields and textareas read into the api.md Formula body.

The form only reads what was typed (lines, numbers, JSON); every rule about a formula is the
formula service's, whose field names (``components.0.material``, ``specification.tests.1.max``)
are put back beside the textarea they came from, saying which line or test they mean.
"""

import json
from typing import Any

from flask_wtf import FlaskForm
from wtforms import SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from qa_app.domain.formula_schema import BUD_CATEGORY_NAMES, DOSAGE_FORMS, default_specification
from qa_app.errors import ServiceError
from qa_app.models import Material
from qa_app.web.forms import PlainDecimalField, PlainIntegerField, SignatureFields

SIGNATURE_ALIASES = {"signature.username": "sig_username", "signature.password": "sig_password"}
NUMBER_FIELDS = (
    "strength_min_mg",
    "strength_max_mg",
    "fill_weight_mg",
    "overage_percent",
    "weighing_tolerance_percent",
    "concentration_percent",
)
TEXT_FIELDS = ("description", "capsule_size", "container", "label_text")
BUD_HELP = (
    "Choose a USP category, or give days (1–180) with a literature reference of at least 20 characters."
)
COMPONENTS_HINT = (
    "One per line: the material code and its role (api, filler, vehicle or container), "
    "e.g. “NTX-HCL api”. Exactly one api."
)
SPECIFICATION_HINT = (
    'JSON: {"tests": [...]}, one test per line. Each test has key, kind (range, content_uniformity or '
    "attribute), unit, method and required; a range adds min, max and decimals; content uniformity may "
    "add target (T, default 100.0); an attribute adds expected. Leave empty for the LDN defaults of the "
    "dosage form (assay 90.0–110.0 % LC, USP <905> for capsules, appearance). Liquids also need range "
    "tests ph and fill_volume."
)


def _number(field) -> Any:
    return float(field.data) if field.data is not None else None


def _lines(text: str | None) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def parse_components(text: str | None) -> list[dict[str, str]]:
    """``MATERIAL-CODE role`` per line; ValueError naming every line that is not two words."""
    components, bad = [], []
    for number, line in enumerate(_lines(text), start=1):
        words = line.split()
        if len(words) != 2:
            bad.append(number)
            continue
        components.append({"material": words[0], "role": words[1].lower()})
    if bad:
        where = ", ".join(map(str, bad))
        raise ValueError(f"Line {where}: write the material code and its role, e.g. “NTX-HCL api”.")
    return components


def parse_specification(text: str | None) -> dict[str, Any] | None:
    """The specification typed as JSON, or None when left empty (the service's defaults apply)."""
    if not (text or "").strip():
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"Not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}.") from None
    if not isinstance(value, dict):
        raise ValueError('Write an object: {"tests": [...]}.')
    return value


def specification_text(specification: dict[str, Any]) -> str:
    """The specification as JSON with one test per line: easy to read and to edit."""
    tests = specification.get("tests", [])
    rows = ",\n".join("  " + json.dumps(test, ensure_ascii=False) for test in tests)
    return '{"tests": [\n' + rows + "\n]}"


def initial_data(body: dict[str, Any]) -> dict[str, Any]:
    """What the form shows for a version's body: a new version starts from the newest one."""
    data = {name: body.get(name) for name in ("code", "name", "dosage_form", "storage", *NUMBER_FIELDS)}
    data.update({name: body.get(name) or "" for name in TEXT_FIELDS})
    data["produces"] = body.get("produces") or ""
    bud = body.get("bud") or {}
    data.update(
        bud_category=bud.get("category", ""), bud_days=bud.get("days"), bud_reference=bud.get("reference", "")
    )
    data["steps"] = "\n".join(body.get("steps", []))
    data["equipment"] = "\n".join(body.get("equipment", []))
    data["components"] = "\n".join(f"{c['material']} {c['role']}" for c in body.get("components", []))
    data["specification"] = specification_text(body.get("specification") or default_specification("capsule"))
    return data


NEW_FORMULA = {
    "dosage_form": "capsule",
    "storage": "room",
    "overage_percent": 0.0,
    "weighing_tolerance_percent": 2.0,
    "specification": specification_text(default_specification("capsule")),
}


def produces_choices(materials: list[Material]) -> list[SelectChoice]:
    """The intermediate materials a trituration may make (created first, of kind intermediate)."""
    return [SelectChoice("", "— not a trituration —")] + [
        SelectChoice(m.code, f"{m.code} — {m.name}") for m in materials if m.kind == "intermediate"
    ]


def _other_default(dosage_form: str, text: str | None) -> bool:
    """The specification typed is another dosage form's default, left as the form was filled in
    (say, the capsule default when a trituration was chosen): the chosen form's default applies."""
    typed = (text or "").strip()
    return any(
        typed == specification_text(default_specification(other)).strip()
        for other in DOSAGE_FORMS
        if other != dosage_form
    )


class FormulaForm(FlaskForm):
    code = StringField(
        "Code",
        validators=[DataRequired("Give the formula's code, e.g. LDN-CAP."), Length(max=40)],
        render_kw={"autocomplete": "off", "autofocus": True},
    )
    name = StringField("Name", validators=[DataRequired("Give the formula's name."), Length(max=200)])
    description = TextAreaField("Description", validators=[Length(max=2000)], render_kw={"rows": 2})
    dosage_form = SelectField(
        "Dosage form", choices=[SelectChoice(f, f.replace("_", " ")) for f in DOSAGE_FORMS]
    )
    strength_min_mg = PlainDecimalField(
        "Lowest strength (mg per dose)",
        places=None,
        validators=[Optional()],
        render_kw={"inputmode": "decimal"},
    )
    strength_max_mg = PlainDecimalField(
        "Highest strength (mg per dose)",
        places=None,
        validators=[Optional()],
        render_kw={"inputmode": "decimal"},
    )
    fill_weight_mg = PlainDecimalField(
        "Calibrated fill weight per capsule (mg)",
        places=None,
        validators=[Optional()],
        render_kw={"inputmode": "decimal"},
    )
    capsule_size = StringField("Capsule size", validators=[Length(max=10)])
    concentration_percent = PlainDecimalField(
        "Concentration (% w/w)",
        places=None,
        validators=[Optional()],
        render_kw={"inputmode": "decimal"},
    )
    produces = SelectField(
        "Produces (intermediate material)",
        validators=[Optional(), Length(max=40)],
        validate_choice=False,  # the formula service names a material that is no intermediate
    )
    overage_percent = PlainDecimalField(
        "Overage (%)", places=None, validators=[Optional()], render_kw={"inputmode": "decimal"}
    )
    weighing_tolerance_percent = PlainDecimalField(
        "Weighing tolerance (± %)", places=None, validators=[Optional()], render_kw={"inputmode": "decimal"}
    )
    components = TextAreaField("Components", render_kw={"rows": 4})
    steps = TextAreaField("Steps (one per line)", render_kw={"rows": 6})
    equipment = TextAreaField("Equipment (one per line)", render_kw={"rows": 3})
    container = StringField("Container", validators=[Length(max=200)])
    label_text = TextAreaField("Label text", validators=[Length(max=2000)], render_kw={"rows": 2})
    storage = SelectField(
        "Storage",
        choices=[
            SelectChoice("room", "room (20–25 °C)"),
            SelectChoice("refrigerated", "refrigerated (2–8 °C)"),
        ],
    )
    bud_category = SelectField(
        "BUD: USP category",
        choices=[
            SelectChoice("", "— none: days and reference below —"),
            *[SelectChoice(c, c.replace("_", " ")) for c in BUD_CATEGORY_NAMES],
        ],
    )
    bud_days = PlainIntegerField("BUD: days", validators=[Optional()])
    bud_reference = StringField("BUD: literature reference for the days", validators=[Length(max=500)])
    specification = TextAreaField("Specification", render_kw={"rows": 12, "spellcheck": "false"})

    def validate_components(self, field) -> None:
        try:
            parse_components(field.data)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None

    def validate_specification(self, field) -> None:
        try:
            parse_specification(field.data)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None

    def validate_bud_category(self, field) -> None:
        if field.data and (self.bud_days.data is not None or (self.bud_reference.data or "").strip()):
            raise ValidationError("Choose a category, or give days with a reference; not both.")

    def bud(self) -> dict[str, Any] | None:
        if self.bud_category.data:
            return {"category": self.bud_category.data}
        reference = (self.bud_reference.data or "").strip()
        if self.bud_days.data is None and not reference:
            return None
        bud: dict[str, Any] = {"reference": reference}
        if self.bud_days.data is not None:
            bud["days"] = self.bud_days.data
        return bud

    def body(self, code: str | None = None) -> dict[str, Any]:
        """The Formula body as api.md has it; empty numbers are left out, so defaults apply."""
        body: dict[str, Any] = {
            "code": code if code is not None else (self.code.data or "").strip(),
            "name": (self.name.data or "").strip(),
            "dosage_form": self.dosage_form.data,
            "components": parse_components(self.components.data),
            "steps": _lines(self.steps.data),
            "equipment": _lines(self.equipment.data),
            "storage": self.storage.data,
        }
        body.update({name: (getattr(self, name).data or "").strip() for name in TEXT_FIELDS})
        body.update(
            {
                name: _number(getattr(self, name))
                for name in NUMBER_FIELDS
                if getattr(self, name).data is not None
            }
        )
        if (self.produces.data or "").strip():
            body["produces"] = self.produces.data.strip()
        bud = self.bud()
        if bud is not None:
            body["bud"] = bud
        specification = parse_specification(self.specification.data)
        if specification is not None and not _other_default(body["dosage_form"], self.specification.data):
            body["specification"] = specification
        return body


def _describe(name: str, message: str, body: dict[str, Any]) -> tuple[str, str]:
    """The form field a service error belongs beside, and its message saying which line or test."""
    parts = name.split(".")
    head = parts[0]
    if head in ("components", "steps", "equipment") and len(parts) > 1 and parts[1].isdigit():
        line = int(parts[1]) + 1
        detail = parts[2] if len(parts) > 2 and parts[2] != "material" else None
        return head, f"Line {line}{', ' + detail if detail else ''}: {message}"
    if head == "specification":
        if len(parts) > 3 and parts[2].isdigit():
            index = int(parts[2])
            tests = (body.get("specification") or {}).get("tests") or []
            key = tests[index].get("key") if index < len(tests) and isinstance(tests[index], dict) else None
            where = f"Test {index + 1}" + (f" ({key})" if key else "")
            detail = ".".join(parts[3:])
            return "specification", f"{where}{', ' + detail if detail else ''}: {message}"
        if len(parts) > 2 and parts[2].isdigit():
            return "specification", f"Test {int(parts[2]) + 1}: {message}"
        return "specification", message
    if head == "bud":
        if name in ("bud.days", "bud.reference"):
            return f"bud_{parts[1]}", message
        if name == "bud.category":
            return "bud_category", message
        return "bud_category", BUD_HELP
    return head, message


def formula_errors(exc: ServiceError, body: dict[str, Any]) -> tuple[ServiceError, dict[str, str]]:
    """``exc`` with each message made specific, and the alias of each field name to its form field.

    For ``apply_field_errors``: ``components.2.material`` goes beside the components textarea as
    "Line 3: No material with code XYZ.", ``specification.tests.1.max`` beside the specification.
    """
    fields, aliases = {}, {}
    for name, message in exc.fields.items():
        target, text = _describe(name, message, body)
        fields[name], aliases[name] = text, target
    return type(exc)(exc.message, fields), aliases


class ApproveFormulaForm(SignatureFields, FlaskForm):
    pass
