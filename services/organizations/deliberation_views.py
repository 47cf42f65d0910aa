"""What callers see of deliberation: proposals, public notices and rules as wire DTOs.

A proposer who is a person (a resident, a member) is shown by name to themself and to staff in
scope, masked (`张**`) to everyone else; a unit, hotspot or meeting is no person and is shown as
it is. An objection's author is shown to staff in scope and to the objector, never to other
residents; `ref` (a member, unit or meeting id) and the representatives' names are staff's.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from services.organizations import domain as d
from services.organizations.domain.deliberation import PERSONAL_SOURCES
from shared.auth import Principal, Role
from shared.privacy import mask_name

Place = Callable[[str], dict[str, Any]]  # a community's id -> what a record knows of it: id, name, level


def notice_view(p: Principal, n: d.PublicNotice, at: datetime, place: Place) -> dict[str, Any]:
    staff = d.staff_sees(p, n)
    resident = p.role is Role.RESIDENT
    return {
        "id": n.id,
        "proposalId": n.proposal_id,
        "communityId": n.community_id,
        "community": place(n.community_id),
        "kind": str(n.kind),
        "title": n.title,
        "text": n.text,
        "publishedAt": n.published_at,
        "endsAt": n.ends_at,
        "open": n.open_at(at),
        "objections": [
            {
                "id": o.id,
                "text": o.text,
                "at": o.at,
                "response": o.response or None,
                "respondedAt": o.responded_at,
                "mine": resident and o.sub == p.sub,
                "author": o.sub if staff or (resident and o.sub == p.sub) else None,
            }
            for o in n.objections
        ],
        "version": n.version,
    }


def proposal_view(
    p: Principal, x: d.Proposal, notices: dict[str, d.PublicNotice], supported: bool, at: datetime, place: Place
) -> dict[str, Any]:
    staff = d.staff_sees(p, x)
    mine = d.is_proposer(p, x)
    masked = x.source in PERSONAL_SOURCES and not (staff or mine)
    decision = x.decision
    return {
        "id": x.id,
        "communityId": x.community_id,
        "community": place(x.community_id),
        "title": x.title,
        "body": x.body,
        "source": str(x.source),
        "ref": x.ref if staff else None,
        "stage": str(x.stage),
        "supportCount": x.support_count,
        "proposer": mask_name(x.proposer_name) if masked else x.proposer_name,
        "proposerMasked": masked,
        "mine": mine,
        "supported": supported,
        "minutes": list(x.minutes),
        "decision": None
        if decision is None
        else {
            "roll": list(decision.roll) if staff else [],
            "rollCount": len(decision.roll),
            "attended": len(decision.attendees),
            "votesFor": decision.votes_for,
            "votesAgainst": decision.votes_against,
            "abstentions": decision.abstentions,
            "requiredAttendance": decision.required_attendance,
            "requiredFor": decision.required_for,
            "passed": decision.passed,
            "heldAt": decision.held_at,
        },
        "notices": [notice_view(p, notices[i], at, place) for i in x.notice_ids if i in notices],
        "caseIds": list(x.case_ids),
        "orderIds": list(x.order_ids),
        "projectIds": list(x.project_ids),
        "caseRequested": x.case_request is not None,
        "rejectedReason": x.rejected_reason or None,
        "history": [{"stage": str(h.stage), "at": h.at} for h in x.history],
        "submittedAt": x.submitted_at,
        "updatedAt": x.updated_at,
        "version": x.version,
    }


def rule_view(community_id: str, rule: d.DeliberationRule, floor_s: int, place: Place) -> dict[str, Any]:
    return {
        "communityId": community_id,
        "community": place(community_id),
        "attendanceNumerator": rule.attendance_num,
        "attendanceDenominator": rule.attendance_den,
        "majorityNumerator": rule.majority_num,
        "majorityDenominator": rule.majority_den,
        "noticePeriodSeconds": rule.min_notice_s(floor_s),
    }
