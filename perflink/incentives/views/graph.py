"""The link graph's geometry: functional units on the left, business units on the right, one labelled box per
link in the middle, joined to its two units by curves. Computed here, drawn as inline SVG by the template.

Links are ordered by their functional unit, then their business unit, so the left-hand curves never cross; a
unit sits level with the middle of its links, pushed down just enough not to overlap the unit above it.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from perflink.incentives.models import Link
from perflink.incentives.selectors import LinkValues
from perflink.metrics.views.result_rows import with_unit
from perflink.org.models import OrgUnit

WIDTH = 1000
TOP = 36  # room for the column headings
NODE_W, NODE_H = 220, 46
LEFT_X, RIGHT_X = 0, WIDTH - NODE_W
MID_X, MID_W = 300, 400
ROW_H, BOX_H = 64, 50
GAP = 10
NAME_PX, SUB_PX, BOX_PX = 13, 11.5, 12.5  # font sizes, for fitting text into its box


def px(value: float) -> str:
    """A coordinate as SVG wants it, whatever the page's language: "43.5"."""
    return f"{value:.1f}".removesuffix(".0")


@dataclass(frozen=True)
class Node:
    unit: OrgUnit
    name: str
    sub: str
    title: str
    x: int
    y: float  # top
    side: str  # "functional" | "business"

    @property
    def cy(self) -> float:
        return self.y + NODE_H / 2

    def svg(self) -> dict[str, str]:
        return {
            "x": px(self.x),
            "y": px(self.y),
            "text_x": px(self.x + 12),
            "name_y": px(self.y + 19),
            "sub_y": px(self.y + 36),
        }


@dataclass(frozen=True)
class Edge:
    link: Link
    url: str
    y: float  # the box's top
    metrics: str  # "职能指标 → 业务指标", fitted to the box
    values: str  # "19.93 天 → 72.73%"
    period: str  # where the values come from: "2026-03 #35", or ""
    title: str  # the whole text, shown on hover
    left_path: str
    right_path: str
    left_dot: tuple[float, float]
    right_dot: tuple[float, float]

    @property
    def cy(self) -> float:
        return self.y + BOX_H / 2

    def svg(self) -> dict[str, str]:
        return {
            "y": px(self.y),
            "text_x": px(MID_X + 12),
            "names_y": px(self.y + 20),
            "vals_y": px(self.y + 39),
            "period_x": px(MID_X + MID_W - 12),
            "left_x": px(self.left_dot[0]),
            "left_y": px(self.left_dot[1]),
            "right_x": px(self.right_dot[0]),
            "right_y": px(self.right_dot[1]),
        }


@dataclass(frozen=True)
class Graph:
    nodes: list[Node]
    edges: list[Edge]
    height: float
    width: int = WIDTH
    node_w: int = NODE_W
    node_h: int = NODE_H
    mid_x: int = MID_X
    mid_w: int = MID_W
    box_h: int = BOX_H

    @property
    def svg_height(self) -> str:
        return px(self.height)


def text_width(text: str, px: float) -> float:
    """Rough rendered width: CJK and full-width characters take a full em, the rest a little over half."""
    return sum(px if unicodedata.east_asian_width(ch) in "WF" else px * 0.58 for ch in text)


def fit(text: str, px: float, room: float) -> str:
    """The text, cut with an ellipsis so it fits ``room`` pixels at font size ``px``."""
    if text_width(text, px) <= room:
        return text
    while text and text_width(text + "…", px) > room:
        text = text[:-1]
    return text + "…"


def unit_caption(unit: OrgUnit, unit_ids: set[int] | None) -> str:
    """A unit's parent (when the reader may see it) and code: "北京分公司 · BJ-HR"; many units share a name."""
    parent = unit.parent
    if parent is not None and (unit_ids is None or parent.pk in unit_ids):
        return f"{parent.name} · {unit.code}"
    return unit.code


def _curve(x1: float, y1: float, x2: float, y2: float) -> str:
    mid = (x1 + x2) / 2
    return f"M{x1:.0f} {y1:.1f} C{mid:.0f} {y1:.1f} {mid:.0f} {y2:.1f} {x2:.0f} {y2:.1f}"


def _place(ideal: list[float]) -> list[float]:
    """Tops of the nodes of one column, in order: as close to their ideal top as the node above allows."""
    tops: list[float] = []
    for want in ideal:
        floor = tops[-1] + NODE_H + GAP if tops else TOP
        tops.append(max(want, floor))
    return tops


def value_text(link: Link, values: LinkValues | None) -> tuple[str, str]:
    """The two values as read ("19.93 天 → 72.73%", a dash where a side has none) and their run ("2026-03 #35")."""
    functional = values.functional if values else None
    business = values.business if values else None
    text = f"{with_unit(functional, link.functional_metric.unit)} → {with_unit(business, link.business_metric.unit)}"
    period = f"{values.run.period} #{values.run.number}" if values else ""
    return text, period


def build_graph(
    links: Sequence[Link],
    values: dict[int, LinkValues],
    unit_ids: set[int] | None,
    url_for: Callable[[Link], str],
) -> Graph | None:
    if not links:
        return None
    functional = sorted({link.functional_unit for link in links}, key=lambda u: (u.path, u.pk))
    business = sorted({link.business_unit for link in links}, key=lambda u: (u.path, u.pk))
    f_index = {unit.pk: i for i, unit in enumerate(functional)}
    b_index = {unit.pk: i for i, unit in enumerate(business)}
    ordered = sorted(
        links, key=lambda link: (f_index[link.functional_unit_id], b_index[link.business_unit_id], link.pk)
    )
    box_tops = {link.pk: TOP + i * ROW_H + (ROW_H - BOX_H) / 2 for i, link in enumerate(ordered)}

    def column(units: list[OrgUnit], side: str, x: int) -> list[Node]:
        attr = "functional_unit_id" if side == "functional" else "business_unit_id"
        ideal = []
        for unit in units:
            centres = [box_tops[link.pk] + BOX_H / 2 for link in ordered if getattr(link, attr) == unit.pk]
            ideal.append(sum(centres) / len(centres) - NODE_H / 2)
        nodes = []
        for unit, top in zip(units, _place(ideal), strict=True):
            caption = unit_caption(unit, unit_ids)
            nodes.append(
                Node(
                    unit=unit,
                    name=fit(unit.name, NAME_PX, NODE_W - 24),
                    sub=fit(caption, SUB_PX, NODE_W - 24),
                    title=f"{unit.name} ({caption})",
                    x=x,
                    y=top,
                    side=side,
                )
            )
        return nodes

    left = column(functional, "functional", LEFT_X)
    right = column(business, "business", RIGHT_X)
    left_at = {node.unit.pk: node for node in left}
    right_at = {node.unit.pk: node for node in right}
    edges = []
    for link in ordered:
        top = box_tops[link.pk]
        cy = top + BOX_H / 2
        f_node, b_node = left_at[link.functional_unit_id], right_at[link.business_unit_id]
        shown, period = value_text(link, values.get(link.pk))
        room = MID_W - 24
        names = f"{link.functional_metric.name} → {link.business_metric.name}"
        if text_width(names, BOX_PX) > room:  # cut both names alike rather than lose the business side
            half = (room - text_width(" → ", BOX_PX)) / 2
            names = f"{fit(link.functional_metric.name, BOX_PX, half)} → {fit(link.business_metric.name, BOX_PX, half)}"
        period_room = text_width(period, SUB_PX) + 12 if period else 0
        edges.append(
            Edge(
                link=link,
                url=url_for(link),
                y=top,
                metrics=names,
                values=fit(shown, SUB_PX, room - period_room),
                period=period,
                title=(
                    f"{f_node.unit.name} · {link.functional_metric.name} → "
                    f"{b_node.unit.name} · {link.business_metric.name}: {shown}"
                    + (f" ({period})" if period else "")
                ),
                left_path=_curve(LEFT_X + NODE_W, f_node.cy, MID_X, cy),
                right_path=_curve(MID_X + MID_W, cy, RIGHT_X, b_node.cy),
                left_dot=(LEFT_X + NODE_W, f_node.cy),
                right_dot=(RIGHT_X, b_node.cy),
            )
        )
    bottoms = [TOP + len(ordered) * ROW_H] + [node.y + NODE_H for node in left + right]
    return Graph(nodes=left + right, edges=edges, height=max(bottoms) + 8)
