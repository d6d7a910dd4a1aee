//! `wasmqq plugin new`: a new plugin project, ready to build and test.
//!
//! The templates are compiled into the binary (`templates/`), so the command
//! works from an installed `wasmqq` as well as from a checkout. A Rust
//! project needs the SDK (`wasmqq-plugin-api`) and, for its test, the host
//! crate (`wasmqq`): until they are on crates.io both are path dependencies
//! on a wasmqq checkout, found by walking up from the new project, from the
//! current folder, or given with `--sdk`. A project created in a checkout's
//! `plugins/` folder becomes a member of its workspace; anywhere else it is a
//! workspace of its own, with a copy of the checkout's `Cargo.lock` so that
//! it builds with the same dependency versions (and reuses their compiled
//! artifacts when `CARGO_TARGET_DIR` is shared).

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

/// The componentize-py version the Python template and the Makefile use.
pub(super) const COMPONENTIZE_PY_VERSION: &str = "0.25.1";

/// The WIT package a Python project is built against (copied into `wit/`).
const WIT_FILES: [(&str, &str); 2] = [
    (
        "types.wit",
        include_str!("../../../plugin-api/wit/since_v0.1.0/types.wit"),
    ),
    (
        "world.wit",
        include_str!("../../../plugin-api/wit/since_v0.1.0/world.wit"),
    ),
];

mod rust {
    pub const CARGO_TOML: &str = include_str!("templates/rust/Cargo.toml.tmpl");
    pub const STANDALONE: &str = include_str!("templates/rust/standalone.tmpl");
    pub const LIB_RS: &str = include_str!("templates/rust/lib.rs.tmpl");
    pub const TEST_RS: &str = include_str!("templates/rust/test.rs.tmpl");
    pub const README: &str = include_str!("templates/rust/README.md.tmpl");
    pub const GITIGNORE: &str = include_str!("templates/rust/gitignore.tmpl");
}

mod python {
    pub const APP_PY: &str = include_str!("templates/python/app.py.tmpl");
    pub const TEST_PY: &str = include_str!("templates/python/test_app.py.tmpl");
    pub const README: &str = include_str!("templates/python/README.md.tmpl");
    pub const GITIGNORE: &str = include_str!("templates/python/gitignore.tmpl");
}

/// The language of a new plugin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Lang {
    /// Rust with the wasmqq SDK, built by cargo for wasm32-wasip2.
    Rust,
    /// Python, built by componentize-py against the WIT.
    Python,
}

/// What `plugin new` was asked for.
pub(super) struct NewArgs {
    pub name: String,
    pub lang: Lang,
    pub dir: Option<PathBuf>,
    pub sdk: Option<PathBuf>,
}

/// Create the project; print what was made and what to do next.
pub(super) fn new(args: NewArgs) -> anyhow::Result<()> {
    check_name(&args.name)?;
    let dir = args
        .dir
        .clone()
        .unwrap_or_else(|| PathBuf::from(&args.name));
    if dir.exists()
        && std::fs::read_dir(&dir)
            .with_context(|| format!("{}: cannot read", dir.display()))?
            .next()
            .is_some()
    {
        bail!("{}: already exists and is not empty", dir.display());
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("{}: cannot create", dir.display()))?;
    let dir = dir
        .canonicalize()
        .with_context(|| format!("{}: cannot resolve", dir.display()))?;
    let vars = Vars::new(&args.name);
    let files = match args.lang {
        Lang::Rust => rust_files(&dir, &vars, args.sdk.as_deref())?,
        Lang::Python => python_files(&dir, &vars),
    };
    for (path, text) in &files {
        let full = dir.join(path);
        if let Some(parent) = full.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("{}: cannot create", parent.display()))?;
        }
        std::fs::write(&full, text).with_context(|| format!("{}: cannot write", full.display()))?;
    }
    let shown = std::env::current_dir()
        .ok()
        .and_then(|cwd| dir.strip_prefix(cwd).ok().map(Path::to_path_buf))
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or_else(|| dir.clone());
    println!(
        "created {} plugin \"{}\" in {}",
        match args.lang {
            Lang::Rust => "Rust",
            Lang::Python => "Python",
        },
        args.name,
        shown.display()
    );
    for (path, _) in &files {
        println!("  {path}");
    }
    let test = match args.lang {
        Lang::Rust => "cargo test",
        Lang::Python => "python3 -m unittest",
    };
    println!(
        "next:\n  cd {}\n  wasmqq plugin build                  # → plugins.d/{}.wasm\n  \
         wasmqq plugin try plugins.d/{}.wasm \"!{} hello world\"\n  \
         {test}\n  wasmqq demo --plugins plugins.d",
        shown.display(),
        vars.file,
        vars.file,
        vars.command
    );
    Ok(())
}

/// Names become crate names, file names and a command: lowercase ASCII
/// letters, digits and `-`, starting with a letter, at most 32 characters.
fn check_name(name: &str) -> anyhow::Result<()> {
    let ok = name.len() <= 32
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !name.ends_with('-');
    if !ok {
        bail!(
            "plugin name {name:?}: use 1-32 lowercase letters, digits and '-', starting with a letter (e.g. \"weather\" or \"quiz-bot\")"
        );
    }
    Ok(())
}

/// The values templates are filled with.
struct Vars {
    name: String,
    /// The component file stem: `quiz-bot` → `quiz_bot`.
    file: String,
    /// The Rust type: `quiz-bot` → `QuizBot`.
    ty: String,
    command: String,
    description: String,
}

impl Vars {
    fn new(name: &str) -> Vars {
        let ty = name
            .split('-')
            .map(|part| {
                let mut chars = part.chars();
                chars
                    .next()
                    .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
                    .unwrap_or_default()
            })
            .collect();
        Vars {
            name: name.into(),
            file: name.replace('-', "_"),
            ty,
            command: name.into(),
            description: format!("The {name} plugin"),
        }
    }

    fn fill(&self, template: &str, extra: &[(&str, &str)]) -> String {
        let mut out = template
            .replace("{{name}}", &self.name)
            .replace("{{file}}", &self.file)
            .replace("{{type}}", &self.ty)
            .replace("{{command}}", &self.command)
            .replace("{{description}}", &self.description)
            .replace("{{componentize_py}}", COMPONENTIZE_PY_VERSION);
        for (key, value) in extra {
            out = out.replace(&format!("{{{{{key}}}}}"), value);
        }
        out
    }
}

/// A wasmqq checkout: the folder holding `plugin-api/` (the SDK) and `host/`.
pub(super) fn is_checkout(dir: &Path) -> bool {
    std::fs::read_to_string(dir.join("plugin-api/Cargo.toml"))
        .is_ok_and(|t| t.contains("name = \"wasmqq-plugin-api\""))
        && dir.join("host/Cargo.toml").is_file()
}

/// The checkout containing `start`, if any.
pub(super) fn checkout_above(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .find(|d| is_checkout(d))
        .map(Path::to_path_buf)
}

/// The checkout this binary was built from, if it is still there.
pub(super) fn build_checkout() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).parent()?;
    is_checkout(dir).then(|| dir.to_path_buf())
}

/// Find the checkout for a new project: `--sdk` (the checkout or its
/// `plugin-api/`), else one around the project or the current folder, else
/// the one this binary was built from.
fn find_checkout(project: &Path, sdk: Option<&Path>) -> anyhow::Result<Option<PathBuf>> {
    if let Some(sdk) = sdk {
        let sdk = sdk
            .canonicalize()
            .with_context(|| format!("--sdk {}: not found", sdk.display()))?;
        for candidate in [Some(sdk.as_path()), sdk.parent()].into_iter().flatten() {
            if is_checkout(candidate) {
                return Ok(Some(candidate.to_path_buf()));
            }
        }
        bail!(
            "--sdk {}: not a wasmqq checkout (expected plugin-api/Cargo.toml and host/Cargo.toml)",
            sdk.display()
        );
    }
    let cwd = std::env::current_dir().ok();
    Ok(checkout_above(project)
        .or_else(|| cwd.as_deref().and_then(checkout_above))
        .or_else(build_checkout))
}

fn toml_path(path: &Path) -> String {
    format!("{{ path = {:?} }}", path.display().to_string())
}

fn rust_files(
    dir: &Path,
    vars: &Vars,
    sdk: Option<&Path>,
) -> anyhow::Result<Vec<(String, String)>> {
    let checkout = find_checkout(dir, sdk)?;
    let member = checkout
        .as_ref()
        .is_some_and(|c| dir.parent() == Some(c.join("plugins").as_path()));
    let (sdk_dep, host_dep) = match &checkout {
        Some(_) if member => (
            toml_path(Path::new("../../plugin-api")),
            toml_path(Path::new("../../host")),
        ),
        Some(c) => (toml_path(&c.join("plugin-api")), toml_path(&c.join("host"))),
        None => {
            eprintln!(
                "warning: no wasmqq checkout found (give one with --sdk PATH); the project \
                 depends on wasmqq-plugin-api and wasmqq from crates.io, where they are not \
                 published yet"
            );
            ("\"0.1\"".to_string(), "\"0.1\"".to_string())
        }
    };
    let (sdk_note, host_note) = if checkout.is_some() {
        (
            "\n# From a wasmqq checkout; once published: wasmqq-plugin-api = \"0.1\"",
            "\n# From a wasmqq checkout; once published: wasmqq = \"0.1\"",
        )
    } else {
        ("", "")
    };
    let standalone = if member { "" } else { rust::STANDALONE };
    let cargo_toml = vars.fill(
        rust::CARGO_TOML,
        &[
            ("sdk_dep", &sdk_dep),
            ("sdk_note", sdk_note),
            ("host_dep", &host_dep),
            ("host_note", host_note),
            ("standalone", standalone),
        ],
    );
    let mut files = vec![
        ("Cargo.toml".to_string(), cargo_toml),
        ("src/lib.rs".into(), vars.fill(rust::LIB_RS, &[])),
        ("tests/plugin.rs".into(), vars.fill(rust::TEST_RS, &[])),
        ("README.md".into(), vars.fill(rust::README, &[])),
        (".gitignore".into(), vars.fill(rust::GITIGNORE, &[])),
    ];
    // Same dependency versions as the checkout: builds what it builds, and
    // reuses its compiled crates when the target directory is shared.
    if let Some(lock) = checkout
        .filter(|_| !member)
        .and_then(|c| std::fs::read_to_string(c.join("Cargo.lock")).ok())
    {
        files.push(("Cargo.lock".into(), lock));
    }
    Ok(files)
}

fn python_files(dir: &Path, vars: &Vars) -> Vec<(String, String)> {
    if let Some(checkout) = checkout_above(dir)
        && dir.parent() == Some(checkout.join("plugins").as_path())
    {
        eprintln!(
            "note: {} has no Cargo.toml; add it to `exclude` in the [workspace] of {}/Cargo.toml \
             (like plugins/hello-py) or cargo will refuse the workspace",
            dir.display(),
            checkout.display()
        );
    }
    let mut files = vec![
        ("app.py".to_string(), vars.fill(python::APP_PY, &[])),
        ("test_app.py".into(), vars.fill(python::TEST_PY, &[])),
        ("README.md".into(), vars.fill(python::README, &[])),
        (".gitignore".into(), vars.fill(python::GITIGNORE, &[])),
    ];
    for (name, text) in WIT_FILES {
        files.push((format!("wit/{name}"), text.to_string()));
    }
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked() {
        for good in ["weather", "quiz-bot", "d20"] {
            assert!(check_name(good).is_ok(), "{good}");
        }
        for bad in ["", "Weather", "2fast", "quiz_bot", "a b", "trailing-"] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn templates_are_filled() {
        let vars = Vars::new("quiz-bot");
        assert_eq!(vars.ty, "QuizBot");
        assert_eq!(vars.file, "quiz_bot");
        let lib = vars.fill(rust::LIB_RS, &[]);
        assert!(lib.contains("struct QuizBot"), "{lib}");
        assert!(lib.contains("PluginInfo::new(\"quiz-bot\""), "{lib}");
        assert!(!lib.contains("{{"), "{lib}");
        let toml = vars.fill(
            rust::CARGO_TOML,
            &[
                ("sdk_dep", "{ path = \"/x/plugin-api\" }"),
                ("sdk_note", ""),
                ("host_dep", "{ path = \"/x/host\" }"),
                ("host_note", ""),
                ("standalone", rust::STANDALONE),
            ],
        );
        assert!(
            toml.contains("wasmqq-plugin-api = { path = \"/x/plugin-api\" }"),
            "{toml}"
        );
        assert!(toml.contains("\n[workspace]\n"), "{toml}");
        assert!(!toml.contains("{{"), "{toml}");
        for t in [python::APP_PY, python::TEST_PY, python::README] {
            assert!(!vars.fill(t, &[]).contains("{{"));
        }
    }

    #[test]
    fn this_checkout_is_found() {
        let here = Path::new(env!("CARGO_MANIFEST_DIR"));
        assert_eq!(checkout_above(here).as_deref(), here.parent());
        assert!(build_checkout().is_some());
    }
}
