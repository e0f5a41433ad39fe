from odoo import models

# Days a payment term line's delay type adds to its number of days, at the most.
END_OF_MONTH_DAYS = {
    "days_after": 0,
    "days_after_end_of_month": 31,
    "days_after_end_of_next_month": 62,
    "days_end_of_month_on_the": 31,
}


class AccountPaymentTerm(models.Model):
    _inherit = "account.payment.term"

    def _credit_longest_days(self):
        """The longest delay of these terms in days (0 without terms: payment on the invoice
        date); an end-of-month delay counts the month's days at the most, so a term is never
        taken for shorter than it can be."""
        return max(
            (line.nb_days + END_OF_MONTH_DAYS.get(line.delay_type, 0) for line in self.line_ids),
            default=0,
        )
