"""Field-key rotation on the four services with real NATS and SecantusDB: data written before
key ids (a stored demo) and under the first key still read after a new key is added;
`yiwang rekey` moves every encrypted field of every service to the new key (blind indexes and
the one-member-per-ID-number claims with them), can be resumed and run again, and keeps
what commands write meanwhile; the old key can then go; a missing key is an INTERNAL error,
never an empty phone."""
from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import logging

import pytest
from cryptography.fernet import Fernet

from ops.cli.rekey import rekey
from shared.errors import DomainError
from shared.settings import DEV_FIELD_KEY
from tests.cases_helpers import REPORT, CasesClient, expect_error
from tests.org_helpers import member, party_tree, start_org_stack

NEW = "kNr6OdkmJBuxO3NnIWdkIH71v2nVtWgVicDPLTbOfzs"
OTHER = "SwIvRQgCTKgSqMeTIAP-ln-e7tkYHiSSmb3D961uatQ"
SERVICES = ("grids", "cases", "organizations", "volunteers", "notifications")
ID_A, ID_B = "420902198504021234", "420902199001011111"


def legacy(value: str) -> str:
    """A field as the cipher before key ids wrote it under the development key."""
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(DEV_FIELD_KEY.encode()).digest())).encrypt(
        value.encode()).decode()


def legacy_index(value: str) -> str:
    key = hashlib.sha256(b"blind-index:" + DEV_FIELD_KEY.encode()).digest()[:32]
    return hashlib.blake2b(value.encode(), key=key, digest_size=16).hexdigest()


def db(stack, name):
    return next(rt for rt in stack.runtimes if rt.name == name).db


async def restart(stack, **keys) -> None:
    """Every service stopped and started again with these field-key settings."""
    for rt in [r for r in stack.runtimes if r.name in SERVICES]:
        await stack.stop_service(rt)
    for name in SERVICES:
        await stack.start_service(name, **keys)


async def run_rekey(settings, capsys, **options) -> tuple[int, str]:
    """`yiwang rekey` as the command line runs it (its own event loop, in a thread here)."""
    args = argparse.Namespace(**{"check": False, "service": None, "batch": 200, **options})
    code = await asyncio.to_thread(rekey, args, settings)
    return code, capsys.readouterr().out


async def sealed_values(stack) -> list[str]:
    """Every encrypted field stored by the four services."""
    out = [w["phoneEnc"] async for w in db(stack, "grids").workers.find()]
    out += [r["phone_enc"] async for c in db(stack, "cases").cases.find() for r in c["reporters"] if r["phone_enc"]]
    async for m in db(stack, "organizations").members.find():
        out += [v for v in (m["phone_enc"], m["id_number_enc"]) if v]
    out += [c["phone_enc"] async for u in db(stack, "organizations").units.find() for c in u["contacts"]]
    out += [v["phone_enc"] async for v in db(stack, "volunteers").volunteers.find()]
    out += [p["wechat_openid_enc"] async for p in db(stack, "notifications").preferences.find()]  # notifications
    async for h in db(stack, "grids").households.find():  # households: the head's and members' fields
        out += [p[k] for p in (h["head"], *h["members"]) for k in ("nameEnc", "phoneEnc", "idEnc") if p[k]]
    return out


@pytest.fixture
async def clients(stack):
    orgs, _ = await start_org_stack(stack, volunteers=True)
    await stack.start_service("notifications")
    others = {name: await CasesClient.connect(stack, name) for name in ("grids", "cases", "volunteers", "notifications")}
    yield {"organizations": orgs, **others}
    for c in (orgs, *others.values()):
        await c.close()


async def test_rotation_rekey_and_removal_of_the_old_key(clients, stack, capsys, caplog):
    su = stack.token()
    grids, cases, orgs, vols = (clients[n] for n in ("grids", "cases", "organizations", "volunteers"))
    # -- data under the first key, k1 (the development key), part of it in the layout before key ids
    tree = await party_tree(orgs, su)
    a = await member(orgs, su, tree["grid"]["id"], idNumber=ID_A, phone="13911110000")
    b = await member(orgs, su, tree["grid"]["id"], idNumber=ID_B, phone="13922220000")
    unit = await orgs("unit.register", su, name="示例物业", kind="PROPERTY_COMPANY", regionId="comm-a",
                      contacts=[{"name": "王经理", "phone": "13833330000"}])
    worker = await grids("worker.register", su, sub="gw-rekey", name="网格员甲", role="BASIC", gridId="grid-a1",
                         phone="13744440000")
    old_case = await cases("case.report", stack.token(role="resident", sub="r1"), **REPORT, regionId="grid-a1")
    new_case = await cases("case.report", stack.token(role="resident", sub="r2"),
                           **{**REPORT, "reporterPhone": "13655550000"}, regionId="grid-a2")
    vol = await vols("volunteer.register", stack.token(role="volunteer", region="comm-a", sub="v1"), name="志愿者甲",
                     homeRegionId="comm-a", phone="13566660000")
    household = await grids("household.register", stack.token(role="grid_worker", region="grid-a1", sub="gw-h"),
                            buildingId="bldg-a1-1", room="101", head={"name": "住户甲", "phone": "13377770000",
                                                                       "idNumber": "11010519491231002X"},
                            members=[{"relation": "SPOUSE", "name": "住户乙"}])
    bound = await clients["notifications"]("preferences.set", stack.token(role="resident", sub="r1"),
                                           wechatOpenId="oWx_openid_r1")
    assert bound["wechatBound"]
    assert all(v.startswith("v2:k1:") for v in await sealed_values(stack))
    await db(stack, "organizations").members.update_one({"_id": a["id"]}, {"$set": {
        "phone_enc": legacy("13911110000"), "phone_index": legacy_index("13911110000"),
        "id_number_enc": legacy(ID_A), "id_number_index": legacy_index(ID_A)}})
    claim_a = await db(stack, "organizations")["keys"].find_one_and_delete({"owner": a["id"]})
    await db(stack, "organizations")["keys"].insert_one({"_id": "member-id-number:" + legacy_index(ID_A),
                                                        "owner": a["id"]})
    await db(stack, "organizations").units.update_one({"_id": unit["id"]},
                                                      {"$set": {"contacts.0.phone_enc": legacy("13833330000")}})
    await db(stack, "grids").workers.update_one({"_id": worker["id"]}, {"$set": {"phoneEnc": legacy("13744440000")}})
    await db(stack, "cases").cases.update_one({"_id": old_case["id"]},
                                              {"$set": {"reporters.0.phone_enc": legacy(REPORT["reporterPhone"])}})

    async def everything_reads() -> None:
        assert await orgs("member.revealContact", su, memberId=a["id"], reason="核对") == {
            "phone": "13911110000", "idNumber": ID_A}
        assert (await orgs("member.revealContact", su, memberId=b["id"], reason="核对"))["idNumber"] == ID_B
        assert (await orgs("unit.get", su, id=unit["id"]))["contacts"][0]["phone"] == "13833330000"
        assert (await grids("worker.get", su, id=worker["id"]))["phone"] == "13744440000"
        assert (await cases("case.revealContact", su, caseId=old_case["id"], reason="回访"))["phone"] == REPORT[
            "reporterPhone"]
        assert (await cases("case.revealContact", su, caseId=new_case["id"], reason="回访"))["phone"] == "13655550000"
        assert (await vols("volunteer.get", su, id=vol["id"]))["phone"] == "13566660000"
        shown = await grids("household.reveal", su, id=household["id"], reason="核对")
        assert (shown["head"]["phone"], shown["head"]["idNumber"], shown["members"][0]["name"]) == (
            "13377770000", "11010519491231002X", "住户乙")
        for id_number in (ID_A, ID_B):  # one member per ID number, whichever key indexed it
            await expect_error(member(orgs, su, tree["grid"]["id"], idNumber=id_number), "CONFLICT")

    await everything_reads()  # the layout before key ids reads and matches as before

    # -- a new current key k2; k1 stays among the old ones
    rotated = {"field_key": NEW, "field_key_id": "k2", "old_field_keys": {"k1": DEV_FIELD_KEY}}
    await restart(stack, **rotated)
    await everything_reads()
    c = await orgs("member.register", su, organizationId=tree["grid"]["id"], name="新党员", gender="MALE",
                   birthDate="1990-02-02", joinDate="2015-07-01", category="RETIRED", phone="13400000000")
    stored_c = await db(stack, "organizations").members.find_one({"_id": c["id"]})
    assert stored_c["phone_enc"].startswith("v2:k2:")  # new writes: the new key
    settings = stack.settings.model_copy(update=rotated)
    assert (await run_rekey(settings, capsys, check=True))[0] == 1  # --check: some are still under k1

    # An interrupted run: one batch of one record, then the command takes up the rest.
    first = await orgs("fields.rekey", stack.token(role="service", sub="svc:test"), keyId="k2", limit=1)
    assert first["rewritten"] == 1 and first["next"] == {"collection": "members", "after": a["id"]}
    await expect_error(orgs("fields.rekey", su, keyId="k2"), "FORBIDDEN")  # internal callers only
    await expect_error(orgs("fields.rekey", stack.token(role="service", sub="svc:test"), keyId="k1"), "CONFLICT")

    async def keep_changing_b() -> None:  # a command racing the rewrite keeps its change
        for i in range(8):
            await orgs("member.update", su, id=b["id"], phone=f"1392222000{i}")

    unit_version = (await db(stack, "organizations").units.find_one({"_id": unit["id"]}))["version"]
    (code, out), _ = await asyncio.gather(run_rekey(settings, capsys), keep_changing_b())
    assert code == 0, out
    assert "every record is under 'k2'" in out
    stored = await sealed_values(stack)
    assert len(stored) == 15 and all(v.startswith("v2:k2:") for v in stored), stored
    claims = {k["_id"]: k["owner"] async for k in db(stack, "organizations")["keys"].find()
              if k["_id"].startswith("member-id-number:")}
    assert len(claims) == 2 and claim_a["_id"] not in claims and set(claims.values()) == {a["id"], b["id"]}
    unit_after = await db(stack, "organizations").units.find_one({"_id": unit["id"]})
    assert unit_after["version"] == unit_version + 1  # a rewrite is a change: a stale read cannot undo it

    # -- k1 removed: everything still reads and matches; a second run has nothing to do
    await restart(stack, field_key=NEW, field_key_id="k2", old_field_keys={})
    await everything_reads()
    assert (await orgs("member.revealContact", su, memberId=b["id"], reason="核对"))["phone"] == "13922220007"
    code, out = await run_rekey(settings, capsys)
    assert code == 0 and "re-encrypted" not in out and "under another key: grids.workers 0" in out

    # -- a key nobody configured: an INTERNAL error and an operator's log line, never None
    caplog.set_level(logging.ERROR, logger="yiwang.privacy")
    await restart(stack, field_key=OTHER, field_key_id="k3", old_field_keys={})
    with pytest.raises(DomainError) as failed:
        await orgs("member.revealContact", su, memberId=a["id"], reason="核对")
    assert str(failed.value.code) == "INTERNAL" and "key 'k2', which is not configured" in failed.value.message
    body = await stack.gql('query($id: ID!) { partyMember(id: $id) { phone } }', {"id": a["id"]})
    assert body["errors"][0]["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    assert body["errors"][0]["message"] == "Internal server error."
    assert "cannot decrypt personal data: a field was encrypted under key 'k2'" in caplog.text
    assert "1391111" not in caplog.text and ID_A not in caplog.text
    assert (await run_rekey(stack.settings.model_copy(update={"field_key_id": "k3"}), capsys))[0] == 1  # cannot read k2
