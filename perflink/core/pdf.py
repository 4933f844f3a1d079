"""HTML to PDF with WeasyPrint for every printable document (the bonus statement, the weekly coordination report):
A4, the system's CJK fonts, nothing fetched.

WeasyPrint lays text out with Pango, a system library (Debian: ``libpango-1.0-0 libpangoft2-1.0-0``); where it
cannot be loaded, :func:`render_document` raises :class:`PdfUnavailable` (503) naming it, and the rest of the
product works on. Fonts come from fontconfig through the stylesheet's ``font-family`` stack (``Noto Sans CJK SC``
from Debian's ``fonts-noto-cjk`` first); no ``@font-face`` is loaded. Stylesheets are read from the static files,
and the URL fetcher refuses anything that is not a file under them (or a ``data:`` URL): a statement never
reaches the network, whatever its text contains.
"""

from __future__ import annotations

import logging
import re
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlparse
from urllib.request import url2pathname

from django.contrib.staticfiles import finders

from perflink.core.errors import DomainError

SYSTEM_LIBRARIES = "Pango (Debian packages libpango-1.0-0 and libpangoft2-1.0-0)"
STYLESHEET = "incentives/bonus-pdf.css"


class PdfUnavailable(DomainError):
    """PDF cannot be made on this server: WeasyPrint or a system library it needs is missing."""

    status = 503
    code = "pdf_unavailable"


def unavailable_reason() -> str | None:
    """Why PDF cannot be made here (naming the missing library), or None when it can."""
    try:
        _weasyprint()
    except PdfUnavailable as exc:
        return exc.message
    return None


@cache
def _load() -> Any:
    import weasyprint

    logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)  # a line per step of every PDF
    return weasyprint


def _weasyprint() -> Any:
    try:
        return _load()
    except OSError as exc:  # cffi could not dlopen a system library
        raise PdfUnavailable(
            f"PDF statements need the system library {SYSTEM_LIBRARIES}, which WeasyPrint could not load "
            f"({exc}). Install it on the server, e.g. apt-get install libpango-1.0-0 libpangoft2-1.0-0."
        ) from None
    except ImportError as exc:
        raise PdfUnavailable(f"PDF statements need the Python package WeasyPrint ({exc}).") from None


def static_root() -> Path:
    """The static directory that holds the statement's stylesheet (found like any static file)."""
    found = finders.find(STYLESHEET)
    if not found:
        raise PdfUnavailable(f"the stylesheet {STYLESHEET} is missing from the static files")
    return Path(found).resolve().parents[1]


def _local_fetcher(weasyprint: Any, root: Path) -> Any:
    """A URL fetcher for files under ``root`` and ``data:`` URLs only."""

    class LocalOnly(weasyprint.URLFetcher):  # type: ignore[misc, name-defined, unused-ignore]
        def fetch(self, url: str, headers: Any = None) -> Any:
            scheme = url.partition(":")[0].lower()
            if scheme == "file":
                path = Path(url2pathname(unquote(urlparse(url).path))).resolve()
                if not path.is_relative_to(root):
                    raise ValueError(f"refused {url}: only the static files are read")
            elif scheme != "data":
                raise ValueError(f"refused {url}: a statement loads nothing from the network")
            return super().fetch(url, headers)

    return LocalOnly(allowed_protocols={"file", "data"})


def render_document(html: str) -> Any:
    """The laid-out document (``.pages``, ``.write_pdf()``) of ``html``, whose relative URLs (its stylesheet)
    resolve against the static files."""
    weasyprint = _weasyprint()
    root = static_root()
    fetcher = _local_fetcher(weasyprint, root)
    return weasyprint.HTML(string=html, base_url=root.as_uri() + "/", url_fetcher=fetcher).render()


def html_to_pdf(html: str) -> bytes:
    return bytes(render_document(html).write_pdf())


def css_string(text: str) -> str:
    """``text`` as a CSS string literal: ASCII punctuation escaped (so it can close neither the string nor the
    ``<style>`` element), other characters as they are."""
    escaped = "".join(f"\\{ord(c):x} " if ord(c) < 128 and not (c.isalnum() or c == " ") else c for c in text)
    return f'"{escaped}"'


def counter_content(template: str) -> str:
    """A CSS ``content`` value from a translated "Page %(page)s of %(pages)s": literal parts as strings, the
    placeholders as the page counters (第 1 页 / 共 3 页)."""
    parts = []
    for piece in re.split(r"(%\((?:page|pages)\)s)", template):
        if piece == "%(page)s":
            parts.append("counter(page)")
        elif piece == "%(pages)s":
            parts.append("counter(pages)")
        elif piece:
            parts.append(css_string(piece))
    return " ".join(parts)


def content_disposition(filename: str, fallback: str) -> str:
    """``attachment`` with an ASCII name for old clients and the real one in RFC 5987 form
    (``filename*=UTF-8''%E5%A5%96…``)."""
    ascii_name = re.sub(r"[^A-Za-z0-9._-]+", "_", fallback)
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"
