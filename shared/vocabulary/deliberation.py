"""一征三议两公开: the stages of a residents' proposal, where it came from, the kinds of public notice,
and the figures kept per region (GLOSSARY.md)."""

from __future__ import annotations

from enum import StrEnum


class ProposalStage(StrEnum):
    COLLECTED = "COLLECTED"  # 征: raised by a resident, member, unit, hotspot, meeting or 三方联动 item
    PROPOSED = "PROPOSED"  # 党组织提议
    DISCUSSED = "DISCUSSED"  # 两委商议 (with minutes)
    DECIDED = "DECIDED"  # 居民代表会议决议 (a vote that met the quorum rule)
    NOTICED = "NOTICED"  # 决议公开: a public notice with a notice period and objections
    IMPLEMENTING = "IMPLEMENTING"  # 实施: linked cases, orders, projects
    RESULT_PUBLISHED = "RESULT_PUBLISHED"  # 结果公开
    REJECTED = "REJECTED"


class ProposalSource(StrEnum):
    RESIDENT = "RESIDENT"  # ref: empty (the resident is the proposer)
    MEMBER = "MEMBER"  # ref: the party member's id
    UNIT = "UNIT"  # ref: the co-building unit's id
    HOTSPOT = "HOTSPOT"  # ref: the case hotspot's id (grid:category:day)
    MEETING = "MEETING"  # ref: the joint meeting's id (and agenda item, `<meeting>:<item>`)
    THREE_PARTY = "THREE_PARTY"  # ref: the 三方联动 meeting's id and item, `<meeting>:<item>`


class NoticeKind(StrEnum):
    DECISION = "DECISION"  # 决议公示: with a notice period in which residents may object
    RESULT = "RESULT"  # 结果公开


# Counters of a region (rollups kept with the writes): proposals per stage, where they are now.
DELIBERATION_COUNTERS: dict[str, str] = {
    "proposals": "Residents' proposals (一征三议两公开) of communities in the region, every stage.",
    **{f"proposals.{s}": f"Proposals now at stage {s}." for s in ProposalStage},
}
