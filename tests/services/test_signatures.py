"""Electronic signatures: both components at every signing, a fixed meaning, bound to content."""

import hashlib
import json

import pytest
import sqlalchemy as sa

from qa_app.errors import InvalidInput, NotAuthenticated
from qa_app.extensions import db
from qa_app.models import AuditEvent, Signature, User
from qa_app.services import signatures
from qa_app.services.signatures import SignatureInput
from tests.conftest import PASSWORD, make_user

CONTENT = {"lot_number": "LDN-261125-001", "status": "awaiting_release", "assay": 99.8}


def _user(username: str) -> User:
    return db.session.scalar(sa.select(User).where(User.username == username))


def _sign(actor: User, given: SignatureInput, key: str = "LDN-261125-001", content=CONTENT):
    return signatures.sign(
        actor, given, action="release_batch", entity_type="batch", entity_key=key, content=content
    )


@pytest.fixture
def rob(app):
    make_user(app, "rob", ["reviewer"], "Rob Reviewer, PharmD")
    make_user(app, "rita", ["reviewer"], "Rita Reviewer")
    return "rob"


def test_a_signature_records_the_signer_meaning_time_and_content_hash(app, rob):
    with app.app_context():
        signature = _sign(_user("rob"), SignatureInput("rob", PASSWORD, "released"))
        db.session.commit()
        expected = hashlib.sha256(
            json.dumps(
                {
                    "content": CONTENT,
                    "entity_key": "LDN-261125-001",
                    "entity_type": "batch",
                    "meaning": "released",
                },
                sort_keys=True,
                separators=(",", ":"),
            ).encode()
        ).hexdigest()
        assert (signature.signer_name, signature.meaning, signature.content_sha256) == (
            "Rob Reviewer, PharmD",
            "released",
            expected,
        )
        assert signature.signed_at.utcoffset().total_seconds() == 0
        event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "signature.signed"))
        assert event.new_values["content_sha256"] == expected
        assert event.entity_key == "LDN-261125-001"


def test_a_signature_cannot_be_copied_onto_other_content_or_another_record(app, rob):
    with app.app_context():
        signature = _sign(_user("rob"), SignatureInput("rob", PASSWORD, "released"))
        assert signatures.matches(signature, CONTENT)
        assert not signatures.matches(signature, {**CONTENT, "assay": 89.0})
        other = _sign(_user("rob"), SignatureInput("rob", PASSWORD, "released"), key="LDN-261125-002")
        assert other.content_sha256 != signature.content_sha256


def test_a_meaning_other_than_the_actions_is_refused(app, rob):
    with app.app_context():
        with pytest.raises(InvalidInput) as refused:
            _sign(_user("rob"), SignatureInput("rob", PASSWORD, "approved"))
        assert refused.value.fields == {"signature.meaning": "Use 'released' for this action."}
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Signature)) == 0


def test_a_wrong_password_is_refused_audited_and_counts_toward_the_lockout(app, rob):
    with app.app_context():
        with pytest.raises(NotAuthenticated) as refused:
            _sign(_user("rob"), SignatureInput("rob", "wrong-password-1", "released"))
        assert refused.value.status == 401
        assert "signature.password" in refused.value.fields
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Signature)) == 0
        failed = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "signature.failed"))
        assert failed.new_values == {"channel": "signature", "why": "wrong password", "failed_attempts": 1}
        for _ in range(4):
            with pytest.raises(NotAuthenticated):
                _sign(_user("rob"), SignatureInput("rob", "wrong-password-1", "released"))
        assert _user("rob").locked_until is not None


def test_nobody_signs_with_another_persons_username(app, rob):
    with app.app_context():
        with pytest.raises(NotAuthenticated) as refused:
            _sign(_user("rob"), SignatureInput("rita", PASSWORD, "released"))
        assert "your own username" in refused.value.message
        failed = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "signature.failed"))
        assert (failed.entity_key, failed.new_values["why"]) == ("rob", "signed with another username")
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Signature)) == 0


def test_a_failed_signing_discards_the_half_done_use_case(app, rob):
    with app.app_context():
        user = _user("rob")
        user.full_name = "Changed Before Signing"
        with pytest.raises(NotAuthenticated):
            _sign(user, SignatureInput("rob", "wrong-password-1", "released"))
        assert _user("rob").full_name == "Rob Reviewer, PharmD"


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        (None, {"signature"}),
        ({}, {"signature.username", "signature.password", "signature.meaning"}),
        ({"username": "rob", "password": "", "meaning": "released"}, {"signature.password"}),
        ({"username": 5, "password": "x", "meaning": "released"}, {"signature.username"}),
    ],
)
def test_an_incomplete_signature_names_what_is_missing(body, fields):
    with pytest.raises(InvalidInput) as refused:
        SignatureInput.from_json(body)
    assert set(refused.value.fields) == fields
