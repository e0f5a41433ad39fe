from ast import literal_eval

from odoo import Command
from odoo.exceptions import AccessError, UserError
from odoo.tests import new_test_user, tagged

from .test_payment_model_training import PaymentModelCommon


@tagged("post_install", "-at_install")
class TestPaymentModelUse(PaymentModelCommon):
    """An activated model scores the open invoices and the customers; the one before is kept."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.seed_payers()
        cls.good_open = cls.post_invoice(cls.good, 1200.0, -5, 25)
        cls.bad_open = cls.post_invoice(cls.bad, 1200.0, -5, 25)
        cls.newcomer = cls.new_customer("Newcomer")
        cls.newcomer_open = cls.post_invoice(cls.newcomer, 800.0, -3, 27)
        cls.profiles = {
            partner: cls.profile_of(partner) for partner in (cls.good, cls.bad, cls.mixed, cls.newcomer)
        }
        window = (cls.days(-400), cls.today, cls.days(-120))
        cls.model_1 = cls.Model._train_model(cls.company, *window)
        cls.model_2 = cls.Model._train_model(cls.company, *window, penalty=5.0)
        cls.open_invoices = cls.env["account.move"].search(
            [
                ("company_id", "=", cls.company.id),
                ("move_type", "=", "out_invoice"),
                ("state", "=", "posted"),
                ("payment_state", "in", ("not_paid", "partial")),
            ]
        )

    def test_activation_scores_open_invoices_and_customers(self):
        self.assertFalse(self.good_open.credit_late_model_id, "nothing is scored before a model is active")
        tracked_context = {"tracking_disable": False, "mail_notrack": False}
        self.env.cr.precommit.run()  # the model's creation, as in an earlier transaction
        self.model_1.with_user(self.credit_manager).with_context(**tracked_context).action_activate()
        self.env.flush_all()
        self.env.cr.precommit.run()  # tracking values are written when the transaction commits
        self.model_1.invalidate_recordset(["message_ids"])
        self.assertEqual(self.model_1.state, "active")
        self.assertEqual(self.model_1.activated_by, self.credit_manager)
        self.assertTrue(self.model_1.activated_on)
        self.assertEqual(self.Model._active_model(self.company), self.model_1)
        tracked = self.model_1.message_ids.tracking_value_ids.field_id.mapped("name")
        self.assertIn("state", tracked)
        self.assertIn("activated_by", tracked)
        # Every open invoice of the company, with the model's probability as of today.
        expected = self.model_1._predict_invoices(self.open_invoices)
        self.assertEqual(set(expected), set(self.open_invoices.ids))
        for invoice in self.open_invoices:
            with self.subTest(invoice=invoice.name):
                self.assertEqual(invoice.credit_late_model_id, self.model_1)
                self.assertAlmostEqual(invoice.credit_late_probability, expected[invoice.id])
        self.assertGreater(self.bad_open.credit_late_probability, self.good_open.credit_late_probability)
        self.assertFalse(self.good_invoices[0].credit_late_model_id, "paid invoices are not scored")
        # Every customer with a profile: a typical next invoice, as of today.
        shares = self.model_1._predict_customers([p.id for p in self.profiles], self.today)
        for partner, profile in self.profiles.items():
            with self.subTest(customer=partner.name):
                self.assertEqual(profile.predicted_late_share_date, self.today)
                if shares[partner.id] is None:
                    self.assertFalse(profile.predicted_late_share_known)
                else:
                    self.assertTrue(profile.predicted_late_share_known)
                    self.assertAlmostEqual(profile.predicted_late_share, shares[partner.id])
        self.assertIsNone(shares[self.newcomer.id], "no payment yet: nothing to predict from")
        self.assertGreater(shares[self.bad.id], shares[self.mixed.id])
        self.assertGreater(shares[self.mixed.id], shares[self.good.id])

    def test_activating_another_model_supersedes_the_first(self):
        self.model_1.with_user(self.credit_manager).action_activate()
        first_share = self.profiles[self.bad].predicted_late_share
        self.model_2.with_user(self.credit_manager).action_activate()
        self.assertEqual(self.model_1.state, "superseded")
        self.assertEqual(self.model_2.state, "active")
        self.assertEqual(self.bad_open.credit_late_model_id, self.model_2)
        profile = self.profiles[self.bad]
        self.assertNotAlmostEqual(profile.predicted_late_share, first_share, places=6)  # more penalty
        # a new model starts its own series: changing models is no jump of the customer
        self.assertAlmostEqual(profile.predicted_late_share_previous, profile.predicted_late_share)
        self.assertEqual(self.model_1.invoice_count, 0)
        self.assertEqual(self.model_2.invoice_count, len(self.open_invoices))
        with self.assertRaisesRegex(UserError, "in use"):
            self.model_2.unlink()
        self.model_1.unlink()  # a superseded model may go

    def test_posting_scores_the_invoice_with_the_active_model_only(self):
        without = self.post_invoice(self.bad, 900.0, -1, 29)
        self.assertFalse(without.credit_late_model_id)
        self.assertEqual(without.credit_late_probability, 0.0)
        self.model_1.action_activate()
        posted = self.post_invoice(self.bad, 900.0, -1, 29)
        self.assertEqual(posted.credit_late_model_id, self.model_1)
        self.assertAlmostEqual(
            posted.credit_late_probability, self.model_1._predict_invoices(posted)[posted.id]
        )
        self.assertGreater(posted.credit_late_probability, 0.0)

    def test_nightly_scoring_follows_new_payments(self):
        self.model_1.action_activate()
        before = self.profiles[self.bad].predicted_late_share
        late_one = self.bad_invoices[-2]
        self.pay_on(late_one, 0)  # paid today, long after its due date
        self.Model._cron_refresh_predictions()
        profile = self.profiles[self.bad]
        self.assertAlmostEqual(profile.predicted_late_share_previous, before)
        self.assertAlmostEqual(
            profile.predicted_late_share,
            self.model_1._predict_customers(self.bad.ids, self.today)[self.bad.id],
        )
        # The open invoice left keeps being scored; the paid one keeps its last probability.
        remaining = self.bad_invoices[-1]
        self.assertAlmostEqual(
            remaining.credit_late_probability, self.model_1._predict_invoices(remaining)[remaining.id]
        )

    def test_prediction_at_invoice_date_uses_only_the_past(self):
        at_date = self.model_1._predict_invoices_at_invoice_date(self.bad_open)
        today = self.model_1._predict_invoices(self.bad_open)
        self.assertEqual(set(at_date), {self.bad_open.id})
        self.assertTrue(0.0 < at_date[self.bad_open.id] < 1.0)
        self.assertTrue(0.0 < today[self.bad_open.id] < 1.0)
        # No model: nothing predicted, every customer unknown.
        none = self.Model.browse()
        self.assertEqual(none._predict_invoices(self.bad_open), {})
        self.assertEqual(none._predict_customers(self.bad.ids, self.today), {self.bad.id: None})

    def test_likely_late_list_and_who_reads_what(self):
        self.model_1.action_activate()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "sale_credit_control.account_move_likely_late_action"
        )
        found = (
            self.env["account.move"]
            .with_user(self.credit_manager)
            .search(literal_eval(action["domain"]), order="credit_late_probability desc")
        )
        self.assertEqual(set(found.ids), set(self.open_invoices.ids))
        self.assertEqual(
            found.mapped("credit_late_probability"),
            sorted(found.mapped("credit_late_probability"), reverse=True),
        )
        # Salespeople read the probability on invoices, not the models.
        salesman = new_test_user(
            self.env,
            login="scc_payment_model_all_docs",
            groups="sales_team.group_sale_salesman_all_leads",
            company_id=self.company.id,
            company_ids=[Command.set(self.company.ids)],
        )
        values = self.bad_open.with_user(salesman).read(["credit_late_probability"])[0]
        self.assertAlmostEqual(values["credit_late_probability"], self.bad_open.credit_late_probability)
        with self.assertRaises(AccessError):
            self.model_1.with_user(salesman).read(["validation_auc"])
        # Only credit managers activate.
        for user in (self.salesman, self.auditor):
            with self.subTest(user=user.login), self.assertRaises(AccessError):
                self.model_2.with_user(user).action_activate()
        self.assertEqual(self.model_2.state, "draft")
        # Nobody writes the model's probability over RPC, not even a billing user who may write invoices.
        billing = new_test_user(
            self.env,
            login="scc_payment_model_billing",
            groups="account.group_account_invoice",
            company_id=self.company.id,
            company_ids=[Command.set(self.company.ids)],
        )
        probability = self.bad_open.credit_late_probability
        for values in ({"credit_late_probability": 0.01}, {"credit_late_model_id": self.model_2.id}):
            with self.subTest(values=values), self.assertRaises(AccessError):
                self.bad_open.with_user(billing).write(values)
        self.assertEqual(self.bad_open.credit_late_probability, probability)
        self.assertEqual(self.bad_open.credit_late_model_id, self.model_1)
        self.bad_open.with_user(billing).write({"credit_invoice_delivery": "paper"})
        self.assertEqual(self.bad_open.credit_invoice_delivery, "paper")
