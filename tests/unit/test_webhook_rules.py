"""Webhook rules: signatures and their replay window, URL and address checks, backoff, matching."""

from __future__ import annotations

import random

import pytest

from services.notifications.domain.backoff import backoff_s
from services.notifications.webhooks import rules, signing
from shared.errors import BadInput

SECRET = "whsec_test"
BODY = b'{"specversion":"1.0","id":"e1"}'


def test_a_signature_verifies_within_the_window_and_not_after():
    headers = signing.signed_headers(SECRET, BODY, "d1", now=1_000_000)
    ts, sig = headers[signing.TIMESTAMP_HEADER], headers[signing.SIGNATURE_HEADER]
    assert sig.startswith("sha256=") and len(sig) == 7 + 64
    assert signing.verify(SECRET, BODY, ts, sig, now=1_000_000 + 299)
    assert not signing.verify(SECRET, BODY, ts, sig, now=1_000_000 + 301)  # replayed later
    assert not signing.verify(SECRET, BODY, ts, sig, now=1_000_000 - 301)  # from the future
    assert not signing.verify("whsec_other", BODY, ts, sig, now=1_000_000)
    assert not signing.verify(SECRET, BODY + b" ", ts, sig, now=1_000_000)
    # the timestamp is under the signature: moving it forward breaks it
    assert not signing.verify(SECRET, BODY, str(1_000_100), sig, now=1_000_100)
    assert not signing.verify(SECRET, BODY, None, sig) and not signing.verify(SECRET, BODY, ts, None)
    assert not signing.verify(SECRET, BODY, "-5", sig, now=-5)


def test_the_signature_is_hmac_sha256_of_timestamp_dot_body():
    import hashlib
    import hmac

    expected = hmac.new(SECRET.encode(), b"1700000000." + BODY, hashlib.sha256).hexdigest()
    assert signing.signature(SECRET, 1700000000, BODY) == f"sha256={expected}"


def test_secrets_are_random_and_long():
    a, b = signing.new_secret(), signing.new_secret()
    assert a != b and a.startswith("whsec_") and len(a) >= 6 + 43


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/x",
        "file:///etc/passwd",
        "javascript:alert(1)",
        "https://user:pw@example.com/hook",
        "https://user@example.com/hook",
        "https:///nohost",
        "http://127.0.0.1/x",
        "http://localhost:8080/x",
        "http://10.1.2.3/x",
        "http://192.168.0.1/x",
        "http://172.16.5.5/x",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/x",
        "http://[fe80::1]/x",
        "http://[::ffff:127.0.0.1]/x",
        "http://0.0.0.0/x",
        "http://100.64.0.1/x",
        "http://example.com:99999/x",
        "https://example.com/a#frag",
        "https://example.com/a b",
        "https://example.com/" + "a" * 2100,
    ],
)
def test_urls_refused(url):
    with pytest.raises(BadInput) as e:
        rules.check_url(url, allow_private=False)
    assert e.value.details["field"] == "url"


def test_urls_accepted():
    assert rules.check_url("https://hooks.example.com/yiwang?x=1", allow_private=False)
    assert rules.check_url("http://8.8.8.8:8443/x", allow_private=False)
    # private addresses only where the deployment allows them (development, tests)
    assert rules.check_url("http://127.0.0.1:18220/x", allow_private=True)
    # but never credentials or another scheme
    with pytest.raises(BadInput):
        rules.check_url("http://u:p@127.0.0.1/x", allow_private=True)


def test_resolved_addresses_are_checked_each_one():
    rules.check_addresses(["93.184.216.34"], allow_private=False)
    with pytest.raises(BadInput):
        rules.check_addresses(["93.184.216.34", "10.0.0.7"], allow_private=False)
    with pytest.raises(BadInput):
        rules.check_addresses(["fe80::1%eth0"], allow_private=False)
    rules.check_addresses(["10.0.0.7"], allow_private=True)


def test_backoff_has_full_jitter_under_an_exponential_ceiling():
    rng = random.Random(7)
    for attempts in range(1, 12):
        ceiling = min(30.0, 0.5 * 2 ** (attempts - 1))
        draws = [backoff_s(attempts, 0.5, 30.0, rng) for _ in range(200)]
        assert all(0 <= d <= ceiling for d in draws)
        assert max(draws) > ceiling * 0.8 and min(draws) < ceiling * 0.2  # spread over the whole range


HOOK = {"active": True, "eventTypes": ["CASE_ACCEPTED", "CASE_RESOLVED"], "region": "c1", "dept": None}


def test_matching_by_type_and_region_subtree():
    assert rules.matches(HOOK, "CASE_ACCEPTED", ["city", "c1", "t1"], {})
    assert rules.matches(HOOK, "CASE_ACCEPTED", ["city", "c1"], {})
    assert not rules.matches(HOOK, "CASE_CLOSED", ["city", "c1"], {})
    assert not rules.matches(HOOK, "CASE_ACCEPTED", ["city", "c2", "t1"], {})
    assert not rules.matches(HOOK, "CASE_ACCEPTED", ["city"], {})  # above the webhook's region
    assert not rules.matches({**HOOK, "active": False}, "CASE_ACCEPTED", ["city", "c1"], {})


def test_the_first_case_events_are_taken_by_their_token_or_with_the_case_prefix():
    # on the bus a case's acceptance is `ACCEPTED` (…CASE_DISPATCHED has the prefix): either name works
    names = rules.type_names("cases", "ACCEPTED")
    assert names == ("ACCEPTED", "CASE_ACCEPTED")
    assert rules.matches(HOOK, names, ["city", "c1"], {})
    assert rules.matches({**HOOK, "eventTypes": ["ACCEPTED"]}, names, ["city", "c1"], {})
    assert rules.type_names("cases", "CASE_DISPATCHED") == ("CASE_DISPATCHED",)
    assert rules.type_names("volunteers", "ORDER_APPROVED") == ("ORDER_APPROVED",)
    assert not rules.matches(HOOK, rules.type_names("grids", "ACCEPTED"), ["city", "c1"], {})


def test_a_department_webhook_takes_only_its_departments_records():
    hook = {**HOOK, "dept": "c1:water"}
    assert rules.matches(hook, "CASE_ACCEPTED", ["city", "c1", "t1"], {"deptKeys": ["c1:water", "c1:roads"]})
    assert not rules.matches(hook, "CASE_ACCEPTED", ["city", "c1", "t1"], {"deptKeys": ["c1:roads"]})
    assert not rules.matches(hook, "CASE_ACCEPTED", ["city", "c1", "t1"], {})


def test_event_types_checked():
    assert rules.check_event_types(["CASE_ACCEPTED", "CASE_ACCEPTED"], None) == ["CASE_ACCEPTED"]
    for bad in ([], ["case accepted"], ["X" * 65], [f"T{i}" for i in range(51)]):
        with pytest.raises(BadInput):
            rules.check_event_types(bad, None)
    with pytest.raises(BadInput):
        rules.check_event_types(["NOPE"], {"CASE_ACCEPTED"})


async def test_a_name_resolving_to_a_private_address_is_refused_at_delivery():
    import httpx

    from services.notifications.webhooks.dispatcher import DeliveryFailed, Dispatcher
    from shared.privacy import FieldCipher
    from shared.settings import Settings

    strict = Dispatcher(None, FieldCipher("k"), Settings(env="test", webhook_allow_private=False))  # type: ignore[arg-type]
    with pytest.raises(BadInput):
        await strict._pinned(httpx.URL("http://localhost:1/x"))
    with pytest.raises(BadInput):  # an address spelled as a number passes as a name, and resolves inside
        await strict._pinned(httpx.URL("http://2130706433/x"))
    with pytest.raises(DeliveryFailed):
        await strict._pinned(httpx.URL("http://no-such-host.invalid/x"))
    lax = Dispatcher(None, FieldCipher("k"), Settings(env="test", webhook_allow_private=True))  # type: ignore[arg-type]
    url, extensions = await lax._pinned(httpx.URL("https://localhost:8443/x?y=1"))
    assert url.host in ("127.0.0.1", "::1") and url.port == 8443 and url.query == b"y=1"
    assert extensions == {"sni_hostname": "localhost"}  # TLS still checks the name
