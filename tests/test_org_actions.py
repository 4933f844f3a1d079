"""Rules the org actions enforce, whichever door (API, page, roster, CLI) the change comes through."""

from __future__ import annotations

from datetime import date

import pytest

from perflink.core.context import SYSTEM
from perflink.core.errors import Conflict, ValidationFailed
from perflink.org.actions import (
    do_exit_employee,
    do_transfer_employee,
    do_update_employee,
    do_update_unit,
)
from perflink.org.models import EmployeeAssignment
from tests.factories import World, make_unit


def test_an_employee_leaves_once(in_world: World) -> None:
    do_exit_employee(in_world.staff, exit_date=date(2025, 6, 30), actor=SYSTEM)
    with pytest.raises(Conflict, match="already left"):
        do_exit_employee(in_world.staff, exit_date=date(2025, 7, 31), actor=SYSTEM)


def test_an_exit_cannot_predate_the_current_assignment(in_world: World) -> None:
    do_transfer_employee(in_world.agent, unit=in_world.sales, effective=date(2025, 3, 1), actor=SYSTEM)
    with pytest.raises(ValidationFailed, match="current assignment began"):
        do_exit_employee(in_world.agent, exit_date=date(2025, 2, 1), actor=SYSTEM)


def test_a_transfer_keeps_the_manager_and_refuses_leavers(in_world: World) -> None:
    in_world.agent.manager = in_world.staff
    in_world.agent.save()
    do_transfer_employee(in_world.agent, unit=in_world.sales, effective=date(2025, 3, 1), actor=SYSTEM)
    assert in_world.agent.manager == in_world.staff
    assert (
        EmployeeAssignment.objects.get(employee=in_world.agent, valid_to__isnull=True).manager
        == in_world.staff
    )
    with pytest.raises(ValidationFailed, match="own manager"):
        do_transfer_employee(
            in_world.agent, unit=in_world.hr, effective=date(2025, 4, 1), manager=in_world.agent, actor=SYSTEM
        )
    do_exit_employee(in_world.staff, exit_date=date(2025, 6, 30), actor=SYSTEM)
    with pytest.raises(Conflict, match="leaver"):
        do_transfer_employee(in_world.staff, unit=in_world.sales, effective=date(2025, 8, 1), actor=SYSTEM)


def test_status_changes_are_limited(in_world: World) -> None:
    with pytest.raises(ValidationFailed, match="record an exit"):
        do_update_employee(in_world.staff, changes={"status": "left"}, actor=SYSTEM)
    do_update_employee(in_world.staff, changes={"status": "on_leave"}, actor=SYSTEM)
    assert in_world.staff.status == "on_leave"


def test_units_close_empty_and_after_opening(in_world: World) -> None:
    with pytest.raises(ValidationFailed, match="before closing"):
        do_update_unit(in_world.hr, changes={"closed_on": date(2026, 1, 1)}, actor=SYSTEM)
    empty = make_unit("alpha-X", "空部门", in_world.group)
    with pytest.raises(ValidationFailed, match="before it opened"):
        do_update_unit(empty, changes={"closed_on": date(2019, 1, 1)}, actor=SYSTEM)
    do_update_unit(empty, changes={"closed_on": date(2026, 1, 1)}, actor=SYSTEM)
    with pytest.raises(ValidationFailed, match="closed"):
        make_unit("alpha-Y", "新团队", empty, kind="team")
