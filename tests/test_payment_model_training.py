from dateutil.relativedelta import relativedelta

from odoo import Command
from odoo.exceptions import AccessError, UserError
from odoo.tests import new_test_user, tagged

from ..credit_policy import payment_model as core
from .test_payment_behaviour import PaymentBehaviourCommon


class PaymentModelCommon(PaymentBehaviourCommon):
    """Customers whose invoices are paid on chosen days, and the features they should give."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Features = cls.env["credit.payment.features"]
        cls.Model = cls.env["credit.payment.model"].sudo()

    @classmethod
    def post_invoices(cls, partner, specs):
        """Post one tax-free invoice per ``(amount, invoice_day, due_day)`` in a single batch."""
        moves = cls.env["account.move"].create(
            [
                {
                    "move_type": "out_invoice",
                    "partner_id": partner.id,
                    "invoice_date": cls.days(invoice_day),
                    "invoice_date_due": cls.days(due_day),
                    "invoice_line_ids": [
                        Command.create({"name": "Goods", "quantity": 1, "price_unit": amount, "tax_ids": []})
                    ],
                }
                for amount, invoice_day, due_day in specs
            ]
        )
        moves.action_post()
        return moves

    @classmethod
    def seed_history(cls, name, count, first_day, days_late, step=10):
        """``count`` invoices of 1 000 (+ 10 per invoice) every ``step`` days from ``first_day``,
        due 30 days later, each paid ``days_late(i)`` days after its due date (negative: early)
        unless that day is still to come (it stays open)."""
        customer = cls.new_customer(name)
        specs = [(1000.0 + 10 * i, first_day + step * i, first_day + step * i + 30) for i in range(count)]
        invoices = cls.post_invoices(customer, specs)
        paid_days = [first_day + step * i + 30 + days_late(i) for i in range(count)]
        cls.pay_many([(invoice, day) for invoice, day in zip(invoices, paid_days, strict=True) if day <= 0])
        return customer, invoices

    @classmethod
    def pay_many(cls, invoices_and_days):
        """Pay each invoice in full on its day: the payments posted together, then each reconciled
        with its invoice (as ``pay_on`` does, faster for many invoices)."""
        payments = cls.env["account.payment"].create(
            [
                {
                    "payment_type": "inbound",
                    "partner_type": "customer",
                    "partner_id": invoice.partner_id.id,
                    "amount": invoice.amount_residual,
                    "date": cls.days(day),
                    "journal_id": cls.company_data["default_journal_bank"].id,
                }
                for invoice, day in invoices_and_days
            ]
        )
        payments.action_post()
        for (invoice, _day), payment in zip(invoices_and_days, payments, strict=True):
            lines = (invoice.line_ids | payment.move_id.line_ids).filtered(
                lambda line: line.account_id.account_type == "asset_receivable" and not line.reconciled
            )
            lines.reconcile()
        return payments

    @classmethod
    def seed_payers(cls):
        """Three customers, 36 invoices each every 10 days from day -390 (-385), due 30 days later:
        a good payer (early, now and then 4 days late), a bad one (25 days late three times in four)
        and a mixed one (12 days late every other invoice); invoices whose payment day is still
        to come stay open."""
        cls.good, cls.good_invoices = cls.seed_history(
            "Good Payer", 36, -390, lambda i: 4 if i % 5 == 0 else -3
        )
        cls.bad, cls.bad_invoices = cls.seed_history(
            "Bad Payer", 36, -390, lambda i: -2 if i % 4 == 0 else 25
        )
        cls.mixed, cls.mixed_invoices = cls.seed_history(
            "Mixed Payer", 36, -385, lambda i: 12 if i % 2 else -1
        )

    def rows_by_move(self, date_from=None, date_to=None, late_beyond_days=0, company=None):
        rows = self.Features._invoice_rows(
            company or self.company, date_from or self.days(-400), date_to or self.today, late_beyond_days
        )
        return {row["move_id"]: row for row in rows}


@tagged("post_install", "-at_install")
class TestPaymentModelFeatures(PaymentModelCommon):
    """Training rows built by the grouped queries equal the figures worked out by hand."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.customer_a = cls.new_customer("Sometimes Late")
        cls.customer_a.with_company(cls.company).invoice_sending_method = "email"
        # Two invoices of day -200 due -170: 1 000 paid 10 days late, 3 000 paid 5 days early.
        cls.inv1, cls.inv2 = cls.post_invoices(cls.customer_a, [(1000.0, -200, -170), (3000.0, -200, -170)])
        cls.pay_on(cls.inv1, -160)
        cls.pay_on(cls.inv2, -175)
        # 2 000 of day -100 due -70, paid 20 days late.
        cls.inv3 = cls.post_invoice(cls.customer_a, 2000.0, -100, -70)
        cls.pay_on(cls.inv3, -50)
        # 4 000 of day -40 due -10: open past due (late). 500 of day -5 due in 25 days: outcome unknown.
        cls.inv4 = cls.post_invoice(cls.customer_a, 4000.0, -40, -10)
        cls.inv5 = cls.post_invoice(cls.customer_a, 500.0, -5, 25)

    def test_invoice_features_as_of_their_invoice_date(self):
        rows = self.rows_by_move()
        self.assertNotIn(self.inv5.id, rows, "neither paid nor due: outcome unknown")
        self.assertEqual(set(rows), {self.inv1.id, self.inv2.id, self.inv3.id, self.inv4.id})
        # No payment before day -200: no behaviour figure (None, not 0).
        first = rows[self.inv1.id]["features"]
        self.assertIsNone(first["late_share"])
        self.assertIsNone(first["late_count_share"])
        self.assertIsNone(first["avg_days_to_pay"])
        self.assertIsNone(first["amount_ratio"])
        self.assertEqual(first["paid_count"], 0)
        self.assertEqual(first["term_days"], 30)
        self.assertEqual(first["electronic"], 1.0)  # the customer's invoices are sent by e-mail
        # Day -100: the two payments of days -160 and -175 count.
        third = rows[self.inv3.id]["features"]
        self.assertAlmostEqual(third["late_share"], 0.25)
        self.assertAlmostEqual(third["late_count_share"], 0.5)
        self.assertAlmostEqual(third["weighted_days_late"], 2.5)
        self.assertAlmostEqual(third["avg_days_to_pay"], (40 + 25) / 2)
        self.assertEqual(third["paid_count"], 2)
        self.assertAlmostEqual(third["amount_ratio"], 1.0)  # 2 000 against an average of 2 000
        self.assertIsNone(third["late_share_trend"])  # no payment in the 90 days before the last 90
        # Day -40: the invoice of day -100 (2 000, 20 days late) is paid as well.
        fourth = rows[self.inv4.id]["features"]
        self.assertAlmostEqual(fourth["late_share"], 0.5)
        self.assertAlmostEqual(fourth["late_count_share"], 2 / 3)
        self.assertAlmostEqual(fourth["weighted_days_late"], (1000 * 10 + 2000 * 20) / 6000)
        self.assertAlmostEqual(fourth["avg_days_to_pay"], (40 + 25 + 50) / 3)
        self.assertEqual(fourth["paid_count"], 3)
        self.assertAlmostEqual(fourth["amount_ratio"], 2.0)
        self.assertAlmostEqual(fourth["late_share_trend"], 1.0 - 0.25)

    def test_labels_late_and_late_beyond(self):
        rows = self.rows_by_move(late_beyond_days=15)
        expected = {
            self.inv1.id: (True, False),  # 10 days late
            self.inv2.id: (False, False),
            self.inv3.id: (True, True),  # 20 days late
            self.inv4.id: (True, None),  # open, 10 days past due: more than 15 days late not known yet
        }
        self.assertEqual(
            {move_id: (row["late"], row["late_beyond"]) for move_id, row in rows.items()}, expected
        )
        self.assertEqual(rows[self.inv3.id]["settle_date"], self.days(-50))
        self.assertIsNone(rows[self.inv4.id]["settle_date"])

    def test_features_match_the_core_and_the_rating_engine(self):
        history = [
            core.Invoice(self.days(-200), self.days(-170), 1000.0, self.days(-160)),
            core.Invoice(self.days(-200), self.days(-170), 3000.0, self.days(-175)),
            core.Invoice(self.days(-100), self.days(-70), 2000.0, self.days(-50)),
            core.Invoice(self.days(-40), self.days(-10), 4000.0),
        ]
        expected = core.build_features(history, self.days(-40), amount=4000.0, term_days=30, electronic=True)
        features = self.rows_by_move()[self.inv4.id]["features"]
        self.assertEqual(set(features), set(core.FEATURE_NAMES))
        for name in core.FEATURE_NAMES:
            with self.subTest(feature=name):
                self.assertAlmostEqual(features[name], expected[name])
        # The customer's figures as of a date are the rating engine's (payments up to and including it).
        facts = self.facts(self.customer_a, as_of=self.days(-41))["values"]
        customer = self.Features._customer_features(self.customer_a.ids, self.company, self.days(-41))
        self.assertAlmostEqual(customer[self.customer_a.id]["late_share"], facts["late_share"])
        self.assertAlmostEqual(
            customer[self.customer_a.id]["weighted_days_late"], facts["weighted_days_late"]
        )
        self.assertIsNone(customer[self.customer_a.id]["amount_ratio"])

    def test_no_leakage_from_payments_after_the_invoice_date(self):
        before = self.rows_by_move()
        # An older invoice paid on day -90: after the date of invoice 3 (-100), before that of invoice 4.
        older = self.post_invoice(self.customer_a, 1000.0, -150, -120)
        self.pay_on(older, -90)
        # A payment dated on invoice 4's own date does not count for it either (strictly before).
        same_day = self.post_invoice(self.customer_a, 1000.0, -60, -45)
        self.pay_on(same_day, -40)
        after = self.rows_by_move()
        for invoice in (self.inv1, self.inv2, self.inv3):
            with self.subTest(invoice=invoice.name):
                self.assertEqual(after[invoice.id]["features"], before[invoice.id]["features"])
        self.assertEqual(after[self.inv4.id]["features"]["paid_count"], 4)  # 3 + the one of day -90
        # late: 1 000 + 2 000 as before, and the 1 000 of day -90 (due -120), of 7 000 paid
        self.assertAlmostEqual(after[self.inv4.id]["features"]["late_share"], 4000.0 / 7000.0)
        # What the model would have said on invoice 3's date does not move either.
        self.assertEqual(
            self.Features._invoice_features(self.inv3)[self.inv3.id], before[self.inv3.id]["features"]
        )

    def test_payments_older_than_the_look_back_do_not_count(self):
        customer = self.new_customer("Long Ago")
        too_old, just_in = self.post_invoices(customer, [(1000.0, -1000, -970), (3000.0, -900, -870)])
        self.pay_on(too_old, -831)  # 731 days before day -100: out of the two-year look-back
        self.pay_on(just_in, -830)  # 730 days before: in, 40 days late
        target = self.post_invoice(customer, 500.0, -100, -70)
        features = self.Features._invoice_features(target)[target.id]
        self.assertEqual(features["paid_count"], 1)
        self.assertAlmostEqual(features["late_share"], 1.0)
        self.assertAlmostEqual(features["weighted_days_late"], 40.0)
        self.assertAlmostEqual(features["amount_ratio"], 500.0 / 3000.0)

    def test_delivery_from_the_sending_method_and_company_bound(self):
        self.assertEqual(self.inv1.credit_invoice_delivery, "electronic")
        paper = self.new_customer("Paper Post")
        paper.with_company(self.company).invoice_sending_method = "manual"
        unknown = self.new_customer("Never Said")
        paper_invoice = self.post_invoice(paper, 100.0, -40, -10)
        unknown_invoice = self.post_invoice(unknown, 100.0, -40, -10)
        self.assertEqual(paper_invoice.credit_invoice_delivery, "paper")
        self.assertFalse(unknown_invoice.credit_invoice_delivery)
        rows = self.rows_by_move()
        self.assertEqual(rows[paper_invoice.id]["features"]["electronic"], 0.0)
        self.assertIsNone(rows[unknown_invoice.id]["features"]["electronic"])
        # Set by hand, it stays as set when the invoice is posted again.
        paper_invoice.button_draft()
        paper_invoice.credit_invoice_delivery = "electronic"
        paper_invoice.action_post()
        self.assertEqual(paper_invoice.credit_invoice_delivery, "electronic")


@tagged("post_install", "-at_install")
class TestPaymentModelTraining(PaymentModelCommon):
    """A model trained from the wizard is stored with its validation on the later invoices."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.seed_payers()
        cls.window = {"date_from": cls.days(-400), "date_to": cls.today, "split_date": cls.days(-120)}

    def train(self, user=None, **values):
        wizard = self.env["credit.payment.model.train"].with_user(user or self.credit_manager)
        wizard = wizard.create({**self.window, **values})
        action = wizard.action_train()
        return self.Model.browse(action["res_id"])

    def test_wizard_trains_a_draft_model_with_its_validation(self):
        model = self.train()
        rows = self.rows_by_move(self.days(-400), self.today)
        split = self.days(-120)
        training = [r for r in rows.values() if r["invoice_date"] < split and r["due_date"] < split]
        validation = [r for r in rows.values() if r["invoice_date"] >= split]
        self.assertEqual(model.state, "draft")
        self.assertEqual(model.company_id, self.company)
        self.assertEqual(model.trained_by, self.credit_manager)
        self.assertEqual(model.training_size, len(training))
        self.assertEqual(model.late_count, sum(r["late"] for r in training))
        self.assertAlmostEqual(model.base_late_rate, model.late_count / model.training_size)
        self.assertEqual(model.validation_size, len(validation))
        self.assertEqual(model.validation_late_count, sum(r["late"] for r in validation))
        self.assertGreaterEqual(model.training_size, 50)
        self.assertGreaterEqual(model.validation_size, 20)
        # Features by default: the core's defaults, in the catalogue's order.
        self.assertEqual(set(model.feature_ids.mapped("code")), set(core.DEFAULT_FEATURES))
        fitted = core.PaymentModel.from_dict(model.model_data)
        self.assertEqual(set(fitted.features), set(core.DEFAULT_FEATURES))
        # The stored validation is the core's on the later invoices.
        expected = core.validate_model(
            fitted, [r["features"] for r in validation], [r["late"] for r in validation]
        )
        self.assertAlmostEqual(model.validation_auc, expected.auc)
        self.assertAlmostEqual(model.validation_brier, expected.brier)
        self.assertGreater(model.validation_auc, 0.7)  # late payers are told apart from good ones
        self.assertEqual(sum(line["count"] for line in model.calibration), model.validation_size)
        self.assertIn("<table", model.calibration_html)
        self.assertIn("Observed", model.calibration_html)
        self.assertIn("Late share (by amount)", model.coefficient_html)
        self.assertRegex(model.display_name, r"^Late-payment model ")

    def test_chosen_features_late_beyond_and_penalty_are_kept(self):
        features = self.env.ref("sale_credit_control.credit_payment_feature_late_share") | self.env.ref(
            "sale_credit_control.credit_payment_feature_term_days"
        )
        model = self.train(feature_ids=[Command.set(features.ids)], penalty=0.5, late_beyond_days=10)
        self.assertEqual(model.feature_ids, features)
        self.assertEqual(model.model_data["features"], ["late_share", "term_days"])
        self.assertEqual(model.model_data["penalty"], 0.5)
        self.assertEqual(model.late_beyond_days, 10)
        # More than 10 days late: the good payer's 4-day delays no longer count.
        self.assertLess(model.late_count, self.train().late_count)

    def test_bad_input_is_refused_with_figures(self):
        with self.assertRaisesRegex(UserError, "split date"):
            self.train(split_date=self.days(-500))
        with self.assertRaisesRegex(UserError, "nothing to learn from"):
            self.train(date_from=self.days(-900), date_to=self.days(-800), split_date=self.days(-850))
        with self.assertRaisesRegex(UserError, r"Only \d+ invoices dated and due before .* at least 50"):
            self.train(split_date=self.days(-300))
        with self.assertRaisesRegex(UserError, r"Only \d+ invoices dated from .* at least 20"):
            self.train(split_date=self.days(-30))
        rows = [{"late": False}] * 60
        with self.assertRaisesRegex(UserError, "All 60 training invoices were paid on time"):
            self.Model._check_rows(rows, rows[:20], "late", self.today)
        with self.assertRaisesRegex(UserError, "All 20 validation invoices were paid late"):
            self.Model._check_rows(
                rows[:30] + [{"late": True}] * 30, [{"late": True}] * 20, "late", self.today
            )
        with self.assertRaisesRegex(UserError, "at least one feature"):
            self.train(feature_ids=[Command.clear()])

    def test_only_credit_managers_train_in_their_companies(self):
        with self.assertRaises(AccessError):
            self.train(user=self.salesman)
        with self.assertRaises(AccessError):
            self.train(user=self.auditor)
        other = self.setup_other_company(name="Payment Model Co C")["company"]
        with self.assertRaises(AccessError):
            self.Model.with_user(self.credit_manager)._train_model(
                other, self.days(-400), self.today, self.days(-120)
            )

    def test_monthly_cron_trains_a_draft_and_asks_the_manager_to_review(self):
        before = self.Model.search([])
        self.Model._cron_retrain()
        new = self.Model.search([]) - before
        self.assertEqual(len(new), 1)
        self.assertEqual(new.state, "draft")
        self.assertEqual(new.company_id, self.company)
        self.assertEqual(new.activity_ids.user_id, self.credit_manager)
        self.assertFalse(self.Model._active_model(self.company), "the cron never activates")

    def test_wizard_defaults(self):
        wizard = self.env["credit.payment.model.train"].with_user(self.credit_manager).create({})
        self.assertEqual(wizard.date_to, self.today)
        self.assertEqual(wizard.date_from, self.today - relativedelta(months=24))
        self.assertEqual(wizard.split_date, self.today - relativedelta(months=6))
        self.assertEqual(wizard.late_beyond_days, 0)
        self.assertEqual(wizard.penalty, 1.0)
        self.assertEqual(set(wizard.feature_ids.mapped("code")), set(core.DEFAULT_FEATURES))


@tagged("post_install", "-at_install")
class TestPaymentModelAccess(PaymentModelCommon):
    """Who reads and changes the models, per group and company."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company_b = cls.setup_other_company(name="Payment Model Co D")["company"]
        cls.model_a = cls.Model.create(
            {
                "company_id": cls.company.id,
                "date_from": cls.days(-400),
                "date_to": cls.today,
                "split_date": cls.days(-100),
            }
        )
        cls.model_b = cls.Model.create(
            {
                "company_id": cls.company_b.id,
                "date_from": cls.days(-400),
                "date_to": cls.today,
                "split_date": cls.days(-100),
            }
        )
        cls.manager_b = new_test_user(
            cls.env,
            login="scc_payment_model_manager_b",
            groups="base.group_user,sale_credit_control.group_credit_manager",
            company_id=cls.company_b.id,
            company_ids=[Command.set(cls.company_b.ids)],
        )

    def test_access_per_group(self):
        for user in (self.credit_manager, self.auditor):
            with self.subTest(user=user.login):
                self.assertEqual(self.Model.with_user(user).search([]), self.model_a)
        with self.assertRaises(AccessError):
            self.Model.with_user(self.salesman).search([])
        with self.assertRaises(AccessError):
            self.model_a.with_user(self.auditor).write({"name": "Mine"})
        self.model_a.with_user(self.credit_manager).write({"name": "Spring terms"})
        self.assertIn("Spring terms", self.model_a.display_name)

    def test_training_rows_stay_in_their_company(self):
        invoice = self.post_invoice(self.new_customer("Company A Only"), 100.0, -40, -10)
        self.assertIn(invoice.id, self.rows_by_move())
        self.assertFalse(self.rows_by_move(company=self.company_b))

    def test_one_company_never_sees_another_companys_models(self):
        self.assertEqual(self.Model.with_user(self.manager_b).search([]), self.model_b)
        with self.assertRaises(AccessError):
            self.model_a.with_user(self.manager_b).read(["validation_auc"])
        with self.assertRaises(AccessError):
            self.model_b.with_user(self.credit_manager).read(["validation_auc"])
