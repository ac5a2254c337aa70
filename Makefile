# The two set-up commands of the README are `make run` and `make test`;
# each installs what it needs first (scripts/bootstrap.sh), so a fresh clone works.
.PHONY: run test bench lint setup

ARGS ?=

setup:
	@scripts/bootstrap.sh

run: setup
	.venv/bin/registry serve $(ARGS)

test: setup
	@scripts/check-services.sh
	@scripts/install-browser.sh
	@scripts/install-oidc-provider.sh
	.venv/bin/pytest -n 2 $(ARGS)

lint: setup
	.venv/bin/ruff format --check .
	.venv/bin/ruff check .
	.venv/bin/mypy

bench: setup
	.venv/bin/python -m bench $(ARGS)
