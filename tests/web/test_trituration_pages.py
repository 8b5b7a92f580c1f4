"""Triturations through the pages: the formula form, a 10 g trituration batch, the lot it makes,
where-used both ways, the approval refused while a result is missing, and the warning shown
before weighing an API amount no usable balance can weigh (domain.md §2.1)."""

import html
import re

import pytest

from qa_app.extensions import db
from qa_app.services import balances, batches, clock, materials
from tests.builders import setup_master_data, user
from tests.conftest import make_user
from tests.triturations import TRITURATED_CAPSULE, make_trituration_lot, setup_trituration_formulas
from tests.web.pages import _clean, field_error, input_value, messages, sign_in, text
from tests.web.test_formulas_pages import FORM, sign_in_as, specification_rows


@pytest.fixture
def lots(app, users) -> dict[str, str]:
    make_user(app, "rhea", ("reviewer",), "Rhea Reviewer, PharmD")
    with app.app_context():
        found = setup_master_data(clock.today())
        setup_trituration_formulas()
        return found


def in_app(app, action, *args, **kwargs):
    with app.app_context():
        value = action(*args, **kwargs)
        db.session.commit()
        return value


def row(page: str, heading: str) -> str | None:
    """The text beside ``heading`` in the page's tables (<th>heading</th><td>…</td>)."""
    match = re.search(rf"<th[^>]*>{re.escape(heading)}</th>\s*<td[^>]*>(.*?)</td>", page, re.S)
    return _clean(match.group(1)) if match else None


def section(page: str, section_id: str) -> str:
    match = re.search(rf'<section[^>]*id="{section_id}"[^>]*>(.*?)</section>', page, re.S)
    assert match, f"the page has no section {section_id}"
    return match.group(1)


def table_rows(fragment: str) -> list[list[str]]:
    body = fragment.split("<tbody>")[1].split("</tbody>")[0]
    return [
        [_clean(cell) for cell in re.findall(r"<td>(.*?)</td>", tr, re.S)]
        for tr in re.findall(r"<tr>(.*?)</tr>", body, re.S)
    ]


TRITURATION_FORM = FORM | {
    "code": "ldn-trit5",
    "name": "Naltrexone HCl 5 % w/w trituration",
    "description": "",
    "dosage_form": "trituration",
    "strength_min_mg": "",
    "strength_max_mg": "",
    "fill_weight_mg": "",
    "capsule_size": "",
    "concentration_percent": "5",
    "produces": "NTX-TRIT5",
    "components": "NTX-HCL api\nMCC filler",
    "steps": "Weigh\nMix by geometric dilution",
    "equipment": "Semi-micro balance",
    "container": "",
    "label_text": "",
}


# --- the formula and material forms -----------------------------------------------------------


def test_the_formula_form_creates_a_trituration_formula(client, lots):
    sign_in(client, "ada")
    created = client.post(
        "/lots/materials/new",
        data={"code": "NTX-TRIT5", "name": "Naltrexone HCl 5 % trituration", "kind": "intermediate"},
    )
    assert created.status_code == 302
    form = text(client.get("/formulas/new"))
    assert '<option value="trituration">trituration</option>' in form
    assert '<option value="NTX-TRIT5">NTX-TRIT5 — Naltrexone HCl 5 % trituration</option>' in form
    # the specification is left as the form filled it in (the capsule defaults): a trituration's own applies
    specification = re.search(
        r'<textarea[^>]*id="specification"[^>]*>\r?\n?(.*?)</textarea>', form, re.S
    ).group(1)
    response = client.post(
        "/formulas/new", data=TRITURATION_FORM | {"specification": html.unescape(specification)}
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/formulas/LDN-TRIT5?version=1"
    page = text(client.get(response.headers["Location"]))
    assert row(page, "Dosage form") == "trituration"
    assert row(page, "Concentration") == "5 % w/w (as naltrexone HCl)"
    assert row(page, "Produces").startswith("NTX-TRIT5 (an intermediate material")
    assert row(page, "Strength range") is None
    assert row(page, "BUD rule") == "USP category: nonaqueous other"
    assert specification_rows(page) == [
        ["appearance", "attribute", "Visual", "", "Uniform white to off-white powder", "yes"]
    ]

    sign_in_as(client, "rob")
    page = text(client.get("/formulas/LDN-TRIT5"))
    assert (
        "LDN-TRIT5 version 1 (Naltrexone HCl 5 % w/w trituration): trituration, 5 % w/w making NTX-TRIT5,"
        in page
    )


def test_a_trituration_formula_without_concentration_or_intermediate_is_refused_beside_the_fields(
    client, lots
):
    sign_in(client, "ada")
    response = client.post(
        "/formulas/new",
        data=TRITURATION_FORM | {"concentration_percent": "", "produces": "", "strength_min_mg": "0.5"},
    )
    assert response.status_code == 400
    page = text(response)
    assert field_error(page, "concentration_percent") == (
        "Required: the concentration in % w/w as naltrexone HCl, e.g. 10."
    )
    assert field_error(page, "produces") == "Required: the intermediate material its batches make."
    assert (
        field_error(page, "strength_min_mg")
        == "A trituration has no dose, fill weight or capsule size; leave it out."
    )
    response = client.post("/formulas/new", data=TRITURATION_FORM | {"produces": "NTX-TRIT10"})
    assert field_error(text(response), "produces") == (
        "NTX-TRIT10 is made by formula LDN-TRIT10 already; one formula makes each intermediate."
    )


def test_the_receive_form_refuses_an_intermediate(app, client, lots):
    with app.app_context():
        today = clock.today()
    sign_in(client, "tina")
    response = client.post(
        "/lots/new",
        data={
            "material": "NTX-TRIT10",
            "supplier": "Someone",
            "lot_number": "X1",
            "expiry_date": "2028-01-01",
            "received_date": today.isoformat(),
        },
    )
    assert response.status_code == 400
    assert field_error(text(response), "material") == (
        "NTX-TRIT10 is an intermediate: its lots are made by completing a trituration batch, not received."
    )


# --- the trituration batch --------------------------------------------------------------------


def test_the_new_batch_form_makes_a_ten_gram_trituration(client, lots):
    sign_in(client, "tina")
    refused = client.post(
        "/batches/new", data={"formula": "LDN-TRIT10", "quantity": "10000", "strength_mg": "1.5"}
    )
    assert refused.status_code == 400
    assert field_error(text(refused), "strength_mg") == (
        "Leave out the strength: a trituration is made to its concentration."
    )
    response = client.post("/batches/new", data={"formula": "LDN-TRIT10", "quantity": "10000"})
    assert response.status_code == 302
    page = text(client.get(response.headers["Location"]))
    lot_number = response.headers["Location"].rsplit("/", 1)[1]
    assert f"Batch {lot_number} opened. Weigh 1010.1 mg of API." in messages(page)
    assert row(page, "Dosage form") == "trituration"
    assert row(page, "Concentration") == "10 % w/w (as naltrexone HCl)"
    assert row(page, "Total mass") == "10000 mg"
    assert row(page, "Strength") is None
    assert row(page, "API to weigh") == "1010.10 mg"
    assert row(page, "Filler to weigh") == "8989.90 mg"
    assert row(page, "Makes") == "a lot of NTX-TRIT10, in quarantine, when the batch is completed"
    assert 'id="small-quantity"' not in page  # 1010.10 mg is well above XS205's 8.2 mg


def test_the_batch_page_shows_the_lot_it_made(app, client, lots):
    lot_number, barcode = in_app(app, make_trituration_lot, lots, "rhea", approve=False)
    sign_in(client, "tina")
    page = text(client.get(f"/batches/{lot_number}"))
    assert row(page, "Makes") == (
        f"lot {barcode} of NTX-TRIT10, in quarantine — approve it on the lot page once the results are in; "
        "the batch is released with it"
    )
    assert f'<a href="/lots/{barcode}">{barcode}</a>' in page
    assert row(page, "Actual yield").startswith("9950 mg = 99.5 % of theoretical")


def test_the_approval_of_an_intermediate_lot_waits_for_its_batchs_results(app, client, lots):
    with app.app_context():
        tina = user("tina")
        batch = batches.create_batch(tina, formula="LDN-TRIT10", quantity_mg=10000, api_lot=lots["api"])
        lot_number = batch.lot_number
        batches.record_component(tina, lot_number, barcode=lots["api"], quantity_mg=1010.1, balance="XS205")
        batches.record_component(tina, lot_number, barcode=lots["mcc"], quantity_mg=8989.9, balance="XS205")
        from tests.builders import signature

        batches.verify_weighing(user("rob"), lot_number, signature("rob", "verified"))
        barcode = batches.complete(
            tina, lot_number, actual_yield=9950, storage_unit="SHELF-1"
        ).produced_lot.barcode
    sign_in(client, "rhea")
    page = text(client.get(f"/lots/{barcode}"))
    shown = [m for m in messages(page) if m.startswith(f"Lot {barcode} cannot be approved")]
    assert len(shown) == 1
    assert f"its trituration batch {lot_number} is not ready" in shown[0]
    assert "Missing or not passing: Appearance" in shown[0]
    assert f'action="/lots/{barcode}/approve"' not in page  # nothing to sign that would be refused
    # signed anyway (a form kept open from before): the same reason, once
    response = client.post(
        f"/lots/{barcode}/approve", data={"approve-sig_username": "rhea", "approve-sig_password": "x" * 12}
    )
    assert response.status_code == 409
    refused = [m for m in messages(text(response)) if "cannot be approved" in m]
    assert len(refused) == 1 and "Missing or not passing: Appearance" in refused[0]
    with app.app_context():
        assert materials.get_lot(barcode).status == "quarantine"


# --- the lot pages: made in, chain, where used ------------------------------------------------


def test_the_lot_pages_show_where_used_both_ways(app, client, lots):
    trit_batch, trit_lot = in_app(app, make_trituration_lot, lots, "rhea")
    with app.app_context():
        tina = user("tina")
        capsules = batches.create_batch(tina, formula=TRITURATED_CAPSULE, strength_mg=0.5, quantity=100)
        capsule_batch = capsules.lot_number
        batches.record_component(tina, capsule_batch, barcode=trit_lot, quantity_mg=500.2, balance="XS205")
    sign_in(client, "rob")

    api_page = text(client.get(f"/lots/{lots['api']}"))
    assert table_rows(section(api_page, "where-used")) == [
        [trit_batch, "trituration", "Released", "directly"],
        [capsule_batch, "capsule", "Draft", f"lot {trit_lot}"],
    ]
    assert f'<a href="/lots/{trit_lot}">{trit_lot}</a>' in section(api_page, "where-used")
    assert f'<a href="/batches/{capsule_batch}">{capsule_batch}</a>' in section(api_page, "where-used")

    page = text(client.get(f"/lots/{trit_lot}"))
    assert row(page, "Made in").startswith(f"Made in batch {trit_batch} (released)")
    assert f'<a href="/batches/{trit_batch}">{trit_batch}</a>' in page
    assert row(page, "Supplier") == "Compounded in house"
    chain = [_clean(li) for li in re.findall(r"<li>(.*?)</li>", section(page, "chain"), re.S)]
    assert chain == [
        f"NTX-TRIT10 lot {trit_lot} (10 % w/w, made in batch {trit_batch}), approved · batch {trit_batch} (released)",
        f"NTX-HCL lot {lots['api']} (Medisca, supplier lot N1), approved",
    ]
    assert (
        f'<a href="/lots/{lots["api"]}">NTX-HCL lot {lots["api"]} (Medisca, supplier lot N1)</a>'
        in section(page, "chain")
    )
    assert table_rows(section(page, "where-used")) == [[capsule_batch, "capsule", "Draft", "directly"]]
    assert table_rows(section(page, "made-from")) == [
        [trit_batch, "NTX-HCL", "api", lots["api"], "Medisca (N1)", "1010.1 mg"],
        [trit_batch, "MCC", "filler", lots["mcc"], "Medisca (M1)", "8989.9 mg"],
    ]


def test_the_capsule_batch_shows_the_chain_behind_its_api(app, client, lots):
    trit_batch, trit_lot = in_app(app, make_trituration_lot, lots, "rhea")
    sign_in(client, "tina")
    response = client.post(
        "/batches/new", data={"formula": TRITURATED_CAPSULE, "strength_mg": "0.5", "quantity": "100"}
    )
    assert response.status_code == 302
    lot_number = response.headers["Location"].rsplit("/", 1)[1]
    page = text(client.get(response.headers["Location"]))
    assert f"Batch {lot_number} opened. Weigh 500.0 mg of API." in messages(page)
    assert row(page, "API to weigh") == "500.00 mg"
    chain = section(page, "chain")
    assert _clean(re.search(r"<p>(.*?)</p>", chain, re.S).group(1)) == (
        f"{lot_number} ← NTX-TRIT10 lot {trit_lot} (10 % w/w, made in batch {trit_batch}) "
        f"← NTX-HCL lot {lots['api']} (Medisca, supplier lot N1)"
    )
    assert f'<a href="/lots/{trit_lot}">{trit_lot}</a>' in chain
    assert f'<a href="/batches/{trit_batch}">{trit_batch}</a>' in chain
    assert f'<a href="/lots/{lots["api"]}">{lots["api"]}</a>' in chain
    assert 'id="small-quantity"' not in page  # 500.00 mg of the trituration is weighed on XS205


# --- the warning before weighing --------------------------------------------------------------


def only_a_100_mg_balance(app) -> None:
    """XS205 and UMX2 away for service; an analytical balance of 100.0 mg minimum, checked today."""
    with app.app_context():
        ada, tina = user("ada"), user("tina")
        balances.update_balance(ada, "UMX2", active=False, reason="sent for service")
        balances.update_balance(ada, "XS205", active=False, reason="sent for service")
        balances.create_balance(
            ada,
            code="AB204",
            name="Analytical balance",
            readability_mg=0.1,
            repeatability_sd_mg=0.05,
            capacity_g=220,
        )
        balances.record_check(tina, "AB204", nominal_mg=100000, observed_mg=100000.0)
        db.session.commit()


def test_a_half_milligram_batch_straight_from_the_api_warns_before_any_weighing(app, client, lots):
    only_a_100_mg_balance(app)
    sign_in(client, "tina")
    response = client.post(
        "/batches/new", data={"formula": "LDN-CAP", "strength_mg": "0.5", "quantity": "100"}
    )
    assert response.status_code == 302
    page = text(client.get(response.headers["Location"]))
    box = re.search(r'<div class="flash flash-error" id="small-quantity">(.*?)</div>', page, re.S).group(1)
    assert _clean(box) == (
        "Before weighing: The API amount, 50.51 mg, is below the minimum weight of every balance usable today "
        "(the smallest is AB204: 100.0 mg, USP <41>). Make it from a trituration instead: formula LDN-CAP-T. "
        "Start a batch of LDN-CAP-T instead (new batch), and discard this draft."
    )
    assert '<a href="/formulas/LDN-CAP-T">LDN-CAP-T</a>' in box
    assert page.index('id="small-quantity"') < page.index('id="component"')  # above the weighing form


def test_a_completed_batch_shows_no_warning(app, client, lots):
    """The warning is about a draft before weighing: a completed batch shows none."""
    lot_number, _ = in_app(app, make_trituration_lot, lots, "rhea")
    only_a_100_mg_balance(app)
    sign_in(client, "tina")
    assert 'id="small-quantity"' not in text(client.get(f"/batches/{lot_number}"))


def test_a_new_version_of_a_trituration_starts_from_its_concentration_and_intermediate(client, lots):
    sign_in(client, "ada")
    page = text(client.get("/formulas/LDN-TRIT10/versions/new"))
    assert input_value(page, "concentration_percent") == "10.0"
    assert '<option selected value="NTX-TRIT10">NTX-TRIT10 — Naltrexone HCl 10 % trituration</option>' in page
    response = client.post(
        "/formulas/LDN-TRIT10/versions/new",
        data=TRITURATION_FORM
        | {
            "code": "LDN-TRIT10",
            "produces": "NTX-TRIT10",
            "concentration_percent": "10",
            "specification": "",
        },
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/formulas/LDN-TRIT10?version=2"
