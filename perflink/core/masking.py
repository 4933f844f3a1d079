"""Masking of sensitive values for display and for the audit trail."""

from __future__ import annotations


def mask_middle(value: str | None, keep_start: int = 4, keep_end: int = 4) -> str:
    """`110101199001011234` -> `1101**********1234`; short values are masked whole."""
    if not value:
        return ""
    if len(value) <= keep_start + keep_end:
        return "*" * len(value)
    return value[:keep_start] + "*" * (len(value) - keep_start - keep_end) + value[-keep_end:]


def mask_mobile(value: str | None) -> str:
    """`13812345678` -> `138****5678`."""
    return mask_middle(value, 3, 4)


def mask_bank_account(value: str | None) -> str:
    """`6222021234567890123` -> `6222***********0123`."""
    return mask_middle(value, 4, 4)


MASKERS = {"id_number": mask_middle, "mobile": mask_mobile, "bank_account": mask_bank_account}


def mask_field(name: str, value: str | None) -> str:
    return MASKERS.get(name, mask_middle)(value)
