"""The cases part of the gateway schema keeps the names API.md fixes; figures carry their definitions."""
from __future__ import annotations

from datetime import UTC, datetime

from gateway.schema import build_schema
from gateway.schema.case_events import event_node
from gateway.schema.case_stats import case_stats
from shared.vocabulary.cases import COUNTER_DEFINITIONS, RATE_DEFINITIONS
from shared.messaging.envelope import make_event
from shared.settings import Settings

SCHEMA = build_schema(Settings())._schema


def fields(type_name: str) -> dict:
    return SCHEMA.type_map[type_name].fields


def test_names_fixed_by_the_api_are_present():
    assert {"case", "cases", "caseCategories", "overview"} <= set(fields("Query"))
    assert {"reportCase", "acceptCase", "assignCase", "startCase", "resolveCase", "escalateCase", "rejectCase",
            "rateCase", "revealReporterContact"} <= set(fields("Mutation"))
    assert set(fields("Subscription")) == {"caseEvents", "events", "notificationAdded"}
    assert {"id", "title", "description", "category", "channel", "status", "level", "region", "location",
            "reporter", "assignee", "createdAt", "dueAt", "overdue", "resolvedAt", "resolvedAtLevel", "rating",
            "timeline"} <= set(fields("Case"))
    assert set(fields("CaseEvent")) >= {"type", "caseId", "case", "at", "actor", "level", "note"}
    assert set(fields("CaseCategory")) >= {"code", "name", "defaultLevel", "department", "slaSeconds"}
    assert {"total", "open", "overdue", "resolved", "closed", "resolvedByLevel", "responseRate", "resolutionRate",
            "satisfactionRate"} <= set(fields("CaseStats"))
    assert "cases" in fields("RegionOverview")
    enums = {name: set(SCHEMA.type_map[name].values) for name in ("CaseStatus", "HandlingLevel", "CaseChannel")}
    assert enums["CaseStatus"] == {"REPORTED", "ACCEPTED", "ASSIGNED", "IN_PROGRESS", "RESOLVED", "CLOSED", "REJECTED"}
    assert enums["HandlingLevel"] == {"BUILDING", "GRID", "COMMUNITY", "TOWNSHIP", "COUNTY"}
    assert {"MINI_PROGRAM", "HOTLINE", "GRID_PATROL", "WALK_IN", "OTHER"} <= enums["CaseChannel"]
    assert set(SCHEMA.type_map["AssigneeKind"].values) == {"GRID_WORKER", "DEPARTMENT", "VOLUNTEER", "COMMUNITY",
                                                                 "BUILDING_LEADER"}


def test_every_case_figure_states_its_definition():
    stats = fields("CaseStats")
    assert all(f.description for f in stats.values())
    assert stats["satisfactionRate"].description == RATE_DEFINITIONS["satisfaction_rate"]
    assert stats["awaitingRating"].description == COUNTER_DEFINITIONS["awaiting_rating"]


def test_stats_and_events_map_from_the_wire():
    s = case_stats({"total": 3, "resolved": 2, "resolvedOnTime": 1, "resolvedByLevel": {"GRID": 2},
                    "satisfactionRate": None, "fengqiaoShare": 1.0})
    assert (s.total, s.resolved, s.resolved_on_time, s.open, s.fengqiao_share) == (3, 2, 1, 0, 1.0)
    assert [(x.level.value, x.count) for x in s.resolved_by_level] == [
        ("BUILDING", 0), ("GRID", 2), ("COMMUNITY", 0), ("TOWNSHIP", 0), ("COUNTY", 0)]
    at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    e = make_event("cases", "ESCALATED", "c1", {"type": "ESCALATED", "at": at.isoformat(), "actor": "system:cases",
                                               "level": "COMMUNITY", "status": "ACCEPTED", "note": "超期"},
                   path=["city", "county-a"], actor="system:cases")
    node = event_node(e)
    assert (node.type, node.case_id, node.at, node.level.value, node.status.value, node.actor) == (
        "ESCALATED", "c1", at, "COMMUNITY", "ACCEPTED", "system:cases")
