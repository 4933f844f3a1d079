"""The reasons and file problems the ingestion core reports (in English), in the reader's language."""

from __future__ import annotations

import re
from typing import Any

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from perflink.ingest.choices import RuleSeverity
from perflink.ingest.files import FileProblem
from perflink.ingest.plausibility import Rule

_REASONS: list[tuple[re.Pattern[str], Any]] = [
    (re.compile(r"^required, but empty$"), _("required, but empty")),
    (re.compile(r"^not an amount$"), _("not an amount")),
    # Batches stored before amounts were rounded to the fen still carry this reason.
    (
        re.compile(r"^more than 2 decimal places"),
        _("more than 2 decimal places (amounts are kept to the fen)"),
    ),
    (re.compile(r"^not a whole number"), _("not a whole number ≥ 0")),
    (re.compile(r"^not a number$"), _("not a number")),
    (re.compile(r"^not a date \("), _("not a date (e.g. 2024-01-05, 2024/1/5, 2024年1月5日, 20240105)")),
    (re.compile(r"^not a date-time"), _("not a date-time (e.g. 2024-01-05 13:30)")),
    (re.compile(r"^not yes/no"), _("not yes/no (是/否, Y/N, true/false, 1/0)")),
    (re.compile(r"^not a satisfaction rating"), _("not a satisfaction rating (1–5, 满意/一般/不满意)")),
    (re.compile(r"^not one of (?P<choices>.+)$"), _("not one of %(choices)s")),
    (re.compile(r"^longer than (?P<n>\d+) characters$"), _("longer than %(n)s characters")),
    (re.compile(r"^unknown employee number '(?P<value>.*)'$"), _("unknown employee number “%(value)s”")),
    (re.compile(r"^unknown parent unit code '(?P<value>.*)'$"), _("unknown parent unit code “%(value)s”")),
    (re.compile(r"^unknown unit code '(?P<value>.*)'$"), _("unknown unit code “%(value)s”")),
    (
        re.compile(r"^unknown requisition number '(?P<value>.*)'$"),
        _("unknown requisition number “%(value)s”"),
    ),
    (
        re.compile(r"^too large for an amount"),
        _("too large for an amount (at most 14 digits before the point)"),
    ),
    (re.compile(r"^below the minimum of (?P<minimum>.+)$"), _("below the minimum of %(minimum)s")),
    (
        re.compile(r"^in the future \(after (?P<limit>[\d: -]+) Beijing time\)$"),
        _("in the future (after %(limit)s Beijing time)"),
    ),
    (re.compile(r"^in the future \(after (?P<limit>[\d-]+)\)$"), _("in the future (after %(limit)s)")),
    (
        re.compile(
            r"^more than (?P<factor>\d+)× the usual (?P<usual>[\d.]+) for its (?P<by>.+) "
            r"\(median of (?P<n>\d+) stored records\)$"
        ),
        _("more than %(factor)s× the usual %(usual)s for its %(by)s (median of %(n)s stored records)"),
    ),
    (
        re.compile(
            r"^more than (?P<factor>\d+)× the usual (?P<usual>[\d.]+) for its (?P<by>.+) "
            r"\(median of (?P<n>\d+) rows of this delivery\)$"
        ),
        _("more than %(factor)s× the usual %(usual)s for its %(by)s (median of %(n)s rows of this delivery)"),
    ),
    (re.compile(r"^earlier than (?P<other>.+)$"), _("earlier than “%(other)s”")),
    (re.compile(r"^duplicate of row (?P<row>\d+)$"), _("duplicate of row %(row)s")),
]


_FILE_PROBLEMS: list[tuple[str, Any]] = [
    ("unsupported file type", _("This type of file cannot be imported. Save the sheet as .xlsx or .csv.")),
    ("old .xls", _("Old .xls workbooks cannot be imported. Open it in Excel and save it as .xlsx or .csv.")),
    ("the file is empty", _("The file is empty. Check that you picked the right file.")),
    ("zip bomb", _("The workbook expands to an implausible size and was refused.")),
    (
        "external files",
        _("The workbook links to other files. Remove the links (Data > Edit links) and save again."),
    ),
    (
        "not a valid .xlsx",
        _("This is not a valid .xlsx workbook. If it is an old .xls renamed, save it again as .xlsx."),
    ),
    ("no header row", _("The first sheet has no header row. Put the column names in the first row.")),
    ("both map to", _("Two columns of the file mean the same field. Delete or rename one of them.")),
    ("required columns missing", _("Some required columns are missing (see the column mapping below).")),
    ("larger than", _("The file is too large. Split it into several files.")),
]


# What an outlier's "usual" is grouped by (plausibility.Rule.by, joined with " and ").
_GROUPS: dict[str, Any] = {"unit": _("unit"), "unit and kind": _("unit and payment kind")}


def reason_text(reason: str) -> str:
    for pattern, text in _REASONS:
        match = pattern.match(reason or "")
        if match:
            groups = match.groupdict()
            if "by" in groups:
                groups["by"] = str(_GROUPS.get(groups["by"], groups["by"]))
            return str(text) % groups if groups else str(text)
    return reason


def rule_text(rule: Rule, labels: dict[str, str]) -> str:
    """A plausibility rule in words, its fields named by their labels."""
    field = labels.get(rule.field, rule.field)
    if rule.type == "minimum":
        return gettext("%(field)s is at least %(minimum)s") % {"field": field, "minimum": rule.minimum}
    if rule.type == "order":
        other = labels.get(rule.other, rule.other)
        return gettext("%(field)s is not earlier than %(other)s") % {"field": field, "other": other}
    if rule.type == "not_future":
        hours = int(rule.tolerance.total_seconds() // 3600)
        return gettext("%(field)s is not later than the import plus %(hours)s h") % {
            "field": field,
            "hours": hours,
        }
    by = str(_GROUPS.get(" and ".join(rule.by), " and ".join(rule.by)))
    return gettext("%(field)s is at most %(factor)s× the usual for its %(by)s") % {
        "field": field,
        "factor": rule.factor,
        "by": by,
    }


def severity_text(severity: str) -> str:
    return str(RuleSeverity(severity).label) if severity in RuleSeverity.values else severity


def file_problem_text(problem: FileProblem) -> str:
    for needle, text in _FILE_PROBLEMS:
        if needle in problem.message:
            return str(text)
    return gettext("The file cannot be read: %(detail)s") % {"detail": problem.message}
