"""Re-encrypting a service's personal data under the current field key (`yiwang rekey`).

Each service declares where it keeps personal data encrypted (`Sealed`) and serves two
verbs, to internal callers only:

- `fields.status {keyId}`: per collection, how many records hold a field not written under
  `keyId` (a range query on the ciphertext prefix `v2:<keyId>:`; nothing is decrypted);
- `fields.rekey {keyId, collection, after, limit}`: the next records after `after` with such
  a field, each field decrypted and encrypted again under the current key, its blind index
  recomputed and any unique-key claim made from that index moved, in one transaction per
  batch. Returns where to go on from.

A record is rewritten only if its fields are still what was read (compare and set), and its
`version` goes up, so a command that read it before cannot write the old ciphertext back; a
record changed meanwhile is left for the next pass. The work is its own progress marker:
running it again, or after an interruption, finds only what is left. A service replica
whose current key is not `keyId` refuses, so a half-restarted deployment is noticed.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, Field

from shared.auth import Role
from shared.bulk import committed
from shared.errors import BadInput, Conflict, Forbidden
from shared.messaging.rpc import Request
from shared.mongo import UnitOfWork
from shared.privacy import FieldCipher
from shared.service import ServiceRuntime

log = logging.getLogger("yiwang.rekey")
MAX_BATCH = 500
REWRITTEN, CHANGED = "rewritten", "changed"


@dataclass(frozen=True)
class Sealed:
    """A collection's encrypted fields. A dotted path that meets a list applies to every
    element (`reporters.phone_enc`). `indexes` names the blind index kept beside a field
    (same parent); `claims` the `keys` id prefix of a unique-key claim made from an index."""

    collection: str
    fields: tuple[str, ...]
    indexes: Mapping[str, str] = field(default_factory=dict)
    claims: Mapping[str, str] = field(default_factory=dict)
    claims_collection: str = "keys"


class StatusQuery(BaseModel):
    keyId: str = Field(min_length=1, max_length=32)


class RekeyBatch(BaseModel):
    keyId: str = Field(min_length=1, max_length=32)
    collection: str | None = Field(default=None, max_length=64)  # None: the first one
    after: str | None = Field(default=None, max_length=200)
    limit: int = Field(default=200, ge=1, le=MAX_BATCH)


def _values(doc: Any, parts: list[str], prefix: str = "") -> Iterator[tuple[str, Any, Any]]:
    """(full dotted path with list positions, value, parent) for each place `parts` reaches."""
    if isinstance(doc, list):
        for i, item in enumerate(doc):
            yield from _values(item, parts, f"{prefix}{i}.")
        return
    if not isinstance(doc, dict) or parts[0] not in doc:
        return
    if len(parts) == 1:
        yield prefix + parts[0], doc[parts[0]], doc
    else:
        yield from _values(doc[parts[0]], parts[1:], f"{prefix}{parts[0]}.")


class Rekeyer:
    def __init__(self, rt: ServiceRuntime, cipher: FieldCipher, sealed: list[Sealed]):
        self.rt, self.cipher, self.sealed = rt, cipher, {s.collection: s for s in sealed}

    def _check(self, req: Request, key_id: str) -> None:
        if req.principal.role is not Role.SERVICE:
            raise Forbidden("re-encrypting personal data is an operator's command (`yiwang rekey`)")
        if key_id != self.cipher.key_id:
            raise Conflict(
                f"this {self.rt.name} replica writes under field key {self.cipher.key_id!r}, not "
                f"{key_id!r}: start every replica with the same YIWANG_FIELD_KEY_ID first",
                {"keyId": self.cipher.key_id},
            )

    def stale(self, s: Sealed) -> dict[str, Any]:
        """Records with a field not under the current key: ciphertexts sort by their prefix."""
        low, high = self.cipher.prefix, self.cipher.prefix[:-1] + chr(ord(self.cipher.prefix[-1]) + 1)
        # one-sided: strings below the key's prefix; a rekey pass reads every record anyway
        return {"$or": [{f: {"$lt": low}} for f in s.fields] + [{f: {"$gte": high}} for f in s.fields]}

    async def status(self, req: Request) -> dict:
        q = req.parse(StatusQuery)
        self._check(req, q.keyId)
        return {
            "service": self.rt.name,
            "keyId": self.cipher.key_id,
            "keyIds": self.cipher.key_ids,
            "stale": {name: await self.rt.db[name].count_documents(self.stale(s)) for name, s in self.sealed.items()},
        }

    async def rekey(self, req: Request) -> dict:
        q = req.parse(RekeyBatch)
        self._check(req, q.keyId)
        names = list(self.sealed)
        name = q.collection or names[0]
        if name not in self.sealed:
            raise BadInput(f"{self.rt.name} keeps no personal data in {name!r}; it does in {', '.join(names)}")
        s, coll = self.sealed[name], self.rt.db[name]
        query = self.stale(s) | ({"_id": {"$gt": q.after}} if q.after else {})
        top = {f.split(".")[0] for f in (*s.fields, *s.indexes.values())}
        docs = await coll.find(query, {**{t: 1 for t in top}, "version": 1}).sort("_id", 1).to_list(q.limit)
        plans = [p for p in (self._plan(s, d) for d in docs) if p is not None]

        async def work(uow: UnitOfWork) -> list[str]:
            return [await self._apply(uow, s, plan) for plan in plans]

        outcomes = await committed(self.rt, work, wake=False) if plans else []
        rewritten = outcomes.count(REWRITTEN)
        if rewritten:
            log.info("rekey: %d %s records re-encrypted under field key %r", rewritten, name, self.cipher.key_id)
        clashes = [o for o in outcomes if o not in (REWRITTEN, CHANGED)]
        for clash in clashes:
            log.error("rekey: a record of %s was not re-encrypted: %s", name, clash)
        more = len(docs) == q.limit
        following = names[names.index(name) + 1] if names.index(name) + 1 < len(names) else None
        return {
            "service": self.rt.name,
            "collection": name,
            "read": len(docs),
            "rewritten": rewritten,
            "changedMeanwhile": outcomes.count(CHANGED),
            "clashes": clashes,
            "next": {"collection": name, "after": docs[-1]["_id"]}
            if more
            else ({"collection": following, "after": None} if following else None),
        }

    def _plan(self, s: Sealed, doc: dict) -> dict | None:
        """The compare-and-set update for one record, and the claims it moves."""
        expect: dict[str, Any] = {"_id": doc["_id"]}
        put: dict[str, Any] = {}
        moves: list[tuple[str, str | None, str]] = []
        for path in s.fields:
            leaf = path.split(".")[-1]
            for full, value, parent in _values(doc, path.split(".")):
                if not isinstance(value, str) or self.cipher.is_current(value):
                    continue
                plain = self.cipher.decrypt(value)  # FieldKeyError if no configured key opens it
                expect[full], put[full] = value, self.cipher.encrypt(plain)
                if (index := s.indexes.get(leaf)) is not None and plain is not None:  # beside the field
                    where = full[: -len(leaf)] + index
                    old, new = parent.get(index), self.cipher.blind_index(plain)
                    expect[where], put[where] = old, new
                    if index in s.claims and old != new:
                        moves.append((s.claims[index], old, new))
        if not put:
            return None
        return {"expect": expect, "put": put, "moves": moves, "versioned": "version" in doc}

    async def _apply(self, uow: UnitOfWork, s: Sealed, plan: dict) -> str:
        """REWRITTEN, CHANGED (since it was read: the next pass takes it) or why not (a
        claim another record holds under the new index: data to settle by hand)."""
        owner, keys = plan["expect"]["_id"], uow.db[s.claims_collection]
        for prefix, _, new in plan["moves"]:
            taken = await keys.find_one({"_id": prefix + new}, session=uow.session)
            if taken is not None and taken.get("owner") != owner:
                return f"{owner} and {taken.get('owner')} claim the same {prefix.rstrip(':')}"
        update: dict[str, Any] = {"$set": plan["put"]}
        if plan["versioned"]:
            update["$inc"] = {"version": 1}
        res = await uow.db[s.collection].update_one(plan["expect"], update, session=uow.session)
        if res.matched_count != 1:
            return CHANGED
        for prefix, old, new in plan["moves"]:
            await keys.update_one(
                {"_id": prefix + new}, {"$setOnInsert": {"owner": owner}}, upsert=True, session=uow.session
            )
            if old is not None:
                await keys.delete_one({"_id": prefix + old, "owner": owner}, session=uow.session)
        return REWRITTEN


def serve_rekey(rt: ServiceRuntime, cipher: FieldCipher, *sealed: Sealed) -> None:
    """Declare where `rt`'s service keeps personal data encrypted and serve the rekey verbs."""
    rekeyer = Rekeyer(rt, cipher, list(sealed))
    rt.route("fields.status", rekeyer.status)
    rt.route("fields.rekey", rekeyer.rekey)
