"""A department's event consumer with plain nats-py: a durable JetStream consumer of its subjects, ack, replay.

    YIWANG_DEPT_NATS_PASSWORD=… python ops/examples/dept_consumer.py --url nats://127.0.0.1:4222 \\
        --user dept_310104_housing --region 310104 --code HOUSING [--since 2026-12-01T00:00:00+08:00]

Prints one JSON line per event (`seq`, `type`, `caseId`, `status`, `level`, `at`) and acknowledges it
after printing: a restart resumes after the last acknowledged event. `--since` replays from a time on
a second consumer (`<durable>_replay`, made again for each replay) and leaves the live one as it was.
`--catch-up` stops once every event stored so far is read (a replay always does); otherwise it runs
until interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from datetime import datetime

import nats
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError

STREAM = "YIWANG_CASES"


async def consume(args: argparse.Namespace) -> int:
    durable = f"dept_{args.region}_{args.code}".lower()
    nc = await nats.connect(
        args.url,
        user=args.user,
        password=os.environ["YIWANG_DEPT_NATS_PASSWORD"],
        inbox_prefix=f"_INBOX_{args.user}",  # the only inbox a department may read
        max_reconnect_attempts=args.reconnects,
    )
    js = nc.jetstream(timeout=30)  # the API's answers can be slow on a busy server
    config = ConsumerConfig(
        durable_name=durable,
        name=durable,
        filter_subject=f"yiwang.dept.cases.{args.region}.{args.code}.>",  # its own subjects: the server checks it
        ack_policy=AckPolicy.EXPLICIT,
        ack_wait=60,
        max_deliver=10,
    )
    if args.since:
        durable = config.name = config.durable_name = f"{durable}_replay"
        config.deliver_policy, config.opt_start_time = DeliverPolicy.BY_START_TIME, args.since.isoformat()
        try:
            await js.delete_consumer(STREAM, durable)  # a replay starts where it is asked to
        except NotFoundError:
            pass
    await js.add_consumer(STREAM, config)  # creates it, or finds it as it was (same config)
    sub = await js.pull_subscribe_bind(durable, STREAM, inbox_prefix=f"_INBOX_{args.user}.".encode())
    seen, catch_up = 0, args.catch_up or bool(args.since)
    try:
        while True:
            if catch_up:
                info = await js.consumer_info(STREAM, durable)
                if info.num_pending == 0 and info.num_ack_pending == 0:
                    break  # everything stored so far is read and acknowledged
            try:
                msgs = await sub.fetch(batch=100, timeout=5)
            except TimeoutError:  # nats-py raises its own kind or asyncio's when a busy server is slow
                continue
            for msg in msgs:
                event = json.loads(msg.data)
                data = event["data"]
                line = {
                    "seq": msg.metadata.sequence.stream,
                    "type": data.get("type") or event["type"].split(".")[2],
                    "caseId": event["subject"],
                    "status": data.get("status"),
                    "level": data.get("level"),
                    "at": data.get("at") or event["time"],
                }
                print(json.dumps(line, ensure_ascii=False), flush=True)
                await msg.ack()  # after the work: an event not acknowledged comes again
                seen += 1
    finally:
        if args.since:
            await js.delete_consumer(STREAM, durable)
        await nc.close()
    return seen


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", default="nats://127.0.0.1:4222")
    parser.add_argument("--user", required=True, help="the department's NATS user, e.g. dept_310104_housing")
    parser.add_argument("--region", required=True, help="the department's region id, e.g. 310104")
    parser.add_argument("--code", required=True, help="the department's code, e.g. HOUSING")
    parser.add_argument("--since", type=datetime.fromisoformat, help="replay from this time (ISO 8601, with zone)")
    parser.add_argument("--catch-up", action="store_true", help="stop once every stored event is read")
    parser.add_argument("--reconnects", type=int, default=60)
    args = parser.parse_args(argv)
    try:
        asyncio.run(consume(args))
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
