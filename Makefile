# Everything a newcomer needs: `make run` and `make test` set up from nothing.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test bench lint clean eval train-ner

$(STAMP): pyproject.toml
	# A venv left half-made (an interrupted first run) is made again.
	$(BIN)/python -m pip --version >/dev/null 2>&1 || $(PY) -m venv --clear $(VENV)
	# The system pip cannot resolve trafilatura's lxml[html_clean] extra: upgrade it first.
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/newsworker db upgrade
	$(BIN)/newsworker run

test: install
	$(BIN)/python -m pytest -ra $(PYTEST_ARGS)

bench: install
	$(BIN)/python -m pip install --quiet -e ".[dev,bench]"
	$(BIN)/python bench/run.py

# NLP scores on the real annotated pages of ../shared/corpus, when it is there: each half
# of corpus/halves.json annotated with a NER trained on the other half only (so those
# figures are on pages the model never saw), then the whole with the shipped NER (trained
# on every page: that figure is on its own training pages).
CORPUS ?= ../shared/corpus
HALF_NER := var/eval
TRAIN := $(BIN)/python -m worker.nlp.training --gold $(CORPUS)/gold
eval: install
	@if [ -f $(CORPUS)/score.py ]; then \
		for half in A B; do [ -f $(HALF_NER)/ner-$$half/model ] || \
			$(TRAIN) --half $$half --out $(HALF_NER)/ner-$$half || exit 1; done; \
		$(BIN)/python -m worker.nlp.evaluation --corpus $(CORPUS) \
			--ner-A $(HALF_NER)/ner-B --ner-B $(HALF_NER)/ner-A; \
	else echo "no $(CORPUS) here: nothing to evaluate"; fi

# Rebuilds the shipped NER (worker/nlp/ner_news) from ../shared/corpus/gold: fixed seed,
# about 5 minutes on 2 cores. Drops the half models of `make eval`, trained by older code.
train-ner: install
	@test -f $(CORPUS)/score.py || { echo "no $(CORPUS) here: nothing to train on"; exit 1; }
	rm -rf $(HALF_NER)
	$(TRAIN) --out worker/nlp/ner_news

lint: install
	$(BIN)/ruff check worker tests bench

clean:
	rm -rf $(VENV) var
