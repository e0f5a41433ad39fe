#!/usr/bin/env python3
"""What confirming a quotation costs with this add-on, with OCA's ``sale_financial_risk``, and
with no credit add-on at all, on the same customer history; and what Odoo's own credit-limit
banner costs. One run prints the side-by-side table:

    python3 tools/benchmark.py [--sizes 0,2000,20000,200000] [--reps 15] [--rounds 3]
                               [--explain] [--db NAME] [--keep-db] [--no-oca]

Method. A base database with only ``sale_management`` and ``account`` (no demo data) gets ONE
customer with N confirmed orders (one line: qty 1, price 10, no tax), half of them invoiced,
each by its own posted, unpaid invoice linked to the order line (sale_order_line_invoice_rel),
so the invoiced half has nothing left to invoice and the other half is "to invoice". Open
documents = the uninvoiced orders + the unpaid invoices = N. Seeding is bulk SQL: one order
(and one order + its invoice) is made by the ORM, then its rows are copied with new ids,
names and invoice numbers (tools/bench_common.py), and the database gets ``VACUUM ANALYZE``.
For each N, the base is cloned (``createdb -T``) once per configuration:

* ``no credit add-on``: the clone as it is;
* ``OCA sale_financial_risk 18.0``: its wheels (and ``account_financial_risk``) downloaded with
  pip, installed into that clone only; the customer has a credit limit, a sales-order limit and
  includes open/unpaid invoices and sales orders in its risk (all far above the exposure), the
  company does not allow confirming over the risk: the check runs in full and passes;
* ``this add-on``: installed into that clone, credit control on, the customer's limit far
  above the exposure (the passing path).

Each clone is then ``VACUUM ANALYZE``d and served by its own worker process (this script with
``--worker``), so no add-on's code is loaded where it is not installed. In each round, each
worker in turn (rotating order) times ``--reps`` confirmations of a fresh one-line quotation
of that customer, as a salesman, after ``env.invalidate_all()``, each rolled back to a
savepoint (after 2 warm-up confirmations); a round reports the medians of wall-clock ms, CPU ms
of the worker process and SQL statements (``odoo.sql_db.sql_counter``); the table shows the
median of the round medians. The add-ons' columns are the OVERHEAD against the same database
without any credit add-on, i.e. what a user pays for installing it. "Odoo's native banner" is
the time (and statements) to compute ``sale.order.partner_credit_warning`` of a fresh
quotation after ``invalidate_all()`` in the no-add-on clone, with ``account_use_credit_limit``
on and the customer's ``credit_limit`` set (fewer repetitions when one takes long: a budget of
about 20 s per round).

The footer compares with the issue's targets (overhead <= 1/4 of OCA's, <= 3 extra SQL
statements, no more at 200,000 than at 2,000) and prints met / not met; nothing is asserted.
``--explain`` prints the EXPLAIN ANALYZE plans of the add-on's exposure queries per size.
The databases are dropped at the end, unless ``--keep-db`` (base and last clones kept);
``--db NAME`` names the base database (an existing one is reused, seeding goes on from it).
``--no-oca`` leaves out the OCA column (no download).
"""

import argparse
import ast
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from contextlib import closing

from bench_common import ADDON_NAME, columns, copy_rows, drop_database, odoo_addons_path, start_odoo_config

CUSTOMER_NAME = "Benchmark Customer"
PRODUCT_CODE = "SCC-BENCH"
SALESMAN_LOGIN = "scc_bench_salesman"
BILLING_LOGIN = "scc_bench_billing"  # a salesman who may also invoice: sees Odoo's credit banner
TEMPLATE_OPEN = "SCC-BENCH-TEMPLATE-OPEN"  # client_order_ref of the uninvoiced template order
TEMPLATE_INVOICED = "SCC-BENCH-TEMPLATE-INVOICED"  # ... and of the invoiced one
BASE_MODULES = ["sale_management", "account"]
OCA_MODULES = ["sale_financial_risk"]  # pulls account_financial_risk
OCA_WHEELS = ("odoo-addon-account-financial-risk>=18.0,<18.1", "odoo-addon-sale-financial-risk>=18.0,<18.1")
LIMIT = 1e12  # a limit no order of the benchmark reaches: every check runs in full and passes
WARMUP = 2
BANNER_BUDGET_S = 20.0
CONFIRM_BUDGET_S = 120.0

CONFIGS = ("plain", "oca", "addon")
TITLES = {
    "plain": "no credit add-on",
    "oca": "OCA `sale_financial_risk` 18.0",
    "addon": "this add-on",
    "banner": "Odoo's native banner",
}


def log(message):
    print(message, flush=True)


# ------------------------------------------------------------
# Seeding (base database, ORM templates copied by SQL)
# ------------------------------------------------------------


def copy_children(cr, table, parent_column, template_parent_id, new_parent_ids, overrides=None):
    """Copy the rows of ``table`` belonging to ``template_parent_id`` under each new parent
    (``p.id``); ``overrides`` may use ``t`` (template row), ``p.id`` and ``p.n`` (copy number)."""
    from odoo.tools import SQL

    overrides = dict(overrides or {})
    overrides[parent_column] = "p.id"
    cols = columns(cr, table, {"id", *overrides})
    target = SQL(", ").join(SQL.identifier(c) for c in [*cols, *overrides])
    source = SQL(", ").join([*(SQL.identifier("t", c) for c in cols), *(SQL(e) for e in overrides.values())])
    cr.execute(
        SQL(
            "INSERT INTO %s (%s) SELECT %s FROM %s t, unnest(%s::int[]) WITH ORDINALITY p(id, n)"
            " WHERE t.%s = %s ORDER BY p.n, t.id",
            SQL.identifier(table),
            target,
            source,
            SQL.identifier(table),
            list(new_parent_ids),
            SQL.identifier(parent_column),
            template_parent_id,
        )
    )


def bench_records(env):
    """The customer, product and salesman of the benchmark (made by ``Seeder``)."""
    customer = env["res.partner"].search([("name", "=", CUSTOMER_NAME)], limit=1)
    product = env["product.product"].search([("default_code", "=", PRODUCT_CODE)], limit=1)
    salesman = env["res.users"].search([("login", "=", SALESMAN_LOGIN)], limit=1)
    return customer, product, salesman


def billing_user(env):
    return env["res.users"].search([("login", "=", BILLING_LOGIN)], limit=1)


def make_quotation(env, customer, product, salesman, amount=10.0, user=None):
    from odoo import Command

    env = env(user=user.id) if user else env
    return env["sale.order"].create(
        {
            "partner_id": customer.id,
            "user_id": salesman.id,
            "order_line": [
                Command.create(
                    {
                        "product_id": product.id,
                        "product_uom_qty": 1.0,
                        "price_unit": amount,
                        "tax_id": [Command.clear()],
                    }
                )
            ],
        }
    )


class Seeder:
    """Documents of the benchmark customer in the base database (no credit add-on)."""

    def __init__(self, env):
        from odoo import Command

        self.env = env
        customer, product, salesman = bench_records(env)
        if not customer:
            customer = env["res.partner"].create({"name": CUSTOMER_NAME, "is_company": True})
        if not product:
            product = env["product.product"].create(
                {
                    "name": "Benchmark Widget",
                    "default_code": PRODUCT_CODE,
                    "type": "consu",
                    "invoice_policy": "order",
                    "list_price": 10.0,
                    "taxes_id": [Command.clear()],
                }
            )
        if not salesman:
            salesman = (
                env["res.users"]
                .with_context(no_reset_password=True)
                .create(
                    {
                        "name": "Benchmark Salesman",
                        "login": SALESMAN_LOGIN,
                        "email": "scc.bench.salesman@example.com",
                        "groups_id": [Command.set([env.ref("sales_team.group_sale_salesman").id])],
                    }
                )
            )
        # Odoo's credit banner reads the partner's credit_limit, a field of the invoicing
        # groups: a plain salesman gets an AccessError, so it is read by a salesman (all
        # documents) who may also invoice.
        groups = [
            env.ref("sales_team.group_sale_salesman_all_leads").id,
            env.ref("account.group_account_invoice").id,
        ]
        billing = billing_user(env)
        if not billing:
            env["res.users"].with_context(no_reset_password=True).create(
                {
                    "name": "Benchmark Billing Salesman",
                    "login": BILLING_LOGIN,
                    "email": "scc.bench.billing@example.com",
                    "groups_id": [Command.set(groups)],
                }
            )
        elif not set(groups) <= set(billing.groups_id.ids):
            billing.groups_id = [Command.link(group) for group in groups]
        self.customer, self.product, self.salesman = customer, product, salesman
        # Odoo's own (company-dependent) credit limit: the native banner and both add-ons read it.
        customer.with_company(env.company).credit_limit = LIMIT

    def _template(self, marker):
        order = self.env["sale.order"].search([("client_order_ref", "=", marker)], limit=1)
        if order:
            return order, False
        order = make_quotation(self.env, self.customer, self.product, self.salesman)
        order.client_order_ref = marker
        order.action_confirm()
        if marker == TEMPLATE_INVOICED:
            order._create_invoices().action_post()
        self.env.flush_all()
        return order, True

    def counts(self):
        """(uninvoiced confirmed orders, invoiced orders, unpaid posted invoices) of the customer."""
        cr = self.env.cr
        cr.execute(
            """SELECT (SELECT COUNT(*) FROM sale_order WHERE partner_id = %(p)s AND state = 'sale'
                          AND invoice_status = 'to invoice'),
                      (SELECT COUNT(*) FROM sale_order WHERE partner_id = %(p)s AND state = 'sale'
                          AND invoice_status = 'invoiced'),
                      (SELECT COUNT(*) FROM account_move
                        WHERE partner_id = %(p)s AND move_type = 'out_invoice'
                          AND state = 'posted' AND payment_state = 'not_paid')""",
            {"p": self.customer.id},
        )
        return cr.fetchone()

    def _copy_orders(self, template, count):
        from odoo.tools import SQL

        cr = self.env.cr
        cr.execute("SELECT COUNT(*) FROM sale_order WHERE partner_id = %s", [self.customer.id])
        first = cr.fetchone()[0]
        ids = copy_rows(
            cr,
            "sale_order",
            template.id,
            count,
            {
                "name": SQL("t.name || '/' || (%s + g)", first),
                "access_token": "NULL",
                "client_order_ref": "NULL",
            },
        )
        copy_children(cr, "sale_order_line", "order_id", template.id, ids)
        return ids

    def add_uninvoiced(self, count):
        """``count`` more confirmed orders with everything still to invoice."""
        if count <= 0:
            return
        template, made = self._template(TEMPLATE_OPEN)
        if count - made > 0:
            self._copy_orders(template, count - made)

    def add_invoiced(self, count):
        """``count`` more confirmed orders, each fully invoiced by its own posted, unpaid invoice
        whose product line is linked to the order line (nothing left to invoice)."""
        from odoo.tools import SQL

        if count <= 0:
            return
        template, made = self._template(TEMPLATE_INVOICED)
        count -= made
        if count <= 0:
            return
        cr = self.env.cr
        invoice = template.order_line.invoice_lines.move_id
        assert len(invoice) == 1 and invoice.state == "posted", invoice
        order_ids = self._copy_orders(template, count)
        # Numbered on from the journal's last invoice, as the ORM would number them.
        cr.execute(
            "SELECT MAX(sequence_number) FROM account_move WHERE journal_id = %s AND sequence_prefix = %s",
            [invoice.journal_id.id, invoice.sequence_prefix],
        )
        start = cr.fetchone()[0]
        # lpad() cuts longer strings: numbers past 99999 keep all their digits.
        name = SQL(
            "t.sequence_prefix || lpad((%s + g)::text, GREATEST(5, length((%s + g)::text)), '0')",
            start,
            start,
        )
        move_ids = copy_rows(
            cr,
            "account_move",
            invoice.id,
            count,
            {
                "name": name,
                "payment_reference": name,
                "sequence_number": SQL("%s + g", start),
                "access_token": "NULL",
            },
        )
        copy_children(
            cr,
            "account_move_line",
            "move_id",
            invoice.id,
            move_ids,
            {"move_name": "(SELECT m.name FROM account_move m WHERE m.id = p.id)"},
        )
        # Order n <-> invoice n: the invoice's product line invoices the order's line.
        cr.execute(
            SQL(
                """
                INSERT INTO sale_order_line_invoice_rel (invoice_line_id, order_line_id)
                SELECT aml.id, sol.id
                  FROM unnest(%s::int[], %s::int[]) z(order_id, move_id)
                  JOIN sale_order_line sol ON sol.order_id = z.order_id
                  JOIN account_move_line aml ON aml.move_id = z.move_id AND aml.display_type = 'product'
                                            AND aml.product_id = sol.product_id
                """,
                order_ids,
                move_ids,
            )
        )
        cr.execute(
            SQL(
                """
                UPDATE account_move m SET invoice_origin = o.name
                  FROM unnest(%s::int[], %s::int[]) z(order_id, move_id)
                  JOIN sale_order o ON o.id = z.order_id
                 WHERE m.id = z.move_id
                """,
                order_ids,
                move_ids,
            )
        )

    def grow(self, size):
        """Up to ``size`` confirmed orders, half of them invoiced. False if there are more."""
        uninvoiced, invoiced, _ = self.counts()
        want_invoiced = size // 2
        want_uninvoiced = size - want_invoiced
        if uninvoiced > want_uninvoiced or invoiced > want_invoiced:
            return False
        self.add_invoiced(want_invoiced - invoiced)
        self.add_uninvoiced(want_uninvoiced - uninvoiced)
        return True

    def check(self):
        """The seeded data is what the ORM would show: amounts to invoice, invoice links."""
        cr = self.env.cr
        cr.execute(
            """SELECT COALESCE(SUM(l.untaxed_amount_to_invoice)
                               FILTER (WHERE o.invoice_status = 'invoiced'), 0),
                      COUNT(*) FILTER (WHERE o.invoice_status = 'invoiced'
                                         AND NOT EXISTS (SELECT 1 FROM sale_order_line_invoice_rel r
                                                          WHERE r.order_line_id = l.id)),
                      COUNT(*) FILTER (WHERE o.invoice_status = 'to invoice'
                                         AND (l.untaxed_amount_to_invoice <= 0
                                              OR l.invoice_status <> 'to invoice'))
                 FROM sale_order o JOIN sale_order_line l ON l.order_id = o.id
                WHERE o.partner_id = %s AND o.state = 'sale'""",
            [self.customer.id],
        )
        to_invoice_on_invoiced, unlinked, inconsistent = cr.fetchone()
        assert not to_invoice_on_invoiced and not unlinked and not inconsistent, (
            to_invoice_on_invoiced,
            unlinked,
            inconsistent,
        )


def vacuum_analyze(dbname):
    """What autovacuum does to a live database after bulk writes: planner statistics and the
    visibility map that index-only scans rely on (whole database, autocommit)."""
    import odoo

    with closing(odoo.sql_db.db_connect(dbname).cursor()) as cr:
        cr._cnx.autocommit = True
        cr.execute("VACUUM ANALYZE")


def postgres_execute(statement):
    import odoo

    with closing(odoo.sql_db.db_connect("postgres").cursor()) as cr:
        cr._cnx.autocommit = True
        cr.execute(statement)


def release(dbname):
    """Close this process's connections to ``dbname`` (a template must have none)."""
    import odoo
    from odoo.modules.registry import Registry

    Registry.delete(dbname)
    odoo.sql_db.close_db(dbname)


def clone_database(template, name):
    from odoo.tools import SQL

    postgres_execute(SQL("DROP DATABASE IF EXISTS %s", SQL.identifier(name)))
    postgres_execute(SQL("CREATE DATABASE %s TEMPLATE %s", SQL.identifier(name), SQL.identifier(template)))


# ------------------------------------------------------------
# OCA's add-ons (wheels from PyPI, unpacked into a private addons folder)
# ------------------------------------------------------------


def fetch_addon_wheels(requirements, download, addons):
    """``pip download`` the wheels of ``requirements`` into ``download`` and unpack their add-ons into
    ``addons``. Returns ``None``, or why it failed."""
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", download, *requirements]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    except subprocess.TimeoutExpired:
        return "pip download timed out after 300 s"
    if done.returncode:
        lines = (done.stderr or done.stdout).strip().splitlines()
        return f"pip download failed: {lines[-1] if lines else done.returncode}"
    for wheel in os.listdir(download):
        if not wheel.endswith(".whl"):
            continue
        with zipfile.ZipFile(os.path.join(download, wheel)) as archive:
            for member in archive.namelist():
                if member.startswith("odoo/addons/") and not member.endswith("/"):
                    target = os.path.join(addons, member[len("odoo/addons/") :])
                    os.makedirs(os.path.dirname(target), exist_ok=True)
                    with archive.open(member) as src, open(target, "wb") as dst:
                        shutil.copyfileobj(src, dst)
    return None


def prepare_oca(tmpdir):
    """Download and unpack OCA's add-ons. Returns ``(addons folder, None)`` or ``(None, why)``."""
    import odoo

    download = os.path.join(tmpdir, "wheels")
    addons = os.path.join(tmpdir, "oca-addons")
    os.makedirs(download, exist_ok=True)
    os.makedirs(addons, exist_ok=True)
    odoo_dir = os.path.dirname(os.path.abspath(odoo.__file__))
    odoo_addon_dirs = [
        os.path.join(odoo_dir, "addons"),
        os.path.normpath(os.path.join(odoo_dir, "..", "addons")),
    ]

    def available(module):
        return any(os.path.isdir(os.path.join(d, module)) for d in [addons, *odoo_addon_dirs])

    why = fetch_addon_wheels(OCA_WHEELS, download, addons)
    if why:
        return None, why
    # Further OCA dependencies of their manifests, fetched the same way (a few rounds at most).
    for _ in range(5):
        missing = set()
        for module in os.listdir(addons):
            manifest = os.path.join(addons, module, "__manifest__.py")
            if os.path.isfile(manifest):
                with open(manifest) as f:
                    depends = ast.literal_eval(f.read()).get("depends", [])
                missing.update(dep for dep in depends if not available(dep))
        if not missing:
            break
        requirements = [f"odoo-addon-{dep.replace('_', '-')}>=18.0,<18.1" for dep in sorted(missing)]
        why = fetch_addon_wheels(requirements, download, addons)
        if why:
            return None, f"dependency {', '.join(sorted(missing))}: {why}"
    else:
        return None, "unresolved OCA dependencies"
    for module in OCA_MODULES:
        if not available(module):
            return None, f"{module} not found in the downloaded wheels"
    return addons, None


# ------------------------------------------------------------
# Worker: one process per configuration and clone
# ------------------------------------------------------------


class Worker:
    """This script with ``--worker``: loads (and installs into) one clone, then answers JSON
    commands on stdin, one per line, with one JSON line on stdout."""

    def __init__(self, config, dbname, addons_path, install, logdir):
        self.config = config
        self.dbname = dbname
        self.log_path = os.path.join(logdir, f"{config}.log")
        cmd = [
            sys.executable,
            os.path.abspath(__file__),
            "--worker",
            config,
            "--worker-db",
            dbname,
            "--worker-addons",
            addons_path,
        ]
        if install:
            cmd += ["--worker-install", ",".join(install)]
        self.log_file = open(self.log_path, "w")
        self.process = subprocess.Popen(
            cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log_file, text=True, bufsize=1
        )

    def tail(self, lines=8):
        self.log_file.flush()
        with open(self.log_path) as f:
            content = [line.rstrip() for line in f if line.strip()]
        return "\n".join(content[-lines:])

    def receive(self):
        line = self.process.stdout.readline()
        if not line:
            self.process.wait()
            raise RuntimeError(f"worker {self.config} exited ({self.process.returncode}):\n{self.tail()}")
        answer = json.loads(line)
        if "error" in answer:
            raise RuntimeError(f"worker {self.config}: {answer['error']}")
        return answer

    def ask(self, **command):
        self.process.stdin.write(json.dumps(command) + "\n")
        self.process.stdin.flush()
        return self.receive()

    def stop(self):
        if self.process.poll() is None:
            try:
                self.process.stdin.write(json.dumps({"cmd": "quit"}) + "\n")
                self.process.stdin.flush()
                self.process.wait(timeout=60)
            except (OSError, subprocess.TimeoutExpired):
                self.process.kill()
                self.process.wait()
        self.log_file.close()


class Bench:
    """Inside a worker: the environment of one clone and its measurements."""

    def __init__(self, env, config):
        self.env = env
        self.config = config
        self.customer, self.product, self.salesman = bench_records(env)
        self.billing = billing_user(env)
        assert self.customer and self.product and self.salesman and self.billing, (
            "no benchmark customer or users"
        )

    def configure(self):
        """Set the configuration up and say what was set (committed)."""
        env = self.env
        company = env.company
        info = {}
        if self.config == "addon":
            values = {"credit_control_enabled": True}
            if "credit_count_draft_invoices" in company._fields:
                values["credit_count_draft_invoices"] = False
            company.write(values)
            self.customer.with_company(company).credit_limit = LIMIT
            # A customer's first check creates its profile; every later one finds it. Measure
            # the steady state: the confirmations below are rolled back, the profile is not.
            env["credit.profile"]._get_or_create(self.customer, company)
            info["setup"] = "credit control on, customer limit 1e12, credit profile created"
        elif self.config == "oca":
            company.write(
                {"allow_overrisk_sale_confirmation": False, "allow_overrisk_invoice_validation": False}
            )
            self.customer.with_company(company).write(
                {
                    "credit_limit": LIMIT,
                    "risk_sale_order_limit": LIMIT,
                    "risk_sale_order_include": True,
                    "risk_invoice_open_include": True,
                    "risk_invoice_unpaid_include": True,
                    "risk_invoice_draft_include": True,
                }
            )
            info["setup"] = (
                "allow_overrisk_sale_confirmation off, credit_limit and risk_sale_order_limit 1e12, "
                "orders, draft/open/unpaid invoices included in the risk"
            )
        env.cr.commit()
        if self.config == "oca":
            partner = self.customer.commercial_partner_id
            info["risk"] = {
                "risk_sale_order": partner.risk_sale_order,
                "risk_invoice_open": partner.risk_invoice_open,
                "risk_invoice_unpaid": partner.risk_invoice_unpaid,
                "risk_total": partner.risk_total,
                "risk_exception": partner.risk_exception,
            }
            env.invalidate_all()
        return info

    def quotation(self):
        return make_quotation(self.env, self.customer, self.product, self.salesman, user=self.salesman)

    def _clean(self, savepoint):
        cr = self.env.cr
        savepoint.close(rollback=True)
        cr.postcommit.clear()
        if self.config == "addon":
            from odoo.addons.sale_credit_control.models.sale_order import CHECKED_KEY

            cr.cache.pop(CHECKED_KEY, None)
        self.env.invalidate_all()

    def confirm_once(self):
        """One confirmation of a fresh quotation as the salesman, rolled back afterwards.
        Returns ``(wall-clock ms, CPU ms of this process, SQL statements)``."""
        import odoo

        cr = self.env.cr
        savepoint = cr.savepoint()
        try:
            order = self.quotation()
            cr.flush()
            self.env.invalidate_all()  # a fresh request: nothing cached
            queries = odoo.sql_db.sql_counter
            started, cpu_started = time.perf_counter(), time.process_time()
            order.action_confirm()
            cr.flush()  # what the RPC layer does before committing (tracking included)
            elapsed = (time.perf_counter() - started) * 1000
            cpu = (time.process_time() - cpu_started) * 1000
            queries = odoo.sql_db.sql_counter - queries
            assert order.state == "sale", f"not confirmed: {order.state}"
            if self.config == "addon":
                assert order.credit_check_state == "ok", order.credit_check_state
        finally:
            self._clean(savepoint)
        return elapsed, cpu, queries

    def banner_once(self):
        """Odoo's own credit-limit banner of a fresh quotation: computing
        ``partner_credit_warning`` after ``invalidate_all()`` (the option set in the savepoint),
        as a salesman with invoicing rights (the banner reads fields of the invoicing groups)."""
        import odoo

        cr = self.env.cr
        savepoint = cr.savepoint()
        try:
            self.env.company.account_use_credit_limit = True
            order = self.quotation().with_user(self.billing)
            cr.flush()
            self.env.invalidate_all()
            queries = odoo.sql_db.sql_counter
            started, cpu_started = time.perf_counter(), time.process_time()
            warning = order.partner_credit_warning
            elapsed = (time.perf_counter() - started) * 1000
            cpu = (time.process_time() - cpu_started) * 1000
            queries = odoo.sql_db.sql_counter - queries
            assert warning == "", warning
        finally:
            self._clean(savepoint)
        return elapsed, cpu, queries

    def verify(self):
        """One confirmation where the configuration's own check is seen to run."""
        calls = []
        if self.config == "oca":
            order_class = type(self.env["sale.order"])
            original = order_class.evaluate_risk_message

            def spy(order, partner):
                message = original(order, partner)
                calls.append(message)
                return message

            order_class.evaluate_risk_message = spy
            try:
                self.confirm_once()
            finally:
                order_class.evaluate_risk_message = original
            assert calls == [""], f"OCA's risk check did not run and pass at confirmation: {calls}"
            return "OCA's evaluate_risk_message ran at confirmation and passed"
        self.confirm_once()
        if self.config == "addon":
            return "the add-on's check ran at confirmation: credit_check_state = ok"
        return "confirmation ok"

    def series(self, once, reps, budget, warmup=WARMUP, min_reps=3):
        """``reps`` timings of ``once`` after ``warmup`` untimed ones; fewer (at least
        ``min_reps``) when they take more than ``budget`` seconds in all."""
        for _ in range(warmup):
            once()
        samples = []
        started = time.perf_counter()
        while len(samples) < reps:
            samples.append(once())
            if len(samples) >= min_reps and time.perf_counter() - started > budget:
                break
        return samples

    def open_documents(self):
        cr = self.env.cr
        cr.execute(
            """SELECT (SELECT COUNT(*) FROM sale_order WHERE partner_id = %(p)s AND state = 'sale'
                          AND invoice_status = 'to invoice'),
                      (SELECT COUNT(*) FROM account_move
                        WHERE partner_id = %(p)s AND move_type = 'out_invoice'
                          AND state = 'posted' AND payment_state = 'not_paid')""",
            {"p": self.customer.id},
        )
        return cr.fetchone()

    def explain(self, runs=15):
        """EXPLAIN ANALYZE of the add-on's exposure queries for the customer: text lines."""
        import re

        from odoo.tools import SQL

        env = self.env
        profile_model = env["credit.profile"]
        captured = []
        env_class = type(env)
        original = env_class.execute_query

        def spy(self_env, query):
            captured.append(query)
            return original(self_env, query)

        today = time.strftime("%Y-%m-%d")
        partner_ids = (self.customer.id,)
        calls = {
            "_query_receivables": lambda: profile_model._query_receivables(partner_ids, env.company, today),
            "_query_uninvoiced_orders": lambda: profile_model._query_uninvoiced_orders(
                partner_ids, env.company, today, (0,)
            ),
        }
        lines = []
        env_class.execute_query = spy
        try:
            queries = {}
            for name, call in calls.items():
                captured.clear()
                call()
                queries[name] = captured[-1]
        finally:
            env_class.execute_query = original
        for name, query in queries.items():
            times = []
            for _ in range(runs):
                env.cr.execute(SQL("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) %s", query))
                plan = [line for (line,) in env.cr.fetchall()]
                times.append(float(re.search(r"Execution Time: ([\d.]+)", plan[-1]).group(1)))
            lines.append(f"  {name}: fastest {min(times):.2f} ms, median {statistics.median(times):.2f} ms")
            lines.extend(f"    {line}" for line in plan)
        return lines


def worker_main(args):
    """The ``--worker`` side: JSON lines in, JSON lines out (Odoo's output goes to stderr)."""
    channel = sys.stdout
    sys.stdout = sys.stderr

    def send(**answer):
        channel.write(json.dumps(answer) + "\n")
        channel.flush()

    try:
        import odoo
        from odoo import SUPERUSER_ID, api
        from odoo.modules.registry import Registry

        install = args.worker_install.split(",") if args.worker_install else False
        start_odoo_config(args.worker_db, args.worker_addons, install)
        started = time.perf_counter()
        registry = Registry.new(args.worker_db, update_module=bool(install))
        install_s = time.perf_counter() - started
        cr = registry.cursor()
        env = api.Environment(cr, SUPERUSER_ID, {})
        if install:
            missing = [
                m for m in install if env["ir.module.module"].search([("name", "=", m)]).state != "installed"
            ]
            assert not missing, f"not installed: {missing}"
        bench = Bench(env, args.worker)
        info = bench.configure()
        cr.commit()
        vacuum_analyze(args.worker_db)
        info["verify"] = bench.verify()
        info["open"] = bench.open_documents()
        send(ready=True, install_s=install_s if install else None, **info)
    except Exception as error:  # noqa: BLE001 - reported to the parent, which goes on
        import traceback

        traceback.print_exc()
        send(error=f"{type(error).__name__}: {error}")
        return 1
    for line in sys.stdin:
        command = json.loads(line)
        try:
            if command["cmd"] == "quit":
                break
            if command["cmd"] == "confirm":
                send(
                    samples=bench.series(
                        bench.confirm_once, command["reps"], command.get("budget", CONFIRM_BUDGET_S)
                    )
                )
            elif command["cmd"] == "banner":
                # Odoo's banner reads every uninvoiced order: seconds each at 200,000 documents.
                budget = command.get("budget", BANNER_BUDGET_S)
                send(samples=bench.series(bench.banner_once, command["reps"], budget, warmup=1, min_reps=1))
            elif command["cmd"] == "explain":
                send(lines=bench.explain())
            else:
                send(error=f"unknown command {command['cmd']}")
        except Exception as error:  # noqa: BLE001
            import traceback

            traceback.print_exc()
            cr.rollback()
            send(error=f"{type(error).__name__}: {error}")
    cr.close()
    odoo.sql_db.close_all()
    return 0


# ------------------------------------------------------------
# Orchestration and the table
# ------------------------------------------------------------


def medians(samples):
    """Median of wall ms, CPU ms and statements of one series."""
    return tuple(statistics.median(column) for column in zip(*samples, strict=True))


def combine(rounds):
    """The median of the round medians, per figure; plus the repetitions used."""
    figures = tuple(statistics.median(column) for column in zip(*(m for m, _ in rounds), strict=True))
    return figures, min(n for _, n in rounds)


def measure_size(size, workers, args):
    """Interleaved rounds over the live workers. Returns {config: ((ms, cpu, q), reps)}."""
    per_round = {name: [] for name in [*workers, "banner"]}
    order = [name for name in CONFIGS if name in workers]
    for round_no in range(args.rounds):
        shift = round_no % len(order)
        turn = order[shift:] + order[:shift]
        notes = []
        for name in turn:
            try:
                samples = workers[name].ask(cmd="confirm", reps=args.reps)["samples"]
            except RuntimeError as error:
                log(f"N={size:,}: {TITLES[name]} failed and is dropped: {error}")
                workers.pop(name).stop()
                per_round.pop(name, None)
                continue
            figures = medians(samples)
            per_round[name].append((figures, len(samples)))
            notes.append(f"{name} {figures[0]:.1f} ms/{figures[2]:.0f} q")
            if name == "plain":
                try:
                    samples = workers[name].ask(cmd="banner", reps=args.reps)["samples"]
                    figures = medians(samples)
                    per_round["banner"].append((figures, len(samples)))
                    notes.append(f"banner {figures[0]:.1f} ms ({len(samples)} reps)")
                except RuntimeError as error:
                    log(f"N={size:,}: native banner not measured: {error}")
        log(f"N={size:,} round {round_no + 1}/{args.rounds}: " + ", ".join(notes))
    return {name: combine(rounds) for name, rounds in per_round.items() if rounds}


def cell(results, name, wanted_reps, base=None):
    if name not in results:
        return "skipped"
    (ms, cpu, queries), reps = results[name]
    fewer = f" [{reps} reps]" if reps < wanted_reps else ""
    if name == "banner":
        return f"{ms:.1f} ms ({queries:.0f} q){fewer}"
    if base is None:
        return f"{ms:.1f} ms (CPU {cpu:.1f}), {queries:.0f} q{fewer}"
    (b_ms, b_cpu, b_queries), _ = base
    return f"{ms - b_ms:+.1f} ms (CPU {cpu - b_cpu:+.1f}), {queries - b_queries:+.0f} q{fewer}"


def overheads(results, name):
    if name not in results or "plain" not in results:
        return None
    (ms, cpu, queries), _ = results[name]
    (b_ms, b_cpu, b_queries), _ = results["plain"]
    return ms - b_ms, cpu - b_cpu, queries - b_queries


def print_table(table, oca_note, args, footer=True):
    log("")
    header = ["open docs", TITLES["plain"], TITLES["oca"], TITLES["addon"], TITLES["banner"]]
    log("| " + " | ".join(header) + " |")
    log("|" + "---|" * len(header))
    for size, results in table:
        plain = results.get("plain")
        row = [
            f"{size:,}",
            cell(results, "plain", args.reps),
            cell(results, "oca", args.reps, plain) if plain else "skipped",
            cell(results, "addon", args.reps, plain) if plain else "skipped",
            cell(results, "banner", args.reps),
        ]
        log("| " + " | ".join(row) + " |")
    log(
        f"Median of {args.rounds} interleaved round medians of {args.reps} confirmations each (after "
        f"{WARMUP} warm-up ones), fresh one-line quotation, as a salesman, after invalidate_all(), rolled "
        "back; CPU = CPU time of the worker process; q = SQL statements. Add-on columns: overhead against "
        "the same database without any credit add-on. Banner: computing partner_credit_warning of the "
        f"quotation (no add-on, account_use_credit_limit on; at most ~{BANNER_BUDGET_S:.0f} s per round)."
    )
    if oca_note:
        log(f"OCA column: {oca_note}")
    if not footer:
        log("")
        return
    # The targets: measured, never asserted.
    sizes = {size: results for size, results in table}
    verdicts = []
    pairs = [(s, overheads(r, "addon"), overheads(r, "oca")) for s, r in table]
    compared = [(s, a, o) for s, a, o in pairs if a and o]
    if compared:
        ok = all(a[0] <= o[0] / 4 for _, a, o in compared)
        detail = "; ".join(f"{s:,}: {a[0]:+.1f} vs OCA {o[0]:+.1f} ms" for s, a, o in compared)
        verdicts.append(f"overhead <= 1/4 of OCA's: {'met' if ok else 'not met'} ({detail})")
    else:
        verdicts.append("overhead <= 1/4 of OCA's: not evaluated (no OCA or add-on figures)")
    addon = [(s, a) for s, a, _ in pairs if a]
    if addon:
        worst = max(a[2] for _, a in addon)
        verdicts.append(
            f"<= 3 extra SQL statements: {'met' if worst <= 3 else 'not met'} (at most {worst:+.0f}: "
            + ", ".join(f"{s:,}: {a[2]:+.0f}" for s, a in addon)
            + ")"
        )
    small = overheads(sizes.get(2000, {}), "addon")
    large_size = max((s for s, a in addon if s > 2000), default=None)
    if small and large_size:
        large = overheads(sizes[large_size], "addon")
        ok = large[2] <= small[2] and large[0] <= small[0] + 0.5
        label = f"{large_size:,}" + ("" if large_size == 200000 else " (200,000 not run)")
        verdicts.append(
            f"no more at {label} than at 2,000: {'met' if ok else 'not met'} "
            f"({large[0]:+.1f} ms, {large[2]:+.0f} q vs {small[0]:+.1f} ms, {small[2]:+.0f} q; "
            "0.5 ms noise margin)"
        )
    else:
        verdicts.append("no more at 200,000 than at 2,000: not evaluated (both sizes are needed)")
    for verdict in verdicts:
        log(f"target: {verdict}")


def main():  # noqa: C901 - the benchmark's driver: one linear sequence of steps, read top to bottom
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--sizes", default="0,2000,20000,200000", help="open documents (default: %(default)s)"
    )
    parser.add_argument(
        "--reps", type=int, default=15, help="timed confirmations per round and configuration"
    )
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default: %(default)s)")
    parser.add_argument(
        "--explain", action="store_true", help="EXPLAIN ANALYZE the add-on's exposure queries"
    )
    parser.add_argument(
        "--db", help="base database (default: a new scc_bench_<time>); an existing one is reused and kept"
    )
    parser.add_argument("--keep-db", action="store_true", help="keep the base database and the last clones")
    parser.add_argument("--no-oca", action="store_true", help="leave out OCA's sale_financial_risk")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--worker-db", help=argparse.SUPPRESS)
    parser.add_argument("--worker-addons", help=argparse.SUPPRESS)
    parser.add_argument("--worker-install", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker_main(args)

    sizes = sorted({int(size) for size in args.sizes.split(",")})
    try:
        import odoo.service.db
        from odoo import SUPERUSER_ID, api
        from odoo.modules.registry import Registry
        from odoo.tools import SQL
    except ImportError:
        sys.exit("Odoo 18 is not importable by this Python: nothing to measure.")

    base = args.db or f"scc_bench_{int(time.time())}"
    clones = {name: f"{base}_{name}" for name in CONFIGS}
    tmpdir = tempfile.mkdtemp(prefix="scc-bench.")
    plain_path = odoo_addons_path()
    link_dir = os.path.join(tmpdir, "link")
    os.makedirs(link_dir)
    addon_path = odoo_addons_path(link_dir)
    create = base not in odoo.service.db.list_dbs(force=True)
    start_odoo_config(base, plain_path, BASE_MODULES if create else False)
    oca_path, oca_note = None, None
    if args.no_oca:
        oca_note = "skipped (--no-oca)"
    else:
        oca_path, why = prepare_oca(tmpdir)
        if why:
            oca_note = f"skipped: OCA's add-ons could not be downloaded ({why})"
            log(f"OCA column skipped: {why}")
        else:
            oca_path = odoo_addons_path(extra=[oca_path])
    paths = {"plain": plain_path, "addon": addon_path, "oca": oca_path}
    installs = {"plain": None, "addon": [ADDON_NAME], "oca": OCA_MODULES}
    table = []
    created = False
    workers = {}
    try:
        if create:
            started = time.perf_counter()
            odoo.service.db._create_empty_database(base)
            created = True
            Registry.new(base, update_module=True)
            log(
                f"base database {base}: {', '.join(BASE_MODULES)} installed in "
                f"{time.perf_counter() - started:.0f} s"
            )
        for size in sizes:
            registry = Registry.new(base)
            with registry.cursor() as cr:
                env = api.Environment(cr, SUPERUSER_ID, {})
                seeder = Seeder(env)
                started = time.perf_counter()
                if not seeder.grow(size):
                    log(f"N={size:,}: skipped, the base database already has more documents")
                    continue
                env.flush_all()
                seeder.check()
                uninvoiced, invoiced, unpaid = seeder.counts()
                cr.commit()
            release(base)
            vacuum_analyze(base)
            log(
                f"N={size:,}: {uninvoiced:,} orders to invoice + {invoiced:,} invoiced orders with "
                f"{unpaid:,} "
                f"unpaid invoices = {uninvoiced + unpaid:,} open documents (seeded and analyzed in "
                f"{time.perf_counter() - started:.1f} s)"
            )
            release(base)
            for name in CONFIGS:
                if not paths[name]:
                    continue
                started = time.perf_counter()
                clone_database(base, clones[name])
                worker = Worker(name, clones[name], paths[name], installs[name], tmpdir)
                try:
                    ready = worker.receive()
                except RuntimeError as error:
                    worker.stop()
                    if name == "oca":
                        oca_note = f"skipped: installing OCA's add-ons failed ({str(error).splitlines()[0]})"
                        log(f"OCA column skipped: {error}")
                        paths["oca"] = None
                        continue
                    log(f"N={size:,}: {TITLES[name]} not measured: {error}")
                    continue
                workers[name] = worker
                installed = f", installed in {ready['install_s']:.0f} s" if ready.get("install_s") else ""
                log(
                    f"N={size:,}: {TITLES[name]} ready in {time.perf_counter() - started:.0f} s{installed}; "
                    f"{ready['verify']}; open: {ready['open'][0]:,} orders + {ready['open'][1]:,} invoices"
                    + (f"; {ready['setup']}" if ready.get("setup") else "")
                )
                if ready.get("risk"):
                    log(f"  OCA risk of the customer: {ready['risk']}")
            if "plain" not in workers:
                log(f"N={size:,}: no baseline, nothing to compare")
            else:
                table.append((size, measure_size(size, workers, args)))
                if size != sizes[-1]:
                    print_table(table, oca_note, args, footer=False)  # so far, in case of a long run
            if args.explain and "addon" in workers:
                try:
                    log(f"N={size:,}: exposure queries of the add-on")
                    log("\n".join(workers["addon"].ask(cmd="explain")["lines"]))
                except RuntimeError as error:
                    log(f"  --explain failed: {error}")
            for worker in workers.values():
                worker.stop()
            workers.clear()
    finally:
        for worker in workers.values():
            worker.stop()
        if not args.keep_db:
            for name in CONFIGS:
                postgres_execute(SQL("DROP DATABASE IF EXISTS %s", SQL.identifier(clones[name])))
            if created:
                drop_database(base)
        else:
            log(f"kept databases: {base}, " + ", ".join(clones[n] for n in CONFIGS if paths[n]))
        shutil.rmtree(tmpdir, ignore_errors=True)
    print_table(table, oca_note, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
