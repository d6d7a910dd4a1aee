# wasmqq: the two entry points are `make demo` and `make test`.
CARGO ?= cargo
WASM_TARGET := wasm32-wasip2
# Every Rust example plugin and test fixture is a crate named after its folder.
EXAMPLES := $(patsubst plugins/%/Cargo.toml,%,$(wildcard plugins/*/Cargo.toml))
WASM_CRATES := $(EXAMPLES) $(patsubst tests/fixtures/%/Cargo.toml,%,$(wildcard tests/fixtures/*/Cargo.toml))
DEMO_DIR := target/demo-plugins
WASM_DIR := target/$(WASM_TARGET)/release

.PHONY: demo test plugins wasm-target

wasm-target:
	@rustup target list --installed | grep -qx $(WASM_TARGET) || rustup target add $(WASM_TARGET)

# Build every plugin and fixture once, as wasm32-wasip2 components.
plugins: wasm-target
	$(CARGO) build --release --target $(WASM_TARGET) $(addprefix -p ,$(WASM_CRATES))

# Run every test: unit, simulator, client, runtime and end-to-end.
test: plugins
	$(CARGO) test

# The whole bot against the embedded WebQQ simulator, with the example
# plugins in a drop-in folder (add or replace .wasm files there while it runs).
demo: plugins
	$(CARGO) build -p wasmqq
	mkdir -p $(DEMO_DIR)
	cp $(foreach p,$(subst -,_,$(EXAMPLES)),$(WASM_DIR)/$(p).wasm) $(DEMO_DIR)/
	./target/debug/wasmqq demo --plugins $(DEMO_DIR)
