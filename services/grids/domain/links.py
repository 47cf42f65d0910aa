"""党员联户: a party member linked to the households they look after — who may be linked, the cap, counters. Pure."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from shared.errors import BadInput, Conflict

# A member looks after 10–15 households as a rule (党员联户); past this cap a link is refused.
MAX_HOUSEHOLDS_PER_MEMBER = 15
LINK_COUNTERS = ("linkedHouseholdCount",)


def check_household_ids(ids: Sequence[str]) -> list[str]:
    if len(set(ids)) != len(ids):
        raise BadInput("a household is named twice in one request")
    return list(ids)


def check_one_community(docs: Sequence[Mapping[str, Any]]) -> str:
    """Every household of one request lies in one community (the member's)."""
    communities = {d.get("communityId") for d in docs}
    if len(communities) != 1 or None in communities:
        raise BadInput(
            "link a member to households of one community at a time", {"communities": sorted(map(str, communities))}
        )
    return str(communities.pop())


def member_in_community(member: Mapping[str, Any], community_id: str, home_path: Sequence[str] | None) -> bool:
    """A member serves the households of a community they live in (their home building lies in
    it), are organised in (their organisation is anchored in it or below), or have registered
    with (双报到, while active)."""
    if community_id in (member.get("orgPath") or []):
        return True
    if home_path and community_id in home_path:
        return True
    dual = member.get("dualRegistration") or {}
    return bool(dual.get("active")) and dual.get("communityId") == community_id


def check_member_in_community(member: Mapping[str, Any], community_id: str, home_path: Sequence[str] | None) -> None:
    if not member_in_community(member, community_id, home_path):
        raise BadInput(
            f"party member {member['id']} neither lives nor is organised in community {community_id}",
            {"memberId": member["id"], "communityId": community_id},
        )


def check_not_linked(member_id: str, docs: Iterable[Mapping[str, Any]]) -> None:
    twice = [d["_id"] for d in docs if member_id in (d.get("linkedMemberIds") or [])]
    if twice:
        raise Conflict(f"party member {member_id} is already linked to {', '.join(twice)}", {"householdIds": twice})


def check_linked(member_id: str, docs: Iterable[Mapping[str, Any]]) -> None:
    not_linked = [d["_id"] for d in docs if member_id not in (d.get("linkedMemberIds") or [])]
    if not_linked:
        raise BadInput(
            f"party member {member_id} is not linked to {', '.join(not_linked)}", {"householdIds": not_linked}
        )


def check_cap(held: int, adding: int) -> None:
    if held + adding > MAX_HOUSEHOLDS_PER_MEMBER:
        raise Conflict(
            f"a party member looks after at most {MAX_HOUSEHOLDS_PER_MEMBER} households; "
            f"this one has {held} and {adding} more were asked for",
            {"held": held, "max": MAX_HOUSEHOLDS_PER_MEMBER},
        )


def counters_of_links(before: int, after: int) -> Counter:
    """A household's linked members going from `before` to `after`: counted while it has any
    (moving out takes it away: `households.standing_counters`)."""
    if (before > 0) == (after > 0):
        return Counter()
    return Counter({"linkedHouseholdCount": 1 if after > 0 else -1})


def recount_links(docs: Iterable[Mapping[str, Any]]) -> dict[str, Counter]:
    """`linkedHouseholdCount` from the household records (live ones with a linked member), per
    region on their paths: what the rollups must equal."""
    totals: dict[str, Counter] = {}
    for d in docs:
        if d.get("movedOutAt") is None and d.get("linkedMemberIds"):
            for r in d.get("path") or []:
                totals.setdefault(r, Counter())["linkedHouseholdCount"] += 1
    return totals


def recount_visitors(visits: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """Each person's visits from the visit records: `visitor:<sub>` and `member:<memberId>`."""
    out: Counter = Counter()
    for v in visits:
        if v.get("visitor"):
            out["visitor:" + v["visitor"]] += 1
        if v.get("visitorMember"):
            out["member:" + v["visitorMember"]] += 1
    return dict(out)
