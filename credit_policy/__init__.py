"""Pure-Python credit policy core of ``sale_credit_control``.

Nothing in this package imports ``odoo``: the Odoo layer gathers figures from
the database, converts them to the company currency, and hands plain values
to these functions. They decide; the Odoo layer persists and explains.
"""

from .behaviour import (  # noqa: F401
    PaymentAggregates,
    PaymentBehaviour,
    aggregate_paid,
    days_sales_outstanding,
    late_share,
    late_share_trend,
    weighted_days_beyond_terms,
)
from .decision import (  # noqa: F401
    ACTIONS,
    CreditFacts,
    CreditPolicy,
    Decision,
    Reason,
    approval_covers,
    evaluate,
)
from .evaluation import auc, late_share_by_grade  # noqa: F401
from .exposure import Exposure  # noqa: F401
from .grades import Grade, GradeTable, default_grade_table, grade_caps, recommended_limit  # noqa: F401
from .schedule import REVIEW_DUE_SOON, REVIEW_OK, REVIEW_OVERDUE, next_review_date, review_due  # noqa: F401
from .scoring import Band, Factor, Scorecard, ScoreLine, ScoreResult, score  # noqa: F401
