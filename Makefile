# Acute Acupuncture assistant. `make run` and `make test` do all the set-up on a fresh machine.
SHELL := /bin/bash
.DEFAULT_GOAL := help
.ONESHELL:
.SHELLFLAGS := -eu -o pipefail -c

PY      := .venv/bin/python
RASA    := .venv/bin/rasa
ENV     := source scripts/env.sh
MODEL   := models/clinic.tar.gz
SPACY   := .build/spacy_en_clinic
# Rules written from the intent table (`make rules`); its families ("faq_*") cover the intents listed in domain/.
GENERATED_RULES := data/rules/answers.yml data/rules/form_interruptions.yml
RULE_SOURCES := bot/dialogue/intents.py bot/dialogue/rule_files.py $(wildcard domain/*.yml)
TRAINING_FILES := config.yml $(wildcard domain/*.yml) $(GENERATED_RULES) $(shell find data -name '*.yml') bot/nlu/red_flag_detector.py $(SPACY)/.stamp

WIDGET_DEPS := web_widget/node_modules/.stamp

.PHONY: help venv system-deps widget-deps run shell test bench profile lint validate rules train nlu-compare clean retention run-production bench-production staff-user export-annotations

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

venv: ## create or reuse the pinned virtual environment (cache keyed by requirements.lock)
	@scripts/venv.sh >/dev/null

$(SPACY)/.stamp: bot/nlu/build_spacy.py bot/nlu/spacy_patterns.py bot/clinic/acc_codes.py requirements.lock | venv
	@$(ENV); $(PY) -m bot.nlu.build_spacy $(SPACY)
	touch $@

# Training never rewrites them: it stops if they are stale (so a stale file in git cannot pass unnoticed).
$(GENERATED_RULES) &: $(RULE_SOURCES) | venv
	@$(ENV); $(PY) -m bot.dialogue.rule_files --check

rules: | venv ## write the rules generated from bot/dialogue/intents.py (data/rules/answers.yml, form_interruptions.yml)
	@$(ENV); $(PY) -m bot.dialogue.rule_files

$(MODEL): $(TRAINING_FILES) requirements.lock | venv
	@$(ENV); echo ">> training (data or config changed)"
	$(RASA) train --config config.yml --domain domain --data data --out models --fixed-model-name clinic --force

train: $(MODEL) ## train the model if training data or config changed

$(WIDGET_DEPS): web_widget/package.json web_widget/package-lock.json
	@command -v npm >/dev/null || { echo "npm is missing: run \`make system-deps\` (as root)" >&2; exit 1; }
	echo ">> npm ci in web_widget (socket.io-client, axe-core: pinned by package-lock.json)"
	cd web_widget && npm ci --no-audit --no-fund --loglevel=error
	touch node_modules/.stamp

widget-deps: $(WIDGET_DEPS) ## install the chat widget's pinned npm packages (npm ci) when missing or changed

run: venv $(MODEL) $(WIDGET_DEPS) ## start the action server, Rasa (:5005) and the web service with the widget's demo page (:8000)
	@$(ENV); exec $(PY) -m bot.processes.launcher

shell: venv $(MODEL) ## talk to the assistant in the terminal (rasa shell), with the action server (both on loopback)
	@$(ENV); exec $(PY) -m bot.processes.launcher shell

staff-user: venv ## make a staff account for the console (asks for user name, first name, password)
	@$(ENV); $(PY) -m bot.staff.create_user

validate: venv $(GENERATED_RULES) ## check training data and domain
	@$(ENV); $(RASA) data validate --domain domain --fail-on-warnings

lint: venv ## ruff
	@.venv/bin/ruff check .

system-deps: ## Debian packages the tests need (chromium, node, ...): installed when missing
	@bash scripts/system_deps.sh

test: system-deps venv $(MODEL) $(WIDGET_DEPS) lint ## every test: data validation, test stories, NLU evaluation, unit and end-to-end tests
	@$(ENV); $(PY) -m pytest

bench: venv $(MODEL) ## benchmarks -> bench/results.* (one process), then the production profile -> bench/production_results.*
	@$(ENV); $(PY) -m bench.run
	@$(ENV); $(PY) -m bench.production_bench

profile: venv $(MODEL) ## where a message's time goes in rasa run under load (py-spy)
	@$(ENV); $(PY) -m bench.profile

nlu-compare: venv $(SPACY)/.stamp ## NLU evaluation with and without the spaCy pipeline -> tests/reports/nlu_compare.md
	@$(ENV); $(PY) -m bench.nlu_compare

run-production: venv $(MODEL) ## env DATABASE_URL (PostgreSQL), REDIS_URL, RASA_WORKERS (2) Rasa processes behind nginx on PUBLIC_PORT (8080)
	@$(ENV); exec $(PY) -m bot.processes.production

bench-production: venv $(MODEL) ## only the second half of make bench: latency at messages 5/200 (both profiles), load with 1 and 2 Rasa processes
	@$(ENV); $(PY) -m bench.production_bench

DAYS ?= 90
retention: venv ## delete conversations and requests older than DAYS days (default 90, docs/production.md)
	@$(ENV); $(PY) -m bot.privacy.retention --days $(DAYS)

OUT ?= data/nlu/reviewed.yml
export-annotations: venv ## write staff's annotated messages (console: Review) as training data to OUT (default data/nlu/reviewed.yml); then make train
	@$(ENV); $(PY) -m bot.staff.export_annotations --out $(OUT)

clean: ## remove trained models and build output (the cached virtual environment stays)
	rm -rf models .build .data tests/reports results
