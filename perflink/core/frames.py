"""Frames stored in the database: Arrow IPC with zstd, the one format runs of every app use."""

from __future__ import annotations

import io

import polars as pl


def to_ipc(frame: pl.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.write_ipc(buffer, compression="zstd")
    return buffer.getvalue()


def from_ipc(blob: bytes | memoryview) -> pl.DataFrame:
    return pl.read_ipc(io.BytesIO(bytes(blob)))
