"""What callers see of the territory: regions (in full, or as a breadcrumb) and grid workers (phones masked)."""

from __future__ import annotations

from typing import Any

from services.grids import domain
from shared.auth import Principal
from shared.privacy import FieldCipher, mask_phone


def region_dto(d: dict, partial: bool = False) -> dict[str, Any]:
    base = {
        "id": d["_id"],
        "name": d["name"],
        "level": d["level"],
        "code": d.get("code"),
        "parentId": d.get("parentId"),
        "path": d["path"],
        "ancestors": d.get("ancestors", []),
        "version": d["version"],
        "partial": partial,
    }
    if not partial:
        base |= {
            "boundary": d.get("boundary"),
            "attrs": d.get("attrs") or {},
            "createdAt": d.get("createdAt"),
            "updatedAt": d.get("updatedAt"),
        }
    return base


def worker_dto(p: Principal, w: dict, cipher: FieldCipher) -> dict[str, Any]:
    phone = cipher.decrypt(w.get("phoneEnc"))
    plain = domain.sees_worker_phone(p, w["sub"], w.get("path") or [])
    return {
        "id": w["_id"],
        "sub": w["sub"],
        "name": w["name"],
        "role": w["role"],
        "roleName": domain.WORKER_ROLE_NAMES[domain.WorkerRole(w["role"])],
        "gridId": w.get("gridId"),
        "active": w.get("gridId") is not None,
        "phone": phone if plain else mask_phone(phone),
    }


def worker_event_data(w: dict) -> dict[str, Any]:
    """What a grid worker's event says of them (no phone)."""
    return {
        "worker": {"id": w["_id"], "sub": w["sub"], "name": w["name"], "role": w["role"], "gridId": w.get("gridId")}
    }
