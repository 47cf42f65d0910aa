"""One schema assembled from per-domain modules, with limits and caches as extension classes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import strawberry
from graphql.execution.executor import Executor
from graphql.pyutils.ref_map import RefMap
from strawberry.extensions import (
    DisableIntrospection,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
    SchemaExtension,
)
from strawberry.schema.config import StrawberryConfig
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext, validate_document

from gateway.document_limits import Caps, DocumentCache, DocumentLimits, ParsedOnce
from gateway.errors import Schema, TypedErrors, mark_validation_errors
from gateway.schema.cadres import CadresMutation, CadresQuery
from gateway.schema.case_events import CasesSubscription
from gateway.schema.case_followup import CaseFollowUpMutation
from gateway.schema.cases import CasesMutation, CasesQuery
from gateway.schema.committees import CommitteesMutation, CommitteesQuery  # committees
from gateway.schema.deliberation import DeliberationMutation, DeliberationQuery  # deliberation
from gateway.schema.departments import DepartmentsMutation, DepartmentsQuery
from gateway.schema.evidence import EvidenceMutation
from gateway.schema.exports import ExportsMutation, ExportsQuery  # exports
from gateway.schema.funds import FundsMutation, FundsQuery  # funds and service lists
from gateway.schema.households import HouseholdsMutation, HouseholdsQuery  # households:
from gateway.schema.imports import ImportsMutation, ImportsQuery  # onboarding imports
from gateway.schema.live_events import LiveEventsSubscription
from gateway.schema.member_links import MemberLinksMutation
from gateway.schema.my_work import MyWorkQuery
from gateway.schema.nodes import NodeQuery
from gateway.schema.notifications import (  # notifications: the inbox
    NotificationsMutation,
    NotificationsQuery,
    NotificationsSubscription,
)
from gateway.schema.organizations import OrganizationsMutation, OrganizationsQuery
from gateway.schema.resident_points import ResidentPointsMutation, ResidentPointsQuery  # residents' points
from gateway.schema.roles import RolesMutation, RolesQuery
from gateway.schema.territory import TerritoryMutation, TerritoryQuery
from gateway.schema.unified import UnifiedMutation, UnifiedQuery
from gateway.schema.unit_orders import UnitOrdersMutation, UnitOrdersQuery  # units take service orders
from gateway.schema.visits import VisitsMutation, VisitsQuery
from gateway.schema.volunteers import VolunteersMutation, VolunteersQuery
from gateway.schema.weak import WeakMutation, WeakQuery  # weak organisations
from gateway.schema.webhooks import WebhooksMutation, WebhooksQuery  # webhooks:
from gateway.schema.work_calendar import WorkCalendarMutation, WorkCalendarQuery
from gateway.tracing import TracedOperation
from shared.settings import Settings


@strawberry.type
class Query(
    TerritoryQuery,
    CasesQuery,
    OrganizationsQuery,
    VolunteersQuery,
    UnifiedQuery,
    NodeQuery,
    WorkCalendarQuery,
    DepartmentsQuery,
    MyWorkQuery,  # mywork
    CadresQuery,  # links:
    RolesQuery,  # sign-in
    HouseholdsQuery,  # households:
    VisitsQuery,  # visits
    NotificationsQuery,  # notifications: the inbox
    WebhooksQuery,  # webhooks:
    DeliberationQuery,  # deliberation
    ResidentPointsQuery,  # residents' points
    UnitOrdersQuery,  # units take service orders
    WeakQuery,  # weak organisations
    CommitteesQuery,  # committees
    FundsQuery,  # funds and service lists
    ExportsQuery,  # exports
    ImportsQuery,  # onboarding imports
):
    pass


@strawberry.type
class Mutation(
    TerritoryMutation,
    CasesMutation,
    OrganizationsMutation,
    VolunteersMutation,
    UnifiedMutation,
    WorkCalendarMutation,
    CaseFollowUpMutation,
    DepartmentsMutation,
    EvidenceMutation,
    CadresMutation,  # links:
    RolesMutation,  # sign-in
    MemberLinksMutation,
    HouseholdsMutation,  # households:
    VisitsMutation,  # visits
    NotificationsMutation,  # notifications: the inbox
    WebhooksMutation,  # webhooks:
    DeliberationMutation,  # deliberation
    ResidentPointsMutation,  # residents' points
    UnitOrdersMutation,  # units take service orders
    WeakMutation,  # weak organisations
    CommitteesMutation,  # committees
    FundsMutation,  # funds and service lists
    ExportsMutation,  # exports
    ImportsMutation,  # onboarding imports
):
    pass


@strawberry.type
class Subscription(CasesSubscription, LiveEventsSubscription, NotificationsSubscription):  # notifications
    pass


class ValidatedOnce(SchemaExtension):
    """Validation remembered per parsed document, in the schema's DocumentCache (which hands
    back the same document for the same text). Strawberry's ValidationCache keys on the
    validation rules as well, and the depth and alias limits make new rule classes for every
    operation, so it never hit: validation was 40% of the gateway's time under load. The rules'
    settings are fixed for the life of the schema, so the document decides the outcome."""

    documents: DocumentCache

    def on_validate(self) -> Iterator[None]:
        ctx = self.execution_context
        document = ctx.graphql_document
        if ctx.pre_execution_errors or document is None:  # refused before validation (DocumentLimits)
            yield
            return
        entry = self.documents.of(ctx.query, document)
        errors = entry.errors if entry is not None else None
        if errors is None:
            errors = validate_document(ctx.schema._schema, document, ctx.validation_rules)
            mark_validation_errors(errors)
            if entry is not None:
                entry.errors = errors
        ctx.pre_execution_errors = errors
        yield


class PerEventExecutor(StrawberryGraphQLCoreExecutionContext):
    """Each subscription event collects its fields afresh. graphql-core 3.3 runs every event
    of a subscription on a shallow copy of one executor, so they share its memo of collected
    subfields; each event's fields are new objects, keyed there by identity, so every event
    added entries that lived as long as the subscription: a live feed's gateway grew by
    thousands of objects a second, and every full collection walked them."""

    def build_per_event_executor(self, payload: Any) -> Executor:
        executor = super().build_per_event_executor(payload)
        executor._relevant_sub_fields = {}
        executor._stream_usages = RefMap()
        return executor


def build_schema(settings: Settings) -> strawberry.Schema:
    # Classes, not shared instances: Strawberry makes one per operation.
    class DepthLimit(QueryDepthLimiter):
        def __init__(self) -> None:
            super().__init__(max_depth=settings.graphql_max_depth)

    class AliasLimit(MaxAliasesLimiter):
        def __init__(self) -> None:
            super().__init__(max_alias_count=settings.graphql_max_aliases)

    class TokenLimit(MaxTokensLimiter):
        def __init__(self) -> None:
            super().__init__(max_token_count=settings.graphql_max_tokens)

    documents = DocumentCache(settings.graphql_cache_chars)

    class Parsed(ParsedOnce):
        pass

    class Validated(ValidatedOnce):
        pass

    class Limited(DocumentLimits):
        caps = Caps(settings)

    Parsed.documents = Validated.documents = Limited.documents = documents

    extensions: list = [TypedErrors, TokenLimit, Parsed, Limited, Validated, DepthLimit, AliasLimit]
    if settings.production:
        extensions.append(DisableIntrospection)
    if settings.otlp_endpoint:
        extensions.append(TracedOperation)  # a span per operation, the services' spans under it
    return Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=extensions,
        config=StrawberryConfig(disable_field_suggestions=True),
        execution_context_class=PerEventExecutor,
    )
