"""Recipient keys: who a notification is for, and which keys a principal reads."""

from __future__ import annotations

import hashlib
import hmac

from shared.auth import Principal, Role

SUB, DEPT, GRID, MEMBER = "sub", "dept", "grid", "member"
KINDS = (SUB, DEPT, GRID, MEMBER)
KEY_MAX = 200  # characters of one recipient key (subs and ids are far shorter)


def sub_key(sub: str) -> str:
    return f"{SUB}:{sub}"


def dept_key(region: str, code: str) -> str:
    """A department's shared inbox; `<region>:<code>` is the cases service's department key."""
    return f"{DEPT}:{region}:{code}"


def grid_key(grid_id: str) -> str:
    """The grid workers of a grid."""
    return f"{GRID}:{grid_id}"


def member_key(member_id: str) -> str:
    return f"{MEMBER}:{member_id}"


def is_personal(key: str) -> bool:
    """A person's own inbox (preferences, SMS and WeChat apply); the others are shared."""
    return key.startswith(SUB + ":")


def sub_of(key: str) -> str | None:
    return key[len(SUB) + 1 :] if is_personal(key) else None


def valid_key(key: str) -> bool:
    kind, _, rest = key.partition(":")
    return kind in KINDS and bool(rest) and len(key) <= KEY_MAX and not any(c.isspace() for c in key)


def recipient_keys(p: Principal) -> list[str]:
    """The inboxes a principal reads: its own, its department's (a department token), its
    grid's (a grid worker, whose region is the grid) and its volunteer record's (a volunteer
    token naming a member). A service principal has none."""
    if p.role is Role.SERVICE:
        return []
    keys = [sub_key(p.sub)]
    if p.role is Role.DEPARTMENT and p.region and p.dept:
        keys.append(dept_key(p.region, p.dept))
    if p.role is Role.GRID_WORKER and p.region:
        keys.append(grid_key(p.region))
    if p.role is Role.VOLUNTEER and p.member:
        keys.append(member_key(p.member))
    return keys


def inbox_key(secret: bytes, recipient: str) -> str:
    """The subject token of a recipient's NOTIFICATION_ADDED events: not guessable from the
    recipient key (a sub or a department code) without the service's key."""
    return hmac.new(secret, recipient.encode(), hashlib.sha256).hexdigest()[:32]
