"""Onboarding files read as their makers keep them (Excel, a CSV from a Chinese Windows, GeoJSON, a
Shapefile in a zip, KML), every row's problems named by row and column, and hostile files refused
before they cost anything. Pure: no service is asked."""
from __future__ import annotations

import io
import json
import zipfile
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import shapefile
from openpyxl import Workbook, load_workbook

from ops.samples import make_county
from shared.onboarding.kinds import KINDS, Context, keyed_hash
from shared.onboarding.runner import plan
from shared.onboarding import tables
from shared.onboarding.tables import FileProblem, read
from shared.onboarding.templates import template

CX = Context(date(2026, 12, 7), ZoneInfo("Asia/Shanghai"), keyed_hash("test-secret"))
SAMPLE = Path(make_county.__file__).parent / "county"
SQUARE = {"type": "Polygon", "coordinates": [[[118.6, 29.1], [118.7, 29.1], [118.7, 29.2], [118.6, 29.2], [118.6, 29.1]]]}


def xlsx(rows: list[list]) -> bytes:
    wb = Workbook()
    ws = wb.active
    for r in rows:
        ws.append(r)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def problems(kind: str, name: str, data: bytes) -> list[tuple[int, str | None, str]]:
    items, found = plan(KINDS[kind], read(name, data), CX)
    return [(p.row, p.column, p.reason) for p in found]


def test_a_csv_saved_by_excel_on_a_chinese_windows_reads_like_utf8():
    text = "单位名称,单位类型,所在区域编码\n区人民医院,机关事业单位,330102\n"
    for data in (text.encode("gb18030"), ("\ufeff" + text).encode("utf-8"), text.encode("utf-8")):
        rows = read("units.csv", data)
        assert [(r.number, r.cells) for r in rows] == [
            (2, {"单位名称": "区人民医院", "单位类型": "机关事业单位", "所在区域编码": "330102"})]


def test_a_filled_in_template_reads_by_its_headers_and_keeps_text_digits():
    blank = load_workbook(io.BytesIO(template(KINDS["members"])))
    ws = blank.worksheets[0]
    assert [c.value for c in ws[1]][:3] == ["*姓名", "身份证号", "性别"]
    assert blank.sheetnames == ["党员", "说明"]
    ws.append(["李娜", "11010519491231002X", None, None, datetime(2010, 7, 1), 13900000000, "在职党员", "zb1", None])
    out = io.BytesIO()
    blank.save(out)
    items, found = plan(KINDS["members"], read("m.xlsx", out.getvalue()), CX)
    assert found == []
    body = items[0].calls[0].body
    assert (body["gender"], body["birthDate"], body["joinDate"], body["phone"]) == (
        "FEMALE", "1949-12-31", "2010-07-01", "13900000000")
    assert "11010519491231002X" not in json.dumps(body["idempotencyKey"])  # the key holds no ID number


def test_every_kind_has_a_template_in_both_formats_that_reads_back_empty():
    for kind in KINDS.values():
        for fmt in ("xlsx", "csv"):
            assert read(f"t.{fmt}", template(kind, fmt)) == []


def test_each_bad_cell_is_named_by_row_and_column():
    data = xlsx([
        ["姓名", "身份证号", "入党日期", "党员类别", "所属党组织编码", "手机号"],
        ["王五", "110105194912310021", "2001-07-01", "在职党员", "zb1", None],  # check digit
        ["赵六", 110105194912310020, "2001-07-01", "在职党员", "zb1", None],  # a number: digits lost
        ["钱七", None, "2001-07-01", "在职党员", "zb1", "13800000000"],  # no gender nor birth date
        ["孙八", "11010519491231002X", "明年", "在职党员", "zb1", None],
        ["周九", "11010519491231002X", "2001-07-01", "党员", "zb1", None],
        ["吴十", "11010519491231002X", "2001-07-01", "在职党员", "ZB 1", None],
        ["郑一", "11010519491231002X", "2001-07-01", "在职党员", "zb1", None],
        ["郑一", "11010519491231002X", "2001-07-01", "在职党员", "zb1", None],  # the same person again
    ])
    got = problems("members", "m.xlsx", data)
    assert got[0] == (2, "身份证号", "ID number's check digit does not match (mistyped?)")
    assert got[1][:2] == (3, "身份证号") and "format the column as text" in got[1][2]
    assert got[2] == (4, "性别", "is required without an ID number")
    assert got[3][:2] == (5, "入党日期") and "is not a date" in got[3][2]
    assert got[4][:2] == (6, "党员类别") and "在职党员" in got[4][2]
    assert got[5][:2] == (7, "所属党组织编码")
    assert got[6] == (9, None, "repeats row 8 (the same record twice)")
    assert len(got) == 7


def test_a_household_is_its_rows_together():
    header = ["户编号", "楼栋编码", "单元", "房号", "与户主关系", "姓名", "身份证号", "标签"]
    data = xlsx([header,
                 [1, "b1", "1", "101", "户主", "陈刚", None, "低保"],
                 [1, "b1", "1", "101", "配偶", "林芳", None, "残疾人"],
                 [2, "b1", "1", "102", "配偶", "刘洋", None, None],  # no head
                 [3, "b1", "1", "103", "户主", "何平", None, None],
                 [3, "b1", "2", "103", "子女", "何小平", None, None]])  # two places
    items, found = plan(KINDS["households"], read("h.xlsx", data), CX)
    assert [it.rows for it in items] == [[2, 3]]
    body = items[0].calls[0].body
    assert body["head"]["name"] == "陈刚" and [m["relation"] for m in body["members"]] == ["SPOUSE"]
    assert body["tags"] == ["LOW_INCOME", "DISABLED"]
    assert [(p.row, p.column) for p in found] == [(4, "与户主关系"), (5, "楼栋编码")]


def test_regions_come_parents_first_from_geojson_with_their_boundaries():
    fc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"区域编码": "G1", "区域名称": "第一网格", "层级": "网格", "上级编码": "C1"},
         "geometry": SQUARE},
        {"type": "Feature", "properties": {"区域编码": "C1", "区域名称": "幸福社区", "层级": "社区(村)", "上级编码": "T1"},
         "geometry": SQUARE},
        {"type": "Feature", "properties": {"区域编码": "X", "区域名称": "某处", "层级": "小区"}, "geometry": None},
    ]}
    items, found = plan(KINDS["regions"], read("r.geojson", json.dumps(fc).encode()), CX)
    assert [it.key for it in items] == ["c1", "g1"]  # the community's wave before the grid's
    assert items[1].calls[0].body["boundary"] == SQUARE and items[1].calls[0].body["parentId"] == "c1"
    assert [(p.row, p.column) for p in found] == [(3, "层级")]


def test_a_projected_geojson_is_refused_whole():
    fc = {"type": "FeatureCollection", "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::4547"}},
          "features": []}
    with pytest.raises(FileProblem, match="longitude and latitude"):
        read("r.geojson", json.dumps(fc).encode())


def shapefile_zip(prj: str | None, encoding: str = "gbk") -> bytes:
    shp, shx, dbf = io.BytesIO(), io.BytesIO(), io.BytesIO()
    w = shapefile.Writer(shp=shp, shx=shx, dbf=dbf, shapeType=shapefile.POLYGON, encoding=encoding)
    for f in ("区域编码", "区域名称", "层级", "上级编码"):
        w.field(f, "C", size=40)
    w.poly(SQUARE["coordinates"])
    w.record("c1", "幸福社区", "社区(村)", "t1")
    w.close()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("regions.shp", shp.getvalue())
        z.writestr("regions.shx", shx.getvalue())
        z.writestr("regions.dbf", dbf.getvalue())
        z.writestr("regions.cpg", encoding.upper())
        if prj:
            z.writestr("regions.prj", prj)
    return out.getvalue()


def test_a_shapefile_in_a_zip_with_gbk_attributes():
    wgs84 = 'GEOGCS["GCS_WGS_1984",DATUM["D_WGS_1984",SPHEROID["WGS_1984",6378137,298.257223563]]]'
    items, found = plan(KINDS["regions"], read("r.zip", shapefile_zip(wgs84)), CX)
    assert found == [] and items[0].calls[0].body["name"] == "幸福社区"
    ring = items[0].calls[0].body["boundary"]["coordinates"][0]
    assert sorted(map(tuple, ring)) == sorted(map(tuple, SQUARE["coordinates"][0]))
    with pytest.raises(FileProblem, match="projected"):
        read("r.zip", shapefile_zip('PROJCS["CGCS2000_3_Degree_GK_CM_120E",GEOGCS["GCS_China_2000"]]'))


def test_kml_placemarks_with_extended_data():
    kml = f"""<?xml version="1.0" encoding="UTF-8"?>
<kml xmlns="http://www.opengis.net/kml/2.2"><Document><Placemark><name>幸福社区</name>
<ExtendedData><Data name="区域编码"><value>C1</value></Data><Data name="层级"><value>社区</value></Data>
<Data name="上级编码"><value>T1</value></Data></ExtendedData>
<Polygon><outerBoundaryIs><LinearRing><coordinates>{" ".join(f"{x},{y},0" for x, y in SQUARE["coordinates"][0])}
</coordinates></LinearRing></outerBoundaryIs></Polygon></Placemark></Document></kml>"""
    items, found = plan(KINDS["regions"], read("r.kml", kml.encode()), CX)
    assert found == [] and items[0].calls[0].body["boundary"] == SQUARE
    assert (items[0].calls[0].body["name"], items[0].calls[0].body["level"]) == ("幸福社区", "COMMUNITY")


def test_hostile_files_are_refused_before_they_cost_anything(monkeypatch):
    bomb = """<?xml version="1.0"?><!DOCTYPE kml [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]>
<kml xmlns="http://www.opengis.net/kml/2.2"><Placemark><name>&b;</name></Placemark></kml>"""
    with pytest.raises(FileProblem, match="KML cannot be read"):
        read("r.kml", bomb.encode())
    monkeypatch.setattr(tables, "MAX_UNPACKED", 1_000_000)  # the limit's check, without 256 MB of zeros
    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("xl/huge.bin", b"\0" * 1_000_001)
    with pytest.raises(FileProblem, match="unpacks to more than"):
        read("m.xlsx", packed.getvalue())
    with pytest.raises(FileProblem, match="not a readable zip"):
        read("m.xlsx", b"PK\3\4 not really")
    with pytest.raises(FileProblem, match="give a .xlsx or .csv"):
        read("m.xls", b"\xd0\xcf\x11\xe0")
    with pytest.raises(FileProblem, match="more than once"):
        read("u.csv", "单位名称,单位名称\na,b\n".encode())


def test_the_sample_county_is_what_its_generator_writes_and_has_one_bad_row():
    """The committed files hold the generator's rows (an .xlsx's bytes carry the time it was saved)."""
    for name, (kind, rows) in make_county.tables().items():
        got = read(name, (SAMPLE / name).read_bytes())
        headers = [c.header for c in KINDS[kind].columns]
        want = [{h: v for h, v in zip(headers, r, strict=True) if v not in (None, "")} for r in rows]
        have = [{h: v for h, v in g.cells.items() if v is not None} for g in got]
        norm = [{h: (str(v) if name.endswith(".csv") else v) for h, v in w.items()} for w in want]
        norm = [{h: (v.date() if isinstance(v, datetime) and v.hour == 0 else v) for h, v in w.items()} for w in norm]
        assert have == norm, name
    regions, _, _ = make_county.territory()
    assert json.loads((SAMPLE / "regions.geojson").read_text()) == regions
    everything = [p for name, (kind, _) in make_county.tables().items()
                  for p in problems(kind, name, (SAMPLE / name).read_bytes())]
    assert everything == [(19, "身份证号", "ID number's check digit does not match (mistyped?)")]
