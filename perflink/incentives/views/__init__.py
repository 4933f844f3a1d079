"""Incentive-linkage pages. Links (graph, list, proposal, decision) live in ``links``; the graph's geometry in
``graph``; bonus runs, their workflow and statements in ``bonus``; the statement as PDF in ``pdf``; incentive
plans and their editor in ``plans``; what-if and back-testing in ``whatif``; per-person bonus bases in
``bases``."""

from perflink.incentives.views.bases import plan_bases
from perflink.incentives.views.bonus import bonus_run, bonus_runs, bonus_statement
from perflink.incentives.views.links import link_decide, link_detail, link_new, link_withdraw, links
from perflink.incentives.views.pdf import bonus_statement_pdf
from perflink.incentives.views.plans import plan_check, plan_detail, plan_edit, plan_new, plans
from perflink.incentives.views.whatif import plan_what_if

__all__ = [
    "bonus_run",
    "bonus_runs",
    "bonus_statement",
    "bonus_statement_pdf",
    "link_decide",
    "link_detail",
    "link_new",
    "link_withdraw",
    "links",
    "plan_bases",
    "plan_check",
    "plan_detail",
    "plan_edit",
    "plan_new",
    "plan_what_if",
    "plans",
]
