from . import models
from . import reports
from . import wizards
from . import controllers
from .hooks import uninstall_hook
