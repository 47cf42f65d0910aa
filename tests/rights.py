"""The expected rights of every GraphQL operation, in one place: which roles may call it and how
the place of its target decides (API.md, Principals). `tests/e2e/test_authz_matrix.py` checks
every operation of the built schema against this table, for every role and every relation of
the target to the caller's region; an operation missing here fails that test.

Relations: the target (a region, or a record anchored in one) lies in the caller's own region,
in a child of it, in a sibling of it, or is its parent. A resident has no region: for them "own"
is their own record and the others are other people's records in those places. A superadmin may
do everything; a city administrator changes deployment-wide configuration too.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Rel(StrEnum):
    OWN = "own"
    CHILD = "child"
    SIBLING = "sibling"
    PARENT = "parent"


class Scope(StrEnum):
    NONE = "none"          # no target, or a list filtered to the caller: the role alone decides
    SUBTREE = "subtree"    # own and child (a resident: their own record); FORBIDDEN in sibling and parent
    PATH = "path"          # as SUBTREE, and the parent's breadcrumb (id, name, level) too
    OWN = "own"            # only the caller's own record (their volunteer or member record)
    DEPLOYMENT = "deployment"  # configuration of every region: superadmin and city administrators only


ROLES = ("superadmin", "admin", "operator", "grid_worker", "department", "volunteer", "resident", "building_leader")
A, O, W, D, V, R = "admin", "operator", "grid_worker", "department", "volunteer", "resident"
B = "building_leader"  # building: 楼栋长 / 党员中心户, one building; cases of it at BUILDING level
STAFF = frozenset({A, O})
READERS = frozenset({A, O, W, V})  # of grid workers and volunteer records in scope
FIGURES = READERS | {B}  # of a region's figures (a building leader: its building's)
ALL = frozenset(ROLES) - {"superadmin"}


@dataclass(frozen=True)
class Rule:
    roles: frozenset[str]
    scope: Scope = Scope.SUBTREE
    per_role: tuple[tuple[str, Scope], ...] = ()  # a role whose scope differs from `scope`
    superadmin: bool = True  # False: a superadmin sees figures only here (households)

    def scope_of(self, role: str) -> Scope:
        return dict(self.per_role).get(role, self.scope)

    def allows(self, role: str, rel: Rel, city_admin: bool = False) -> bool:
        if role == "superadmin":
            return self.superadmin
        if self.scope is Scope.DEPLOYMENT:
            return city_admin
        if role not in self.roles:
            return False
        scope = self.scope_of(role)
        if scope is Scope.NONE:
            return True
        if scope is Scope.OWN or role == R:
            return rel is Rel.OWN
        if scope is Scope.PATH:
            return rel is not Rel.SIBLING
        return rel in (Rel.OWN, Rel.CHILD)


def rule(*roles: str | frozenset[str], scope: Scope = Scope.SUBTREE, superadmin: bool = True,
         **per_role: Scope) -> Rule:
    flat: set[str] = set()
    for r in roles:
        flat |= set(r) if isinstance(r, frozenset) else {r}
    return Rule(frozenset(flat), scope, tuple(sorted(per_role.items())), superadmin)


NONE, OWN, PATH, DEPLOYMENT = Scope.NONE, Scope.OWN, Scope.PATH, Scope.DEPLOYMENT

RIGHTS: dict[str, Rule] = {
    # -- queries: territory
    "me": rule(ALL, scope=NONE),
    "region": rule(A, O, W, D, V, B, scope=PATH),     # ancestors of one's region: the breadcrumb only
    "regions": rule(ALL, scope=NONE),                 # filtered to the caller's subtree
    "locate": rule(ALL, scope=NONE),
    "overview": rule(FIGURES),                        # a department's figures are its own cases'
    "gridWorker": rule(READERS),
    "gridWorkers": rule(READERS),
    # -- links: 包联, read by staff and grid workers in scope (a cadre their own)
    "cadreAssignments": rule(A, O, W),
    "cadreAssignment": rule(A, O, W),
    # -- cases: departments and volunteers their assignments, residents their reports
    "case": rule(ALL),
    "cases": rule(ALL, resident=NONE),                # a resident's list is their own reports anywhere
    "caseCategories": rule(ALL, scope=NONE),
    # -- global ids: the matrix reads a case by node(id:) and a member by nodes(ids:); each answers as the
    #    record's own query (case, partyMember) does
    "node": rule(ALL),
    "nodes": rule(STAFF, V, volunteer=OWN),
    "caseCatalogue": rule(ALL, scope=NONE),
    # -- party records: staff in scope; a member their own record
    "partyOrganization": rule(STAFF),
    "partyOrganizations": rule(STAFF),
    "partyMember": rule(STAFF, V, volunteer=OWN),
    "partyMembers": rule(STAFF),
    "membershipTransfer": rule(STAFF),
    "membershipTransfers": rule(STAFF),
    "dualRegistrations": rule(STAFF),
    "unitTwinnings": rule(STAFF),
    "coBuildingUnit": rule(STAFF),
    "coBuildingUnits": rule(STAFF),
    "linkages": rule(STAFF),
    "jointMeeting": rule(STAFF),
    "jointMeetings": rule(STAFF),
    "organizationalLife": rule(STAFF),
    "needs": rule(STAFF),
    "unitResources": rule(STAFF),
    "projects": rule(STAFF),
    "memberFeedback": rule(STAFF),
    # -- volunteers: not departments
    "volunteer": rule(READERS, R),                    # a resident: their own volunteer record
    "myVolunteer": rule(ALL, scope=NONE),
    "volunteers": rule(READERS),
    "volunteerTeam": rule(READERS),
    "volunteerTeams": rule(READERS),
    "volunteerPost": rule(READERS),
    "volunteerPosts": rule(READERS),
    "serviceOrder": rule(READERS, R),
    "serviceOrders": rule(READERS, R, resident=NONE),  # a resident's list is their own orders
    "wishWall": rule(READERS),
    "volunteerTasks": rule(STAFF, V, R, volunteer=OWN),
    "activity": rule(READERS),
    "activities": rule(READERS),
    "pointsBalance": rule(STAFF, V, R, volunteer=OWN),
    "pointsHistory": rule(STAFF, V, R, volunteer=OWN),
    "rewardCatalogue": rule(ALL, scope=NONE),
    # -- figures
    "rankings": rule(FIGURES),
    "trend": rule(FIGURES),
    "hotspots": rule(FIGURES),
    # -- mutations: territory
    "createRegion": rule(A),
    "updateRegion": rule(A),
    "moveRegion": rule(A),
    "setRegionBoundary": rule(A),
    "createBuilding": rule(A),
    "registerGridWorker": rule(A),
    "assignGridWorker": rule(A),
    "unassignGridWorker": rule(A),
    # -- links:
    # -- sign-in: role assignments, inside an administrator's subtree
    "roleAssignments": rule(A),
    "assignRole": rule(A),
    "revokeRole": rule(A),
    "assignCadre": rule(A),
    "unassignCadre": rule(A),
    "linkMemberToHouseholds": rule(STAFF, superadmin=False),  # 党员联户: community staff, households in scope
    "unlinkMemberFromHouseholds": rule(STAFF, superadmin=False),
    # -- cases (API.md's table)
    # a resident reports anywhere; a grid worker in their grid; a building leader in its building (of the grid
    # it names: its own building then)
    "reportCase": rule(A, O, W, R, B, resident=NONE, building_leader=PATH),
    "acceptCase": rule(A, O, W, B),                   # a building leader: at BUILDING level
    "assignCase": rule(STAFF),
    "startCase": rule(W, D, V, B),
    "resolveCase": rule(W, D, V, B),
    "escalateCase": rule(A, O, W, B),
    "rejectCase": rule(STAFF),
    "returnCase": rule(D),
    "rateCase": rule(R),
    "closeCase": rule(STAFF),
    "mergeCase": rule(STAFF),
    "revealReporterContact": rule(A),
    "upsertCaseCategory": rule(scope=DEPLOYMENT),     # SLA and routing of every region
    "removeCaseCategory": rule(scope=DEPLOYMENT),
    # -- clocks: the work calendar every region's deadlines count
    "workCalendar": rule(ALL, scope=NONE),
    # -- mywork: the caller's own day (the services decide what it holds); a resident has none
    "myWork": rule(A, O, W, D, V, B, scope=NONE),  # a building's leader: its building's day
    "setWorkCalendar": rule(scope=DEPLOYMENT),
    # -- cases: follow-up (核查 by the dispatching centre, 回访 and 更正 by staff; comments by whoever sees the case)
    "verifyCase": rule(STAFF),
    "recordReturnVisit": rule(STAFF),
    "correctCase": rule(STAFF),
    "commentOnCase": rule(ALL),
    # -- departments: the directory, dispatch, requests, 督办, figures
    "departments": rule(A, O, W, D, scope=PATH),      # the directories of one's region, above and below it
    "departmentStats": rule(A, O, D),                 # a department: its own figures in its region
    "departmentRankings": rule(STAFF),
    # -- exports: staff of the region; a job is its owner's alone (anyone else's: NOT_FOUND)
    "exportCases": rule(STAFF),
    "exportFigures": rule(STAFF),
    "exportMonthlyReport": rule(STAFF),
    "exportJob": rule(ALL, scope=NONE),
    # -- onboarding imports: staff and grid workers; each row meets the services' scope; a job is its owner's
    "importFile": rule(A, O, W, scope=NONE),
    "resumeImport": rule(A, O, W, scope=NONE),
    "importJob": rule(ALL, scope=NONE),
    "createDepartment": rule(A),
    "dispatchCase": rule(STAFF),
    "replyToCase": rule(D),                           # a department on the case
    "requestCaseReturn": rule(D),                     # the lead
    "requestCaseExtension": rule(D),
    "suspendCase": rule(STAFF, D),
    "resumeCase": rule(STAFF, D),
    "decideCaseRequest": rule(STAFF),
    "urgeCase": rule(STAFF),                          # staff above the region handling the case
    # -- evidence: whoever may read the record in scope (the case's own rules then say at which stage)
    "uploadAttachment": rule(ALL),
    # -- party organisation
    "createPartyOrganization": rule(A),
    "updatePartyOrganization": rule(A),
    "appointPosition": rule(A),
    "endPosition": rule(A),
    "addUnitToCommittee": rule(A),
    "removeUnitFromCommittee": rule(A),
    "registerPartyMember": rule(A),
    "updatePartyMember": rule(A),
    "revealPartyMemberContact": rule(A),
    "requestMembershipTransfer": rule(A),
    "approveMembershipTransfer": rule(A),
    "rejectMembershipTransfer": rule(A),
    "cancelMembershipTransfer": rule(A),
    "dualRegister": rule(A, V, volunteer=OWN),        # a member registers themself
    "endDualRegistration": rule(A, V, volunteer=OWN),
    "twinUnitWithCommunity": rule(A),
    "registerCoBuildingUnit": rule(A),
    "updateCoBuildingUnitContacts": rule(A),
    "recordLinkage": rule(A),
    "scheduleJointMeeting": rule(A),
    "addAgendaItem": rule(STAFF),
    "recordMeetingMinutes": rule(STAFF),
    "addResolution": rule(A),
    "createCaseFromActionItem": rule(A),
    "recordOrganizationalLife": rule(STAFF),
    "postNeed": rule(A),
    "offerResource": rule(A),
    "proposeProject": rule(A),
    "updateProjectStatus": rule(A),
    # -- volunteers
    "registerVolunteer": rule(STAFF, V, R, resident=NONE),  # staff register anyone, people themselves
    "updateVolunteer": rule(STAFF, V, R, volunteer=OWN),
    "createVolunteerTeam": rule(STAFF),
    "addTeamMember": rule(STAFF),
    "removeTeamMember": rule(STAFF),
    "createVolunteerPost": rule(STAFF),
    "claimPost": rule(V),
    "releasePost": rule(STAFF, V),
    "closeVolunteerPost": rule(STAFF),
    "placeServiceOrder": rule(R, scope=NONE),
    "reviewServiceOrder": rule(STAFF),
    "dispatchServiceOrder": rule(STAFF),
    "takeServiceOrder": rule(V),
    "startServiceOrder": rule(V),                     # the volunteer who took it
    "completeServiceOrder": rule(V),
    "rateServiceOrder": rule(R),
    "cancelServiceOrder": rule(STAFF, R),
    "createActivity": rule(STAFF),
    "signUpForActivity": rule(V),
    "cancelActivitySignUp": rule(V),
    "checkInToActivity": rule(V),
    "checkOutOfActivity": rule(V),
    "backfillActivityHours": rule(A),
    "redeemPoints": rule(STAFF, V, volunteer=OWN),
    "upsertRewardItem": rule(scope=DEPLOYMENT),       # rewards every volunteer redeems
    "raiseHotspotToJointMeeting": rule(STAFF),
    # -- households: the grid worker's grid, the building leader's building, a community's staff; a volunteer
    #    lists the households linked to their member record. A superadmin (and staff above the community) see figures only, and an admin
    #    reveals one household (audited)
    "households": rule(A, O, W, B, V, superadmin=False),
    "household": rule(A, O, W, B, superadmin=False),
    "registerHousehold": rule(A, O, W, B, superadmin=False),
    "updateHousehold": rule(A, O, W, B, superadmin=False),
    "moveOutHousehold": rule(A, O, W, B, superadmin=False),
    "revealHousehold": rule(A),
    # -- visits: whoever sees the household by region, staff of a community or below (above it, and a
    #    superadmin, figures only); a volunteer lists their own visits; the rules are read by all
    "visits": rule(A, O, W, B, V, superadmin=False),
    "visit": rule(A, O, W, B, superadmin=False),
    "visitPlan": rule(A, O, W, superadmin=False),
    "visitRules": rule(ALL, scope=NONE),
    "recordVisit": rule(A, O, W, B, superadmin=False),   # a volunteer: only households linked to their member
    "reportFromVisit": rule(A, O, W, superadmin=False),  # the visitor, or staff over the grid
    "setVisitRules": rule(scope=DEPLOYMENT),          # the rules every region follows
    # -- subscriptions
    "caseEvents": rule(A, O, W, D),                    # a department: the cases it handles
    "events": rule(A, O, W, D),
    # -- notifications: everyone with a token reads and marks only their own inbox (and preferences)
    "notifications": rule(ALL, scope=NONE),
    "notificationPreferences": rule(ALL, scope=NONE),
    "markNotificationsRead": rule(ALL, scope=NONE),
    "setNotificationPreferences": rule(ALL, scope=NONE),
    "notificationAdded": rule(ALL, scope=NONE),
    # -- webhooks: administrators for their subtree, a department for its own cases; listed and
    # named by id only within the caller's (an unknown or another's id is NOT_FOUND, not FORBIDDEN)
    "webhooks": rule(A, D, scope=NONE),
    "registerWebhook": rule(A, D),
    "redeliverWebhook": rule(A, D, department=OWN),
    "deactivateWebhook": rule(A, D, department=OWN),  # a department: its own webhooks only
    # -- deliberation (一征三议两公开): the community's staff move proposals; residents propose in any community,
    #    support any proposal they have, read their own (and public ones) and object to any notice; notices and
    #    communities' rules are public to everyone with a token
    "proposals": rule(STAFF, R, resident=NONE),       # a resident: the public ones, or their own
    "proposal": rule(STAFF, R),                       # a resident: their own (a public or supported one too)
    "publicNotices": rule(ALL, scope=NONE),
    "deliberationRule": rule(ALL, scope=NONE),
    "submitProposal": rule(STAFF, R, resident=NONE),
    "supportProposal": rule(R, scope=NONE, superadmin=False),
    "advanceProposal": rule(STAFF),
    "recordRepresentativesVote": rule(STAFF),
    "objectToNotice": rule(R, scope=NONE, superadmin=False),
    "setDeliberationRule": rule(A),
    # -- residents' points: the table is read by all and set for every region; staff (and grid workers) award
    #    where it happened and read a resident's points earned in their scope; a resident reads and spends their own
    "residentPointsRules": rule(ALL, scope=NONE),
    "residentPoints": rule(A, O, W, R),
    "residentPointsHistory": rule(A, O, W, R),
    "setResidentPointsRules": rule(scope=DEPLOYMENT),
    "awardResidentPoints": rule(A, O, W),
    "redeemResidentPoints": rule(R, scope=NONE),      # their own points, at any community
    # -- units take service orders: the community's staff act for a co-building unit and read its figures
    "acceptServiceOrderForUnit": rule(STAFF),
    "unitOrderStats": rule(STAFF),
    # -- weak organisations (软弱涣散) and rectification (整顿): staff read the flagged ones of their subtree;
    #    admins above an organisation start and review its plan (the matrix names one below the caller's own
    #    region: its own admins below a township carry the plan out instead); staff in scope record a task done
    "weakOrganizations": rule(STAFF),
    "weakScoreSettings": rule(STAFF, scope=NONE),
    "setWeakScoreSettings": rule(scope=DEPLOYMENT),
    "startRectification": rule(A),
    "completeRectificationTask": rule(STAFF),
    "reviewRectification": rule(A),
    # -- committees: 红色业委会, 居委会 and 单位报到 are an administrator's in scope; staff read them and record
    #    三方联动 meetings (an operator too, as joint meetings' minutes)
    "ownersCommittee": rule(STAFF),
    "ownersCommittees": rule(STAFF),
    "residentsCommittee": rule(STAFF),
    "threePartyMeeting": rule(STAFF),
    "threePartyMeetings": rule(STAFF),
    "unitCommunityRegistrations": rule(STAFF),
    "createOwnersCommittee": rule(A),
    "addOwnersCommitteeCandidate": rule(A),
    "vetCommitteeCandidate": rule(A),
    "electOwnersCommittee": rule(A),
    "endOwnersCommitteeTerm": rule(A),
    "recordResidentsCommittee": rule(A),
    "recordThreePartyMeeting": rule(STAFF),
    "registerUnitWithCommunity": rule(A),
    "recordUnitService": rule(A),
    # -- funds and service lists: a community's fund is its staff's (an admin spends); a spending above the
    #    threshold is approved by an admin ABOVE the community (none in the matrix: only the superadmin here);
    #    the public summary and the service catalogue are everyone's (两公开, 五项服务)
    "fundAccount": rule(STAFF),
    "fundEntries": rule(STAFF),
    "fundSummary": rule(ALL, scope=NONE),
    "serviceCatalogue": rule(ALL, scope=NONE),
    "needSuggestions": rule(STAFF),
    "createFundAccount": rule(A),
    "recordSpending": rule(A),
    "approveSpending": rule(),
    "addServiceListEntry": rule(STAFF),
    "updateServiceListEntry": rule(STAFF),
    "retireServiceListEntry": rule(STAFF),
    "updateNeedStatus": rule(A),
}
