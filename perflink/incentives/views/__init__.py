"""Incentive-linkage pages. Links (graph, list, proposal, decision) live in ``links``; the graph's geometry in
``graph``."""

from perflink.incentives.views.links import link_decide, link_detail, link_new, link_withdraw, links

__all__ = ["link_decide", "link_detail", "link_new", "link_withdraw", "links"]
