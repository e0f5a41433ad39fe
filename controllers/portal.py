"""The customer's own credit page in the portal (``/my/credit``).

Everything is read as superuser, restricted by explicit domains to the logged-in user's commercial
partner in the current company: portal users have no access to the credit models themselves. The
figures come from the customer's ``credit.profile``; only words fit for a customer are shown (no
score, no internal reason, no hold reason, no credit manager), and the grade only where the company
allows it."""

from odoo import fields, http
from odoo.http import request

from odoo.addons.portal.controllers.portal import CustomerPortal

# Credit statuses of quotations the credit check holds (approval pending or refused included).
PORTAL_HELD_STATES = ("blocked", "pending", "rejected")


class CreditCustomerPortal(CustomerPortal):
    # ------------------------------------------------------------
    # HOME
    # ------------------------------------------------------------

    def _prepare_home_portal_values(self, counters):
        values = super()._prepare_home_portal_values(counters)
        if "credit_count" in counters:
            values["credit_count"] = 1 if self._credit_portal_profile(create=False) else 0
        return values

    # ------------------------------------------------------------
    # CREDIT PAGE
    # ------------------------------------------------------------

    @http.route(["/my/credit"], type="http", auth="user", website=True)
    def portal_my_credit(self, **kwargs):
        values = self._prepare_portal_layout_values()
        values.update(self._credit_portal_values())
        return request.render("sale_credit_control.portal_my_credit", values)

    def _credit_portal_customer(self):
        """The commercial partner whose credit the logged-in user sees."""
        return request.env.user.partner_id.commercial_partner_id

    def _credit_portal_profile(self, create=True):
        """The customer's credit profile in the current company (superuser). Without one, an unsaved
        profile holding the same figures when ``create`` is set (a page view writes nothing), else an
        empty recordset. Empty as well where the company does not control credit."""
        company = request.env.company
        profiles = request.env["credit.profile"].sudo().with_company(company)
        if not company.credit_control_enabled:
            return profiles
        customer = self._credit_portal_customer()
        profile = profiles.search(
            [("partner_id", "=", customer.id), ("company_id", "=", company.id)], limit=1
        )
        if not profile and create:
            profile = profiles.new({"partner_id": customer.id, "company_id": company.id})
        return profile

    def _credit_portal_values(self):
        company = request.env.company
        profile = self._credit_portal_profile()
        invoices = self._credit_portal_open_invoices()
        today = fields.Date.context_today(invoices)
        return {
            "page_name": "credit",
            "credit_company": company,
            "credit_currency": company.currency_id,
            "credit_profile": profile,
            "credit_status": self._credit_portal_status(profile),
            "credit_grade": self._credit_portal_grade(profile),
            "credit_open_invoices": invoices,
            "credit_overdue_invoices": invoices.filtered(
                lambda invoice: invoice.invoice_date_due and invoice.invoice_date_due < today
            ),
            "credit_today": today,
            "credit_held_orders": self._credit_portal_held_orders(),
            "credit_bank_accounts": company.partner_id.sudo().bank_ids,
        }

    def _credit_portal_status(self, profile):
        """``(css class, text)`` of the customer's credit status, or ``None`` without anything to say."""
        if not profile:
            return None
        env = request.env
        if profile.on_hold:
            return "danger", env._("Your account is on hold, please contact us.")
        if profile.mode == "cash":
            return "info", env._(
                "Your orders are paid in advance: you can pay them online on each quotation."
            )
        if profile.is_over_limit:
            return "warning", env._(
                "You have used all your available credit: new orders wait until open invoices are paid."
            )
        if profile.overdue_amount > 0:
            return "warning", env._(
                "Invoices are overdue: please pay them so we can keep confirming your orders."
            )
        if not profile.limit_checked:
            return "info", env._("No credit limit applies to your account.")
        return "success", env._("Your account is within its credit limit.")

    def _credit_portal_grade(self, profile):
        """The customer's current grade (its rating), where the company shows it to customers."""
        company = request.env.company
        if not profile or not company.credit_portal_show_rating or not profile.rating_id:
            return None
        return profile.rating_id

    def _credit_portal_open_invoices(self):
        """The customer's posted, unpaid customer invoices in the current company, oldest due first."""
        return (
            request.env["account.move"]
            .sudo()
            .search(
                [
                    ("commercial_partner_id", "=", self._credit_portal_customer().id),
                    ("company_id", "=", request.env.company.id),
                    ("move_type", "=", "out_invoice"),
                    ("state", "=", "posted"),
                    ("payment_state", "in", ("not_paid", "partial")),
                ],
                order="invoice_date_due asc, id asc",
            )
        )

    def _credit_portal_held_orders(self):
        """The customer's quotations the credit check holds, in the current company, with the
        reasons to show the customer: ``[(order, [text, ...]), ...]``. None where the company does not
        control credit (nothing holds them then)."""
        if not request.env.company.credit_control_enabled:
            return []
        orders = (
            request.env["sale.order"]
            .sudo()
            .search(
                [
                    ("partner_invoice_id.commercial_partner_id", "=", self._credit_portal_customer().id),
                    ("company_id", "=", request.env.company.id),
                    ("state", "in", ("draft", "sent")),
                    ("credit_check_state", "in", PORTAL_HELD_STATES),
                ],
                order="date_order desc, id desc",
            )
        )
        return [(order, self._credit_portal_order_reasons(order)) for order in orders]

    # ------------------------------------------------------------
    # REASONS IN A CUSTOMER'S WORDS
    # ------------------------------------------------------------

    def _credit_portal_order_reasons(self, order):
        """Why ``order`` is held, in words fit for the customer: one text per kind of reason, from the
        reason codes the check stored (never the internal texts with their figures)."""
        env = request.env
        texts = self._credit_portal_reason_texts()
        reasons = (order.credit_check_reason_data or {}).get("reasons") or []
        lines = []
        for reason in reasons:
            render = texts.get(reason.get("code"))
            figures = reason.get("figures") or {}
            lines.append(render(order, figures) if render else self._credit_portal_text_review())
        if order.credit_check_state == "pending":
            lines.append(self._credit_portal_text_review())
        elif order.credit_check_state == "rejected":
            lines.append(env._("Our credit team could not approve this order, please contact us."))
        # One line per kind of reason: several codes share a customer's wording.
        return list(dict.fromkeys(lines)) or [self._credit_portal_text_review()]

    def _credit_portal_reason_texts(self):
        """``{reason code: function(order, figures) -> text}``: an add-on adds its rule's text here."""
        env = request.env

        def text(message):
            return lambda order, figures: message

        over_credit = text(env._("Your order exceeds your available credit."))
        contact_us = text(
            env._("Your credit terms need a review before we can confirm this order, please contact us.")
        )
        return {
            "cash_only": text(env._("Your orders are paid in advance: please pay this quotation online.")),
            "on_hold": text(env._("Your account is on hold, please contact us.")),
            "limit_exceeded": over_credit,
            "limit_tolerance": over_credit,
            "group_limit": over_credit,
            "insurance": over_credit,
            "overdue": text(env._("Invoices are overdue: once they are paid, we can confirm your order.")),
            "limit_expired": contact_us,
            "review_overdue": contact_us,
            "payment_term": contact_us,
            "max_order": text(
                env._("Your order is above the amount we can confirm on credit at once, please contact us.")
            ),
            "deposit": self._credit_portal_text_deposit,
        }

    def _credit_portal_text_deposit(self, order, figures):
        company = order.company_id
        missing = figures.get("missing_amount") or 0.0
        return request.env._(
            "A deposit of %(amount)s is due before we can confirm your order: you can pay it online on "
            "the quotation.",
            amount=company._credit_format_money(missing, company.currency_id),
        )

    def _credit_portal_text_review(self):
        return request.env._("Our credit team is reviewing your order.")
