"""The web shell's pages: what each role sees, htmx fragments, search/filter/sort/paging, masking,
tokens, the audit export, the lock-out message, the language switch and query-count pins."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import pytest
from django.template.loader import render_to_string
from django.test import Client

from perflink.accounts.models import ApiToken
from perflink.core.context import SYSTEM, tenant_context
from perflink.tenancy.models import Tenant
from tests.factories import PASSWORD, World, make_employee, make_unit

HX = {"HTTP_HX_REQUEST": "true"}


def login(client: Client, user: Any) -> Client:
    """Log a user in (Django's last_login signal is off: do_attempt_login records it)."""
    client.force_login(user)
    return client


@pytest.fixture
def admin(client: Client, world: World) -> Client:
    return login(client, world.users["tenant_admin"])


def text(response: Any) -> str:
    return response.content.decode()


def add_people(world: World, n: int, *, prefix: str = "P", unit: Any = None, **extra: Any) -> list[Any]:
    with tenant_context(world.tenant, SYSTEM):
        return [
            make_employee(
                unit or world.sales_team, employee_no=f"{prefix}{i:04d}", name=f"测试{prefix}{i:04d}", **extra
            )
            for i in range(n)
        ]


# --- Every page renders for an administrator ------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("/", ["概览", "组织机构", "业务部门", "职能部门", "代理人", "功能模块", "快捷入口"]),
        ("/org/", ["组织架构树", "个险销售部", "人力资源部", "业务条线", "职能部门"]),
        ("/employees/", ["工号", "李四", "王五", "名员工"]),
        ("/audit/", ["审计日志", "导出 CSV", "新增员工"]),
        ("/settings/", ["账号信息", "接口令牌", "/api/v1/docs", "tenant_admin@alpha"]),
        ("/settings/tokens/", ["新建令牌", "ingest.push", "暂无令牌"]),
        ("/modules/collab/", ["建设中", "模块功能"]),
    ],
)
def test_each_page_renders_for_an_admin_with_its_key_content(
    admin: Client, url: str, expected: list[str]
) -> None:
    response = admin.get(url)
    assert response.status_code == 200
    body = text(response)
    assert "<html" in body and 'class="sidebar"' in body
    for fragment in expected:
        assert fragment in body, fragment


def test_unit_and_employee_detail_pages_render(admin: Client, world: World) -> None:
    unit_page = text(admin.get(f"/org/units/{world.sales.id}/"))
    assert "个险销售部" in unit_page and "销售一组" in unit_page and "机构沿革" in unit_page
    emp_page = text(admin.get(f"/employees/{world.agent.id}/"))
    assert "李四" in emp_page and "任职经历" in emp_page and "销售一组" in emp_page


def test_the_shell_shows_tenant_user_role_language_switch_and_logout(admin: Client, world: World) -> None:
    body = text(admin.get("/"))
    assert world.tenant.name in body
    assert "租户管理员" in body
    assert 'action="/i18n/setlang/"' in body and 'name="language"' in body
    assert 'action="/logout/"' in body
    assert 'aria-current="page" data-nav="home"' in body
    assert "htmx.min.js" in body and "//cdn" not in body and "https://" not in body


def test_the_navigation_follows_the_tenants_modules(admin: Client, world: World) -> None:
    Tenant.objects.filter(pk=world.tenant.pk).update(modules=["metrics"])
    body = text(admin.get("/"))
    assert 'data-nav="metrics"' in body
    assert 'data-nav="incentives"' not in body
    assert admin.get("/modules/collab/").status_code == 404


def test_unknown_module_is_404(admin: Client) -> None:
    response = admin.get("/modules/nope/")
    assert response.status_code == 404
    assert "您访问的页面不存在" in text(response)


# --- htmx fragments ----------------------------------------------------------------------------------


def test_org_children_are_a_fragment_for_htmx(admin: Client, world: World) -> None:
    response = admin.get(f"/org/?parent={world.sales.id}", **HX)
    body = text(response)
    assert response.status_code == 200
    assert "<html" not in body
    assert "销售一组" in body and "人力资源部" not in body
    assert response["Vary"] and "HX-Request" in response["Vary"]


def test_unit_panel_is_a_fragment_for_htmx_and_a_page_without(admin: Client, world: World) -> None:
    fragment = text(admin.get(f"/org/units/{world.sales_team.id}/", **HX))
    assert "<html" not in fragment
    assert "销售一组" in fragment and "李四" in fragment
    assert "个险销售部" in fragment  # ancestors trail
    page = text(admin.get(f"/org/units/{world.sales_team.id}/"))
    assert "<html" in page and 'id="unit-panel"' in page


def test_a_history_restore_request_gets_the_whole_page(admin: Client) -> None:
    body = text(admin.get("/employees/", HTTP_HX_HISTORY_RESTORE_REQUEST="true", **HX))
    assert "<html" in body


def test_employee_and_audit_tables_are_fragments_for_htmx(admin: Client) -> None:
    employees = text(admin.get("/employees/?q=李", **HX))
    assert "<html" not in employees and 'id="employee-table"' in employees and "李四" in employees
    assert 'id="sort-input"' in employees and 'hx-swap-oob="true"' in employees
    audit = text(admin.get("/audit/?action=org.", **HX))
    assert "<html" not in audit and 'id="audit-table"' in audit


def test_the_org_tree_opens_the_first_level_and_shows_headcounts(admin: Client, world: World) -> None:
    body = text(admin.get("/org/"))
    # Group is the root; its children (sales, HR) are rendered open; deeper levels load on demand.
    assert f'aria-controls="children-{world.group.id}"' in body
    assert f'data-url="/org/?parent={world.sales.id}"' in body
    assert "销售一组" not in re.sub(r'<section id="unit-panel".*', "", body, flags=re.S)
    assert re.search(r'title="本机构及下级机构共 2 人"', body)  # the group: agent + staff


# --- Employee list: search, filters, sort, paging ------------------------------------------------------


def _rows(body: str) -> list[str]:
    return re.findall(r'<td class="mono">([^<]+)</td>', body)


def test_employee_search_matches_name_and_number(admin: Client, world: World) -> None:
    add_people(world, 3)
    by_name = text(admin.get("/employees/?q=李四"))
    assert _rows(by_name) == [world.agent.employee_no]
    by_no = text(admin.get("/employees/?q=P0001"))
    assert _rows(by_no) == ["P0001"]
    none = text(admin.get("/employees/?q=没有这个人"))
    assert "没有符合筛选条件的员工" in none and "清除筛选" in none


def test_employee_filters_by_unit_subtree_type_and_status(admin: Client, world: World) -> None:
    add_people(world, 2, prefix="H", unit=world.hr)
    assert set(_rows(text(admin.get(f"/employees/?unit={world.sales.id}")))) == {world.agent.employee_no}
    assert world.staff.employee_no in _rows(text(admin.get(f"/employees/?unit={world.hr.id}")))
    assert _rows(text(admin.get("/employees/?employment_type=agent"))) == [world.agent.employee_no]
    assert _rows(text(admin.get("/employees/?status=left"))) == []


def test_employee_sort_and_paging(admin: Client, world: World) -> None:
    add_people(world, 30)
    first = text(admin.get("/employees/?sort=employee_no"))
    assert len(_rows(first)) == 25
    assert "共 <strong>32</strong> 名员工" in first
    desc = _rows(text(admin.get("/employees/?sort=-employee_no")))
    asc = _rows(text(admin.get("/employees/?sort=employee_no&page=2")))
    assert desc[0] == "P0029"
    assert len(asc) == 7
    assert asc[-1] == "P0029"
    # Sort links keep the filters and flip direction; paging links keep filters and sort.
    body = text(admin.get("/employees/?employment_type=staff&sort=name"))
    assert 'href="/employees/?employment_type=staff&amp;sort=-name"' in body
    assert "page=2" in body and "employment_type=staff" in body


def test_an_invalid_page_or_sort_falls_back_safely(admin: Client) -> None:
    assert admin.get("/employees/?page=999").status_code == 200
    assert admin.get("/employees/?page=abc").status_code == 200
    assert admin.get("/employees/?sort=password").status_code == 200


# --- Sensitive fields --------------------------------------------------------------------------------


def test_performance_admin_sees_sensitive_fields_in_full(client: Client, world: World) -> None:
    login(client, world.users["performance_admin"])
    body = text(client.get(f"/employees/{world.agent.id}/"))
    assert "110101199001011234" in body
    assert "13812345678" in body
    assert "明文显示" in body


def test_unit_head_sees_sensitive_fields_masked_with_the_reason(client: Client, world: World) -> None:
    login(client, world.users["unit_head"])
    body = text(client.get(f"/employees/{world.agent.id}/"))
    assert "1101**********1234" in body
    assert "110101199001011234" not in body
    assert "138****5678" in body
    assert "已脱敏" in body and "个人信息保护法" in body and "机构负责人" in body


# --- Data scope ----------------------------------------------------------------------------------------


def test_a_unit_head_sees_only_their_subtree(client: Client, world: World) -> None:
    login(client, world.users["unit_head"])
    tree = text(client.get("/org/"))
    assert "个险销售部" in tree and "销售一组" in tree
    assert "人力资源部" not in tree and "alpha集团" not in tree
    employees = text(client.get("/employees/"))
    assert world.agent.employee_no in employees and world.staff.employee_no not in employees
    assert client.get(f"/org/units/{world.hr.id}/").status_code == 404
    assert client.get(f"/org/?parent={world.group.id}", **HX).status_code == 404
    assert client.get(f"/employees/{world.staff.id}/").status_code == 404
    # The unit filter cannot reach outside the scope either.
    assert world.staff.employee_no not in text(client.get(f"/employees/?unit={world.hr.id}"))
    panel = text(client.get(f"/org/units/{world.sales_team.id}/", **HX))
    assert "alpha集团" not in panel  # ancestors above the scope are not shown


def test_another_tenants_objects_are_404(admin: Client, other_world: World) -> None:
    assert admin.get(f"/org/units/{other_world.sales.id}/").status_code == 404
    assert admin.get(f"/employees/{other_world.agent.id}/").status_code == 404
    assert other_world.agent.employee_no not in text(admin.get("/employees/"))


def test_a_role_without_the_action_gets_the_403_page(client: Client, world: World) -> None:
    login(client, world.users["employee"])
    response = client.get("/org/")
    assert response.status_code == 403
    body = text(response)
    assert "您没有权限打开此页面" in body and "浏览组织架构和机构" in body
    assert 'class="sidebar"' in body


def test_anonymous_visitors_are_sent_to_login(client: Client, world: World) -> None:
    response = client.get("/employees/")
    assert response.status_code == 302 and response["Location"].startswith("/login/?next=")


def test_the_500_page_renders_without_a_request() -> None:
    body = render_to_string("500.html")
    assert "系统出了点问题" in body and "<html" in body


# --- API tokens ------------------------------------------------------------------------------------------


def test_token_create_shows_the_secret_once_and_revoke_works(admin: Client, world: World) -> None:
    response = admin.post("/settings/tokens/", {"name": "理赔系统", "permissions": ["ingest.push"]})
    body = text(response)
    assert response.status_code == 200
    secret = re.search(r'<code id="new-secret">(pl_[^<]+)</code>', body).group(1)
    assert "请立即复制新令牌" in body
    assert response["Cache-Control"] == "no-store"
    with tenant_context(world.tenant):
        token = ApiToken.objects.get(name="理赔系统")
    assert secret.startswith(f"pl_{token.prefix}_")
    again = text(admin.get("/settings/tokens/"))
    assert secret not in again and token.prefix in again
    assert admin.get(f"/settings/tokens/{token.id}/revoke/").status_code == 405
    revoked = admin.post(f"/settings/tokens/{token.id}/revoke/", follow=True)
    assert "已吊销" in text(revoked)
    with tenant_context(world.tenant):
        token.refresh_from_db()
    assert token.revoked_at is not None


def test_token_form_rejects_an_empty_permission_set(admin: Client, world: World) -> None:
    body = text(admin.post("/settings/tokens/", {"name": "x"}))
    assert 'id="new-secret"' not in body
    with tenant_context(world.tenant):
        assert not ApiToken.objects.exists()


def test_tokens_of_another_tenant_cannot_be_revoked(admin: Client, other_world: World) -> None:
    from perflink.accounts.actions import do_create_token

    with tenant_context(other_world.tenant, SYSTEM):
        token, _ = do_create_token(name="b", permissions=["ingest.push"], created_by=None, actor=SYSTEM)
    assert admin.post(f"/settings/tokens/{token.id}/revoke/").status_code == 404


# --- Audit trail -----------------------------------------------------------------------------------------


def test_audit_export_button_only_for_those_who_may_export(client: Client, world: World) -> None:
    login(client, world.users["auditor"])
    assert 'id="audit-export"' in text(client.get("/audit/"))
    client.logout()
    login(client, world.users["performance_admin"])
    body = text(client.get("/audit/"))
    assert 'id="audit-table"' in body and 'id="audit-export"' not in body
    assert client.get("/audit/export.csv").status_code == 403


def test_audit_export_keeps_the_filters_and_is_formula_safe(admin: Client, world: World) -> None:
    with tenant_context(world.tenant, SYSTEM):
        make_unit("alpha-EVIL", '=HYPERLINK("http://x")', world.group)
    page = text(admin.get("/audit/?action=org.unit"))
    assert 'href="/audit/export.csv?action=org.unit"' in page
    response = admin.get("/audit/export.csv?action=org.unit")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][:4] == ["seq", "time", "actor", "action"]
    assert all(r[3].startswith("org.unit") for r in rows[1:])
    objects = [r[6] for r in rows[1:]]
    assert '\'=HYPERLINK("http://x")' in objects
    assert not any(cell.startswith("=") for r in rows for cell in r)


def test_audit_filters_and_before_after(admin: Client, world: World) -> None:
    body = text(admin.get("/audit/?q=李四"))
    assert "新增员工" in body and "查看变更前后" in body
    assert "1101**********1234" in body  # sensitive values are masked in the trail itself
    assert "没有符合筛选条件的日志" in text(admin.get("/audit/?actor=nobody-at-all"))


# --- Login and language ---------------------------------------------------------------------------------


def test_login_page_shows_the_product_and_the_lockout_after_five_failures(world: World) -> None:
    client = Client()
    page = text(client.get("/login/"))
    assert "联动绩效 Perflink" in page and "连续输错密码 5 次" in page
    username = world.users["tenant_admin"].username
    for _ in range(4):
        failed = client.post("/login/", {"username": username, "password": "wrong"})
        assert failed.status_code == 401 and "用户名或密码不正确" in text(failed)
    locked = client.post("/login/", {"username": username, "password": "wrong"})
    assert "账号已被锁定" in text(locked)
    still = client.post("/login/", {"username": username, "password": PASSWORD})
    assert still.status_code == 401 and "账号已被锁定" in text(still)


def test_login_through_the_form_lands_on_the_next_page(world: World) -> None:
    client = Client()
    response = client.post(
        "/login/?next=/employees/", {"username": world.users["auditor"].username, "password": PASSWORD}
    )
    assert response.status_code == 302 and response["Location"] == "/employees/"
    evil = Client().post(
        "/login/?next=https://evil.example/",
        {"username": world.users["auditor"].username, "password": PASSWORD},
    )
    assert evil["Location"] == "/"


def test_language_switch_to_english_changes_the_page(admin: Client) -> None:
    assert "概览" in text(admin.get("/"))
    response = admin.post("/i18n/setlang/", {"language": "en", "next": "/employees/"})
    assert response.status_code == 302 and response["Location"] == "/employees/"
    body = text(admin.get("/employees/"))
    assert "Employee no." in body and "Overview" in body and "工号" not in body
    admin.post("/i18n/setlang/", {"language": "zh-hans", "next": "/"})
    assert "工号" in text(admin.get("/employees/"))


def test_logout_is_a_post(admin: Client) -> None:
    assert admin.get("/logout/").status_code == 405
    assert admin.post("/logout/")["Location"] == "/login/"
    assert admin.get("/").status_code == 302


# --- Query-count pins: a list page costs the same however many rows it shows ----------------------------


EMPLOYEE_LIST_MAX_QUERIES = 10
AUDIT_LIST_MAX_QUERIES = 9  # 8, plus the header bell's unread count (one COUNT on every full page)


@pytest.mark.parametrize("people", [5, 40])
def test_employee_list_query_count_is_pinned(
    admin: Client, world: World, people: int, django_assert_max_num_queries: Any
) -> None:
    add_people(world, people)
    with django_assert_max_num_queries(EMPLOYEE_LIST_MAX_QUERIES):
        assert admin.get("/employees/").status_code == 200
    with django_assert_max_num_queries(EMPLOYEE_LIST_MAX_QUERIES):
        assert admin.get("/employees/?q=测试&sort=-unit", **HX).status_code == 200


@pytest.mark.parametrize("people", [5, 40])
def test_audit_list_query_count_is_pinned(
    admin: Client, world: World, people: int, django_assert_max_num_queries: Any
) -> None:
    add_people(world, people)
    with django_assert_max_num_queries(AUDIT_LIST_MAX_QUERIES):
        assert admin.get("/audit/").status_code == 200


@pytest.mark.parametrize("teams", [1, 12])
def test_org_tree_level_query_count_is_pinned(
    admin: Client, world: World, teams: int, django_assert_max_num_queries: Any
) -> None:
    with tenant_context(world.tenant, SYSTEM):
        for i in range(teams):
            make_unit(f"alpha-T{i}", f"团队{i}", world.sales, kind="team")
    with django_assert_max_num_queries(8):
        assert admin.get(f"/org/?parent={world.sales.id}", **HX).status_code == 200
