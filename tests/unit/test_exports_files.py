"""Exports, the pure parts: workbook and CSV layout, formula-like text kept as text, the signed
links and the download's file name, the window of a month, the span of a trend, counts by category."""
from __future__ import annotations

import csv
import io
import zipfile
from datetime import date, datetime
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import openpyxl
import pytest

from gateway.exports.files import ExportFormat, Table, render, safe_text, sheet_title
from gateway.exports.links import content_disposition, export_path, link_key, verify
from gateway.schema.exports import month_window, window
from services.cases.domain import category_counts
from shared.errors import BadInput, Forbidden
from shared.evidence import Expired
from shared.trends import Interval, buckets

TZ = ZoneInfo("Asia/Shanghai")
T = Table("三率（按区域）", ["区域", "上报量", "响应率"], [["a区", 3, 0.6667], ["=cmd|' /C calc'!A0", 0, None]],
          frozenset({"响应率"}))


def test_a_workbook_has_a_sheet_per_table_bold_headers_percentages_and_no_formulas():
    data = render([T, Table("高频类别", ["类别"], [["ENV"]])], ExportFormat.XLSX).data
    book = openpyxl.load_workbook(io.BytesIO(data))
    assert book.sheetnames == ["三率（按区域）", "高频类别"]
    sheet = book["三率（按区域）"]
    assert [c.value for c in sheet[1]] == ["区域", "上报量", "响应率"] and sheet["A1"].font.b
    assert sheet["C2"].value == 0.6667 and sheet["C2"].number_format == "0.00%"
    assert sheet["A3"].data_type == "s" and sheet["A3"].value == "=cmd|' /C calc'!A0"
    assert sheet.freeze_panes == "A2"


def test_csv_is_utf8_with_a_bom_and_formula_like_text_is_quoted_as_text():
    f = render([T], ExportFormat.CSV)
    assert f.content_type == "text/csv; charset=utf-8" and f.extension == "csv"
    assert f.data.startswith(b"\xef\xbb\xbf\xe5\x8c\xba\xe5\x9f\x9f")  # BOM, then 区域
    rows = list(csv.reader(io.StringIO(f.data.decode("utf-8-sig"))))
    assert rows == [["区域", "上报量", "响应率"], ["a区", "3", "0.6667"], ["'=cmd|' /C calc'!A0", "0", ""]]
    assert [safe_text(x) for x in ("+1", "-1", "@a", "a=b")] == ["'+1", "'-1", "'@a", "a=b"]


def test_several_tables_as_csv_are_a_zip_of_one_file_each():
    f = render([T, T], ExportFormat.CSV)
    assert (f.content_type, f.extension) == ("application/zip", "zip")
    z = zipfile.ZipFile(io.BytesIO(f.data))
    assert z.namelist() == ["1-三率（按区域）.csv", "2-三率（按区域）(2).csv"]
    assert z.read(z.namelist()[0]).startswith(b"\xef\xbb\xbf")


def test_sheet_titles_are_excel_safe_and_unique():
    taken: set[str] = set()
    assert sheet_title("a/b:c", taken) == "a_b_c"
    assert len(sheet_title("长" * 40, taken)) == 31 and len(sheet_title("长" * 40, taken)) == 31
    assert len(taken) == 3


def test_links_are_signed_for_one_job_until_their_time():
    key = link_key("secret")
    q = parse_qs(urlsplit(export_path(key, "exp1", 2000)).query)
    verify(key, "exp1", q["exp"][0], q["sig"][0], 1999)
    with pytest.raises(Expired):
        verify(key, "exp1", q["exp"][0], q["sig"][0], 2000)
    for job, exp, sig in (("exp2", "2000", q["sig"][0]), ("exp1", "3000", q["sig"][0]), ("exp1", "x", "y")):
        with pytest.raises(Forbidden):
            verify(key, job, exp, sig, 1000)
    with pytest.raises(Forbidden):
        verify(link_key("other"), "exp1", q["exp"][0], q["sig"][0], 1000)


def test_the_download_names_the_file_in_utf8_with_an_ascii_fallback():
    value = content_disposition("a区-月度考核-2026-01.xlsx")
    assert value == ("attachment; filename=\"a_-____-2026-01.xlsx\"; "
                     "filename*=UTF-8''a%E5%8C%BA-%E6%9C%88%E5%BA%A6%E8%80%83%E6%A0%B8-2026-01.xlsx")


def test_a_month_is_its_local_days_and_a_window_is_bounded():
    w = month_window("2024-02", TZ)
    assert (w.first, w.last) == (date(2024, 2, 1), date(2024, 2, 29))
    assert w.start == datetime(2024, 2, 1, tzinfo=TZ) and w.end == datetime(2024, 3, 1, tzinfo=TZ)
    assert month_window("2025-12", TZ).last == date(2025, 12, 31)
    for bad in ("2026-13", "2026-1", "26-01", "2026-00", " 2026-01"):
        with pytest.raises(BadInput):
            month_window(bad, TZ)
    with pytest.raises(BadInput):
        window(date(2026, 1, 2), date(2026, 1, 1), TZ)
    with pytest.raises(BadInput):
        window(date(2025, 1, 1), date(2026, 1, 2), TZ)  # 367 days
    assert window(date(2025, 1, 2), date(2026, 1, 2), TZ).last == date(2026, 1, 2)  # 366 days


def test_a_span_is_one_bucket_of_the_windows_local_days():
    start, end = datetime(2026, 1, 3, tzinfo=TZ), datetime(2026, 2, 10, tzinfo=TZ)
    assert buckets(start, end, Interval.SPAN, TZ) == [(date(2026, 1, 3), date(2026, 2, 10))]


def test_counts_by_category_sum_every_grid_in_the_window():
    days = [("2026-01-01", {"g1|ENV": 2, "g2|ENV": 1, "g1|NOISE": 1}), ("2026-01-02", {"g2|NOISE": 4}),
            ("2026-01-03", {"g1|ENV": 9})]
    assert category_counts(days, date(2026, 1, 1), date(2026, 1, 2)) == {"ENV": 3, "NOISE": 5}
