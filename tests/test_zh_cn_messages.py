"""A Chinese-speaking salesperson reads the credit check in Chinese, figures in Chinese format."""

from odoo import Command
from odoo.tests import new_test_user, tagged
from odoo.tools import format_amount, format_date

from .common import CreditControlCommon


@tagged("post_install", "-at_install")
class TestZhCnMessages(CreditControlCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["res.lang"]._activate_lang("zh_CN")
        # Field labels, selections and data records: loaded as Odoo does when a language is added.
        cls.env["ir.module.module"]._load_module_terms(["sale_credit_control"], ["zh_CN"], overwrite=True)
        company_vals = {"company_id": cls.company.id, "company_ids": [Command.set(cls.company.ids)]}
        cls.salesman_zh = new_test_user(
            cls.env,
            login="scc_salesman_zh_cn",
            groups="sales_team.group_sale_salesman",
            lang="zh_CN",
            **company_vals,
        )
        cls.money = cls.company.currency_id

    def env_in(self, lang):
        return self.env(context=dict(self.env.context, lang=lang))

    def money_in(self, lang, amount):
        return format_amount(self.env_in(lang), amount, self.money)

    def refusal_for(self, user, amount):
        order = self.create_order(self.customer, amount, user=user)
        message = self.try_confirm(order.with_context(lang=user.lang), user)
        self.assertTrue(message, "the credit check should block the order")
        return order, message

    def test_blocked_order_refusal_is_in_chinese_with_chinese_figures(self):
        zh_date, en_date = format_date(self.env_in("zh_CN"), self.today), format_date(self.env, self.today)
        self.assertNotEqual(zh_date, en_date)
        order, message = self.refusal_for(self.salesman_zh, 1500.0)
        self.assertIn(f"{order.name} 不能确认：", message)
        self.assertIn("超出授信额度", message)
        self.assertIn("请向信用经理申请超额审批", message)
        self.assertNotIn("cannot be confirmed", message)
        # The limit and available credit (1,000), the order and exposure after it (1,500) and the
        # conversion date, formatted for zh_CN.
        self.assertIn(f"授信额度：{self.money_in('zh_CN', 1000.0)}", message)
        self.assertIn(f"可用额度：{self.money_in('zh_CN', 1000.0)}", message)
        self.assertIn(f"本订单后的信用敞口：{self.money_in('zh_CN', 1500.0)}", message)
        self.assertIn(zh_date, message)
        self.assertNotIn(en_date, message)

    def test_field_labels_and_selections_are_in_chinese(self):
        orders = self.env["sale.order"].with_context(lang="zh_CN")
        state = orders.fields_get(["credit_check_state"], ["string", "selection"])["credit_check_state"]
        self.assertEqual(state["string"], "信用状态")
        self.assertEqual(dict(state["selection"])["blocked"], "已拦截")
        profiles = self.env["credit.profile"].with_context(lang="zh_CN")
        available = profiles.fields_get(["available_amount"], ["string"])["available_amount"]
        self.assertEqual(available["string"], "可用额度")

    def test_same_blocked_check_is_read_in_each_readers_language(self):
        order, _message = self.refusal_for(self.salesman_zh, 1500.0)
        check = self.env["credit.check"].search([("order_id", "=", order.id)], order="id desc", limit=1)
        self.assertTrue(check, "the blocked attempt is recorded")
        english = check.with_user(self.credit_manager).with_context(lang="en_US")
        chinese = check.with_user(self.credit_manager).with_context(lang="zh_CN")
        self.assertNotEqual(english.reasons, chinese.reasons)
        self.assertIn(self.money_in("en_US", 1500.0), english.reasons)
        self.assertIn(self.money_in("zh_CN", 1500.0), chinese.reasons)
        self.assertRegex(chinese.reasons, "[\u4e00-\u9fff]")
        self.assertNotRegex(english.reasons, "[\u4e00-\u9fff]")
        # The order's credit message too: each reader gets it in their own language.
        order_en = order.with_user(self.salesman).with_context(lang="en_US")
        order_zh = order.with_user(self.salesman_zh).with_context(lang="zh_CN")
        self.assertRegex(order_zh.credit_check_message, "[\u4e00-\u9fff]")
        self.assertNotRegex(order_en.credit_check_message, "[\u4e00-\u9fff]")

    def test_without_a_language_in_the_context_words_and_figures_share_one_language(self):
        """A scheduled job or an RPC call may give no language: the words then follow the company's
        language as Odoo's date formats do, never an English sentence around a Chinese date."""
        self.company.partner_id.lang = "zh_CN"
        zh_date = format_date(self.env_in("zh_CN"), self.today)
        order = self.create_order(self.customer, 1500.0, user=self.salesman_zh)
        self.assertTrue(self.try_confirm(order.with_context(lang=None), self.salesman_zh))
        check = self.env["credit.check"].search([("order_id", "=", order.id)], order="id desc", limit=1)
        reasons = check.with_user(self.salesman_zh).with_context(lang=None).sudo().reasons
        self.assertIn("超出授信额度", reasons)
        self.assertIn(zh_date, reasons)
        self.assertNotIn("converted at the rate of", reasons)
        log = (
            self.env["credit.decision.log"]
            .sudo()
            .search([("res_model", "=", "credit.check"), ("res_id", "=", check.id)], limit=1)
        )
        self.assertTrue(log, "the blocked check is in the decision log")
        self.assertRegex(log.summary, "[\u4e00-\u9fff]")
        self.assertNotIn("converted at the rate of", log.summary)
