from odoo.tools import SQL

from .models.credit_exposure_ledger_triggers import LEDGER_FUNCTIONS
from .models.credit_profile_exposure import EXPOSURE_INDEXES


def uninstall_hook(env):
    """Drop the indexes ``credit.profile.init()`` put on other modules' tables, and the exposure
    ledger's trigger functions with their triggers."""
    for index in EXPOSURE_INDEXES:
        env.cr.execute(SQL("DROP INDEX IF EXISTS %s", SQL.identifier(index)))
    for function in LEDGER_FUNCTIONS:
        env.cr.execute(SQL("DROP FUNCTION IF EXISTS %s CASCADE", SQL.identifier(function)))
    # The decision log refuses deletions through the ORM and keeps the customers and users it
    # names (ondelete restrict): empty it before Odoo removes the add-on's demo customers and
    # users (its table is dropped with the add-on anyway).
    env.cr.execute(SQL("DELETE FROM credit_decision_log"))
