from odoo.exceptions import UserError


class CreditRefusal(UserError):
    """A confirmation the credit check refuses, offering the override request.

    It is a ``UserError`` for every caller that handles refusals (RPC clients, online
    confirmation, other add-ons); the web client shows it with Odoo's redirect-warning
    dialog (registered for this exception in ``static/src/core/credit_refusal.js``),
    whose button opens the request. Its arguments are a ``RedirectWarning``'s: message,
    action, button text, additional context.
    """

    def __init__(self, message, action, button_text, additional_context=None):
        Exception.__init__(self, message, action, button_text, additional_context)

    def __str__(self):
        return self.args[0]
