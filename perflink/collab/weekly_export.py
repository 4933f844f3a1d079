"""The weekly coordination report as XLSX (a sheet per section, numbers as numbers) and as PDF (A4, CJK fonts,
laid out by WeasyPrint through :mod:`perflink.core.pdf`). Both read the same presented report as the page,
so neither can show what the page hides (survey results below the anonymity threshold)."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import get_language, pgettext
from django.utils.translation import gettext as _

from perflink.core.exports import safe_cell
from perflink.core.pdf import counter_content, css_string, html_to_pdf


def _number(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def _demand_rows(rows: Sequence[Mapping[str, Any]], section: str) -> list[list[Any]]:
    return [
        [
            section,
            r["number"],
            r["title"],
            r.get("kind_label", r["kind"]),
            r.get("status_label", r["status"]),
            r["requesting_unit"],
            r["serving_unit"],
            r["submitted_on"],
            r.get("overdue_label", ""),
        ]
        for r in rows
    ]


def sheets(report: Mapping[str, Any]) -> list[tuple[str, list[str], list[list[Any]]]]:
    """The workbook as (sheet name, header, rows), in order: summary, demands, open demands, metrics, linked
    results, surveys, meeting items."""
    demands = report["demands"]
    counts = demands["counts"]
    summary = [
        [pgettext("weekly report", "Received"), counts["received"]],
        [pgettext("weekly report", "Accepted"), counts["accepted"]],
        [pgettext("weekly report", "Delivered"), counts["delivered"]],
        [pgettext("weekly report", "Declined"), counts["declined"]],
        [_("Overdue at the end of the week"), counts["overdue"]],
        [_("Open at the end of the week"), counts["open"]],
        [_("Items for the meeting"), len(report["meeting"])],
    ]
    if report.get("maturity_note"):  # the months whose values are not final: left out, or shown as 暂估
        summary.append([_("Months not yet final"), report["maturity_note"]])
    listed = []
    for key, label in (
        ("received", pgettext("weekly report", "Received")),
        ("accepted", pgettext("weekly report", "Accepted")),
        ("delivered", pgettext("weekly report", "Delivered")),
        ("declined", pgettext("weekly report", "Declined")),
        ("overdue", pgettext("weekly report", "Overdue")),
    ):
        listed += _demand_rows(demands[key], label)
    open_rows = [
        [
            r["number"],
            r["title"],
            r.get("kind_label", r["kind"]),
            r.get("status_label", r["status"]),
            r["requesting_unit"],
            r.get("delivery_due_on") or "",
            r.get("figure") or "",
            r.get("figure_label") or "",
            r.get("overdue_label", ""),
        ]
        for r in report["open"]
    ]
    periods = list(report["periods"])
    metric_rows = [
        [m["name"], m["unit"], *(_number(p["value"]) for p in m["values"])] for m in report["metrics"]
    ]
    link_rows = [
        [
            row["functional_unit"],
            row["business_unit"],
            row["name"],
            *(_number(p["value"]) for p in row["values"]),
        ]
        for row in report["links"]
    ]
    survey_rows = []
    for survey in report["surveys"]:
        for unit in survey["units"]:
            if unit["hidden"]:
                survey_rows.append(
                    [
                        survey["title"],
                        survey["period"],
                        unit["unit"],
                        _("Hidden: too few respondents"),
                        None,
                        None,
                        "",
                    ]
                )
            else:
                survey_rows.append(
                    [
                        survey["title"],
                        survey["period"],
                        unit["unit"],
                        "",
                        unit["respondents"],
                        _number(unit["average"]),
                        "\n".join(unit["comments"]),
                    ]
                )
    meeting_rows = [[i + 1, item["text"]] for i, item in enumerate(report["meeting"])]
    return [
        (_("Summary"), [_("Figure"), _("Count")], summary),
        (
            _("Demands"),
            [_("Section"), _("Number"), _("Title"), _("Kind of demand"), _("Status"), _("Requesting unit"),
             _("Serving unit"), _("Submitted"), pgettext("weekly report", "Overdue")],
            listed,
        ),
        (
            _("Open demands"),
            [_("Number"), _("Title"), _("Kind of demand"), _("Status"), _("Requesting unit"), _("Delivery due"),
             _("Progress"), _("Figure"), pgettext("weekly report", "Overdue")],
            open_rows,
        ),
        (_("Metric trends"), [_("Metric"), _("Unit of measure"), *periods], metric_rows),
        (_("Linked results"), [_("Functional unit"), _("Business unit"), _("Metric"), *periods], link_rows),
        (
            _("Surveys"),
            [_("Survey"), _("Period"), _("Rated unit"), _("Note"), _("Respondents"), _("Average"),
             _("Comments")],
            survey_rows,
        ),
        (_("Meeting items"), [_("No."), _("Item")], meeting_rows),
    ]  # fmt: skip


def report_xlsx(report: Mapping[str, Any]) -> bytes:
    """The report as an XLSX workbook; text is written as text, never as a formula."""
    import xlsxwriter

    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(
        buffer, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False}
    )
    bold = book.add_format({"bold": True})
    wrap = book.add_format({"text_wrap": True, "valign": "top"})
    for name, header, rows in sheets(report):
        sheet = book.add_worksheet(name[:31])
        sheet.write_row(0, 0, header, bold)
        for i, row in enumerate(rows, start=1):
            for j, value in enumerate(row):
                if isinstance(value, Decimal | int) and not isinstance(value, bool):
                    sheet.write_number(i, j, float(value))
                elif value is None:
                    sheet.write_blank(i, j, None)
                else:
                    sheet.write_string(i, j, safe_cell(str(value)), wrap if "\n" in str(value) else None)
        sheet.set_column(0, max(len(header) - 1, 0), 16)
    book.close()
    return buffer.getvalue()


def report_html(report: Mapping[str, Any], *, tenant_name: str, live: bool) -> str:
    """The report as the HTML the PDF is laid out from."""
    generated = timezone.localtime()
    ctx = {
        "report": report,
        "live": live,
        "tenant_name": tenant_name,
        "language": get_language() or "zh-hans",
        "page_counter": counter_content(_("Page %(page)s of %(pages)s")),
        "generated_css": css_string(_("Generated %(when)s") % {"when": generated.strftime("%Y-%m-%d %H:%M")}),
    }
    return render_to_string("collab/weekly_pdf.html", ctx)


def report_pdf(report: Mapping[str, Any], *, tenant_name: str, live: bool) -> bytes:
    """PDF bytes (raises ``PdfUnavailable`` where WeasyPrint cannot run)."""
    return html_to_pdf(report_html(report, tenant_name=tenant_name, live=live))
