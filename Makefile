# Two commands a newcomer needs (see README):
#   make demo   set up .venv and analyse the bundled sample video
#   make test   set up .venv with dev tools and run the whole test suite
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
OUT    ?= demo-output

.PHONY: demo test chromium media-tools lint bench-shots bench-speed bench-memory clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[attributes]'
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev,ray,mongo,server,attributes]'
	touch $@ $(VENV)/.installed

# The browser tests drive Debian's Chromium through Playwright (Playwright cannot download
# its own browsers here); installed once, as root or through sudo.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
chromium:
	@command -v chromium >/dev/null || { $(SUDO) apt-get update -qq && \
		$(SUDO) apt-get install -y -qq --no-install-recommends chromium >/dev/null; }

# The audio tests compare loudness with FFmpeg's ebur128 filter and find speech that
# espeak-ng speaks; the live-input tests stream with `ffmpeg -re`; both are Debian packages.
media-tools:
	@command -v ffmpeg >/dev/null && command -v espeak-ng >/dev/null || { \
		$(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq \
		--no-install-recommends ffmpeg espeak-ng >/dev/null; }

demo: $(VENV)/.installed
	$(BIN)/vidscene analyze examples/demo.mp4 --force --attributes all \
		--json $(OUT)/demo.json --csv $(OUT)/demo.csv --edl $(OUT)/demo.edl \
		--vtt $(OUT)/demo.vtt --html $(OUT)/demo.html
	@echo "Report: $(OUT)/demo.html (open it in a browser)"

# The suite runs in a network namespace that has only loopback (scripts/loopback.sh): the Ray
# tests start real clusters, and Ray listens on every interface it can see.
test: $(VENV)/.installed-dev chromium media-tools
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/mypy src
	scripts/loopback.sh $(BIN)/python -m pytest -q

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy src

bench-shots: $(VENV)/.installed-dev
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python bench/shots.py

bench-speed: $(VENV)/.installed-dev
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python bench/speed.py

bench-memory: $(VENV)/.installed-dev
	$(BIN)/python bench/memory.py

clean:
	rm -rf $(VENV) $(OUT) build *.egg-info .pytest_cache
