"""Production mode cannot be half-on: every process (the gateway, each service, the `yiwang`
commands) calls `check_production` at start, and in production refuses the development
secrets, the example values published in `deploy/` and the README, and weak ones.

Strength is judged by length and by zxcvbn's estimate of the guesses an attacker needs
(it sees repeats, sequences, keyboard walks and words, which a character count does not).
A secret from `openssl rand -base64 32` estimates at about 10^44 guesses; 32 random hex
digits at 10^28 and more. Only production pays for the estimate (~0.7 s and ~14 MB once).
"""

from __future__ import annotations

import logging
import math

from shared.settings import DEV_FIELD_KEY, DEV_JWT_SECRET, InvalidSettings, Settings

log = logging.getLogger("yiwang.production")

MIN_LENGTH = 32
MIN_GUESSES_LOG10 = 27  # about 90 bits; 32 random hex digits never scored below 28 in 1,500 draws
GENERATE = "generate one with `openssl rand -base64 32`"
# Values published with Yiwang (defaults, deploy/ examples, documentation): known to everyone.
PUBLISHED = {DEV_JWT_SECRET, DEV_FIELD_KEY, "change-me", "changeme", "secret", "password"}
PLACEHOLDERS = ("change-me", "changeme", "change_me", "do-not-use", "replace-me", "replace-with", "example")
# Words an attacker would try first against this product's secrets.
PROJECT_WORDS = ["yiwang", "production", "secret", "field", "key", "jwt", "token", "change", "default"]


def weakness(value: str) -> str | None:
    """Why `value` is not fit to be a production secret, or None. Never echoes the value."""
    lowered = value.lower()
    if value in PUBLISHED or any(marker in lowered for marker in PLACEHOLDERS):
        return "is a development or example value published with Yiwang"
    if len(value) < MIN_LENGTH:
        return f"is shorter than the {MIN_LENGTH} characters needed"
    from zxcvbn import zxcvbn  # only production pays for its word lists

    guesses = zxcvbn(value[:72], user_inputs=PROJECT_WORDS)["guesses_log10"]  # it refuses longer input
    if guesses < MIN_GUESSES_LOG10:
        return (
            f"would fall to about 10^{guesses:.0f} guesses ({guesses * math.log2(10):.0f} bits: repeats, "
            f"sequences or words); at least 10^{MIN_GUESSES_LOG10} are needed"
        )
    return None


def check_production(settings: Settings, process: str = "this process", uses_field_key: bool = True) -> None:
    """Raise `InvalidSettings` (a SystemExit naming the setting, never its value) when
    `settings` are production ones that are not safe to run with. A process that encrypts
    nothing (the gateway) needs no field key; one it is given anyway must still be strong."""
    if not settings.production:
        return
    secrets = [("YIWANG_JWT_SECRET", settings.jwt_secret)]
    if uses_field_key or settings.field_key != DEV_FIELD_KEY:
        secrets.append(("YIWANG_FIELD_KEY", settings.field_key))
    problems = []
    for name, value in secrets:
        if (reason := weakness(value)) is not None:
            problems.append(f"{name} {reason}; {GENERATE}")
    if settings.jwt_secret == settings.field_key:
        problems.append("YIWANG_JWT_SECRET and YIWANG_FIELD_KEY are the same secret; give each its own")
    if settings.jwks_url is None:
        problems.append(
            "YIWANG_JWKS_URL is not set: production verifies people's tokens with the identity provider's "
            "published keys (its JWKS), never the development issuer's"
        )
    elif not settings.jwks_url.startswith(("https://", "file://")):
        problems.append(
            "YIWANG_JWKS_URL must be https:// (or file:// for a mounted key set): keys fetched in the clear "
            "can be swapped"
        )
    if settings.fault:
        problems.append("YIWANG_FAULT injects crashes for tests and is refused in production")
    if problems:
        raise InvalidSettings(f"{process} runs with YIWANG_ENV=production, and " + "; ".join(problems))
    for kid, secret in settings.old_field_keys.items():
        if kid != settings.field_key_id and weakness(secret) is not None:
            # Still needed to read what it wrote: the way off a weak key is a new current key,
            # this one among the old ones, and `yiwang rekey`.
            log.warning(
                "old field key %r is weak or published; run `yiwang rekey`, then remove it from YIWANG_OLD_FIELD_KEYS",
                kid,
            )
