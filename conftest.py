"""Shared pytest fixtures for every test directory (tests/ and perflink/<app>/tests/)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from perflink.core.context import reset_all, tenant_context
from tests.factories import World, make_world


@pytest.fixture(autouse=True)
def _clean_context() -> Iterator[None]:
    reset_all()
    yield
    reset_all()


@pytest.fixture
def world(db: None) -> World:
    return make_world("alpha")


@pytest.fixture
def other_world(db: None) -> World:
    return make_world("beta")


@pytest.fixture
def in_world(world: World) -> Iterator[World]:
    """Run the test body inside tenant alpha's context."""
    with tenant_context(world.tenant):
        yield world
