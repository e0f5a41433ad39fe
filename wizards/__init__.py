from . import credit_approval_request
from . import credit_hold
