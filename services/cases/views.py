"""What callers see of a case (the wire DTO, with personal data masked per API.md), and the
envelopes its events leave the service in."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import Field

from services.cases import domain as d
from services.cases.projection import event_delta
from shared.auth import STAFF_ROLES, Principal, Role
from shared.contracts.attachments import attachment_dto
from shared.messaging.envelope import CloudEvent, make_event
from shared.mongo import now
from shared.privacy import FieldCipher, mask_name, mask_phone

SERVICE = "cases"


class CaseCorrectedOnTheWire(d.CaseCorrected):
    """A correction of the case's category, location or grid after intake (audited: codes and
    region ids only). `from_region_path` is where its figures were counted before."""

    delta_from: dict[str, int] = Field(
        default_factory=dict,
        description="When the correction moved the case to another grid: the change of the region counters "
        "on its old path (`delta` is then the change on the new one)",
    )


def wire_event_models() -> dict[str, type[d.CaseEvent]]:
    """The case events as `case_envelopes` puts them on the bus, for the AsyncAPI document."""
    return {**d.EVENT_TYPES, d.CaseCorrected.type: CaseCorrectedOnTheWire}


def case_envelopes(case: d.Case, counters_before: dict[str, int] | None) -> list[CloudEvent]:
    """Drain the case's pending domain events as the envelopes the service publishes; the first
    carries the rollup delta from `counters_before` (None: a new case) to the case's counters now.
    What a write records in its outbox, and what the importer folds into the rollups."""
    out = []
    for i, e in enumerate(case.drain_events()):
        data = e.to_wire() | {"delta": event_delta(counters_before, e.counters) if i == 0 else {}}
        if i == 0 and isinstance(e, d.CaseCorrected) and tuple(e.from_region_path) != tuple(e.region_path):
            # moved to another grid: the old path loses all the case counted there, the new gains all
            data["delta"] = event_delta(None, e.counters)
            data["delta_from"] = event_delta(counters_before, {})
        data.pop("counters", None)
        # departments: those on the case then (and any it released just now) get a copy on their subject
        if keys := [h.key for h in case.handlers if h.active or h.released_at == e.at]:
            data["deptKeys"] = list(dict.fromkeys(keys))
        out.append(
            make_event(
                SERVICE,
                e.type,
                case.id,
                data,
                path=list(case.region_path),
                actor=e.actor,
                version=case.version,
                at=e.at,
                id=e.event_id,
            )
        )
    return out


class CaseViews:
    def __init__(
        self, cipher: FieldCipher, category_name: Callable[[str], str] = str, region_name: Callable[[str], str] = str
    ):
        self.cipher, self.category_name, self.region_name = cipher, category_name, region_name

    def reporter(self, p: Principal, case: d.Case, r: d.Reporter, index: int) -> dict[str, Any]:
        plain = d.may_see_contact(p, case, r)
        phone = self.cipher.decrypt(r.phone_enc)
        return {
            "index": index,
            "sub": r.sub if plain or p.role in STAFF_ROLES else None,
            "name": r.name if plain or p.role in STAFF_ROLES else mask_name(r.name),
            "phone": phone if plain else mask_phone(phone),
            "rating": r.rating,
            "ratedAt": r.rated_at,
            "comment": r.comment,
        }

    def case(self, p: Principal, case: d.Case, doc: dict | None = None) -> dict[str, Any]:
        reporters = [self.reporter(p, case, r, i) for i, r in enumerate(case.reporters)]
        return {
            "id": case.id,
            "title": case.title,
            "description": case.description,
            "categoryCode": case.category_code,
            "categoryName": self.category_name(case.category_code),
            "regionName": self.region_name(case.region_id),
            "kind": str(case.kind),
            "channel": str(case.channel),
            "status": str(case.status),
            "level": str(case.level),
            "regionId": case.region_id,
            "regionPath": list(case.region_path),
            "buildingId": case.building_id,  # building
            "buildingName": self.region_name(case.building_id) if case.building_id else None,
            "location": case.location.model_dump() if case.location else None,
            "reporter": reporters[0],
            "reporters": reporters,
            "assignee": case.assignee.model_dump(mode="json") if case.assignee else None,
            "createdAt": case.created_at,
            "updatedAt": case.updated_at,
            "acceptedAt": case.accepted_at,
            "dueAt": case.due_at,
            "overdue": case.is_overdue(now()),
            "resolvedAt": case.resolved_at,
            "resolvedAtLevel": str(case.resolved_at_level) if case.resolved_at_level else None,
            "resolution": case.resolution,
            "closedAt": case.closed_at,
            "rating": case.rating,
            "reopened": case.reopened,
            "escalations": case.escalations,
            "mergedInto": case.merged_into,
            "possibleDuplicates": (doc or {}).get("possible_duplicates", []),
            "visitId": (doc or {}).get("sourceVisitId"),  # visits
            "version": case.version,
            "timeline": [t.model_dump(mode="json") for t in case.timeline],
            # evidence
            "attachments": [
                attachment_dto(a, p.role in STAFF_ROLES or a.uploaded_by == p.sub) for a in case.attachments
            ],
            # clocks
            "dueSoon": d.is_due_soon(case, now()),
            **self.followup(p, case),
            **self.handling(p, case),  # departments
        }

    @staticmethod
    def followup(p: Principal, case: d.Case) -> dict[str, Any]:
        """Verification, return visits and the handling counts; residents do not learn staff subs
        or the notes of a call."""
        staff = p.role is not Role.RESIDENT

        def verification(v: d.Verification) -> dict[str, Any]:
            return {
                "passed": v.passed,
                "note": v.note,
                "by": v.by if staff else None,
                "at": v.at,
                "attachmentIds": list(v.attachment_ids),
            }

        out: dict[str, Any] = {}
        if not staff:  # a resident's timeline leaves out internal comments
            out["timeline"] = [
                t.model_dump(mode="json")
                for t in case.timeline
                if not (t.type == d.CaseCommented.type and t.note == "INTERNAL")
            ]
        return out | {
            "verification": verification(case.verification) if case.verification else None,
            "verifications": [verification(v) for v in case.verifications],
            "verificationDue": case.status is d.CaseStatus.RESOLVED and case.verification_due,
            "reworkCount": case.rework_count,
            "returnVisits": [
                {
                    "id": v.id,
                    "reached": v.reached,
                    "satisfaction": str(v.satisfaction) if v.satisfaction else None,
                    "note": v.note if staff else None,
                    "by": v.by if staff else None,
                    "at": v.at,
                }
                for v in case.return_visits
            ],
            "returnVisitDueAt": case.return_visit_due_at,
            "returnVisitOverdue": case.return_visit_overdue,
            "returns": case.returns,
            "extensions": case.extensions,
            "corrections": case.corrections,
        }

    # ---- departments: handlers, requests, 督办 ---------------------------------------------
    @staticmethod
    def handling(p: Principal, case: d.Case) -> dict[str, Any]:
        """Who handles the case and what they asked; replies and requests are for staff and the
        departments on the case, not for residents or volunteers."""
        inside = p.unrestricted or p.role in STAFF_ROLES or p.role is Role.DEPARTMENT
        return {
            "handlers": [
                {
                    "dept": x.dept,
                    "deptRegion": x.dept_region,
                    "deptName": x.dept_name,
                    "role": str(x.role),
                    "status": str(x.status),
                    "dispatchedAt": x.dispatched_at,
                    "dueAt": x.due_at,
                    "respondedAt": x.responded_at,
                    "releasedAt": x.released_at,
                    "resolvedAt": x.resolved_at,
                    "replies": [r.model_dump(mode="json") for r in x.replies] if inside else [],
                }
                for x in case.handlers
            ],
            "requests": [CaseViews.case_request(case, r) for r in case.requests] if inside else [],
            "urgeCount": case.urge_count,
            "suspended": case.suspended,
            "suspendedAt": case.suspended_at,
        }

    @staticmethod
    def case_request(case: d.Case, r: Any) -> dict[str, Any]:
        return {
            "id": r.id,
            "caseId": case.id,
            "kind": str(r.kind),
            "status": str(r.status),
            "reason": r.reason,
            "until": r.until,
            "requestedBy": r.requested_by,
            "dept": r.dept,
            "requestedAt": r.requested_at,
            "decidedBy": r.decided_by,
            "decidedAt": r.decided_at,
            "note": r.note,
        }

    @staticmethod
    def stats(counters: dict[str, int]) -> dict[str, Any]:
        c = {k: int(counters.get(k, 0)) for k in d.COUNTER_KEYS}
        r = d.rates(c)
        return {
            "total": c["total"],
            "open": c["open"],
            "overdue": c["overdue"],
            "resolved": c["resolved"],
            "closed": c["closed"],
            "rejected": c["rejected"],
            "merged": c["merged"],
            "responded": c["responded"],
            "resolvedOnTime": c["resolved_on_time"],
            "rated": c["rated"],
            "satisfied": c["satisfied"],
            "awaitingRating": c["awaiting_rating"],
            "resolvedByLevel": {str(lvl): c[f"resolved_by_level.{lvl}"] for lvl in d.HandlingLevel},
            "responseRate": r["response_rate"],
            "resolutionRate": r["resolution_rate"],
            "satisfactionRate": r["satisfaction_rate"],
            "fengqiaoShare": r["fengqiao_share"],
            # follow-up
            "onTimeRate": r["on_time_rate"],
            "returnRate": r["return_rate"],
            "reworkRate": r["rework_rate"],
            "awaitingVerification": c["awaiting_verification"],
            "verified": c["verified"],
            "reworked": c["reworked"],
            "visited": c["visited"],
            "visitSatisfied": c["visit_satisfied"],
            "returnVisitPending": c["return_visit_pending"],
            "returnVisitOverdue": c["return_visit_overdue"],
            "dispatched": c["dispatched"],
            "returned": c["returned"],
            "returnCount": c["returns"],
            "extensionCount": c["extensions"],
            "urgeCount": c["urges"],
            "corrected": c["corrected"],
            "propertyDisputes": c["property_disputes"],  # committees
            "openPropertyDisputes": c["property_disputes_open"],
            "satisfactionByChannel": [
                {
                    "channel": str(ch),
                    "evaluated": c[f"evaluated_by_channel.{ch}"],
                    "satisfied": c[f"satisfied_by_channel.{ch}"],
                }
                for ch in d.CaseChannel
            ],
        }

    @staticmethod
    def catalogue(cat: d.Catalogue) -> dict[str, Any]:
        return {
            "version": cat.version,
            "categories": [
                {
                    "code": c.code,
                    "name": c.name,
                    "group": c.group,
                    "defaultLevel": str(c.default_level),
                    "department": c.department,
                    "slaSeconds": c.sla_seconds,
                    "slaWorking": c.sla_work,
                    "slaByLevel": [{"level": str(x.level), "working": x.working} for x in c.sla_levels],
                    "kind": str(c.kind),
                    "requiresVerification": c.requires_verification,
                    "requiresAfterPhoto": c.requires_after_photo,
                }
                for c in cat.categories
            ],
        }
