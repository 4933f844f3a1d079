"""The Chinese translation is complete and compiled; every permission and audit action has a label."""

from __future__ import annotations

from pathlib import Path

import polib

from perflink.accounts.access import ACTIONS
from perflink.web.templatetags.perflink import ACTION_LABELS

LOCALE = Path(__file__).resolve().parent.parent / "perflink" / "locale" / "zh_Hans" / "LC_MESSAGES"


def test_every_message_is_translated_and_none_is_fuzzy() -> None:
    po = polib.pofile(str(LOCALE / "django.po"))
    untranslated = [e.msgid for e in po.untranslated_entries()]
    fuzzy = [e.msgid for e in po.fuzzy_entries()]
    assert not untranslated, f"untranslated: {untranslated[:10]}"
    assert not fuzzy, f"fuzzy: {fuzzy[:10]}"


def test_the_compiled_catalogue_matches_the_source() -> None:
    po = {
        (e.msgctxt, e.msgid): e.msgstr
        for e in polib.pofile(str(LOCALE / "django.po"))
        if not e.obsolete and e.msgstr
    }
    mo = {(e.msgctxt, e.msgid): e.msgstr for e in polib.mofile(str(LOCALE / "django.mo")) if e.msgstr}
    assert po == mo, "run `make messages` (or compilemessages) after editing django.po"


def test_every_permission_action_has_a_translated_label() -> None:
    assert set(ACTION_LABELS) == set(ACTIONS)
