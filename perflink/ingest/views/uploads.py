"""Uploads: streamed by `UploadToVar` into var/uploads/<tenant>/ (a directory no URL serves), stopped at
MAX_UPLOAD_BYTES, remembered in the session that uploaded them, deleted after import or UPLOAD_TTL.

Also the preview's reading of a file's header row and first rows, as they are in the file."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler, SkipFile, StopFutureHandlers
from django.http import HttpRequest
from django.utils import timezone

from perflink.ingest import files
from perflink.ingest.forms import UPLOAD_SUFFIXES, UPLOAD_TOKEN

MAX_UPLOAD_BYTES = 100 * 1024 * 1024
MULTIPART_SLACK = 64 * 1024  # form fields and multipart boundaries around the file itself
UPLOAD_TTL = timedelta(hours=24)
SESSION_UPLOADS = "ingest_uploads"
SESSION_UPLOADS_KEPT = 10
PREVIEW_ROWS = 10


def upload_dir(tenant: Any) -> Path:
    path = Path(settings.VAR_DIR) / "uploads" / tenant.slug
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


class StoredUpload(UploadedFile):
    """An uploaded file already written to its place in var/uploads (there is nothing to close)."""

    def __init__(self, token: str, path: Path, name: str, content_type: str, size: int) -> None:
        super().__init__(file=None, name=name, content_type=content_type, size=size)
        self.token = token
        self.path = path

    def close(self) -> None:
        return None


class UploadToVar(FileUploadHandler):
    """Writes the `file` field of an upload to var/uploads/<tenant>/<random name>, counting bytes, and
    drops it as soon as it passes the limit (the request body is then read to its end, not stored)."""

    def __init__(self, request: HttpRequest, directory: Path, limit: int) -> None:
        super().__init__(request)
        self.directory = directory
        self.limit = limit
        self.too_big = False
        self.file: Any = None
        self.path: Path | None = None
        self.token = ""

    def new_file(self, field_name: str, file_name: str, *args: Any, **kwargs: Any) -> None:
        super().new_file(field_name, file_name, *args, **kwargs)
        if field_name != "file" or self.path is not None:  # one file per upload
            raise SkipFile
        suffix = Path(file_name).suffix.lower()
        self.token = secrets.token_hex(16)
        self.path = self.directory / f"{self.token}{suffix if suffix in UPLOAD_SUFFIXES else '.upload'}"
        self.file = os.fdopen(os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb")
        raise StopFutureHandlers

    def receive_data_chunk(self, raw_data: bytes, start: int) -> None:
        if start + len(raw_data) > self.limit:
            self.too_big = True
            self._discard()
            raise SkipFile
        self.file.write(raw_data)

    def file_complete(self, file_size: int) -> StoredUpload | None:
        if self.file is None or self.path is None:
            return None
        self.file.close()
        return StoredUpload(self.token, self.path, self.file_name or "", self.content_type or "", file_size)

    def upload_interrupted(self) -> None:
        self._discard()

    def _discard(self) -> None:
        if self.file is not None:
            self.file.close()
        if self.path is not None:
            self.path.unlink(missing_ok=True)


@dataclass(frozen=True)
class StoredFile:
    """An upload of this session still on disk, waiting for its preview, validation or import."""

    token: str
    name: str
    size: int
    path: Path


def remember_upload(request: HttpRequest, upload: StoredUpload) -> None:
    uploads = dict(request.session.get(SESSION_UPLOADS, {}))
    uploads[upload.token] = {"name": upload.name, "size": upload.size, "suffix": upload.path.suffix}
    request.session[SESSION_UPLOADS] = dict(list(uploads.items())[-SESSION_UPLOADS_KEPT:])


def stored_upload(request: HttpRequest, token: str | None) -> StoredFile | None:
    """The upload `token` of this session, if it is still on disk."""
    if not token or not UPLOAD_TOKEN.match(token):
        return None
    info = request.session.get(SESSION_UPLOADS, {}).get(token)
    if not info:
        return None
    path = upload_dir(request.user.tenant) / f"{token}{info['suffix']}"
    if not path.is_file():
        return None
    return StoredFile(token, info["name"], info["size"], path)


def forget_upload(request: HttpRequest, stored: StoredFile) -> None:
    stored.path.unlink(missing_ok=True)
    uploads = dict(request.session.get(SESSION_UPLOADS, {}))
    uploads.pop(stored.token, None)
    request.session[SESSION_UPLOADS] = uploads


def sweep_uploads(directory: Path) -> None:
    """Delete uploads older than UPLOAD_TTL (abandoned previews)."""
    cutoff = (timezone.now() - UPLOAD_TTL).timestamp()
    for path in directory.iterdir():
        try:
            if path.is_file() and path.stat().st_mtime < cutoff:
                path.unlink()
        except FileNotFoundError:
            continue


def peek(path: Path, n: int = PREVIEW_ROWS) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """The header row and the first `n` rows for the preview (see `perflink.ingest.files.peek`)."""
    return files.peek(path, n)
