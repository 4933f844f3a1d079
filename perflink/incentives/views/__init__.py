"""Incentive-linkage pages. Links (graph, list, proposal, decision) live in ``links``; the graph's geometry in
``graph``; bonus runs, their workflow and statements in ``bonus``."""

from perflink.incentives.views.bonus import bonus_run, bonus_runs, bonus_statement
from perflink.incentives.views.links import link_decide, link_detail, link_new, link_withdraw, links

__all__ = [
    "bonus_run",
    "bonus_runs",
    "bonus_statement",
    "link_decide",
    "link_detail",
    "link_new",
    "link_withdraw",
    "links",
]
