"""The notifications service's pure rules: the rule table, recipient keys, preferences, quiet
hours, row ids and the providers' masking."""
from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from services.notifications.domain import preferences as prefs
from services.notifications.domain import recipients as rk
from services.notifications.domain import rules as r
from services.notifications.handlers.deliver import Deliverer
from services.notifications.handlers.inbox import owner_of
from services.notifications.providers import LogProvider, make_provider
from shared.auth import Principal, Role
from shared.contracts import notifications as nc
from shared.errors import BadInput
from shared.messaging.rpc import parse
from shared.settings import InvalidSettings, Settings

TZ = ZoneInfo("Asia/Shanghai")
CASE = {
    "id": "c1", "title": "小区路灯不亮", "categoryCode": "LIGHT", "categoryName": "路灯", "gridId": "g1",
    "dueAt": datetime(2026, 12, 8, 9, 0, tzinfo=UTC), "reporterSubs": ["r1", "r2", "r1"],
    "assignee": {"kind": "GRID_WORKER", "id": "w1", "sub": "w1"}, "deptKeys": [], "handlerKeys": [],
    "dispatcherSub": "op1",
}


def keys_for(event: str, reply: dict, service: str = "cases") -> list[str]:
    (rule,) = r.rules_for(service, event)
    facts = r.case_facts(reply) if service == "cases" else r.order_facts(reply)
    return r.recipients(rule, facts)


def test_case_events_go_to_the_audience_the_table_names():
    assert r.notification_type("cases", "ACCEPTED") == "CASE_ACCEPTED"
    assert r.notification_type("cases", "CASE_URGED") == "CASE_URGED"
    assert r.notification_type("volunteers", "ORDER_TAKEN") == "ORDER_TAKEN"
    for event in ("ACCEPTED", "RESOLVED", "REJECTED", "CLOSED"):
        assert keys_for(event, CASE) == ["sub:r1", "sub:r2"]  # each reporter once
    for event in ("ASSIGNED", "CASE_URGED", "DUE_SOON", "ESCALATED"):
        assert keys_for(event, CASE) == ["sub:w1"]
    assert keys_for("RETURNED", CASE) == ["sub:op1"]
    assert keys_for("RETURNED", CASE | {"dispatcherSub": None}) == ["grid:g1"]
    assert r.rules_for("cases", "REPORTED") == () and r.rules_for("cases", "STARTED") == ()
    assert r.rules_for("organizations", "MEETING_SCHEDULED") == ()


def test_a_department_assignee_is_its_shared_inbox():
    dept = CASE | {"assignee": {"kind": "DEPARTMENT", "id": "HOUSING", "sub": None},
                   "handlerKeys": ["310104:HOUSING", "310104:WATER"], "deptKeys": ["310104:HOUSING", "310104:WATER"]}
    assert keys_for("CASE_URGED", dept) == ["dept:310104:HOUSING"]
    assert keys_for("CASE_DISPATCHED", dept) == ["dept:310104:HOUSING", "dept:310104:WATER"]
    # assigned to a code with no handler entry yet: every directory on the path that may hold it
    coded = dept | {"handlerKeys": [], "deptKeys": ["310000:HOUSING", "310104:HOUSING"]}
    assert keys_for("ASSIGNED", coded) == ["dept:310000:HOUSING", "dept:310104:HOUSING"]
    # a community has no inbox of its own; nobody is invented
    assert keys_for("ASSIGNED", CASE | {"assignee": {"kind": "COMMUNITY", "id": "c", "sub": None}}) == []
    assert keys_for("ASSIGNED", CASE | {"assignee": None}) == []


def test_orders_and_visits():
    order = {"id": "o1", "category": "助餐", "residentSub": "res", "matchingSubs": ["v1", "v2", "v1"]}
    assert keys_for("ORDER_APPROVED", order, "volunteers") == ["sub:v1", "sub:v2"]
    assert keys_for("ORDER_TAKEN", order, "volunteers") == ["sub:res"]
    assert keys_for("ORDER_COMPLETED", order, "volunteers") == ["sub:res"]
    (rule,) = r.rules_for("grids", "VISIT_OVERDUE")
    facts = r.visit_facts("h1", {"gridId": "g9"})
    assert facts is not None and r.recipients(rule, facts) == ["grid:g9"]
    assert r.visit_facts("h1", {}) is None
    many = order | {"matchingSubs": [f"v{i}" for i in range(2 * r.MAX_RECIPIENTS)]}
    assert len(keys_for("ORDER_APPROVED", many, "volunteers")) == r.MAX_RECIPIENTS


def test_templates_are_chinese_with_the_case_title_and_a_local_deadline():
    (rule,) = r.rules_for("cases", "ACCEPTED")
    title, body = r.render(rule, r.case_facts(CASE), TZ)
    assert title == "您反映的问题已受理"
    assert body == "您反映的“小区路灯不亮”已受理，将于12月8日17:00前办理完毕。"  # 09:00 UTC is 17:00 in Shanghai
    (assigned,) = r.rules_for("cases", "ASSIGNED")
    assert "（路灯）" in r.render(assigned, r.case_facts(CASE), TZ)[1]
    long = r.case_facts(CASE | {"title": "很长" * 40, "dueAt": None})
    _, body = r.render(rule, long, TZ)
    assert "…" in body and "规定时限" in body
    for rules in r.RULES.values():  # every template renders with the values every record gives
        for rule in rules:
            assert all(r.render(rule, r.Facts(link=r.LinkKind.CASE, id="x"), TZ))


def test_row_ids_sort_by_event_time_and_name_their_recipient_by_inbox_key():
    t = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)
    token = rk.inbox_key(b"k" * 32, "sub:r1")
    a = r.row_id(t, "e1", "reporter", token)
    b = r.row_id(t + timedelta(milliseconds=1), "e0", "reporter", token)
    assert a < b and a == r.row_id(t, "e1", "reporter", token)
    assert a.endswith(":" + token) and "r1" not in a.removesuffix(token)  # no sub in the id (it travels)
    assert owner_of(a, {token: "sub:r1", "x" * 32: "grid:g"}) == "sub:r1"
    assert owner_of(a, {"y" * 32: "grid:g"}) is None
    assert r.stale(t, t + timedelta(days=2), 86400) and not r.stale(t, t + timedelta(hours=1), 86400)
    assert not r.stale(t, t + timedelta(days=400), 0)


def test_recipient_keys_of_each_kind_of_principal():
    assert rk.recipient_keys(Principal(sub="u", role=Role.RESIDENT)) == ["sub:u"]
    assert rk.recipient_keys(Principal(sub="d", role=Role.DEPARTMENT, region="310104", dept="HOUSING")) == [
        "sub:d", "dept:310104:HOUSING"]
    assert rk.recipient_keys(Principal(sub="w", role=Role.GRID_WORKER, region="g1")) == ["sub:w", "grid:g1"]
    assert rk.recipient_keys(Principal(sub="v", role=Role.VOLUNTEER, region="c", member="m1")) == [
        "sub:v", "member:m1"]
    assert rk.recipient_keys(Principal(sub="a", role=Role.ADMIN, region="310104")) == ["sub:a"]
    assert rk.recipient_keys(Principal(sub="gateway", role=Role.SERVICE)) == []
    # an operator's token claiming a department does not read the department's inbox
    assert rk.recipient_keys(Principal(sub="o", role=Role.OPERATOR, region="310104", dept="HOUSING")) == ["sub:o"]


def test_inbox_keys_are_keyed_and_subject_safe():
    k1 = rk.inbox_key(b"a" * 32, "sub:u")
    assert k1 == rk.inbox_key(b"a" * 32, "sub:u") and len(k1) == 32 and k1.isalnum()
    assert k1 != rk.inbox_key(b"b" * 32, "sub:u") and k1 != rk.inbox_key(b"a" * 32, "sub:v")


@pytest.mark.parametrize(("now_local", "window", "until_local"), [
    ("23:30", ("22:00", "07:00"), "+1 07:00"),
    ("03:00", ("22:00", "07:00"), "07:00"),
    ("07:00", ("22:00", "07:00"), None),
    ("21:59", ("22:00", "07:00"), None),
    ("12:30", ("12:00", "14:00"), "14:00"),
    ("14:00", ("12:00", "14:00"), None),
    ("10:00", ("08:00", "08:00"), None),
])
def test_quiet_hours_in_the_city_time_zone(now_local, window, until_local):
    day = datetime(2026, 12, 7, tzinfo=TZ)
    hh, mm = map(int, now_local.split(":"))
    at = (day + timedelta(hours=hh, minutes=mm)).astimezone(UTC)
    got = prefs.quiet_until(at, prefs.QuietHours(start=window[0], end=window[1]), TZ)
    if until_local is None:
        assert got is None
    else:
        plus = until_local.startswith("+1 ")
        hh, mm = map(int, until_local.removeprefix("+1 ").split(":"))
        assert got == day + timedelta(days=1 if plus else 0, hours=hh, minutes=mm)
    assert prefs.quiet_until(at, None, TZ) is None


def test_preferences_decide_channels():
    (accepted,) = r.rules_for("cases", "ACCEPTED")
    (closed,) = r.rules_for("cases", "CLOSED")
    (taken,) = r.rules_for("volunteers", "ORDER_TAKEN")
    both = prefs.Preferences(channels={"SMS": True, "WECHAT": True})
    assert Deliverer.channels(accepted, "sub:r1", both, "sealed") == ["SMS", "WECHAT"]
    assert Deliverer.channels(accepted, "sub:r1", both, None) == ["SMS"]  # no WeChat bound
    assert Deliverer.channels(accepted, "sub:r1", prefs.DEFAULT, "sealed") == []  # opt-in only
    assert Deliverer.channels(closed, "sub:r1", both, "sealed") == []  # inbox-only rule
    assert Deliverer.channels(accepted, "dept:310104:HOUSING", both, "sealed") == []  # shared inboxes
    assert Deliverer.channels(taken, "sub:res", both, "sealed") == ["WECHAT"]  # no phone source for orders
    assert prefs.Preferences(muted_types=("CASE_CLOSED",)).muted("CASE_CLOSED")


def test_preference_inputs_are_checked():
    ok = parse(nc.SetPreferences, {"quietHours": {"start": "22:00", "end": "07:00"}, "mutedTypes": ["CASE_CLOSED"]})
    assert ok.quietHours is not None and ok.model_fields_set == {"quietHours", "mutedTypes"}
    for bad in ({"quietHours": {"start": "25:00", "end": "07:00"}}, {"mutedTypes": ["case closed"]},
                {"mutedTypes": ["CASE_CLOSED"] * 51}, {"channels": {"SMS": True, "FAX": True}},
                {"wechatOpenId": "bad id!"}, {"surprise": 1}):
        with pytest.raises(BadInput):
            parse(nc.SetPreferences, bad)
    with pytest.raises(BadInput):
        parse(nc.ListNotifications, {"first": 101})
    with pytest.raises(BadInput):
        parse(nc.MarkRead, {"ids": ["x"] * 101})


async def test_the_log_provider_never_writes_the_number(caplog):
    caplog.set_level(logging.INFO, logger="yiwang.notifications.providers")
    p = LogProvider("SMS")
    await p.send("13812345678", "YW_CASE_ACCEPTED", {"title": "t"}, "row-1")
    assert "138****5678" in caplog.text and "13812345678" not in caplog.text and "YW_CASE_ACCEPTED" in caplog.text


def test_the_http_provider_needs_its_url():
    with pytest.raises(InvalidSettings, match="YIWANG_SMS_URL"):
        make_provider("SMS", Settings(sms_provider="http"))
    with pytest.raises(InvalidSettings, match="YIWANG_WECHAT_URL must be an http"):
        make_provider("WECHAT", Settings(wechat_provider="http", wechat_url="ftp://x"))
    assert isinstance(make_provider("SMS", Settings()), LogProvider)


async def test_the_http_provider_posts_the_message_and_tells_retriable_from_permanent():
    """Against a real HTTP server on a free port: the body, the bearer token, the idempotency key;
    408/429/5xx are retried, another 4xx is not, and no error names the number."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from services.notifications.providers import HttpProvider, SendFailed

    seen: list[tuple[dict, dict]] = []
    answers = [200, 503, 429, 400]

    class Endpoint(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - the stdlib's name
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            seen.append((dict(self.headers), body))
            self.send_response(answers[len(seen) - 1])
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Endpoint)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    provider = HttpProvider("SMS", f"http://127.0.0.1:{server.server_port}/sms", "tok", timeout_s=10)
    try:
        await provider.send("13812345678", "YW_CASE_ACCEPTED", {"title": "路灯"}, "row-1:SMS")
        headers, body = seen[0]
        assert body == {"to": "13812345678", "template": "YW_CASE_ACCEPTED", "params": {"title": "路灯"},
                        "idempotencyKey": "row-1:SMS"}
        assert headers["Authorization"] == "Bearer tok" and headers["Idempotency-Key"] == "row-1:SMS"
        for permanent in (False, False, True):
            with pytest.raises(SendFailed) as e:
                await provider.send("13812345678", "YW_CASE_ACCEPTED", {}, "row-2:SMS")
            assert e.value.permanent is permanent and "13812345678" not in str(e.value)
    finally:
        await provider.close()
        server.shutdown()
        server.server_close()
    gone = HttpProvider("SMS", f"http://127.0.0.1:{server.server_port}/sms", None, timeout_s=2)
    with pytest.raises(SendFailed) as e:
        await gone.send("13812345678", "T", {}, "k")
    assert not e.value.permanent and "13812345678" not in str(e.value)
    await gone.close()
