from datetime import timedelta

from odoo import Command, fields
from odoo.exceptions import UserError
from odoo.tests import new_test_user

from odoo.addons.account.tests.common import AccountTestInvoicingCommon

# The company policy every credit test starts from: all rules block, nothing tolerated.
CREDIT_POLICY = {
    "credit_control_enabled": True,
    "credit_limit_action": "block",
    "credit_hold_action": "block",
    "credit_overdue_action": "block",
    "credit_overdue_days": 30,
    "credit_overdue_amount": 0.0,
    "credit_expired_action": "block",
    "credit_max_order_amount": 0.0,
    "credit_max_order_action": "block",
    "credit_count_draft_invoices": False,
    "credit_default_tolerance": 0.0,
}


def band(lower=None, upper=None, points=0.0):
    """A scorecard band as a ``Command.create``: ``lower <= value < upper`` scores ``points``."""
    return Command.create(
        {
            "has_lower": lower is not None,
            "lower": lower or 0.0,
            "has_upper": upper is not None,
            "upper": upper or 0.0,
            "points": points,
        }
    )


class CreditControlCommon(AccountTestInvoicingCommon):
    """A company with a chart of accounts, credit control on, and users of each credit group.

    Amounts are tax-free (products and invoice lines without taxes) so every
    figure in a test can be checked by hand.
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # Blocked attempts are recorded through a second cursor (they must outlast the
        # refusal's rollback); Odoo's test mode makes that cursor share the test transaction.
        if cls.registry.test_cr is None:  # an HttpCase has entered it already
            cls.registry.enter_test_mode(cls.cr)
            cls.addClassCleanup(cls.registry.leave_test_mode)
        cls.company = cls.company_data["company"]
        cls.company.write(cls._credit_policy_vals())
        cls.today = fields.Date.context_today(cls.env["res.partner"])
        cls.product = cls._create_product(
            name="Credit Widget", lst_price=100.0, invoice_policy="order", taxes_id=[Command.clear()]
        )
        cls.customer = cls.env["res.partner"].create({"name": "Credit Customer", "is_company": True})
        cls.contact = cls.env["res.partner"].create(
            {"name": "Credit Customer Buyer", "parent_id": cls.customer.id, "type": "contact"}
        )
        cls.delivery_address = cls.env["res.partner"].create(
            {"name": "Credit Customer Warehouse", "parent_id": cls.customer.id, "type": "delivery"}
        )
        groups = "sales_team.group_sale_salesman"
        company_vals = {"company_id": cls.company.id, "company_ids": [Command.set(cls.company.ids)]}
        cls.salesman = new_test_user(cls.env, login="scc_salesman", groups=groups, **company_vals)
        cls.salesman_2 = new_test_user(cls.env, login="scc_salesman_2", groups=groups, **company_vals)
        cls.credit_manager = new_test_user(
            cls.env,
            login="scc_manager",
            groups=f"{groups},sale_credit_control.group_credit_manager,account.group_account_invoice",
            **company_vals,
        )
        cls.credit_manager_2 = new_test_user(
            cls.env,
            login="scc_manager_2",
            groups=f"{groups},sale_credit_control.group_credit_manager,account.group_account_invoice",
            **company_vals,
        )
        cls.auditor = new_test_user(
            cls.env,
            login="scc_auditor",
            groups="base.group_user,sale_credit_control.group_credit_auditor,account.group_account_readonly",
            **company_vals,
        )
        cls.company.credit_manager_id = cls.credit_manager
        cls.set_limit(cls.customer, 1000.0)

    @classmethod
    def _credit_policy_vals(cls):
        return dict(CREDIT_POLICY)

    # ------------------------------------------------------------
    # Helpers
    # ------------------------------------------------------------

    @classmethod
    def set_limit(cls, partner, amount, company=None):
        partner.with_company(company or cls.company).sudo().credit_limit = amount

    @classmethod
    def profile_of(cls, partner, company=None):
        return cls.env["credit.profile"]._get_or_create(partner, company or cls.company)

    @classmethod
    def create_order(cls, partner, amount, user=None, currency=None, company=None, quantity=1.0):
        """A quotation of ``quantity`` units at ``amount / quantity``, created as ``user``."""
        company = company or cls.company
        env = cls.env(user=user) if user else cls.env
        vals = {
            "partner_id": partner.id,
            "company_id": company.id,
            "order_line": [
                Command.create(
                    {
                        "product_id": cls.product.id,
                        "product_uom_qty": quantity,
                        "price_unit": amount / quantity,
                        "tax_id": [Command.clear()],
                    }
                )
            ],
        }
        if currency:
            vals["pricelist_id"] = cls._pricelist(currency, company).id
        return env["sale.order"].with_company(company).create(vals)

    @classmethod
    def _pricelist(cls, currency, company):
        return cls.env["product.pricelist"].create(
            {"name": f"Credit {currency.name}", "currency_id": currency.id, "company_id": company.id}
        )

    @classmethod
    def create_invoice(cls, partner, amount, days_ago=0, currency=None, post=True, move_type="out_invoice"):
        """An invoice (tax free) dated ``days_ago`` days back, due the same day."""
        invoice_date = cls.today - timedelta(days=days_ago)
        invoice = cls.init_invoice(
            move_type,
            partner=partner,
            invoice_date=invoice_date,
            post=False,
            amounts=[amount],
            taxes=[],
            currency=currency,
        )
        # Without payment terms Odoo makes an invoice due today whatever its date.
        invoice.invoice_payment_term_id = cls.env.ref("account.account_payment_term_immediate")
        if post:
            invoice.action_post()
        return invoice

    @classmethod
    def pay(cls, invoice, amount=None, currency=None):
        """Register a payment for ``invoice`` (all of it by default), reconciled at once."""
        vals = {"payment_date": cls.today}
        if amount is not None:
            vals["amount"] = amount
        if currency:
            vals["currency_id"] = currency.id
        wizard = (
            cls.env["account.payment.register"]
            .with_context(active_model="account.move", active_ids=invoice.ids)
            .create(vals)
        )
        return wizard._create_payments()

    @classmethod
    def create_payment_provider(cls):
        """A provider set up the way Odoo's payment tests do (payment.tests.common.PaymentCommon)."""
        method = cls.env.ref("payment.payment_method_unknown")
        provider = cls.env["payment.provider"].create(
            {
                "name": "Credit Test Provider",
                "code": "none",
                "state": "test",
                "is_published": True,
                "company_id": cls.company.id,
                "payment_method_ids": [Command.set(method.ids)],
            }
        )
        method.active = True  # once a provider supports it
        cls.provider, cls.payment_method = provider, method
        return provider

    def done_transaction(self, amount, partner, order=None, reference=None):
        """A confirmed online payment of ``amount`` by ``partner``, for ``order`` if given."""
        currency = order.currency_id if order else self.company.currency_id
        tx = (
            self.env["payment.transaction"]
            .sudo()
            .create(
                {
                    "provider_id": self.provider.id,
                    "payment_method_id": self.payment_method.id,
                    "reference": reference or f"{order.name if order else partner.name}-{amount}",
                    "amount": amount,
                    "currency_id": currency.id,
                    "partner_id": partner.id,
                    "operation": "online_direct",
                    "sale_order_ids": [Command.set(order.ids)] if order else [],
                }
            )
        )
        tx._set_done()
        self.assertEqual(tx.state, "done")
        return tx

    def confirm_as(self, order, user):
        return order.with_user(user).action_confirm()

    def try_confirm(self, order, user=None):
        """Confirm ``order`` as ``user`` (the salesman by default): ``None`` when confirmed, else the
        refusal's message. Not assertRaises: its savepoint would roll back the blocked status,
        recorded through a second cursor that shares the test transaction."""
        try:
            self.confirm_as(order, user or self.salesman)
        except UserError as error:
            return str(error)
        return None
