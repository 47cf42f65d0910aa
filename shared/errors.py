"""Typed errors shared by services and the gateway."""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class ErrorCode(StrEnum):
    BAD_INPUT = "BAD_INPUT"
    UNAUTHENTICATED = "UNAUTHENTICATED"
    NOT_FOUND = "NOT_FOUND"
    FORBIDDEN = "FORBIDDEN"
    CONFLICT = "CONFLICT"
    UNAVAILABLE = "UNAVAILABLE"
    INTERNAL = "INTERNAL"


class DomainError(Exception):
    """An expected failure: carries a code a caller can act on and a readable message."""

    code: ErrorCode = ErrorCode.INTERNAL

    def __init__(self, message: str, details: dict[str, Any] | None = None):
        super().__init__(message)
        self.message = message
        self.details = details or {}

    def to_dict(self) -> dict[str, Any]:
        return {"code": str(self.code), "message": self.message, "details": self.details}

    @staticmethod
    def from_dict(d: dict[str, Any]) -> DomainError:
        cls = _BY_CODE.get(d.get("code", ""), InternalError)
        return cls(d.get("message", "error"), d.get("details") or {})


class BadInput(DomainError):
    code = ErrorCode.BAD_INPUT


class Unauthenticated(DomainError):
    code = ErrorCode.UNAUTHENTICATED


class NotFound(DomainError):
    code = ErrorCode.NOT_FOUND


class Forbidden(DomainError):
    code = ErrorCode.FORBIDDEN


class Conflict(DomainError):
    code = ErrorCode.CONFLICT


class LostRace(Conflict):
    """Someone else saved the record between this command's read and its write (the optimistic
    version check of the save). A command may run again on the fresh record (`RecordCommands.
    change(retries=…)`); a caller's stale `expectedVersion` is a plain Conflict and is not retried.
    Callers see CONFLICT either way."""


class Unavailable(DomainError):
    code = ErrorCode.UNAVAILABLE


class InternalError(DomainError):
    code = ErrorCode.INTERNAL


_BY_CODE = {
    c.code.value: c for c in (BadInput, Unauthenticated, NotFound, Forbidden, Conflict, Unavailable, InternalError)
}
