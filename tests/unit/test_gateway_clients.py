"""The gateway's typed clients: each named method sends one verb with the request model the service parses
for it (the contracts' REQUESTS tables, and the grids handlers' own models), and every verb a resolver may
need has its method. Pure: the wire is a recorder."""

from __future__ import annotations

import inspect
import re
import typing
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from gateway.clients import (
    CasesClient,
    GridsClient,
    NotificationsClient,
    OrganizationsClient,
    ServiceClient,
    VolunteersClient,
)
from shared.contracts import grids as gc
from shared.contracts import notifications as nc
from shared.contracts import organizations as oc
from shared.contracts import volunteers as vc
from shared.contracts.attachments import AttachEvidence
from shared.contracts.common import ById, ByIds, TrendQuery, Wire

ROOT = Path(__file__).resolve().parents[2]
KERNEL = {"stats.batch": ByIds, "trend.series": TrendQuery}
GRIDS = {"region.get": ById, "region.batch": ByIds, "region.list": gc.ListRegions, "region.create": gc.CreateRegion,
         "region.update": gc.UpdateRegion, "region.move": gc.MoveRegion, "region.setBoundary": gc.SetBoundary,
         "region.import": gc.ImportRegions,
         "locate": gc.Locate, "stats.batch": ByIds, "territory.check": gc.CheckTerritory,
         "worker.register": gc.RegisterWorker, "worker.assign": gc.AssignWorker, "worker.get": ById,
         "worker.list": gc.ListWorkers,
         # links:
         "cadre.assign": gc.AssignCadre, "cadre.unassign": ById, "cadre.get": ById, "cadre.list": gc.ListCadres,
         "cadre.ofSub": gc.CadresOfSub, "member.link": gc.LinkMember, "member.unlink": gc.UnlinkMember,
         "member.linkImport": gc.ImportLinks,
         # sign-in: role assignments
         "role.assign": gc.AssignRole, "role.revoke": gc.RoleOf, "role.get": gc.RoleOf, "role.list": gc.ListRoles,
         "member.links": ByIds,
         # households:
         "household.register": gc.RegisterHousehold, "household.update": gc.UpdateHousehold,
         "household.moveOut": gc.MoveOutHousehold, "household.get": ById, "household.batch": ByIds,
         "household.list": gc.ListHouseholds, "household.byMember": gc.HouseholdsOfMember,
         "household.reveal": gc.RevealHousehold, "household.stats": ByIds, "household.import": gc.ImportHouseholds,
         # visits:
         "visit.record": gc.RecordVisit, "visit.get": ById, "visit.batch": ByIds, "visit.list": gc.ListVisits,
         "visit.plan": gc.VisitPlanQuery, "visit.rules": Wire, "visit.setRules": gc.SetVisitRules,
         "visit.report": gc.ReportFromVisit, "visit.attach": AttachEvidence, "visit.import": gc.ImportVisits,
         "work.visits": gc.WorkQuery, "trend.series": TrendQuery}
# notifications: the caller's inbox and preferences; `case.audience` is for the notifications service only
NOTIFICATIONS = {"notification.list": nc.ListNotifications, "notification.get": nc.NotificationId,
                 "notification.markRead": nc.MarkRead, "notification.inboxKeys": nc.NoArgs,
                 "preferences.get": nc.NoArgs, "preferences.set": nc.SetPreferences}
SERVICE_ONLY = {"case.audience"}


def sent(client: type[ServiceClient]) -> dict[str, tuple[str, type[BaseModel] | None]]:
    """method name -> (the verb it sends, the model it takes), by calling each method with a bare model."""

    class Recorder(client):  # type: ignore[valid-type,misc]
        async def send(self, verb: str, body: BaseModel | None = None) -> dict[str, Any]:
            self.last = (verb, type(body) if body is not None else None)
            return {}

    out: dict[str, tuple[str, type[BaseModel] | None]] = {}
    recorder = Recorder(None, "token")
    for name, method in inspect.getmembers(client, inspect.iscoroutinefunction):
        if name in ("send", "__call__"):
            continue
        hints = typing.get_type_hints(method)
        model = hints.get("body")
        coro = getattr(recorder, name)(model.model_construct()) if model else getattr(recorder, name)()
        with pytest.raises(StopIteration):  # nothing awaits for real: the recorder answers at once
            coro.send(None)
        out[name] = recorder.last
    return out


@pytest.mark.parametrize(("client", "table"), [
    (OrganizationsClient, {**oc.REQUESTS, **KERNEL, "member.import": oc.ImportMembers,
                           "org.import": oc.ImportOrganizations}),
    (VolunteersClient, {**vc.REQUESTS, **KERNEL}),
    (GridsClient, GRIDS),
    (NotificationsClient, NOTIFICATIONS),
])
def test_each_verb_has_one_method_taking_its_request_model(client, table):
    calls = sent(client)
    verbs = [verb for verb, _ in calls.values()]
    assert sorted(verbs) == sorted(table), "one method per verb of the service, no verb twice"
    for name, (verb, model) in calls.items():
        expected = table[verb]
        assert model is (None if expected is Wire else expected), f"{client.__name__}.{name} sends {verb}"


def routed(table: str) -> set[str]:
    """The verbs a service's subject table routes (its source: building the table needs a running service)."""
    return set(re.findall(r'^\s+"([a-zA-Z.]+)": \(', (ROOT / table).read_text(), re.M))


def test_the_cases_and_grids_clients_cover_the_verbs_their_services_route():
    assert {verb for verb, _ in sent(CasesClient).values()} == routed("services/cases/handlers/table.py") - SERVICE_ONLY
    assert set(GRIDS) == routed("services/grids/handlers/table.py") | routed("services/grids/handlers/visit_table.py")
