"""SQLAlchemy models, one module per aggregate."""

from qa_app.models.alert import ALERT_STATUSES, Alert
from qa_app.models.audit import GENESIS_HASH, AuditChainHead, AuditEvent, Signature
from qa_app.models.balance import Balance, BalanceCheck
from qa_app.models.batch import BATCH_STATUSES, Batch, BatchComponent, BatchLocation, LotCounter, WeightCheck
from qa_app.models.certificate import BatchDecision, Certificate, CertificateCounter, CertificateExport
from qa_app.models.excursion import CLASSIFICATIONS, DECISIONS, Disposition, Excursion
from qa_app.models.formula import FORMULA_STATUSES, Formula, FormulaVersion
from qa_app.models.material import LOT_STATUSES, MATERIAL_KINDS, Material, MaterialLot
from qa_app.models.result import (
    INVESTIGATION_CAUSES,
    RESULT_SOURCES,
    Investigation,
    Result,
    ResultInvalidation,
)
from qa_app.models.storage import (
    CONDITIONS,
    READING_SOURCES,
    Reading,
    ReadingHour,
    ReadingUpload,
    StorageUnit,
)
from qa_app.models.trend import TREND_ATTRIBUTES, ProductReview, TrendSignal
from qa_app.models.user import ALERT_KINDS, ROLES, ApiToken, User, UserAlert, UserRole

__all__ = [
    "TREND_ATTRIBUTES",
    "ProductReview",
    "TrendSignal",
    "ALERT_KINDS",
    "ALERT_STATUSES",
    "Alert",
    "BATCH_STATUSES",
    "CLASSIFICATIONS",
    "CONDITIONS",
    "DECISIONS",
    "FORMULA_STATUSES",
    "GENESIS_HASH",
    "INVESTIGATION_CAUSES",
    "READING_SOURCES",
    "RESULT_SOURCES",
    "LOT_STATUSES",
    "MATERIAL_KINDS",
    "ROLES",
    "ApiToken",
    "AuditChainHead",
    "AuditEvent",
    "Balance",
    "BalanceCheck",
    "Batch",
    "BatchComponent",
    "BatchDecision",
    "BatchLocation",
    "Certificate",
    "CertificateCounter",
    "CertificateExport",
    "Disposition",
    "Excursion",
    "Formula",
    "FormulaVersion",
    "Investigation",
    "LotCounter",
    "Material",
    "MaterialLot",
    "Reading",
    "ReadingHour",
    "ReadingUpload",
    "Result",
    "ResultInvalidation",
    "Signature",
    "StorageUnit",
    "User",
    "UserAlert",
    "UserRole",
    "WeightCheck",
]
