"""`GET /exports/{id}?exp=…&sig=…`: the file of a finished export, for the holder of the link the
job's owner was given; the signature and time are checked before the store is touched."""

from __future__ import annotations

import time
from email.utils import formatdate
from typing import Any

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from gateway.downloads import refuse
from gateway.exports.jobs import ExportJobs, JobStatus, blob_key
from gateway.exports.links import content_disposition, link_key, verify
from shared.errors import DomainError, NotFound
from shared.evidence import Expired
from shared.settings import Settings


def export_endpoint(settings: Settings, state: dict[str, Any]) -> Any:
    key = link_key(settings.jwt_secret)

    async def download(request: Request) -> Response:
        job_id, q, now = request.path_params["id"], request.query_params, int(time.time())
        try:
            verify(key, job_id, q.get("exp"), q.get("sig"), now)
        except Expired as e:
            return refuse(410, "EXPIRED", str(e))
        except DomainError as e:
            return refuse(403, "FORBIDDEN", e.message)
        exports: ExportJobs = state["exports"]
        job = await exports.jobs.find_one({"_id": job_id})
        if job is None or job["status"] != JobStatus.DONE.value:
            return refuse(404, "NOT_FOUND", "this export is no longer kept")
        try:
            blob = await exports.blobs.open(blob_key(job_id))
        except NotFound:
            return refuse(404, "NOT_FOUND", "this export is no longer kept")
        expires = int(q["exp"])
        headers = {
            "content-length": str(blob.size),
            "content-disposition": content_disposition(job["filename"]),
            "x-content-type-options": "nosniff",
            "cache-control": f"private, max-age={max(0, expires - now)}",
            "expires": formatdate(expires, usegmt=True),
        }
        return StreamingResponse(blob.chunks, media_type=job.get("contentType") or blob.content_type, headers=headers)

    return download
