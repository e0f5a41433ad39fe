# The commands a newcomer needs (see README.md). Odoo in a virtualenv: add PYTHON=, e.g.
#   make run PYTHON=~/venvs/odoo18/bin/python
.PHONY: run reset test help
run:  ## Odoo on http://127.0.0.1:8069 with the add-on and demo data (installs, or updates when the code changed)
	bash tools/run.sh
reset:  ## drop the demo database (and its filestore), then as `make run`: fresh demo data
	bash tools/run.sh --reset
test:  ## tier 1 (pytest) always, tier 2 (Odoo tests) when Odoo 18 is installed
	bash tools/test.sh
help:  ## this list
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'
