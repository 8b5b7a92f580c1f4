"""SQLAlchemy models, one module per aggregate."""

from qa_app.models.audit import GENESIS_HASH, AuditChainHead, AuditEvent, Signature
from qa_app.models.user import ROLES, ApiToken, User, UserRole

__all__ = [
    "GENESIS_HASH",
    "ROLES",
    "ApiToken",
    "AuditChainHead",
    "AuditEvent",
    "Signature",
    "User",
    "UserRole",
]
