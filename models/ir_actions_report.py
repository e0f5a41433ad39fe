import functools
import logging
import subprocess

from odoo import models

from odoo.addons.base.models.ir_actions_report import _get_wkhtmltopdf_bin

_logger = logging.getLogger(__name__)

ADDON_REPORT_PREFIX = "sale_credit_control."


@functools.cache
def _wkhtmltopdf_renders_several_pages():
    """Whether the installed wkhtmltopdf accepts several page objects in one run.

    Builds without Odoo's patched Qt (Debian's ``wkhtmltopdf`` package among them) exit
    with "unknown error" when given more than one HTML page, which is how Odoo prints
    several records at once.
    """
    try:
        version = subprocess.run(
            [_get_wkhtmltopdf_bin(), "--version"], capture_output=True, text=True, timeout=30, check=False
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return True  # no binary: Odoo reports that itself
    return "patched qt" in version.lower()


class IrActionsReport(models.Model):
    _inherit = "ir.actions.report"

    def _render_qweb_pdf_prepare_streams(self, report_ref, data, res_ids=None):
        """Print this add-on's reports one record per wkhtmltopdf run when the installed
        wkhtmltopdf cannot render several pages (unpatched Qt); Odoo merges the streams."""
        report = self._get_report(report_ref)
        distinct_ids = list(dict.fromkeys(res_ids or []))
        if (
            not report.report_name.startswith(ADDON_REPORT_PREFIX)
            or len(distinct_ids) < 2
            or len(distinct_ids) != len(res_ids)
            or _wkhtmltopdf_renders_several_pages()
        ):
            return super()._render_qweb_pdf_prepare_streams(report_ref, data, res_ids=res_ids)
        _logger.info("wkhtmltopdf without patched Qt: printing %s one record at a time", report.report_name)
        streams = {}
        for res_id in distinct_ids:
            streams.update(super()._render_qweb_pdf_prepare_streams(report_ref, dict(data), res_ids=[res_id]))
        return streams
