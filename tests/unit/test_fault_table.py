"""The fault table's verdict: losses (and what follows from them) are told apart from every
other finding, so an expected failure for lost writes never hides a duplicate or a hang."""
from __future__ import annotations

import pytest

from tests.faults.rounds import LostAcknowledgedWrites, Row


@pytest.mark.parametrize("found", [dict(lost=1), dict(lost=2, retry_differs=1, events=1, after_loss=1)])
def test_losses_alone_are_lost_writes(found):
    with pytest.raises(LostAcknowledgedWrites):
        Row("mongo", **found).assert_clean()


@pytest.mark.parametrize("found", [dict(lost=1, duplicated=1), dict(lost=1, errors=1), dict(lost=1, stuck=1),
                                   dict(lost=1, figures=1), dict(retry_differs=1), dict(after_loss=1)])
def test_anything_else_is_a_plain_failure(found):
    with pytest.raises(AssertionError) as raised:
        Row("mongo", **found).assert_clean()
    assert not isinstance(raised.value, LostAcknowledgedWrites)


def test_a_clean_row_passes():
    Row("mongo", rounds=3, acked=200).assert_clean()
