"""Region figures as pure functions of record state.

`counters_of(record)` lists what one organisation, member or twinning contributes, as
(region path, counters) pairs: a member counts on its organisation's path, and its active
双报到 on the community's path. A command's rollup deltas are `deltas(before, after)`,
which also handles a member moving by transfer; the live counters always equal
`recount(all records)`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from shared.domain import RollupDelta, ratio
from shared.trends import Kind, Metric
from shared.vocabulary.organizations import COUNTER_DEFINITIONS

from .branches import UnitRegistration
from .committees import OwnersCommittee, ResidentsCommittee
from .deliberation import Proposal
from .dual import UnitTwinning
from .enums import OrgType
from .member import PartyMember
from .organization import Organization
from .rectification import PlanStatus, RectificationPlan
from .three_party import ThreePartyMeeting
from .weak import WeakStanding

Contribution = tuple[tuple[str, ...], dict[str, int]]

COUNTER_KEYS: tuple[str, ...] = tuple(COUNTER_DEFINITIONS)


def counters_of(record: Any) -> list[Contribution]:
    """The non-zero counters `record` contributes, per region path."""
    if isinstance(record, Organization) and not record.type.territorial:
        return [(record.anchor_path, branch_counters(record))]
    if isinstance(record, Organization):
        c = {"organizations": 1, f"organizations.{record.type}": 1}
        if record.type is OrgType.GRID_BRANCH:
            c["grids_with_branch"] = 1
        if record.type is OrgType.BUILDING_GROUP:
            c["buildings_with_group"] = 1
        if record.weak:
            c["weak_organizations"] = 1
        return [(record.anchor_path, c)]
    if isinstance(record, PartyMember):
        c = {"members": 1, f"members.{record.category}": 1}
        if record.open_transfer_id is not None:
            c["members_transferring"] = 1
        out: list[Contribution] = [(record.org_path, c)]
        if (dual := record.active_dual) is not None:
            out.append((dual.community_path, {"dual_registered": 1}))
        return out
    if isinstance(record, UnitTwinning):
        return [(record.community_path, {"twinned_units": 1})]
    # deliberation: a proposal counts at its stage, in its community
    if isinstance(record, Proposal):
        return [(record.community_path, {"proposals": 1, f"proposals.{record.stage}": 1})]
    # weak organisations
    if isinstance(record, WeakStanding):
        return [(record.anchor_path, {"weak_flagged": 1})] if record.flagged else []
    if isinstance(record, RectificationPlan):
        return [(record.anchor_path, {"under_rectification" if record.status is PlanStatus.OPEN else "rectified": 1})]
    return committee_counters(record)


# committees: 红色业委会, 三方联动 and non-territorial branches
def branch_counters(org: Organization) -> dict[str, int]:
    """A branch outside the chain counts apart from it (`organizations` stays the chain's)."""
    c = {"non_territorial_organizations": 1, f"organizations.{org.type}": 1}
    if org.weak:
        c["weak_organizations"] = 1
    if org.idle:
        c["idle_branches"] = 1
    if org.dual_registered:
        c["branch_dual_registered"] = org.dual_registered
    return c


def committee_counters(record: Any) -> list[Contribution]:
    if isinstance(record, OwnersCommittee):
        if record.status != "IN_OFFICE":
            return []
        seats, party = len(record.elected), record.party_seats
        c = {"owners_committees": 1, "owners_committee_seats": seats, "owners_committee_party_seats": party}
        if record.red:
            c["red_owners_committees"] = 1
        return [(record.community_path, c)]
    if isinstance(record, ResidentsCommittee):
        return [(record.community_path, {"residents_committees": 1})]
    if isinstance(record, ThreePartyMeeting):
        return [(record.community_path, {"three_party_meetings": 1})]
    if isinstance(record, UnitRegistration):
        return [(record.community_path, {"unit_registrations": 1, "unit_services": len(record.services)})]
    return []


def _by_region(contributions: Iterable[Contribution]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for path, counters in contributions:
        RollupDelta(tuple(path), dict(counters)).apply_to(out)  # summed per region, zeros dropped
    return out


def deltas(before: Any | None, after: Any | None) -> list[RollupDelta]:
    """counters(after) − counters(before), grouped into one delta per distinct change."""
    old = _by_region(counters_of(before)) if before is not None else {}
    new = _by_region(counters_of(after)) if after is not None else {}
    groups: dict[tuple[tuple[str, int], ...], list[str]] = {}
    for region in sorted(set(old) | set(new)):
        o, n = old.get(region, {}), new.get(region, {})
        change = tuple(sorted((k, n.get(k, 0) - o.get(k, 0)) for k in set(o) | set(n) if n.get(k, 0) != o.get(k, 0)))
        if change:
            groups.setdefault(change, []).append(region)
    return [RollupDelta(tuple(regions), dict(change)) for change, regions in groups.items()]


def recount(records: Iterable[Any]) -> dict[str, dict[str, int]]:
    """Rollups from scratch: region id -> non-zero counters."""
    out: dict[str, dict[str, int]] = {}
    for record in records:
        for delta in deltas(None, record):
            delta.apply_to(out)
    return out


def coverage(counters: Mapping[str, int], grid_count: int, building_count: int) -> dict[str, float | None]:
    """Branch coverage of a region from its counters and the territory's node counts."""
    return {
        "grid_branch_coverage": ratio(counters.get("grids_with_branch", 0), grid_count),
        "building_group_coverage": ratio(counters.get("buildings_with_group", 0), building_count),
    }


# What `trend(metric)` reads from the day buckets (shared/trends).
TREND_METRICS: dict[str, Metric] = {
    "members": Metric(Kind.STOCK, ("members",), description="Party members at the end of the interval."),
    "organizations": Metric(
        Kind.STOCK, ("organizations",), description="Party organisations at the end of the interval."
    ),
    "weak_organizations": Metric(
        Kind.STOCK,
        ("weak_organizations",),
        description="Organisations flagged weak (软弱涣散) at the end of the interval.",
    ),
    "dual_registered": Metric(
        Kind.STOCK, ("dual_registered",), description="Members with an active 双报到 at the end of the interval."
    ),
    # weak organisations
    "weak_flagged": Metric(
        Kind.STOCK, ("weak_flagged",), description="Organisations flagged by the weak score at the end of the interval."
    ),
    "under_rectification": Metric(
        Kind.STOCK, ("under_rectification",), description="Rectification plans open at the end of the interval."
    ),
    "rectified": Metric(
        Kind.STOCK, ("rectified",), description="Rectification plans passed by the end of the interval."
    ),
}
