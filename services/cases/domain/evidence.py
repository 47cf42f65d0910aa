"""A case's evidence: who may attach a file at which stage of the case, the attach command, and
the catalogue's after-photo rule for resolving."""

from __future__ import annotations

from datetime import datetime

from shared.auth import Principal, Role
from shared.errors import BadInput, Conflict, Forbidden
from shared.vocabulary.cases import AttachmentKind, AttachmentStage

from . import events as ev
from .catalogue import Catalogue
from .enums import CaseStatus
from .model import Case
from .policy import SCOPE, check_building_level, is_assignee
from .values import Attachment, GeoPoint

S, St = CaseStatus, AttachmentStage
HANDLING = (S.ACCEPTED, S.ASSIGNED, S.IN_PROGRESS)
# The case statuses in which a file of each stage may be added.
STAGE_STATUSES: dict[AttachmentStage, tuple[CaseStatus, ...]] = {
    St.REPORT: (S.REPORTED, *HANDLING),
    St.HANDLING: HANDLING,
    St.RESOLUTION: (*HANDLING, S.RESOLVED),  # taken just before 办结, sent just after is fine
    St.VERIFICATION: (S.RESOLVED,),
    St.OTHER: (S.REPORTED, *HANDLING, S.RESOLVED),
}
STAFF = (Role.ADMIN, Role.OPERATOR)
HANDLERS = (Role.GRID_WORKER, Role.DEPARTMENT, Role.VOLUNTEER)
# The stages each role may add files at (staff and superadmin: every stage).
ROLE_STAGES: dict[Role, tuple[AttachmentStage, ...]] = {
    Role.RESIDENT: (St.REPORT,),
    Role.GRID_WORKER: (St.REPORT, St.HANDLING, St.RESOLUTION, St.OTHER),
    Role.DEPARTMENT: (St.HANDLING, St.RESOLUTION, St.OTHER),
    Role.VOLUNTEER: (St.HANDLING, St.RESOLUTION, St.OTHER),
    Role.BUILDING_LEADER: (St.REPORT, St.HANDLING, St.RESOLUTION, St.OTHER),  # building: while it is theirs
}


def default_stage(case: Case, by: Principal) -> AttachmentStage:
    """The stage a file is taken at when the uploader names none: from the case's status."""
    if case.status is S.REPORTED:
        return St.REPORT
    if case.status is S.RESOLVED:
        return St.VERIFICATION if by.role in STAFF or by.unrestricted else St.RESOLUTION
    return St.HANDLING


def check_attach(case: Case, by: Principal, stage: AttachmentStage | None, limit: int) -> AttachmentStage:
    """Whether `by` may add a file to `case` at `stage` (None: `default_stage`), and the stage it
    will be recorded at. FORBIDDEN outside the caller's scope or role, CONFLICT when the case's
    status does not take a file of that stage or it has `limit` files already."""
    if not SCOPE.admits(by, case):
        raise Forbidden(f"case {case.id} is outside your scope", {"caseId": case.id})
    stage = stage or default_stage(case, by)
    if not by.unrestricted and by.role not in STAFF:
        if stage not in ROLE_STAGES.get(by.role, ()):
            raise Forbidden(
                f"role {by.role} may not add {stage} evidence to a case", {"role": str(by.role), "stage": str(stage)}
            )
        # the assignee, or a department on the case (a 协办 backs its reply with evidence)
        on_case = is_assignee(by, case) or (by.role is Role.DEPARTMENT and case.handler_of(by) is not None)
        if by.role in (Role.DEPARTMENT, Role.VOLUNTEER) and not on_case:
            raise Forbidden(f"only the case's assignee or a department handling it may add evidence to case {case.id}")
        if by.role is Role.BUILDING_LEADER:  # building: a case of its building at BUILDING level, not someone else's
            check_building_level(by, "attach evidence to", case)
    if case.status not in STAGE_STATUSES[stage]:
        raise Conflict(
            f"case {case.id} is {case.status}: it takes no {stage} evidence now",
            {"status": str(case.status), "stage": str(stage)},
        )
    if len(case.attachments) >= limit:
        raise Conflict(f"case {case.id} has {len(case.attachments)} attachments, the most it may have", {"max": limit})
    return stage


def attach(
    case: Case,
    by: Principal,
    *,
    attachment_id: str,
    kind: AttachmentKind,
    content_type: str,
    size: int,
    sha256: str,
    stage: AttachmentStage | None,
    captured_at: datetime | None,
    location: GeoPoint | None,
    thumbnail_key: str | None,
    now: datetime,
    limit: int,
) -> Attachment:
    """Add a stored file to the case's evidence (CASE_ATTACHMENT_ADDED on its timeline)."""
    stage = check_attach(case, by, stage, limit)
    if any(a.id == attachment_id for a in case.attachments):
        raise Conflict(f"case {case.id} already has attachment {attachment_id}")
    if captured_at is not None and captured_at > now:
        raise BadInput("capturedAt lies in the future", {"capturedAt": captured_at.isoformat()})
    attachment = Attachment(
        id=attachment_id,
        kind=kind,
        content_type=content_type,
        size=size,
        sha256=sha256,
        stage=stage,
        captured_at=captured_at,
        location=location,
        blob_key=attachment_id,
        thumbnail_key=thumbnail_key,
        uploaded_by=by.sub,
        created_at=now,
    )
    case._change(now)
    case.attachments.append(attachment)
    case._emit(
        ev.CaseAttachmentAdded,
        by,
        now,
        attachment_id=attachment_id,
        kind=kind,
        stage=stage,
        size=size,
        note=f"{kind} ({stage})",
    )
    return attachment


def check_after_photo(case: Case, catalogue: Catalogue) -> None:
    """A case whose category `requires_after_photo` resolves only with a RESOLUTION-stage photo
    (BAD_INPUT otherwise). A case that cannot be resolved now at all is left to `Case.resolve`."""
    category = next((c for c in catalogue.categories if c.code == case.category_code), None)
    if category is None or not category.requires_after_photo or case.status not in HANDLING:
        return
    if not any(a.kind is AttachmentKind.PHOTO and a.stage is St.RESOLUTION for a in case.attachments):
        raise BadInput(
            f"category {category.code} is resolved only with an after-photo: upload a PHOTO at stage "
            f"RESOLUTION to case {case.id} first",
            {"categoryCode": category.code, "requires": "PHOTO@RESOLUTION"},
        )


__all__ = ["attach", "check_after_photo", "check_attach", "default_stage"]
