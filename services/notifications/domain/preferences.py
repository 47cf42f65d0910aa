"""A person's preferences (muted types, SMS/WeChat opt-in, quiet hours) and the rules that read them."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field

SMS, WECHAT = "SMS", "WECHAT"
CHANNELS = (SMS, WECHAT)


class QuietHours(BaseModel):
    model_config = ConfigDict(frozen=True)

    start: str  # HH:MM, city time
    end: str  # HH:MM; not after `start` means the next morning


class Preferences(BaseModel):
    """Defaults: every type in the inbox, no SMS or WeChat, no quiet hours."""

    model_config = ConfigDict(frozen=True)

    channels: dict[str, bool] = Field(default_factory=lambda: {SMS: False, WECHAT: False})
    muted_types: tuple[str, ...] = ()
    quiet_hours: QuietHours | None = None

    def muted(self, notification_type: str) -> bool:
        return notification_type in self.muted_types

    def wants(self, channel: str) -> bool:
        return bool(self.channels.get(channel))


DEFAULT = Preferences()


def _clock(value: str) -> time:
    hh, mm = value.split(":")
    return time(int(hh), int(mm))


def quiet_until(at: datetime, quiet: QuietHours | None, tz: ZoneInfo) -> datetime | None:
    """When the quiet hours `at` falls in end (an aware time), or None outside them. Times are
    the city's (`tz`); a window whose end is not after its start runs over midnight
    (22:00–07:00); equal ends mean no quiet hours."""
    if quiet is None:
        return None
    start, end = _clock(quiet.start), _clock(quiet.end)
    if start == end:
        return None
    local = at.astimezone(tz)
    now = local.time()
    if start < end:
        inside = start <= now < end
        end_day = local.date()
    else:  # over midnight
        inside = now >= start or now < end
        end_day = local.date() + timedelta(days=1) if now >= start else local.date()
    if not inside:
        return None
    return datetime.combine(end_day, end, tzinfo=tz)
