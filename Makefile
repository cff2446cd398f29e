# Two commands do all the set-up on a fresh clone: `make test` and `make demo`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export HF_HUB_OFFLINE ?= 1
export TOKENIZERS_PARALLELISM ?= false
export ANONYMIZED_TELEMETRY ?= False

.PHONY: install test test-fast demo browser lint bench clean

install: $(VENV)/.installed

# torch==2.14.1 / torchvision==0.29.1 come from this machine's local wheels (see README).
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@

# Debian's Chromium for the playground's browser test (root, as in CI).
browser:
	@if [ ! -x /usr/bin/chromium ]; then \
		echo "installing Debian's chromium for the browser test"; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-color-emoji) >/dev/null; \
	fi

test: install browser
	$(BIN)/ruff check .
	$(BIN)/pytest -q -ra

# The unit tests only: fake embedder, no real models, no browser.
test-fast: install
	$(BIN)/pytest -q -m "not slow"

# The local playground: the real bot against a local Slack emulation, in a browser.
demo: install
	$(BIN)/argot demo

lint: install
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) .argot .pytest_cache test-artifacts
