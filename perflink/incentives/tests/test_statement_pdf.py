"""The statement (计算说明) as PDF: A4 with the person's Chinese name in a CJK font, for the same readers as the
page, and a clear 503 where the server cannot make PDFs.

The PDF tests skip, saying why, where WeasyPrint cannot load its system library (Pango); with
PERFLINK_REQUIRE_PDF=1 (CI, once it installed the library) they fail instead.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from django.test import Client

from perflink.core import pdf
from perflink.core.context import tenant_context
from perflink.incentives.models import BonusRun
from tests.factories import World, make_bonus_runs, make_scores

PNG = Path("/tmp/statement-pdf.png")


@pytest.fixture
def weasyprint_ready() -> None:
    reason = pdf.unavailable_reason()
    if reason is None:
        return
    if os.environ.get("PERFLINK_REQUIRE_PDF") == "1":
        pytest.fail(f"PERFLINK_REQUIRE_PDF=1, but: {reason}")
    pytest.skip(reason)


@pytest.fixture
def runs(world: World) -> dict[str, BonusRun]:
    make_scores(world)
    return make_bonus_runs(world)


def login(world: World, role: str) -> Client:
    client = Client()
    with tenant_context(world.tenant):
        client.force_login(world.users[role])
    return client


def pdf_url(run: BonusRun, person_id: int) -> str:
    return f"/links/bonus/{run.pk}/people/{person_id}/pdf/"


def pdf_text(content: bytes, html: str) -> str:
    """The PDF's text: pypdf if installed, else pdftotext if present, else the boxes WeasyPrint laid out."""
    try:
        import io

        from pypdf import PdfReader  # type: ignore[import-not-found]

        return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(content)).pages)
    except ImportError:
        pass
    if shutil.which("pdftotext"):
        done = subprocess.run(["pdftotext", "-", "-"], input=content, capture_output=True, check=True)
        return done.stdout.decode("utf-8")
    return "\n".join(box_texts(pdf.render_document(html)))


def box_texts(document: Any) -> list[str]:
    texts: list[str] = []

    def walk(box: Any) -> None:
        if getattr(box, "text", None):
            texts.append(box.text)
        for child in getattr(box, "children", []) or []:
            walk(child)

    for page in document.pages:
        walk(page._page_box)
    return texts


def test_the_statement_pdf_is_an_a4_document_with_the_persons_chinese_name(
    world: World, runs: dict[str, BonusRun], weasyprint_ready: None
) -> None:
    run, staff = runs["published"], world.staff
    response = login(world, "performance_admin").get(pdf_url(run, staff.pk))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    content = response.content
    assert content.startswith(b"%PDF")
    filename = f"奖金计算说明-{staff.employee_no}-{run.period}.pdf"
    assert f"filename*=UTF-8''{quote(filename, safe='')}" in response["Content-Disposition"]
    assert response["Content-Disposition"].startswith("attachment;")
    assert "no-store" in response["Cache-Control"]

    from perflink.incentives.views.pdf import statement_html

    with tenant_context(world.tenant):
        html = statement_html(world.users["performance_admin"], run, staff)
        document = pdf.render_document(html)
    assert len(document.pages) >= 1
    width, height = document.pages[0].width, document.pages[0].height
    assert (round(width * 25.4 / 96), round(height * 25.4 / 96)) == (210, 297)  # A4 in CSS px
    text = pdf_text(content, html)
    squeezed = re.sub(r"\s+", "", text)
    assert staff.name in squeezed and "计算说明" in squeezed
    assert staff.employee_no in squeezed and run.fingerprint[:12] in squeezed
    assert "本人考核" in squeezed  # a line of the statement

    # Page 1 as a picture, to look at (a person checks that the Chinese is not tofu boxes).
    if shutil.which("pdftoppm"):
        PNG.unlink(missing_ok=True)
        subprocess.run(
            [
                "pdftoppm",
                "-png",
                "-r",
                "80",
                "-f",
                "1",
                "-l",
                "1",
                "-singlefile",
                "-",
                str(PNG.with_suffix("")),
            ],
            input=content,
            check=True,
        )
        assert PNG.stat().st_size > 10_000


def test_the_pdf_follows_the_statement_pages_rules(
    world: World, runs: dict[str, BonusRun], weasyprint_ready: None
) -> None:
    run = runs["draft"]
    assert login(world, "auditor").get(pdf_url(run, world.staff.pk)).status_code == 200
    for role in ("employee", "unit_head"):
        assert login(world, role).get(pdf_url(run, world.staff.pk)).status_code == 403
    assert login(world, "performance_admin").get(pdf_url(run, 999_999)).status_code == 404
    # Someone the run does not pay: the PDF says so, as the page does.
    not_paid = login(world, "performance_admin").get(pdf_url(run, world.agent.pk))
    assert not_paid.status_code == 200 and not_paid.content.startswith(b"%PDF")


def test_the_api_serves_the_pdf_of_someone_the_run_pays(
    world: World, runs: dict[str, BonusRun], weasyprint_ready: None
) -> None:
    run = runs["published"]
    client = login(world, "performance_admin")
    got = client.get(f"/api/v1/bonus-runs/{run.pk}/statements/{world.staff.pk}.pdf")
    assert got.status_code == 200 and got["Content-Type"] == "application/pdf"
    assert got.content.startswith(b"%PDF")
    # The JSON statement is still there beside it.
    assert client.get(f"/api/v1/bonus-runs/{run.pk}/statements/{world.staff.pk}").status_code == 200
    not_paid = client.get(f"/api/v1/bonus-runs/{run.pk}/statements/{world.agent.pk}.pdf")
    assert not_paid.status_code == 404 and not_paid.json()["code"] == "not_found"


def test_without_pango_the_pdf_answers_503_naming_the_library(
    world: World, runs: dict[str, BonusRun], monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_pango() -> Any:
        raise OSError("cannot load library 'libpango-1.0-0': libpango-1.0-0: cannot open shared object file")

    monkeypatch.setattr(pdf, "_load", no_pango)
    run = runs["published"]
    client = login(world, "performance_admin")
    page = client.get(pdf_url(run, world.staff.pk))
    assert page.status_code == 503
    assert "libpango-1.0-0" in page.content.decode() and 'id="pdf-unavailable"' in page.content.decode()
    api = client.get(f"/api/v1/bonus-runs/{run.pk}/statements/{world.staff.pk}.pdf")
    assert api.status_code == 503 and api.json()["code"] == "pdf_unavailable"
    assert "Pango" in api.json()["message"]
    assert pdf.unavailable_reason() is not None


def test_the_statement_page_offers_the_pdf(world: World, runs: dict[str, BonusRun]) -> None:
    run = runs["published"]
    body = login(world, "performance_admin").get(f"/links/bonus/{run.pk}/people/{world.staff.pk}/").content
    assert f'id="pdf-button" href="{pdf_url(run, world.staff.pk)}"' in body.decode()


def test_the_pdf_loads_nothing_but_the_static_files(weasyprint_ready: None) -> None:
    weasyprint = pdf._weasyprint()
    root = pdf.static_root()
    fetcher = pdf._local_fetcher(weasyprint, root)
    stylesheet = (root / pdf.STYLESHEET).as_uri()
    assert fetcher.fetch(stylesheet) is not None
    for url in ("http://127.0.0.1:9/x.css", "https://fonts.example.com/noto.woff2", "file:///etc/passwd"):
        with pytest.raises(ValueError, match="refused"):
            fetcher.fetch(url)
    # A statement whose text tries to load something renders without fetching it.
    html = '<link rel="stylesheet" href="incentives/bonus-pdf.css"><img src="http://127.0.0.1:9/track.png"><p>计算说明</p>'
    assert pdf.html_to_pdf(html).startswith(b"%PDF")


def test_css_strings_cannot_break_out_of_the_footer() -> None:
    assert pdf.css_string('a"b</style>') == '"a\\22 b\\3c \\2f style\\3e "'
    assert pdf.counter_content("第 %(page)s 页 / 共 %(pages)s 页") == (
        '"第 " counter(page) " 页 \\2f  共 " counter(pages) " 页"'
    )
