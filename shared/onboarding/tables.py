"""An onboarding file as rows: a spreadsheet (`.xlsx`, `.csv`) or a GIS file of regions (GeoJSON,
a Shapefile in a `.zip`, KML). Pure: bytes in, rows out; nothing is written anywhere.

A row is what its file says, by header (a spreadsheet's first row) or property name (a feature's
properties), with a feature's geometry under `边界`. Headers are trimmed and a template's
required mark (`*`) dropped, so a filled-in template reads as its headers say. The limits keep a
hostile file from costing more than a real county's: its size, its rows, and for a zip (an
`.xlsx` is one) what it unpacks to.
"""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from shared.errors import BadInput

MAX_BYTES = 32 * 1024 * 1024  # what an upload or a file given to `yiwang import` may weigh
MAX_UNPACKED = 256 * 1024 * 1024  # what a zip (an .xlsx, a Shapefile's .zip) may unpack to
MAX_ROWS = 100_000
MAX_COLUMNS = 64
BOUNDARY = "边界"  # a feature's geometry, as a row shows it
TABLES = (".xlsx", ".csv")
GEO = (".geojson", ".json", ".zip", ".kml")
_SPACE = re.compile(r"\s+")


class FileProblem(BadInput):
    """The file as a whole cannot be read (its type, its encoding, its size, its header)."""


@dataclass(frozen=True)
class Row:
    number: int  # as a spreadsheet shows it (the header is row 1), or a feature's position from 1
    cells: dict[str, Any]  # header -> value: str, int, float, date, datetime; a geometry's dict

    def get(self, header: str) -> Any:
        return self.cells.get(header)


def header_of(value: Any) -> str:
    """`* 姓名 ` and `姓名` are the same column; full-width parentheses read as half-width."""
    h = _SPACE.sub("", str(value or "")).lstrip("*＊").rstrip("*＊")
    return h.replace("（", "(").replace("）", ")")


def cell_of(value: Any) -> Any:
    """A cell's value with blanks as None and text trimmed; a whole float as an int (a phone
    typed into a number cell)."""
    if value is None:
        return None
    if isinstance(value, str):
        v = value.strip()
        return v or None
    if isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    if isinstance(value, datetime) and value.time() == time(0) and value.tzinfo is None:
        return value.date()  # Excel has no date type: a date is a datetime at midnight
    return value


def read(name: str, data: bytes) -> list[Row]:
    """The rows of the file called `name` (its extension says how to read it)."""
    if len(data) > MAX_BYTES:
        raise FileProblem(f"the file is {len(data) / 1e6:.1f} MB; at most {MAX_BYTES // 2**20} MB are read")
    ext = "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""
    readers = {".csv": _csv, ".xlsx": _xlsx, ".geojson": _geojson, ".json": _geojson, ".zip": _shapefile}
    readers[".kml"] = _kml
    if ext not in readers:
        raise FileProblem(f"{name}: give a .xlsx or .csv spreadsheet, or regions as .geojson, .kml or a Shapefile .zip")
    rows = readers[ext](data)
    if len(rows) > MAX_ROWS:
        raise FileProblem(f"the file holds {len(rows)} rows; import at most {MAX_ROWS} at a time (split it)")
    return rows


def _table(lines: list[list[Any]]) -> list[Row]:
    if not lines:
        raise FileProblem("the file is empty: its first row names the columns")
    headers = [header_of(h) for h in lines[0]]
    if len(headers) > MAX_COLUMNS:
        raise FileProblem(f"the header has {len(headers)} columns; at most {MAX_COLUMNS}")
    named = [h for h in headers if h]
    if not named:
        raise FileProblem("the first row names no column")
    if len(set(named)) != len(named):
        twice = sorted({h for h in named if named.count(h) > 1})
        raise FileProblem(f"the header names {', '.join(twice)} more than once")
    rows = []
    for i, line in enumerate(lines[1:], start=2):
        cells = {h: cell_of(v) for h, v in zip(headers, line, strict=False) if h}
        if any(v is not None for v in cells.values()):
            rows.append(Row(i, cells))
        if len(rows) > MAX_ROWS:
            break
    return rows


def _csv(data: bytes) -> list[Row]:
    """UTF-8 (with or without Excel's BOM), else GB18030 (what Excel saves on a Chinese Windows)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = data.decode("gb18030")
        except UnicodeDecodeError:
            raise FileProblem("the CSV is neither UTF-8 nor GB18030 text") from None
    try:
        return _table(list(csv.reader(io.StringIO(text, newline=""))))
    except csv.Error as e:
        raise FileProblem(f"the CSV cannot be read: {e}") from None


def _unpacked(data: bytes, what: str) -> zipfile.ZipFile:
    try:
        z = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise FileProblem(f"the {what} is not a readable zip file") from None
    if sum(i.file_size for i in z.infolist()) > MAX_UNPACKED:
        raise FileProblem(f"the {what} unpacks to more than {MAX_UNPACKED // 2**20} MB")
    return z


def _xlsx(data: bytes) -> list[Row]:
    """The first sheet of the workbook (a template's second sheet is its notes)."""
    from openpyxl import load_workbook

    _unpacked(data, ".xlsx")
    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as e:  # openpyxl raises many kinds for a damaged workbook
        raise FileProblem(f"the .xlsx cannot be read ({type(e).__name__})") from None
    try:
        ws = wb.worksheets[0]
        lines: list[list[Any]] = []
        for line in ws.iter_rows(values_only=True):
            lines.append(list(line[: MAX_COLUMNS + 1]))
            if len(lines) > MAX_ROWS + 1:
                break
        return _table(lines)
    finally:
        wb.close()


# -- regions' files ---------------------------------------------------------------------------
def _feature_rows(features: list[tuple[dict, dict | None]]) -> list[Row]:
    rows = []
    for i, (props, geometry) in enumerate(features, start=1):
        cells = {header_of(k): cell_of(v) for k, v in props.items() if header_of(k)}
        cells[BOUNDARY] = geometry
        rows.append(Row(i, cells))
    if not rows:
        raise FileProblem("the file holds no feature")
    return rows


def _geojson(data: bytes) -> list[Row]:
    try:
        doc = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise FileProblem(f"the GeoJSON is not JSON: {e}") from None
    if not isinstance(doc, dict) or doc.get("type") not in ("FeatureCollection", "Feature"):
        raise FileProblem("the GeoJSON is neither a FeatureCollection nor a Feature")
    crs = (doc.get("crs") or {}).get("properties", {}).get("name", "")
    if crs and not re.search(r"(CRS84|EPSG::?4326|EPSG::?4490)$", str(crs)):
        raise FileProblem(f"the GeoJSON's coordinates are in {crs}; give longitude and latitude (WGS 84 or CGCS2000)")
    feats = doc["features"] if doc["type"] == "FeatureCollection" else [doc]
    if not isinstance(feats, list) or len(feats) > MAX_ROWS:
        raise FileProblem(f"the GeoJSON's features are not a list of at most {MAX_ROWS}")
    out = []
    for f in feats:
        if not isinstance(f, dict):
            raise FileProblem("a GeoJSON feature is not an object")
        props = f.get("properties") or {}
        out.append((props if isinstance(props, dict) else {}, f.get("geometry")))
    return _feature_rows(out)


def _shapefile(data: bytes) -> list[Row]:
    """A zip holding one layer's `.shp`, `.shx`, `.dbf` (and its `.prj`, `.cpg`): in longitude
    and latitude (a `.prj` of a projected system is refused: reproject it first)."""
    import shapefile  # type: ignore[import-untyped]  # pyshp: no types of its own

    z = _unpacked(data, "Shapefile zip")
    names = {n.rsplit(".", 1)[-1].lower(): n for n in z.namelist() if "." in n and not n.startswith("__MACOSX")}
    missing = [e for e in ("shp", "dbf") if e not in names]
    if missing:
        raise FileProblem(
            f"the zip holds no {' or '.join('.' + m for m in missing)} file (one Shapefile layer per zip)"
        )
    if "prj" in names:
        prj = z.read(names["prj"]).decode("latin-1")
        if prj.strip().upper().startswith("PROJCS"):
            raise FileProblem(
                "the Shapefile's coordinates are projected (.prj PROJCS): reproject to longitude/latitude"
            )
    encoding = z.read(names["cpg"]).decode("ascii", "replace").strip() if "cpg" in names else "utf-8"
    try:
        reader = shapefile.Reader(
            shp=io.BytesIO(z.read(names["shp"])),
            shx=io.BytesIO(z.read(names["shx"])) if "shx" in names else None,
            dbf=io.BytesIO(z.read(names["dbf"])),
            encoding=encoding,
            encodingErrors="strict",
        )
        fields = [f[0] for f in reader.fields[1:]]
        out = [
            (dict(zip(fields, list(sr.record), strict=False)), sr.shape.__geo_interface__)
            for sr in reader.iterShapeRecords()
        ]
    except UnicodeDecodeError:
        raise FileProblem(f"the .dbf's text is not {encoding}; add a .cpg naming its encoding (e.g. GBK)") from None
    except Exception as e:  # pyshp raises its own and struct errors for a damaged layer
        raise FileProblem(f"the Shapefile cannot be read ({type(e).__name__}: {e})") from None
    return _feature_rows(out)


_KML = "{http://www.opengis.net/kml/2.2}"


def _kml_ring(el: Any) -> list[list[float]]:
    text = el.findtext(f"{_KML}LinearRing/{_KML}coordinates") or ""
    ring = []
    for tup in text.split():
        parts = tup.split(",")
        try:
            ring.append([float(parts[0]), float(parts[1])])
        except (ValueError, IndexError):
            raise FileProblem(f"a KML coordinate {tup!r} is not longitude,latitude") from None
    return ring


def _kml_polygon(p: Any) -> list[list[list[float]]]:
    outer = p.find(f"{_KML}outerBoundaryIs")
    if outer is None:
        raise FileProblem("a KML Polygon has no outerBoundaryIs")
    return [_kml_ring(outer)] + [_kml_ring(i) for i in p.findall(f"{_KML}innerBoundaryIs")]


def _kml(data: bytes) -> list[Row]:
    """Placemarks with a Polygon (or a MultiGeometry of them); properties from ExtendedData
    (Data and SchemaData), `区域名称` from the name. Parsed by defusedxml: no entities, no DTDs."""
    from defusedxml import ElementTree
    from defusedxml.common import DefusedXmlException

    try:
        root = ElementTree.fromstring(data)
    except (ElementTree.ParseError, DefusedXmlException) as e:
        raise FileProblem(f"the KML cannot be read: {e}") from None
    out = []
    for pm in root.iter(f"{_KML}Placemark"):
        props: dict[str, Any] = {}
        if (name := pm.findtext(f"{_KML}name")) is not None:
            props["区域名称"] = name  # the regions kind's name column; ExtendedData may say otherwise
        for d in pm.iter(f"{_KML}Data"):
            props[d.get("name", "")] = d.findtext(f"{_KML}value")
        for d in pm.iter(f"{_KML}SimpleData"):
            props[d.get("name", "")] = d.text
        polys = [_kml_polygon(p) for p in pm.iter(f"{_KML}Polygon")]
        geometry: dict | None = None
        if len(polys) == 1:
            geometry = {"type": "Polygon", "coordinates": polys[0]}
        elif polys:
            geometry = {"type": "MultiPolygon", "coordinates": polys}
        out.append((props, geometry))
    return _feature_rows(out)


def as_date(value: Any) -> date:
    """A date as a spreadsheet holds it: a date cell, or text 2024-05-01, 2024/5/1, 2024年5月1日, 20240501."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    s = str(value).strip()
    m = re.fullmatch(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?", s) or re.fullmatch(r"(\d{4})(\d{2})(\d{2})", s)
    if not m:
        raise ValueError("is not a date (2024-05-01)")
    try:
        return date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        raise ValueError("is not a day of the calendar") from None
