"""Health, the OpenAPI document and token issue: the API's public doors."""

import sqlalchemy as sa
from flask import current_app, jsonify

from qa_app.api import bp
from qa_app.api.openapi import build_document
from qa_app.api.registry import PUBLIC, operation
from qa_app.api.schemas import ref
from qa_app.api.serialise import iso
from qa_app.extensions import db
from qa_app.services import tokens


@operation(
    bp,
    "/health",
    "GET",
    summary="Liveness and database check",
    roles=PUBLIC,
    tag="system",
    response=ref("Health"),
)
def health():
    """Answers ok when the app runs and the database answers a query."""
    try:
        db.session.execute(sa.text("SELECT 1"))
        database = "ok"
    except sa.exc.SQLAlchemyError:
        db.session.rollback()
        database = "unavailable"
    status = 200 if database == "ok" else 503
    return jsonify({"status": "ok" if status == 200 else "degraded", "database": database}), status


@operation(
    bp,
    "/openapi.json",
    "GET",
    summary="This OpenAPI document",
    roles=PUBLIC,
    tag="system",
    response={"type": "object"},
)
def openapi_document():
    """The OpenAPI 3.1 document, generated from the same definitions as the endpoints."""
    return jsonify(build_document(f"{current_app.config['QA_PHARMACY_NAME']} — LDN batch QA API"))


@operation(
    bp,
    "/tokens",
    "POST",
    summary="Issue a user token (8 hours)",
    roles=PUBLIC,
    tag="auth",
    body="TokenRequest",
    response=ref("Token"),
    status=201,
    errors=(401,),
)
def issue_token(body):
    """Trade a username and password for a bearer token. Failures count toward the lockout."""
    secret, expires_at = tokens.issue_user_token(body["username"], body["password"])
    return jsonify({"token": secret, "expires_at": iso(expires_at)}), 201
