//! `wasmqq plugin build`: build a plugin project and drop the component into
//! the bot's plugin folder.
//!
//! A folder with a `Cargo.toml` is a Rust plugin (`cargo build --release
//! --target wasm32-wasip2`, see [`crate::harness::build_rust_plugin`]); a
//! folder with an `app.py` is a Python plugin (componentize-py against the
//! project's `wit/`, or the checkout's WIT). The component is written to the
//! folder under a temporary name and renamed, so a running bot watching the
//! folder never loads a half-written file.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

use super::scaffold::{COMPONENTIZE_PY_VERSION, build_checkout, checkout_above};
use crate::config::Config;

/// What `plugin build` was asked for.
pub(super) struct BuildArgs {
    pub dir: PathBuf,
    pub out: Option<PathBuf>,
    pub config: PathBuf,
}

/// Build, copy, print the path of the installed component.
pub(super) fn build(args: BuildArgs) -> anyhow::Result<()> {
    let dir = args
        .dir
        .canonicalize()
        .with_context(|| format!("{}: no such folder", args.dir.display()))?;
    let out_dir = match args.out {
        Some(out) => out,
        None if args.config.is_file() => Config::load(&args.config)?.bot.plugin_dir,
        None => PathBuf::from("plugins.d"),
    };
    let built = if dir.join("Cargo.toml").is_file() {
        let wasm = crate::harness::build_rust_plugin(&dir)?;
        let name = wasm
            .file_name()
            .context("cargo reported a component without a file name")?
            .to_owned();
        Built {
            temp: None,
            wasm,
            name: name.into(),
        }
    } else if dir.join("app.py").is_file() {
        build_python(&dir)?
    } else {
        bail!(
            "{}: neither a Rust plugin (Cargo.toml) nor a Python plugin (app.py); create one with `wasmqq plugin new`",
            dir.display()
        );
    };
    std::fs::create_dir_all(&out_dir)
        .with_context(|| format!("{}: cannot create", out_dir.display()))?;
    let dest = out_dir.join(&built.name);
    let temp = out_dir.join(format!(".{}.tmp", built.name.display()));
    std::fs::copy(&built.wasm, &temp)
        .with_context(|| format!("cannot copy {} to {}", built.wasm.display(), temp.display()))?;
    std::fs::rename(&temp, &dest)
        .with_context(|| format!("cannot move {} to {}", temp.display(), dest.display()))?;
    if let Some(temp) = built.temp {
        let _ = std::fs::remove_dir_all(temp);
    }
    println!("{}", dest.display());
    Ok(())
}

struct Built {
    /// A temporary build folder to remove once the copy is done.
    temp: Option<PathBuf>,
    wasm: PathBuf,
    name: PathBuf,
}

/// componentize-py: `$COMPONENTIZE_PY`, else on `PATH`, else the checkout's
/// `target/py` virtualenv (made by `make python-plugins`).
fn componentize_py(project: &Path) -> anyhow::Result<PathBuf> {
    if let Some(explicit) = std::env::var_os("COMPONENTIZE_PY") {
        return Ok(explicit.into());
    }
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join("componentize-py"))
            .find(|p| p.is_file())
    });
    let in_checkout = || {
        checkout_above(project)
            .or_else(|| {
                std::env::current_dir()
                    .ok()
                    .and_then(|d| checkout_above(&d))
            })
            .or_else(build_checkout)
            .map(|c| c.join("target/py/bin/componentize-py"))
            .filter(|p| p.is_file())
    };
    on_path.or_else(in_checkout).with_context(|| {
        format!(
            "componentize-py not found: `pip install componentize-py=={COMPONENTIZE_PY_VERSION}` \
             (a venv is fine), put it on PATH or set $COMPONENTIZE_PY"
        )
    })
}

fn build_python(dir: &Path) -> anyhow::Result<Built> {
    let tool = componentize_py(dir)?;
    let wit = if dir.join("wit").is_dir() {
        dir.join("wit")
    } else {
        checkout_above(dir)
            .map(|c| c.join("plugin-api/wit/since_v0.1.0"))
            .filter(|p| p.is_dir())
            .with_context(|| {
                format!(
                    "{}: no wit/ folder (copy plugin-api/wit/since_v0.1.0 there)",
                    dir.display()
                )
            })?
    };
    let stem = dir
        .file_name()
        .context("the project folder has no name")?
        .to_string_lossy()
        .replace('-', "_");
    let temp = std::env::temp_dir().join(format!("wasmqq-build-{}", std::process::id()));
    std::fs::create_dir_all(&temp).with_context(|| format!("{}: cannot create", temp.display()))?;
    let wasm = temp.join(format!("{stem}.wasm"));
    eprintln!("componentize-py: building {} …", dir.display());
    let status = Command::new(&tool)
        .arg("-d")
        .arg(&wit)
        .args(["-w", "plugin", "componentize", "-p"])
        .arg(dir)
        .args(["app", "-o"])
        .arg(&wasm)
        .status()
        .with_context(|| format!("cannot run {}", tool.display()))?;
    if !status.success() || !wasm.is_file() {
        bail!(
            "{}: componentize-py failed ({status}); see its output above",
            dir.display()
        );
    }
    Ok(Built {
        temp: Some(temp),
        wasm,
        name: format!("{stem}.wasm").into(),
    })
}
