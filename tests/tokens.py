"""A development issuer for unit tests, with no files: a signing key, settings that name it, and a
verifier with its public key already loaded (what the gateway has after fetching the JWKS)."""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from jwt import PyJWK

from shared.identity import SigningKey, Verifier, mint_token, new_signing_key
from shared.settings import Settings


@dataclass
class LocalIssuer:
    settings: Settings
    key: SigningKey
    verifier: Verifier

    def token(self, **claims: Any) -> str:
        claims.setdefault("sub", "u")
        claims.setdefault("role", None)
        return mint_token(self.key, issuer=self.settings.jwt_issuer, audience=self.settings.jwt_audience, **claims)

    def publish(self, *keys: SigningKey) -> None:
        """The issuer's key set becomes these keys (a rotation)."""
        self.verifier.keys.keys = {k.kid: PyJWK(k.jwk) for k in keys}
        self.verifier.keys.loaded_at = time.monotonic()


def local_issuer(**settings: Any) -> LocalIssuer:
    base = {"jwks_url": "file:///nonexistent/jwks.json", "jwt_secret": "an-internal-key-long-enough-for-hs256"}
    s = Settings(**(base | settings))
    issuer = LocalIssuer(s, new_signing_key(), Verifier(s))
    issuer.publish(issuer.key)
    return issuer
