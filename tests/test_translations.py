"""Every string is translated into Russian, and the compiled catalogue is current."""

import gettext
import re
from pathlib import Path

import pytest

PO = Path(__file__).resolve().parent.parent / "locale" / "ru" / "LC_MESSAGES" / "django.po"


def unquote(lines: list[str]) -> str:
    return "".join(
        bytes(line.strip()[1:-1], "utf-8").decode("unicode_escape").encode("latin-1").decode()
        for line in lines
    )


def entries() -> list[dict]:
    """A small .po reader: msgid, optional msgid_plural, msgstr or msgstr[n], flags."""
    found, current, key = [], None, None
    for raw in [*PO.read_text(encoding="utf-8").splitlines(), ""]:
        line = raw.strip()
        if not line:
            if current:
                found.append(current)
            current, key = None, None
            continue
        if line.startswith("#,"):
            current = current or {"flags": set(), "parts": {}}
            current["flags"].update(flag.strip() for flag in line[2:].split(","))
            continue
        if line.startswith("#"):
            continue
        current = current or {"flags": set(), "parts": {}}
        match = re.match(r"^(msgid_plural|msgid|msgstr(?:\[\d\])?|msgctxt)\s+(\".*\")$", line)
        if match:
            key = match.group(1)
            current["parts"][key] = [match.group(2)]
        else:
            current["parts"][key].append(line)
    return [{"flags": e["flags"], **{k: unquote(v) for k, v in e["parts"].items()}} for e in found]


MESSAGES = [e for e in entries() if e.get("msgid")]


def test_the_catalogue_has_entries():
    assert len(MESSAGES) > 100


@pytest.mark.parametrize("entry", MESSAGES, ids=lambda e: e["msgid"][:40])
def test_every_string_is_translated(entry):
    assert "fuzzy" not in entry["flags"]
    translations = [v for k, v in entry.items() if k.startswith("msgstr")]
    assert translations and all(translations), entry["msgid"]


def test_the_compiled_catalogue_matches_the_source():
    with PO.with_suffix(".mo").open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    for entry in MESSAGES:
        if "msgid_plural" in entry:
            assert compiled.ngettext(entry["msgid"], entry["msgid_plural"], 1) == entry["msgstr[0]"]
        elif "msgctxt" not in entry:
            assert compiled.gettext(entry["msgid"]) == entry["msgstr"], entry["msgid"]


@pytest.mark.django_db
def test_pages_are_russian_by_default_and_english_by_choice():
    from django.test import Client

    client = Client()  # no language chosen yet
    russian = client.get("/staff/login/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert 'lang="ru"' in russian.content.decode()
    assert "Войти" in russian.content.decode() or "Вход" in russian.content.decode()

    client.post("/i18n/setlang/", {"language": "en", "next": "/staff/login/"})
    english = client.get("/staff/login/")
    assert 'lang="en"' in english.content.decode()
    assert "Staff sign-in" in english.content.decode()
