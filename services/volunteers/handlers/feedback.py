"""Crediting service: points for hours served (once per source) and the service records that
feed a party member's quarterly 双报到 feedback (the QUARTERLY_FEEDBACK event)."""

from __future__ import annotations

from typing import Any

from services.volunteers import domain as d
from services.volunteers.handlers.common import SERVICE, Context
from services.volunteers.handlers.points import ledger_event
from shared.messaging.envelope import make_event
from shared.mongo import UnitOfWork, now


async def credit(
    cx: Context,
    uow: UnitOfWork,
    volunteer_id: str,
    record: Any,
    kind: d.SourceKind,
    hours_tenths: int,
    post_type: d.PostType | None = None,
    backfilled: bool = False,
    source_id: str | None = None,
) -> None:
    """Points for hours of service (idempotent per source), and the service record that
    feeds the member's quarterly 双报到 feedback."""
    volunteer = await cx.store.volunteers.get(volunteer_id, uow)
    if volunteer is None or hours_tenths <= 0:
        return
    source = source_id or record.id
    at = now()
    entries = await cx.store.entries(volunteer.id, uow)
    entry = d.award(
        entries,
        entry_id=f"{kind}:{source}:{volunteer.id}",
        volunteer_id=volunteer.id,
        source_kind=kind,
        source_id=source,
        hours_tenths=hours_tenths,
        now=at,
        rules=cx.rules,
        post_type=post_type,
        backfilled=backfilled,
        region_path=volunteer.region_path,
    )
    if entry is not None:
        await cx.store.append(uow, entry)
        await cx.store.apply(uow, [d.RollupDelta.of(entry.region_path, None, d.counters_of(entry))])
        ledger_event(uow, "POINTS_AWARDED", entry, volunteer)
    await cx.store.add_records(uow, [r for r in d.records_of(record) if r.volunteer_id == volunteer.id])
    if volunteer.in_service_member:
        await feedback(cx, uow, volunteer, d.quarter_of(at))


async def feedback(cx: Context, uow: UnitOfWork, volunteer: d.Volunteer, quarter: str) -> None:
    """QUARTERLY_FEEDBACK with the quarter's totals so far (each newer version replaces
    the last at `organizations`)."""
    start, end = d.quarter_bounds(quarter)
    records = await cx.store.records_between(uow, volunteer.id, start, end)
    fb = d.quarterly_feedback(records, volunteer, quarter)
    key = f"{fb.member_id}:{quarter}"
    version = await cx.store.next_feedback_version(uow, key)
    uow.record(
        make_event(
            SERVICE,
            "QUARTERLY_FEEDBACK",
            key,
            {"kind": "feedback", **fb.model_dump(mode="json"), "feedbackVersion": version},
            path=list(volunteer.region_path),
            version=version,
            id=f"feedback:{key}:{version}",
        )
    )
