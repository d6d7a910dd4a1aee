# wasmqq: the two entry points are `make demo` and `make test`.
CARGO ?= cargo
WASM_TARGET := wasm32-wasip2
# Every example plugin and test fixture is a crate named after its folder.
WASM_CRATES := $(notdir $(wildcard plugins/*)) $(notdir $(wildcard tests/fixtures/*))
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

# Try the example plugins against a sample message each.
demo: plugins
	$(CARGO) build -p wasmqq
	for m in 'echo.wasm|!echo hello from wasmqq' 'dice.wasm|!roll 2d6' 'counter.wasm|!count'; do \
	  ./target/debug/wasmqq plugin try $(WASM_DIR)/$${m%%|*} "$${m#*|}"; done
