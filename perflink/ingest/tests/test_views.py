"""The data-sources pages: upload, preview, dry run, all-or-nothing import, quarantine and its download,
rollback, saved mappings, history, health, permissions, tenant isolation and the safety limits."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from perflink.audit.models import AuditEvent
from perflink.core.context import SYSTEM, tenant_context
from perflink.ingest.models import Batch, ClaimRecord, ImportMapping, SourceSystem
from perflink.ingest.views import imports as import_views
from perflink.org.models import Employee
from tests.factories import World

HX = {"HTTP_HX_REQUEST": "true"}
HEADERS = [
    "赔案号",
    "险种大类",
    "理赔员工号",
    "机构代码",
    "报案时间",
    "赔付时间",
    "索赔金额",
    "满意度",
    "备注",
]


@pytest.fixture(autouse=True)
def var_dir(settings: Any, tmp_path: Path) -> Path:
    """Uploads and quarantine files go to a throw-away data directory."""
    settings.VAR_DIR = tmp_path / "var"
    settings.VAR_DIR.mkdir()
    return settings.VAR_DIR


@pytest.fixture
def admin(client: Client, world: World) -> Client:
    client.force_login(world.users["performance_admin"])
    return client


def text(response: Any) -> str:
    return response.content.decode()


def claim_rows(world: World, n: int = 3, *, start: int = 0) -> list[list[str]]:
    return [
        [
            f"C{i:04d}",
            "车险",
            world.staff.employee_no,
            world.hr.code,
            "2026/3/1 9:00",
            "2026年3月3日",
            "1,000",
            "满意",
            "备注",
        ]
        for i in range(start, start + n)
    ]


def csv_file(
    rows: list[list[str]], headers: list[str] = HEADERS, name: str = "理赔.csv"
) -> SimpleUploadedFile:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(headers)
    writer.writerows(rows)
    return SimpleUploadedFile(name, ("\ufeff" + buf.getvalue()).encode(), content_type="text/csv")


def upload(client: Client, file: SimpleUploadedFile, kind: str = "claim", **extra: str) -> str:
    """Upload a file; returns the preview URL it redirects to."""
    response = client.post("/data/import/", {"step": "upload", "kind": kind, "file": file, **extra})
    assert response.status_code == 302, text(response)[:2000]
    return response["Location"]


def token_of(preview_url: str) -> str:
    return re.search(r"upload=([0-9a-f]{32})", preview_url).group(1)


def run(
    client: Client, preview_url: str, step: str, *, kind: str = "claim", htmx: bool = False, **extra: str
) -> Any:
    """Press "validate" or "import" on the preview (as htmx does, or as a plain form post)."""
    data = {"step": step, "upload": token_of(preview_url), "kind": kind, "mapping": "", "source": "", **extra}
    return client.post("/data/import/", data, **(HX if htmx else {}))


def counts(world: World) -> dict[str, int]:
    with tenant_context(world.tenant):
        return {
            "batches": Batch.objects.count(),
            "claims": ClaimRecord.objects.count(),
            "systems": SourceSystem.objects.count(),
            "events": AuditEvent.objects.count(),
        }


def bad_rows(world: World) -> list[list[str]]:
    rows = claim_rows(world, 4)
    rows[1][2] = "NOBODY"  # row 3: unknown handler
    rows[3][6] = "=1+1"  # row 5: not an amount, and a formula
    return rows


# --- upload and preview --------------------------------------------------------------------------------


def test_upload_then_preview_shows_the_mapping_and_the_first_rows(admin: Client, world: World) -> None:
    preview = upload(admin, csv_file(claim_rows(world, 12)))
    assert preview.startswith("/data/import/?upload=") and "kind=claim" in preview
    body = text(admin.get(preview))
    assert "理赔.csv" in body and 'id="mapping-table"' in body
    assert 'data-header="赔案号" data-field="claim_no"' in body
    assert 'data-header="备注" data-field=""' in body and "已忽略" in body
    sample = body.split('id="sample-table"')[1]
    assert sample.count("<tr>") == 1 + 10  # header row + the first ten rows
    assert "C0009" in sample and "C0010" not in sample
    assert "2026年3月3日" in sample  # as in the file, before cleaning
    assert 'id="validate-button"' in body and "disabled" not in body.split('id="validate-button"')[1][:40]


def test_the_upload_is_kept_outside_the_web_root_and_is_not_served(
    admin: Client, world: World, var_dir: Path
) -> None:
    preview = upload(admin, csv_file(claim_rows(world)))
    stored = list((var_dir / "uploads" / world.tenant.slug).iterdir())
    assert [p.name for p in stored] == [f"{token_of(preview)}.csv"]
    path = stored[0].resolve()
    assert not path.is_relative_to(Path(settings.STATIC_ROOT).resolve())
    assert not path.is_relative_to(Path(settings.BASE_DIR, "perflink").resolve())  # no app static dir
    assert path.stat().st_mode & 0o077 == 0  # readable by the server's user only
    for url in (f"/static/{path.name}", f"/uploads/{world.tenant.slug}/{path.name}", f"/data/{path.name}"):
        assert admin.get(url).status_code == 404


def test_a_file_over_the_size_limit_is_refused_with_a_message(
    admin: Client, world: World, var_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(import_views, "MAX_UPLOAD_BYTES", 2_000)
    monkeypatch.setattr(import_views, "MULTIPART_SLACK", 100_000)
    # Over the limit but within the slack: the upload handler stops writing at the limit.
    response = admin.post("/data/import/", {"kind": "claim", "file": csv_file(claim_rows(world, 60))})
    assert response.status_code == 413
    assert "文件超过" in text(response) and "拆分" in text(response)
    # Far over the limit: refused from the Content-Length, before the body is read.
    response = admin.post("/data/import/", {"kind": "claim", "file": csv_file(claim_rows(world, 3000))})
    assert response.status_code == 413 and "文件超过" in text(response)
    assert not any((var_dir / "uploads" / world.tenant.slug).iterdir())


def test_other_file_types_and_empty_files_are_refused(admin: Client, world: World) -> None:
    exe = SimpleUploadedFile("payload.exe", b"MZ...", content_type="application/octet-stream")
    body = text(admin.post("/data/import/", {"kind": "claim", "file": exe}))
    assert ".csv" in body and ".xlsx" in body and "另存为" in body
    empty = SimpleUploadedFile("空.csv", b"", content_type="text/csv")
    assert "文件是空的" in text(admin.post("/data/import/", {"kind": "claim", "file": empty}))


def test_missing_required_columns_are_explained_and_block_the_import(admin: Client, world: World) -> None:
    headers = [h for h in HEADERS if h != "报案时间"]
    rows = [r[:4] + r[5:] for r in claim_rows(world)]
    body = text(admin.get(upload(admin, csv_file(rows, headers))))
    assert 'id="missing-columns"' in body
    assert "报案时间" in body and "reported at" in body  # the field and other names it accepts
    assert "保存列映射" in body  # how to fix it without editing the file
    assert re.search(r'id="commit-button"\s+disabled', body)


def test_an_upload_of_another_session_or_a_made_up_token_is_not_usable(
    admin: Client, world: World, client: Client
) -> None:
    preview = upload(admin, csv_file(claim_rows(world)))
    other = Client()
    other.force_login(world.users["tenant_admin"])
    assert "不再可用" in text(other.get(preview))
    assert "不再可用" in text(run(other, preview, "commit"))
    assert "不再可用" in text(admin.get("/data/import/?upload=../../etc/passwd&kind=claim"))
    assert counts(world)["batches"] == 0


# --- validate, import, quarantine ---------------------------------------------------------------------------


def test_a_dry_run_reports_every_error_and_writes_nothing(admin: Client, world: World) -> None:
    preview = upload(admin, csv_file(bad_rows(world)))
    before = counts(world)
    response = run(admin, preview, "validate", htmx=True)
    body = text(response)
    assert "<html" not in body and 'data-outcome="invalid"' in body
    assert "试运行" in body and "没有写入任何数据" in body
    assert 'data-count="total">4<' in body and 'data-count="rejected">2<' in body
    assert 'data-row="3"' in body and "找不到员工工号“NOBODY”" in body
    assert 'data-row="5"' in body and "不是有效的金额" in body
    assert "去除千分位" in body  # cleaning rules applied, with their cell counts
    assert counts(world) == before


def test_a_dry_run_on_a_fresh_tenant_does_not_even_create_the_source_system(
    admin: Client, world: World
) -> None:
    preview = upload(admin, csv_file(claim_rows(world)))
    body = text(run(admin, preview, "validate"))
    assert "<html" in body and 'data-outcome="valid"' in body and "校验通过" in body
    assert counts(world)["systems"] == 0


def test_an_import_with_a_bad_row_writes_nothing_and_says_which_row_column_and_why(
    admin: Client, world: World
) -> None:
    preview = upload(admin, csv_file(bad_rows(world)))
    before = counts(world)
    body = text(run(admin, preview, "commit", htmx=True))
    assert 'data-outcome="rejected"' in body and "没有写入任何数据" in body
    row3 = re.search(r'<tr data-row="3">(.*?)</tr>', body, re.S).group(1)
    assert "理赔员工号" in row3 and "NOBODY" in row3 and "找不到员工工号" in row3
    assert 'id="quarantine-button"' in body  # the way forward is offered
    assert counts(world) == before
    assert "暂无批次" in text(admin.get("/data/batches/"))


def test_a_quarantine_import_writes_the_valid_rows_and_offers_the_rejected_ones(
    admin: Client, world: World
) -> None:
    preview = upload(admin, csv_file(bad_rows(world)))
    response = run(admin, preview, "commit", quarantine="on", htmx=True)
    assert response.status_code == 204 and response["HX-Redirect"].startswith("/data/batches/")
    with tenant_context(world.tenant):
        batch = Batch.objects.get()
        assert sorted(ClaimRecord.objects.values_list("claim_no", flat=True)) == ["C0000", "C0002"]
    assert batch.n_rows == 4 and batch.n_rejected == 2 and batch.file_name == "理赔.csv"
    assert batch.created_by_label == world.users["performance_admin"].username
    page = text(admin.get(response["HX-Redirect"]))
    assert "已导入 2 行" in page and 'id="download-rejected"' in page
    download = admin.get(f"/data/batches/{batch.pk}/rejected.csv")
    assert download["Content-Type"].startswith("text/csv") and "attachment" in download["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(b"".join(download.streaming_content).decode("utf-8-sig"))))
    assert rows[0][0] == "行号 (row)" and rows[0][-1] == "错误 (errors)" and "索赔金额" in rows[0]
    assert [r[0] for r in rows[1:]] == ["3", "5"]
    amount = rows[0].index("索赔金额")
    assert rows[2][amount] == "'=1+1"  # a formula comes back as text
    assert "NOBODY" in rows[1][rows[0].index("理赔员工号")] and "NOBODY" in rows[1][-1]
    assert not any(cell.startswith(("=", "+", "@")) for r in rows for cell in r)
    # The upload is gone once imported.
    assert "不再可用" in text(admin.get(preview))


def test_the_download_neutralises_every_cell_even_the_header_row(admin: Client, world: World) -> None:
    """The quarantine file neutralises data cells when written; the download does it again for every
    cell, so a header the user typed (or a file changed on disk) cannot carry a formula either."""
    run(admin, upload(admin, csv_file(bad_rows(world))), "commit", quarantine="on")
    with tenant_context(world.tenant):
        batch = Batch.objects.get()
    Path(batch.quarantine_path).write_text("\ufeff=SUM(A1),行号 (row),x\r\n+1,3,@cmd\r\n", encoding="utf-8")
    content = b"".join(admin.get(f"/data/batches/{batch.pk}/rejected.csv").streaming_content)
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    assert rows == [["行号 (row)", "'=SUM(A1)", "x"], ["3", "'+1", "'@cmd"]]


def test_posts_without_the_csrf_token_are_refused(world: World) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.users["performance_admin"])
    response = client.post("/data/import/", {"kind": "claim", "file": csv_file(claim_rows(world))})
    assert response.status_code == 403
    client.get("/data/import/")  # now with a CSRF cookie, but a forged token in the form
    forged = {"kind": "claim", "file": csv_file(claim_rows(world)), "csrfmiddlewaretoken": "x" * 64}
    assert client.post("/data/import/", forged).status_code == 403
    assert not any((Path(settings.VAR_DIR) / "uploads" / world.tenant.slug).iterdir())


def test_the_pages_render_in_english(admin: Client, world: World) -> None:
    admin.post("/i18n/setlang/", {"language": "en", "next": "/data/"})
    preview = upload(admin, csv_file(bad_rows(world)))
    assert "Column mapping" in text(admin.get(preview))
    report = text(run(admin, preview, "validate", htmx=True))
    assert "unknown employee number “NOBODY”" in report and "not an amount" in report
    assert "Feed health" in text(admin.get("/data/")) and "Import history" in text(
        admin.get("/data/batches/")
    )


def test_a_clean_import_commits_and_shows_the_batch_report(admin: Client, world: World) -> None:
    preview = upload(admin, csv_file(claim_rows(world, 3)))
    response = run(admin, preview, "commit")
    assert response.status_code == 302
    page = text(admin.get(response["Location"]))
    assert "已导入全部 3 行" in page and 'data-count="created">3<' in page
    assert "备注" in page  # the ignored column is reported
    assert 'id="download-rejected"' not in page and 'id="rollback-button"' in page
    with tenant_context(world.tenant):
        assert ClaimRecord.objects.count() == 3
        assert AuditEvent.objects.filter(action="ingest.batch.commit").count() == 1


def test_a_committed_batch_rolls_back_as_a_whole_and_a_dependent_one_is_refused(
    admin: Client, world: World
) -> None:
    first = run(admin, upload(admin, csv_file(claim_rows(world, 3))), "commit")["Location"]
    changed = claim_rows(world, 1)
    changed[0][6] = "2,000"
    second = run(admin, upload(admin, csv_file(changed, name="更正.csv")), "commit")["Location"]
    first_id = int(re.search(r"/batches/(\d+)/", first).group(1))
    second_id = int(re.search(r"/batches/(\d+)/", second).group(1))
    assert admin.get(f"/data/batches/{first_id}/rollback/").status_code == 405
    refused = text(admin.post(f"/data/batches/{first_id}/rollback/", follow=True))
    assert f"#{second_id}" in refused and "请先回滚" in refused
    done = text(admin.post(f"/data/batches/{second_id}/rollback/", follow=True))
    assert "已回滚" in done and "恢复" in done
    text(admin.post(f"/data/batches/{first_id}/rollback/", follow=True))
    with tenant_context(world.tenant):
        assert ClaimRecord.objects.count() == 0
        assert set(Batch.objects.values_list("status", flat=True)) == {"rolled_back"}
    history = text(admin.get("/data/batches/?status=rolled_back"))
    assert history.count('data-status="rolled_back"') == 2


def test_htmx_commit_without_errors_redirects_the_whole_page(admin: Client, world: World) -> None:
    response = run(admin, upload(admin, csv_file(claim_rows(world))), "commit", htmx=True)
    assert response.status_code == 204 and re.match(r"/data/batches/\d+/", response["HX-Redirect"])


# --- saved mappings ---------------------------------------------------------------------------------------


def test_a_mapping_for_an_unknown_header_is_saved_and_applied(admin: Client, world: World) -> None:
    headers = ["案卷编码", *HEADERS[1:]]
    preview = upload(admin, csv_file(claim_rows(world), headers))
    body = text(admin.get(preview))
    assert 'id="missing-columns"' in body and 'id="save-mapping"' in body
    response = admin.post(
        "/data/import/",
        {
            "step": "save_mapping",
            "upload": token_of(preview),
            "kind": "claim",
            "mapping": "",
            "source": "",
            "name": "老理赔系统导出",
            "col_0": "claim_no",  # 案卷编码
            "col_1": "",  # 备注 stays ignored
        },
    )
    assert response.status_code == 302 and "mapping=" in response["Location"]
    with tenant_context(world.tenant):
        mapping = ImportMapping.objects.get()
        assert AuditEvent.objects.filter(action="ingest.mapping.save").count() == 1
    assert mapping.columns == {"案卷编码": "claim_no"} and mapping.kind == "claim"
    body = text(admin.get(response["Location"]))
    assert 'id="missing-columns"' not in body and "列映射“老理赔系统导出”已保存" in body
    assert 'data-header="案卷编码" data-field="claim_no"' in body
    # The next upload can pick it.
    assert "老理赔系统导出" in text(admin.get("/data/import/"))
    result = run(admin, response["Location"], "commit", mapping=str(mapping.pk))
    assert result.status_code == 302
    with tenant_context(world.tenant):
        assert ClaimRecord.objects.count() == 3


def test_a_mapping_cannot_claim_a_field_another_column_already_provides(admin: Client, world: World) -> None:
    preview = upload(admin, csv_file(claim_rows(world)))
    response = admin.post(
        "/data/import/",
        {
            "step": "save_mapping",
            "upload": token_of(preview),
            "kind": "claim",
            "name": "x",
            "col_0": "claim_no",
        },
    )
    assert response.status_code == 400 and "已有其他列提供此字段" in text(response)
    with tenant_context(world.tenant):
        assert not ImportMapping.objects.exists()


# --- roster files ---------------------------------------------------------------------------------------------


def test_an_employee_roster_goes_through_the_roster_sync(admin: Client, world: World) -> None:
    headers = ["工号", "姓名", "所属机构代码", "用工类型", "入职日期"]
    rows = [["R0001", "赵六", world.sales_team.code, "代理人", "2026/1/5"]]
    preview = upload(admin, csv_file(rows, headers, "花名册.csv"), kind="employee")
    assert "quarantine" not in text(admin.get(preview)).split('id="run-form"')[1].split("</form>")[0]
    dry = text(run(admin, preview, "validate", kind="employee", htmx=True))
    assert 'data-outcome="valid"' in dry and 'data-count="created">1<' in dry
    response = run(admin, preview, "commit", kind="employee")
    assert response.status_code == 302 and response["Location"] == "/data/import/"
    assert "新增 1" in text(admin.get("/data/import/"))
    with tenant_context(world.tenant):
        assert Employee.objects.filter(employee_no="R0001").exists()


# --- pages: data sources, history ---------------------------------------------------------------------------


def make_batches(world: World, n: int, *, days_ago: int = 0, kind: str = "claim", rejected: int = 0) -> None:
    with tenant_context(world.tenant, SYSTEM):
        system, _ = SourceSystem.objects.get_or_create(
            code="claims", defaults={"name": "理赔系统", "kind": "claims"}
        )
        now = timezone.now()
        for i in range(n):
            Batch.objects.create(
                source_system=system,
                kind=kind,
                channel="push",
                received_at=now - timedelta(days=days_ago, hours=i),
                n_rows=100,
                n_created=100 - rejected,
                n_rejected=rejected,
                created_by_label="claims-feed",
                report={"missing": {"satisfaction": 40}},
            )


def test_the_data_sources_page_shows_feed_health_and_flags_stale_feeds(admin: Client, world: World) -> None:
    make_batches(world, 3, days_ago=10, rejected=10)
    body = text(admin.get("/data/"))
    assert "数据接入" in body and 'id="feed-table"' in body and 'data-stale="true"' in body
    assert "已停更" in body and "10.0%" in body and "满意度 40%" in body
    assert 'id="import-action"' in body and 'id="recent-batches"' in body
    assert 'aria-current="page" data-nav="ingest"' in body
    assert 'id="connectors"' in body and "暂无定时拉取" in body
    attention = text(admin.get("/data/?attention=on", **HX))
    assert "<html" not in attention and 'data-count="1"' in attention


def test_the_data_sources_page_has_an_empty_state(admin: Client, world: World) -> None:
    body = text(admin.get("/data/"))
    assert "暂无数据流" in body and "还没有收到任何数据" in body


def test_history_filters_sorts_and_pages(admin: Client, world: World) -> None:
    make_batches(world, 30)
    make_batches(world, 2, kind="policy")
    body = text(admin.get("/data/batches/"))
    assert "共 <strong>32</strong> 个批次" in body and body.count("<tr data-batch=") == 25
    assert text(admin.get("/data/batches/?page=2")).count("<tr data-batch=") == 7
    assert text(admin.get("/data/batches/?kind=policy", **HX)).count("<tr data-batch=") == 2
    assert "没有符合筛选条件的批次" in text(admin.get("/data/batches/?channel=file"))
    assert 'href="/data/batches/?sort=-received"' in text(admin.get("/data/batches/?sort=received"))


# session, user, tenant, source systems (filter), count, the page of batches, the header bell's unread count,
# session save (3).
HISTORY_MAX_QUERIES = 10


@pytest.mark.parametrize("n", [3, 30])
def test_history_query_count_is_pinned(
    admin: Client, world: World, n: int, django_assert_max_num_queries: Any
) -> None:
    make_batches(world, n)
    with django_assert_max_num_queries(HISTORY_MAX_QUERIES):
        assert admin.get("/data/batches/").status_code == 200
    with django_assert_max_num_queries(HISTORY_MAX_QUERIES):
        assert admin.get("/data/batches/?kind=claim&sort=-rows", **HX).status_code == 200


# --- permissions and tenants ------------------------------------------------------------------------------------


def test_a_unit_head_may_not_open_the_data_pages(client: Client, world: World) -> None:
    make_batches(world, 1)
    with tenant_context(world.tenant):
        batch = Batch.objects.get()
    client.force_login(world.users["unit_head"])
    for url in ("/data/", "/data/import/", "/data/batches/", f"/data/batches/{batch.pk}/"):
        assert client.get(url).status_code == 403, url
    assert 'data-nav="ingest"' not in text(client.get("/"))


def test_an_auditor_reads_the_history_but_may_not_import_or_roll_back(client: Client, world: World) -> None:
    make_batches(world, 1)
    with tenant_context(world.tenant):
        batch = Batch.objects.get()
    client.force_login(world.users["auditor"])
    assert client.get("/data/").status_code == 200
    assert 'id="import-action"' not in text(client.get("/data/"))
    assert client.get("/data/batches/").status_code == 200
    detail = client.get(f"/data/batches/{batch.pk}/")
    assert detail.status_code == 200 and 'id="rollback-button"' not in text(detail)
    assert client.get("/data/import/").status_code == 403
    assert client.post("/data/import/", {"kind": "claim"}).status_code == 403
    assert client.post(f"/data/batches/{batch.pk}/rollback/").status_code == 403
    assert client.get(f"/data/batches/{batch.pk}/rejected.csv").status_code == 403


def test_another_tenants_batch_and_its_rejected_rows_are_404(
    admin: Client, world: World, other_world: World
) -> None:
    other = Client()
    other.force_login(other_world.users["performance_admin"])
    run(other, upload(other, csv_file(bad_rows(other_world))), "commit", quarantine="on")
    with tenant_context(other_world.tenant):
        batch = Batch.objects.get()
    assert batch.quarantine_path and other.get(f"/data/batches/{batch.pk}/rejected.csv").status_code == 200
    assert admin.get(f"/data/batches/{batch.pk}/rejected.csv").status_code == 404
    assert admin.get(f"/data/batches/{batch.pk}/").status_code == 404
    assert admin.post(f"/data/batches/{batch.pk}/rollback/").status_code == 404
    with tenant_context(other_world.tenant):
        assert Batch.objects.get().status == "committed"


def test_a_quarantine_path_outside_the_tenants_directory_is_never_served(
    admin: Client, world: World, other_world: World
) -> None:
    other = Client()
    other.force_login(other_world.users["performance_admin"])
    run(other, upload(other, csv_file(bad_rows(other_world))), "commit", quarantine="on")
    with tenant_context(other_world.tenant):
        b_path = Batch.objects.get().quarantine_path
    make_batches(world, 1)
    with tenant_context(world.tenant):
        Batch.objects.update(quarantine_path=b_path)
        batch = Batch.objects.get()
    assert admin.get(f"/data/batches/{batch.pk}/rejected.csv").status_code == 404


def test_a_batch_without_rejected_rows_downloads_an_empty_file(admin: Client, world: World) -> None:
    make_batches(world, 1)
    with tenant_context(world.tenant):
        batch = Batch.objects.get()
    content = b"".join(admin.get(f"/data/batches/{batch.pk}/rejected.csv").streaming_content)
    assert content.decode("utf-8-sig").strip() == "行号 (row),错误 (errors)"
