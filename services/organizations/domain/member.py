"""Party members (党员): registration checks, category, home building and 双报到.
Phone and ID number arrive encrypted with a blind index; the domain never sees them clear."""

from __future__ import annotations

from datetime import date, datetime
from typing import ClassVar

from pydantic import BaseModel

from shared.auth import Principal
from shared.errors import BadInput, Conflict
from shared.vocabulary.territory import Level

from .enums import Action, Gender, MemberCategory, MemberStatus, OrgType
from .events import Aggregate
from .organization import Organization
from .policy import authorize
from .values import Node, text

ADULT_AGE = 18


def adulthood(birth: date) -> date:
    """The 18th birthday (29 February births: 1 March)."""
    try:
        return birth.replace(year=birth.year + ADULT_AGE)
    except ValueError:
        return date(birth.year + ADULT_AGE, 3, 1)


def check_dates(birth_date: date, join_date: date, today: date) -> None:
    if birth_date >= today:
        raise BadInput("birth date must be in the past", {"birthDate": birth_date.isoformat()})
    if join_date > today:
        raise BadInput("join date cannot be in the future", {"joinDate": join_date.isoformat()})
    if join_date < adulthood(birth_date):
        raise BadInput(
            "a member joins the party at 18 or older",
            {"joinDate": join_date.isoformat(), "birthDate": birth_date.isoformat()},
        )


class DualRegistration(BaseModel):
    """双报到: an in-service member registered with their residential community."""

    community_id: str
    community_path: tuple[str, ...]
    registered_at: datetime
    ended_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.ended_at is None


class PartyMember(Aggregate):
    aggregate_name: ClassVar[str] = "member"

    name: str
    gender: Gender
    birth_date: date
    join_date: date
    phone_enc: str | None = None
    phone_index: str | None = None
    id_number_enc: str | None = None
    id_number_index: str | None = None
    category: MemberCategory
    org_id: str
    org_path: tuple[str, ...]
    home_building_id: str | None = None
    home_path: tuple[str, ...] | None = None
    status: MemberStatus = MemberStatus.ACTIVE
    open_transfer_id: str | None = None
    dual: DualRegistration | None = None
    registered_at: datetime

    @property
    def scope_path(self) -> tuple[str, ...]:
        return self.org_path

    @property
    def active_dual(self) -> DualRegistration | None:
        """The member's 双报到 registration while it is active, else None."""
        return self.dual if self.dual is not None and self.dual.active else None

    @property
    def dual_active(self) -> bool:
        return self.active_dual is not None

    @classmethod
    def register(
        cls,
        *,
        id: str,
        name: str,
        gender: Gender,
        birth_date: date,
        join_date: date,
        category: MemberCategory,
        org: Organization,
        by: Principal,
        now: datetime,
        home: Node | None = None,
        phone_enc: str | None = None,
        phone_index: str | None = None,
        id_number_enc: str | None = None,
        id_number_index: str | None = None,
    ) -> PartyMember:
        check_dates(birth_date, join_date, now.date())
        check_member_org(org)
        member = cls(
            id=id,
            name=text(name, "name"),
            gender=gender,
            birth_date=birth_date,
            join_date=join_date,
            category=category,
            org_id=org.id,
            org_path=org.anchor_path,
            phone_enc=phone_enc,
            phone_index=phone_index,
            id_number_enc=id_number_enc,
            id_number_index=id_number_index,
            registered_at=now,
            updated_at=now,
        )
        member._set_home(home)
        authorize(by, Action.MANAGE_MEMBER, member)
        member._emit(
            "MEMBER_REGISTERED", by, now, orgId=org.id, category=str(category), homeBuildingId=member.home_building_id
        )
        return member

    def update(
        self,
        by: Principal,
        now: datetime,
        *,
        category: MemberCategory | None = None,
        home: Node | None = None,
        phone_enc: str | None = None,
        phone_index: str | None = None,
    ) -> None:
        """Change category, home building or phone. Leaving IN_SERVICE ends a 双报到."""
        authorize(by, Action.MANAGE_MEMBER, self)
        if home is not None:
            _check_home(home)
        changed: dict[str, object] = {}
        if category is not None and category is not self.category:
            changed["category"] = category
        if home is not None and home.id != self.home_building_id:
            changed["homeBuildingId"] = home.id
        if phone_enc is not None and phone_enc != self.phone_enc:
            changed["phone"] = "changed"
        if not changed:
            return
        self._change(now)
        if category is not None and "category" in changed:
            self.category = category
        if "homeBuildingId" in changed:
            self._set_home(home)
        if "phone" in changed:
            self.phone_enc, self.phone_index = phone_enc, phone_index
        self._emit("MEMBER_UPDATED", by, now, **{k: str(v) for k, v in changed.items()})
        if self.category is not MemberCategory.IN_SERVICE and self.dual_active:
            self._end_dual(by, now, "no longer in service")

    def reveal_contact(self, by: Principal, reason: str, now: datetime) -> None:
        """Audit of an admin seeing the phone and ID number unmasked; changes nothing else."""
        authorize(by, Action.MANAGE_MEMBER, self)
        why = text(reason, "reason", 500)
        self._change(now)
        self._emit("MEMBER_CONTACT_REVEALED", by, now, reason=why)

    # ---- 双报到 -------------------------------------------------------------------------
    def dual_register(self, community: Node, by: Principal, now: datetime) -> None:
        """An in-service member registers with the community where they live; one active
        registration at a time. The event is published under the community's path."""
        authorize(by, Action.DUAL_REGISTER, self)
        if self.category is not MemberCategory.IN_SERVICE:
            raise BadInput("only in-service members (在职党员) dual-register", {"category": str(self.category)})
        if community.level is not Level.COMMUNITY:
            raise BadInput(f"{community.id} is a {community.level}, not a COMMUNITY")
        if (dual := self.active_dual) is not None:
            raise Conflict(
                f"member {self.id} is already registered with community {dual.community_id}",
                {"communityId": dual.community_id},
            )
        self._change(now)
        self.dual = DualRegistration(community_id=community.id, community_path=community.path, registered_at=now)
        self._emit_at(
            community.path,
            "DUAL_REGISTERED",
            by,
            now,
            memberOrgId=self.org_id,
            communityId=community.id,
            orgPath=self.org_path,
        )

    def end_dual_registration(self, by: Principal, now: datetime, reason: str) -> None:
        authorize(by, Action.DUAL_REGISTER, self)
        if not self.dual_active:
            raise Conflict(f"member {self.id} has no active 双报到 registration")
        self._change(now)
        self._end_dual(by, now, text(reason, "reason", 200))

    def _end_dual(self, by: Principal, now: datetime, reason: str) -> None:
        assert self.dual is not None
        self.dual = self.dual.model_copy(update={"ended_at": now})
        self._emit_at(
            self.dual.community_path,
            "DUAL_REGISTRATION_ENDED",
            by,
            now,
            communityId=self.dual.community_id,
            reason=reason,
        )

    def _set_home(self, home: Node | None) -> None:
        if home is None:
            return
        _check_home(home)
        self.home_building_id, self.home_path = home.id, home.path


def _check_home(home: Node) -> None:
    if home.level is not Level.BUILDING:
        raise BadInput(f"a home is a BUILDING, not a {home.level}", {"homeId": home.id})


def check_member_org(org: Organization) -> None:
    if org.type is OrgType.CENTER_HOUSEHOLD:
        raise BadInput(
            "a CENTER_HOUSEHOLD is a member household, not an organisation that holds membership", {"orgId": org.id}
        )
