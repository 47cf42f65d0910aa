"""What callers see of volunteers' records: the wire DTOs, with personal data masked.

A volunteer's phone: whole to the volunteer and to staff of their home region, masked to
everyone else. An order's resident: their `sub` only to the resident and staff. An
activity's check-in code only to staff who manage it; attendance lists to staff, and to a
volunteer only their own line.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from services.volunteers import domain as d
from shared.attachments import shown
from shared.auth import STAFF_ROLES, Principal
from shared.privacy import FieldCipher


class VolunteerViews:
    def __init__(self, cipher: FieldCipher, region_name: Callable[[str], str] = str):
        self.cipher, self.region_name = cipher, region_name

    def volunteer(self, p: Principal, v: d.Volunteer) -> dict[str, Any]:
        return {
            "id": v.id,
            "sub": v.sub,
            "name": v.name,
            "kind": str(v.volunteer_kind),
            "memberId": v.member_id,
            "inServiceMember": v.in_service_member,
            "phone": d.phone_for(p, v, self.cipher.decrypt(v.phone_enc)),
            "skills": list(v.skills),
            "availability": list(v.availability),
            "homeRegionId": v.region_path[-1],
            "regionPath": list(v.region_path),
            "createdAt": v.created_at,
            "version": v.version,
        }

    def team(self, t: d.Team) -> dict[str, Any]:
        return {
            "id": t.id,
            "name": t.name,
            "leaderId": t.leader_id,
            "memberIds": list(t.member_ids),
            "regionId": t.region_path[-1],
            "version": t.version,
        }

    def post(self, p: d.Post) -> dict[str, Any]:
        return {
            "id": p.id,
            "title": p.title,
            "type": str(p.post_type),
            "capacity": p.capacity,
            "claimedCount": p.claimed_count,
            "duties": p.duties,
            "status": str(p.status),
            "regionId": p.region_path[-1],
            "regionPath": list(p.region_path),
            "claimants": [{"volunteerId": c.volunteer_id, "at": c.at} for c in p.claimants],
            "version": p.version,
        }

    def order(self, p: Principal, o: d.ServiceOrder) -> dict[str, Any]:
        mine = p.sub == o.resident_sub or p.unrestricted or p.role in STAFF_ROLES
        return {
            "id": o.id,
            "attachments": [shown(p, x) for x in o.attachments],  # evidence
            "category": o.category,
            "description": o.description,
            "buildingId": o.building_id,
            "location": o.location.model_dump() if o.location else None,
            "wishedAt": o.wished_at,
            "status": str(o.status),
            "rejectReason": o.reject_reason,
            "target": {"kind": str(o.target.kind), "id": o.target.id, "name": o.target.name} if o.target else None,
            "unitHandler": o.unit_handler if mine else None,  # units take service orders
            "takerId": o.taker_id,
            "startedAt": o.started_at,
            "completedAt": o.completed_at,
            "hours": o.hours,
            "rating": o.rating,
            "comment": o.comment,
            "cancelReason": o.cancel_reason,
            "residentSub": o.resident_sub if mine else None,
            "regionId": o.region_path[-1],
            "regionName": self.region_name(o.region_path[-1]),
            "regionPath": list(o.region_path),
            "createdAt": o.created_at,
            "updatedAt": o.updated_at,
            "version": o.version,
        }

    def task(self, t: d.VolunteerTask) -> dict[str, Any]:
        return {
            "id": t.id,
            "caseId": t.case_id,
            "volunteerId": t.volunteer_id,
            "title": t.title,
            "status": str(t.status),
            "hours": t.hours,
            "resolvedAt": t.resolved_at,
            "regionId": t.region_path[-1],
            "createdAt": t.created_at,
        }

    def activity(self, p: Principal, a: d.Activity, me: str | None = None) -> dict[str, Any]:
        staff = d.is_allowed(p, d.Action.MANAGE_ACTIVITY, a)
        lines = [x for x in a.signups if staff or x.volunteer_id == me]
        return {
            "id": a.id,
            "attachments": [shown(p, x) for x in a.attachments],  # evidence
            "title": a.title,
            "startsAt": a.starts_at,
            "endsAt": a.ends_at,
            "capacity": a.capacity,
            "signedCount": a.signed_count,
            "regionId": a.region_path[-1],
            "regionPath": list(a.region_path),
            "hasArea": a.boundary is not None,
            "checkCode": a.check_code if staff else None,
            "attendance": [
                {
                    "volunteerId": x.volunteer_id,
                    "signedAt": x.signed_at,
                    "checkedInAt": x.checked_in_at,
                    "checkedOutAt": x.checked_out_at,
                    "hours": x.hours,
                    "backfilled": x.backfilled,
                    "backfillReason": x.backfill_reason,
                }
                for x in lines
            ],
            "version": a.version,
        }

    @staticmethod
    def entry(e: d.LedgerEntry) -> dict[str, Any]:
        return {
            "id": e.id,
            "volunteerId": e.volunteer_id,
            "delta": e.delta,
            "sourceKind": str(e.source_kind),
            "sourceId": e.source_id,
            "at": e.at,
            "expiresAt": e.expires_at,
        }

    @staticmethod
    def item(i: d.CatalogueItem) -> dict[str, Any]:
        return {"code": i.code, "name": i.name, "cost": i.cost, "stock": i.stock}

    @staticmethod
    def balance(volunteer_id: str, points: int) -> dict[str, Any]:
        return {"volunteerId": volunteer_id, "balance": points}

    def redemption(self, entry: d.LedgerEntry, item: d.CatalogueItem, points: int) -> dict[str, Any]:
        return {"entry": self.entry(entry), "item": self.item(item), "balance": points}

    @staticmethod
    def stats(c: dict[str, int]) -> dict[str, Any]:
        return {
            "volunteerCount": c.get("volunteers", 0),
            "teamCount": c.get("teams", 0),
            "activePosts": c.get("active_posts", 0),
            "claimedPosts": c.get("claimed_posts", 0),
            "openOrders": c.get("open_orders", 0),
            "completedOrders": c.get("completed_orders", 0),
            "serviceHours": c.get("service_hours_tenths", 0) / 10,
            "pointsIssued": c.get("points_issued", 0),
            "pointsRedeemed": c.get("points_redeemed", 0),
            "pointsExpired": c.get("points_expired", 0),
            # residents' points
            "residentsWithPoints": c.get("residents_with_points", 0),
            "residentPointsAwarded": c.get("resident_points_awarded", 0),
            "residentPointsRedeemed": c.get("resident_points_redeemed", 0),
            "residentPointsExpired": c.get("resident_points_expired", 0),
            # units take service orders
            "unitOrdersOpen": c.get("unit_orders_open", 0),
            "unitOrdersCompleted": c.get("unit_orders_completed", 0),
        }

    # -- residents' points ---------------------------------------------------------------------
    @staticmethod
    def resident_rules(rules: Any, version: int) -> dict[str, Any]:
        return {"rules": [r.model_dump(mode="json") for r in rules], "version": version}

    def resident_entry(self, e: d.LedgerEntry) -> dict[str, Any]:
        """A resident's ledger entry: where it was earned (or redeemed), never whose it is."""
        return {
            "id": e.id,
            "delta": e.delta,
            "sourceKind": str(e.source_kind),
            "sourceId": e.source_id,
            "ruleCode": e.rule_code,
            "regionId": e.region_path[-1] if e.region_path else None,
            "regionName": self.region_name(e.region_path[-1]) if e.region_path else None,
            "at": e.at,
            "expiresAt": e.expires_at,
        }

    # -- units take service orders -------------------------------------------------------------
    @staticmethod
    def unit_stats(c: dict[str, int]) -> dict[str, Any]:
        rated = c.get("rated", 0)
        return {
            "orders": c.get("orders", 0),
            "openOrders": c.get("open", 0),
            "completedOrders": c.get("completed", 0),
            "hours": c.get("hours_tenths", 0) / 10,
            "ratedOrders": rated,
            "averageRating": round(c.get("rating_sum", 0) / rated, 2) if rated else None,
        }
