from odoo.tools.sql import column_exists, rename_column


def keep_recorded_text(cr, table, old_column, new_column):
    """Rename ``old_column``, where a text field stored sentences in the language of whoever wrote
    them, to ``new_column``, where that text stays as recorded now that the field is rendered from
    stored codes and figures in the reader's language. Run from ``_auto_init``, before the ORM
    would create the new column empty; does nothing once renamed or on a fresh install."""
    if column_exists(cr, table, old_column) and not column_exists(cr, table, new_column):
        rename_column(cr, table, old_column, new_column)
