/** @odoo-module **/
/**
 * The override story, one tour per user (data from tests/test_tour.py):
 * the salesperson's confirmation is refused and they request an override, a credit manager
 * approves it from their activity up to an amount and a date, the salesperson confirms.
 */
import { registry } from "@web/core/registry";

const tours = registry.category("web_tour.tours");

tours.add("sale_credit_control_request_override", {
    steps: () => [
        {
            content: "Confirm the over-limit quotation",
            trigger: ".o_form_view .o_statusbar_buttons button[name='action_confirm']",
            run: "click",
        },
        {
            content: "The refusal says the credit check refused the confirmation",
            trigger: ".modal .modal-title:contains('Credit Check')",
        },
        {
            content: "The refusal gives the reasons",
            trigger: ".modal .o_error_dialog:contains('Credit limit exceeded')",
        },
        {
            content: "Request an override from the refusal",
            trigger: ".modal .o_error_dialog .btn-primary:contains('Request Credit Approval')",
            run: "click",
        },
        {
            content: "Say why",
            trigger: ".modal .o_field_widget[name='reason'] textarea",
            run: "edit Strategic customer: the overdue invoice is paid next week",
        },
        {
            content: "Send the request",
            trigger: ".modal button[name='action_request']",
            run: "click",
        },
        {
            content: "The quotation waits for the decision",
            trigger: ".o_form_view .alert-warning:contains('override approval pending')",
        },
    ],
});

tours.add("sale_credit_control_approve_override", {
    steps: () => [
        {
            content: "Open my activities",
            trigger: ".o_menu_systray i[aria-label='Activities']",
            run: "click",
        },
        {
            content: "Open the override requests I have to decide on",
            trigger: ".o-mail-ActivityGroup:contains('Credit Override Approval')",
            run: "click",
        },
        {
            content: "Open the request",
            trigger: ".o_data_row:contains('Tour Customer') .o_data_cell[name='name']",
            run: "click",
        },
        {
            content: "Approve",
            trigger: ".o_form_view button[name='action_open_approve_dialog']",
            run: "click",
        },
        {
            content: "The dialog proposes the order total",
            trigger: ".modal .o_field_widget[name='approved_amount'] input:value('1,500.00')",
        },
        {
            content: "Approve up to an amount",
            trigger: ".modal .o_field_widget[name='approved_amount'] input",
            run: "edit 1600",
        },
        {
            content: "until a date",
            trigger: ".modal .o_field_widget[name='valid_until'] input",
            run: "edit 12/31/2099",
        },
        {
            content: "with a note",
            trigger: ".modal .o_field_widget[name='note'] textarea",
            run: "edit Paid by the end of the month",
        },
        {
            content: "Decide",
            trigger: ".modal-footer button[name='action_confirm']",
            run: "click",
        },
        {
            content: "The request is approved",
            trigger: ".o_form_view .o_statusbar_status .o_arrow_button_current:contains('Approved')",
        },
    ],
});

tours.add("sale_credit_control_confirm_approved", {
    steps: () => [
        {
            content: "The quotation says it can be confirmed",
            trigger: ".o_form_view .alert-success:contains('Credit override approved')",
        },
        {
            content: "Confirm it",
            trigger: ".o_form_view .o_statusbar_buttons button[name='action_confirm']",
            run: "click",
        },
        {
            content: "It is a sales order",
            trigger: ".o_form_view .o_statusbar_status .o_arrow_button_current:contains('Sales Order')",
        },
    ],
});

tours.add("sale_credit_control_partner_credit_tab", {
    steps: () => [
        {
            content: "Open the customer's Credit tab",
            trigger: ".o_form_view .o_notebook .nav-link:contains('Credit')",
            run: "click",
        },
        {
            content: "The tab shows the customer's exposure",
            trigger: ".o_form_view .tab-pane.active .o_field_widget[name='credit_exposure']",
        },
    ],
});

tours.add("sale_credit_control_held_orders", {
    steps: () => [
        {
            content: "The held quotation is listed with its reasons",
            trigger: ".o_list_view .o_data_row:contains('Held Customer'):contains('Credit limit exceeded')",
        },
        {
            content: "Open it",
            trigger: ".o_list_view .o_data_row:contains('Held Customer') .o_data_cell[name='name']",
            run: "click",
        },
        {
            content: "The quotation says why it is blocked",
            trigger: ".o_form_view .alert-warning:contains('Blocked by the credit check')",
        },
    ],
});

tours.add("sale_credit_control_rating_breakdown", {
    steps: () => [
        {
            content: "Open the customer's rating",
            trigger: ".o_list_view .o_data_row:contains('Tour Customer') .o_data_cell[name='date']",
            run: "click",
        },
        {
            content: "The rating explains its grade factor by factor",
            trigger: ".o_form_view .o_credit_rating_breakdown td",
        },
    ],
});
