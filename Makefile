# The two Quick start commands (README.md), plus the translation chores.
.PHONY: run test ci translations-extract translations-update translations-compile

run:
	./scripts/run

test:
	./scripts/test

ci:
	./.ci/run

VENV ?= .venv

translations-extract:
	$(VENV)/bin/pybabel extract -F babel.cfg -k _l -k lazy_gettext --no-location --sort-output \
		--project=Schakel --copyright-holder="Schakel" -o network/translations/messages.pot .

translations-update: translations-extract
	$(VENV)/bin/pybabel update -i network/translations/messages.pot -d network/translations -l en --no-fuzzy-matching

translations-compile:
	$(VENV)/bin/pybabel compile -d network/translations
