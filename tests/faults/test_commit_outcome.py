"""A commit that lands, then the store dies before its answer reaches the service.

The driver sends the commit again; the restarted store no longer knows the transaction and
answers NoSuchTransaction with the TransientTransactionError label, so `with_transaction`
would run the work a second time: a change without an idempotency key applied twice, or
refused as already done (the fault rounds met "you have already rated" for a rating the
resident sent once). The transactor answers UNAVAILABLE instead and the work runs once.

Made deterministic with a small proxy between the client and the store: it passes every
message through, and for one commit it waits for the store's answer, kills the store with
SIGKILL, starts it again on the same port and data, and drops the answer.
"""

from __future__ import annotations

import asyncio
import struct
import uuid

import pytest
from bson import ObjectId
from pymongo import AsyncMongoClient

from shared.embedded import free_port
from shared.errors import Conflict, Unavailable
from shared.mongo import Transactor, UnitOfWork, recall, remember
from tests.infra import Server, start_mongo

OP_MSG = 2013


async def read_frame(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readexactly(4)
    (length,) = struct.unpack("<i", head)
    return head + await reader.readexactly(length - 4)


def command_name(frame: bytes) -> str | None:
    """The first key of an OP_MSG's body section: the command's name."""
    if struct.unpack("<i", frame[12:16])[0] != OP_MSG or frame[20] != 0:
        return None
    start = 21 + 4 + 1  # flag bits and section kind, then the document's length and first type byte
    return frame[start : frame.index(b"\0", start)].decode()


class LoseOneCommitAnswer:
    """A TCP proxy in front of the store that loses the answer to one armed commit."""

    def __init__(self, store: Server):
        self.store = store
        self.port = free_port()
        self.armed = False
        self.fired = asyncio.Event()
        self.server: asyncio.Server | None = None

    async def start(self) -> None:
        self.server = await asyncio.start_server(self.connection, "127.0.0.1", self.port)

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()

    async def restart_store(self) -> None:
        self.store.proc.kill()
        self.store.proc.wait()
        self.store = await asyncio.to_thread(start_mongo, self.store.data_dir, self.store.port)

    async def connection(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        try:
            store_r, store_w = await asyncio.open_connection("127.0.0.1", self.store.port)
        except OSError:
            client_w.close()
            return
        commits: set[int] = set()  # request ids of armed commits sent on this connection

        async def upstream() -> None:
            while True:
                frame = await read_frame(client_r)
                if self.armed and command_name(frame) == "commitTransaction":
                    self.armed = False
                    commits.add(struct.unpack("<i", frame[4:8])[0])
                store_w.write(frame)
                await store_w.drain()

        async def downstream() -> None:
            while True:
                frame = await read_frame(store_r)
                if struct.unpack("<i", frame[8:12])[0] in commits:
                    assert b"errmsg" not in frame, "the commit itself failed: nothing to lose"
                    await self.restart_store()  # committed and durable; its answer is lost
                    self.fired.set()
                    return
                client_w.write(frame)
                await client_w.drain()

        pumps = [asyncio.create_task(upstream()), asyncio.create_task(downstream())]
        try:
            await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for p in pumps:
                p.cancel()
            for w in (client_w, store_w):
                w.close()


@pytest.fixture
async def proxied(tmp_path):
    store = start_mongo(tmp_path / "store")
    proxy = LoseOneCommitAnswer(store)
    await proxy.start()
    client: AsyncMongoClient = AsyncMongoClient(
        f"mongodb://127.0.0.1:{proxy.port}/?directConnection=true&retryWrites=false", tz_aware=True
    )
    db = client[f"commit_{uuid.uuid4().hex[:8]}"]
    await db.things.insert_one({"_id": "case-1", "rated": False})
    yield proxy, Transactor(client, db, timeout_s=120.0), db
    await client.close()
    await proxy.close()
    proxy.store.stop()


async def test_work_whose_commit_answer_was_lost_is_not_run_again(proxied):
    proxy, transact, db = proxied
    runs = 0

    async def comment(uow: UnitOfWork) -> str:
        """A change without a key: run twice, it would leave two comments."""
        nonlocal runs
        runs += 1
        cid = str(ObjectId())
        uow.insert("comments", {"_id": cid, "case": "case-1", "text": "已上门查看"})
        return cid

    proxy.armed = True
    with pytest.raises(Unavailable) as e:
        await transact(comment)
    assert proxy.fired.is_set(), "the proxy did not see the commit"
    assert e.value.details == {"reason": "CommitOutcomeUnknown"}
    assert runs == 1
    assert await db.comments.count_documents({}) == 1, "the first commit landed, and only it"

    # The store is back: the next transactions run as usual.
    await transact(comment)
    assert await db.comments.count_documents({}) == 2


async def test_a_rating_whose_commit_answer_was_lost_is_not_refused_as_already_given(proxied):
    proxy, transact, db = proxied

    async def rate(uow: UnitOfWork) -> str:
        """The resident's rating, sent without a key: a second one is refused."""
        doc = await db.things.find_one({"_id": "case-1"}, session=uow.session)
        if doc["rated"]:
            raise Conflict("you have already rated the resolution of case case-1")
        uow.replace("things", {"_id": "case-1", "rated": False}, {"rated": True}, Conflict("changed"))
        return "RATED"

    proxy.armed = True
    with pytest.raises(Unavailable):  # not CONFLICT: the resident rated once
        await transact(rate)
    assert (await db.things.find_one({"_id": "case-1"}))["rated"] is True
    # The client sends it again, meets CONFLICT, and reads the record to see its rating saved.
    with pytest.raises(Conflict):
        await transact(rate)


async def test_a_keyed_request_sent_again_after_a_lost_commit_answer_returns_the_first_result(proxied):
    proxy, transact, db = proxied
    runs = 0

    async def report(uow: UnitOfWork) -> str:
        nonlocal runs
        runs += 1
        first = await recall(uow, "report:key-1")
        if first is not None:
            return first
        cid = str(ObjectId())
        uow.insert("comments", {"_id": cid, "case": "case-1"})
        await remember(uow, "report:key-1", cid)
        return cid

    proxy.armed = True
    with pytest.raises(Unavailable):
        await transact(report)
    saved = await db.comments.find_one({})
    assert await transact(report) == saved["_id"] and runs == 2
    assert await db.comments.count_documents({}) == 1
