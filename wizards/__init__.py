from . import credit_approval_request
from . import credit_approval_decide
from . import credit_hold
from . import credit_limit_request_reject
from . import credit_rating_run
from . import credit_portfolio_export
from . import credit_effectiveness_review
from . import credit_payment_model_train
