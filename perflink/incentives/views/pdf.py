"""A person's bonus statement (计算说明) as PDF: the same content as the statement page, on A4, with page numbers,
the time it was made and the run's fingerprint in the footer.

The page and the PDF share their lookups (404 alike for a missing run, another tenant's, or a person outside the
reader's data scope) and their content (``statement_context``). Where WeasyPrint cannot run (no Pango), the
answer is 503 naming the missing system library.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import get_language, gettext
from django.views.decorators.http import require_safe

from perflink.core.pdf import PdfUnavailable, content_disposition, counter_content, css_string, html_to_pdf
from perflink.incentives.models import BonusRun
from perflink.incentives.views.bonus import _visible_run, statement_context
from perflink.org.models import Employee
from perflink.org.selectors import get_employee
from perflink.web.decorators import page


def statement_filename(run: BonusRun, person: Employee) -> str:
    return f"{gettext('Bonus statement')}-{person.employee_no}-{run.period}.pdf"


def statement_html(principal: Any, run: BonusRun, person: Employee) -> str:
    """The statement as the HTML the PDF is laid out from."""
    generated = timezone.localtime()
    ctx = {
        **statement_context(principal, run, person),
        "pdf": True,
        "language": get_language() or "zh-hans",
        "tenant_name": run.tenant.name,
        "page_counter": counter_content(gettext("Page %(page)s of %(pages)s")),
        "generated_css": css_string(
            gettext("Generated %(when)s") % {"when": generated.strftime("%Y-%m-%d %H:%M")}
        ),
        "fingerprint_css": css_string(gettext("Run fingerprint %(short)s") % {"short": run.fingerprint[:12]}),
    }
    return render_to_string("incentives/statement_pdf.html", ctx)


def statement_pdf(principal: Any, run: BonusRun, person: Employee) -> HttpResponse:
    """The PDF response (raises ``PdfUnavailable`` where PDF cannot be made)."""
    body = html_to_pdf(statement_html(principal, run, person))
    response = HttpResponse(body, content_type="application/pdf")
    response["Content-Disposition"] = content_disposition(
        statement_filename(run, person), f"bonus-statement-{person.employee_no}-{run.period}.pdf"
    )
    response["Cache-Control"] = "private, no-store"  # pay is personal data
    return response


@page("bonus.view")
@require_safe
def bonus_statement_pdf(request: HttpRequest, bonus_run_id: int, employee_id: int) -> HttpResponse:
    run = _visible_run(bonus_run_id)
    person = get_employee(request.user, employee_id)
    try:
        return statement_pdf(request.user, run, person)
    except PdfUnavailable as exc:
        ctx = {"run": run, "person": person, "reason": exc.message}
        return render(request, "incentives/statement_pdf_unavailable.html", ctx, status=503)
