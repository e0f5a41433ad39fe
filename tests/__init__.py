from . import test_credit_check
