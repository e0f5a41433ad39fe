"""The committed .pot and zh_CN.po are in step with what the code asks to translate."""

from pathlib import Path

import polib

from odoo.tests import TransactionCase, tagged
from odoo.tools.translate import TranslationModuleReader

ADDON = "sale_credit_control"
I18N_DIR = Path(__file__).resolve().parent.parent / "i18n"
RERUN = "run python3 tools/update_translations.py, then translate the new terms (see its docstring)"


@tagged("post_install", "-at_install")
class TestTranslations(TransactionCase):
    """Odoo's own exporter, run on the installed add-on, finds no term that the committed .pot
    lacks or that zh_CN.po leaves untranslated."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        reader = TranslationModuleReader(cls.env.cr, [ADDON])
        # rows: (module, type, name, res_id, source, value, comments)
        cls.code_terms = {row[4] for row in reader if row[0] == ADDON}
        cls.pot_terms = {entry.msgid for entry in polib.pofile(str(I18N_DIR / f"{ADDON}.pot"))}
        cls.zh_cn = {entry.msgid: entry for entry in polib.pofile(str(I18N_DIR / "zh_CN.po"))}

    def test_exporter_finds_the_addons_terms(self):
        # Field labels, Python messages and view texts are all among the exported terms.
        for term in ("Credit Profile", "Available Credit", "Credit Control"):
            self.assertIn(term, self.code_terms)

    def test_pot_has_every_term_of_the_code(self):
        missing = sorted(self.code_terms - self.pot_terms)
        if missing:
            self.fail(f"{len(missing)} terms of the code are missing from the .pot ({RERUN}): {missing[:20]}")

    def test_zh_cn_translates_every_term_of_the_code(self):
        untranslated = sorted(
            term
            for term in self.code_terms
            if term not in self.zh_cn
            or not self.zh_cn[term].msgstr.strip()
            or "fuzzy" in self.zh_cn[term].flags
        )
        if untranslated:
            self.fail(
                f"{len(untranslated)} of {len(self.code_terms)} terms untranslated in zh_CN.po ({RERUN}): "
                f"{untranslated[:20]}"
            )
