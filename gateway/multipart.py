"""The GraphQL multipart request (github.com/jaydenseric/graphql-multipart-request-spec), read as a
stream: `operations` and `map` first (as the spec orders them), then ONE file, handed to the
resolver unread (`StreamedUpload`), so a resolver checks the caller's right to the target before
a byte of the file is read, and the file goes on to the blob store as it arrives."""

from __future__ import annotations

import json
from collections import deque
from collections.abc import AsyncIterator
from typing import Any

from cross_web import HTTPException
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from shared.errors import BadInput

FIELD_MAX = 256 * 1024  # `operations` or `map`: a document and its variables, not a file


class _Parts:
    """Events of a multipart body ('begin', headers) ('data', bytes) ('end',) as the body comes."""

    def __init__(self, body: AsyncIterator[bytes], boundary: bytes):
        self.body, self.events = body, deque[tuple[str, Any]]()
        self.done = False
        self._field, self._value = b"", b""
        self._headers: dict[str, str] = {}
        self.parser = MultipartParser(
            boundary,
            {
                "on_part_begin": self._begin,
                "on_header_field": self._header_field,
                "on_header_value": self._header_value,
                "on_header_end": self._header_end,
                "on_headers_finished": self._headers_finished,
                "on_part_data": self._data,
                "on_part_end": lambda: self.events.append(("end", None)),
                "on_end": self._end,
            },
        )

    def _begin(self) -> None:
        self._headers = {}

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._field += data[start:end]

    def _header_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def _header_end(self) -> None:
        self._headers[self._field.decode("latin-1").lower()] = self._value.decode("latin-1")
        self._field, self._value = b"", b""

    def _headers_finished(self) -> None:
        self.events.append(("begin", self._headers))

    def _data(self, data: bytes, start: int, end: int) -> None:
        self.events.append(("data", bytes(data[start:end])))

    def _end(self) -> None:
        self.done = True
        self.events.append(("done", None))

    async def next(self) -> tuple[str, Any]:
        while not self.events:
            try:
                chunk = await anext(self.body)
            except StopAsyncIteration:
                raise BadInput("the multipart body ended early") from None
            if not chunk:
                continue
            try:
                self.parser.write(chunk)
            except MultipartParseError as e:
                raise BadInput(f"the multipart body is malformed: {e}") from None
        return self.events.popleft()


def _name(headers: dict[str, str]) -> tuple[str, str | None]:
    _, options = parse_options_header(headers.get("content-disposition", ""))
    name = options.get(b"name", b"").decode("utf-8", "replace")
    filename = options.get(b"filename")
    return name, filename.decode("utf-8", "replace") if filename is not None else None


class StreamedUpload:
    """The one file of a multipart request, not yet read: `chunks()` reads it from the request as
    the consumer takes it (once). Its declared type and name are kept only as the client gave
    them and are never trusted."""

    def __init__(self, parts: _Parts, headers: dict[str, str]):
        self._parts, self.filename = parts, _name(headers)[1]
        self.declared_type = headers.get("content-type")
        self.read = False

    async def chunks(self) -> AsyncIterator[bytes]:
        if self.read:
            raise BadInput("the file was read already")
        self.read = True
        while True:
            kind, value = await self._parts.next()
            if kind == "data":
                if value:
                    yield value
                continue
            break  # the part's end
        kind, value = await self._parts.next()
        if kind != "done":
            raise BadInput("one file per request: a multipart request to upload has exactly one file part")


async def parse(body: AsyncIterator[bytes], content_type: str) -> dict[str, Any]:
    """The GraphQL request of a multipart body, its one file as a `StreamedUpload` in its place.
    The body is read up to the start of the file's bytes. HTTP 400 for anything off the spec."""
    _, options = parse_options_header(content_type)
    boundary = options.get(b"boundary")
    if not boundary:
        raise HTTPException(400, "a multipart request needs a boundary")
    parts = _Parts(body, boundary)
    try:
        fields: dict[str, Any] = {}
        for expected in ("operations", "map"):
            kind, headers = await parts.next()
            if kind != "begin" or _name(headers)[0] != expected:
                raise HTTPException(
                    400, f"the multipart request's parts are `operations`, `map`, then the file; expected `{expected}`"
                )
            raw = bytearray()
            while (event := await parts.next())[0] == "data":
                raw += event[1]
                if len(raw) > FIELD_MAX:
                    raise HTTPException(413, f"the `{expected}` part is larger than {FIELD_MAX} bytes")
            try:
                fields[expected] = json.loads(raw)
            except ValueError:
                raise HTTPException(400, f"the `{expected}` part is not JSON") from None
        operations, files_map = fields["operations"], fields["map"]
        if not isinstance(operations, dict):
            raise HTTPException(400, "`operations` is one operation (batches take no files)")
        if (
            not isinstance(files_map, dict)
            or len(files_map) != 1
            or not all(isinstance(v, list) and len(v) == 1 and isinstance(v[0], str) for v in files_map.values())
        ):
            raise HTTPException(400, "`map` names exactly one file, at one place in `operations`")
        ((field, (path,)),) = files_map.items()
        kind, headers = await parts.next()
        if kind != "begin" or _name(headers)[0] != field:
            raise HTTPException(400, f"the part after `map` is the file `{field}`")
        _place(operations, path, StreamedUpload(parts, headers))
        return operations
    except BadInput as e:
        raise HTTPException(400, e.message) from None


def _place(operations: dict[str, Any], path: str, upload: StreamedUpload) -> None:
    """Put the upload where `map` says (`variables.file`, `variables.input.files.0`)."""
    keys = path.split(".")
    target: Any = operations
    try:
        for key in keys[:-1]:
            target = target[int(key)] if isinstance(target, list) else target[key]
        last = keys[-1]
        if isinstance(target, list):
            target[int(last)] = upload
        elif isinstance(target, dict) and last in target:
            target[last] = upload
        else:
            raise KeyError(last)
    except (KeyError, IndexError, ValueError, TypeError):
        raise HTTPException(400, f"`map` points at {path!r}, which `operations` does not have") from None
