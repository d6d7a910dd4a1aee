//! Where a plugin's machine code is made: in a child process when the
//! binary can be one, else in this process.
//!
//! # Why a child process
//!
//! Compiling a large component (a Python plugin: CPython inside, 35 MB of
//! machine code) takes hundreds of megabytes of scratch memory; even given
//! back with `malloc_trim` the bot kept ≈ 100 MB more than before the
//! compile (arena fragmentation and wasmtime's metadata). Compiled by a
//! child, that memory lives and dies with the child: the bot only maps the
//! finished cache entry. A compiler that crashes or is killed for memory on
//! a hostile component fails that plugin's load, not the bot.
//!
//! # How
//!
//! The `wasmqq` binary calls [`compile_in_child_processes`] with its own
//! path once at start. Compiling a component not in the cache then runs
//! `<binary> compile-component --out <tmp>` with the component's bytes on
//! its stdin: the child builds the same engine ([`super::engine::new_engine`],
//! same binary, so the same compatibility hash), precompiles the bytes,
//! writes the result to `<tmp>` and exits 0; on a compile error it prints
//! the error on stderr and exits [`COMPILE_FAILED`]. The parent renames
//! `<tmp>` into the cache and maps it ([`super::cache`]).
//!
//! A library user (a test, a benchmark, another binary) that does not call
//! [`compile_in_child_processes`] compiles in its own process, as does a
//! runtime without a cache folder.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The hidden subcommand of the binary that compiles one component.
pub const SUBCOMMAND: &str = "compile-component";

/// The child's exit status when the component does not compile (the error
/// is on its stderr).
pub const COMPILE_FAILED: i32 = 3;

static CHILD_PROGRAM: OnceLock<PathBuf> = OnceLock::new();

/// Compile components in child processes running `program` (a binary that
/// handles [`SUBCOMMAND`] with [`child_main`], as `wasmqq` does) from now
/// on, for every runtime with a cache folder in this process. The first
/// call wins.
pub fn compile_in_child_processes(program: PathBuf) {
    let _ = CHILD_PROGRAM.set(program);
}

/// Compile `bytes` in this process, then give the compile's scratch
/// memory back to the system ([`super::residency::trim_heap`]).
pub(crate) fn compile_in_process(
    engine: &wasmtime::Engine,
    bytes: &[u8],
) -> wasmtime::Result<wasmtime::component::Component> {
    let component = wasmtime::component::Component::new(engine, bytes);
    super::residency::trim_heap();
    component
}

/// The program set by [`compile_in_child_processes`], if any.
pub(crate) fn child_program() -> Option<&'static Path> {
    CHILD_PROGRAM.get().map(PathBuf::as_path)
}

/// Why a child could not compile a component.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ChildError {
    /// The child could not be started or fed (the caller may compile in
    /// process instead).
    #[error("cannot run the compiler process {program}: {source}")]
    Spawn {
        /// The program.
        program: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The child wrote an entry this process cannot map (the binary was
    /// replaced by another version since it started); the caller compiles
    /// in process instead.
    #[error("the compiler process wrote an unusable component: {0}")]
    Unusable(String),
    /// The component does not compile.
    #[error("{0}")]
    Compile(String),
    /// The child took longer than its limit and was killed.
    #[error("the compiler process took longer than {} s and was killed", .after.as_secs())]
    TimedOut {
        /// The limit.
        after: Duration,
    },
    /// The child ended without an entry (killed, crashed).
    #[error("the compiler process failed ({status}){}", stderr_note(.stderr))]
    Died {
        /// How it ended.
        status: ExitStatus,
        /// What it printed.
        stderr: String,
    },
}

fn stderr_note(stderr: &str) -> String {
    let stderr = stderr.trim();
    if stderr.is_empty() {
        String::new()
    } else {
        format!(": {}", stderr.lines().last().unwrap_or(stderr))
    }
}

/// How long a child may take to compile one component before it is
/// killed (the Python plugin, 18 MB, takes 6–8 s in a release build and
/// 16 s in a debug one on 2 cores; a component built to make the compiler
/// work for minutes would hold up the loads queued behind it).
pub const COMPILE_TIMEOUT: Duration = Duration::from_secs(180);

/// The child's nice value: a compile yields the CPU to the bot's serving
/// threads (the bot answers while plugins compile).
pub const COMPILE_NICE: i32 = 10;

/// The address space a child may use (`RLIMIT_AS`, Linux): a component
/// built to make the compiler allocate without end fails its load when the
/// child runs out, instead of taking the machine's memory (compiling the
/// Python plugin, 35 MB of machine code, needs well under 1 GiB).
pub const COMPILE_ADDRESS_SPACE: u64 = 4 << 30;

/// The most of a child's stderr kept for the error message.
const STDERR_KEPT: u64 = 64 << 10;

/// What a child may use.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ChildLimits {
    /// Killed after this long.
    pub timeout: Duration,
    /// `RLIMIT_AS` in bytes.
    pub address_space: u64,
}

impl ChildLimits {
    /// [`COMPILE_TIMEOUT`] and [`COMPILE_ADDRESS_SPACE`].
    pub const DEFAULT: ChildLimits = ChildLimits {
        timeout: COMPILE_TIMEOUT,
        address_space: COMPILE_ADDRESS_SPACE,
    };
}

/// Compile `bytes` with the child `program`, writing the precompiled
/// component to `out`. Blocking.
pub(crate) fn compile_in_child(
    program: &Path,
    bytes: &[u8],
    out: &Path,
    limits: ChildLimits,
) -> Result<(), ChildError> {
    let spawn_err = |source| ChildError::Spawn {
        program: program.into(),
        source,
    };
    let mut command = Command::new(program);
    command
        .arg(SUBCOMMAND)
        .arg("--out")
        .arg(out)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::process::CommandExt;
        let limit = libc::rlimit {
            rlim_cur: limits.address_space,
            rlim_max: limits.address_space,
        };
        // SAFETY: the closure runs in the forked child before `exec` and
        // only makes the `setrlimit` and `setpriority` system calls, which
        // are async-signal-safe.
        unsafe {
            command.pre_exec(move || {
                if libc::setrlimit(libc::RLIMIT_AS, &limit) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                // Best effort: a compile at the bot's own priority is fine.
                let _ = libc::setpriority(libc::PRIO_PROCESS, 0, COMPILE_NICE);
                Ok(())
            });
        }
    }
    let mut child = command.spawn().map_err(spawn_err)?;
    let mut stdin = child.stdin.take().expect("stdin is piped");
    let stderr = child.stderr.take().expect("stderr is piped");
    let waited = std::thread::scope(|scope| {
        // Fed and drained on threads of their own, so a child that stops
        // reading (or floods its stderr) cannot block the wait below.
        let feeder = scope.spawn(move || stdin.write_all(bytes));
        let reader = scope.spawn(move || {
            let mut kept = Vec::new();
            let mut stderr = stderr;
            let _ = (&mut stderr).take(STDERR_KEPT).read_to_end(&mut kept);
            let _ = std::io::copy(&mut stderr, &mut std::io::sink());
            kept
        });
        let waited = wait(&mut child, limits.timeout);
        if let Ok(Err(source)) = feeder.join() {
            tracing::debug!("feeding the compiler process: {source}");
        }
        let stderr = String::from_utf8_lossy(&reader.join().unwrap_or_default()).into_owned();
        waited.map(|status| status.map(|status| (status, stderr)))
    });
    let (status, stderr) = match waited {
        Ok(Some(done)) => done,
        Ok(None) => {
            let _ = std::fs::remove_file(out);
            return Err(ChildError::TimedOut {
                after: limits.timeout,
            });
        }
        Err(source) => return Err(spawn_err(source)),
    };
    match status.code() {
        Some(0) if out.is_file() => Ok(()),
        Some(COMPILE_FAILED) => Err(ChildError::Compile(stderr.trim().to_string())),
        _ => {
            let _ = std::fs::remove_file(out);
            Err(ChildError::Died { status, stderr })
        }
    }
}

/// Wait for `child` to end, at most `timeout`; `None` (the child killed
/// and reaped) when it took longer.
fn wait(child: &mut std::process::Child, timeout: Duration) -> std::io::Result<Option<ExitStatus>> {
    let deadline = Instant::now() + timeout;
    // Short naps first: most compiles take tens of milliseconds.
    let mut nap = Duration::from_millis(1);
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(Some(status));
        }
        let now = Instant::now();
        if now >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Ok(None);
        }
        std::thread::sleep(nap.min(deadline - now));
        nap = (nap * 2).min(Duration::from_millis(25));
    }
}

/// The child's side: read a component from stdin, compile it with the
/// runtime's engine and write the precompiled bytes to `out`. Returns the
/// exit status (0, or [`COMPILE_FAILED`] with the error printed on
/// stderr, or 1 for an I/O error).
pub fn child_main(out: &Path) -> i32 {
    let mut bytes = Vec::new();
    if let Err(e) = std::io::stdin().read_to_end(&mut bytes) {
        eprintln!("cannot read the component from stdin: {e}");
        return 1;
    }
    let engine = match super::engine::new_engine() {
        Ok(engine) => engine,
        Err(e) => {
            eprintln!("cannot set up the WebAssembly engine: {e:#}");
            return 1;
        }
    };
    let compiled = match engine.precompile_component(&bytes) {
        Ok(compiled) => compiled,
        Err(e) => {
            eprintln!("{e:#}");
            return COMPILE_FAILED;
        }
    };
    drop(bytes);
    if let Err(e) = std::fs::write(out, compiled) {
        eprintln!(
            "{}: cannot write the compiled component: {e}",
            out.display()
        );
        return 1;
    }
    0
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    /// [`compile_in_child`], again while the script is busy: another test
    /// forking between this one's write and exec holds the file open for a
    /// moment (`ETXTBSY`).
    fn compile(
        program: &Path,
        bytes: &[u8],
        out: &Path,
        limits: ChildLimits,
    ) -> Result<(), ChildError> {
        for _ in 0..100 {
            match compile_in_child(program, bytes, out, limits) {
                Err(ChildError::Spawn { source, .. })
                    if source.kind() == std::io::ErrorKind::ExecutableFileBusy =>
                {
                    std::thread::sleep(Duration::from_millis(10));
                }
                other => return other,
            }
        }
        panic!("{} stayed busy", program.display());
    }

    /// The error of a child running the shell `body` on the input `x`.
    fn child_error(body: &str, limits: ChildLimits) -> ChildError {
        let dir = tempfile::tempdir().unwrap();
        let program = script(dir.path(), body);
        compile(&program, b"x", &dir.path().join("entry"), limits).unwrap_err()
    }

    fn script(dir: &Path, body: &str) -> PathBuf {
        let path = dir.join("compiler.sh");
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    }

    #[test]
    fn a_compiler_killed_by_a_signal_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let program = script(
            dir.path(),
            "cat >/dev/null; echo 'out of memory' >&2; kill -9 $$",
        );
        let out = dir.path().join("entry");
        let err = compile(&program, b"component bytes", &out, ChildLimits::DEFAULT).unwrap_err();
        assert!(matches!(err, ChildError::Died { .. }), "{err:?}");
        let text = err.to_string();
        assert!(text.contains("signal: 9"), "{text}");
        assert!(text.contains("out of memory"), "{text}");
        assert!(!out.exists());
    }

    #[test]
    fn a_compile_error_is_the_child_s_message() {
        let err = child_error(
            &format!("cat >/dev/null; echo 'invalid section' >&2; exit {COMPILE_FAILED}"),
            ChildLimits::DEFAULT,
        );
        assert!(
            matches!(&err, ChildError::Compile(m) if m == "invalid section"),
            "{err:?}"
        );
    }

    #[test]
    fn a_missing_compiler_cannot_be_spawned() {
        let dir = tempfile::tempdir().unwrap();
        let err = compile(
            &dir.path().join("none"),
            b"x",
            &dir.path().join("entry"),
            ChildLimits::DEFAULT,
        )
        .unwrap_err();
        assert!(matches!(err, ChildError::Spawn { .. }), "{err:?}");
    }

    #[test]
    fn a_compiler_that_hangs_is_killed_at_its_timeout() {
        let dir = tempfile::tempdir().unwrap();
        // Reads nothing, so a component larger than a pipe cannot be fed.
        let program = script(dir.path(), "exec sleep 30");
        let limits = ChildLimits {
            timeout: Duration::from_millis(300),
            ..ChildLimits::DEFAULT
        };
        let started = Instant::now();
        let big = vec![0u8; 1 << 20];
        let err = compile(&program, &big, &dir.path().join("entry"), limits).unwrap_err();
        assert!(matches!(err, ChildError::TimedOut { .. }), "{err:?}");
        assert!(started.elapsed() < Duration::from_secs(20));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn the_child_runs_under_the_address_space_limit() {
        let limits = ChildLimits {
            address_space: 512 << 20,
            ..ChildLimits::DEFAULT
        };
        let err = child_error(
            &format!("cat >/dev/null; ulimit -v >&2; exit {COMPILE_FAILED}"),
            limits,
        );
        // `ulimit -v` is in KiB.
        assert!(
            matches!(&err, ChildError::Compile(m) if m == "524288"),
            "{err:?}"
        );
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn the_child_compiles_at_a_lower_priority() {
        // Field 19 of /proc/<pid>/stat is the nice value.
        let err = child_error(
            &format!("cat >/dev/null; cut -d' ' -f19 /proc/$$/stat >&2; exit {COMPILE_FAILED}"),
            ChildLimits::DEFAULT,
        );
        let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .unwrap()
            .1
            .split_whitespace()
            .collect();
        // `fields` starts at field 3.
        let mine: i32 = fields[16].parse().unwrap();
        let want = (mine + COMPILE_NICE).min(19).to_string();
        assert!(
            matches!(&err, ChildError::Compile(m) if *m == want),
            "{err:?}, want {want}"
        );
    }
}
