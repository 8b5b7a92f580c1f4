"""Electronic signatures (21 CFR Part 11): one service for every signing in the product."""

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from qa_app.errors import InvalidInput
from qa_app.extensions import db
from qa_app.models import Signature, User
from qa_app.services import accounts, audit

# The meaning of each signed action is fixed (api.md); a body naming another one is refused.
MEANINGS: dict[str, str] = {
    "approve_lot": "approved",
    "approve_formula": "approved",
    "reject_lot": "rejected",
    "verify_weighing": "verified",
    "close_investigation": "reviewed",
    "record_disposition": "reviewed",
    "release_batch": "released",
    "reject_batch": "rejected",
    "recall_batch": "recalled",
    "recall_lot": "recalled",
    "review_product": "reviewed",
}

# The one signing a colleague may do at the signed-in person's workstation (api.md): the
# second-person verification of a weighing, which happens at the compounder's balance.
AT_WORKSTATION = frozenset({"verify_weighing"})


@dataclass(frozen=True)
class SignatureInput:
    """What the signer typed: both components again, and the meaning they sign with."""

    username: str
    password: str
    meaning: str

    @classmethod
    def from_json(cls, body: Any) -> "SignatureInput":
        """Read ``{"username", "password", "meaning"}``, naming each missing field."""
        if not isinstance(body, dict):
            raise InvalidInput(
                "A signature is required: give username, password and meaning.",
                {"signature": "Give an object with username, password and meaning."},
            )
        fields = {
            f"signature.{name}": "Required."
            for name in ("username", "password", "meaning")
            if not isinstance(body.get(name), str) or not body.get(name)
        }
        if fields:
            raise InvalidInput("The signature is incomplete.", fields)
        return cls(body["username"], body["password"], body["meaning"])


def content_sha256(entity_type: str, entity_key: str, meaning: str, content: dict[str, Any]) -> str:
    """The hash that binds a signature to one record's exact content and the meaning signed."""
    canonical = audit.canonical_json(
        {"entity_type": entity_type, "entity_key": entity_key, "meaning": meaning, "content": content}
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def sign(
    actor: User,
    given: SignatureInput,
    *,
    action: str,
    entity_type: str,
    entity_key: str,
    content: dict[str, Any],
    check_signer: Callable[[User], None] | None = None,
) -> Signature:
    """Check both components again and record the signature in the caller's transaction.

    Call it before changing anything: a wrong password rolls the session back, writes the
    failed signing to the audit trail, counts toward the lockout and raises 401. The username
    must be the signed-in user's: nobody signs for somebody else. The one exception is an
    action of AT_WORKSTATION given ``check_signer``: there the username names the colleague
    who signs at ``actor``'s workstation; both components are checked for that colleague (a
    failure counts toward the colleague's lockout), ``check_signer`` then refuses a signer the
    action does not allow (role, segregation of duties), and the signature's audit event
    carries the signed-in person as ``signed_at_workstation_of``.
    """
    expected = MEANINGS[action]
    if given.meaning != expected:
        raise InvalidInput(
            f"This action is signed with the meaning '{expected}'.",
            {"signature.meaning": f"Use '{expected}' for this action."},
        )
    at_workstation = check_signer is not None and action in AT_WORKSTATION
    typed = given.username.strip().lower()
    if typed != actor.username and not at_workstation:
        accounts.refuse(
            actor.username,
            "signature",
            why="signed with another username",
            message="The signature was refused: sign with your own username.",
        )
    signer = accounts.check_password(typed if at_workstation else actor.username, given.password, "signature")
    if check_signer is not None:
        check_signer(signer)
    signature = Signature(
        user_id=signer.id,
        signer_name=signer.full_name,
        meaning=expected,
        entity_type=entity_type,
        entity_key=str(entity_key),
        content_sha256=content_sha256(entity_type, str(entity_key), expected, content),
    )
    db.session.add(signature)
    db.session.flush()
    new = {
        "signature_id": signature.id,
        "meaning": expected,
        "signer_name": signer.full_name,
        "content_sha256": signature.content_sha256,
    }
    if at_workstation:
        new["signed_at_workstation_of"] = actor.username
    audit.record("signature.signed", entity_type, entity_key, actor=signer, new=new)
    return signature


def matches(signature: Signature, content: dict[str, Any]) -> bool:
    """Whether ``signature`` was made over exactly this record content."""
    return signature.content_sha256 == content_sha256(
        signature.entity_type, signature.entity_key, signature.meaning, content
    )


def signatures_for(entity_type: str, entity_key: str) -> list[Signature]:
    stmt = (
        sa.select(Signature)
        .where(Signature.entity_type == entity_type, Signature.entity_key == str(entity_key))
        .order_by(Signature.signed_at, Signature.id)
    )
    return list(db.session.scalars(stmt))
