"""One schema assembled from per-domain modules, with limits and caches as extension classes."""
from __future__ import annotations

import strawberry
from strawberry.extensions import (DisableIntrospection, MaxAliasesLimiter, MaxTokensLimiter, ParserCache,
                                   QueryDepthLimiter, ValidationCache)
from strawberry.schema.config import StrawberryConfig

from gateway.errors import TypedErrors
from gateway.schema.case_events import CasesSubscription
from gateway.schema.cases import CasesMutation, CasesQuery
from gateway.schema.live_events import LiveEventsSubscription
from gateway.schema.organizations import OrganizationsMutation, OrganizationsQuery
from gateway.schema.territory import TerritoryMutation, TerritoryQuery
from gateway.schema.unified import UnifiedMutation, UnifiedQuery
from gateway.schema.volunteers import VolunteersMutation, VolunteersQuery
from shared.settings import Settings


@strawberry.type
class Query(TerritoryQuery, CasesQuery, OrganizationsQuery, VolunteersQuery, UnifiedQuery):
    pass


@strawberry.type
class Mutation(TerritoryMutation, CasesMutation, OrganizationsMutation, VolunteersMutation, UnifiedMutation):
    pass


@strawberry.type
class Subscription(CasesSubscription, LiveEventsSubscription):
    pass


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

    class Parsed(ParserCache):
        def __init__(self) -> None:
            super().__init__(maxsize=1024)

    class Validated(ValidationCache):
        def __init__(self) -> None:
            super().__init__(maxsize=1024)

    extensions: list = [TypedErrors, TokenLimit, Parsed, Validated, DepthLimit, AliasLimit]
    if settings.production:
        extensions.append(DisableIntrospection)
    return strawberry.Schema(query=Query, mutation=Mutation, subscription=Subscription, extensions=extensions,
                             config=StrawberryConfig(disable_field_suggestions=True))
