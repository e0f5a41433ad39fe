import re

from odoo.tests import tagged

from .common import CreditControlCommon

# What Odoo shows for a record without a display name of its own: "credit.rating,4".
TECHNICAL_NAME = re.compile(r"[a-z_]+(\.[a-z_]+)+,\s*\d+")


@tagged("post_install", "-at_install")
class TestDisplayNames(CreditControlCommon):
    """Every model of the add-on names its records for people (breadcrumbs, many2one fields,
    tracking messages): never ``credit.rating,4``."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # Something owed (in the ledger, overdue in the trend) and an order over the limit.
        cls.within = cls.create_order(cls.customer, 100.0, user=cls.salesman)
        cls.within.sudo().action_confirm()
        cls.invoice = cls.create_invoice(cls.customer, 300.0, days_ago=40)
        cls.blocked = cls.create_order(cls.customer, 5000.0, user=cls.salesman)
        cls.env.invalidate_all()

    # ------------------------------------------------------------
    # One record of every model
    # ------------------------------------------------------------

    def _records(self):
        """``{model: record}``: one record of each model of the add-on, made the way the add-on
        makes them (searched when the add-on writes them itself)."""
        env = self.env(su=True)  # the records as the add-on makes them; their names read by anyone
        customer, company = self.customer, self.company
        profile = self.profile_of(customer)
        self.assertTrue(self.try_confirm(self.blocked, self.salesman), "the order should be blocked")
        approval = (
            env["credit.approval"]
            .with_user(self.salesman)
            .create({"order_id": self.blocked.id, "request_reason": "Pays next week"})
            .sudo()
        )
        scorecard = env.ref("sale_credit_control.credit_scorecard_default")
        factor = scorecard.factor_ids[:1]
        rating = env["credit.rating.engine"].with_user(self.credit_manager)._rate_partners(customer, company)
        request = (
            env["credit.limit.request"]
            .with_user(self.salesman)
            .create({"partner_id": customer.id, "amount": 3000.0, "reason": "Season"})
            .sudo()
        )
        policy = env["credit.insurance.policy"].create(
            {
                "name": "P-2026-01",
                "insurer_id": env["res.partner"].create({"name": "Insurer", "is_company": True}).id,
                "company_id": company.id,
                "coverage_percent": 90.0,
            }
        )
        plan = env["credit.repayment.plan"].create(
            {
                "partner_id": customer.id,
                "company_id": company.id,
                "invoice_ids": [(6, 0, self.invoice.ids)],
                "instalment_ids": [(0, 0, {"date_due": self.today, "amount": 300.0})],
            }
        )
        country_risk = env["credit.country.risk"].search([("company_id", "=", company.id)], limit=1)
        if not country_risk:
            country_risk = env["credit.country.risk"].create(
                {"country_id": env.ref("base.ar").id, "risk_class": 7, "company_id": company.id}
            )
        partner_domain = [("partner_id", "=", customer.id)]
        return {
            "credit.alert": env["credit.alert"].create(
                {
                    "alert_type": "utilization",
                    "severity": "medium",
                    "partner_id": customer.id,
                    "company_id": company.id,
                }
            ),
            "credit.approval": approval,
            "credit.approval.decide": env["credit.approval.decide"].create({"approval_id": approval.id}),
            "credit.approval.request": env["credit.approval.request"].create(
                {"order_id": self.blocked.id, "reason": "Pays next week"}
            ),
            "credit.bank.reference": env["credit.bank.reference"].create(
                {"partner_id": customer.id, "bank_name": "Bank of Ningbo"}
            ),
            "credit.bureau.report": env["credit.bureau.report"].create(
                {"partner_id": customer.id, "agency": "Dun & Bradstreet", "score": 72.0}
            ),
            "credit.check": env["credit.check"].search([("order_id", "=", self.blocked.id)], limit=1),
            "credit.country.risk": country_risk,
            "credit.decision.log": env["credit.decision.log"].search(
                [("company_id", "=", company.id)], limit=1
            ),
            "credit.effectiveness.review": env["credit.effectiveness.review"].create({}),
            "credit.exposure.ledger": env["credit.exposure.ledger"].search(partner_domain, limit=1),
            "credit.exposure.order.line": env["credit.exposure.order.line"].search(partner_domain, limit=1),
            "credit.exposure.report": env["credit.exposure.report"].search(partner_domain, limit=1),
            "credit.financial.statement": env["credit.financial.statement"].create(
                {"partner_id": customer.id, "period_end": "2025-12-31", "revenue": 1e6}
            ),
            "credit.grade": scorecard.grade_ids[:1],
            "credit.group": env["credit.group"].create({"name": "Ningbo Holding"}),
            "credit.guarantee": env["credit.guarantee"].create({"partner_id": customer.id, "amount": 500.0}),
            "credit.hold": env["credit.hold"].create(
                {"profile_ids": [(6, 0, profile.ids)], "reason": "Unpaid"}
            ),
            "credit.insurance.cover": env["credit.insurance.cover"].create(
                {"policy_id": policy.id, "partner_id": customer.id, "insured_limit": 600.0}
            ),
            "credit.insurance.policy": policy,
            "credit.limit.history": env["credit.limit.history"].search(partner_domain, limit=1),
            "credit.limit.request": request,
            "credit.limit.request.reject": env["credit.limit.request.reject"].create(
                {"request_id": request.id, "reason": "Too early"}
            ),
            "credit.overdue.trend": env["credit.overdue.trend"].search(partner_domain, limit=1),
            "credit.payment.feature": env.ref("sale_credit_control.credit_payment_feature_late_share"),
            "credit.payment.model": env["credit.payment.model"].create(
                {"date_from": "2025-01-01", "date_to": "2025-12-31", "split_date": "2025-07-01"}
            ),
            "credit.payment.model.train": env["credit.payment.model.train"].create({}),
            "credit.portfolio.export": env["credit.portfolio.export"].create({}),
            "credit.profile": profile,
            "credit.rating": rating,
            "credit.rating.run": env["credit.rating.run"].create({}),
            "credit.repayment.instalment": plan.instalment_ids[:1],
            "credit.repayment.plan": plan,
            "credit.scorecard": scorecard,
            "credit.scorecard.band": factor.band_ids[:1],
            "credit.scorecard.factor": factor,
            "credit.warning.rule": env["credit.warning.rule"].create(
                {"name": "Overdue 30 days", "rule_type": "overdue_new", "company_id": company.id}
            ),
        }

    @classmethod
    def _addon_models(cls):
        """The concrete models this add-on defines (mixins and extensions of other models left out)."""
        return {
            name
            for name, model in cls.registry.items()
            if model._original_module == "sale_credit_control" and not model._abstract
        }

    # ------------------------------------------------------------
    # Tests
    # ------------------------------------------------------------

    def test_every_model_names_its_records_for_people(self):
        records = self._records()
        self.assertEqual(
            set(records),
            self._addon_models(),
            "each model of the add-on needs a record here (and a display name of its own)",
        )
        for model, record in records.items():
            with self.subTest(model=model):
                self.assertEqual(len(record), 1, f"no {model} record to name")
                record.invalidate_recordset(["display_name"])
                name = record.display_name
                self.assertTrue(name)
                self.assertNotRegex(name, TECHNICAL_NAME)
                self.assertNotIn("credit.", name)

    def test_rating_name_reads_grade_and_date(self):
        rating = self._records()["credit.rating"]
        self.assertTrue(rating.display_name.startswith(f"Rating {rating.grade_code} "))
        self.assertIn(rating.date.strftime("%m/%d/%Y"), rating.display_name)

    def test_limit_request_names_its_rating_for_people(self):
        """The rating behind a limit request shows as "Rating BB 12/02/2026", also in its chatter."""
        records = self._records()
        request, rating = records["credit.limit.request"], records["credit.rating"]
        self.assertEqual(request.rating_id, rating)
        self.assertEqual(request.rating_id.display_name, rating.display_name)
        messages = " ".join(request.message_ids.mapped("body")) + " ".join(
            request.message_ids.tracking_value_ids.mapped(
                lambda value: f"{value.old_value_char}{value.new_value_char}"
            )
        )
        self.assertNotRegex(messages, TECHNICAL_NAME)
