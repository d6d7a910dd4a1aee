# wasmqq: the two entry points are `make demo` and `make test`.
CARGO ?= cargo
WASM_TARGET := wasm32-wasip2
# Every Rust example plugin and test fixture is a crate named after its folder.
EXAMPLES := $(patsubst plugins/%/Cargo.toml,%,$(wildcard plugins/*/Cargo.toml))
WASM_CRATES := $(EXAMPLES) $(patsubst tests/fixtures/%/Cargo.toml,%,$(wildcard tests/fixtures/*/Cargo.toml))
DEMO_DIR := target/demo-plugins
WASM_DIR := target/$(WASM_TARGET)/release

# Python example plugins (a folder with app.py), built by componentize-py from
# PyPI, pinned and installed into a virtualenv under target/ on first use.
PY_PLUGINS := $(patsubst plugins/%/app.py,%,$(wildcard plugins/*/app.py))
PY_VENV := target/py
COMPONENTIZE_PY_VERSION := 0.25.1
COMPONENTIZE_PY := $(PY_VENV)/bin/componentize-py
WIT_DIR := plugin-api/wit/since_v0.1.0

.PHONY: demo test plugins python-plugins wasm-target soak fuzz fuzz-build fuzz-check deny

wasm-target:
	@rustup target list --installed | grep -qx $(WASM_TARGET) || rustup target add $(WASM_TARGET)

# Build every plugin and fixture once, as wasm32-wasip2 components.
plugins: wasm-target python-plugins
	$(CARGO) build --release --target $(WASM_TARGET) $(addprefix -p ,$(WASM_CRATES))

# The Python plugins, when componentize-py can be installed (else a warning:
# the tests that need them say they are skipped).
python-plugins: $(foreach p,$(PY_PLUGINS),$(WASM_DIR)/$(subst -,_,$(p)).wasm)

$(COMPONENTIZE_PY):
	@python3 -m venv $(PY_VENV) && $(PY_VENV)/bin/pip install -q componentize-py==$(COMPONENTIZE_PY_VERSION) \
	  || echo "warning: cannot install componentize-py $(COMPONENTIZE_PY_VERSION) into $(PY_VENV); Python plugins are not built"

define python_plugin
$(WASM_DIR)/$(subst -,_,$(1)).wasm: $(wildcard plugins/$(1)/*.py) $(wildcard $(WIT_DIR)/*.wit) | $(COMPONENTIZE_PY)
	@mkdir -p $(WASM_DIR)
	@if [ -x $(COMPONENTIZE_PY) ]; then \
	  echo "componentize-py: plugins/$(1) -> $$@"; \
	  $(COMPONENTIZE_PY) -d $(WIT_DIR) -w plugin componentize -p plugins/$(1) app -o $$@.tmp && mv $$@.tmp $$@; \
	else echo "warning: componentize-py missing; skipping plugins/$(1)"; fi
endef
$(foreach p,$(PY_PLUGINS),$(eval $(call python_plugin,$(p))))

# Run every test: unit, simulator, client, runtime and end-to-end.
test: plugins fuzz-check
	$(CARGO) test

# The fuzz targets still compile (type-checked on the stable toolchain, in
# a target folder of their own: fuzz/ is a workspace of its own). Part of
# `make test`, so a changed parser API cannot leave a target behind.
fuzz-check:
	$(CARGO) check --locked --manifest-path fuzz/Cargo.toml --bins --target-dir target/fuzz/check

# The long soak: 10,000 commands (SOAK_COMMANDS) through the simulator with
# every fault of its control API and two kill -9 restarts (SOAK_KILLS) of
# the real `wasmqq run`; prints lost / duplicated / out-of-order counts and
# fails on any loss or reordering.
soak: plugins
	$(CARGO) test -p wasmqq --test soak -- --ignored --nocapture

# The whole bot against the embedded WebQQ simulator, with the example
# plugins in a drop-in folder (add or replace .wasm files there while it runs).
demo: plugins
	$(CARGO) build -p wasmqq
	mkdir -p $(DEMO_DIR)
	cp $(foreach p,$(subst -,_,$(EXAMPLES)),$(WASM_DIR)/$(p).wasm) $(DEMO_DIR)/
	./target/debug/wasmqq demo --plugins $(DEMO_DIR)

# Fuzzing (docs/fuzzing.md), not part of `make test`: every cargo-fuzz target
# of fuzz/ for FUZZ_SECONDS each, one after the other on one core. cargo-fuzz
# needs nightly compiler flags; with the stable toolchain RUSTC_BOOTSTRAP=1
# unlocks them. New inputs go to $(FUZZ_WORK)/corpus/<target> (the seeds in
# fuzz/corpus/ stay as committed), crashes to fuzz/artifacts/<target>/.
# FUZZ_SANITIZER=address adds AddressSanitizer (slower; wasmqq is safe Rust,
# so the default is none: panics and failed assertions are the findings).
FUZZ_SECONDS ?= 60
FUZZ_SANITIZER ?= none
FUZZ_TARGETS ?= poll2 content_roundtrip message_split ptuicb contacts sim_requests cq_codec onebot_event linechat_input command_parse plugin_info config
FUZZ_WORK ?= target/fuzz
# Extra libFuzzer flags, e.g. FUZZ_ARGS=-len_control=0 for longer inputs.
FUZZ_ARGS ?=
FUZZ_BUILD_DIR ?= $(FUZZ_WORK)/build
# Cargo feature flags of the fuzz crate. The default builds every target,
# the wasmtime-heavy host ones included; FUZZ_FEATURES=--no-default-features
# skips the host crate (then leave command_parse, plugin_info and config out
# of FUZZ_TARGETS, they are not built).
FUZZ_FEATURES ?=
# 16 codegen units: a much faster build (wasmtime is in the host targets)
# for slightly slower runs.
FUZZ_FLAGS := -s $(FUZZ_SANITIZER) -O -a --codegen-units 16 --target-dir $(FUZZ_BUILD_DIR) $(FUZZ_FEATURES)
FUZZ := RUSTC_BOOTSTRAP=1 $(CARGO) fuzz

fuzz-build:
	@command -v cargo-fuzz >/dev/null || $(CARGO) install cargo-fuzz --locked
	$(FUZZ) build $(FUZZ_FLAGS)

fuzz: fuzz-build
	@for t in $(FUZZ_TARGETS); do \
	  mkdir -p $(FUZZ_WORK)/corpus/$$t fuzz/artifacts/$$t; \
	  echo "== fuzz $$t for $(FUZZ_SECONDS) s"; \
	  $(FUZZ) run $(FUZZ_FLAGS) $$t \
	    $(FUZZ_WORK)/corpus/$$t fuzz/corpus/$$t -- \
	    -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2048 \
	    -artifact_prefix=fuzz/artifacts/$$t/ $(FUZZ_ARGS) || exit 1; \
	done

# Supply-chain checks (.ci/deny.toml): licenses, banned and duplicate crates,
# sources. Advisories need the RustSec database, which cannot be fetched
# here; run `cargo deny check advisories` where it can (docs/fuzzing.md).
deny:
	@command -v cargo-deny >/dev/null || $(CARGO) install cargo-deny --locked
	$(CARGO) deny --config .ci/deny.toml check licenses bans sources
