/** @odoo-module **/
import { registry } from "@web/core/registry";
import { RedirectWarningDialog } from "@web/core/errors/error_dialogs";

// A refused confirmation offers the override request, as Odoo's RedirectWarning does.
registry
    .category("error_dialogs")
    .add("odoo.addons.sale_credit_control.exceptions.CreditRefusal", RedirectWarningDialog);
