"""Domain events and the base every aggregate of this service shares.

One event model for the whole service: `type` is the UPPER_SNAKE event name (one of
EVENT_TYPES), `data` its fields. `region_path` is the path of the record's organisation
(a member's: its organisation's anchor path), so the service publishes it on
`subject(event)` = `yiwang.evt.organizations.<TYPE>.<path…>`.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any, ClassVar

from pydantic import BaseModel, Field

from shared.auth import Principal, public_actor
from shared.domain import DomainEvent

SUBJECT_PREFIX = "yiwang.evt.organizations"

EVENT_TYPES: dict[str, str] = {
    "ORGANIZATION_CREATED": "a party organisation was set up on a territory node",
    "ORGANIZATION_UPDATED": "name or other details of an organisation changed",
    "POSITION_APPOINTED": "a member took a committee role (with its term)",
    "POSITION_ENDED": "a committee term was ended early",
    "UNIT_JOINED_COMMITTEE": "a co-building unit joined a community's 大党委",
    "UNIT_LEFT_COMMITTEE": "a co-building unit left a community's 大党委",
    "ORGANIZATION_WEAK": "no organisational life for the period: 软弱涣散 risk",
    "ORGANIZATION_RECOVERED": "a weak organisation recorded organisational life again",
    "LIFE_RECORDED": "a 三会一课 or 主题党日 record was added",
    "MEMBER_REGISTERED": "a party member was registered",
    "MEMBER_UPDATED": "a member's category, phone or home changed",
    "MEMBER_CONTACT_REVEALED": "audit: an admin saw a member's phone and ID number unmasked",
    "TRANSFER_REQUESTED": "组织关系转接 requested",
    "TRANSFER_APPROVED": "the receiving side approved; the membership moved",
    "TRANSFER_REJECTED": "the receiving side rejected, with a reason",
    "TRANSFER_CANCELLED": "the transfer was withdrawn",
    "TRANSFER_OVERDUE": "an open transfer passed its deadline",
    "DUAL_REGISTERED": "an in-service member registered with their residential community",
    "DUAL_REGISTRATION_ENDED": "a 双报到 registration was ended",
    "UNIT_TWINNED": "an employer's branch twinned with a community",
    "FEEDBACK_RECORDED": "service hours were added to a member's quarterly feedback",
    "UNIT_REGISTERED": "a co-building unit was registered",
    "UNIT_UPDATED": "a co-building unit's contacts changed",
    "LINKAGE_RECORDED": "a three-party linkage was recorded for an estate",
    "MEETING_SCHEDULED": "a joint meeting was scheduled, with its rotating chair",
    "AGENDA_ITEM_ADDED": "an agenda item was added to a joint meeting",
    "MEETING_HELD": "minutes and attendance of a joint meeting were recorded",
    "RESOLUTION_ADDED": "a resolution with action items was adopted",
    "CASE_REQUESTED": "an action item is to become a case (channel JOINT_MEETING)",
    "CASE_LINKED": "the case created for an action item was recorded",
    "CASE_STATUS_UPDATED": "the status of an action item's case changed",
    "NEED_POSTED": "a community posted a need (需求清单)",
    "RESOURCE_OFFERED": "a unit offered a resource (资源清单)",
    "PROJECT_PROPOSED": "a project matched a need to a resource (项目清单)",
    "PROJECT_STATUS_CHANGED": "a project moved along PROPOSED → AGREED → IN_PROGRESS → DONE",
    # evidence
    "MEETING_ATTACHMENT_ADDED": "a photo, video, document or recording was added to a joint meeting",
    # deliberation: 一征三议两公开
    "PROPOSAL_SUBMITTED": "a resident's, member's, unit's, hotspot's or meeting item's proposal was collected (征)",
    "PROPOSAL_SUPPORTED": "one more resident supports a proposal",
    "PROPOSAL_ADVANCED": "a proposal moved to its next stage (提议, 商议, 公开, 实施)",
    "PROPOSAL_VOTED": "the residents' representatives voted on a proposal with a quorum (决议)",
    "PROPOSAL_REJECTED": "a proposal was rejected, with a reason, or voted down",
    "NOTICE_PUBLISHED": "a public notice of a decision (with its notice period) or of a result was published",
    "NOTICE_OBJECTED": "a resident objected to a decision's public notice during its period",
    "OBJECTION_ANSWERED": "staff answered objections to a public notice",
    "RESULT_PUBLISHED": "a proposal's result was published (结果公开); the proposal is done",
    "PROPOSAL_CASE_LINKED": "the case reported to implement a proposal was recorded",
    "DELIBERATION_RULE_SET": "a community set its quorum, majority and notice period rule",
    "PARTICIPATION_RECORDED": "a resident raised, supported or objected to a proposal: 参与议事 points are due",
    # weak organisations
    "WEAK_ORGANIZATION_FLAGGED": "an organisation's weak score (软弱涣散) reached the threshold",
    "WEAK_ORGANIZATION_CLEARED": "an organisation's weak flag was cleared: its score fell below the threshold, "
    "or a rectification passed its review",
    "WEAK_SETTINGS_CHANGED": "audit: the weights and thresholds of the weak score were changed",
    "RECTIFICATION_STARTED": "a rectification plan (整顿) with tasks and a review date was started",
    "RECTIFICATION_TASK_COMPLETED": "a task of a rectification plan was done",
    "RECTIFICATION_TASK_OVERDUE": "a task of a rectification plan passed its deadline undone",
    "RECTIFICATION_REVIEWED": "a rectification plan was reviewed: passed (the flag cleared) or failed",
    # committees: 红色业委会, 居委会, 三方联动, non-territorial branches and 单位报到
    "OWNERS_COMMITTEE_CREATED": "the party organisation filed an estate's owners' committee (业委会) with its seats "
    "and candidates",
    "COMMITTEE_CANDIDATE_ADDED": "a candidate was proposed for an owners' committee",
    "COMMITTEE_CANDIDATE_VETTED": "a candidate's qualification check (资格审查) was recorded",
    "COMMITTEE_ELECTED": "an owners' committee was elected from qualified candidates, for a term",
    "COMMITTEE_TERM_ENDED": "an owners' committee's term ended",
    "RESIDENTS_COMMITTEE_RECORDED": "a community's residents' committee (居委会) was recorded",
    "THREE_PARTY_MEETING_RECORDED": "a 三方联动 meeting (居委会 + 物业 + 业委会) was recorded with minutes and items",
    "THREE_PARTY_CASE_REQUESTED": "an item of a 三方联动 meeting is to become a case (channel JOINT_MEETING)",
    "THREE_PARTY_CASE_LINKED": "the case created for a 三方联动 item was recorded",
    "THREE_PARTY_PROPOSAL_REQUESTED": "an item of a 三方联动 meeting was put forward as a proposal (一征三议)",
    "UNIT_REGISTERED_WITH_COMMUNITY": "单位报到: a unit registered with a community, with its commitments",
    "UNIT_SERVICE_RECORDED": "a registered unit delivered a service to the community",
    "BRANCH_IDLE": "a non-territorial branch had no 双报到 activity or service for the period (空转)",
    "BRANCH_ACTIVE": "an idle non-territorial branch showed activity again",
    # funds and service lists
    "FUND_ACCOUNT_CREATED": "a community's fund account (活动经费) for a year was opened with its grant",
    "SPENDING_RECORDED": "a spending from a community fund was recorded: spent, or committed pending approval",
    "SPENDING_APPROVED": "a committed spending was approved by an admin above the community: spent",
    "SPENDING_REJECTED": "a committed spending was rejected: its money is back in the balance",
    "SERVICE_LIST_ENTRY_ADDED": "a service was added to a community's service catalogue (五项服务)",
    "SERVICE_LIST_ENTRY_UPDATED": "a service of a community's catalogue changed",
    "SERVICE_LIST_ENTRY_RETIRED": "a service was taken out of a community's catalogue",
    "NEED_STATUS_CHANGED": "a need moved along OPEN → MATCHED → DONE, or was CLOSED",
}


# The fields of each event's `data` beside `aggregate` and `aggregateId`, for the AsyncAPI
# document (app.event_models); tests/unit/test_asyncapi.py checks them against the `_emit` calls.
TRANSFER = ("memberId", "fromOrgId", "toOrgId", "toPath")
ATTACHMENT = ("attachment_id", "attachment_kind", "stage", "size")
EVENT_FIELDS: dict[str, tuple[str, ...]] = {
    "ORGANIZATION_CREATED": ("name", "orgType", "anchorId", "parentId", "householdMemberId"),
    "ORGANIZATION_UPDATED": ("name",),
    "POSITION_APPOINTED": ("holder_name", "member_id", "unit_id", "role", "term"),
    "POSITION_ENDED": ("holderName", "role", "end"),
    "UNIT_JOINED_COMMITTEE": ("unitId",),
    "UNIT_LEFT_COMMITTEE": ("unitId",),
    "ORGANIZATION_WEAK": ("lastLifeAt", "periodDays"),
    "ORGANIZATION_RECOVERED": (),
    "LIFE_RECORDED": ("recordId", "kind", "heldAt", "attendance"),
    "MEMBER_REGISTERED": ("orgId", "category", "homeBuildingId"),
    "MEMBER_UPDATED": ("category", "homeBuildingId", "phone"),
    "MEMBER_CONTACT_REVEALED": ("reason",),
    "TRANSFER_REQUESTED": (*TRANSFER, "reason", "deadlineAt"),
    "TRANSFER_APPROVED": TRANSFER,
    "TRANSFER_REJECTED": (*TRANSFER, "reason"),
    "TRANSFER_CANCELLED": (*TRANSFER, "reason"),
    "TRANSFER_OVERDUE": (*TRANSFER, "deadlineAt"),
    "DUAL_REGISTERED": ("communityId", "memberOrgId", "orgPath"),
    "DUAL_REGISTRATION_ENDED": ("communityId", "reason"),
    "UNIT_TWINNED": ("branchId", "branchPath", "communityId"),
    "FEEDBACK_RECORDED": (
        "memberId",
        "quarter",
        "hours",
        "services",
        "totalHours",
        "totalServices",
        "sourceEventId",
        "sourceVersion",
    ),
    "UNIT_REGISTERED": ("name", "kind"),
    "UNIT_UPDATED": ("contacts",),
    "LINKAGE_RECORDED": ("committeeId", "estate", "ownersCommitteeId", "propertyCompanyId"),
    "MEETING_SCHEDULED": ("committeeId", "scheduledAt", "chairUnitId", "skippedUnits"),
    "AGENDA_ITEM_ADDED": ("id", "source", "ref", "title", "case_ids", "caseIds", "hotspot"),
    "MEETING_HELD": ("members", "units"),
    "RESOLUTION_ADDED": ("resolutionId", "communityId", "text", "items", "agendaItemIds", "caseIds"),
    "CASE_REQUESTED": ("itemId", "title", "description", "categoryCode", "regionId", "channel", "idempotencyKey"),
    "CASE_LINKED": ("itemId", "caseId", "status"),
    "CASE_STATUS_UPDATED": ("itemId", "caseId", "status"),
    "NEED_POSTED": ("title",),
    "RESOURCE_OFFERED": ("unitId", "title"),
    "PROJECT_PROPOSED": ("needId", "resourceId", "title"),
    "PROJECT_STATUS_CHANGED": ("fromStatus", "status", "note"),
    "MEETING_ATTACHMENT_ADDED": ATTACHMENT,
    # deliberation
    "PROPOSAL_SUBMITTED": ("communityId", "proposalSource", "title"),
    "PROPOSAL_SUPPORTED": ("supportCount",),
    "PROPOSAL_ADVANCED": (
        "fromStage",
        "toStage",
        "noticeId",
        "caseIds",
        "orderIds",
        "projectIds",
        "caseRequested",
    ),
    "PROPOSAL_VOTED": (
        "fromStage",
        "toStage",
        "passed",
        "roll",
        "attended",
        "votesFor",
        "votesAgainst",
        "abstentions",
    ),
    "PROPOSAL_REJECTED": ("fromStage", "byVote"),
    "NOTICE_PUBLISHED": ("proposalId", "noticeKind", "endsAt"),
    "NOTICE_OBJECTED": ("proposalId", "objectionId", "objections"),
    "OBJECTION_ANSWERED": ("proposalId", "objectionIds"),
    "RESULT_PUBLISHED": ("fromStage", "noticeId", "caseIds"),
    "PROPOSAL_CASE_LINKED": ("caseId",),
    "DELIBERATION_RULE_SET": ("quorum", "majority", "noticePeriodS"),
    "PARTICIPATION_RECORDED": ("proposalId", "act", "ruleCode"),
    # weak organisations
    "WEAK_ORGANIZATION_FLAGGED": ("organizationId", "score", "threshold", "signals"),
    "WEAK_ORGANIZATION_CLEARED": ("organizationId", "score", "threshold", "clearedBy"),
    "WEAK_SETTINGS_CHANGED": ("threshold", "windowDays", "minCases", "rules", "settingsVersion"),
    "RECTIFICATION_STARTED": ("organizationId", "tasks", "reviewAt", "score"),
    "RECTIFICATION_TASK_COMPLETED": ("organizationId", "taskId", "late", "open"),
    "RECTIFICATION_TASK_OVERDUE": ("organizationId", "taskId", "dueAt"),
    "RECTIFICATION_REVIEWED": ("organizationId", "passed", "score", "threshold"),
    # committees
    "OWNERS_COMMITTEE_CREATED": (
        "communityId",
        "estate",
        "buildingIds",
        "filedByOrgId",
        "filedOn",
        "seats",
        "candidates",
    ),
    "COMMITTEE_CANDIDATE_ADDED": ("candidateId",),
    "COMMITTEE_CANDIDATE_VETTED": ("candidateId", "check", "passed", "qualified"),
    "COMMITTEE_ELECTED": ("seatsHeld", "partySeats", "red", "termStart", "termEnd"),
    "COMMITTEE_TERM_ENDED": ("end",),
    "RESIDENTS_COMMITTEE_RECORDED": ("communityId", "name", "members", "termStart", "termEnd"),
    "THREE_PARTY_MEETING_RECORDED": (
        "communityId",
        "estate",
        "ownersCommitteeId",
        "residentsCommitteeId",
        "propertyCompanyId",
        "heldAt",
        "attendees",
        "items",
    ),
    "THREE_PARTY_CASE_REQUESTED": (
        "itemId",
        "title",
        "description",
        "categoryCode",
        "regionId",
        "channel",
        "idempotencyKey",
        "buildingId",
    ),
    "THREE_PARTY_CASE_LINKED": ("itemId", "caseId", "status"),
    "THREE_PARTY_PROPOSAL_REQUESTED": ("itemId", "title", "communityId"),
    "UNIT_REGISTERED_WITH_COMMUNITY": ("unitId", "communityId", "commitments"),
    "UNIT_SERVICE_RECORDED": ("unitId", "communityId", "what", "deliveredAt", "serviceCount"),
    "BRANCH_IDLE": ("periodDays", "lastActivityAt"),
    "BRANCH_ACTIVE": ("lastActivityAt",),
    # funds and service lists
    "FUND_ACCOUNT_CREATED": ("communityId", "year", "granted"),
    "SPENDING_RECORDED": ("accountId", "year", "amount", "purpose", "targetKind", "targetId", "status"),
    "SPENDING_APPROVED": ("accountId", "amount"),
    "SPENDING_REJECTED": ("accountId", "amount"),
    "SERVICE_LIST_ENTRY_ADDED": ("communityId", "kind", "title", "providerKind", "providerId"),
    "SERVICE_LIST_ENTRY_UPDATED": ("communityId", "kind", "title", "providerKind", "providerId", "changed"),
    "SERVICE_LIST_ENTRY_RETIRED": ("communityId", "kind"),
    "NEED_STATUS_CHANGED": ("fromStatus", "status", "note"),
}
EVENT_FIELDS["ORGANIZATION_CREATED"] += ("unitId",)  # committees: a non-territorial branch's unit
EVENT_FIELDS["LINKAGE_RECORDED"] += ("ownersCommitteeRecordId",)  # committees: the estate's red committee
# three-lists matching: needs and resources carry their category
EVENT_FIELDS["NEED_POSTED"] = (*EVENT_FIELDS["NEED_POSTED"], "category")
EVENT_FIELDS["RESOURCE_OFFERED"] = (*EVENT_FIELDS["RESOURCE_OFFERED"], "category")

FIELD_DESCRIPTIONS: dict[str, str] = {
    "aggregate": "The kind of record: organization, member, transfer, unit, committee, meeting, need, resource, "
    "project",
    "aggregateId": "The record's id (also the CloudEvent `subject`)",
    "name": "The name of the organisation or unit (组织/单位名称)",
    "orgType": "The kind of party organisation (党组织类型: 党委, 党总支, 党支部…)",
    "anchorId": "The territory node the organisation is set up on",
    "parentId": "The organisation above it",
    "householdMemberId": "The 党员中心户 member, for an organisation anchored on a household",
    "holder_name": "The name of who holds the seat (委员姓名)",
    "holderName": "The name of who held the seat (委员姓名)",
    "member_id": "The member holding the seat, when they are a member record here",
    "unit_id": "The unit a part-time member (兼职委员) comes from",
    "role": "The committee role (职务: 书记, 副书记, 委员…)",
    "term": "The term of the seat (任期): its start and end",
    "end": "When the term ended",
    "unitId": "The co-building unit (共建单位)",
    "lastLifeAt": "When the organisation last recorded organisational life (组织生活)",
    "periodDays": "The period without it that makes an organisation weak (软弱涣散), in days",
    "recordId": "The record's id of the 三会一课 / 主题党日 entry",
    "kind": "What kind: of the organisational-life record (三会一课 / 主题党日), or of the unit (单位类型)",
    "heldAt": "When it was held",
    "attendance": "How many attended",
    "orgId": "The member's organisation (所在党组织)",
    "category": "The member's category (党员类别: 在职, 离退休, 流动…)",
    "homeBuildingId": "The building the member lives in (居住楼栋), for 双报到 and 党员联户",
    "phone": "`changed` when the phone changed (the number itself is never on the bus)",
    "reason": "The reason given (free text)",
    "memberId": "The party member (党员)",
    "fromOrgId": "The organisation the membership moves from (转出组织)",
    "toOrgId": "The organisation the membership moves to (转入组织)",
    "toPath": "The region path of the receiving organisation",
    "deadlineAt": "When the transfer must be decided by",
    "communityId": "The community (社区)",
    "memberOrgId": "The member's own organisation",
    "orgPath": "The region path of the member's organisation",
    "branchId": "The employer's party branch (机关/单位党支部)",
    "branchPath": "The region path of the branch",
    "quarter": "The quarter, `YYYY-Qn`",
    "hours": "Service hours (服务时长) of this feedback",
    "services": "Services counted in this feedback",
    "totalHours": "The member's service hours in the quarter so far",
    "totalServices": "The member's services in the quarter so far",
    "sourceEventId": "The volunteers event (QUARTERLY_FEEDBACK) it came from",
    "sourceVersion": "That feedback's version (a newer one replaces the older)",
    "contacts": "How many contacts the unit has after the change (the contacts themselves stay off the bus)",
    "committeeId": "The community's 大党委 (the joint committee)",
    "estate": "The housing estate (小区)",
    "ownersCommitteeId": "The owners' committee (业委会)",
    "propertyCompanyId": "The property management company (物业公司)",
    "scheduledAt": "When the joint meeting (联席会议) is scheduled",
    "chairUnitId": "The unit chairing it this time (轮值主持)",
    "skippedUnits": "Units skipped in the chair rotation",
    "id": "The agenda item's id",
    "source": "Where the agenda item came from (议题来源: a unit, a resident, a case hotspot)",
    "ref": "What it refers to: a unit id, a resident reference or a case hotspot id",
    "title": "The title (标题)",
    "case_ids": "The cases of a hotspot item, newest first",
    "caseIds": "The cases it concerns",
    "hotspot": "The case hotspot (热点) it was raised from: grid, category code, since, until, count",
    "members": "How many members attended",
    "units": "The ids of the units that attended",
    "resolutionId": "The resolution (决议)",
    "text": "The resolution's text",
    "items": "The resolution's action items (任务事项)",
    "agendaItemIds": "The agenda items it resolves",
    "itemId": "The action item (任务事项)",
    "description": "The case's description, from the action item (free text)",
    "categoryCode": "The category code (事项分类编码) of the case to report",
    "regionId": "The grid or community the case is reported in",
    "channel": "The case's channel: JOINT_MEETING (联席会议)",
    "idempotencyKey": "The key that makes the case report happen once",
    "caseId": "The case (案件)",
    "status": "The status (状态) after the change",
    "needId": "The community's need (需求清单)",
    "resourceId": "The unit's resource (资源清单)",
    "fromStatus": "The status before the change",
    "note": "A note with the change (free text)",
    "attachment_id": "The file's id (its bytes are in the file store)",
    "attachment_kind": "What the file is: PHOTO, VIDEO, AUDIO or DOCUMENT",
    "stage": "When the file was taken, if said",
    "size": "The file's size in bytes",
    # deliberation
    "proposalSource": "Where a proposal came from: RESIDENT, MEMBER, UNIT, HOTSPOT or MEETING",
    "supportCount": "Residents supporting the proposal, after the change (one each)",
    "fromStage": "The proposal's stage before the change",
    "toStage": "The proposal's stage after the change",
    "noticeId": "The public notice (公示)",
    "orderIds": "The service orders that implement it",
    "projectIds": "The projects (项目清单) that implement it",
    "caseRequested": "Whether a case is to be reported to implement it",
    "passed": "Whether the vote carried the majority the community's rule asks, or the rectification review or the "
    "candidate's check passed",
    "roll": "How many representatives are on the roll (代表名册)",
    "attended": "How many representatives attended",
    "votesFor": "Votes for",
    "votesAgainst": "Votes against",
    "abstentions": "Abstentions",
    "byVote": "True when the representatives voted it down, false when staff rejected it with a reason",
    "proposalId": "The proposal (居民议事提案)",
    "noticeKind": "DECISION (决议公示, with a period for objections) or RESULT (结果公开)",
    "endsAt": "When the notice period ends (objections are taken until then)",
    "objectionId": "The objection (异议) on the notice",
    "objections": "How many objections the notice has, after the change",
    "objectionIds": "The objections answered",
    "act": "What the resident did: SUBMITTED (raised the proposal), SUPPORTED, or OBJECTED (to its notice)",
    "ruleCode": "The residents' points rule the act earns (参与议事: DELIBERATION), once per proposal",
    "quorum": "The share of the roll that must attend (法定人数), as a fraction",
    "majority": "The share of those present that must vote for, exceeded, as a fraction",
    "noticePeriodS": "The community's minimum notice period, in seconds",
    # weak organisations
    "organizationId": "The party organisation (党组织) scored or rectified",
    "score": "The weak-organisation score (软弱涣散 score) at the time",
    "threshold": "The score that flags an organisation weak",
    "signals": "The signals that added points (LIFE_RECENCY, LIFE_FREQUENCY, DUAL_SHARE, FENGQIAO_SHARE, "
    "OVERDUE_CASES, MEMBER_VISITS)",
    "clearedBy": "What cleared the flag: SCORE (it fell below the threshold) or REVIEW (a passed rectification)",
    "windowDays": "The window organisational life is counted in, in days",
    "minCases": "The cases a region needs before its Fengqiao share counts",
    "rules": "Per signal: its threshold and the points it adds",
    "settingsVersion": "The version of the weak-score settings after the change",
    "tasks": "How many tasks the rectification plan has",
    "reviewAt": "When the rectification is to be reviewed",
    "taskId": "The task of the rectification plan",
    "late": "Whether the task was done after its deadline",
    "open": "How many tasks of the plan are still open",
    "dueAt": "The task's deadline",
    # committees
    "buildingIds": "The estate's buildings (楼栋)",
    "buildingId": "The estate's building (楼栋) the case is reported on, when the item names one",
    "filedByOrgId": "The party organisation that filed the owners' committee (备案)",
    "filedOn": "The filing date",
    "seats": "The committee's seats (proposed structure, 结构建议)",
    "candidates": "How many candidates were proposed (names stay off the bus)",
    "candidateId": "The candidate, within the committee (c1, c2…)",
    "check": "The qualification check: PARTY_MEMBERSHIP, NO_ARREARS or RESIDENCY",
    "qualified": "Whether the candidate is qualified after this check",
    "seatsHeld": "Seats filled at the election",
    "partySeats": "Seats held by party members",
    "red": "红色业委会: party members hold seats",
    "termStart": "The term's first day",
    "termEnd": "The term's last day",
    "residentsCommitteeId": "The community's residents' committee (居委会)",
    "attendees": "How many attended (names stay off the bus)",
    "what": "What the service was",
    "deliveredAt": "When it was delivered",
    "lastActivityAt": "When the branch last showed 双报到 activity or delivered a service",
    "ownersCommitteeRecordId": "The estate's owners' committee record (红色业委会), when it has one",
    "commitments": "How many commitments (承诺事项) the unit made",
    "serviceCount": "Services the unit has delivered to the community so far",
    # funds and service lists
    "year": "The fund's year",
    "granted": "The money granted to the fund, in yuan",
    "accountId": "The community fund account (`fa:<community>:<year>`)",
    "amount": "The spending's amount, in yuan",
    "purpose": "What the money is for (用途)",
    "targetKind": "What the spending is linked to: PROPOSAL, PROJECT, ACTIVITY, SERVICE_ORDER or OTHER",
    "targetId": "The id of the proposal, project, activity or service order",
    "providerKind": "Who provides the service: UNIT, TEAM or DEPARTMENT",
    "providerId": "The providing unit, volunteer team or department",
    "changed": "Which fields changed",
}
FIELD_DESCRIPTIONS["aggregate"] += ", fund_account, fund_entry, service_entry"  # funds and service lists
FIELD_DESCRIPTIONS["aggregate"] += (
    ", proposal, notice, deliberation_rule, owners_committee, residents_committee, three_party_meeting, "
    "unit_registration, weak_standing, weak_settings, rectification"
)  # deliberation, committees, weak organisations


class OrgEvent(DomainEvent):
    """What happened, in the past tense, to the record `aggregate`/`aggregate_id`. Events of
    one command share `version`."""

    service_name: ClassVar[str] = "organizations"
    known_types: ClassVar[Collection[str]] = EVENT_TYPES
    subject_prefix: ClassVar[str] = SUBJECT_PREFIX

    type: str
    aggregate: str
    aggregate_id: str
    version: int
    at: datetime
    actor: str | None
    region_path: tuple[str, ...]
    data: dict[str, Any] = {}

    @property
    def record_kind(self) -> str:
        return self.aggregate

    @property
    def record_id(self) -> str:
        return self.aggregate_id


def event_from_wire(data: dict[str, Any]) -> OrgEvent:
    return OrgEvent.from_wire(data)


class Aggregate(BaseModel):
    """Base of every record with a version and pending events. A command checks first, then
    calls `_change` once and `_emit` for each event, so a command that raises leaves the
    record as it was."""

    aggregate_name: ClassVar[str] = "record"

    id: str
    version: int = 1
    updated_at: datetime | None = None
    pending_events: list[OrgEvent] = Field(default_factory=list, exclude=True)

    @property
    def scope_path(self) -> tuple[str, ...]:
        raise NotImplementedError

    def _change(self, now: datetime) -> None:
        self.version += 1
        self.updated_at = now

    def _emit(self, type: str, by: Principal | None, now: datetime, /, **data: Any) -> OrgEvent:
        """Record event `type` with fields `data`, published under the record's own path."""
        return self._emit_at(self.scope_path, type, by, now, **data)

    def _emit_at(
        self, path: tuple[str, ...], type: str, by: Principal | None, now: datetime, /, **data: Any
    ) -> OrgEvent:
        """Record event `type` published under `path` (a member's 双报到 events: the community's).
        The parameters are positional-only, so an event field of any name lands in `data`."""
        event = OrgEvent(
            type=type,
            aggregate=self.aggregate_name,
            aggregate_id=self.id,
            version=self.version,
            at=now,
            actor=public_actor(by),
            region_path=path,
            data=_jsonable(data),
        )
        self.pending_events.append(event)
        return event

    def drain_events(self) -> list[OrgEvent]:
        events, self.pending_events = self.pending_events, []
        return events


def _jsonable(data: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in data.items():
        if isinstance(v, BaseModel):
            v = v.model_dump(mode="json")
        elif isinstance(v, tuple):
            v = list(v)
        out[k] = v
    return out
