"""A large import killed with SIGKILL half-way leaves the batch wholly there or wholly absent."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from django.db import connection

from perflink.core.context import tenant_context
from perflink.ingest.models import Batch, ClaimRecord
from tests.factories import make_world

ROWS = 200_000
ROOT = Path(__file__).resolve().parents[3]


def _database_url() -> str:
    name = connection.settings_dict["NAME"]
    if connection.vendor == "sqlite":
        return f"sqlite:///{name}"
    s = connection.settings_dict
    return f"postgres://{s['USER'] or 'postgres'}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{name}"


def _claims_csv(path: Path, employee_no: str, unit_code: str) -> Path:
    pl.DataFrame(
        {
            "赔案号": [f"K{i:08d}" for i in range(ROWS)],
            "险种大类": ["车险"] * ROWS,
            "理赔员工号": [employee_no] * ROWS,
            "机构代码": [unit_code] * ROWS,
            "报案时间": ["2026-03-01 09:00"] * ROWS,
            "赔付时间": ["2026/3/3 10:00"] * ROWS,
            "索赔金额": ["1,000"] * ROWS,
        }
    ).write_csv(path)
    return path


def _start(path: Path) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": _database_url(), "DJANGO_SETTINGS_MODULE": "config.settings.test"}
    return subprocess.Popen(
        [sys.executable, "-m", "perflink.cli", "import", str(path), "--kind", "claim", "--tenant", "killme"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_sigkill_mid_import_leaves_all_or_nothing(tmp_path: Path) -> None:
    world = make_world("killme")
    path = _claims_csv(tmp_path / "claims.csv", world.staff.employee_no, world.hr.code)
    outcomes = []
    # Kill after the first chunk has been written (inside the one transaction, more chunks to come),
    # then right as the last chunk is written (racing the commit: either outcome is allowed, never a
    # part), then let a run complete.
    for chunks_before_kill in (1, 2, None):
        proc = _start(path)
        if chunks_before_kill is None:
            _, err = proc.communicate(timeout=300)
            assert proc.returncode == 0, err.decode()
        else:
            assert proc.stderr is not None
            for _ in range(chunks_before_kill):
                line = proc.stderr.readline().decode()
                if not line:  # the import finished before that many chunks
                    break
                assert "rows checked" in line, line
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
        connection.close()  # see what a fresh connection sees
        with tenant_context(world.tenant):
            records, batches = ClaimRecord.objects.count(), Batch.objects.count()
        outcomes.append((chunks_before_kill, records, batches))
        assert (records, batches) in {(0, 0), (ROWS, 1)}, outcomes
    assert outcomes[0] == (1, 0, 0)
    assert outcomes[-1] == (None, ROWS, 1)
