"""The zh_CN translation covers every term of the committed .pot, placeholders kept.

Pure Python (no Odoo, no polib): a small .po reader below. The .pot is Odoo's own export of the
add-on (``tools/update_translations.py``); the tier 2 test ``tests/test_translations.py`` checks
that it is up to date with the code.
"""

import ast
import re
from pathlib import Path

import pytest

from tools.update_translations import placeholder_problem

ADDON_DIR = Path(__file__).resolve().parents[2]
POT = ADDON_DIR / "i18n" / "sale_credit_control.pot"
LANGS = ("zh_CN",)
RERUN = "run python3 tools/update_translations.py"

_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}


def _unquote(text):
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), "\\" + m.group(1)), text[1:-1])


def read_po(path):
    """Entries of a .po/.pot file as dicts {msgctxt, msgid, msgstr, flags}; header and obsolete
    (``#~``) entries left out."""
    entries, entry, field = [], None, None

    def close():
        if entry is not None and entry["msgid"]:
            entries.append(entry)

    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#~"):
            continue
        if line.startswith("#"):
            if entry is not None and field == "msgstr":
                close()
                entry, field = None, None
            if line.startswith("#,"):
                entry = entry or {"msgctxt": "", "msgid": "", "msgstr": "", "flags": set()}
                entry["flags"].update(flag.strip() for flag in line[2:].split(","))
            continue
        keyword, _, rest = line.partition(" ")
        if keyword in ("msgctxt", "msgid", "msgstr"):
            if keyword in ("msgctxt", "msgid") and field == "msgstr":
                close()
                entry = None
            if keyword == "msgctxt" or entry is None:
                entry = entry or {"msgctxt": "", "msgid": "", "msgstr": "", "flags": set()}
            field = keyword
            entry[field] = _unquote(rest)
        elif line.startswith('"') and field:
            entry[field] += _unquote(line)
        else:
            raise ValueError(f"{path.name}: unexpected line {raw!r}")
    close()
    return entries


def _key(entry):
    return (entry["msgctxt"], entry["msgid"])


def test_reader_reads_escapes_and_multiline_entries(tmp_path):
    po = tmp_path / "x.po"
    po.write_text(
        'msgid ""\nmsgstr ""\n"Language: zh_CN\\n"\n\n'
        '#, fuzzy\nmsgid "a"\nmsgstr "甲"\n\n'
        'msgid ""\n"two\\n"\n"lines \\"q\\""\nmsgstr ""\n"两行"\n\n'
        '#~ msgid "old"\n#~ msgstr "旧"\n',
        encoding="utf-8",
    )
    entries = read_po(po)
    assert [(e["msgid"], e["msgstr"], e["flags"]) for e in entries] == [
        ("a", "甲", {"fuzzy"}),
        ('two\nlines "q"', "两行", set()),
    ]


def test_placeholder_check_sees_names_percent_and_markup():
    assert placeholder_problem("%(a)s of %(b)s, 5%%", "%(b)s 的 %(a)s，5%%") == ""
    assert placeholder_problem("%(a)s of %(b)s", "%(a)s 的 %(c)s")
    assert placeholder_problem("above 80%%", "高于 80%")
    assert placeholder_problem("<strong>Order</strong>", "订单")
    assert placeholder_problem("%s by %s", "%s")
    assert placeholder_problem("Settings &gt; Credit Control", "设置 > 信用管理")


@pytest.mark.parametrize("lang", LANGS)
def test_every_term_is_translated_with_its_placeholders(lang):
    pot = read_po(POT)
    po = {_key(e): e for e in read_po(ADDON_DIR / "i18n" / f"{lang}.po")}
    missing, fuzzy, untranslated, mismatched = [], [], [], []
    for source in pot:
        entry = po.get(_key(source))
        if entry is None:
            missing.append(source["msgid"])
        elif "fuzzy" in entry["flags"]:
            fuzzy.append(source["msgid"])
        elif not entry["msgstr"].strip():
            untranslated.append(source["msgid"])
        elif problem := placeholder_problem(source["msgid"], entry["msgstr"]):
            mismatched.append(f"{source['msgid']!r}: {problem}")
    translated = len(pot) - len(missing) - len(fuzzy) - len(untranslated) - len(mismatched)
    print(f"{lang}: {len(pot)} source terms in the .pot, {translated} translated")
    assert not missing, f"{len(missing)} terms of the .pot missing from {lang}.po: {RERUN}"
    assert not fuzzy, f"{len(fuzzy)} fuzzy translations in {lang}.po: {fuzzy[:10]}"
    assert not untranslated, f"{len(untranslated)} untranslated terms in {lang}.po: {untranslated[:10]}"
    assert not mismatched, "placeholders or markup changed by the translation:\n" + "\n".join(mismatched)


@pytest.mark.parametrize("lang", LANGS)
def test_po_holds_only_terms_of_the_pot(lang):
    pot = {_key(e) for e in read_po(POT)}
    stale = [e["msgid"] for e in read_po(ADDON_DIR / "i18n" / f"{lang}.po") if _key(e) not in pot]
    assert not stale, f"{lang}.po has terms no longer in the .pot ({RERUN}): {stale[:10]}"


def test_report_file_names_stay_python_expressions():
    """Odoo evaluates a translated ``print_report_name``: it must remain a valid expression."""
    for lang in LANGS:
        for entry in read_po(ADDON_DIR / "i18n" / f"{lang}.po"):
            if entry["msgid"].startswith("'") and "% (object" in entry["msgid"]:
                ast.parse(entry["msgstr"], mode="eval")


def test_python_sources_are_readable_by_the_term_extractor():
    """Odoo extracts Python terms with Babel, which gives up on a whole file when a ``_()`` call
    holds something it cannot evaluate (e.g. an f-string naming a variable): all its terms would
    silently be left untranslated."""
    extract = pytest.importorskip("babel.messages.extract")
    failures = []
    for path in sorted(ADDON_DIR.rglob("*.py")):
        with path.open("rb") as source:
            try:
                list(extract.extract("python", source, keywords={"_": None, "_lt": None}))
            except Exception as error:  # noqa: BLE001 - any failure loses the file's terms
                failures.append(f"{path.relative_to(ADDON_DIR)}: {error!r}")
    assert not failures, "Babel cannot extract the terms of:\n" + "\n".join(failures)
