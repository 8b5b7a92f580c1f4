"""Service errors and HTTP errors, rendered in one place: JSON for the API, pages otherwise."""

from flask import Flask, jsonify, render_template, request
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from qa_app.errors import Conflict, ServiceError
from qa_app.extensions import db

HTTP_CODES = {
    400: "invalid_input",
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    429: "rate_limited",
}


def _wants_json() -> bool:
    return request.path.startswith("/api/")


def init_app(app: Flask) -> None:
    @app.errorhandler(ServiceError)
    def service_error(exc: ServiceError):
        db.session.rollback()
        if _wants_json():
            response = jsonify({"error": exc.as_dict()})
            if exc.status == 401:
                response.headers["WWW-Authenticate"] = 'Bearer realm="api"'
            return response, exc.status
        return render_template("errors/error.html", status=exc.status, message=exc.message), exc.status

    @app.errorhandler(StaleDataError)
    @app.errorhandler(IntegrityError)
    def concurrent_change(exc: Exception):
        """Two requests changed the same record at once: the later one is told, nothing half-written."""
        db.session.rollback()
        return service_error(
            Conflict("Someone else changed this record at the same moment; reload it and try again.")
        )

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        db.session.rollback()
        status = exc.code or 500
        message = exc.description or exc.name
        if isinstance(exc, RequestEntityTooLarge):
            message = "The request body is larger than 32 MiB; send it in smaller parts."
        if _wants_json():
            code = HTTP_CODES.get(status, "error")
            response = jsonify({"error": {"code": code, "message": message}})
            for name, value in exc.get_headers():
                if name.lower() != "content-type":
                    response.headers[name] = value  # e.g. Allow on a 405
            return response, status
        if status == 400 and "CSRF" in (exc.description or ""):
            message = "The form expired or was sent from another page. Reload the page and submit again."
        headers = [(name, value) for name, value in exc.get_headers() if name.lower() == "retry-after"]
        return render_template("errors/error.html", status=status, message=message), status, headers

    @app.errorhandler(Exception)
    def unexpected_error(exc: Exception):
        app.logger.exception("unhandled error")
        db.session.rollback()
        message = (
            "Something went wrong on the server; nothing was saved. Try again or tell the administrator."
        )
        if _wants_json():
            return jsonify({"error": {"code": "server_error", "message": message}}), 500
        return render_template("errors/error.html", status=500, message=message), 500
