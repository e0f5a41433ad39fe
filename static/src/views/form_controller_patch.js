/** @odoo-module **/
import { patch } from "@web/core/utils/patch";
import { FormController } from "@web/views/form/form_controller";

/**
 * A refused confirmation is recorded on the order in a transaction of its own (the
 * refusal rolls the user's back): reload the quotation, so that its credit status, the
 * blocked banner and the request button show at once, without reloading the page.
 */
patch(FormController.prototype, {
    async afterExecuteActionButton(clickParams) {
        await super.afterExecuteActionButton(...arguments);
        const record = this.model.root;
        if (record.resModel === "sale.order" && clickParams.name === "action_confirm" && record.resId) {
            await record.load();
        }
    },
});
