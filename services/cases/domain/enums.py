"""The closed vocabularies of the cases domain: the terms come from shared.vocabulary.cases (one definition
for the domain, the wire contracts and the GraphQL enums); the permission keys are the domain's own."""

from __future__ import annotations

from enum import StrEnum

from shared.vocabulary.cases import (
    OPEN_STATUSES,
    AssigneeKind,
    CaseChannel,
    CaseStatus,
    HandlingLevel,
    RequestKind,
)

__all__ = ["OPEN_STATUSES", "AssigneeKind", "CaseChannel", "CaseStatus", "HandlingLevel", "RequestKind", "Action"]


class Action(StrEnum):
    """What a principal does to a case; the keys of the permission table."""

    VIEW = "view"
    REPORT = "report"
    ACCEPT = "accept"
    ASSIGN = "assign"
    START = "start"
    RESOLVE = "resolve"
    ESCALATE = "escalate"
    REJECT = "reject"
    RETURN = "return"
    RATE = "rate"
    CLOSE = "close"
    MERGE = "merge"
    REVEAL_CONTACT = "reveal_contact"
    # follow-up
    VERIFY = "verify"
    RETURN_VISIT = "return_visit"
    CORRECT = "correct"
    COMMENT = "comment"
    # departments: dispatch to the directory, replies, requests and their decision, 督办
    DISPATCH = "dispatch"
    REPLY = "reply"
    REQUEST = "request"
    DECIDE = "decide"
    RESUME = "resume"
    URGE = "urge"
