"""A lost version race is told apart by its type, not its wording: the command retries on
`LostRace` only, and callers see CONFLICT either way."""
from __future__ import annotations

from shared.errors import Conflict, DomainError, ErrorCode, LostRace


def test_a_lost_race_is_a_conflict_to_callers():
    race = LostRace("worded any way at all", {"id": "x"})
    assert isinstance(race, Conflict) and race.code is ErrorCode.CONFLICT
    assert race.to_dict()["code"] == "CONFLICT"
    # over the wire it comes back as a plain Conflict: only the service that lost it may retry
    back = DomainError.from_dict(race.to_dict())
    assert type(back) is Conflict


def test_a_stale_expected_version_is_not_a_lost_race():
    assert not isinstance(Conflict("case c1 changed while you were working on it"), LostRace)
