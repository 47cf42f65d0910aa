"""`yiwang replay organizations`: the region figures (organisations, members, 双报到, twinnings,
proposals by stage, committees, 三方联动, 单位报到, weak standings and rectification plans) and
the fund figures recounted from the records (shared/replay.py), and each fund account's totals
checked against its spendings."""

from __future__ import annotations

from pymongo.asynchronous.database import AsyncDatabase

from services.organizations import domain as d
from services.organizations.domain.rectification import RectificationPlan
from services.organizations.domain.weak import WeakStanding
from services.organizations.funds_store import recount_funds
from shared.replay import Figures, Report, record_of
from shared.replay import replay as replay_figures

REGION_FIGURES = Figures(
    name="region figures",
    collection="rollups",
    kinds=[
        ("organizations", record_of(d.Organization)),
        ("members", record_of(d.PartyMember)),
        ("twinnings", record_of(d.UnitTwinning)),
        ("proposals", record_of(d.Proposal)),
        ("weak_standings", record_of(WeakStanding)),
        ("rectifications", record_of(RectificationPlan)),
        ("owners_committees", record_of(d.OwnersCommittee)),
        ("residents_committees", record_of(d.ResidentsCommittee)),
        ("three_party_meetings", record_of(d.ThreePartyMeeting)),
        ("unit_registrations", record_of(d.UnitRegistration)),
    ],
    recount=d.recount,
    stored=lambda k: k.replace(".", ":"),  # as OrgStore.apply keeps them
    loaded=lambda k: k.replace(":", "."),
)
FUND_FIGURES = Figures(
    name="fund figures",
    collection="fund_rollups",
    kinds=[("fund_accounts", record_of(d.FundAccount))],
    recount=recount_funds,
)
FIGURES = (REGION_FIGURES, FUND_FIGURES)


async def account_notes(db: AsyncDatabase) -> list[str]:
    """A fund account whose committed or spent total is not the sum of its spendings, or whose
    stored balance is not its own: said, never corrected (the ledger is the account's)."""
    sums: dict[str, dict[str, int]] = {}
    async for e in db.fund_entries.find({}, {"account_id": 1, "amount_fen": 1, "status": 1}):
        s = sums.setdefault(e["account_id"], {})
        s[e["status"]] = s.get(e["status"], 0) + int(e["amount_fen"])
    notes = []
    async for doc in db.fund_accounts.find({}):
        a = d.FundAccount.model_validate({**doc, "id": doc["_id"]})
        s = sums.get(a.id, {})
        if (a.committed_fen, a.spent_fen) != (s.get("COMMITTED", 0), s.get("SPENT", 0)):
            notes.append(
                f"fund account {a.id}: committed {a.committed_fen}, spent {a.spent_fen} (fen); "
                f"its spendings sum to {s.get('COMMITTED', 0)} committed, {s.get('SPENT', 0)} spent"
            )
        if doc.get("balance_fen") != a.balance_fen:
            stored = doc.get("balance_fen")
            notes.append(f"fund account {a.id}: stored balance {stored}, its totals give {a.balance_fen}")
    return notes


async def replay(db: AsyncDatabase, apply: bool = False) -> Report:
    report = await replay_figures(db, FIGURES, apply)
    report.notes += await account_notes(db)
    return report
