"""The caller's inbox: `notifications`, `markNotificationsRead`, preferences, and `notificationAdded`."""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncGenerator, Awaitable, Callable
from datetime import datetime
from typing import Any

import strawberry
from strawberry.types import Info

from gateway.clients import NotificationsClient
from gateway.events import stream_events
from gateway.schema.case_types import Case, case_node
from gateway.schema.common import (
    Connection,
    Edge,
    PageInfo,
    ctx,
    decode_cursor,
    dto_type,
    encode_cursor,
    from_dto,
    when,
)
from gateway.schema.visits import Visit, visit_node
from gateway.schema.volunteer_types import ServiceOrder
from gateway.schema.volunteers import read_service_order
from shared.contracts import notifications as nc
from shared.errors import BadInput, Forbidden, NotFound
from shared.messaging.rpc import parse
from shared.messaging.subjects import EVT

_INBOX_KEY = re.compile(r"^[0-9a-f]{16,64}$")  # one subject token (hex), never a wildcard
# an inbox row id, `n<10 base32 digits of ms>:<eventId>:<rule>:<recipient>`: what a cursor holds
_ROW_ID = re.compile(r"^n[0-9a-z]{10}:\S{1,189}$")
ADDED = "NOTIFICATION_ADDED"


def inbox(info: Info) -> NotificationsClient:
    """The notifications service with the caller's token (UNAUTHENTICATED without a valid one)."""
    return ctx(info).notifications


async def _readable(load: Callable[[], Awaitable[dict | None]]) -> dict | None:
    """A linked record as the caller may read it now: None when it is gone or outside their scope."""
    try:
        dto = await load()
    except (Forbidden, NotFound):
        return None
    return dto if isinstance(dto, dict) else None


@strawberry.type(description="What a notification is about: `kind` CASE, ORDER, VISIT, MEETING or ACTIVITY, and its id")
class NotificationLink:
    kind: str = strawberry.field(description="CASE | ORDER | VISIT | MEETING | ACTIVITY")
    id: strawberry.ID

    @strawberry.field(description="The case, for kind CASE; null when you may no longer read it")
    async def case(self, info: Info) -> Case | None:
        if self.kind != "CASE":
            return None
        loader = ctx(info).loaders.case_by_id
        dto = await _readable(lambda: loader.load(str(self.id)))
        return case_node(dto) if dto else None

    @strawberry.field(description="The service order, for kind ORDER; null when you may no longer read it")
    async def service_order(self, info: Info) -> ServiceOrder | None:
        if self.kind != "ORDER":
            return None
        try:
            return await read_service_order(info, str(self.id))
        except (Forbidden, NotFound):
            return None

    @strawberry.field(description="The visit (走访), for kind VISIT; null when you may no longer read it")
    async def visit(self, info: Info) -> Visit | None:
        if self.kind != "VISIT":
            return None
        loader = ctx(info).loaders.visit_by_id
        dto = await _readable(lambda: loader.load(str(self.id)))
        return visit_node(dto) if dto else None


@dto_type(description="One message in your inbox (站内消息), written when something happened to your work")
class Notification:
    dto: strawberry.Private[dict[str, Any]]

    id: strawberry.ID = from_dto()
    type: str = from_dto(description="The event it tells of, e.g. CASE_ACCEPTED, CASE_RESOLVED, ORDER_APPROVED")
    title: str = from_dto()
    body: str = from_dto()
    at: datetime = from_dto(convert=when)
    read: bool = from_dto(default=False, description="Read by you (a department's inbox: by anyone of it)")

    @strawberry.field(description="What it is about; null for a notification about nothing in particular")
    def link(self) -> NotificationLink | None:
        link = self.dto.get("link")
        if not isinstance(link, dict) or not link.get("kind") or not link.get("id"):
            return None
        return NotificationLink(kind=str(link["kind"]), id=strawberry.ID(str(link["id"])))


def notification_node(dto: dict) -> Notification:
    return Notification(dto=dto)


NotificationConnection = Connection[Notification]


def inbox_page(page: dict) -> Connection[Notification]:
    """The service's page ({items, total, hasNext}) as a connection; each cursor is its row's id."""
    edges = [Edge(cursor=encode_cursor(i["id"]), node=notification_node(i)) for i in page.get("items") or []]
    return Connection(
        edges=edges,
        total_count=int(page.get("total") or 0),
        page_info=PageInfo(
            has_next_page=bool(page.get("hasNext")),
            has_previous_page=False,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
    )


def list_request(unread_only: bool | None, first: int | None, after: str | None) -> nc.ListNotifications:
    """The page asked for, checked against the verb's contract (`first` 1..100)."""
    request: dict[str, Any] = {"unreadOnly": bool(unread_only)}
    if first is not None:
        request["first"] = first
    if after is not None:
        row = decode_cursor(after)
        if not row or not _ROW_ID.match(row):
            raise BadInput("`after` is not a cursor this API returned")
        request["after"] = row
    return parse(nc.ListNotifications, request)


def read_ids(ids: list[strawberry.ID]) -> nc.MarkRead:
    """Distinct ids, at most 100 of them, each the id of a notification (anyone's: those not the
    caller's are ignored by the service, so an id says nothing of whose it is)."""
    request = parse(nc.MarkRead, {"ids": list(dict.fromkeys(str(i) for i in ids))})
    bad = [i for i in request.ids if not _ROW_ID.match(i)]
    if bad:
        raise BadInput("`ids` takes the `id` of notifications, as `notifications` lists them", {"invalid": bad[:5]})
    return request


# ---- preferences --------------------------------------------------------------------------------
@strawberry.type(description="Channels besides the inbox, which always receives")
class NotificationChannels:
    sms: bool = strawberry.field(description="Text messages (短信) to your phone on record")
    wechat: bool = strawberry.field(description="WeChat template messages (微信模板消息)")


@strawberry.type(description="Quiet hours in the city's time zone: text and WeChat messages wait until `end`")
class QuietHours:
    start: str = strawberry.field(description="HH:MM, e.g. 22:00")
    end: str = strawberry.field(description="HH:MM, e.g. 07:00 (the next morning when before `start`)")


@strawberry.type(description="How you are told: channels, muted event types and quiet hours")
class NotificationPreferences:
    channels: NotificationChannels
    muted_types: list[str] = strawberry.field(description="Event types you are not told of, e.g. CASE_URGED")
    quiet_hours: QuietHours | None = strawberry.field(description="Null: messages go out at any hour")
    time_zone: str | None = strawberry.field(description="The zone quiet hours are read in, e.g. Asia/Shanghai")


def preferences_node(d: dict) -> NotificationPreferences:
    channels = d.get("channels") or {}
    quiet = d.get("quietHours")
    return NotificationPreferences(
        channels=NotificationChannels(sms=bool(channels.get("SMS")), wechat=bool(channels.get("WECHAT"))),
        muted_types=list(d.get("mutedTypes") or []),
        quiet_hours=QuietHours(start=quiet["start"], end=quiet["end"]) if isinstance(quiet, dict) else None,
        time_zone=d.get("timeZone"),
    )


@strawberry.input
class NotificationChannelsInput:
    sms: bool
    wechat: bool


@strawberry.input
class QuietHoursInput:
    start: str = strawberry.field(description="HH:MM")
    end: str = strawberry.field(description="HH:MM")


@strawberry.input(description="The preferences to change; a field left out keeps its value")
class NotificationPreferencesInput:
    channels: NotificationChannelsInput | None = strawberry.UNSET
    muted_types: list[str] | None = strawberry.field(
        default=strawberry.UNSET, description=f"Event types not to be told of (at most {nc.MAX_MUTED})"
    )
    quiet_hours: QuietHoursInput | None = strawberry.field(default=strawberry.UNSET, description="null: none")


def preferences_request(i: NotificationPreferencesInput) -> nc.SetPreferences:
    """The fields given (null quietHours: none), checked against the verb's contract."""
    request: dict[str, Any] = {}
    if i.channels is not strawberry.UNSET and i.channels is not None:
        request["channels"] = {"SMS": i.channels.sms, "WECHAT": i.channels.wechat}
    if i.muted_types is not strawberry.UNSET:
        if i.muted_types is None:
            raise BadInput("`mutedTypes` takes a list; [] mutes nothing")
        request["mutedTypes"] = sorted(set(i.muted_types))
    if i.quiet_hours is not strawberry.UNSET:
        q = i.quiet_hours
        request["quietHours"] = None if q is None else {"start": q.start, "end": q.end}
    return parse(nc.SetPreferences, request)


# ---- operations ---------------------------------------------------------------------------------
@strawberry.type
class NotificationsQuery:
    @strawberry.field(description="Your inbox, newest first (a department token: its department's shared inbox too)")
    async def notifications(
        self, info: Info, unread_only: bool | None = None, first: int | None = None, after: str | None = None
    ) -> NotificationConnection:
        return inbox_page(await inbox(info).list_notifications(list_request(unread_only, first, after)))

    @strawberry.field(description="How you are told of what happens to your work")
    async def notification_preferences(self, info: Info) -> NotificationPreferences:
        return preferences_node(await inbox(info).get_preferences())


@strawberry.type
class NotificationsMutation:
    @strawberry.mutation(
        description=f"Marks these notifications of yours read (up to {nc.MAX_MARK}); returns how many "
        "were unread and are read now. Ids that are not yours are ignored"
    )
    async def mark_notifications_read(self, info: Info, ids: list[strawberry.ID]) -> int:
        client = inbox(info)  # a missing token first: UNAUTHENTICATED, whatever the ids
        wanted = read_ids(ids)
        if not wanted.ids:
            return 0
        return int((await client.mark_read(wanted)).get("count") or 0)

    @strawberry.mutation(description="Changes your preferences; returns them as they now are")
    async def set_notification_preferences(
        self, info: Info, input: NotificationPreferencesInput
    ) -> NotificationPreferences:
        return preferences_node(await inbox(info).set_preferences(preferences_request(input)))


def added_filters(keys: list[str]) -> list[str]:
    """The subjects of the NOTIFICATION_ADDED events of these inbox keys (each key one exact token)."""
    return [f"{EVT}.notifications.{ADDED}.{k}" for k in keys]


@strawberry.type
class NotificationsSubscription:
    @strawberry.subscription(
        description="Each notification as it reaches your inbox, from now on (what came before: `notifications`)"
    )
    async def notification_added(self, info: Info) -> AsyncGenerator[Notification, None]:
        c = ctx(info)
        client = inbox(info)
        keys = [k for k in (await client.inbox_keys()).get("keys") or [] if isinstance(k, str) and _INBOX_KEY.match(k)]
        if not keys:
            raise Forbidden("this token has no inbox")
        mine = set(keys)
        feed = stream_events(
            c.nc,
            {"notifications": added_filters(keys)},
            [],
            resume_hint="subscribe again; `notifications(unreadOnly: true)` lists what came meanwhile",
        )
        async with contextlib.aclosing(feed):
            async for d in feed:
                c.principal  # noqa: B018 - a feed ends when its token expires
                e = d.event
                if e.event != ADDED or not e.path or e.path[-1] not in mine:  # never trust the filter alone
                    continue
                row = (e.data or {}).get("notificationId")
                if not isinstance(row, str):
                    continue
                try:
                    dto = await client.get_notification(parse(nc.NotificationId, {"id": row}))
                except (BadInput, NotFound):
                    continue  # not (or no longer) in this caller's inbox
                link = dto.get("link") or {}
                if link.get("kind") == "CASE":  # one context serves the connection: read the case afresh
                    with contextlib.suppress(KeyError):
                        c.loaders.case_by_id.clear(str(link.get("id")))
                yield notification_node(dto)
