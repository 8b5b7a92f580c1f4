"""The one family of errors that services raise; pages and the API render them in one place."""


class ServiceError(Exception):
    """A use case refused. ``status`` is the HTTP status the API answers with."""

    status = 400
    code = "error"

    def __init__(
        self, message: str, fields: dict[str, str] | None = None, rows: list[dict] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields or {}
        self.rows = rows or []

    def as_dict(self) -> dict:
        body: dict = {"code": self.code, "message": self.message}
        if self.fields:
            body["fields"] = self.fields
        if self.rows:
            body["rows"] = self.rows
        return body


class InvalidInput(ServiceError):
    """Malformed or invalid input; ``fields`` names each field and what to do about it."""

    status = 400
    code = "invalid_input"


class NotAuthenticated(ServiceError):
    """No valid credentials, or a wrong password at a signing."""

    status = 401
    code = "not_authenticated"


class NotPermitted(ServiceError):
    """The role, or segregation of duties, forbids this person this action."""

    status = 403
    code = "forbidden"


class NotFound(ServiceError):
    status = 404
    code = "not_found"


class WrongState(ServiceError):
    """Not allowed in the record's current state."""

    status = 409
    code = "wrong_state"


class Conflict(ServiceError):
    """A clash with stored data, or a concurrent change that won."""

    status = 409
    code = "conflict"
