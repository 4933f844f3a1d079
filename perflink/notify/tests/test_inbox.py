"""The inbox: sending and reading notifications, the inbox page and the header bell, and the first sender:
a new version of a metric template tells the heads of the units it scores."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from perflink.audit.models import AuditEvent
from perflink.core.context import SYSTEM, Actor, tenant_context
from perflink.core.errors import TenantScopeError
from perflink.metrics.actions import do_save_template_version
from perflink.metrics.models import Template
from perflink.metrics.selectors import heads_of_affected_units
from perflink.notify.actions import do_mark_read, do_notify
from perflink.notify.models import Notification
from perflink.notify.selectors import inbox, unread_count
from tests.factories import PASSWORD, World, make_scores

HX = {"HTTP_HX_REQUEST": "true"}
ITEMS = [
    {
        "metric": "new_business_premium",
        "weight": "100",
        "rule": {"kind": "linear", "per_point": "1", "cap": "150"},
        "target": "40000",
        "scope": "self",
    },
]


def send(world: World, role: str, title: str, n: int = 1, **extra: Any) -> list[Notification]:
    with tenant_context(world.tenant, SYSTEM):
        for i in range(n):
            do_notify(
                [world.users[role]],
                kind="template.version",
                title=f"{title}{i if n > 1 else ''}",
                body=extra.get("body", "正文"),
                url=extra.get("url", "/metrics/templates/"),
                actor=SYSTEM,
            )
        return list(inbox(world.users[role]))


def logged_in(world: World, role: str) -> Client:
    client = Client()
    with tenant_context(world.tenant):
        assert client.login(username=world.users[role].username, password=PASSWORD)
    return client


def text(response: Any) -> str:
    return response.content.decode()


def badge(html: str) -> str | None:
    """The number on the header bell, or None when it shows none."""
    match = re.search(r'<span class="bell-badge"[^>]*>([^<]*)</span>', html)
    return match.group(1) if match else None


# --- actions and selectors -----------------------------------------------------------------------------------------


def test_notify_writes_one_unread_row_per_distinct_recipient_and_one_audit_event(in_world: World) -> None:
    head, admin = in_world.users["unit_head"], in_world.users["tenant_admin"]
    sent = do_notify(
        [head, head, admin],
        kind="template.version",
        title="新版本",
        body="正文",
        url="/metrics/",
        actor=SYSTEM,
    )
    assert sent == 2
    assert unread_count(head) == 1 and unread_count(admin) == 1
    assert unread_count(in_world.users["employee"]) == 0
    event = AuditEvent.objects.filter(action="notify.send").get()
    assert event.after == {"kind": "template.version", "count": 2, "title": "新版本"}


def test_notify_with_nobody_to_tell_writes_nothing(in_world: World) -> None:
    assert do_notify([], kind="template.version", title="x", body="", actor=SYSTEM) == 0
    assert not Notification.objects.exists()
    assert not AuditEvent.objects.filter(action="notify.send").exists()


def test_notify_refuses_a_user_of_another_tenant(world: World, other_world: World) -> None:
    with tenant_context(world.tenant, SYSTEM), pytest.raises(TenantScopeError):
        do_notify([other_world.users["unit_head"]], kind="template.version", title="x", body="", actor=SYSTEM)


def test_mark_read_touches_only_the_users_own_notifications(world: World) -> None:
    head, admin = world.users["unit_head"], world.users["tenant_admin"]
    newer, older = send(world, "unit_head", "给负责人", n=2)  # the inbox lists newest first
    (admins,) = send(world, "tenant_admin", "给管理员")
    with tenant_context(world.tenant, SYSTEM):
        # Someone else's id in the list is ignored, not marked.
        assert do_mark_read(head, [older.pk, admins.pk], actor=SYSTEM) == 1
        assert unread_count(head) == 1 and unread_count(admin) == 1
        assert do_mark_read(head, None, actor=SYSTEM) == 1
        assert unread_count(head) == 0 and unread_count(admin) == 1
        assert do_mark_read(head, None, actor=SYSTEM) == 0  # already read: read_at is kept
        assert [n.title for n in inbox(head)] == [newer.title, older.title]
        assert all(n.read_at is not None for n in inbox(head))


def test_only_paths_inside_perflink_become_links(in_world: World) -> None:
    assert Notification(url="/metrics/templates/3/").link == "/metrics/templates/3/"
    for url in ("javascript:alert(1)", "https://evil.example/", "//evil.example/x", ""):
        assert Notification(url=url).link == ""


# --- the inbox page and the bell ----------------------------------------------------------------------------------


def test_the_inbox_shows_the_users_own_notifications_and_no_one_elses(
    world: World, other_world: World
) -> None:
    send(world, "unit_head", "给负责人的通知", body="第一行\n第二行")
    send(world, "employee", "给员工的通知")
    send(other_world, "unit_head", "贝塔的通知")
    html = text(response := logged_in(world, "unit_head").get("/inbox/"))
    assert response.status_code == 200
    assert "给负责人的通知" in html and "第一行<br>第二行" in html
    assert 'href="/metrics/templates/"' in html
    assert "给员工的通知" not in html and "贝塔的通知" not in html
    assert 'data-count="1"' in html and 'data-unread="1"' in html


def test_the_bell_counts_unread_notifications_on_every_page(world: World) -> None:
    client = logged_in(world, "unit_head")
    assert badge(text(client.get("/"))) is None  # nothing unread: no number
    send(world, "unit_head", "通知", n=3)
    send(world, "employee", "别人的")
    assert badge(text(client.get("/"))) == "3"
    assert badge(text(client.get("/inbox/"))) == "3"


def test_mark_all_read_clears_the_badge_and_mark_one_keeps_the_page(world: World) -> None:
    notes = send(world, "unit_head", "通知", n=30)
    client = logged_in(world, "unit_head")
    response = client.post("/inbox/", {"id": str(notes[0].pk), "page": "2"})
    assert response.status_code == 302 and response["Location"] == "/inbox/?page=2"
    assert badge(text(client.get("/inbox/"))) == "29"
    response = client.post("/inbox/", {"all": "1"})
    assert response.status_code == 302 and response["Location"] == "/inbox/"
    html = text(client.get("/inbox/"))
    assert badge(html) is None and 'data-unread="0"' in html and "data-mark-all" not in html
    with tenant_context(world.tenant):
        assert unread_count(world.users["unit_head"]) == 0


def test_a_post_with_another_users_id_marks_nothing(world: World) -> None:
    (theirs,) = send(world, "employee", "员工的通知")
    response = logged_in(world, "unit_head").post("/inbox/", {"id": str(theirs.pk)})
    assert response.status_code == 302
    with tenant_context(world.tenant):
        assert unread_count(world.users["employee"]) == 1


def test_the_inbox_pages_by_25_and_serves_the_next_page_as_an_htmx_fragment(world: World) -> None:
    send(world, "unit_head", "通知", n=30)
    client = logged_in(world, "unit_head")
    first = text(client.get("/inbox/"))
    assert first.count("data-notification=") == 25 and "通知29" in first and "通知4<" not in first
    fragment = text(client.get("/inbox/?page=2", **HX))
    assert fragment.count("data-notification=") == 5 and "通知4<" in fragment
    assert "<html" not in fragment


def test_an_empty_inbox_says_so(world: World) -> None:
    html = text(logged_in(world, "employee").get("/inbox/"))
    assert 'class="empty"' in html and "data-mark-all" not in html


# Session, user, tenant (shell), page count, the page of notifications, the bell's count, session save.
INBOX_MAX_QUERIES = 9


@pytest.mark.parametrize("n", [3, 30])
def test_inbox_query_count_is_pinned(world: World, n: int, django_assert_max_num_queries: Any) -> None:
    send(world, "unit_head", "通知", n=n)
    client = logged_in(world, "unit_head")
    with django_assert_max_num_queries(INBOX_MAX_QUERIES):
        assert client.get("/inbox/").status_code == 200
    with django_assert_max_num_queries(INBOX_MAX_QUERIES):
        assert client.get("/inbox/?page=2", **HX).status_code == 200


# --- a new template version tells the heads of the affected units ---------------------------------------------------


@pytest.fixture
def library(world: World) -> World:
    # The metric library with its templates; the world's unit head is scoped to the sales department.
    make_scores(world)
    return world


def test_a_new_version_of_the_agent_template_tells_the_sales_head_and_nobody_else(library: World) -> None:
    head = library.users["unit_head"]
    with tenant_context(library.tenant, SYSTEM):
        template = Template.objects.get(code="life_agent")  # agents of sales units; 李四 sits in a sales team
        version = do_save_template_version(
            template, items=ITEMS, season_code="kaimenhong", note="提高开门红目标", actor=SYSTEM
        )
        notes = list(Notification.objects.all())
    assert [n.recipient_id for n in notes] == [head.pk]
    (note,) = notes
    assert note.kind == "template.version" and note.read_at is None
    assert template.name in note.title and f"v{version.number}" in note.title
    assert "提高开门红目标" in note.body and "开门红" in note.body.split("\n")[0]
    assert note.url == reverse("metrics:template_detail", args=[template.pk])


def test_a_new_version_of_the_hr_template_does_not_tell_the_sales_head(library: World) -> None:
    with tenant_context(library.tenant, SYSTEM):
        template = Template.objects.get(code="hr_unit")  # scores the HR department, outside the sales subtree
        assert heads_of_affected_units(template) == []
        do_save_template_version(template, items=ITEMS, actor=SYSTEM)
        assert not Notification.objects.exists()


def test_the_head_who_saves_the_version_is_not_told_about_it(library: World) -> None:
    head = library.users["unit_head"]
    with tenant_context(library.tenant, SYSTEM):
        template = Template.objects.get(code="life_sales_unit")
        assert heads_of_affected_units(template) == [head]
        do_save_template_version(template, items=ITEMS, actor=Actor("user", head.pk, head.username))
        assert not Notification.objects.exists()


def test_the_head_reads_the_new_version_notice_in_the_inbox_and_opens_the_template(library: World) -> None:
    with tenant_context(library.tenant, SYSTEM):
        template = Template.objects.get(code="life_agent")
        do_save_template_version(template, items=ITEMS, actor=SYSTEM)
    client = logged_in(library, "unit_head")
    html = text(client.get("/inbox/"))
    url = reverse("metrics:template_detail", args=[template.pk])
    assert badge(html) == "1" and f'href="{url}"' in html and template.name in html
    assert client.get(url).status_code == 200  # a unit head may read templates
