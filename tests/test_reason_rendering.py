from datetime import date

from odoo import Command
from odoo.tests import Form, new_test_user, tagged
from odoo.tools import format_amount, format_date

from .common import CreditControlCommon


@tagged("post_install", "-at_install")
class TestReasonRendering(CreditControlCommon):
    """A check stores its reasons as codes and figures; each reader gets them in their own language.

    The assertions hold with or without a translation of the add-on's terms: what they check is
    the layout of dates and numbers, which Odoo formats for the reader's language.
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        for lang in ("zh_CN", "fr_FR"):
            cls.env["res.lang"]._activate_lang(lang)
        company_vals = {"company_id": cls.company.id, "company_ids": [Command.set(cls.company.ids)]}
        groups = "sales_team.group_sale_salesman"
        cls.salesman_zh = new_test_user(
            cls.env, login="scc_salesman_zh", groups=groups, lang="zh_CN", **company_vals
        )
        cls.salesman_fr = new_test_user(
            cls.env, login="scc_salesman_fr", groups=groups, lang="fr_FR", **company_vals
        )
        cls.money = cls.company.currency_id

    # ------------------------------------------------------------
    # Helpers
    # ------------------------------------------------------------

    def env_in(self, lang):
        return self.env(context=dict(self.env.context, lang=lang))

    def read_as(self, record, user, lang):
        """``record`` as ``user`` reads it in the web client (the context carries their language)."""
        return record.with_user(user).with_context(lang=lang)

    def refuse_as(self, order, user):
        """The refusal ``user`` reads when confirming ``order`` in their language."""
        message = self.try_confirm(order.with_context(lang=user.lang), user)
        self.assertTrue(message, "the credit check should block the order")
        return message

    def dates_in(self, lang):
        return format_date(self.env_in(lang), self.today)

    def money_in(self, lang, amount):
        return format_amount(self.env_in(lang), amount, self.money)

    def assert_no_sentence(self, value):
        """Stored reason data holds codes, numbers, ids and ISO dates: no text made for a reader."""
        if isinstance(value, dict):
            for key, item in value.items():
                self.assertNotIn(" ", key)
                self.assert_no_sentence(item)
        elif isinstance(value, list):
            for item in value:
                self.assert_no_sentence(item)
        elif isinstance(value, str):
            self.assertNotIn(" ", value, f"a sentence in the stored reason data: {value!r}")
        else:
            self.assertIsInstance(value, (int, float, bool, type(None)))

    # ------------------------------------------------------------
    # Tests
    # ------------------------------------------------------------

    def test_zh_check_is_read_in_each_readers_date_format(self):
        self.assertNotEqual(self.dates_in("zh_CN"), self.dates_in("en_US"))
        order = self.create_order(self.customer, 1500.0, user=self.salesman_zh)
        refusal = self.refuse_as(order, self.salesman_zh)
        # The one who confirms reads the refusal in their language.
        self.assertIn(self.dates_in("zh_CN"), refusal)
        self.assertNotIn(self.dates_in("en_US"), refusal)

        check = order.credit_check_ids
        self.assertEqual((check.result, check.user_id), ("blocked", self.salesman_zh))
        data = check.reason_data
        self.assertEqual([reason["code"] for reason in data["reasons"]], ["limit_exceeded"])
        self.assertEqual(data["check_date"], self.today.isoformat())
        self.assertEqual(data["currency_id"], self.money.id)
        self.assertEqual(data["reasons"][0]["figures"]["order_amount"], 1500.0)
        self.assertFalse(check.recorded_reasons)
        self.assert_no_sentence(data)
        self.assertEqual(order.credit_check_reason_data, data)
        self.assertFalse(order.credit_check_recorded_message)
        self.assert_no_sentence(order.credit_check_reason_data)

        for record, field in ((check, "reasons"), (order, "credit_check_message")):
            english = self.read_as(record, self.credit_manager, "en_US")[field]
            self.assertIn("Credit limit exceeded", english)
            self.assertIn(f"converted at the rate of {self.dates_in('en_US')}", english)
            self.assertNotIn(self.dates_in("zh_CN"), english)
            chinese = self.read_as(record, self.salesman_zh, "zh_CN")[field]
            self.assertIn(self.dates_in("zh_CN"), chinese)
            self.assertNotIn(self.dates_in("en_US"), chinese)
            self.assertNotEqual(chinese, english)

    def test_fr_check_is_read_with_each_readers_number_separators(self):
        english_amount, french_amount = self.money_in("en_US", 1500.0), self.money_in("fr_FR", 1500.0)
        self.assertNotEqual(english_amount, french_amount)
        order = self.create_order(self.customer, 1500.0, user=self.salesman_fr)
        refusal = self.refuse_as(order, self.salesman_fr)
        self.assertIn(french_amount, refusal)
        self.assertIn(self.dates_in("fr_FR"), refusal)

        check = order.credit_check_ids
        english = self.read_as(check, self.credit_manager, "en_US").reasons
        self.assertIn(f"This order: {english_amount}.", english)
        self.assertIn(f"Limit: {self.money_in('en_US', 1000.0)}.", english)
        self.assertNotIn(french_amount, english)
        french = self.read_as(check, self.salesman_fr, "fr_FR").reasons
        self.assertIn(french_amount, french)
        self.assertIn(self.money_in("fr_FR", 1000.0), french)
        self.assertIn(self.dates_in("fr_FR"), french)
        self.assertNotIn(english_amount, french)

    def test_the_currency_note_comes_once_after_two_reasons(self):
        self.company.credit_max_order_amount = 500.0
        eur = self.setup_other_currency("EUR", rates=[(self.today, 2.0)])
        order = self.create_order(self.customer, 3000.0, user=self.salesman, currency=eur)  # 1500.00 $
        refusal = self.refuse_as(order, self.salesman)
        check = order.credit_check_ids
        self.assertEqual(
            [reason["code"] for reason in check.reason_data["reasons"]], ["limit_exceeded", "max_order"]
        )
        for message in (refusal, check.reasons, order.credit_check_message):
            self.assertEqual(message.count("Amounts in"), 1, message)
            self.assertEqual(message.count("converted at the rate of"), 1, message)
        lines = check.reasons.split("\n")
        self.assertEqual(len(lines), 3)
        self.assertTrue(lines[0].startswith("Credit limit exceeded"))
        self.assertTrue(lines[1].startswith("The order amount"))
        self.assertEqual(
            lines[2],
            f"Amounts in {self.money.name}; other currencies converted at the rate of "
            f"{self.dates_in('en_US')}.",
        )

    def test_same_message_renders_identically(self):
        order = self.create_order(self.customer, 1500.0, user=self.salesman_zh)
        self.refuse_as(order, self.salesman_zh)
        check = order.credit_check_ids
        profiles = self.env_in("fr_FR")["credit.profile"]
        first = profiles._credit_render_reason_text(check.reason_data)
        self.assertEqual(first, profiles._credit_render_reason_text(check.reason_data))
        reader = self.read_as(check, self.credit_manager, "en_US")
        text = reader.reasons
        reader.invalidate_recordset()
        self.assertEqual(reader.reasons, text)
        self.assertNotEqual(first, text)

    def test_text_recorded_before_reason_data_is_shown_as_it_is(self):
        order = self.create_order(self.customer, 100.0)
        old_text = "Credit limit exceeded (tolerance 0.00%, ceiling $ 1,000.00)."
        check = (
            self.env["credit.check"]
            .sudo()
            .create(
                {
                    "order_id": order.id,
                    "partner_id": self.customer.id,
                    "company_id": self.company.id,
                    "user_id": self.salesman.id,
                    "result": "blocked",
                    "recorded_reasons": old_text,
                    "date": date(2025, 1, 2),
                }
            )
        )
        order.sudo().write({"credit_check_state": "blocked", "credit_check_recorded_message": old_text})
        for lang in ("en_US", "zh_CN"):
            self.assertEqual(self.read_as(check, self.credit_manager, lang).reasons, old_text)
            self.assertEqual(self.read_as(order, self.credit_manager, lang).credit_check_message, old_text)

    def test_message_written_as_text_replaces_the_reason_data(self):
        order = self.create_order(self.customer, 1500.0)
        self.refuse_as(order, self.salesman)
        self.assertTrue(order.credit_check_reason_data)
        order.sudo().write({"credit_check_message": "Covered by the approved override CA/0001."})
        self.assertFalse(order.credit_check_reason_data)
        self.assertEqual(
            self.read_as(order, self.salesman_zh, "zh_CN").credit_check_message,
            "Covered by the approved override CA/0001.",
        )
        order.sudo().write({"credit_check_message": False})
        self.assertFalse(order.credit_check_message)
        self.assertFalse(order.credit_check_recorded_message)

    def test_approval_snapshot_is_read_in_each_readers_language(self):
        order = self.create_order(self.customer, 1500.0, user=self.salesman_zh)
        self.refuse_as(order, self.salesman_zh)
        wizard = Form(
            self.env["credit.approval.request"]
            .with_user(self.salesman_zh)
            .with_context(lang="zh_CN", default_order_id=order.id)
        )
        wizard.reason = "Strategic customer"
        wizard.save().action_request()
        approval = order.credit_approval_ids
        self.assertEqual(approval.state, "pending")
        self.assertEqual(
            [reason["code"] for reason in approval.snapshot_reason_data["reasons"]], ["limit_exceeded"]
        )
        self.assertFalse(approval.snapshot_recorded_reasons)
        self.assert_no_sentence(approval.snapshot_reason_data)
        english = self.read_as(approval, self.credit_manager, "en_US").snapshot_reasons
        self.assertIn("Credit limit exceeded", english)
        self.assertIn(self.dates_in("en_US"), english)
        chinese = self.read_as(approval, self.credit_manager, "zh_CN").snapshot_reasons
        self.assertIn(self.dates_in("zh_CN"), chinese)
        self.assertNotIn(self.dates_in("en_US"), chinese)
        # The waiting order shows the reasons of the request, in the reader's language too.
        self.assertEqual(order.credit_check_state, "pending")
        self.assertEqual(order.credit_check_reason_data, approval.snapshot_reason_data)
        self.assertEqual(self.read_as(order, self.credit_manager, "en_US").credit_check_message, english)

    def test_held_quotation_keeps_its_reasons_as_data(self):
        invoice = self.create_invoice(self.customer, 800.0)
        order = self.create_order(self.customer, 400.0, user=self.salesman_fr)
        self.refuse_as(order, self.salesman_fr)
        self.pay(invoice, amount=100.0)  # re-evaluated: still blocked, with today's figures
        self.assertEqual(order.credit_check_state, "blocked")
        figures = order.credit_check_reason_data["reasons"][0]["figures"]
        self.assertEqual((figures["exposure_before"], figures["exposure_after"]), (700.0, 1100.0))
        self.assertFalse(order.credit_check_recorded_message)
        english = self.read_as(order, self.salesman, "en_US").credit_check_message
        self.assertIn(f"Exposure after this order: {self.money_in('en_US', 1100.0)}.", english)
        french = self.read_as(order, self.salesman_fr, "fr_FR").credit_check_message
        self.assertIn(self.money_in("fr_FR", 1100.0), french)
