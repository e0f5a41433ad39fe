from . import credit_profile_report
