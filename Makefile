# The two commands a newcomer needs (see README.md).
.PHONY: run test bench
run:  ## Odoo on http://127.0.0.1:8069 with the add-on and demo data
	bash tools/run.sh
test:  ## tier 1 (pytest) always, tier 2 (Odoo tests) when Odoo 18 is installed
	bash tools/test.sh
