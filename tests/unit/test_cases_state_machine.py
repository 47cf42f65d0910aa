"""Property-based test of the case workflow: random sequences of commands by random principals
(many of them illegal), with time passing and the SLA sweeper running, never reach an
illegal state, a refused command leaves no trace, and the rollups accumulated from deltas
always equal a recount over all cases."""
from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta, timezone

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (RuleBasedStateMachine, initialize, invariant, precondition,
                                 rule, run_state_machine_as_test)

from services.cases.domain import (DEFAULT_CATALOGUE, EVENT_TYPES, OPEN_STATUSES, Assignee,
                                   AssigneeKind, Case, CaseChannel, CaseStatus, HandlingLevel,
                                   RollupDelta, comment, correct, counters_of, flag_return_visit_overdue,
                                   merge, record_return_visit, recount, verify, warn_due_soon)
from shared.vocabulary.cases import CommentVisibility, ReturnVisitSatisfaction
from services.cases.domain import evidence
from shared.auth import Principal, Role
from shared.vocabulary.cases import AttachmentKind, AttachmentStage
from shared.errors import DomainError

S, L, K = CaseStatus, HandlingLevel, AssigneeKind
T0 = datetime(2026, 3, 1, tzinfo=timezone.utc)
SLA = {L.GRID: 3600, L.COMMUNITY: 7200, L.TOWNSHIP: 10800, L.COUNTY: 14400}
RETURN_VISIT_S = 3600
PATHS = {"g1": ("c", "k", "t1", "m1", "g1"), "g2": ("c", "k", "t1", "m1", "g2"),
         "g3": ("c", "k", "t2", "m2", "g3")}
CATEGORIES = [DEFAULT_CATALOGUE.get(code) for code in
              ("DISPUTE_NEIGHBOR", "ENV_NOISE", "SAFETY_FIRE_EXIT", "DISPUTE_LABOUR")]


def P(sub: str, role: Role, **kw) -> Principal:
    return Principal(sub=sub, role=role, **kw)


GRID_WORKERS = {g: P(f"gw-{g}", Role.GRID_WORKER, region=g) for g in PATHS}
OPERATORS = {t: P(f"op-{t}", Role.OPERATOR, region=t) for t in ("t1", "t2")}
DEPARTMENTS = {d: P(f"dept-{d}", Role.DEPARTMENT, region="k", dept=d) for d in ("HRSS", "FIRE")}
VOLUNTEERS = {"mem-1": P("vol-1", Role.VOLUNTEER, region="m1", member="mem-1"),
              "vol-2": P("vol-2", Role.VOLUNTEER, region="m2")}
RESIDENTS = {s: P(s, Role.RESIDENT) for s in ("r1", "r2", "r3")}
ADMIN = P("admin-k", Role.ADMIN, region="k")
POOL = [*GRID_WORKERS.values(), *OPERATORS.values(), *DEPARTMENTS.values(),
        *VOLUNTEERS.values(), *RESIDENTS.values(), ADMIN, P("admin-t2", Role.ADMIN, region="t2"),
        P("root", Role.SUPERADMIN), P("svc:test", Role.SERVICE)]
ASSIGNEES = [Assignee(kind=K.GRID_WORKER, id=p.sub) for p in GRID_WORKERS.values()] + [
    Assignee(kind=K.DEPARTMENT, id=d) for d in DEPARTMENTS] + [
    Assignee(kind=K.VOLUNTEER, id=v) for v in VOLUNTEERS] + [
    Assignee(kind=K.COMMUNITY, id=m) for m in ("m1", "m2")]

# None stands for "a principal that fits the case and the command", so that legal commands
# happen often enough; the pool supplies the illegal ones.
who_st = st.sampled_from([None] * len(POOL) * 2 + POOL)
idx_st = st.integers(0, 3)  # counted from the newest case, so that cases get far along
text_st = st.sampled_from(["理由"] * 6 + ["", "  "])

SUCCEEDED: Counter[str] = Counter()
REFUSED: Counter[str] = Counter()


def fitting(case: Case, action: str, pick: int) -> Principal:
    township = case.region_path[2]
    if action in ("accept", "escalate") and pick % 2:
        return GRID_WORKERS[case.region_id]
    if action in ("accept", "escalate", "assign", "reject", "close", "merge", "verify", "return_visit", "correct"):
        return OPERATORS[township]
    if action == "reveal":
        return ADMIN
    if action == "rate":
        subs = [r.sub for r in case.reporters if r.sub in RESIDENTS] or ["r1"]
        return RESIDENTS[subs[pick % len(subs)]]
    a = case.assignee
    if a is not None and a.kind is K.DEPARTMENT:
        return DEPARTMENTS[a.id]
    if a is not None and a.kind is K.VOLUNTEER:
        return VOLUNTEERS[a.id]
    return GRID_WORKERS[case.region_id]


class CaseMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.now = T0
        self.cases: list[Case] = []
        self.rollups: dict[str, dict[str, int]] = {}
        self.changes: Counter[str] = Counter()   # case id -> successful commands
        self.emitted: Counter[str] = Counter()   # case id -> events recorded
        self.first_level: dict[str, L] = {}

    # ---- helpers ------------------------------------------------------------------------
    def pick(self, i: int) -> Case:
        return self.cases[-1 - i % len(self.cases)]

    def attempt(self, label: str, cases: list[Case], command) -> None:
        """Run `command`; check that a refusal changes nothing and a success is one change."""
        before = [c.model_copy(deep=True) for c in cases]
        try:
            command()
        except DomainError as e:
            REFUSED[f"{label}:{e.code}"] += 1
            for b, c in zip(before, cases):
                assert c.model_dump() == b.model_dump(), f"{label} refused but changed {c.id}"
                assert c.pending_events == []
            return
        for b, c in zip(before, cases):
            self.check_change(label, b, c)

    def check_change(self, label: str, before: Case | None, case: Case) -> None:
        events = case.drain_events()
        if before is not None and case.version == before.version:
            assert events == [] and case.model_dump() == before.model_dump(), label
            return
        assert case.version == (before.version + 1 if before else 1), label
        assert events and all(e.version == case.version and e.case_id == case.id
                              for e in events)
        assert all(e.counters == counters_of(case) for e in events), "counters not final"
        assert [t.type for t in case.timeline[-len(events):]] == [e.type for e in events]
        if label == "correct" and case.level != before.level:  # a new category before any handling
            assert case.escalations == 0 and before.status in (S.REPORTED, S.ACCEPTED)
            self.first_level[case.id] = case.level
        elif before is not None:
            assert case.level.rank >= before.level.rank, "level went down"
            if before.status.is_terminal:
                assert case.status is before.status, f"{label} left {before.status}"
        self.changes[case.id] += 1
        self.emitted[case.id] += len(events)
        SUCCEEDED[label] += 1
        for e in events:
            SUCCEEDED[f"event:{e.type}"] += 1
        for delta in RollupDelta.deltas(before, case):  # two when a correction moved the case
            delta.apply_to(self.rollups)

    # ---- rules --------------------------------------------------------------------------
    @initialize(reports=st.lists(st.tuples(st.sampled_from(sorted(PATHS)),
                                           st.sampled_from(CATEGORIES),
                                           st.sampled_from(list(RESIDENTS.values()))),
                                 min_size=1, max_size=3))
    def some_residents_report(self, reports):
        for grid, cat, who in reports:
            self.report(grid, cat, who, CaseChannel.MINI_PROGRAM, "漏水")

    @rule(grid=st.sampled_from(sorted(PATHS)), cat=st.sampled_from(CATEGORIES),
          who=st.sampled_from([*RESIDENTS.values(), *POOL]),
          channel=st.sampled_from(list(CaseChannel)), title=st.sampled_from(["漏水"] * 6 + [" "]))
    def report(self, grid, cat, who, channel, title):
        try:
            case = Case.report(id=f"c{len(self.cases)}", title=title, description="", category=cat,
                               channel=channel, region_path=PATHS[grid], by=who, now=self.now,
                               sla=SLA, reporter_name="张三", reporter_phone_enc="enc",
                               reporter_sub="r3")
        except DomainError as e:
            REFUSED[f"report:{e.code}"] += 1
            return
        self.cases.append(case)
        self.first_level[case.id] = case.level
        self.check_change("report", None, case)

    def command(self, label: str, i: int, who: Principal | None, pick: int, fn) -> None:
        case = self.pick(i)
        by = who or fitting(case, label, pick)
        self.attempt(label, [case], lambda: fn(case, by))

    @precondition(lambda self: self.cases)
    @rule(i=idx_st, who=who_st, p=idx_st)
    def accept(self, i, who, p):
        self.command("accept", i, who, p, lambda c, by: c.accept(by, self.now, SLA))

    @precondition(lambda self: self.cases)
    @rule(i=idx_st, who=who_st, p=idx_st, assignee=st.sampled_from(ASSIGNEES))
    def assign(self, i, who, p, assignee):
        self.command("assign", i, who, p, lambda c, by: c.assign(by, assignee, self.now))

    @precondition(lambda self: self.cases)
    @rule(i=idx_st, who=who_st, p=idx_st)
    def start(self, i, who, p):
        self.command("start", i, who, p, lambda c, by: c.start(by, self.now))

    @precondition(lambda self: self.cases)
    @rule(i=idx_st, who=who_st, p=idx_st, text=text_st)
    def resolve(self, i, who, p, text):
        self.command("resolve", i, who, p, lambda c, by: c.resolve(by, text, self.now, RETURN_VISIT_S))

    @precondition(lambda self: self.cases)
    @rule(i=idx_st, who=who_st, p=idx_st, text=text_st)
    def escalate(self, i, who, p, text):
        self.command("escalate", i, who, p, lambda c, by: c.escalate(by, text, self.now, SLA))

    @precondition(lambda self: self.cases)
    @rule(i=idx_st, who=who_st, p=idx_st, text=text_st)
    def reject(self, i, who, p, text):
        self.command("reject", i, who, p, lambda c, by: c.reject(by, text, self.now))

    @precondition(lambda self: self.cases)
    @rule(i=idx_st, who=who_st, p=idx_st, text=text_st)
    def return_(self, i, who, p, text):
        self.command("return", i, who, p, lambda c, by: c.return_(by, text, self.now))

    @precondition(lambda self: self.cases)
    @rule(i=idx_st, who=who_st, p=idx_st, score=st.sampled_from([1, 2, 3, 4, 5, 0, 6]))
    def rate(self, i, who, p, score):
        self.command("rate", i, who, p, lambda c, by: c.rate(by, score, self.now, SLA))

    @precondition(lambda self: self.cases)
    @rule(i=idx_st, who=who_st, p=idx_st)
    def close(self, i, who, p):
        self.command("close", i, who, p, lambda c, by: c.close(by, self.now))

    # follow-up: 核查, 回访, corrections, comments
    @rule(grid=st.sampled_from(sorted(PATHS)), cat=st.sampled_from(CATEGORIES))
    def hotline_call(self, grid, cat):
        """A caller without an account, entered by the centre: a 回访 task after the resolution."""
        case = Case.report(id=f"c{len(self.cases)}", title="来电", description="", category=cat,
                           channel=CaseChannel.HOTLINE, region_path=PATHS[grid], by=ADMIN, now=self.now,
                           sla=SLA, reporter_name="王五", reporter_phone_enc="enc")
        self.cases.append(case)
        self.first_level[case.id] = case.level
        self.check_change("report", None, case)

    @precondition(lambda self: self.cases)
    @rule(i=idx_st, who=who_st, p=idx_st, passed=st.booleans(), text=text_st)
    def verify(self, i, who, p, passed, text):
        self.command("verify", i, who, p,
                     lambda c, by: verify(c, by, passed, text, None, self.now, SLA, RETURN_VISIT_S))

    @precondition(lambda self: self.cases)
    @rule(i=idx_st, who=who_st, p=idx_st, reached=st.booleans(),
          satisfaction=st.sampled_from([None, *ReturnVisitSatisfaction]))
    def return_visit(self, i, who, p, reached, satisfaction):
        self.command("return_visit", i, who, p, lambda c, by: record_return_visit(
            c, by, f"rv{self.changes[c.id]}", satisfaction, reached, None, self.now, SLA))

    @precondition(lambda self: self.cases)
    @rule(i=idx_st, who=who_st, p=idx_st, grid=st.sampled_from([None, *sorted(PATHS)]),
          cat=st.sampled_from([None, *CATEGORIES]), text=text_st)
    def correct(self, i, who, p, grid, cat, text):
        self.command("correct", i, who, p, lambda c, by: correct(
            c, by, text, self.now, SLA, category=cat, region_path=PATHS[grid] if grid else None))

    @precondition(lambda self: self.cases)
    @rule(i=idx_st, who=who_st, p=idx_st, text=text_st, visibility=st.sampled_from(list(CommentVisibility)))
    def comment(self, i, who, p, text, visibility):
        self.command("comment", i, who, p, lambda c, by: comment(
            c, by, f"cm{self.changes[c.id]}", text, visibility, None, self.now))

    @precondition(lambda self: self.cases)
    @rule(i=idx_st, who=who_st, p=idx_st, text=text_st, index=st.integers(0, 2))
    def reveal(self, i, who, p, text, index):
        self.command("reveal", i, who, p,
                     lambda c, by: c.reveal_contact(by, text, self.now, index))

    @precondition(lambda self: self.cases)
    @rule(i=idx_st, meeting=st.sampled_from(["jm1", "jm2"]))
    def deliberate(self, i, meeting):
        """A joint meeting's resolution on the case's hotspot: noted once, in any state."""
        case = self.pick(i)
        self.attempt("deliberate", [case], lambda: case.note_deliberation(meeting, "r1", "议定", self.now))

    @precondition(lambda self: self.cases)
    @rule(i=idx_st, who=who_st, p=idx_st, stage=st.sampled_from([None, *AttachmentStage]))
    def attach(self, i, who, p, stage):
        """Evidence (domain/evidence.py): at a stage the case's status and the caller's role allow."""
        def add(c: Case, by: Principal) -> None:
            evidence.attach(c, by, attachment_id=f"{c.id}-a{len(c.attachments)}", kind=AttachmentKind.PHOTO,
                            content_type="image/jpeg", size=1000, sha256="0" * 64, stage=stage, captured_at=None,
                            location=None, thumbnail_key=None, now=self.now, limit=3)
        self.command("attach", i, who, p, add)

    @precondition(lambda self: self.cases)
    @rule(i=idx_st, j=idx_st, who=who_st, force=st.booleans())
    def merge(self, i, j, who, force):
        into, other = self.pick(i), self.pick(j)
        if force:  # a duplicate from the same grid, if there is one
            other = next((c for c in reversed(self.cases) if c is not into
                          and c.region_id == into.region_id), other)
        by = who or fitting(into, "merge", 0)
        cases = [into] if into is other else [into, other]
        self.attempt("merge", cases, lambda: merge(into, other, by, self.now, force))

    advance_args = dict(i=idx_st, p=idx_st, assignee=st.sampled_from(ASSIGNEES),
                        score=st.sampled_from([1, 2, 3, 4, 5]),
                        detour=st.sampled_from([False, False, True]))

    @precondition(lambda self: self.cases)
    @rule(**advance_args)
    def advance(self, i, p, assignee, score, detour):
        """The next step of the main path, or a side way, by a fitting principal; so that
        cases get far (the other rules mostly try illegal things)."""
        case, now = self.pick(i), self.now
        steps = {
            S.REPORTED: [("accept", lambda c, by: c.accept(by, now, SLA)),
                         ("reject", lambda c, by: c.reject(by, "不予受理", now))],
            S.ACCEPTED: [("assign", lambda c, by: c.assign(by, assignee, now)),
                         ("escalate", lambda c, by: c.escalate(by, "上报", now, SLA))],
            S.ASSIGNED: [("start", lambda c, by: c.start(by, now)),
                         ("return", lambda c, by: c.return_(by, "退单", now))],
            S.IN_PROGRESS: [("resolve", lambda c, by: c.resolve(by, "办结", now, RETURN_VISIT_S)),
                            ("return", lambda c, by: c.return_(by, "退单", now))],
            S.RESOLVED: [("rate", lambda c, by: c.rate(by, score, now, SLA)),
                         ("close", lambda c, by: c.close(by, now))],
        }.get(case.status)
        if case.status is S.RESOLVED and case.verification_due:  # 核查 passes, or fails (重办)
            steps = [("verify", lambda c, by: verify(c, by, True, None, None, now, SLA, RETURN_VISIT_S)),
                     ("verify", lambda c, by: verify(c, by, False, "未整改到位", None, now, SLA, RETURN_VISIT_S))]
        if steps:
            label, fn = steps[detour]
            self.command(label, i, None, p, fn)

    # The main path is taken more often than any single other rule.
    @precondition(lambda self: self.cases)
    @rule(**advance_args)
    def advance_again(self, i, p, assignee, score, detour):
        self.advance(i, p, assignee, score, detour)

    @precondition(lambda self: self.cases)
    @rule(**advance_args)
    def advance_once_more(self, i, p, assignee, score, detour):
        self.advance(i, p, assignee, score, detour)

    @precondition(lambda self: self.cases)
    @rule(seconds=st.integers(0, 20_000))
    def time_passes(self, seconds):
        self.now += timedelta(seconds=seconds)

    @precondition(lambda self: self.cases)
    @rule(seconds=st.sampled_from([4000, 0, 600, 8000, 20_000]))
    def sweeper_runs(self, seconds):
        self.now += timedelta(seconds=seconds)
        for case in self.cases:
            self.attempt("sweep", [case], lambda: case.sweep(self.now, SLA))
            self.attempt("due_soon", [case], lambda: warn_due_soon(case, self.now))  # clocks
            self.attempt("sweep", [case], lambda: flag_return_visit_overdue(case, self.now, ADMIN))

    @precondition(lambda self: self.cases)
    @rule(after=st.sampled_from([0, 3600, 86400]))
    def auto_close(self, after):
        for case in self.cases:
            self.attempt("auto_close", [case], lambda: case.auto_close(self.now, after))

    # ---- invariants ---------------------------------------------------------------------
    @invariant()
    def every_case_is_in_a_legal_state(self):
        ids = {c.id for c in self.cases}
        for c in self.cases:
            assert c.version == self.changes[c.id], "version is not one per change"
            assert len(c.timeline) == self.emitted[c.id]
            assert c.escalations == c.level.rank - self.first_level[c.id].rank
            assert c.reporters and c.region_id == c.region_path[-1]
            subs = [r.sub for r in c.reporters if r.sub]
            assert len(subs) == len(set(subs))
            st_ = c.status
            if st_ in OPEN_STATUSES:
                assert c.due_at is not None and c.closed_at is None
                assert (c.assignee is None) == (st_ in (S.REPORTED, S.ACCEPTED))
            else:
                assert c.due_at is None and not c.overdue
            if st_ in (S.ASSIGNED, S.IN_PROGRESS):
                assert c.accepted_at is not None
            if st_ is S.REPORTED:
                assert c.accepted_at is None and c.resolved_at is None
            if st_ is S.RESOLVED:
                assert c.resolved_at is not None and c.resolved_at_level is c.level
                assert c.resolved_on_time is not None and c.rating is None
            if st_ is S.CLOSED:
                assert c.closed_at is not None
                # Closed after a resolution, or merged; a case reopened by a low rating keeps
                # its last resolution time and may then be merged as a duplicate.
                assert c.merged_into is not None or c.resolved_at is not None
            if st_ is S.REJECTED:
                assert c.accepted_at is not None and c.resolved_at is None
            if c.overdue:
                assert c.level is L.COUNTY and c.overdue_count >= 1
            if c.merged_into is not None:
                assert st_ is S.CLOSED and c.merged_into in ids and c.merged_into != c.id
            if c.rating is not None:
                assert 1 <= c.rating <= 5 and c.resolved_at is not None
            if c.reopened:
                assert c.resolved_at is not None
            if c.verification_due:
                assert st_ is S.RESOLVED and c.rating is None
            if c.return_visit_due_at is not None:
                assert st_ in (S.RESOLVED, S.CLOSED) and not any(r.sub for r in c.reporters)
            assert c.rework_count == sum(1 for v in c.verifications if not v.passed)

    @invariant()
    def rollups_equal_a_recount(self):
        assert self.rollups == recount(self.cases)
        for counters in self.rollups.values():
            g = lambda k: counters.get(k, 0)  # noqa: E731
            assert g("total") == (g("open") + g("awaiting_rating") + g("closed")
                                  + g("rejected") + g("merged"))
            assert g("resolved") == sum(g(f"resolved_by_level.{lvl}") for lvl in L)
            assert g("satisfied") <= g("rated") <= g("resolved")
            assert g("resolved_on_time") <= g("resolved") and g("overdue") <= g("open")
            assert g("responded") <= g("total") - g("merged")
            assert g("awaiting_verification") <= g("awaiting_rating")
            assert g("reworked") <= g("verified") and g("returned") <= g("dispatched")
            assert g("visit_satisfied") <= g("visited")
            assert g("return_visit_overdue") <= g("return_visit_pending")
            assert sum(g(f"evaluated_by_channel.{ch}") for ch in CaseChannel) == g("rated") + g("visited")


def test_no_command_sequence_reaches_an_illegal_state():
    SUCCEEDED.clear()
    REFUSED.clear()
    run_state_machine_as_test(CaseMachine, settings=settings(
        max_examples=60, stateful_step_count=40, deadline=None,
        suppress_health_check=[HealthCheck.too_slow]))
    # Not vacuous: cases went along the main path, and commands were refused for each reason.
    assert sum(SUCCEEDED.values()) >= 300, SUCCEEDED
    for label in ("report", "accept", "assign", "start", "resolve"):
        assert SUCCEEDED[label] > 0, f"{label} never succeeded: {SUCCEEDED}"
    for code in ("FORBIDDEN", "CONFLICT", "BAD_INPUT"):
        assert any(k.endswith(code) for k in REFUSED), f"no {code} refusal: {REFUSED}"


def test_the_machine_checks_every_command_on_a_scripted_run():
    """The same rules and invariants, driven through every command and event type."""
    SUCCEEDED.clear()
    REFUSED.clear()
    m = CaseMachine()
    r1, r2, r3 = RESIDENTS.values()
    cat = CATEGORIES[0]

    def step(name: str, **kw) -> None:
        getattr(m, name)(**kw)
        m.every_case_is_in_a_legal_state()
        m.rollups_equal_a_recount()

    def advance(i: int, detour: bool = False, score: int = 5, assignee: Assignee = ASSIGNEES[3]):
        step("advance", i=i, p=0, assignee=assignee, score=score, detour=detour)

    step("some_residents_report", reports=[("g1", cat, r1), ("g1", cat, r2), ("g3", cat, r3)])
    c0, c1, c2 = m.cases                        # i=2 picks c0, i=1 c1, i=0 c2
    step("merge", i=2, j=1, who=None, force=False)
    assert c1.merged_into == c0.id and len(c0.reporters) == 2
    advance(2)                                  # accept
    advance(2)                                  # assign to HRSS
    advance(2, detour=True)                     # 退单
    assert c0.status is S.ACCEPTED and c0.assignee is None
    for _ in range(3):
        advance(2)                              # assign, start, resolve
    assert c0.verification_due                  # handled by a department: 核查 first
    step("rate", i=2, who=None, p=0, score=5)   # refused: waits for 核查
    advance(2, detour=True)                     # 核查 fails: back to HRSS, 重办
    assert c0.status is S.IN_PROGRESS and c0.rework_count == 1 and c0.assignee.id == "HRSS"
    advance(2)                                  # resolve again
    advance(2)                                  # 核查 passes
    advance(2, score=2)                         # reopen
    assert c0.reopened and c0.status is S.ACCEPTED
    for _ in range(3):
        advance(2, assignee=ASSIGNEES[0])       # to the grid worker, start, resolve
    step("rate", i=2, who=None, p=1, score=1)   # r2, merged in, rates: closes now
    assert c0.status is S.CLOSED and c0.rating == 1
    step("rate", i=2, who=None, p=0, score=4)   # r1 rates late
    step("sweeper_runs", seconds=int((c2.due_soon_at - m.now).total_seconds()) + 1)  # c2's last fifth: DUE_SOON
    assert c2.due_soon_sent and c2.timeline[-1].type == "DUE_SOON"
    for _ in range(4):
        step("sweeper_runs", seconds=20_000)    # c2 climbs to COUNTY, then is overdue
    assert c2.level is L.COUNTY and c2.overdue
    step("reveal", i=0, who=None, p=0, text="核实", index=0)
    step("deliberate", i=0, meeting="jm1")
    step("reject", i=0, who=None, p=0, text="不属于受理范围")
    step("report", grid="g2", cat=cat, who=r3, channel=CaseChannel.HOTLINE, title="漏水")
    step("attach", i=0, who=None, p=0, stage=None)  # its grid worker, REPORT stage
    for _ in range(4):
        advance(0, assignee=ASSIGNEES[1])       # accept, assign to g2's worker, start, resolve
    step("auto_close", after=0)
    step("report", grid="g2", cat=cat, who=r3, channel=CaseChannel.WALK_IN, title="漏水")
    step("escalate", i=0, who=None, p=1, text="需社区协调")
    advance(0, detour=True)                     # escalate again
    for _ in range(3):
        advance(0, assignee=ASSIGNEES[1])       # assign, start, resolve
    step("close", i=0, who=None, p=0)
    step("time_passes", seconds=60)
    # refused: wrong state, wrong role, bad input
    step("accept", i=2, who=None, p=0)
    step("start", i=0, who=r1, p=0)
    step("rate", i=0, who=None, p=0, score=0)
    step("assign", i=1, who=None, p=0, assignee=ASSIGNEES[-1])
    step("hotline_call", grid="g1", cat=cat)    # no account: a 回访 task after the resolution
    step("correct", i=0, who=None, p=0, grid="g2", cat=CATEGORIES[1], text="更正网格")
    assert m.cases[-1].region_id == "g2"
    step("comment", i=0, who=None, p=0, text="已电话联系", visibility=CommentVisibility.INTERNAL)
    for _ in range(4):
        advance(0, assignee=ASSIGNEES[1])       # accept, assign to g2's worker, start, resolve
    assert m.cases[-1].return_visit_due_at is not None
    step("return_visit", i=0, who=None, p=0, reached=False, satisfaction=None)
    step("sweeper_runs", seconds=4000)          # the 回访 task is overdue
    assert m.cases[-1].return_visit_overdue
    step("return_visit", i=0, who=None, p=0, reached=True, satisfaction=ReturnVisitSatisfaction.SATISFIED)
    assert m.cases[-1].status is S.CLOSED and m.cases[-1].return_visit_due_at is None

    assert {"report", "accept", "assign", "start", "resolve", "escalate", "reject", "return",
            "rate", "close", "reveal", "merge", "sweep", "auto_close", "verify", "return_visit", "correct",
            "comment"} <= set(SUCCEEDED)
    # the departments' commands (dispatch, replies, requests, urging) run in tests/unit/test_departments_rules.py
    departments = {"CASE_DISPATCHED", "CASE_REPLIED", "CASE_REQUEST_RAISED", "CASE_REQUEST_DECIDED",
                   "CASE_SUSPENDED", "CASE_RESUMED", "CASE_URGED"}
    assert {f"event:{t}" for t in EVENT_TYPES if t not in departments} <= set(SUCCEEDED)
    assert {"accept:CONFLICT", "start:FORBIDDEN", "rate:BAD_INPUT", "rate:CONFLICT"} <= set(REFUSED)
