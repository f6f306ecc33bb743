# The two Quick start commands (README.md), plus the translation chores.
.PHONY: run test ci bench translations-extract translations-update translations-compile

run:
	./scripts/run

test:
	./scripts/test

ci:
	./.ci/run

# Benchmarks (README, "Benchmarks"): BENCH_DB=sqlite|postgresql, BENCH_FACTOR, BENCH_DURATION.
BENCH_DB ?= postgresql
BENCH_FACTOR ?= 0.01
BENCH_DURATION ?= 10

bench:
	$(VENV)/bin/python -m tests.bench.harness --db $(BENCH_DB) --factor $(BENCH_FACTOR) --duration $(BENCH_DURATION)

VENV ?= .venv

translations-extract:
	$(VENV)/bin/pybabel extract -F babel.cfg -k _l -k lazy_gettext --no-location --sort-output \
		--project=Schakel --copyright-holder="Schakel" -o network/translations/messages.pot .

translations-update: translations-extract
	$(VENV)/bin/pybabel update -i network/translations/messages.pot -d network/translations -l en --no-fuzzy-matching

translations-compile:
	$(VENV)/bin/pybabel compile -d network/translations
