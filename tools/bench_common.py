"""Helpers shared by the benchmark and evaluation scripts: expose the add-on to Odoo,
drop a throwaway database, copy template rows in bulk, measure a process's memory."""

import os
from contextlib import closing

ADDON_NAME = "sale_credit_control"
ADDON_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def odoo_addons_path(tmpdir=None, extra=()):
    """Odoo's own add-ons, plus (with ``tmpdir``) a folder holding a link named after the
    add-on, plus the folders of ``extra``."""
    import odoo

    paths = []
    if tmpdir:
        link = os.path.join(tmpdir, ADDON_NAME)
        if not os.path.islink(link):
            os.symlink(ADDON_DIR, link)
        paths.append(tmpdir)
    paths.extend(extra)
    odoo_dir = os.path.dirname(os.path.abspath(odoo.__file__))
    paths.append(os.path.join(odoo_dir, "addons"))
    root_addons = os.path.normpath(os.path.join(odoo_dir, "..", "addons"))
    if os.path.isdir(root_addons):
        paths.append(root_addons)
    return ",".join(paths)


def drop_database(dbname):
    import odoo
    from odoo.modules.registry import Registry
    from odoo.tools import SQL

    Registry.delete(dbname)
    odoo.sql_db.close_db(dbname)
    with closing(odoo.sql_db.db_connect("postgres").cursor()) as cr:
        cr._cnx.autocommit = True
        cr.execute(SQL("DROP DATABASE IF EXISTS %s", SQL.identifier(dbname)))
    print(f"dropped {dbname}")


def columns(cr, table, without=()):
    """The columns of ``table`` in the current schema (not a same-named table of another
    schema), in their order, less ``without``."""
    cr.execute(
        "SELECT column_name FROM information_schema.columns"
        " WHERE table_schema = current_schema() AND table_name = %s ORDER BY ordinal_position",
        (table,),
    )
    return [name for (name,) in cr.fetchall() if name not in without]


def copy_rows(cr, table, template_id, count, overrides):
    """``count`` copies of row ``template_id`` of ``table``; ``overrides``: column -> SQL
    expression over the template row ``t`` and the copy number ``g`` (a trusted literal of
    the calling script, or an ``odoo.tools.SQL``). Identifiers are quoted. Returns the new
    ids, in the order of ``g``."""
    from odoo.tools import SQL

    cols = columns(cr, table, {"id", *overrides})
    target = SQL(", ").join(SQL.identifier(c) for c in [*cols, *overrides])
    source = SQL(", ").join(
        [
            *(SQL.identifier("t", c) for c in cols),
            *(e if isinstance(e, SQL) else SQL(e) for e in overrides.values()),
        ]
    )
    cr.execute(
        SQL(
            "INSERT INTO %s (%s) SELECT %s FROM %s t, generate_series(1, %s) g WHERE t.id = %s ORDER BY g"
            " RETURNING id",
            SQL.identifier(table),
            target,
            source,
            SQL.identifier(table),
            count,
            template_id,
        )
    )
    return sorted(row[0] for row in cr.fetchall())


def insert_select(cr, table, source, overrides):
    """``INSERT INTO table SELECT ...``: every column of the template row ``t`` unless overridden.

    ``source`` is the FROM clause (it must name the template row ``t``; a trusted literal of
    the calling script); ``overrides`` maps columns to SQL expressions (trusted literals too).
    """
    from odoo.tools import SQL

    kept = columns(cr, table, set(overrides))
    target = SQL(", ").join(SQL.identifier(column) for column in [*kept, *overrides])
    values = SQL(", ").join(
        [
            *(SQL.identifier("t", column) for column in kept),
            *(SQL(expression) for expression in overrides.values()),
        ]
    )
    cr.execute(
        SQL("INSERT INTO %s (%s) SELECT %s FROM %s", SQL.identifier(table), target, values, SQL(source))
    )


def copy_orders(cr, template_order_id, partner_ids, prefix, order_overrides=(), line_overrides=()):
    """One copy of sales order ``template_order_id`` (with its lines) for each of
    ``partner_ids``, named ``prefix`` + its id; ``order_overrides`` and ``line_overrides``:
    column -> SQL expression over the template row ``t`` and ``d`` (``d.partner_id``, ``d.id``
    the new order's id)."""
    from odoo.tools import SQL

    cr.execute("DROP TABLE IF EXISTS bench_order")
    cr.execute(
        SQL(
            "CREATE TEMP TABLE bench_order AS"
            " SELECT c.id AS partner_id, nextval('sale_order_id_seq') AS id FROM unnest(%s::int[]) c(id)",
            partner_ids,
        )
    )
    insert_select(
        cr,
        "sale_order",
        f"sale_order t JOIN bench_order d ON t.id = {int(template_order_id)}",
        {
            "id": "d.id",
            "name": f"'{prefix}' || d.id",
            "partner_id": "d.partner_id",
            "partner_invoice_id": "d.partner_id",
            "partner_shipping_id": "d.partner_id",
            "access_token": "NULL",
            **dict(order_overrides),
        },
    )
    insert_select(
        cr,
        "sale_order_line",
        f"sale_order_line t JOIN bench_order d ON t.order_id = {int(template_order_id)}",
        {
            "id": "nextval('sale_order_line_id_seq')",
            "order_id": "d.id",
            "order_partner_id": "d.partner_id",
            **dict(line_overrides),
        },
    )
    cr.execute("DROP TABLE bench_order")


def read_status(key):
    """A memory figure of this process from /proc/self/status, in MB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    return 0.0


def reset_peak_rss():
    """Reset VmHWM (the peak resident set) to the current resident set (Linux >= 4.0)."""
    try:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
        return True
    except OSError:
        return False


def start_odoo_config(dbname, addons_path, install):
    """Configure Odoo for a script run on ``dbname`` (no demo data, no crons, warnings only);
    with ``install`` the add-on (or, when it is a list, those modules) is installed when the
    registry loads."""
    import logging

    import odoo
    from odoo.tools import config

    args = [
        f"--addons-path={addons_path}",
        "-d",
        dbname,
        "--without-demo=all",
        "--log-level=warn",
        "--max-cron-threads=0",
    ]
    if install:
        modules = [ADDON_NAME] if install is True else list(install)
        args += ["-i", ",".join(modules)]
    config.parse_config(args)
    odoo.netsvc.init_logger()
    logging.getLogger("odoo").setLevel(logging.WARNING)
