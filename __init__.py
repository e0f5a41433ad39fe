from odoo.tools import SQL

from . import models
from . import reports
from . import wizards
from .models.credit_profile import EXPOSURE_INDEXES


def uninstall_hook(env):
    """Drop the indexes ``credit.profile.init()`` put on other modules' tables."""
    for index in EXPOSURE_INDEXES:
        env.cr.execute(SQL("DROP INDEX IF EXISTS %s", SQL.identifier(index)))
