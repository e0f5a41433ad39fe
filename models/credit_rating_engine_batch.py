import json
import math

from odoo import api, models
from odoo.tools import SQL

from ..credit_policy.country import cap_recommendation
from ..credit_policy.factors import rating_trend
from ..credit_policy.grades import recommended_limit
from ..credit_policy.schedule import next_review_date
from ..credit_policy.scoring import score


class CreditRatingEngineBatch(models.AbstractModel):
    """Rating one batch of customers: scores each customer with the policy core, then
    writes the batch in bulk (one INSERT of the ratings, the missing profiles, one
    UPDATE of the profiles)."""

    _inherit = "credit.rating.engine"  # pylint: disable=consider-merging-classes-inherited  # split by topic

    # ------------------------------------------------------------
    # ONE BATCH
    # ------------------------------------------------------------

    @api.model
    def _rate_batch(self, partner_ids, company, as_of, trigger, context):
        card, table, grades = context["card"], context["table"], context["grades"]
        country_risks = self._query_country_risks(partner_ids, company)
        facts = self._customer_facts(
            partner_ids,
            company,
            as_of,
            country_risks=country_risks,
            predict_late=any(factor.code == "predicted_late_share" for factor in card.factors),
        )
        profiles = self._profiles(partner_ids, company)
        scorecard = context["scorecard"]
        convert = self.env["credit.profile"]._converter(company, as_of)
        review_dates = {}  # months -> next review date
        vals_list, reviews = [], []
        for partner_id in partner_ids:
            customer = facts[partner_id]
            result = score(card, customer["values"])
            rounded = round(result.score, 2)
            grade = table.grade_for(rounded)
            previous_code = profiles.get(partner_id, (None, None))[1]
            limit = recommended_limit(
                grade,
                revenue=None if customer["revenue"] is None else convert(customer["revenue"]),
                equity=None if customer["equity"] is None else convert(customer["equity"]),
            )
            # The country's cap is one more cap on the recommendation (国家风险).
            country = country_risks.get(partner_id)
            limit, country_capped = cap_recommendation(limit, country.limit_cap if country else None)
            if grade.review_months not in review_dates:
                review_dates[grade.review_months] = next_review_date(as_of, grade.review_months)
            vals_list.append(
                {
                    "partner_id": partner_id,
                    "company_id": company.id,
                    "date": as_of,
                    "scorecard_id": scorecard.id,
                    "score": rounded,
                    "grade_id": grades.get(grade.code),
                    "grade_code": grade.code,
                    "previous_grade_code": previous_code or None,
                    "trend": rating_trend(table, previous_code, grade.code),
                    "recommended_limit": limit or 0.0,
                    "has_recommendation": limit is not None,
                    "country_id": country.country_id if country else None,
                    "country_risk_class": country.risk_class if country else None,
                    "country_limit_cap": country.limit_cap if country else None,
                    "country_cap_applied": country_capped,
                    "breakdown": [self._breakdown_line(line) for line in result.lines],
                    "trigger": trigger,
                    "user_id": self.env.uid,
                }
            )
            reviews.append(review_dates[grade.review_months])
        rating_ids = self._insert_ratings(vals_list)
        # Logged once for the whole run (one INSERT), so the company's log is locked only at its end.
        context.setdefault("decision_log", []).append((vals_list, rating_ids))
        missing = [partner_id for partner_id in partner_ids if partner_id not in profiles]
        if missing:
            created = self._create_profiles(missing, company)
            profiles.update({partner_id: (profile_id, None) for partner_id, profile_id in created.items()})
        self._update_profiles([profiles[partner_id][0] for partner_id in partner_ids], rating_ids, reviews)
        # A new review date may lift the "review expired" rule: re-check the customers' held quotations.
        self.env["sale.order"]._credit_reevaluate_partners(
            self.env["res.partner"].browse(partner_ids), company
        )
        return rating_ids

    @api.model
    def _breakdown_line(self, line):
        value = line.value
        if value is not None:
            value = float(value)
            if not math.isfinite(value):
                value = None
        return {
            "code": line.code,
            "value": value,
            "points": line.points,
            "weight": line.weight,
            "contribution": line.contribution,
            "status": line.status,
        }

    @api.model
    def _profiles(self, partner_ids, company):
        """``{partner_id: (profile_id, current grade code)}`` of the existing profiles."""
        self.env["credit.profile"].flush_model(["partner_id", "company_id", "rating_id"])
        self.env["credit.rating"].flush_model(["grade_code"])
        rows = self.env.execute_query(
            SQL(
                """
                SELECT profile.partner_id, profile.id, rating.grade_code
                  FROM credit_profile profile
             LEFT JOIN credit_rating rating ON rating.id = profile.rating_id
                 WHERE profile.company_id = %s AND profile.partner_id IN %s
                """,
                company.id,
                tuple(partner_ids),
            )
        )
        return {partner_id: (profile_id, grade_code) for partner_id, profile_id, grade_code in rows}

    @api.model
    def _insert_ratings(self, vals_list):
        """Insert the ratings of a batch in one statement; returns their ids in the order of ``vals_list``.

        Ratings are immutable records written by this engine only, so they are
        inserted directly (one ``INSERT ... SELECT FROM unnest(column arrays)``):
        the ORM's ``create()`` costs about 2 ms per rating (defaults, caches,
        conversions), which alone would cap a batch run at 500 customers per second.
        The values are converted like the ORM does (Json as jsonb, empty as NULL).
        """
        Rating = self.env["credit.rating"]
        names = list(vals_list[0])
        arrays = []
        for name in names:
            field = Rating._fields[name]
            values = [vals[name] for vals in vals_list]
            if field.type == "json":
                values = [None if value is None else json.dumps(value) for value in values]
            elif field.type in ("many2one", "char", "selection"):
                values = [value or None for value in values]
            arrays.append(SQL("%s::%s[]", values, SQL(field.column_type[1])))
        now = self.env.cr.now()
        rows = self.env.execute_query(
            SQL(
                """
                INSERT INTO credit_rating (%(columns)s, create_uid, create_date, write_uid, write_date)
                SELECT new.*, %(uid)s, %(now)s, %(uid)s, %(now)s FROM unnest(%(arrays)s) AS new
                RETURNING id, partner_id
                """,
                columns=SQL(", ").join(SQL.identifier(name) for name in names),
                arrays=SQL(", ").join(arrays),
                uid=self.env.uid,
                now=now,
            )
        )
        ids = {partner_id: rating_id for rating_id, partner_id in rows}
        return [ids[vals["partner_id"]] for vals in vals_list]

    @api.model
    def _create_profiles(self, partner_ids, company):
        """Create the missing credit profiles of ``partner_ids``; returns ``{partner_id: profile_id}``.

        The first profile is created by the ORM, so that every default, precomputed value,
        creation rule and constraint applies to it; the others are copies of its values, each
        with its own customer (a commercial partner: the engine rates those only), in one
        INSERT naming its columns (:meth:`_profile_copied_columns`): the ORM would take about
        0.5 ms per profile, half the time of a rating. When a stored computed field of the
        profile depends on the partner, copies would be wrong and every profile goes through
        the ORM's batch create.
        """
        Profile = (
            self.env["credit.profile"]
            .sudo()
            .with_company(company)
            .with_context(tracking_disable=True, mail_create_nolog=True, mail_create_nosubscribe=True)
        )
        if self._profile_depends_on_partner():
            profiles = Profile.create(
                [{"partner_id": partner_id, "company_id": company.id} for partner_id in partner_ids]
            )
            return dict(zip(partner_ids, profiles.ids, strict=True))
        first = Profile.create({"partner_id": partner_ids[0], "company_id": company.id})
        result = {partner_ids[0]: first.id}
        if len(partner_ids) == 1:
            return result
        first.flush_recordset()
        columns = self._profile_copied_columns()
        now = self.env.cr.now()
        rows = self.env.execute_query(
            SQL(
                """
                INSERT INTO credit_profile
                       (partner_id, %(columns)s, create_uid, create_date, write_uid, write_date)
                SELECT new.partner_id, %(source)s, %(uid)s, %(now)s, %(uid)s, %(now)s
                  FROM credit_profile source, unnest(%(partners)s::int[]) AS new(partner_id)
                 WHERE source.id = %(first)s
             RETURNING partner_id, id
                """,
                columns=SQL(", ").join(SQL.identifier(name) for name in columns),
                source=SQL(", ").join(SQL.identifier("source", name) for name in columns),
                partners=partner_ids[1:],
                first=first.id,
                uid=self.env.uid,
                now=now,
            )
        )
        result.update(rows)
        self.env["res.partner"].invalidate_model(["credit_profile_ids", "credit_profile_id"])
        return result

    @api.model
    def _profile_copied_columns(self):
        """The columns a copied profile takes from the first one: the profile's stored fields
        (as the model defines them, not as the table happens to be), but its customer and
        the access log."""
        skipped = {"id", "partner_id", *models.LOG_ACCESS_COLUMNS}
        return [
            name
            for name, field in self.env["credit.profile"]._fields.items()
            if field.store and field.column_type and name not in skipped
        ]

    @api.model
    def _profile_depends_on_partner(self):
        Profile = self.env["credit.profile"]
        for field in Profile._fields.values():
            if field.store and (field.compute or field.related) and field.name != "partner_id":
                depends = field.get_depends(Profile)[0]
                if any(path.split(".")[0] == "partner_id" for path in depends):
                    return True
        return False

    @api.model
    def _update_profiles(self, profile_ids, rating_ids, review_dates):
        """Point each profile at its new rating and set its next review, in one UPDATE."""
        if not profile_ids:
            return
        self.env["credit.profile"].flush_model(["rating_id", "review_date"])
        self.env.cr.execute(
            SQL(
                """
                UPDATE credit_profile profile
                   SET rating_id = new.rating_id, review_date = new.review_date,
                       write_uid = %(uid)s, write_date = %(now)s
                  FROM unnest(%(profiles)s::int[], %(ratings)s::int[], %(reviews)s::date[])
                       AS new(profile_id, rating_id, review_date)
                 WHERE profile.id = new.profile_id
                """,
                uid=self.env.uid,
                now=self.env.cr.now(),
                profiles=profile_ids,
                ratings=rating_ids,
                reviews=review_dates,
            )
        )
        self.env["credit.profile"].invalidate_model(
            ["rating_id", "rating_ids", "review_date", "write_uid", "write_date"]
        )
