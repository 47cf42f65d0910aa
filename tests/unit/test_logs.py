"""The shared logging setup (masking, JSON lines, request ids), the supervisor's rotating log
files, and how the gateway logs errors by kind."""
from __future__ import annotations

import asyncio
import io
import json
import logging

import strawberry

from gateway.errors import Schema, TypedErrors
from ops.cli.supervisor import LogFile
from shared.errors import BadInput
from shared.logs import REQUEST_ID, JsonLines, configure_logging, redact, request_id


def test_redact_masks_phones_id_numbers_and_chinese_text():
    line = ("reporter 陈秀英 13900001111 / +86 13812345678 / 8613712345678 id 42010619900101123X "
            "and 110105195001011234; keeps c01abc, 1733475123456 ms, port 18300, 2026-11-21T08:00:00+08:00")
    out = redact(line)
    for secret in ("陈秀英", "13900001111", "13812345678", "13712345678", "42010619900101123X", "110105195001011234"):
        assert secret not in out
    assert out.count("[phone]") == 3 and out.count("[id-number]") == 2 and "[zh]" in out
    for kept in ("c01abc", "1733475123456", "18300", "2026-11-21T08:00:00+08:00"):
        assert kept in out
    assert redact(out) == out


def test_request_ids_are_plain_tokens():
    assert request_id("abc-123.x_y:z") == "abc-123.x_y:z"
    for bad in (None, "", "a b", "x" * 65, "13900001111\n"):
        made = request_id(bad)
        assert made != bad and len(made) == 16


def test_json_lines_carry_the_request_id_and_mask_tracebacks():
    stream = io.StringIO()
    configure_logging("grids", "DEBUG", stream=stream)
    try:
        log = logging.getLogger("yiwang.test")
        token = REQUEST_ID.set("req-1")
        try:
            raise ValueError("no member 覃慧琳 with phone 13900001111")
        except ValueError:
            log.exception("lookup failed for %s", "42010619900101123X")
        finally:
            REQUEST_ID.reset(token)
        log.info("plain")
        # Libraries that log payloads stay quiet even at DEBUG.
        for name in ("pymongo.command", "faststream", "uvicorn.access"):
            assert not logging.getLogger(name).isEnabledFor(logging.INFO)
    finally:
        logging.getLogger().handlers.clear()
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["proc"] == "grids" and first["level"] == "ERROR" and first["request_id"] == "req-1"
    assert "ValueError" in first["exc"] and first["msg"] == "lookup failed for [id-number]"
    assert "覃慧琳" not in first["exc"] and "13900001111" not in first["exc"]
    assert "request_id" not in second


async def test_log_files_rotate_between_lines_and_lose_none(tmp_path):
    log = LogFile(tmp_path / "gateway.log", max_bytes=64 << 10, backups=50)
    reader = asyncio.StreamReader(limit=4096)
    lines = [json.dumps({"n": i, "msg": "x" * (i % 300)}) for i in range(5000)]
    long_line = "y" * 10_000  # longer than the reader's limit: kept, in pieces
    reader.feed_data(("\n".join(lines[:2500]) + "\n" + long_line + "\n" + "\n".join(lines[2500:])).encode())
    reader.feed_eof()  # the last line has no newline
    await log.pump(reader)
    log.close()
    files = sorted(tmp_path.glob("gateway.log*"), key=lambda p: -int(p.suffix[1:]) if p.suffix[1:].isdigit() else 0)
    assert len(files) > 5 and all(p.stat().st_size <= 64 << 10 for p in files)
    written = [line for p in files for line in p.read_text().splitlines()]
    assert [w for w in written if w.startswith("{")] == lines
    assert "".join(w for w in written if w.startswith("y")) == long_line


def test_log_files_mask_what_other_processes_print(tmp_path):
    log = LogFile(tmp_path / "nats.log", max_bytes=1 << 20, backups=2)
    log.write("[INF] client 13900001111 connected as 阎振华")
    log.close()
    assert (tmp_path / "nats.log").read_text() == "[INF] client [phone] connected as [zh]\n"


@strawberry.type
class Query:
    @strawberry.field
    def refused(self, phone: str) -> str:
        raise BadInput("that phone number is not registered")

    @strawberry.field
    def broken(self, phone: str) -> str:
        raise RuntimeError(f"bug while looking up {phone}")

    @strawberry.field
    def fine(self, n: int) -> int:
        return n


SCHEMA = Schema(query=Query, extensions=[TypedErrors])


def codes(result) -> list[str]:
    return [e.extensions["code"] for e in result.errors]


def test_mistakes_are_logged_at_info_without_values_and_faults_at_error(caplog):
    caplog.set_level(logging.INFO, logger="yiwang.gateway.errors")
    phone = "13900001111"
    result = SCHEMA.execute_sync("query Q($p: String!) { refused(phone: $p) }", {"p": phone})
    assert codes(result) == ["BAD_USER_INPUT"]
    result = SCHEMA.execute_sync("query($n: Int!) { fine(n: $n) }", {"n": f"canary-{phone}"})
    assert codes(result) == ["BAD_USER_INPUT"] and "data" not in result.errors[0].formatted
    result = SCHEMA.execute_sync("{ fine(n: 1) }", operation_name="Other")
    assert codes(result) == ["BAD_USER_INPUT"]
    result = SCHEMA.execute_sync("{ fine(n: ")
    assert codes(result) == ["GRAPHQL_PARSE_FAILED"]
    assert all(r.levelno == logging.INFO for r in caplog.records) and len(caplog.records) == 4
    assert caplog.records[0].getMessage() == "BAD_USER_INPUT in operation Q at refused"
    assert not any("canary" in r.getMessage() or phone in r.getMessage() for r in caplog.records)
    caplog.clear()

    result = SCHEMA.execute_sync("query($p: String!) { broken(phone: $p) }", {"p": phone})
    assert codes(result) == ["INTERNAL_SERVER_ERROR"] and result.errors[0].message == "Internal server error."
    [record] = caplog.records
    assert record.levelno == logging.ERROR and record.exc_info and record.exc_info[0] is RuntimeError
    assert phone not in JsonLines("gateway").format(record)
