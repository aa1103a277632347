# logsentry developer entry points. `make demo` and `make test` are the two the README gives.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: setup tools demo test lint kafka-fetch pretrained bench-accuracy bench-scoring bench-formats bench-long-requests bench-real-sites bench-export-check bench-cross-site bench-generalisation bench-explain bench-hostile bench-unit-cache bench-offline-score bench-cluster bench-training test-cluster clean

WHEELHOUSE := .cache/wheelhouse

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	# the base install's wheels and its build backend: tests/integration/test_base_install.py
	# installs from them with no package index
	$(BIN)/python -c "import tomllib; print(*tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies'], sep='\n')" > $(VENV)/base-requirements.txt
	$(BIN)/pip wheel --quiet --wheel-dir $(WHEELHOUSE) -r $(VENV)/base-requirements.txt "setuptools>=68" wheel
	touch $@

kafka-fetch:
	deploy/kafka/kafka-local fetch >/dev/null

# promtool (rule and metrics checks) and kustomize (manifest rendering) for the test suite
tools:
	deploy/tools/install-tools

demo: setup kafka-fetch
	PATH="$(CURDIR)/$(BIN):$$PATH" deploy/demo.sh

test: setup kafka-fetch tools
	PATH="$(CURDIR)/.cache/bin:$$PATH" $(BIN)/python -m pytest --ignore=tests/cluster

# faults of a real three-broker cluster (kafka-local --brokers 3): its own tier, CI runs it too
test-cluster: setup kafka-fetch
	PATH="$(CURDIR)/.cache/bin:$$PATH" $(BIN)/python -m pytest tests/cluster

# mypy reads the package as it is installed (logsentry.stream, ...): a tree of links in .cache
TYPECHECK := .cache/typecheck
lint: setup
	$(BIN)/ruff check . && $(BIN)/ruff format --check .
	rm -rf $(TYPECHECK) && mkdir -p $(TYPECHECK)/logsentry
	ln -s $(CURDIR)/logsentry/*.py $(CURDIR)/logsentry/commands $(TYPECHECK)/logsentry/
	for p in model_store stream trainer; do ln -s $(CURDIR)/$$p $(TYPECHECK)/logsentry/$$p; done
	cd $(TYPECHECK) && $(CURDIR)/$(BIN)/mypy --config-file $(CURDIR)/pyproject.toml -p logsentry

# the small model shipped in model_store/pretrained/ (committed; rebuilt on purpose, ~5 min on 2 cores):
# the default recipe on the shared reference data, seed 42
SHARED_DATA ?= ../shared/data
pretrained: setup
	$(BIN)/python -m logsentry.trainer.pretrained --data $(SHARED_DATA)/fwaf-access.csv

bench-accuracy: setup
	$(BIN)/python bench/accuracy.py

bench-scoring: setup kafka-fetch
	$(BIN)/python bench/scoring.py

# detection an access log loses (no body), and what each input format costs to read
bench-formats: setup kafka-fetch
	$(BIN)/python bench/formats.py

# payloads followed by kilobytes of filler: windows versus truncation
bench-long-requests: setup
	$(BIN)/python bench/long_requests.py

# real sites' access logs training never read: ordinary requests flagged, real payloads grafted
# in detected; side by side with TF-IDF + LR and OWASP CRS on ModSecurity (needs the rules:
# apt-get install modsecurity-crs)
bench-real-sites: setup
	$(BIN)/pip install --quiet -e ".[bench]"
	$(BIN)/python bench/real_sites.py

# how far each architecture's ONNX export scores from its Keras model (several seeds)
bench-export-check: setup
	$(BIN)/python bench/export_check.py

# generated sites whose vocabulary training never saw: this measures the generator, not real
# traffic (bench/real_sites.py does); recipes side by side (bench/heldout.py)
bench-cross-site: setup
	$(BIN)/python bench/cross_site.py

# leave-one-family-out: each attack family's detection when training never showed it
bench-generalisation: setup
	$(BIN)/python bench/generalisation.py

# explanations under attack: the budget, every alert explained, none (1-100 % attacks; a live run at 2,500 events/s)
bench-explain: setup kafka-fetch
	$(BIN)/python bench/explain.py

# hostile but valid messages: score's memory and time per byte, the stream under a flood of 1 MB requests
bench-hostile: setup kafka-fetch
	$(BIN)/python bench/hostile.py

# the unit-score cache: real sites' repeated values against traffic that never repeats
bench-unit-cache: setup
	$(BIN)/python bench/unit_cache.py

# whole-process score on distinct and repeated events against the seed path; fp16/int8 exports
bench-offline-score: setup
	$(BIN)/python bench/offline_score.py

# the stream on a three-broker cluster beside one broker, same run
bench-cluster: setup kafka-fetch
	$(BIN)/python bench/cluster.py

# training at scale: streaming versus in-memory, peak memory versus rows, 2 workers versus 1
bench-training: setup
	$(BIN)/python bench/training_scale.py compare
	$(BIN)/python bench/training_scale.py memory --full
	$(BIN)/python bench/training_scale.py workers

clean:
	rm -rf .cache work
