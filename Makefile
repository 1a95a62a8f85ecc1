# Everything a newcomer needs: `make run` and `make test` set up from nothing.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test bench lint clean eval eval-trained train-ner

$(STAMP): pyproject.toml
	# A venv left half-made (an interrupted first run) is made again.
	$(BIN)/python -m pip --version >/dev/null 2>&1 || $(PY) -m venv --clear $(VENV)
	# The system pip cannot resolve trafilatura's lxml[html_clean] extra: upgrade it first.
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

# The worker, its scheduler and the web pages (`run` starts `newsworker web` beside the
# worker and prints its address, http://127.0.0.1:8080/ by default).
run: install
	$(BIN)/newsworker db upgrade
	$(BIN)/newsworker run

test: install
	$(BIN)/python -m pytest -ra $(PYTEST_ARGS)

bench: install
	$(BIN)/python -m pip install --quiet -e ".[dev,bench]"
	$(BIN)/python bench/run.py

# NLP scores on the real annotated pages of ../shared/corpus, when it is there: each half
# of corpus/halves.json, then the whole, annotated as the service does (the model's own NER,
# the default of NEWSWORKER_NER_COMPONENT). Each rule was written against one half's
# errors and kept only if it did not cost the other half (README, "Development").
CORPUS ?= ../shared/corpus
HALF_NER := var/eval
TRAIN := $(BIN)/python -m worker.nlp.training --gold $(CORPUS)/gold
ifeq ($(wildcard $(CORPUS)/score.py),)
eval eval-trained train-ner:
	@echo "no $(CORPUS) here: nothing to evaluate or train on"
else
eval: install
	$(BIN)/python -m worker.nlp.evaluation --corpus $(CORPUS) \
		--ner-A model --ner-B model --ner-all model

# The fine-tuned NER measured the same way: each half annotated with a NER trained on the
# other half only (pages that NER never saw), the whole with the shipped one (trained on
# every page: that figure is on its own training pages).
eval-trained: install $(HALF_NER)/ner-A/model $(HALF_NER)/ner-B/model
	$(BIN)/python -m worker.nlp.evaluation --corpus $(CORPUS) \
		--ner-A $(HALF_NER)/ner-B --ner-B $(HALF_NER)/ner-A --ner-all news

# A half's NER is trained again when the training code or the gold changes.
$(HALF_NER)/ner-%/model: worker/nlp/training.py $(wildcard $(CORPUS)/gold/*.json) | install
	$(TRAIN) --half $* --out $(HALF_NER)/ner-$*

# Rebuilds the shipped NER (worker/nlp/ner_news) from ../shared/corpus/gold: fixed seed,
# about 5 minutes on 2 quiet cores.
train-ner: install
	$(TRAIN) --out worker/nlp/ner_news
endif

lint: install
	$(BIN)/ruff check worker tests bench

clean:
	rm -rf $(VENV) var
