"""Retry delays with full jitter, for the SMS/WeChat sender and the webhook dispatcher alike."""

from __future__ import annotations

import random


def backoff_s(attempts: int, base_s: float, cap_s: float, rng: random.Random | None = None) -> float:
    """Exponential backoff with full jitter: uniform in [0, min(cap, base * 2^(attempts-1))]
    (senders coming back are not hit by every retry at once)."""
    ceiling = min(cap_s, base_s * 2 ** max(attempts - 1, 0))
    return (rng or random).uniform(0, ceiling)
