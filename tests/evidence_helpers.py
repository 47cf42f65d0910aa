"""Helpers for evidence tests: generated files (clearly synthetic), and a GraphQL multipart request
built by hand, as a third-party client sends it."""
from __future__ import annotations

import io
import json
import os
import uuid
from typing import Any

from PIL import Image

UPLOAD = """mutation($file: Upload!, $input: UploadAttachmentInput!) {
  uploadAttachment(file: $file, input: $input) {
    id kind contentType size sha256 stage capturedAt location { lng lat } url thumbnailUrl uploadedBy createdAt } }"""


def jpeg(width: int = 64, height: int = 48, colour: tuple[int, int, int] = (200, 40, 40), exif_gps: bool = False,
         noise: bool = False) -> bytes:
    """A JPEG; with `exif_gps` it carries EXIF (camera make and a GPS position), as a phone's would."""
    im = Image.frombytes("RGB", (width, height), os.urandom(width * height * 3)) if noise else \
        Image.new("RGB", (width, height), colour)
    buf = io.BytesIO()
    if exif_gps:
        exif = Image.Exif()
        exif[0x010F] = "TestPhone"  # Make
        gps = {1: "N", 2: (30.0, 0.0, 18.0), 3: "E", 4: (113.0, 0.0, 18.0)}
        exif[0x8825] = gps  # GPSInfo
        im.save(buf, "JPEG", exif=exif, quality=90)
    else:
        im.save(buf, "JPEG", quality=90)
    return buf.getvalue()


def png(width: int = 32, height: int = 32) -> bytes:
    buf = io.BytesIO()
    Image.new("RGBA", (width, height), (10, 200, 10, 255)).save(buf, "PNG")
    return buf.getvalue()


def mp4(size: int) -> bytes:
    """The head of an ISO base media (MP4) file, then `size` bytes in all: what sniffing reads as video/mp4."""
    head = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"
    return head + b"\x00" * (size - len(head))


def pdf() -> bytes:
    return b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def upload_input(kind: str, target_id: str, **extra: Any) -> dict:
    return {"target": {"kind": kind, "id": target_id}, **extra}


def multipart_body(data: bytes, variables: dict, filename: str = "photo.jpg",
                   declared: str = "application/octet-stream", query: str = UPLOAD) -> tuple[bytes, str]:
    """A GraphQL multipart request body and its content type, built by hand (operations, map, file)."""
    boundary = uuid.uuid4().hex
    ops = json.dumps({"query": query, "variables": {"file": None, **variables}})
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="operations"\r\n\r\n{ops}\r\n'.encode(),
        f'--{boundary}\r\nContent-Disposition: form-data; name="map"\r\n\r\n{{"0": ["variables.file"]}}\r\n'.encode(),
        (f'--{boundary}\r\nContent-Disposition: form-data; name="0"; filename="{filename}"\r\n'
         f"Content-Type: {declared}\r\n\r\n").encode() + data + b"\r\n",
        f"--{boundary}--\r\n".encode(),
    ]
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


async def upload(http: Any, token: str, data: bytes, variables: dict, **kw: Any) -> dict:
    """POST a multipart upload with httpx's own multipart encoder (as a browser's FormData would)."""
    ops = json.dumps({"query": UPLOAD, "variables": {"file": None, **variables}})
    files = {"0": (kw.get("filename", "photo.jpg"), data, kw.get("declared", "image/jpeg"))}
    r = await http.post("/graphql", data={"operations": ops, "map": '{"0": ["variables.file"]}'}, files=files,
                        headers={"Authorization": f"Bearer {token}"})
    return r.json()
