"""The scanner flow on the batch page: the answer to a scan, the target beside the weight field,
and capsule weights pasted one per line."""

import re
from decimal import Decimal

import pytest

from qa_app.domain.compounding import weighing_deviation
from qa_app.services import batches, clock
from tests.builders import setup_master_data, user
from tests.web.pages import field_error, sign_in, text
from tests.web.test_batch_pages import words

TARGET = "target 151.52 mg, 148.48–154.55 mg (±2.0 %)"


@pytest.fixture
def lots(app, users) -> dict[str, str]:
    with app.app_context():
        return setup_master_data(clock.today())


@pytest.fixture
def draft(app, lots) -> str:
    with app.app_context():
        return batches.create_batch(user("tina"), formula="LDN-CAP", strength_mg=1.5, quantity=100).lot_number


@pytest.fixture
def tina(client, users):
    sign_in(client, "tina")
    return client


def weight_target(page: str) -> str | None:
    """The text beside the weight field ("" when empty, None when the page has none)."""
    match = re.search(r'<small id="weight-target"[^>]*>(.*?)</small>', page, re.S)
    return words(match.group(1)) if match else None


def scanned(client, draft: str, barcode: str) -> str:
    response = client.get("/lots/check", query_string={"batch": draft, "barcode": barcode})
    assert response.status_code == 200
    return text(response)


def test_a_good_api_scan_puts_the_target_and_the_accepted_range_beside_the_weight(tina, lots, draft):
    answer = scanned(tina, draft, lots["api"])
    assert "Usable: approved and in date." in words(answer)
    assert weight_target(answer) == TARGET
    assert 'hx-swap-oob="true"' in answer
    # the field the target is swapped into is beside the weight field
    page = text(tina.get(f"/batches/{draft}"))
    assert weight_target(page) == ""
    assert page.index('id="quantity_mg"') < page.index('id="weight-target"') < page.index('id="count"')


def test_the_range_is_what_the_weighing_check_accepts(app, lots, draft):
    with app.app_context():
        target = batches.weighing_target(draft, lots["api"])
        raw = batches.get_batch(draft).calculation["api_mg_raw"]
        for weight, within in (
            (target.low_mg, True),
            (target.low_mg - Decimal("0.01"), False),
            (target.high_mg, True),
            (target.high_mg + Decimal("0.01"), False),
        ):
            assert weighing_deviation(float(weight), raw, 2.0).within is within, weight


def test_another_api_lot_shows_its_recalculated_target(tina, lots, draft):
    assert weight_target(scanned(tina, draft, lots["api2"])) == (
        "target 153.06 mg, 150.00–156.13 mg (±2.0 %); recalculated for this lot's assay"
    )


@pytest.mark.parametrize("scan", ["syrup", "mcc", "unknown"])
def test_a_refused_or_other_scan_empties_the_target(tina, lots, draft, scan):
    barcode = lots.get(scan, "LOT999999")
    assert weight_target(scanned(tina, draft, barcode)) == ""


def test_a_scan_outside_a_batch_page_sends_no_target(tina, lots):
    response = tina.get("/lots/check", query_string={"barcode": lots["api"]})
    assert weight_target(text(response)) is None


def test_a_refused_weighing_comes_back_with_the_target(tina, lots, draft):
    response = tina.post(
        f"/batches/{draft}/components",
        data={"barcode": lots["api"], "quantity_mg": "160", "balance": "XS205"},
    )
    assert response.status_code == 400
    page = text(response)
    assert field_error(page, "deviation_reason")
    assert weight_target(page) == TARGET


# --- capsule weights, one per line ------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "error"),
    [
        ("225\n224\n225,1\n" + "225\n" * 8, 'Line 3: "225,1" is not one number; use a point for decimals.'),
        ("225\n224 226\n" + "225\n" * 9, 'Line 2: "224 226" is not one number; give one number per line.'),
        ("225\t226\n" + "225\n" * 10, 'Line 1: "225\t226" is not one number; give one number per line.'),
        ("225\n\n225;226\n" + "225\n" * 9, 'Line 3: "225;226" is not one number; give one number per line.'),
        ("225\n" * 4 + "abc\n" + "225\n" * 6, 'Line 5: "abc" is not a number.'),
    ],
)
def test_a_line_that_is_not_one_number_is_named_and_nothing_is_recorded(tina, lots, draft, typed, error):
    response = tina.post(f"/batches/{draft}/weight-check", data={"weights": typed})
    assert response.status_code == 400
    page = text(response)
    assert words(field_error(page, "weights")) == words(error)
    assert "225,1" not in typed or "225,1" in page  # what was typed stays in the field
    with tina.application.app_context():
        assert batches.get_batch(draft).weight_checks == []


def test_blank_lines_and_a_windows_column_are_read_line_by_line(tina, lots, draft):
    column = "\r\n".join(["224", "", "226"] * 5) + "\r\n\r\n"
    response = tina.post(f"/batches/{draft}/weight-check", data={"weights": column})
    assert response.status_code == 302
    with tina.application.app_context():
        [check] = batches.get_batch(draft).weight_checks
        assert check.weights_mg == [224.0, 226.0] * 5


def test_too_few_lines_say_how_many_were_given_and_needed(tina, lots, draft):
    response = tina.post(f"/batches/{draft}/weight-check", data={"weights": "225\n" * 9})
    assert field_error(text(response), "weights") == "weigh at least 10 capsules individually; got 9"
