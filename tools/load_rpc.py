#!/usr/bin/env python3
"""Simultaneous confirmations over JSON-RPC against a real multi-process Odoo.

Installs the add-on in a throwaway database, starts Odoo with ``--workers=2`` (prefork:
each request in its own worker process, as in production) on 127.0.0.1, creates a
customer with a credit limit and a salesperson, then for each round creates two quotations
that each fit the limit alone and exceed it together, and has two client threads confirm
them at the same moment (``/jsonrpc`` ``execute_kw`` as the salesperson). The order that
passed is then cancelled, so every round starts with the whole limit available.

Prints the confirmations attempted, confirmed, refused with the credit message, other
errors (a serialization error shown to the user counts as one), and the exposure after
each round against the limit. Exits 1 when a round let both orders pass, an exposure went
over the limit, or any other error reached a client. Drops its database at the end
(``--keep-db`` keeps it)::

    python3 tools/load_rpc.py [--rounds 50] [--limit 1000] [--db NAME] [--keep-db]
"""

import argparse
import itertools
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_common import ADDON_NAME, odoo_addons_path  # noqa: E402

ADMIN = ("admin", "admin")
SALESPERSON = ("scc.load.salesperson", "scc-load-salesperson")
CREDIT_MESSAGE = "Credit limit exceeded"
# What a refused confirmation raises: a UserError (the add-on's refusal offers the override request).
USER_ERRORS = ("odoo.exceptions.UserError", f"odoo.addons.{ADDON_NAME}.exceptions.CreditRefusal")
START_TIMEOUT = 180  # seconds for the server to answer
CALL_TIMEOUT = 120  # seconds for one RPC call (a retried confirmation waits up to ~30 s)


class RpcError(Exception):
    """An error returned by Odoo: its exception class name and message."""

    def __init__(self, name, message):
        super().__init__(f"{name}: {message}")
        self.name = name
        self.message = message


class Client:
    """A JSON-RPC client of one user (one HTTP connection per call, as a browser tab)."""

    _ids = itertools.count(1)

    def __init__(self, url, db, login, password):
        self.url, self.db, self.password = f"{url}/jsonrpc", db, password
        self.uid = self.call("common", "login", db, login, password)
        if not self.uid:
            raise RuntimeError(f"cannot log in as {login}")

    def call(self, service, method, *args):
        payload = {
            "jsonrpc": "2.0",
            "method": "call",
            "params": {"service": service, "method": method, "args": list(args)},
            "id": next(self._ids),
        }
        request = urllib.request.Request(
            self.url, json.dumps(payload).encode(), {"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=CALL_TIMEOUT) as response:
            body = json.load(response)
        if "error" in body:
            data = body["error"].get("data") or {}
            raise RpcError(data.get("name") or "error", data.get("message") or body["error"].get("message"))
        return body["result"]

    def execute(self, model, method, *args, **kwargs):
        return self.call(
            "object", "execute_kw", self.db, self.uid, self.password, model, method, list(args), kwargs
        )


# ------------------------------------------------------------
# Server
# ------------------------------------------------------------


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# Odoo's own ``odoo-bin``: in prefork mode Odoo starts its long-polling process as
# ``python <argv[0]> gevent``, which fails when argv[0] is ``odoo/__main__.py`` (``-m odoo``).
LAUNCHER = """import os
os.environ["TZ"] = "UTC"
import odoo
odoo.cli.main()
"""


def odoo_command(launcher, db, addons_path, *extra):
    return [
        sys.executable,
        launcher,
        "-d",
        db,
        f"--addons-path={addons_path}",
        "--db-filter",
        f"^{db}$",
        "--http-interface",
        "127.0.0.1",
        "--max-cron-threads=0",
        *extra,
    ]


def installed(db):
    """Whether ``db`` exists with the add-on installed (a database kept by ``--keep-db``)."""
    query = f"SELECT state FROM ir_module_module WHERE name = '{ADDON_NAME}'"
    result = subprocess.run(["psql", "-d", db, "-Atc", query], capture_output=True, text=True, check=False)
    return result.stdout.strip() == "installed"


def install(launcher, db, addons_path, log):
    print(f"installing {ADDON_NAME} in {db} (without demo data)...", flush=True)
    command = odoo_command(
        launcher,
        db,
        addons_path,
        "-i",
        ADDON_NAME,
        "--without-demo=all",
        "--stop-after-init",
        "--http-port",
        str(free_port()),
        "--log-level=warn",
    )
    if subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, check=False).returncode:
        raise RuntimeError(f"installation failed; log in {log.name}")


def start_server(launcher, db, addons_path, port, log):
    command = odoo_command(
        launcher, db, addons_path, "--workers=2", "--http-port", str(port), "--log-level=info"
    )
    server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"Odoo exited with {server.returncode}; log in {log.name}")
        try:
            urllib.request.urlopen(f"{url}/web/login", timeout=5).close()
            return server, url
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(1)
    stop_server(server)
    raise RuntimeError(f"Odoo did not answer within {START_TIMEOUT}s; log in {log.name}")


def stop_server(server):
    server.terminate()
    try:
        server.wait(30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


# ------------------------------------------------------------
# Scenario
# ------------------------------------------------------------


def set_up(admin, limit):
    """Credit control on (every rule blocks), a product, a customer with ``limit``, a
    salesperson. Returns ``(customer_id, product_id)``."""
    company_id = admin.execute("res.users", "read", [admin.uid], ["company_id"])[0]["company_id"][0]
    admin.execute(
        "res.company",
        "write",
        [company_id],
        {"credit_control_enabled": True, "credit_limit_action": "block", "credit_default_tolerance": 0.0},
    )
    product_id = admin.execute(
        "product.product",
        "create",
        {
            "name": "Load Widget",
            "type": "consu",
            "invoice_policy": "order",
            "list_price": 100.0,
            "taxes_id": [(5,)],
        },
    )
    name = f"Load Customer {time.strftime('%Y-%m-%d %H:%M:%S')}"
    customer_id = admin.execute("res.partner", "create", {"name": name, "is_company": True})
    admin.execute("res.partner", "write", [customer_id], {"credit_limit": limit})
    group_id = admin.execute("ir.model.data", "check_object_reference", "sales_team", "group_sale_salesman")[
        1
    ]
    login, password = SALESPERSON
    if not admin.execute("res.users", "search", [("login", "=", login)]):  # a kept database has one
        admin.execute(
            "res.users",
            "create",
            {
                "name": "Load Salesperson",
                "login": login,
                "password": password,
                "groups_id": [(6, 0, [group_id])],
            },
        )
    return customer_id, product_id


def create_quotations(salesperson, customer_id, product_id, amounts):
    return [
        salesperson.execute(
            "sale.order",
            "create",
            {
                "partner_id": customer_id,
                "order_line": [
                    (
                        0,
                        0,
                        {
                            "product_id": product_id,
                            "product_uom_qty": 1,
                            "price_unit": amount,
                            "tax_id": [(5,)],
                        },
                    )
                ],
            },
        )
        for amount in amounts
    ]


def confirm_together(clients, order_ids):
    """Each client confirms its order; all start together. ``{order_id: "confirmed" | RpcError}``."""
    barrier = threading.Barrier(len(order_ids))
    outcomes = {}

    def confirm(client, order_id):
        barrier.wait()
        try:
            client.execute("sale.order", "action_confirm", [order_id])
            outcomes[order_id] = "confirmed"
        except RpcError as error:
            outcomes[order_id] = error
        except Exception as error:  # noqa: BLE001 - a transport error is an error of the round
            outcomes[order_id] = RpcError(type(error).__name__, str(error))

    threads = [threading.Thread(target=confirm, args=pair) for pair in zip(clients, order_ids, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def exposure_of(admin, customer_id):
    profile = admin.execute(
        "credit.profile", "search_read", [("partner_id", "=", customer_id)], ["exposure_amount"], limit=1
    )
    return profile[0]["exposure_amount"] if profile else 0.0


def run(url, db, rounds, limit, log_path):
    admin = Client(url, db, *ADMIN)
    customer_id, product_id = set_up(admin, limit)
    clients = [Client(url, db, *SALESPERSON) for _ in range(2)]
    # Each alone within the limit, together over it: 600-900 and 540-700 for a limit of 1,000.
    pairs = [(limit * (0.60 + n % 7 * 0.05), limit * (0.70 - n % 5 * 0.04)) for n in range(rounds)]
    counts = {"attempted": 0, "confirmed": 0, "refused": 0, "errors": 0, "both passed": 0}
    max_exposure, errors = 0.0, []
    started = time.monotonic()
    for round_no, amounts in enumerate(pairs, 1):
        order_ids = create_quotations(clients[0], customer_id, product_id, amounts)
        outcomes = confirm_together(clients, order_ids)
        confirmed = [order_id for order_id, outcome in outcomes.items() if outcome == "confirmed"]
        counts["attempted"] += len(outcomes)
        counts["confirmed"] += len(confirmed)
        counts["both passed"] += len(confirmed) == 2
        for outcome in outcomes.values():
            if outcome == "confirmed":
                continue
            if outcome.name in USER_ERRORS and CREDIT_MESSAGE in outcome.message:
                counts["refused"] += 1
            else:
                counts["errors"] += 1
                errors.append(f"round {round_no}: {outcome}")
        exposure = exposure_of(admin, customer_id)
        max_exposure = max(max_exposure, exposure)
        if round_no < rounds:  # the last round's order stays: the final exposure
            admin.execute("sale.order", "action_cancel", confirmed, context={"disable_cancel_warning": True})
        print(
            f"round {round_no:3}: {amounts[0]:8,.2f} + {amounts[1]:8,.2f} -> "
            f"{len(confirmed)} confirmed, exposure {exposure:10,.2f}",
            flush=True,
        )
    elapsed = time.monotonic() - started
    final_exposure = exposure_of(admin, customer_id)
    print()
    print(f"rounds                          {rounds} ({elapsed:.1f}s, 2 workers, 2 simultaneous clients)")
    print(f"confirmations attempted         {counts['attempted']}")
    print(f"confirmed                       {counts['confirmed']}")
    print(f"refused with the credit message {counts['refused']}")
    print(f"other errors                    {counts['errors']}")
    print(f"rounds where both passed        {counts['both passed']}")
    print(f"highest exposure after a round  {max_exposure:,.2f} (limit {limit:,.2f})")
    print(f"final exposure                  {final_exposure:,.2f} (limit {limit:,.2f})")
    with open(log_path) as log:
        retried = sum("SERIALIZATION_FAILURE" in line and "try again" in line for line in log)
    print(f"retried by Odoo after a serialization failure (server log): {retried}")
    for line in errors[:10]:
        print(f"  {line}")
    ok = (
        not counts["errors"]
        and not counts["both passed"]
        and max_exposure <= limit
        and final_exposure <= limit
    )
    print("OK: no round passed the limit, no error reached a user" if ok else "FAILED")
    return ok


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=50, help="pairs of simultaneous confirmations (50)")
    parser.add_argument("--limit", type=float, default=1000.0, help="the customer's credit limit (1,000)")
    parser.add_argument(
        "--db", default=f"scc_load_{int(time.time())}_{os.getpid()}", help="database to create"
    )
    parser.add_argument("--keep-db", action="store_true", help="keep the database at the end")
    args = parser.parse_args()

    tmpdir = tempfile.mkdtemp(prefix="scc-load-")
    addons_path = odoo_addons_path(tmpdir)
    launcher = os.path.join(tmpdir, "odoo-bin")
    with open(launcher, "w") as file:
        file.write(LAUNCHER)
    log = open(os.path.join(tmpdir, "odoo.log"), "w")  # noqa: SIM115 - kept open for the subprocesses
    server = None
    ok = False
    try:
        if installed(args.db):
            print(f"{ADDON_NAME} already installed in {args.db}", flush=True)
        else:
            install(launcher, args.db, addons_path, log)
        port = free_port()
        server, url = start_server(launcher, args.db, addons_path, port, log)
        print(f"Odoo on {url}, --workers=2, database {args.db}", flush=True)
        ok = run(url, args.db, args.rounds, args.limit, log.name)
    finally:
        if server:
            stop_server(server)
        log.close()
        if args.keep_db:
            print(f"kept database {args.db}; server log {log.name}")
        else:
            subprocess.run(["dropdb", "--if-exists", args.db], check=False)
            print(f"dropped {args.db}")
            if ok:
                shutil.rmtree(tmpdir, ignore_errors=True)
            else:
                print(f"server log kept in {log.name}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
