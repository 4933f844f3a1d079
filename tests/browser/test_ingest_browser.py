"""File import in a real browser: a messy claims workbook, exported the way claims staff really export.

Logs in through the form, uploads the XLSX, reads the validation report (the two bad rows with their
row numbers and reasons), imports without quarantine and sees that nothing was written, then imports
with quarantine and downloads the rejected rows. Screenshots go to test-artifacts/ and the report's to
docs/screenshots/import-report.png. Skipped without /usr/bin/chromium, like the shell's browser test.
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
import xlsxwriter

from perflink.core.context import tenant_context
from perflink.ingest.models import Batch, ClaimRecord
from tests.browser.conftest import ARTIFACTS, DOCS_SHOTS, shot
from tests.browser.realistic import PASSWORD, Insurer, build_insurer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

HEADERS = [
    "赔案号",
    "险种大类",
    "理赔员工号",
    "机构代码",
    "报案时间",
    "赔付时间",
    "索赔金额",
    "满意度",
    "备注",
]
BAD_AMOUNT_ROW, BAD_HANDLER_ROW = 7, 11  # spreadsheet row numbers (the header is row 1)


def _serial(day: datetime) -> float:
    """An Excel serial date-time, as a workbook stores a date typed into a cell formatted as a number."""
    delta = day - datetime(1899, 12, 30)
    return delta.days + delta.seconds / 86400


def messy_claims_workbook(path: Path, ins: Insurer) -> Path:
    """Twelve claims in the shapes real exports take, ten of them valid and two genuinely wrong."""
    handlers = [e for e in ins.employees if e.unit_id in {ins.units["BJ-CLM-1"].id, ins.units["BJ-CLM-2"].id}]
    unit = ins.units["BJ-CLM"].code
    fw = str.maketrans("0123456789E", "０１２３４５６７８９Ｅ")
    h = [e.employee_no for e in handlers]
    rows: list[list[Any]] = [
        ["LP2026030001", "健康险", h[0], unit, "2026/3/1 9:30", "2026/3/2 10:00", "1,234", "满意", "首次报案"],
        ["LP2026030002", "寿险", h[1], unit, "2026年3月2日", "2026年3月4日", "1.5万", "一般", ""],
        ["LP2026030003", "车险", h[2], unit, "20260303", "20260305", "８８００", "5", "客户催办"],
        ["LP2026030004", "健康险", h[0].translate(fw), unit, _serial(datetime(2026, 3, 4, 8, 15)), _serial(datetime(2026, 3, 5, 16, 0)), 2300, "不满意", ""],
        ["LP2026030005", "健康险", f" {h[1]} ", unit, date(2026, 3, 5), date(2026, 3, 6), "¥3,000.00", "满意", "补材料"],
        ["LP2026030006", "寿险", h[2], unit, "2026-03-06 11:00", "2026-03-08", "约五千", "满意", "金额待核"],
        ["LP2026030007", "车险", h[0], unit, "2026/3/7", "2026/3/7 17:45", "650", "４", ""],
        ["LP2026030008", "健康险", h[1], unit, "2026年3月8日", "2026年3月9日", "2.35万", "满意", ""],
        ["LP2026030009", "寿险", h[2], unit, "20260309", "20260311", "12,500.5", "一般", "重疾"],
        ["LP2026030010", "健康险", "E999999", unit, "2026/3/10", "2026/3/12", "980", "满意", "外包人员"],
        ["LP2026030011", "车险", h[0], unit, _serial(datetime(2026, 3, 11, 14, 0)), "2026/3/12", "4,100", "满意", ""],
        ["ＬＰ2026030012", "健康险", h[1], unit, "2026/3/12", "2026年3月13日", "760", "满意", ""],
    ]  # fmt: skip
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("理赔明细")
    bold = book.add_format({"bold": True, "bg_color": "#DDEBF7"})
    date_format = book.add_format({"num_format": "yyyy-mm-dd"})
    sheet.write_row(0, 0, HEADERS, bold)
    for i, row in enumerate(rows, start=1):
        for j, value in enumerate(row):
            if isinstance(value, date):
                sheet.write_datetime(i, j, datetime(value.year, value.month, value.day), date_format)
            else:
                sheet.write(i, j, value)
    sheet.set_column(0, len(HEADERS), 16)
    book.close()
    return path


def _scroll_to(page: Any, selector: str) -> None:
    """Bring an element to the top of the window, below the sticky top bar."""
    page.eval_on_selector(
        selector, "el => window.scrollTo(0, el.getBoundingClientRect().top + window.scrollY - 72)"
    )


def _written(ins: Insurer) -> tuple[int, int]:
    with tenant_context(ins.tenant):
        return Batch.objects.count(), ClaimRecord.objects.count()


def test_a_messy_workbook_is_validated_refused_then_quarantined_in_chromium(
    live_server: Any, page: Any, settings: Any, tmp_path: Path
) -> None:
    settings.VAR_DIR = tmp_path / "var"  # uploads and quarantined rows stay in the test's own directory
    ins = build_insurer("importer", agents_per_team=2)
    workbook = messy_claims_workbook(tmp_path / "3月理赔导出.xlsx", ins)
    base = live_server.url

    # Log in through the form; the data-sources page is in the navigation.
    page.goto(f"{base}/login/")
    page.fill("#id_username", "perf.chen@importer")
    page.fill("#id_password", PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_url(f"{base}/")
    page.click('[data-nav="ingest"]')
    page.wait_for_url(f"{base}/data/")
    assert page.locator("h1").inner_text() == "数据接入"
    shot(page, "10-data-sources-empty.png", full_page=True)

    # Upload the workbook (htmx posts it; the preview is a page of its own).
    page.click("#import-action")
    page.wait_for_url(f"{base}/data/import/")
    page.select_option("#id_kind", "claim")
    page.set_input_files("#id_file", str(workbook))
    shot(page, "10b-import-upload.png")
    page.click("#upload-submit")
    page.wait_for_url("**/data/import/?upload=*")
    preview_url = page.url
    mapping = page.locator("#mapping-table")
    assert mapping.locator('tr[data-header="备注"] .badge').inner_text() == "已忽略"
    assert mapping.locator('tr[data-header="索赔金额"]').get_attribute("data-field") == "amount_claimed"
    sample = page.locator("#sample-table")
    assert sample.locator("tbody tr").count() == 10
    assert "1.5万" in sample.inner_text() and "2026年3月2日" in sample.inner_text()
    shot(page, "11-import-preview.png", full_page=True)

    # Validate: every row is checked and the report names the two bad rows, with column and reason.
    with page.expect_response(lambda r: r.url.endswith("/data/import/") and r.request.method == "POST"):
        page.click("#validate-button")
    report = page.locator('#import-report[data-outcome="invalid"]')
    report.wait_for()
    assert "试运行" in report.locator("#outcome").inner_text()
    assert report.locator('[data-count="total"]').inner_text() == "12"
    assert report.locator('[data-count="rejected"]').inner_text() == "2"
    bad_amount = report.locator(f'#error-table tr[data-row="{BAD_AMOUNT_ROW}"]')
    assert "索赔金额" in bad_amount.inner_text() and "约五千" in bad_amount.inner_text()
    assert "不是有效的金额" in bad_amount.inner_text()
    bad_handler = report.locator(f'#error-table tr[data-row="{BAD_HANDLER_ROW}"]')
    assert "理赔员工号" in bad_handler.inner_text() and "找不到员工工号“E999999”" in bad_handler.inner_text()
    assert report.locator("#error-table tbody tr").count() == 2
    rules = report.locator("#rules-table").inner_text()
    assert "万元金额换算为元" in rules and "Excel 日期序号转换" in rules and "全角字符转半角" in rules
    assert _written(ins) == (0, 0)
    _scroll_to(page, "#run-card")
    shot(page, "12-validation-report.png")
    shot(page, "import-report.png", folder=DOCS_SHOTS)

    # Import without quarantine: all or nothing, so nothing is written, and the page says so.
    with page.expect_response(lambda r: r.url.endswith("/data/import/") and r.request.method == "POST"):
        page.click("#commit-button")
    refused = page.locator('#import-report[data-outcome="rejected"]')
    refused.wait_for()
    assert "没有写入任何数据" in refused.locator("#outcome").inner_text()
    assert refused.locator(f'#error-table tr[data-row="{BAD_HANDLER_ROW}"]').count() == 1
    assert _written(ins) == (0, 0)
    shot(page, "13-import-refused.png")
    page.goto(f"{base}/data/batches/")
    assert page.locator(".result-count").get_attribute("data-count") == "0"
    assert "暂无批次" in page.locator("#batch-results").inner_text()

    # Import again, this time quarantining the invalid rows: the valid ten are written.
    page.goto(preview_url)
    page.check("#id_run_quarantine")
    page.click("#commit-button")
    page.wait_for_url("**/data/batches/*/")
    assert "已导入 10 行" in page.locator(".messages").inner_text()
    assert page.locator('#batch-counts [data-count="created"]').inner_text() == "10"
    assert page.locator('#batch-counts [data-count="rejected"]').inner_text() == "2"
    assert _written(ins) == (1, 10)
    shot(page, "14-batch-quarantined.png", full_page=True)

    # Download the rejected rows: the two bad rows as sent, with the row number and the error column.
    with page.expect_download() as download_info:
        page.click("#download-rejected")
    download = download_info.value
    assert download.suggested_filename.endswith("-rejected.csv")
    rows = list(csv.reader(io.StringIO(Path(download.path()).read_bytes().decode("utf-8-sig"))))
    header, body = rows[0], rows[1:]
    assert header[0] == "行号 (row)" and header[-1] == "错误 (errors)" and "赔案号" in header
    assert [r[0] for r in body] == [str(BAD_AMOUNT_ROW), str(BAD_HANDLER_ROW)]
    assert body[0][header.index("索赔金额")] == "约五千" and "索赔金额" in body[0][-1]
    assert body[1][header.index("理赔员工号")] == "E999999" and "E999999" in body[1][-1]
    (ARTIFACTS / "rejected-rows.csv").write_bytes(Path(download.path()).read_bytes())

    # The history shows the one committed batch, by whom.
    page.goto(f"{base}/data/batches/")
    assert page.locator(".result-count").get_attribute("data-count") == "1"
    row = page.locator("#batch-table tbody tr").first
    assert "3月理赔导出.xlsx" in row.inner_text() and "perf.chen@importer" in row.inner_text()
    assert row.get_attribute("data-status") == "committed"
    shot(page, "15-import-history.png")

    # And the data-sources page now has a feed for the claims system.
    page.goto(f"{base}/data/")
    assert page.locator("#feed-table tbody tr").count() == 1
    shot(page, "16-data-sources.png", full_page=True)
