"""Deliberation's typed client sends each verb with the request model the service parses for it, and
the service routes exactly those verbs. Pure: the wire is a recorder."""
from __future__ import annotations

from gateway.deliberation_client import DeliberationClient
from services.organizations.handlers.deliberation import Deliberation
from shared.contracts import deliberation as dc
from tests.unit.test_gateway_clients import sent


def test_each_verb_has_one_method_taking_its_request_model():
    calls = sent(DeliberationClient)
    assert sorted(verb for verb, _ in calls.values()) == sorted(dc.REQUESTS)
    for name, (verb, model) in calls.items():
        assert model is dc.REQUESTS[verb], f"DeliberationClient.{name} sends {verb}"


def test_the_service_routes_the_verbs_of_the_contract():
    assert set(Deliberation.VERBS) == set(dc.REQUESTS)
