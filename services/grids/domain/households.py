"""Households (实有人口, by 户): persons, places, tags, who sees which household, masking, counters. Pure."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from shared.auth import Principal, Role
from shared.errors import BadInput, Conflict, Forbidden
from shared.people import (  # noqa: F401 (the person rules, also used by onboarding imports)
    NAME_MAX,
    OLDEST_BIRTH_YEAR,
    check_id_number,
    check_person_name,
    check_phone,
    id_check_digit,
    id_facts,
)
from shared.privacy import mask_phone
from shared.scope import NOTHING, Eq, Scope, ScopeRule
from shared.vocabulary.territory import HouseholdTag, Relation

MAX_MEMBERS = 30  # besides the head
PLACE_MAX = 16
REASON_MIN, REASON_MAX = 2, 500
ELDERLY_AGE = 60  # 老年人: 60 and over
CHILD_AGE = 16  # 留守儿童: under 16
GENDERS = ("MALE", "FEMALE")

# Who may see households at all; everyone else (department, resident) sees none.
READER_ROLES = frozenset({Role.ADMIN, Role.OPERATOR, Role.GRID_WORKER, Role.BUILDING_LEADER, Role.VOLUNTEER})
# Staff whose region is one of these levels see figures only, never a list or a household.
FIGURES_ONLY_LEVELS = frozenset({"CITY", "COUNTY", "TOWNSHIP"})
HOUSEHOLD_STAFF = frozenset({Role.ADMIN, Role.OPERATOR})
# Who sees names and phones unmasked: the grid worker of the grid, the leader of the building.
GRID_ROLE, BUILDING_ROLE = Role.GRID_WORKER, Role.BUILDING_LEADER
REVEALERS = (Role.SUPERADMIN, Role.ADMIN)

COUNTERS = ("householdCount", "residentCount")
# Counters the visits and links of households add to the same rollups (shown with the figures).
RELATED_COUNTERS = (
    "mustVisitCount",
    "overdueVisits",
    "visitCount",
    "linkedHouseholdCount",
    "communitiesWithCadre",
    "gridsWithCadre",
    "communityCount",
    "gridCount",
)
TAG_PREFIX = "tag."

_PLACE = re.compile(r"^[0-9A-Za-z\u4e00-\u9fff#\-]+$")


# -- persons ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Person:
    """One person of a household, checked and normalised (plain values; stored encrypted)."""

    relation: Relation
    name: str
    phone: str | None = None
    id_number: str | None = None
    gender: str | None = None
    birth_year: int | None = None


def check_person(
    relation: str,
    name: str | None,
    phone: str | None,
    id_number: str | None,
    gender: str | None,
    birth_year: int | None,
    today: date,
    what: str = "person",
) -> Person:
    """One person, normalised; gender and birth year come from the ID number when it is given
    (and must agree with it when both are)."""
    try:
        rel = Relation(relation)
    except ValueError:
        raise BadInput(f"{what}: relation {relation!r} is not one of {', '.join(Relation)}") from None
    n = check_person_name(name, f"{what} name")
    ph = check_phone(phone)
    idn = check_id_number(id_number, today)
    if gender is not None and gender not in GENDERS:
        raise BadInput(f"{what}: gender must be MALE or FEMALE")
    if birth_year is not None and not OLDEST_BIRTH_YEAR <= birth_year <= today.year:
        raise BadInput(f"{what}: birth year must lie between {OLDEST_BIRTH_YEAR} and {today.year}")
    if idn:
        g, y = id_facts(idn)
        if gender is not None and gender != g:
            raise BadInput(f"{what}: gender {gender} disagrees with the ID number")
        if birth_year is not None and birth_year != y:
            raise BadInput(f"{what}: birth year {birth_year} disagrees with the ID number")
        gender, birth_year = g, y
    return Person(rel, n, ph, idn, gender, birth_year)


def check_persons(head: Person, members: Sequence[Person]) -> None:
    """The head is the HEAD; nobody else is; at most MAX_MEMBERS others; one ID number once."""
    if head.relation is not Relation.HEAD:
        raise BadInput("the head of a household has the relation HEAD")
    if len(members) > MAX_MEMBERS:
        raise BadInput(f"a household lists at most {MAX_MEMBERS} members besides its head")
    if any(m.relation is Relation.HEAD for m in members):
        raise BadInput("a household has one head; give other members another relation")
    if sum(1 for m in members if m.relation is Relation.SPOUSE) > 1:
        raise BadInput("a household lists one spouse of its head")
    ids = [p.id_number for p in (head, *members) if p.id_number]
    if len(ids) != len(set(ids)):
        raise BadInput("the same ID number is given for two persons of the household")


# -- the place and the tags --------------------------------------------------------------------
def check_place(unit: str | None, room: str | None) -> tuple[str | None, str | None]:
    """单元 and 室: short codes (digits, letters, Chinese, '#', '-'); a unit needs a room."""
    out: list[str | None] = []
    for what, v in (("unit", unit), ("room", room)):
        s = (v or "").strip() or None
        if s is not None and (len(s) > PLACE_MAX or not _PLACE.match(s)):
            raise BadInput(f"{what} must be up to {PLACE_MAX} digits, letters or Chinese characters ('#', '-')")
        out.append(s)
    if out[0] and not out[1]:
        raise BadInput("a unit is given without a room")
    return out[0], out[1]


def place_key(building_id: str, unit: str | None, room: str | None) -> str:
    """What is unique among the households living in a building: the unit and room."""
    return f"{building_id}|{unit or ''}|{room or ''}"


def check_tags(tags: Iterable[str], persons: Sequence[Person], today: date) -> list[str]:
    """Known tags, each once, in the vocabulary's order; 独居老人 lives alone and (when a
    birth year is known) is 60 or over; 留守儿童 needs a child under 16 when ages are known."""
    given = list(tags)
    unknown = [t for t in given if t not in HouseholdTag.__members__]
    if unknown:
        raise BadInput(f"unknown household tags: {', '.join(map(str, unknown))}", {"tags": unknown})
    if len(given) != len(set(given)):
        raise BadInput("a tag is given twice")
    years = [p.birth_year for p in persons if p.birth_year is not None]
    if HouseholdTag.ELDERLY_ALONE in given:
        if len(persons) != 1:
            raise BadInput("ELDERLY_ALONE (独居老人) is a household of one person")
        by = persons[0].birth_year
        if by is not None and today.year - by < ELDERLY_AGE:
            raise BadInput(f"ELDERLY_ALONE (独居老人) is a person of {ELDERLY_AGE} or over")
    if HouseholdTag.LEFT_BEHIND_CHILD in given and years and all(today.year - y >= CHILD_AGE for y in years):
        raise BadInput(f"LEFT_BEHIND_CHILD (留守儿童) needs a child under {CHILD_AGE} in the household")
    return [t.value for t in HouseholdTag if t.value in given]


def check_reason(reason: str | None, what: str = "reason") -> str:
    r = " ".join((reason or "").split())
    if len(r) < REASON_MIN:
        raise BadInput(f"{what} must be given ({REASON_MIN}–{REASON_MAX} characters)")
    if len(r) > REASON_MAX:
        raise BadInput(f"{what} is longer than {REASON_MAX} characters")
    return r


def check_building(level: str, name: str) -> None:
    if level != "BUILDING":
        raise BadInput(f"a household lives in a BUILDING, and {name} is a {level}")


def check_building_grid(building_path: Sequence[str], grid_id: str | None) -> None:
    """A caller who names the grid too must name the building's own grid."""
    if grid_id is not None and grid_id not in building_path:
        raise BadInput(
            f"the building lies in another grid than {grid_id}",
            {"gridId": grid_id, "buildingPath": list(building_path)},
        )


def place_conflict(key: str, existing: str | None, other: str | None = None) -> Conflict:
    """A unit and room someone lives in already (`existing`: that household's id; `other`: what
    else in the same request takes it)."""
    building, unit, room = key.split("|")
    where = f"unit {unit} room {room}" if unit else (f"room {room}" if room else "the building (no room given)")
    who = other or "a household living there"
    return Conflict(
        f"{where} of building {building} is taken by {who}; move that household out first",
        {"buildingId": building, **({"existingId": existing} if existing else {})},
    )


def household_place(building_path: Sequence[str]) -> dict[str, Any]:
    """The fields a household takes from its building's path (CITY … COMMUNITY, GRID, BUILDING)."""
    path = list(building_path)
    return {
        "path": path,
        "gridId": path[-2] if len(path) >= 2 else None,
        "communityId": path[-3] if len(path) >= 3 else None,
    }


def check_version(stored: int, expected: int | None) -> None:
    if expected is not None and expected != stored:
        raise Conflict(f"the household is at version {stored}, not {expected}; read it again", {"version": stored})


def check_active(doc: Mapping[str, Any]) -> None:
    if doc.get("movedOutAt") is not None:
        raise Conflict(f"household {doc['_id']} has moved out; register the new household instead")


# -- scope ---------------------------------------------------------------------------------
def _nothing(p: Principal) -> Scope:
    return NOTHING


def _linked(p: Principal) -> Scope:
    return Eq("linkedMemberIds", p.member) if p.member else NOTHING


HOUSEHOLD_SCOPE = ScopeRule(
    narrow={Role.VOLUNTEER: _linked},
    replace={r: _nothing for r in Role if r not in READER_ROLES and r is not Role.SERVICE},
)
"""Households in the region rule: a grid worker's grid, a building leader's building, a
community (grid, building) admin's subtree; a volunteer only those linked to their `member`;
nobody else. Staff above the community see figures only: `household_scope` adds that."""


def figures_only(p: Principal, own_level: str | None) -> bool:
    """Whether `p` sees household figures only (no list, no household but by reveal): a
    superadmin, and an admin or operator whose region is a TOWNSHIP, COUNTY or CITY."""
    if p.role is Role.SUPERADMIN:
        return True
    return p.role in HOUSEHOLD_STAFF and own_level in FIGURES_ONLY_LEVELS


FIGURES_ONLY_MESSAGE = (
    "above the community, households are seen as figures only (overview(regionId).households); "
    "an administrator may reveal one household with revealHousehold(id, reason), which is audited"
)


def figures_only_error(p: Principal, own_level: str | None) -> Forbidden:
    return Forbidden(FIGURES_ONLY_MESSAGE, {"role": str(p.role), "level": own_level})


def check_not_figures_only(p: Principal, own_level: str | None) -> None:
    if figures_only(p, own_level):
        raise figures_only_error(p, own_level)


def household_scope(p: Principal, own_level: str | None, region: str | None = None) -> Scope:
    """THE scope of households (and of what hangs on them, visits): `HOUSEHOLD_SCOPE`, and
    nothing for a caller who sees figures only."""
    if figures_only(p, own_level):
        return NOTHING
    return HOUSEHOLD_SCOPE.of(p, region)


WRITER_ROLES = frozenset({Role.ADMIN, Role.OPERATOR, Role.GRID_WORKER, Role.BUILDING_LEADER})
PATH_LEVELS = ("CITY", "COUNTY", "TOWNSHIP", "COMMUNITY", "GRID", "BUILDING")


def level_of_path(path: Sequence[str]) -> str | None:
    """The level of a region from the length of its path (the tree has no skipped level)."""
    return PATH_LEVELS[len(path) - 1] if 0 < len(path) <= len(PATH_LEVELS) else None


def check_may_read(p: Principal, own_level: str | None) -> None:
    """Lists of households: their readers (not a department, not a resident), below the township."""
    if not (p.unrestricted or p.role in READER_ROLES):
        raise Forbidden(f"role {p.role} may not read households", {"role": str(p.role)})
    check_not_figures_only(p, own_level)


def check_may_write(p: Principal, own_level: str | None) -> None:
    """Registering and changing households: the grid worker, the building leader, and staff of a
    community, grid or building (in their scope); a service (imports)."""
    if p.role is Role.SERVICE:
        return
    check_not_figures_only(p, own_level)
    if p.role not in WRITER_ROLES:
        raise Forbidden(f"role {p.role} may not register or change households", {"role": str(p.role)})


def check_may_reveal(p: Principal) -> None:
    p.require_role(*REVEALERS, action="reveal a household's personal data")


def sees_contact(p: Principal, doc: Mapping[str, Any]) -> bool:
    """Names and phones unmasked: to the grid worker of the household's grid, the leader of its
    building, and a member linked to it. ID numbers: to nobody but through a reveal."""
    role = p.role
    if role is GRID_ROLE:
        return p.region is not None and p.region == doc.get("gridId")
    if role is BUILDING_ROLE:
        return p.region is not None and p.region == doc.get("buildingId")
    return p.member is not None and p.member in (doc.get("linkedMemberIds") or [])


# -- masking ---------------------------------------------------------------------------------
def mask_person_name(name: str | None) -> str | None:
    """`张三` -> `张*`, `张小三` -> `张*三`, `欧阳小明` -> `欧**明`; one character -> `*`."""
    if not name:
        return name
    if len(name) == 1:
        return "*"
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def mask_id_number(value: str | None) -> str | None:
    """`110101199001011234` -> `110***********1234`; 7 characters or fewer: all masked."""
    if value is None:
        return None
    if len(value) <= 7:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


def masked_person(plain: Mapping[str, Any], contact: bool) -> dict[str, Any]:
    """A decrypted person as a caller sees it: the ID number always masked; name and phone
    masked unless `contact`."""
    return {
        **plain,
        "name": plain["name"] if contact else mask_person_name(plain["name"]),
        "phone": plain.get("phone") if contact else mask_phone(plain.get("phone")),
        "idNumber": mask_id_number(plain.get("idNumber")),
    }


# -- counters --------------------------------------------------------------------------------
def counters_of_household(doc: Mapping[str, Any]) -> Counter:
    """What one household adds to its building's rollup and every ancestor's (none once moved out)."""
    if doc.get("movedOutAt") is not None:
        return Counter()
    c = Counter({"householdCount": 1, "residentCount": int(doc.get("residentCount") or 0)})
    for t in doc.get("tags") or []:
        c[TAG_PREFIX + t] += 1
    return c


# What the other parts count of a household while it lives here (they set these fields).
STANDING = (
    ("mustVisit", "mustVisitCount"),
    ("visitOverdue", "overdueVisits"),
    ("linkedMemberIds", "linkedHouseholdCount"),
)


def standing_counters(doc: Mapping[str, Any]) -> Counter:
    """Every stock counter a live household holds: its own, and those its visit schedule and
    linked members add (a household moving out takes them all away)."""
    c = counters_of_household(doc)
    if c:
        for field_, counter in STANDING:
            if doc.get(field_):
                c[counter] += 1
    return c


def counter_delta(before: Counter, after: Counter) -> Counter:
    """after − before, keeping negative entries (a Counter's `-` drops them)."""
    out: Counter = Counter()
    for k in set(before) | set(after):
        if after[k] - before[k]:
            out[k] = after[k] - before[k]
    return out


def household_figures(counters: Mapping[str, Any]) -> dict[str, Any]:
    """A region's household figures from its (flat) rollup counters: every fixed counter (zero
    when none was counted) and the households per tag."""
    out: dict[str, Any] = {k: int(counters.get(k, 0)) for k in (*COUNTERS, *RELATED_COUNTERS)}
    out["byTag"] = [{"tag": t.value, "count": int(counters.get(TAG_PREFIX + t.value, 0))} for t in HouseholdTag]
    return out


def recount_households(docs: Iterable[Mapping[str, Any]]) -> dict[str, Counter]:
    """Household counters from the records, per region on the paths: what the rollups must equal."""
    totals: dict[str, Counter] = {}
    for d in docs:
        c = counters_of_household(d)
        if c:
            for r in d.get("path") or []:
                totals.setdefault(r, Counter()).update(c)
    return totals
