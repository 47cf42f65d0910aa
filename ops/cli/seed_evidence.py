"""The demo's evidence: a few case photos, generated and plainly synthetic (a solid colour with
"SYNTHETIC DEMO PHOTO" and the case's category code drawn on it), stored in the blob store and
attached to open and resolved cases of the demo history through `case.attach`."""

from __future__ import annotations

import hashlib
import io
from collections.abc import AsyncIterator
from typing import Any

from PIL import Image, ImageDraw

from shared.blobs import blob_store
from shared.contracts.attachments import AttachEvidence, StoredFile, blob_keys

PHOTOS = 12
COLOURS = [(176, 58, 46), (40, 116, 166), (30, 132, 73), (183, 149, 11), (108, 52, 131), (93, 109, 126)]


def demo_photo(category: str, n: int) -> tuple[bytes, bytes]:
    """A 640×480 JPEG and its thumbnail, labelled as synthetic."""
    im = Image.new("RGB", (640, 480), COLOURS[n % len(COLOURS)])
    draw = ImageDraw.Draw(im)
    draw.text((40, 200), "SYNTHETIC DEMO PHOTO", fill=(255, 255, 255), font_size=40)
    draw.text((40, 260), category, fill=(255, 255, 255), font_size=32)
    main, thumb = io.BytesIO(), io.BytesIO()
    im.save(main, "JPEG", quality=85)
    im.thumbnail((320, 320))
    im.save(thumb, "JPEG", quality=80)
    return main.getvalue(), thumb.getvalue()


async def _one(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def load_photos(settings: Any, loader: Any) -> int:
    """Attach a generated photo to each of up to `PHOTOS` open or resolved demo cases; returns how many."""
    listed = await loader.call(
        "cases", "case.list", {"status": ["IN_PROGRESS", "ASSIGNED", "RESOLVED"], "first": PHOTOS, "withTotal": False}
    )
    blobs = blob_store(settings)
    done = 0
    try:
        for n, case in enumerate(listed["items"]):
            main, thumb = demo_photo(case["categoryCode"], n)
            attachment_id = f"att-demo-{case['id']}"
            key, thumb_key = blob_keys(attachment_id, True)
            meta = {"target": "CASE", "targetId": case["id"], "service": "cases"}
            info = await blobs.put(key, _one(main), "image/jpeg", len(main), meta)
            await blobs.put(thumb_key or "", _one(thumb), "image/jpeg", len(thumb), meta | {"thumbnailOf": key})
            stage = "RESOLUTION" if case["status"] == "RESOLVED" else "HANDLING"
            body = AttachEvidence(
                id=case["id"],
                stage=stage,
                idempotencyKey=f"demo-photo-{case['id']}",
                file=StoredFile(
                    id=attachment_id,
                    kind="PHOTO",
                    contentType="image/jpeg",
                    size=info.size,
                    sha256=hashlib.sha256(main).hexdigest(),
                    thumbnail=True,
                ),
            )
            await loader.call("cases", "case.attach", body.model_dump(mode="json", exclude_none=True))
            await blobs.commit(key)
            await blobs.commit(thumb_key or "")
            done += 1
    finally:
        await blobs.close()
    return done
