"""What callers see of organisations' records: the wire DTOs, with personal data masked.

A member's phone and ID number come back masked to everyone but the member themself; an
admin in scope may reveal them (`member.revealContact`), which is audited. Unit contacts'
phones are masked to anyone who may not manage the unit.
"""

from __future__ import annotations

from typing import Any

from services.organizations import domain as d
from services.organizations.views_committees import committee_figures  # committees
from shared.auth import Principal
from shared.contracts.attachments import attachment_dto
from shared.mongo import now
from shared.privacy import FieldCipher, mask_phone
from shared.vocabulary.deliberation import ProposalStage


def _day(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


class OrgViews:
    def __init__(self, cipher: FieldCipher):
        self.cipher = cipher

    def organization(self, o: d.Organization) -> dict[str, Any]:
        return {
            "id": o.id,
            "name": o.name,
            "type": str(o.type),
            "anchorId": o.anchor_id,
            "anchorPath": list(o.anchor_path),
            "parentId": o.parent_id,
            "householdMemberId": o.household_member_id,
            "positions": [
                {
                    "holderName": p.holder_name,
                    "memberId": p.member_id,
                    "unitId": p.unit_id,
                    "role": str(p.role),
                    "termStart": _day(p.term.start),
                    "termEnd": _day(p.term.end),
                }
                for p in o.positions
            ],
            "unitIds": list(o.unit_ids),
            "createdAt": o.created_at,
            "updatedAt": o.updated_at,
            "lastLifeAt": o.last_life_at,
            "weak": o.weak,
            "version": o.version,
            # committees: a non-territorial branch's unit, its members' 双报到 and the idle flag (空转)
            "unitId": o.unit_id,
            "territorial": o.type.territorial,
            "dualRegistered": o.dual_registered,
            "lastServiceAt": o.last_service_at,
            "idle": o.idle,
        }

    def member(self, p: Principal, m: d.PartyMember) -> dict[str, Any]:
        own = d.is_self(p, m)
        phone = self.cipher.decrypt(m.phone_enc)
        id_number = self.cipher.decrypt(m.id_number_enc)
        dual = m.dual
        return {
            "id": m.id,
            "name": m.name,
            "gender": str(m.gender),
            "birthDate": _day(m.birth_date),
            "joinDate": _day(m.join_date),
            "phone": phone if own else mask_phone(phone),
            "idNumber": id_number if own else d.mask_id_number(id_number),
            "category": str(m.category),
            "organizationId": m.org_id,
            "orgPath": list(m.org_path),
            "homeBuildingId": m.home_building_id,
            "status": str(m.status),
            "openTransferId": m.open_transfer_id,
            "dualRegistration": None
            if dual is None
            else {
                "communityId": dual.community_id,
                "registeredAt": dual.registered_at,
                "endedAt": dual.ended_at,
                "active": dual.active,
            },
            "registeredAt": m.registered_at,
            "updatedAt": m.updated_at,
            "version": m.version,
        }

    def transfer(self, t: d.Transfer) -> dict[str, Any]:
        return {
            "id": t.id,
            "memberId": t.member_id,
            "fromOrganizationId": t.from_org_id,
            "toOrganizationId": t.to_org_id,
            "status": str(t.status),
            "reason": t.reason,
            "requestedAt": t.requested_at,
            "deadlineAt": t.deadline_at,
            "decidedAt": t.decided_at,
            "decisionNote": t.decision_note,
            "overdue": t.overdue(now()),
            "version": t.version,
        }

    def twinning(self, t: d.UnitTwinning) -> dict[str, Any]:
        return {
            "id": t.id,
            "branchId": t.branch_id,
            "communityId": t.community_id,
            "registeredAt": t.registered_at,
            "version": t.version,
        }

    def unit(self, p: Principal, u: d.Unit) -> dict[str, Any]:
        plain = d.is_allowed(p, d.Action.MANAGE_UNIT, u)
        contacts = []
        for c in u.contacts:
            phone = self.cipher.decrypt(c.phone_enc)
            contacts.append({"name": c.name, "title": c.title, "phone": phone if plain else mask_phone(phone)})
        return {
            "id": u.id,
            "name": u.name,
            "kind": str(u.kind),
            "regionId": u.region_path[-1],
            "regionPath": list(u.region_path),
            "contacts": contacts,
            "version": u.version,
        }

    def linkage(self, link: d.Linkage) -> dict[str, Any]:
        return {
            "id": link.id,
            "estate": link.estate,
            "committeeId": link.committee_id,
            "communityId": link.community_path[-1],
            "propertyCompanyId": link.property_company_id,
            "ownersCommitteeId": link.owners_committee_id,
            "version": link.version,
            "ownersCommitteeRecordId": link.owners_committee_record_id,  # committees
        }

    def meeting(self, m: d.JointMeeting) -> dict[str, Any]:
        return {
            "id": m.id,
            "attachments": [attachment_dto(a, True) for a in m.attachments],  # evidence: staff only read meetings
            "committeeId": m.committee_id,
            "communityId": m.community_id,
            "scheduledAt": m.scheduled_at,
            "unitIds": list(m.units),
            "chairUnitId": m.chair_unit_id,
            "skippedUnitIds": list(m.skipped_units),
            "agenda": [
                {
                    "id": a.id,
                    "source": str(a.source),
                    "ref": a.ref,
                    "title": a.title,
                    "caseIds": list(a.case_ids),
                    "hotspot": a.hotspot,
                }
                for a in m.agenda
            ],
            "heldAt": m.held_at,
            "minutes": m.minutes,
            "attendedUnitIds": list(m.attended_units),
            "attendedMemberIds": list(m.attended_members),
            "resolutions": [
                {
                    "id": r.id,
                    "text": r.text,
                    "agendaItemIds": list(r.agenda_items),
                    "caseIds": list(r.case_ids),
                    "items": [
                        {
                            "id": i.id,
                            "title": i.title,
                            "caseRequested": i.case_request is not None,
                            "categoryCode": (i.case_request or {}).get("categoryCode"),
                            "gridId": (i.case_request or {}).get("regionId"),
                            "caseId": i.case_id,
                            "caseStatus": i.case_status,
                        }
                        for i in r.items
                    ],
                }
                for r in m.resolutions
            ],
            "version": m.version,
            "updatedAt": m.updated_at,
        }

    def life(self, r: d.LifeRecord) -> dict[str, Any]:
        return {
            "id": r.id,
            "organizationId": r.org_id,
            "kind": str(r.kind),
            "heldAt": r.held_at,
            "topic": r.topic,
            "attendance": list(r.attendance),
            "attendanceCount": len(r.attendance),
            "minutes": r.minutes,
        }

    def need(self, n: d.Need) -> dict[str, Any]:
        return {
            "id": n.id,
            "communityId": n.community_id,
            "title": n.title,
            "description": n.description,
            "status": str(n.status),
            "category": str(n.category),
            "version": n.version,
        }

    def resource(self, r: d.Resource) -> dict[str, Any]:
        return {
            "id": r.id,
            "unitId": r.unit_id,
            "regionId": r.unit_path[-1],
            "title": r.title,
            "description": r.description,
            "category": str(r.category),
            "version": r.version,
        }

    def project(self, p: d.Project) -> dict[str, Any]:
        return {
            "id": p.id,
            "needId": p.need_id,
            "resourceId": p.resource_id,
            "communityId": p.community_path[-1],
            "title": p.title,
            "status": str(p.status),
            "category": str(p.category),
            "version": p.version,
            "updatedAt": p.updated_at,
        }

    def feedback(self, f: d.FeedbackRecord) -> dict[str, Any]:
        return {
            "id": f.id,
            "memberId": f.member_id,
            "quarter": f.quarter,
            "hours": f.hours,
            "services": f.services,
            "communityId": f.community_id,
        }

    @staticmethod
    def stats(counters: dict[str, int], grid_count: int, building_count: int) -> dict[str, Any]:
        cov = d.coverage(counters, grid_count, building_count)
        return {
            "organizationCount": counters.get("organizations", 0),
            "byType": [{"type": str(t), "count": counters.get(f"organizations.{t}", 0)} for t in d.OrgType],
            "memberCount": counters.get("members", 0),
            "membersByCategory": [
                {"category": str(c), "count": counters.get(f"members.{c}", 0)} for c in d.MemberCategory
            ],
            "transferringCount": counters.get("members_transferring", 0),
            "dualRegisteredCount": counters.get("dual_registered", 0),
            "twinnedUnitCount": counters.get("twinned_units", 0),
            "weakCount": counters.get("weak_organizations", 0),
            "gridCount": grid_count,
            "buildingCount": building_count,
            "gridsWithBranch": counters.get("grids_with_branch", 0),
            "buildingsWithGroup": counters.get("buildings_with_group", 0),
            "branchCoverage": cov["grid_branch_coverage"],
            "buildingGroupCoverage": cov["building_group_coverage"],
            # deliberation
            "proposalCount": counters.get("proposals", 0),
            "proposalsByStage": [{"stage": str(s), "count": counters.get(f"proposals.{s}", 0)} for s in ProposalStage],
            # weak organisations
            "weakFlaggedCount": counters.get("weak_flagged", 0),
            "underRectificationCount": counters.get("under_rectification", 0),
            "rectifiedCount": counters.get("rectified", 0),
            **committee_figures(counters),  # committees
        }
