"""Webhook rules free of I/O: URL checks, address checks, backoff with full jitter, matching."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from shared.errors import BadInput

MAX_URL_LENGTH = 2048
MAX_WEBHOOKS_PER_OWNER = 20
MAX_EVENT_TYPES = 50
EVENT_TYPE = re.compile(r"^[A-Z][A-Z0-9_]{0,63}$")  # as in subjects: CASE_ACCEPTED, ORDER_APPROVED


def check_url(url: str, *, allow_private: bool) -> str:
    """`url` when it is an absolute http(s) URL without credentials whose host, when written as
    an address, is public (or `allow_private`); BadInput naming what is wrong otherwise. A host
    name is checked again after it resolves, at every delivery (`check_addresses`)."""
    if len(url) > MAX_URL_LENGTH:
        raise BadInput(f"url: at most {MAX_URL_LENGTH} characters", {"field": "url"})
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as e:
        raise BadInput(f"url: not a valid URL ({e})", {"field": "url"}) from e
    if parts.scheme not in ("http", "https"):
        raise BadInput("url: the scheme must be http or https", {"field": "url"})
    if parts.username is not None or parts.password is not None:
        raise BadInput("url: credentials in the URL are refused (the signature authenticates)", {"field": "url"})
    host = parts.hostname
    if not host:
        raise BadInput("url: a host is required", {"field": "url"})
    if port == 0:
        raise BadInput("url: port 0 is not a port", {"field": "url"})
    if parts.fragment:
        raise BadInput("url: a fragment is never sent; leave it out", {"field": "url"})
    if any(c.isspace() or ord(c) < 0x20 for c in url):
        raise BadInput("url: whitespace and control characters are refused", {"field": "url"})
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        if host.rstrip(".").lower() in ("localhost", "localhost.localdomain") or host.endswith(".localhost"):
            address = ipaddress.ip_address("127.0.0.1")
        else:
            return url
    check_addresses([str(address)], allow_private=allow_private)
    return url


def refused_address(address: str) -> bool:
    """An address a webhook must not reach: loopback, private, link-local (cloud metadata),
    multicast, reserved, unspecified, shared (CGNAT), and the same inside IPv4-mapped IPv6."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast


def check_addresses(addresses: Iterable[str], *, allow_private: bool) -> None:
    """BadInput when any address a host resolved to is refused (one bad record is enough: the
    connection may use any of them)."""
    if allow_private:
        return
    bad = [a for a in addresses if refused_address(a)]
    if bad:
        raise BadInput(
            "url: the host is a private, loopback or link-local address; webhooks reach public addresses only",
            {"field": "url", "address": bad[0]},
        )


def dept_key(region: str, code: str) -> str:
    return f"{region}:{code}"


def type_names(service: str, event_type: str) -> tuple[str, ...]:
    """The names a webhook may give an event type by: its subject token, and for the first case
    events, whose tokens lack the prefix (`ACCEPTED`), also the name the inbox and the rest of the
    cases events use (`CASE_ACCEPTED`), so either registration receives them."""
    if service == "cases" and not event_type.startswith("CASE_"):
        return (event_type, f"CASE_{event_type}")
    return (event_type,)


def matches(
    hook: Mapping[str, Any], event_type: str | Sequence[str], path: Sequence[str], data: Mapping[str, Any]
) -> bool:
    """A webhook takes an event of one of its types (any of the event's `type_names`), in its
    region's subtree, and, for a department's webhook, only of a record its department is on
    (`data.deptKeys`)."""
    names = (event_type,) if isinstance(event_type, str) else tuple(event_type)
    if not hook.get("active", True) or not set(names) & set(hook["eventTypes"]):
        return False
    if hook["region"] not in path:
        return False
    dept = hook.get("dept")
    return dept is None or dept in (data.get("deptKeys") or ())


def check_event_types(types: Sequence[str], known: set[str] | None) -> list[str]:
    """The distinct types asked for, each one the services publish (when `known` is given)."""
    distinct = list(dict.fromkeys(types))
    if not distinct:
        raise BadInput("eventTypes: name at least one event type", {"field": "eventTypes"})
    if len(distinct) > MAX_EVENT_TYPES:
        raise BadInput(f"eventTypes: at most {MAX_EVENT_TYPES}", {"field": "eventTypes"})
    malformed = [t for t in distinct if not EVENT_TYPE.match(t)]
    if malformed:
        raise BadInput(
            f"eventTypes: {malformed[0][:70]!r} is not an event type (upper case, like CASE_ACCEPTED)",
            {"field": "eventTypes"},
        )
    if known is not None:
        unknown = [t for t in distinct if t not in known]
        if unknown:
            raise BadInput(
                f"eventTypes: unknown event type {unknown[0]!r}", {"field": "eventTypes", "unknown": unknown}
            )
    return distinct
