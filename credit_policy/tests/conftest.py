"""Shared test settings for the policy core.

Hypothesis runs without deadlines (CI machines vary) and with a bounded budget.

The repository root is also the Odoo add-on: its ``__init__.py`` imports Odoo
models, which fails outside an Odoo server. Before running the tests pytest
"sets up" every package on the way to them, importing each ``__init__.py``
under its dotted name (``<addon>``, then ``<addon>.credit_policy``). The policy
core needs none of the add-on, so those names are registered beforehand: the
add-on as an empty placeholder package, the core as the already imported
``credit_policy``. pytest reuses modules already in ``sys.modules``, so the
add-on's ``__init__.py`` never runs here.
"""

import sys
import types
from pathlib import Path

from hypothesis import HealthCheck, settings

import credit_policy


def _shield_addon_package():
    """Pre-register the packages above the tests under the names pytest derives from ``__init__.py`` files."""
    package_dir = Path(credit_policy.__file__).resolve().parent
    dirs = [package_dir]
    while (dirs[0].parent / "__init__.py").is_file():
        dirs.insert(0, dirs[0].parent)
    for depth, directory in enumerate(dirs):
        name = ".".join(d.name for d in dirs[: depth + 1])
        if directory == package_dir:
            module = credit_policy
        else:
            module = types.ModuleType(name, "Placeholder: the Odoo add-on is not imported by the core tests.")
            module.__path__ = [str(directory)]
            module.__file__ = str(directory / "__init__.py")
        sys.modules.setdefault(name, module)


_shield_addon_package()

settings.register_profile(
    "credit_policy",
    deadline=None,
    max_examples=100,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("credit_policy")
