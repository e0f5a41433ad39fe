from odoo.tools.misc import get_lang


def in_writer_language(records):
    """``records`` with a language in their context. Without one (a scheduled job, an RPC call
    that gives none), ``env._`` returns the English source while Odoo's date and number formats
    follow the company's language (``get_lang``), so a sentence would mix both: take that
    language for the words too."""
    if records.env.lang:
        return records
    return records.with_context(lang=get_lang(records.env).code)
