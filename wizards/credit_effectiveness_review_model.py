from odoo import models
from odoo.tools import SQL

from ..credit_policy.effectiveness import discrimination


class CreditEffectivenessReview(models.TransientModel):
    """The review's side-by-side table: the scorecard and the company's active late-payment model
    ranking the SAME later invoices.

    - The invoices are the later invoices of the review's ratings (each customer's latest rating
      in the period, see the review) that the model gives a probability for and did not learn
      from: those dated on or after its split date (its own training invoices would flatter it).
    - The scorecard ranks an invoice by its customer's rating score (higher = safer); the model
      by its probability of late payment as of the invoice's own date (what it would have said
      when the invoice was issued: ``_predict_invoices_at_invoice_date``).
    - Late is the review's own outcome (beyond its late days).

    Without an active model the result says so, and only the scorecard is reviewed.
    """

    _inherit = "credit.effectiveness.review"  # pylint: disable=consider-merging-classes-inherited

    def _model_comparison(self, review_date):
        """``{"model_id", "model_name", "later_invoices", "invoices", "late", "scorecard_auc",
        "scorecard_gini", "model_auc", "model_gini"}`` (the model's name as it was: a review is
        evidence); ``model_id`` False when the company has no active model."""
        model = self.env["credit.payment.model"].sudo()._active_model(self.company_id)
        if not model:
            return {"model_id": False, "model_name": False}
        rows = self._query_rated_invoices(review_date)
        unseen = [(move_id, score, late) for move_id, score, late, day in rows if day >= model.split_date]
        moves = self.env["account.move"].sudo().browse([move_id for move_id, _score, _late in unseen])
        probabilities = model._predict_invoices_at_invoice_date(moves) if moves else {}
        compared = [
            (score, probabilities[move_id], late)
            for move_id, score, late in unseen
            if probabilities.get(move_id) is not None
        ]
        outcomes = [late for _score, _probability, late in compared]
        by_score = discrimination(
            [score for score, _probability, _late in compared], outcomes, higher_is_riskier=False
        )
        by_model = discrimination([probability for _score, probability, _late in compared], outcomes)
        return {
            "model_id": model.id,
            "model_name": model.display_name,
            "later_invoices": len(rows),
            "invoices": by_score.count,
            "late": by_score.late_count,
            "scorecard_auc": by_score.auc,
            "scorecard_gini": by_score.gini,
            "model_auc": by_model.auc,
            "model_gini": by_model.gini,
        }

    def _query_rated_invoices(self, review_date):
        """``[(move id, rating score, late, invoice date)]``: every later invoice of the review's
        ratings, with the score of its customer's rating and its outcome."""
        return self.env.execute_query(
            SQL(
                """
                WITH %(rated)s, outcome AS (%(outcome)s)
                SELECT rated_moves.move_id, COALESCE(rated.score, 0), outcome.late, move.invoice_date
                  FROM rated_moves
                  JOIN rated ON rated.id = rated_moves.rating_id
                  JOIN outcome ON outcome.move_id = rated_moves.move_id
                  JOIN account_move move ON move.id = rated_moves.move_id
              ORDER BY rated_moves.move_id
                """,
                rated=self._rated_moves_sql(review_date),
                outcome=self._outcome_sql(SQL("SELECT move_id FROM rated_moves"), review_date),
            )
        )

    def _xlsx_model_table(self, ratio_format):
        """Header, rows and column formats of the XLSX sheet comparing the scorecard and the model."""
        model = (self.result or {}).get("model") or {}
        header = [
            self.env._("Ranked By"),
            self.env._("Later Invoices"),
            self.env._("Invoices Compared"),
            self.env._("Late"),
            self.env._("AUC"),
            self.env._("Gini"),
        ]
        if not model.get("model_id"):
            rows = [
                [self.env._("No active late-payment model in this company"), None, None, None, None, None]
            ]
            return header, rows, {}
        counts = [model["later_invoices"], model["invoices"], model["late"]]
        rows = [
            [
                self.env._("Scorecard (rating score)"),
                *counts,
                model["scorecard_auc"],
                model["scorecard_gini"],
            ],
            [
                model["model_name"],
                *counts,
                model["model_auc"],
                model["model_gini"],
            ],
        ]
        return header, rows, {4: ratio_format, 5: ratio_format}
