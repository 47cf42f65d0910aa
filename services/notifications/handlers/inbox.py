"""The caller's own inbox and preferences: `notification.*` and `preferences.*`.

Every verb reads and changes only the rows of the caller's recipient keys (`recipient_keys`);
a row of someone else is NOT_FOUND, as one that does not exist. A service has no inbox."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from services.notifications.domain import recipients as rk
from services.notifications.domain.preferences import Preferences
from services.notifications.domain.rules import TYPES
from services.notifications.store import SERVICE, NotificationStore, dto, preferences_of
from shared.auth import Principal
from shared.contracts import notifications as nc
from shared.errors import BadInput, Forbidden, NotFound
from shared.messaging.envelope import make_event
from shared.messaging.rpc import Request
from shared.mongo import UnitOfWork, now
from shared.privacy import FieldCipher
from shared.service import ServiceRuntime


def keys_of(p: Principal) -> list[str]:
    keys = rk.recipient_keys(p)
    if not keys:
        raise Forbidden("a service has no inbox", {"role": str(p.role)})
    return keys


def owner_of(row_id: str, by_token: dict[str, str]) -> str | None:
    """Which of the caller's keys a row id names (ids end with their recipient's inbox key;
    `by_token`: the caller's inbox keys to their recipient keys)."""
    return by_token.get(row_id.rpartition(":")[2])


def preferences_dto(p: Preferences, doc: dict[str, Any] | None, tz: str) -> dict[str, Any]:
    return {
        "channels": {"SMS": p.wants("SMS"), "WECHAT": p.wants("WECHAT")},
        "mutedTypes": list(p.muted_types),
        "quietHours": p.quiet_hours.model_dump() if p.quiet_hours else None,
        "timeZone": tz,
        "wechatBound": bool((doc or {}).get("wechat_openid_enc")),
    }


class Inbox:
    def __init__(self, rt: ServiceRuntime, store: NotificationStore, cipher: FieldCipher, inbox_secret: bytes):
        self.rt, self.store, self.cipher, self.secret = rt, store, cipher, inbox_secret
        self.tz = rt.settings.timezone
        ZoneInfo(self.tz)  # a zone that does not exist stops the service at start

    async def page(self, req: Request) -> dict[str, Any]:
        keys = keys_of(req.principal)
        q = req.parse(nc.ListNotifications)
        rows, total, more = await self.store.page(keys, q.unreadOnly, q.first, q.after)
        items = [dto(r) for r in rows]
        return {"items": items, "total": total, "hasNext": more, "endCursor": items[-1]["id"] if items else None}

    def tokens(self, keys: list[str]) -> dict[str, str]:
        return {rk.inbox_key(self.secret, k): k for k in keys}

    async def get(self, req: Request) -> dict[str, Any]:
        keys = keys_of(req.principal)
        q = req.parse(nc.NotificationId)
        row = await self.store.row(q.id) if owner_of(q.id, self.tokens(keys)) else None
        if row is None or row.get("recipient") not in keys:
            raise NotFound(f"notification {q.id} does not exist", {"id": q.id})
        return dto(row)

    async def mark_read(self, req: Request) -> dict[str, int]:
        keys = keys_of(req.principal)
        q = req.parse(nc.MarkRead)
        tokens = self.tokens(keys)
        mine = [(i, k) for i in dict.fromkeys(q.ids) if (k := owner_of(i, tokens))]
        return {"count": await self.store.mark_read(mine, now())}

    async def inbox_keys(self, req: Request) -> dict[str, list[str]]:
        keys = keys_of(req.principal)
        req.parse(nc.NoArgs)
        return {"keys": [rk.inbox_key(self.secret, k) for k in keys]}

    async def get_preferences(self, req: Request) -> dict[str, Any]:
        keys_of(req.principal)
        req.parse(nc.NoArgs)
        doc = await self.store.preferences_doc(req.principal.sub)
        return preferences_dto(preferences_of(doc), doc, self.tz)

    async def set_preferences(self, req: Request) -> dict[str, Any]:
        p = req.principal
        keys_of(p)
        q = req.parse(nc.SetPreferences)
        given = q.model_fields_set
        if not given:
            raise BadInput("name at least one preference to change", {"fields": []})
        fields: dict[str, Any] = {}
        unset: list[str] = []
        if "channels" in given:
            if q.channels is None:
                raise BadInput("channels: give {SMS, WECHAT}, not null", {"field": "channels"})
            fields["channels"] = {"SMS": q.channels.SMS, "WECHAT": q.channels.WECHAT}
        if "mutedTypes" in given:
            muted = list(dict.fromkeys(q.mutedTypes or []))
            if unknown := [t for t in muted if t not in TYPES]:
                raise BadInput(
                    f"mutedTypes: {', '.join(unknown)} is not a notification type; one of {', '.join(TYPES)}",
                    {"field": "mutedTypes", "unknown": unknown},
                )
            fields["muted_types"] = muted
        if "quietHours" in given:
            if q.quietHours is None:
                unset.append("quiet_hours")
            else:
                fields["quiet_hours"] = {"start": q.quietHours.start, "end": q.quietHours.end}
        if "wechatOpenId" in given:
            if q.wechatOpenId is None:
                unset.append("wechat_openid_enc")
            else:
                fields["wechat_openid_enc"] = self.cipher.encrypt(q.wechatOpenId)
        at = now()

        async def work(uow: UnitOfWork) -> dict[str, Any]:
            update: dict[str, Any] = {"$set": {**fields, "updated_at": at}}
            if unset:
                update["$unset"] = dict.fromkeys(unset, "")
            await uow.coll("preferences").update_one({"_id": p.sub}, update, upsert=True, session=uow.session)
            uow.record(
                make_event(
                    SERVICE,
                    "PREFERENCES_CHANGED",
                    rk.inbox_key(self.secret, rk.sub_key(p.sub)),
                    {"type": "PREFERENCES_CHANGED", "fields": sorted(given)},
                    path=[rk.inbox_key(self.secret, rk.sub_key(p.sub))],
                    actor=rk.inbox_key(self.secret, rk.sub_key(p.sub)),
                    at=at,
                )
            )
            return await uow.coll("preferences").find_one({"_id": p.sub}, session=uow.session)

        doc = await self.rt.transact(work)
        return preferences_dto(preferences_of(doc), doc, self.tz)
