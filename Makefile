# Everything a newcomer needs: `make run` and `make test` set up from nothing.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test bench lint clean eval

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

# NLP scores on the real annotated pages of ../shared/corpus (issue 11), when it is there.
CORPUS ?= ../shared/corpus
eval: install
	@if [ -f $(CORPUS)/score.py ]; then \
		$(BIN)/python $(CORPUS)/score.py $(CORPUS)/gold --cmd "$(BIN)/newsworker extract {path} --format json"; \
	else echo "no $(CORPUS) here: nothing to evaluate"; fi

lint: install
	$(BIN)/ruff check worker tests bench

clean:
	rm -rf $(VENV) var
