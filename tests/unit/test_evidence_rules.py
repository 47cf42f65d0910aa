"""Evidence rules without I/O: sniffing, size limits, signed links, photo re-encoding, and who may
attach what to a case at which stage."""
from __future__ import annotations

import io
import zipfile
from datetime import UTC, datetime

import pytest
from PIL import Image

from gateway.media import reencode
from services.cases import domain as d
from services.cases.domain import evidence
from shared.auth import Principal, Role
from shared.errors import BadInput, Conflict, Forbidden
from shared.evidence import SNIFF_BYTES, Expired, check_size, download_path, sign, sniff, url_key, verify
from shared.settings import UPLOAD_MAX_BYTES
from shared.vocabulary.cases import AttachmentKind, AttachmentStage
from tests.evidence_helpers import jpeg, mp4, pdf, png

NOW = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(("data", "mime", "kind"), [
    (jpeg(), "image/jpeg", AttachmentKind.PHOTO),
    (png(), "image/png", AttachmentKind.PHOTO),
    (mp4(1000), "video/mp4", AttachmentKind.VIDEO),
    (pdf(), "application/pdf", AttachmentKind.DOCUMENT),
    (b"ID3\x03\x00\x00\x00" + b"\x00" * 300, "audio/mpeg", AttachmentKind.AUDIO),
])
def test_sniff_reads_the_type_from_the_bytes(data, mime, kind):
    t = sniff(data[:SNIFF_BYTES])
    assert (t.mime, t.kind) == (mime, kind)


def ooxml(part: str) -> bytes:
    """A minimal Office Open XML package: the entries Word or Excel write first."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>" * 50)
        z.writestr("_rels/.rels", "<Relationships/>" * 30)
        z.writestr(part, "<x/>" * 100)
    return buf.getvalue()


def test_sniff_tells_word_and_excel_documents_from_other_zips():
    assert sniff(ooxml("word/document.xml")[:SNIFF_BYTES]).extension == "docx"
    assert sniff(ooxml("xl/workbook.xml")[:SNIFF_BYTES]).extension == "xlsx"
    with pytest.raises(BadInput):
        sniff(ooxml("payload/evil.js")[:SNIFF_BYTES])


@pytest.mark.parametrize("data", [b"", b"<html><script>x</script></html>", b"MZ\x90\x00" + b"\x00" * 300,
                                  b"GIF89a" + b"\x00" * 300, b"PK\x03\x04" + b"\x00" * 300])
def test_sniff_refuses_what_is_not_allowed(data):
    with pytest.raises(BadInput):
        sniff(data)


def test_size_limits_per_kind():
    check_size(AttachmentKind.PHOTO, UPLOAD_MAX_BYTES["PHOTO"], UPLOAD_MAX_BYTES)
    with pytest.raises(BadInput):
        check_size(AttachmentKind.PHOTO, UPLOAD_MAX_BYTES["PHOTO"] + 1, UPLOAD_MAX_BYTES)


def test_signed_links_hold_only_as_signed_and_until_they_expire():
    key = url_key("secret")
    sig = sign(key, "att1", "file", 1000)
    verify(key, "att1", "file", "1000", sig, now=999)
    for args in (("att2", "file", "1000", sig), ("att1", "thumb", "1000", sig), ("att1", "file", "1001", sig),
                 ("att1", "file", "1000", sig[:-1] + ("A" if sig[-1] != "A" else "B")), ("att1", "file", "x", sig),
                 ("att1", "file", "1000", None), ("att1", "other", "1000", sig)):
        with pytest.raises(Forbidden):
            verify(key, *args, now=999)
    with pytest.raises(Forbidden):
        verify(url_key("another secret"), "att1", "file", "1000", sig, now=999)
    with pytest.raises(Expired):
        verify(key, "att1", "file", "1000", sig, now=1000)
    assert download_path(key, "att1", "thumb", 5).startswith("/files/att1/thumb?exp=5&sig=")
    assert url_key("secret") != url_key("secret ")


def test_reencode_drops_exif_applies_orientation_and_makes_a_thumbnail():
    im = Image.new("RGB", (400, 200), (255, 0, 0))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° on display
    exif[0x8825] = {1: "N", 2: (30.0, 0.0, 1.0)}
    src = io.BytesIO()
    im.save(src, "JPEG", exif=exif)
    src.seek(0)
    out = io.BytesIO()
    thumb = reencode(src, "image/jpeg", out, 40_000_000, 64)
    stored = Image.open(io.BytesIO(out.getvalue()))
    assert stored.size == (200, 400) and not stored.getexif()
    assert max(Image.open(io.BytesIO(thumb)).size) == 64


def test_reencode_refuses_broken_and_oversized_images():
    with pytest.raises(BadInput):
        reencode(io.BytesIO(jpeg()[:100]), "image/jpeg", io.BytesIO(), 40_000_000, 64)
    with pytest.raises(BadInput):
        reencode(io.BytesIO(png(2000, 2000)), "image/png", io.BytesIO(), 1_000_000, 64)
    with pytest.raises(BadInput):  # PNG bytes claimed as JPEG
        reencode(io.BytesIO(png()), "image/jpeg", io.BytesIO(), 40_000_000, 64)


def _case(status: d.CaseStatus = d.CaseStatus.REPORTED) -> d.Case:
    cat = d.DEFAULT_CATALOGUE.get("ENV_GARBAGE")
    case = d.Case.report(id="c1", title="t", description="", category=cat, channel=d.CaseChannel.MINI_PROGRAM,
                         region_path=["city", "county", "town", "comm", "grid"],
                         by=Principal(sub="r1", role=Role.RESIDENT), now=NOW, sla=d.DEFAULT_SLA,
                         reporter_name="张三")
    case.status = status
    return case


GW = Principal(sub="gw", role=Role.GRID_WORKER, region="grid")
OP = Principal(sub="op", role=Role.OPERATOR, region="town")
RES = Principal(sub="r1", role=Role.RESIDENT)


def _attach(case: d.Case, by: Principal, stage=None, i: int = 0, limit: int = 30) -> d.Attachment:
    return evidence.attach(case, by, attachment_id=f"att{i}", kind=AttachmentKind.PHOTO, content_type="image/jpeg",
                           size=10, sha256="0" * 64, stage=stage, captured_at=None, location=None,
                           thumbnail_key=None, now=NOW, limit=limit)


def test_who_attaches_at_which_stage():
    case = _case()
    assert _attach(case, RES).stage is AttachmentStage.REPORT
    assert case.timeline[-1].type == "ATTACHMENT_ADDED" and case.version == 2
    with pytest.raises(Forbidden):
        _attach(case, RES, AttachmentStage.HANDLING, 1)
    with pytest.raises(Forbidden):  # another resident: outside their scope
        _attach(case, Principal(sub="r2", role=Role.RESIDENT), None, 1)
    with pytest.raises(Conflict):  # nothing is handled yet
        _attach(case, GW, AttachmentStage.HANDLING, 1)
    case.status = d.CaseStatus.IN_PROGRESS
    assert _attach(case, GW, None, 2).stage is AttachmentStage.HANDLING
    with pytest.raises(Forbidden):
        _attach(case, GW, AttachmentStage.VERIFICATION, 3)
    case.status = d.CaseStatus.RESOLVED
    assert _attach(case, OP, None, 4).stage is AttachmentStage.VERIFICATION
    case.status = d.CaseStatus.CLOSED
    with pytest.raises(Conflict):
        _attach(case, OP, AttachmentStage.OTHER, 5)


def test_count_limit_and_after_photo():
    case = _case(d.CaseStatus.IN_PROGRESS)
    _attach(case, GW, None, 0, limit=1)
    with pytest.raises(Conflict):
        _attach(case, GW, None, 1, limit=1)
    catalogue = d.DEFAULT_CATALOGUE.upsert(d.new_category("ENV_GARBAGE", "垃圾堆放", None, "GRID",
                                                          requires_after_photo=True))
    with pytest.raises(BadInput):
        evidence.check_after_photo(case, catalogue)
    _attach(case, GW, AttachmentStage.RESOLUTION, 2)
    evidence.check_after_photo(case, catalogue)
    evidence.check_after_photo(_case(d.CaseStatus.IN_PROGRESS), d.DEFAULT_CATALOGUE)  # not required


def test_a_cooperating_department_backs_its_reply_with_evidence_and_another_department_cannot():
    from services.cases.domain.handling import DeptRef

    case = _case()
    case.status = d.CaseStatus.ACCEPTED
    case.dispatch(OP, DeptRef(code="HOUSING", name="住建局", region_id="county"),
                  [DeptRef(code="URBAN_MGMT", name="城管局", region_id="county")], NOW)
    coop = Principal(sub="cg", role=Role.DEPARTMENT, region="county", dept="URBAN_MGMT")
    att = _attach(case, coop, AttachmentStage.HANDLING, 1)
    case.reply(coop, "已配合清理", [att.id], NOW)
    assert case.handlers[1].replies[0].attachment_ids == [att.id]
    with pytest.raises(Forbidden):  # a department not on the case does not even see it
        _attach(case, Principal(sub="sw", role=Role.DEPARTMENT, region="county", dept="WATER"),
                AttachmentStage.HANDLING, 2)
