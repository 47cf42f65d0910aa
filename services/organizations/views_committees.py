"""What callers see of owners' committees, residents' committees, three-party meetings and unit
registrations. A candidate's phone and ID number come back masked, to everyone (as members'
contacts are to all but the member); who checked a candidate is staff's to see, like the record."""

from __future__ import annotations

from typing import Any

from services.organizations import domain as d
from shared.privacy import FieldCipher, mask_phone


def _day(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


class CommitteeViews:
    def __init__(self, cipher: FieldCipher):
        self.cipher = cipher

    def owners_committee(self, c: d.OwnersCommittee) -> dict[str, Any]:
        return {
            "id": c.id,
            "communityId": c.community_id,
            "estate": c.estate,
            "buildingIds": list(c.building_ids),
            "filedByOrgId": c.filing.org_id,
            "filedOn": _day(c.filing.filed_on),
            "seats": c.seats,
            "status": str(c.status),
            "candidates": [self.candidate(x, x.id in c.elected) for x in c.candidates],
            "electedIds": list(c.elected),
            "termStart": _day(c.term.start) if c.term else None,
            "termEnd": _day(c.term.end) if c.term else None,
            "partySeats": c.party_seats,
            "partyShare": c.party_share,
            "red": c.red,
            "createdAt": c.created_at,
            "version": c.version,
        }

    def candidate(self, x: d.Candidate, elected: bool) -> dict[str, Any]:
        return {
            "id": x.id,
            "name": x.name,
            "memberId": x.member_id,
            "phone": mask_phone(self.cipher.decrypt(x.phone_enc)),
            "idNumber": d.mask_id_number(self.cipher.decrypt(x.id_number_enc)),
            "qualified": x.qualified,
            "partyMember": x.party_member,
            "missing": x.missing(),
            "elected": elected,
            "checks": [
                {"check": str(k), "passed": r.passed, "checkedBy": r.checked_by, "note": r.note, "at": r.at}
                for k, r in x.checks.items()
            ],
        }

    @staticmethod
    def residents_committee(r: d.ResidentsCommittee) -> dict[str, Any]:
        return {
            "id": r.id,
            "communityId": r.community_id,
            "name": r.name,
            "members": [{"name": m.name, "role": m.role} for m in r.members],
            "termStart": _day(r.term.start),
            "termEnd": _day(r.term.end),
            "version": r.version,
            "updatedAt": r.updated_at,
        }

    @staticmethod
    def three_party(m: d.ThreePartyMeeting) -> dict[str, Any]:
        return {
            "id": m.id,
            "communityId": m.community_id,
            "estate": m.estate,
            "ownersCommitteeId": m.owners_committee_id,
            "residentsCommitteeId": m.residents_committee_id,
            "propertyCompanyId": m.property_company_id,
            "heldAt": m.held_at,
            "attendees": [{"name": a.name, "side": str(a.side)} for a in m.attendees],
            "minutes": m.minutes,
            "items": [
                {
                    "id": i.id,
                    "title": i.title,
                    "caseRequested": i.case_request is not None,
                    "categoryCode": (i.case_request or {}).get("categoryCode"),
                    "gridId": (i.case_request or {}).get("regionId"),
                    "caseId": i.case_id,
                    "caseStatus": i.case_status,
                    "proposalRequested": i.proposal_requested,
                    "proposalRef": i.proposal_ref,
                }
                for i in m.items
            ],
            "version": m.version,
        }

    @staticmethod
    def unit_registration(r: d.UnitRegistration) -> dict[str, Any]:
        return {
            "id": r.id,
            "unitId": r.unit_id,
            "communityId": r.community_id,
            "commitments": list(r.commitments),
            "services": [{"what": s.what, "at": s.at} for s in r.services],
            "registeredAt": r.registered_at,
            "version": r.version,
        }


def committee_figures(counters: dict[str, int]) -> dict[str, Any]:
    """The committees' part of a region's figures (`stats.batch`), from its counters."""
    committees, red = counters.get("owners_committees", 0), counters.get("red_owners_committees", 0)
    seats, party = counters.get("owners_committee_seats", 0), counters.get("owners_committee_party_seats", 0)
    return {
        "nonTerritorialCount": counters.get("non_territorial_organizations", 0),
        "idleBranchCount": counters.get("idle_branches", 0),
        "branchDualRegisteredCount": counters.get("branch_dual_registered", 0),
        "ownersCommitteeCount": committees,
        "redOwnersCommitteeCount": red,
        "redCommitteeShare": red / committees if committees else None,
        "partySeatShare": party / seats if seats else None,
        "residentsCommitteeCount": counters.get("residents_committees", 0),
        "threePartyMeetingCount": counters.get("three_party_meetings", 0),
        "unitRegistrationCount": counters.get("unit_registrations", 0),
        "unitServiceCount": counters.get("unit_services", 0),
    }
