#!/usr/bin/env python3
"""Refresh ``i18n/sale_credit_control.pot`` with Odoo's own exporter and merge it into the .po files.

Usage (from anywhere; needs Odoo 18 importable by python3, PostgreSQL running, polib installed)::

    python3 tools/update_translations.py                 # export .pot, merge into i18n/zh_CN.po, report
    python3 tools/update_translations.py --keep-db scc_i18n   # same, keep (and next time reuse) that DB
    python3 tools/update_translations.py --skip-export   # only merge the committed .pot into the .po
    python3 tools/update_translations.py --todo /tmp/todo.json        # write untranslated msgids to JSON
    python3 tools/update_translations.py --skip-export --apply a.json b.json  # fill msgstr from JSON

What it does:

1. installs the add-on in a throwaway database WITH demo data (Odoo's exporter exports the
   translatable fields of every record having an xml id of the module, demo records included, so
   demo-visible text gets translated too; ``--without-demo`` leaves them out), through a temporary
   addons folder holding a link named ``sale_credit_control`` to this checkout;
2. exports the module's terms with ``python3 -m odoo --i18n-export=... --modules=sale_credit_control``
   (Python ``_()``/``_lt()``/``self.env._()`` strings, field labels, help, selections, views, menus,
   data records, reports, JS/XML assets) into ``i18n/sale_credit_control.pot``;
3. merges the .pot into each ``i18n/<lang>.po`` (default ``zh_CN``): every .pot entry is kept with its
   existing translation (same msgid, or the same text re-indented: runs of white space count as
   one space; no fuzzy matching), new entries come untranslated,
   entries gone from the .pot are dropped (their count is reported);
4. ``--apply FILE.json ...``: fills translations from JSON objects ``{msgid: msgstr}`` (later files
   win); a translation whose placeholders (``%(name)s``, ``%s``, ``%%``, ``{name}``, HTML tags) differ
   from its msgid's is refused and listed;
5. reports, per language, source terms / translated / untranslated / placeholder mismatches, and
   exits 1 when something is untranslated or mismatched (``--todo`` lists what is missing).

Translating the remainder: ``--todo todo.json`` writes ``{msgid: ""}`` for each untranslated term
(with its source location under the ``"#"`` key of ``todo.meta.json``); fill the values, then
``--skip-export --apply todo.json``. Tests ``credit_policy/tests/test_translations_complete.py`` (tier 1)
and ``tests/test_translations.py`` (tier 2) fail while a term is missing or untranslated.
"""

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ADDON_NAME = "sale_credit_control"
ADDON_DIR = Path(__file__).resolve().parent.parent
I18N_DIR = ADDON_DIR / "i18n"
POT_PATH = I18N_DIR / f"{ADDON_NAME}.pot"

LANG_HEADERS = {
    "zh_CN": {"Language": "zh_CN", "Plural-Forms": "nplurals=1; plural=0;"},
}

_PLACEHOLDER_RE = re.compile(
    r"%\([A-Za-z_][A-Za-z0-9_]*\)[-#0 +]*\d*(?:\.\d+)?[sdifrxXeEgGc]"  # %(name)s
    r"|%[-#0 +]*\d*(?:\.\d+)?[sdifrxXeEgGc]"  # %s %d %.2f
    r"|%%"  # literal percent
    r"|\{[A-Za-z_0-9.]*\}"  # {name} {0} {}
    r"|</?[A-Za-z][^<>]*?/?>"  # HTML/XML tags with their attributes
    r"|&(?:[A-Za-z]+|#\d+);"  # XML entities of view terms (&gt;)
)


def placeholders(text):
    """The sorted list of placeholders and markup a translation must keep unchanged."""
    return sorted(_PLACEHOLDER_RE.findall(text or ""))


def placeholder_problem(msgid, msgstr):
    """A short description of the placeholder difference, or '' when the translation keeps them."""
    expected, found = placeholders(msgid), placeholders(msgstr)
    if expected == found:
        return ""
    missing = [p for p in expected if p not in found]
    extra = [p for p in found if p not in expected]
    return f"missing {missing} extra {extra}"


# --------------------------------------------------------------------------- Odoo export


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _odoo_addons_path(tmp_dir):
    """Temporary folder with a link named after the add-on, then Odoo's own add-ons folders."""
    import odoo  # noqa: PLC0415 - only needed for the export

    link = Path(tmp_dir) / ADDON_NAME
    link.symlink_to(ADDON_DIR)
    odoo_dir = Path(odoo.__file__).resolve().parent
    paths = [str(tmp_dir), str(odoo_dir / "addons")]
    if (odoo_dir.parent / "addons").is_dir():
        paths.append(str(odoo_dir.parent / "addons"))
    return ",".join(paths)


def _database_exists(dbname):
    probe = ["psql", "-d", dbname, "-Atc", "SELECT 1"]
    return subprocess.run(probe, capture_output=True, check=False).returncode == 0


def _run_odoo(args, what):
    started = time.time()
    cmd = [sys.executable, "-m", "odoo", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=tempfile.gettempdir())
    errors = [line for line in proc.stderr.splitlines() if " ERROR " in line or " CRITICAL " in line]
    if proc.returncode != 0 or errors:
        sys.stderr.write(proc.stderr[-6000:])
        raise SystemExit(f"{what} failed (exit {proc.returncode}): {' '.join(cmd)}")
    print(f"{what}: {time.time() - started:.0f}s")


def export_pot(dbname, keep_db, without_demo):
    """Install (or update) the add-on in ``dbname`` and export its terms to the .pot."""
    import polib  # here, not at the top: the tier 1 tests import this module without polib

    tmp_dir = tempfile.mkdtemp(prefix="scc-i18n-")
    reuse = keep_db and _database_exists(dbname)
    try:
        common = [
            "-d",
            dbname,
            f"--addons-path={_odoo_addons_path(tmp_dir)}",
            "--stop-after-init",
            "--http-interface",
            "127.0.0.1",
            f"--http-port={_free_port()}",
            "--max-cron-threads=0",
            "--log-level=warn",
        ]
        install = ["-u" if reuse else "-i", ADDON_NAME]
        if without_demo and not reuse:
            install.append("--without-demo=all")
        _run_odoo([*common, *install], f"{'update' if reuse else 'install'} {ADDON_NAME} in {dbname}")
        out = Path(tmp_dir) / f"{ADDON_NAME}.pot"
        _run_odoo([*common, f"--i18n-export={out}", f"--modules={ADDON_NAME}"], "export")
        I18N_DIR.mkdir(exist_ok=True)
        pot = polib.pofile(str(out), wrapwidth=78)
        pot.metadata.pop("POT-Creation-Date", None)
        pot.metadata.pop("PO-Revision-Date", None)
        pot.save(str(POT_PATH))
    finally:
        shutil.rmtree(tmp_dir, ignore_errors=True)
        if not keep_db:
            subprocess.run(["dropdb", "--if-exists", dbname], check=False)


# --------------------------------------------------------------------------- merge / apply / report


def _key(entry):
    return (entry.msgctxt or "", entry.msgid)


def _squash(text):
    """``text`` with its runs of white space made one space: view terms change their line breaks
    when the XML is re-indented, not their meaning."""
    return " ".join(text.split())


def merge(pot, lang):
    """Rewrite ``i18n/<lang>.po`` with the .pot's entries and the translations already made."""
    import polib

    po_path = I18N_DIR / f"{lang}.po"
    old = polib.pofile(str(po_path)) if po_path.exists() else polib.POFile()
    known = {_key(e): e for e in old if not e.obsolete and e.msgstr and "fuzzy" not in e.flags}
    reindented = {(ctx, _squash(msgid)): entry for (ctx, msgid), entry in known.items()}
    po = polib.POFile(wrapwidth=78)
    po.header = old.header or (
        f"Translation of Odoo add-on {ADDON_NAME}.\n"
        "Glossary (credit practice, see i18n/GLOSSARY.md): keep these terms consistent."
    )
    po.metadata = dict(pot.metadata)
    po.metadata.update(LANG_HEADERS.get(lang, {"Language": lang}))
    for source in pot:
        previous = known.get(_key(source)) or reindented.get((source.msgctxt or "", _squash(source.msgid)))
        po.append(
            polib.POEntry(
                msgid=source.msgid,
                msgctxt=source.msgctxt,
                msgstr=previous.msgstr if previous else "",
                occurrences=source.occurrences,
                comment=source.comment,
                tcomment=previous.tcomment if previous else "",
                flags=[f for f in source.flags if f != "fuzzy"],
            )
        )
    kept = {(e.msgctxt or "", _squash(e.msgid)) for e in pot}
    dropped = len({(ctx, _squash(msgid)) for ctx, msgid in known} - kept)
    return po, po_path, dropped


def apply_translations(po, json_paths):
    """Fill msgstr from JSON dicts; returns the refused (placeholder mismatch) msgids."""
    wanted = {}
    for path in json_paths:
        wanted.update(json.loads(Path(path).read_text(encoding="utf-8")))
    wanted_squashed = {_squash(key): value for key, value in wanted.items()}
    refused = []
    for entry in po:
        value = wanted.get(entry.msgid) or wanted_squashed.get(_squash(entry.msgid))
        if not value or not isinstance(value, str):
            continue
        if placeholder_problem(entry.msgid, value):
            refused.append(entry.msgid)
            continue
        entry.msgstr = value
    return refused


def report(po, lang, dropped):
    untranslated = [e for e in po if not e.msgstr]
    mismatched = [e for e in po if e.msgstr and placeholder_problem(e.msgid, e.msgstr)]
    print(
        f"{lang}: {len(po)} source terms, {len(po) - len(untranslated)} translated, "
        f"{len(untranslated)} untranslated, {len(mismatched)} placeholder mismatches, "
        f"{dropped} translations dropped (no longer in the .pot)"
    )
    for entry in mismatched:
        print(f"  MISMATCH {entry.msgid!r}: {placeholder_problem(entry.msgid, entry.msgstr)}")
    return untranslated, mismatched


def write_todo(untranslated, path):
    path = Path(path)
    path.write_text(
        json.dumps({e.msgid: "" for e in untranslated}, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
    )
    meta = {e.msgid: [f"{f}:{ln}" for f, ln in e.occurrences] for e in untranslated}
    meta_path = path.with_suffix(".meta.json")
    meta_path.write_text(json.dumps(meta, ensure_ascii=False, indent=1), encoding="utf-8")
    print(f"wrote {len(untranslated)} untranslated msgids to {path}")


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", help="database name (default: a new throwaway scc_i18n_<time>)")
    parser.add_argument("--keep-db", metavar="DB", help="use DB, reuse it when it exists (-u), keep it")
    parser.add_argument("--without-demo", action="store_true", help="install without demo data")
    parser.add_argument("--skip-export", action="store_true", help="merge the committed .pot only")
    parser.add_argument("--lang", action="append", help="language(s) to merge (default zh_CN)")
    parser.add_argument("--apply", nargs="+", default=[], metavar="JSON", help="fill msgstr from JSON")
    parser.add_argument("--todo", metavar="JSON", help="write the untranslated msgids to this file")
    args = parser.parse_args(argv)
    import polib

    if not args.skip_export:
        dbname = args.keep_db or args.db or f"scc_i18n_{int(time.time())}_{os.getpid()}"
        export_pot(dbname, keep_db=bool(args.keep_db), without_demo=args.without_demo)
    pot = polib.pofile(str(POT_PATH))
    status = 0
    for lang in args.lang or ["zh_CN"]:
        po, po_path, dropped = merge(pot, lang)
        refused = apply_translations(po, args.apply) if args.apply else []
        for msgid in refused:
            print(f"  REFUSED (placeholders differ) {msgid!r}")
        po.save(str(po_path))
        untranslated, mismatched = report(po, lang, dropped)
        if args.todo:
            write_todo(untranslated, args.todo)
        status = status or int(bool(untranslated or mismatched or refused))
    return status


if __name__ == "__main__":
    sys.exit(main())
