from odoo import api, fields, models
from odoo.exceptions import UserError

POLICY_STATES = [("draft", "Draft"), ("active", "Active"), ("ended", "Ended")]


class CreditInsurancePolicy(models.Model):
    """A credit insurance policy (信用保险单): an insurer covers buyers up to insured limits.

    Each buyer's cover (``credit.insurance.cover``) gives its insured limit; while the policy
    is active and both are valid on the check date, the customer's exposure is insured up to
    that limit at the policy's coverage %.
    """

    _name = "credit.insurance.policy"
    _inherit = ["credit.finite.values.mixin", "mail.thread", "mail.activity.mixin", "credit.validity.mixin"]
    _description = "Credit Insurance Policy"
    _order = "date_to desc, id desc"
    _check_company_auto = True
    _credit_finite_fields = ("coverage_percent",)

    name = fields.Char(string="Policy Number", required=True, tracking=True)
    insurer_id = fields.Many2one("res.partner", required=True, tracking=True, check_company=True)
    company_id = fields.Many2one(
        "res.company", required=True, index=True, default=lambda self: self.env.company, tracking=True
    )
    currency_id = fields.Many2one(
        "res.currency", required=True, default=lambda self: self.env.company.currency_id, tracking=True
    )
    coverage_percent = fields.Float(
        string="Coverage (%)",
        required=True,
        default=90.0,
        aggregator=False,
        tracking=True,
        help="Share of the insured exposure the insurer pays in case of loss.",
    )
    date_from = fields.Date(string="Valid From", default=fields.Date.context_today, tracking=True)
    date_to = fields.Date(
        string="Valid To", tracking=True, help="Last day the policy covers. Empty: open-ended."
    )
    state = fields.Selection(
        POLICY_STATES, required=True, default="draft", readonly=True, copy=False, tracking=True
    )
    cover_ids = fields.One2many("credit.insurance.cover", "policy_id", string="Buyer Covers", copy=False)
    note = fields.Text()

    # ------------------------------------------------------------
    # COMPUTE
    # ------------------------------------------------------------

    @api.depends("name", "insurer_id")
    def _compute_display_name(self):
        for policy in self:
            policy.display_name = " ".join(filter(None, (policy.insurer_id.name, policy.name)))

    # ------------------------------------------------------------
    # CONSTRAINTS
    # ------------------------------------------------------------

    @api.constrains("coverage_percent")
    def _check_coverage_percent(self):
        self._credit_check_coverage()

    @api.constrains("date_from", "date_to")
    def _check_dates(self):
        self._credit_check_period("date_from", "date_to")

    # ------------------------------------------------------------
    # CRUD
    # ------------------------------------------------------------

    def write(self, vals):
        result = super().write(vals)
        if {"date_from", "date_to"} & vals.keys():
            self.filtered(lambda policy: policy.state == "active").cover_ids._reevaluate_held_orders()
        return result

    @api.ondelete(at_uninstall=False)
    def _unlink_only_drafts(self):
        if any(policy.state != "draft" for policy in self):
            raise UserError(
                self.env._("Only draft insurance policies can be deleted; end an active one instead.")
            )

    # ------------------------------------------------------------
    # ACTIONS
    # ------------------------------------------------------------

    def action_activate(self):
        self._set_state("active", ("draft", "ended"))
        return True

    def action_end(self):
        self._set_state("ended", ("active",))
        return True

    def action_reset_draft(self):
        self._set_state("draft", ("active", "ended"))
        return True

    # ------------------------------------------------------------
    # PRIVATE
    # ------------------------------------------------------------

    def _set_state(self, new_state, from_states):
        labels = dict(self._fields["state"]._description_selection(self.env))
        for policy in self:
            if policy.state not in from_states:
                raise UserError(
                    self.env._(
                        "%(policy)s is %(state)s: this action is not possible.",
                        policy=policy.display_name,
                        state=labels[policy.state],
                    )
                )
        self.write({"state": new_state})
        # What the covers insure changed: held quotations of their buyers may pass (or not).
        for company, policies in self.grouped("company_id").items():
            self.env["sale.order"]._credit_reevaluate_partners(policies.cover_ids.partner_id, company)
