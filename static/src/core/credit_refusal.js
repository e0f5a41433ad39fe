/** @odoo-module **/
import { registry } from "@web/core/registry";
import { RedirectWarningDialog } from "@web/core/errors/error_dialogs";
import { _t } from "@web/core/l10n/translation";

// A refused confirmation offers the override request, as Odoo's RedirectWarning does, under a
// title that says what refused it.
export class CreditRefusalDialog extends RedirectWarningDialog {
    setup() {
        super.setup();
        this.title = _t("Credit Check");
    }
}

registry
    .category("error_dialogs")
    .add("odoo.addons.sale_credit_control.exceptions.CreditRefusal", CreditRefusalDialog);
