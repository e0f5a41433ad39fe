from markupsafe import Markup

from odoo import models
from odoo.tools import format_date

from ..credit_policy.limit_request import ABOVE_RECOMMENDATION, ABOVE_THRESHOLD
from .res_partner import CREDIT_FILE_GROUPS

ACTIVITY_TYPE = "sale_credit_control.mail_activity_type_credit_limit_request"


class CreditLimitRequest(models.Model):
    """What a limit request tells people: chatter texts, amounts formatted as limits,
    and the activities that ask for a decision."""

    _inherit = "credit.limit.request"  # pylint: disable=consider-merging-classes-inherited  # split by topic

    # ------------------------------------------------------------
    # MESSAGES
    # ------------------------------------------------------------

    def _explain_second_approval(self, reasons=None):
        """Why a second approval is needed (``reasons`` default to the request's own)."""
        self.ensure_one()
        if reasons is None:
            reasons = self._second_approval_reasons()
        amount = self._format_limit(self.amount_company)
        lines = []
        country = self._country_cap_of_recommendation() if ABOVE_RECOMMENDATION in reasons else None
        if country:
            lines.append(
                self.env._(
                    "The requested limit %(amount)s is above %(cap)s, the most recommended for customers in "
                    "%(country)s (country risk class %(risk_class)s).",
                    amount=amount,
                    cap=self._format_company(self.recommended_limit),
                    country=self.env["res.country"].browse(country.country_id).name,
                    risk_class=country.risk_class,
                )
            )
        elif ABOVE_RECOMMENDATION in reasons:
            lines.append(
                self.env._(
                    "The requested limit %(amount)s is above the limit of %(recommended)s recommended "
                    "for grade %(grade)s.",
                    amount=amount,
                    recommended=self._format_company(self.recommended_limit),
                    grade=self.grade_code or "-",
                )
            )
        if ABOVE_THRESHOLD in reasons:
            lines.append(
                self.env._(
                    "The requested limit %(amount)s is above the company's second-approval threshold "
                    "of %(threshold)s.",
                    amount=amount,
                    threshold=self._format_company(self.second_approval_threshold),
                )
            )
        return lines

    def _summary_lines(self, head):
        self.ensure_one()
        lines = [
            head,
            self.env._(
                "Requested limit: %(amount)s%(converted)s; current limit: %(current)s.",
                amount=self._format_limit(self.amount, self.currency_id),
                converted=self._conversion_note(),
                current=self._format_limit(self.previous_limit),
            ),
        ]
        reasons = self._second_approval_reasons()
        if not self.env.user.has_groups(CREDIT_FILE_GROUPS):
            # The grade and its recommendation are credit-file data: not in what a salesperson posts.
            if reasons:
                lines.append(
                    self.env._(
                        "A second approval is required, by a member of: %(group)s.",
                        group=self.approval_group_id.full_name,
                    )
                )
            return lines
        country = self._country_cap_of_recommendation()
        if country:
            lines.append(
                self.env._(
                    "Customers in %(country)s (country risk class %(risk_class)s) are recommended at most "
                    "%(cap)s.",
                    country=self.env["res.country"].browse(country.country_id).name,
                    risk_class=country.risk_class,
                    cap=self._format_company(self.recommended_limit),
                )
            )
        elif self.has_recommendation:
            lines.append(
                self.env._(
                    "Grade %(grade)s recommends %(recommended)s.",
                    grade=self.grade_code,
                    recommended=self._format_company(self.recommended_limit),
                )
            )
        return lines + self._second_approval_lines(reasons)

    def _second_approval_lines(self, reasons=None):
        """Why a second approval is needed and who gives it; nothing when none is needed."""
        self.ensure_one()
        if reasons is None:
            reasons = self._second_approval_reasons()
        if not reasons:
            return []
        return self._explain_second_approval(reasons) + [
            self.env._("Second approval by a member of: %(group)s.", group=self.approval_group_id.full_name)
        ]

    def _approval_lines(self):
        self.ensure_one()
        approvers = self.first_approver_id.name
        if self.second_approver_id:
            approvers = self.env._(
                "%(first)s and %(second)s", first=approvers, second=self.second_approver_id.name
            )
        lines = [
            self.env._(
                "Approved by %(approvers)s: credit limit %(amount)s%(converted)s.",
                approvers=approvers,
                amount=self._format_limit(self.amount, self.currency_id),
                converted=self._conversion_note(),
            )
        ]
        return lines

    def _conversion_note(self):
        """`` = 1,500.00 $ at the rate of 01/15/2025`` when the request is in a foreign currency."""
        self.ensure_one()
        if self.currency_id == self.company_id.currency_id:
            return ""
        return self.env._(
            " (= %(amount)s at the rate of %(date)s)",
            amount=self._format_company(self.amount_company),
            date=format_date(self.env, self.conversion_date),
        )

    # ------------------------------------------------------------
    # PRIVATE
    # ------------------------------------------------------------

    def _format_company(self, amount):
        return self.env["res.company"]._credit_format_money(amount, self.company_id.currency_id)

    def _format_limit(self, amount, currency=None):
        """An amount as a limit: 0 reads "no limit checked"."""
        if not amount:
            return self.env._("0 (no limit checked)")
        return self.env["res.company"]._credit_format_money(amount, currency or self.company_id.currency_id)

    def _selection_label(self, field_name):
        """The label of a selection field's value, in the reader's language."""
        self.ensure_one()
        return dict(self._fields[field_name]._description_selection(self.env))[self[field_name]]

    def _state_label(self):
        return self._selection_label("state")

    def _post(self, lines):
        self.ensure_one()
        body = Markup("<br/>").join(lines)
        self.sudo().message_post(body=body, subtype_xmlid="mail.mt_note")

    def _close_activities(self):
        self.sudo().activity_unlink([ACTIVITY_TYPE])

    def _company_users(self, users):
        self.ensure_one()
        return users.filtered(
            lambda user: self.company_id in user.company_ids and not user.share and user.active
        )

    def _schedule_first_approval_activities(self):
        for request in self:
            managers = (
                self.env["res.company"]._credit_manager_users(request.company_id) - request.requested_by_id
            )
            if not managers:
                group = self.env.ref("sale_credit_control.group_credit_manager")
                managers = request._company_users(group.sudo().users) - request.requested_by_id
            for manager in managers:
                request.activity_schedule(
                    ACTIVITY_TYPE,
                    user_id=manager.id,
                    summary=self.env._(
                        "Credit limit request for %(partner)s", partner=request.partner_id.display_name
                    ),
                    note=request.reason,
                )

    def _schedule_second_approval_activities(self):
        for request in self:
            group = request.approval_group_id
            users = (
                request._company_users(group.sudo().users)
                - request.requested_by_id
                - request.first_approver_id
            )
            if not users:
                request._post(
                    [
                        self.env._(
                            "Nobody of %(group)s can give the second approval in %(company)s: "
                            "add a member to the group.",
                            group=group.full_name,
                            company=request.company_id.name,
                        )
                    ]
                )
            for user in users:
                request.activity_schedule(
                    ACTIVITY_TYPE,
                    user_id=user.id,
                    summary=self.env._(
                        "Second approval: credit limit for %(partner)s",
                        partner=request.partner_id.display_name,
                    ),
                    note="\n".join(request._explain_second_approval()),
                )
