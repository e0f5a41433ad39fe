from odoo import fields, models
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tools import format_date

from ..credit_policy.country import cap_recommendation
from ..credit_policy.limit_request import second_approval_reasons

OPEN_STATES = ("draft", "submitted", "first_approved")


class CreditLimitRequest(models.Model):
    """Approval routing of a limit request: submit, approve (with a second approval when the
    limit is above the recommendation or the company threshold), reject, cancel, and the
    figures the decision rests on."""

    _inherit = "credit.limit.request"  # pylint: disable=consider-merging-classes-inherited  # split by topic

    # ------------------------------------------------------------
    # ACTIONS
    # ------------------------------------------------------------

    def action_submit(self):
        today = fields.Date.context_today(self)
        for request in self:
            if request.state != "draft":
                raise UserError(
                    self.env._(
                        "%(request)s is already %(state)s.",
                        request=request.name,
                        state=request._state_label(),
                    )
                )
            if request.requested_by_id != self.env.user and not request._is_credit_manager():
                raise AccessError(
                    self.env._(
                        "Only the requester or a credit manager can submit %(request)s.", request=request.name
                    )
                )
            request._check_can_submit(today)
            request.sudo()._refresh_figures(today)
            request.sudo().write({"state": "submitted", "submit_date": fields.Datetime.now()})
            request.sudo()._schedule_first_approval_activities()
            request._post(
                request._summary_lines(self.env._("Submitted by %(user)s.", user=self.env.user.name))
            )
        return True

    def action_approve(self):
        for request in self:
            request._approve()
        return True

    def action_reject(self, reason=None):
        """Reject with ``reason`` (required)."""
        reason = (reason or "").strip()
        for request in self:
            request._check_decider()
            request._check_pending()
            if not reason:
                raise UserError(
                    self.env._("Give the reason for rejecting %(request)s.", request=request.name)
                )
            request.sudo().write(
                {
                    "state": "rejected",
                    "rejection_reason": reason,
                    "decided_by_id": self.env.uid,
                    "decision_date": fields.Datetime.now(),
                }
            )
            request._close_activities()
            request._post(
                [self.env._("Rejected by %(user)s: %(reason)s", user=self.env.user.name, reason=reason)]
            )
        return True

    def action_cancel(self):
        for request in self:
            if request.state in OPEN_STATES:
                if request.requested_by_id != self.env.user and not request._is_credit_manager():
                    raise AccessError(
                        self.env._(
                            "Only the requester or a credit manager can cancel %(request)s.",
                            request=request.name,
                        )
                    )
            elif request.state == "approved" and request.application_state == "waiting":
                if not request._is_credit_manager():
                    raise AccessError(
                        self.env._(
                            "Only a credit manager can cancel the approved temporary limit %(request)s.",
                            request=request.name,
                        )
                    )
            else:
                raise UserError(
                    self.env._(
                        "%(request)s is %(state)s and can no longer be cancelled.",
                        request=request.name,
                        state=request._state_label(),
                    )
                )
            request.sudo().write(
                {
                    "state": "cancelled",
                    "application_state": False,
                    "decided_by_id": self.env.uid,
                    "decision_date": fields.Datetime.now(),
                }
            )
            request._close_activities()
            request._post([self.env._("Cancelled by %(user)s.", user=self.env.user.name)])
        return True

    def action_open_reject_wizard(self):
        self.ensure_one()
        self._check_decider()
        self._check_pending()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Reject Limit Request"),
            "res_model": "credit.limit.request.reject",
            "view_mode": "form",
            "target": "new",
            "context": {"default_request_id": self.id},
        }

    # ------------------------------------------------------------
    # BUSINESS: approval
    # ------------------------------------------------------------

    def _approve(self):
        self.ensure_one()
        self._check_decider()
        self._check_pending()
        today = fields.Date.context_today(self)
        if self.request_type == "temporary" and self.date_to < today:
            raise UserError(
                self.env._(
                    "The temporary limit of %(request)s ended on %(date)s: it can no longer be approved.",
                    request=self.name,
                    date=format_date(self.env, self.date_to),
                )
            )
        self._check_no_overlap()
        # Decide on today's figures: grade, recommendation, threshold and exchange rate.
        self.sudo()._refresh_figures(today)
        user = self.env.user
        now = fields.Datetime.now()
        if self.state == "submitted":
            if self.needs_second_approval:
                self.sudo().write(
                    {"state": "first_approved", "first_approver_id": user.id, "first_approval_date": now}
                )
                self._close_activities()
                self.sudo()._schedule_second_approval_activities()
                self._post(
                    [self.env._("First approval by %(user)s; a second approval is required.", user=user.name)]
                    + self._second_approval_lines()
                )
                return
            self.sudo().write({"first_approver_id": user.id, "first_approval_date": now})
        else:
            if user == self.first_approver_id:
                raise UserError(
                    self.env._(
                        "You already gave the first approval of %(request)s: the second approval must come "
                        "from another person.",
                        request=self.name,
                    )
                )
            if self.needs_second_approval:
                self._check_second_approver(user)
            self.sudo().write({"second_approver_id": user.id, "second_approval_date": now})
        self.sudo().write({"state": "approved", "decided_by_id": user.id, "decision_date": now})
        self._close_activities()
        self._post(self._approval_lines())
        self.sudo()._apply_if_due(today)

    def _check_decider(self):
        """Approvers and rejecters are credit managers, never the requester."""
        self.ensure_one()
        if not self._is_credit_manager():
            raise AccessError(
                self.env._(
                    "Only credit managers can approve or reject limit requests (%(request)s).",
                    request=self.name,
                )
            )
        if self.requested_by_id == self.env.user:
            raise UserError(
                self.env._(
                    "You requested %(request)s yourself: other people must decide on it.",
                    request=self.name,
                )
            )

    def _check_pending(self):
        self.ensure_one()
        if self.state not in ("submitted", "first_approved"):
            raise UserError(
                self.env._(
                    "%(request)s is %(state)s: only submitted requests can be approved or rejected.",
                    request=self.name,
                    state=self._state_label(),
                )
            )

    def _check_second_approver(self, user):
        self.ensure_one()
        group = self.approval_group_id
        if group and group not in user.sudo().groups_id:
            raise AccessError(
                self.env._(
                    "%(request)s asks for a limit of %(amount)s: its second approval must come from "
                    "a member of "
                    "%(group)s, which %(user)s is not.",
                    request=self.name,
                    amount=self._format_company(self.amount_company),
                    group=group.full_name,
                    user=user.name,
                )
                + "\n"
                + "\n".join(self._explain_second_approval())
            )

    def _check_can_submit(self, today):
        self.ensure_one()
        if not (self.reason or "").strip():
            raise UserError(
                self.env._("Give the reason for the limit request %(request)s.", request=self.name)
            )
        if self.request_type == "temporary" and self.date_to < today:
            raise UserError(
                self.env._(
                    "The temporary limit of %(request)s would end on %(date)s, which has already passed.",
                    request=self.name,
                    date=format_date(self.env, self.date_to),
                )
            )
        self._check_no_overlap()

    def _check_no_overlap(self):
        """A temporary limit may not overlap another approved temporary limit of the same
        customer and company (the later one would revert to the earlier one's amount)."""
        for request in self.filtered(lambda r: r.request_type == "temporary" and r.date_from and r.date_to):
            other = self.sudo().search(
                [
                    ("id", "!=", request.id),
                    ("partner_id", "=", request.partner_id.id),
                    ("company_id", "=", request.company_id.id),
                    ("request_type", "=", "temporary"),
                    ("state", "=", "approved"),
                    ("application_state", "!=", "ended"),
                    ("date_from", "<=", request.date_to),
                    ("date_to", ">=", request.date_from),
                ],
                order="date_from, id",
                limit=1,
            )
            if other:
                raise ValidationError(
                    self.env._(
                        "The temporary limit %(request)s (%(start)s to %(end)s) overlaps the approved "
                        "temporary limit %(other)s of %(partner)s (%(other_start)s to %(other_end)s, "
                        "%(other_amount)s). Temporary limits of a customer cannot overlap: choose "
                        "dates outside that period, or cancel %(other)s first if it has not started.",
                        request=request.name,
                        start=format_date(self.env, request.date_from),
                        end=format_date(self.env, request.date_to),
                        other=other.name,
                        partner=request.partner_id.display_name,
                        other_start=format_date(self.env, other.date_from),
                        other_end=format_date(self.env, other.date_to),
                        other_amount=other._format_company(other.amount_company),
                    )
                )

    def _is_credit_manager(self):
        return self.env.su or self.env.user.has_group("sale_credit_control.group_credit_manager")

    # ------------------------------------------------------------
    # BUSINESS: figures the decision rests on
    # ------------------------------------------------------------

    def _conversion_vals(self, date):
        """The requested amount in company currency at the rate of ``date``."""
        self.ensure_one()
        company = self.company_id or self.env.company
        currency = self.currency_id or company.currency_id
        if currency == company.currency_id:
            amount = self.amount
        else:
            amount = currency._convert(self.amount, company.currency_id, company, date)
        return {"amount_company": amount, "conversion_date": date}

    def _figures_vals(self):
        """Current limit, rating, recommendation, threshold and second-approval group of the customer."""
        self.ensure_one()
        company = self.company_id or self.env.company
        partner = self.partner_id.commercial_partner_id
        director = self.env.ref("sale_credit_control.group_credit_director", raise_if_not_found=False)
        if not partner:
            return {
                "previous_limit": 0.0,
                "rating_id": False,
                "recommended_limit": 0.0,
                "has_recommendation": False,
                "second_approval_threshold": company.credit_limit_second_approval_threshold,
                "approval_group_id": director.id if director else False,
            }
        profile = (
            self.env["credit.profile"]
            .sudo()
            .search([("partner_id", "=", partner.id), ("company_id", "=", company.id)], limit=1)
        )
        rating = profile.rating_id
        group = rating.grade_id.approval_group_id or director
        country = self.env["credit.country.risk"].sudo()._credit_country_risk(partner, company)
        recommended, _capped = cap_recommendation(
            rating.recommended_limit if rating.has_recommendation else None,
            country.limit_cap if country else None,
        )
        return {
            "previous_limit": partner.sudo().with_company(company).credit_limit,
            "rating_id": rating.id,
            # The rating's recommendation, capped by today's cap of the customer's country (国家风险).
            "recommended_limit": recommended or 0.0,
            "has_recommendation": recommended is not None,
            "second_approval_threshold": company.credit_limit_second_approval_threshold,
            "approval_group_id": group.id if group else False,
        }

    def _refresh_figures(self, date):
        """Take the figures again as of ``date`` (before a submission or an approval)."""
        for request in self:
            vals = request._conversion_vals(date)
            vals.update(request._figures_vals())
            if request.application_state == "applied":
                vals.pop("previous_limit")
            request.write(vals)

    def _second_approval_reasons(self):
        self.ensure_one()
        request = self.sudo()  # the recommendation decides, whoever asks; only the reasons come back
        return second_approval_reasons(
            max(request.amount_company, 0.0),
            request.recommended_limit if request.has_recommendation else None,
            max(request.second_approval_threshold, 0.0),
        )

    def _country_cap_of_recommendation(self):
        """The country risk row whose cap is the recommendation (it capped the grade's), or ``None``."""
        self.ensure_one()
        request = self.sudo()  # the recommendation is credit-file data; the caller decides what to show
        company = request.company_id or self.env.company
        country = self.env["credit.country.risk"].sudo()._credit_country_risk(request.partner_id, company)
        if not request.has_recommendation or not country or not country.limit_cap:
            return None
        if company.currency_id.compare_amounts(country.limit_cap, request.recommended_limit):
            return None
        return country
