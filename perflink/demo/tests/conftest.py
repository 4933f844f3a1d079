from __future__ import annotations

from collections.abc import Iterator

import pytest

from perflink.core.context import reset_all


@pytest.fixture(autouse=True)
def _clean_context() -> Iterator[None]:
    reset_all()
    yield
    reset_all()
