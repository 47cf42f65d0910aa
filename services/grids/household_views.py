"""What callers see of households: persons decrypted and masked by who asks (`domain/households.py`), and event data."""

from __future__ import annotations

from typing import Any

from services.grids.domain import households as hh
from shared.auth import Principal
from shared.privacy import FieldCipher


def plain_person(p: dict[str, Any], cipher: FieldCipher) -> dict[str, Any]:
    return {
        "relation": p["relation"],
        "name": cipher.decrypt(p.get("nameEnc")),
        "phone": cipher.decrypt(p.get("phoneEnc")),
        "idNumber": cipher.decrypt(p.get("idEnc")),
        "gender": p.get("gender"),
        "birthYear": p.get("birthYear"),
    }


def sealed_person(person: hh.Person, cipher: FieldCipher) -> dict[str, Any]:
    """A checked person as stored: name, phone and ID number encrypted."""
    return {
        "relation": person.relation.value,
        "nameEnc": cipher.encrypt(person.name),
        "phoneEnc": cipher.encrypt(person.phone),
        "idEnc": cipher.encrypt(person.id_number),
        "gender": person.gender,
        "birthYear": person.birth_year,
    }


def household_dto(p: Principal, d: dict, cipher: FieldCipher, revealed: bool = False) -> dict[str, Any]:
    """A household as `p` sees it; `revealed`: every field unmasked (the answer of an audited reveal)."""
    contact = revealed or hh.sees_contact(p, d)

    def person(x: dict[str, Any]) -> dict[str, Any]:
        plain = plain_person(x, cipher)
        return plain if revealed else hh.masked_person(plain, contact)

    return {
        "id": d["_id"],
        "buildingId": d["buildingId"],
        "gridId": d.get("gridId"),
        "communityId": d.get("communityId"),
        "path": d["path"],
        "unit": d.get("unit"),
        "room": d.get("room"),
        "head": person(d["head"]),
        "members": [person(m) for m in d.get("members") or []],
        "residentCount": d["residentCount"],
        "tags": d.get("tags") or [],
        "linkedMemberIds": d.get("linkedMemberIds") or [],
        "mustVisit": bool(d.get("mustVisit")),
        "visitRule": d.get("visitRule"),
        "lastVisitAt": d.get("lastVisitAt"),
        "nextVisitDue": d.get("nextVisitDue"),
        "visitOverdue": bool(d.get("visitOverdue")),
        "movedOutAt": d.get("movedOutAt"),
        "moveOutReason": d.get("moveOutReason"),
        "registeredAt": d["registeredAt"],
        "updatedAt": d["updatedAt"],
        "version": d["version"],
        "contactVisible": contact,
    }


def household_event_data(d: dict, changed: list[str] | None = None) -> dict[str, Any]:
    """What an event says of a household: ids, tags and counts (no person, no room)."""
    return {
        "householdId": d["_id"],
        "buildingId": d["buildingId"],
        "gridId": d.get("gridId"),
        "communityId": d.get("communityId"),
        "residentCount": d["residentCount"],
        "tags": d.get("tags") or [],
        "changed": changed,
        "version": d["version"],
    }
