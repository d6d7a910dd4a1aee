//! Where the built plugins are: the one rule, for every test and bench.

use std::path::PathBuf;

/// The folder holding the built `.wasm` files: `$WASMQQ_WASM_DIR`, else
/// `$CARGO_TARGET_DIR/wasm32-wasip2/release`, else the workspace's
/// `target/wasm32-wasip2/release`.
pub fn wasm_dir() -> PathBuf {
    std::env::var_os("WASMQQ_WASM_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            std::env::var_os("CARGO_TARGET_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"))
                .join("wasm32-wasip2/release")
        })
}

/// `<wasm_dir>/<file>`. Panics with the command to run when it has not
/// been built.
pub fn wasm_path(file: &str) -> PathBuf {
    let path = wasm_dir().join(file);
    assert!(
        path.is_file(),
        "{} not found: build the plugins with `make plugins` or point WASMQQ_WASM_DIR at them",
        path.display()
    );
    path
}
