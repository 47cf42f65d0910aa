"""SMS and WeChat template-message providers behind one interface: `log` (development) and `http`.

`send(address, template_code, params, idempotency_key)`: `address` is a phone number or a WeChat
openid, held only for the call; nothing here logs it unmasked, and an error raised from here
never carries it (the HTTP provider's errors name the status only)."""

from __future__ import annotations

import logging
from typing import Protocol

import httpx

from shared.errors import BadInput
from shared.privacy import mask_phone
from shared.settings import InvalidSettings, Settings

log = logging.getLogger("yiwang.notifications.providers")


class SendFailed(Exception):
    """A provider did not take the message. `permanent`: retrying the same request cannot help."""

    def __init__(self, message: str, permanent: bool = False):
        super().__init__(message)
        self.permanent = permanent


class Provider(Protocol):
    channel: str

    async def send(self, address: str, template_code: str, params: dict[str, str], idempotency_key: str) -> None: ...

    async def close(self) -> None: ...


def masked(channel: str, address: str) -> str:
    if channel == "SMS":
        return mask_phone(address) or ""
    return (address[:4] + "****") if len(address) > 8 else "****"


class LogProvider:
    """Development: writes the template code, the masked address and the key to the log."""

    def __init__(self, channel: str):
        self.channel = channel
        self.sent = 0  # how many it was given (tests read it)

    async def send(self, address: str, template_code: str, params: dict[str, str], idempotency_key: str) -> None:
        self.sent += 1
        # Not the idempotency key: its inbox-key part is hex, which can hold a run of digits a
        # log scanner would take for a phone number.
        log.info("%s %s to %s", self.channel, template_code, masked(self.channel, address))

    async def close(self) -> None:
        return None


class HttpProvider:
    """Production: POST `{"to", "template", "params", "idempotencyKey"}` as JSON to the
    configured URL with `Authorization: Bearer <token>` and an `Idempotency-Key` header (the
    outgoing row's id: a retry after a lost answer is the same message to the gateway). A 2xx
    answer is sent; 408, 429 and 5xx are retried; any other 4xx is permanent."""

    def __init__(self, channel: str, url: str, token: str | None, timeout_s: float):
        self.channel, self.url = channel, url
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.client = httpx.AsyncClient(timeout=timeout_s, headers=headers, follow_redirects=False)

    async def send(self, address: str, template_code: str, params: dict[str, str], idempotency_key: str) -> None:
        body = {"to": address, "template": template_code, "params": params, "idempotencyKey": idempotency_key}
        try:
            r = await self.client.post(self.url, json=body, headers={"Idempotency-Key": idempotency_key})
        except httpx.HTTPError as e:  # the message names no address: httpx puts the URL, not the body, in it
            raise SendFailed(f"{self.channel} provider unreachable: {type(e).__name__}") from None
        if r.is_success:
            return
        permanent = 400 <= r.status_code < 500 and r.status_code not in (408, 429)
        raise SendFailed(f"{self.channel} provider answered {r.status_code}", permanent=permanent)

    async def close(self) -> None:
        await self.client.aclose()


def make_provider(channel: str, settings: Settings) -> Provider:
    """The provider the settings name for `channel` (SMS or WECHAT)."""
    prefix = "SMS" if channel == "SMS" else "WECHAT"
    kind = settings.sms_provider if channel == "SMS" else settings.wechat_provider
    url = settings.sms_url if channel == "SMS" else settings.wechat_url
    token = settings.sms_token if channel == "SMS" else settings.wechat_token
    if kind == "log":
        if settings.production:
            log.warning("YIWANG_%s_PROVIDER is log: %s messages are written to the log, not sent", prefix, channel)
        return LogProvider(channel)
    if not url:
        raise InvalidSettings(f"YIWANG_{prefix}_PROVIDER=http needs YIWANG_{prefix}_URL")
    if not url.startswith(("https://", "http://")):
        raise InvalidSettings(f"YIWANG_{prefix}_URL must be an http(s) URL")
    if settings.production and not url.startswith("https://"):
        raise InvalidSettings(f"YIWANG_{prefix}_URL must be https in production (it carries phone numbers)")
    return HttpProvider(channel, url, token, settings.notify_send_timeout_s)


__all__ = ["BadInput", "HttpProvider", "LogProvider", "Provider", "SendFailed", "make_provider", "masked"]
