//! Where the built plugins are, for the `wasmqq` package's own tests and
//! benches (the `tests/` package has the same rule in `wasmqq_tests::wasm`).

use std::path::PathBuf;

/// `$WASMQQ_WASM_DIR/<file>`, else `$CARGO_TARGET_DIR/wasm32-wasip2/release/<file>`,
/// else the workspace's `target/wasm32-wasip2/release/<file>`. Panics with the
/// command to run when it has not been built.
pub fn wasm_path(file: &str) -> PathBuf {
    let dir = std::env::var_os("WASMQQ_WASM_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            std::env::var_os("CARGO_TARGET_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"))
                .join("wasm32-wasip2/release")
        });
    let path = dir.join(file);
    assert!(
        path.is_file(),
        "{} not found: build the plugins with `make plugins` or point WASMQQ_WASM_DIR at them",
        path.display()
    );
    path
}
