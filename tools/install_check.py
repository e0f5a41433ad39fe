"""Uninstall the add-on from a database and check nothing of it is left.

    python3 tools/install_check.py --addons-path PATH -d DB

Used by tools/test.sh after the Odoo tests, to prove the add-on uninstalls cleanly
(installation itself is done by Odoo's command line). Exits 1 on failure.
"""

import argparse
import sys

import odoo
from odoo.modules.registry import Registry
from odoo.tools import config

ADDON = "sale_credit_control"
OWN_TABLES = ("credit_profile", "credit_approval", "credit_check", "credit_limit_history", "credit_rating")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--addons-path", required=True)
    parser.add_argument("-d", "--database", required=True)
    args = parser.parse_args()

    config.parse_config(["-d", args.database, "--addons-path", args.addons_path, "--log-level=warn"])
    with Registry.new(args.database).cursor() as cr:
        env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})
        module = env["ir.module.module"].search([("name", "=", ADDON), ("state", "=", "installed")])
        if not module:
            print(f"uninstall check failed: {ADDON} is not installed in {args.database}")
            return 1
        module.button_immediate_uninstall()
    with Registry(args.database).cursor() as cr:
        env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})
        state = env["ir.module.module"].search([("name", "=", ADDON)]).state
        cr.execute("SELECT table_name FROM information_schema.tables WHERE table_name IN %s", [OWN_TABLES])
        left = [row[0] for row in cr.fetchall()]
    if state != "uninstalled" or left:
        print(f"uninstall check failed: module {state}, tables left: {left}")
        return 1
    print(f"uninstall check passed: {ADDON} uninstalled from {args.database}, no table left")
    return 0


if __name__ == "__main__":
    sys.exit(main())
