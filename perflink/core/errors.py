"""Error codes shared by the API, the CLI and the web pages. Codes are stable; messages may change."""

from __future__ import annotations

from typing import Any


class TenantScopeError(RuntimeError):
    """A tenant-owned table was touched without a tenant in context: a programming error."""


class DomainError(Exception):
    """A rule of the domain refused the request; `code` is stable and machine-readable."""

    status = 400
    code = "invalid"

    def __init__(
        self, message: str, *, field: str | None = None, code: str | None = None, **extra: Any
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        if code:
            self.code = code
        self.extra = extra

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": str(self.message), "field": self.field}
        body.update(self.extra)
        return body


class ValidationFailed(DomainError):
    status = 422
    code = "validation_error"


class NotFound(DomainError):
    status = 404
    code = "not_found"


class PermissionDeniedError(DomainError):
    status = 403
    code = "permission_denied"


class Conflict(DomainError):
    status = 409
    code = "conflict"
