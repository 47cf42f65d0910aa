"""Standing service posts (服务岗位) that volunteers claim (认领).

The store makes `claim` atomic with one conditional update whose filter is the rule of
`can_claim` (see `claim_filter`): status ACTIVE, `claimed_count < capacity`, and the
volunteer not among `claimants`; the update pushes the claimant and increments the count.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from shared.auth import Principal
from shared.errors import BadInput, Conflict, NotFound

from .base import NAME_MAX, TEXT_MAX, Aggregate, region_path, text
from .enums import Action, PostStatus, PostType
from .people import Volunteer
from .policy import acting_as, authorize

CAPACITY_MAX = 1000


class Claim(BaseModel):
    model_config = ConfigDict(frozen=True)

    volunteer_id: str
    sub: str
    at: datetime


class Post(Aggregate):
    """A duty anchored at a community or grid (`region_path` ends with it)."""

    kind: ClassVar[str] = "post"

    title: str
    post_type: PostType
    capacity: int
    duties: str = ""
    status: PostStatus = PostStatus.ACTIVE
    claimants: list[Claim] = Field(default_factory=list)
    claimed_count: int = 0  # == len(claimants); the field the store's filter compares

    @classmethod
    def create(
        cls,
        *,
        id: str,
        title: str,
        post_type: PostType,
        capacity: int,
        anchor_path: Iterable[str],
        by: Principal,
        now: datetime,
        duties: str = "",
    ) -> Post:
        if isinstance(capacity, bool) or not isinstance(capacity, int) or not 1 <= capacity <= CAPACITY_MAX:
            raise BadInput(f"capacity is an integer from 1 to {CAPACITY_MAX}", {"capacity": capacity})
        post = cls(
            id=id,
            title=text(title, "title", NAME_MAX),
            post_type=PostType(post_type),
            capacity=capacity,
            duties=text(duties, "duties", TEXT_MAX, required=False),
            region_path=region_path(anchor_path, "anchorPath"),
            created_at=now,
            updated_at=now,
        )
        authorize(by, Action.MANAGE_POST, post)
        post._emit("POST_CREATED", by, now, title=post.title, post_type=post.post_type, capacity=capacity)
        return post

    def claimed_by(self, volunteer_id: str) -> bool:
        return any(c.volunteer_id == volunteer_id for c in self.claimants)

    def claim(self, by: Principal, volunteer: Volunteer, now: datetime) -> None:
        authorize(by, Action.CLAIM_POST, self)
        acting_as(by, volunteer.sub, "claim a post")
        can_claim(self, volunteer.id)
        self._change(now)
        self.claimants.append(Claim(volunteer_id=volunteer.id, sub=volunteer.sub, at=now))
        self.claimed_count = len(self.claimants)
        self._emit(
            "POST_CLAIMED",
            by,
            now,
            volunteer_id=volunteer.id,
            member_id=volunteer.member_id,
            claimed_count=self.claimed_count,
        )

    def release(self, by: Principal, volunteer: Volunteer, now: datetime) -> None:
        """The volunteer lets go of their claim; staff may release anyone's."""
        if not is_staff_release(by, self):
            authorize(by, Action.CLAIM_POST, self)
            acting_as(by, volunteer.sub, "release a post")
        if not self.claimed_by(volunteer.id):
            raise NotFound(f"volunteer {volunteer.id} has not claimed post {self.id}")
        self._change(now)
        self.claimants = [c for c in self.claimants if c.volunteer_id != volunteer.id]
        self.claimed_count = len(self.claimants)
        self._emit("POST_RELEASED", by, now, volunteer_id=volunteer.id, claimed_count=self.claimed_count)

    def close(self, by: Principal, now: datetime) -> None:
        authorize(by, Action.MANAGE_POST, self)
        self._require("close", PostStatus.ACTIVE)
        self._change(now)
        self.status = PostStatus.CLOSED
        self._emit("POST_CLOSED", by, now, released=[c.volunteer_id for c in self.claimants])
        self.claimants, self.claimed_count = [], 0


def is_staff_release(by: Principal, post: Post) -> bool:
    from .policy import is_allowed

    return is_allowed(by, Action.MANAGE_POST, post)


def can_claim(post: Post, volunteer_id: str) -> None:
    """The claim rule, raising Conflict: the post is ACTIVE, has a free place
    (`claimed_count < capacity`) and the volunteer has not claimed it yet."""
    if post.status is not PostStatus.ACTIVE:
        raise Conflict(f"post {post.id} is {post.status}", {"status": str(post.status)})
    if post.claimed_by(volunteer_id):
        raise Conflict(f"volunteer {volunteer_id} has already claimed post {post.id}", {"volunteerId": volunteer_id})
    if post.claimed_count >= post.capacity:
        raise Conflict(
            f"post {post.id} is full ({post.claimed_count}/{post.capacity})",
            {"capacity": post.capacity, "claimed": post.claimed_count},
        )


def claim_filter(post_id: str, volunteer_id: str) -> dict[str, Any]:
    """The store's atomic version of `can_claim` as a MongoDB filter."""
    return {
        "_id": post_id,
        "status": PostStatus.ACTIVE.value,
        "claimants.volunteer_id": {"$ne": volunteer_id},
        "$expr": {"$lt": ["$claimed_count", "$capacity"]},
    }


def claims_of(posts: Iterable[Post], volunteer_id: str) -> list[Post]:
    """The posts a volunteer holds (shown on the member: 亮身份)."""
    return [p for p in posts if p.status is PostStatus.ACTIVE and p.claimed_by(volunteer_id)]
