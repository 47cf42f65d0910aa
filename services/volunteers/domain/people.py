"""Volunteers and teams."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, ClassVar, NamedTuple

from pydantic import BaseModel, ConfigDict, Field

from shared.auth import Principal, Role
from shared.errors import BadInput, Conflict, NotFound

from .base import NAME_MAX, Aggregate, region_path, text
from .enums import Action, VolunteerKind
from .policy import authorize, authorize_profile_edit


class MemberRef(BaseModel):
    """A party member as known from the replica fed by `organizations` events."""

    model_config = ConfigDict(frozen=True)

    member_id: str
    org_id: str
    in_service: bool = False  # 在职党员, reporting to the community (双报到)
    work_unit_id: str | None = None


def community_path(region_id: str, path: Sequence[str], levels: Sequence[str | None]) -> list[str]:
    """The path of the community a region (community, grid or building) lies in: `path` is the
    region's path from the top, `levels[i]` the level of `path[i]` (None where unknown)."""
    for i, level in enumerate(levels):
        if level == "COMMUNITY":
            return list(path[: i + 1])
    raise BadInput(f"region {region_id} is not in a community")


class MemberChange(NamedTuple):
    """What an `organizations` event changes in the replica of party members: the member,
    the fields, and whether they are set only when the member is first seen."""

    member_id: str
    fields: dict[str, Any]
    on_insert: bool = False


def member_change(event: str, subject: str, data: Mapping[str, Any]) -> MemberChange | None:
    """The replica keeps a member's organisation (the work unit side) and whether they are in
    service (在职党员); other events change nothing here."""
    if event == "MEMBER_REGISTERED":
        return MemberChange(
            subject, {"org_id": data["orgId"], "in_service": data.get("category") == "IN_SERVICE"}, on_insert=True
        )
    if event == "MEMBER_UPDATED" and "category" in data:
        return MemberChange(subject, {"in_service": data["category"] == "IN_SERVICE"})
    if event == "TRANSFER_APPROVED":
        return MemberChange(data["memberId"], {"org_id": data["toOrgId"]})
    return None


def _tags(values: Iterable[str], what: str) -> tuple[str, ...]:
    out = tuple(dict.fromkeys(text(v, what, 32) for v in values))
    if len(out) > 20:
        raise BadInput(f"at most 20 {what} entries", {"field": what})
    return out


class Volunteer(Aggregate):
    """A person offering service; `region_path` is their home community's path."""

    kind: ClassVar[str] = "volunteer"

    sub: str  # the person's principal subject
    name: str
    volunteer_kind: VolunteerKind
    member: MemberRef | None = None
    phone_enc: str | None = None  # encrypted outside the domain
    skills: tuple[str, ...] = ()
    availability: tuple[str, ...] = ()  # e.g. "SAT_AM", "WEEKDAY_EVENING"

    @property
    def member_id(self) -> str | None:
        return self.member.member_id if self.member else None

    @property
    def in_service_member(self) -> bool:
        return self.member is not None and self.member.in_service

    @classmethod
    def register(
        cls,
        *,
        id: str,
        sub: str,
        name: str,
        home_path: Iterable[str],
        by: Principal,
        now: datetime,
        member_id: str | None = None,
        members: dict[str, MemberRef] | None = None,
        phone_enc: str | None = None,
        skills: Iterable[str] = (),
        availability: Iterable[str] = (),
    ) -> Volunteer:
        """A resident registers themself, staff register anyone. With `member_id` the
        volunteer is a party member, which the organisations replica (`members`) must know."""
        if by.role in (Role.RESIDENT, Role.VOLUNTEER):
            sub = by.sub
        member = None
        if member_id is not None:
            member = (members or {}).get(member_id)
            if member is None:
                raise NotFound(f"party member {member_id} is not known", {"memberId": member_id})
        v = cls(
            id=id,
            sub=sub,
            name=text(name, "name", NAME_MAX),
            volunteer_kind=VolunteerKind.PARTY_MEMBER if member else VolunteerKind.RESIDENT,
            member=member,
            phone_enc=phone_enc,
            skills=_tags(skills, "skills"),
            availability=_tags(availability, "availability"),
            region_path=region_path(home_path, "homePath"),
            created_at=now,
            updated_at=now,
        )
        authorize(by, Action.REGISTER_VOLUNTEER, v)
        v._emit(
            "VOLUNTEER_REGISTERED",
            by,
            now,
            sub=v.sub,
            kind=v.volunteer_kind,
            member_id=v.member_id,
            skills=list(v.skills),
        )
        return v

    def update_profile(
        self,
        by: Principal,
        now: datetime,
        *,
        skills: Iterable[str] | None = None,
        availability: Iterable[str] | None = None,
    ) -> None:
        authorize_profile_edit(by, self)
        new_skills = _tags(skills, "skills") if skills is not None else self.skills
        new_avail = _tags(availability, "availability") if availability is not None else self.availability
        self._change(now)
        self.skills, self.availability = new_skills, new_avail
        self._emit("VOLUNTEER_UPDATED", by, now, skills=list(new_skills), availability=list(new_avail))


class Team(Aggregate):
    """志愿服务队: a leader and members, anchored in a region."""

    kind: ClassVar[str] = "team"

    name: str
    leader_id: str
    member_ids: list[str] = Field(default_factory=list)

    @classmethod
    def create(
        cls, *, id: str, name: str, leader: Volunteer, path: Iterable[str], by: Principal, now: datetime
    ) -> Team:
        team = cls(
            id=id,
            name=text(name, "name", NAME_MAX),
            leader_id=leader.id,
            member_ids=[leader.id],
            region_path=region_path(path),
            created_at=now,
            updated_at=now,
        )
        authorize(by, Action.MANAGE_TEAM, team)
        team._emit("TEAM_CREATED", by, now, name=team.name, leader_id=leader.id)
        return team

    def add_member(self, by: Principal, volunteer: Volunteer, now: datetime) -> None:
        authorize(by, Action.MANAGE_TEAM, self)
        if volunteer.id in self.member_ids:
            raise Conflict(f"volunteer {volunteer.id} is already in team {self.id}")
        self._change(now)
        self.member_ids.append(volunteer.id)
        self._emit("TEAM_MEMBER_ADDED", by, now, volunteer_id=volunteer.id)

    def remove_member(self, by: Principal, volunteer_id: str, now: datetime) -> None:
        authorize(by, Action.MANAGE_TEAM, self)
        if volunteer_id not in self.member_ids:
            raise NotFound(f"volunteer {volunteer_id} is not in team {self.id}")
        if volunteer_id == self.leader_id:
            raise Conflict(f"volunteer {volunteer_id} leads team {self.id}; name another leader first")
        self._change(now)
        self.member_ids.remove(volunteer_id)
        self._emit("TEAM_MEMBER_REMOVED", by, now, volunteer_id=volunteer_id)
