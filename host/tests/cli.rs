//! `wasmqq plugin check` and `wasmqq plugin try`, run as a user would.

use std::process::{Command, Output};

use wasmqq_tests::wasm;

fn wasmqq(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wasmqq"))
        .args(args)
        .env("RUST_LOG", "off")
        .output()
        .expect("run wasmqq")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn check_prints_metadata() {
    let out = wasmqq(&["plugin", "check", wasm("dice").to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.starts_with("dice 0.1.0 — Rolls dice\n"), "{text}");
    assert!(text.contains("abi:          wasmqq:plugin@0.1.0"), "{text}");
    assert!(
        text.contains("roll NdM[+K] (aliases: r) — roll N dice"),
        "{text}"
    );
    assert!(text.contains("capabilities: none"), "{text}");

    let counter = stdout(&wasmqq(&[
        "plugin",
        "check",
        wasm("counter").to_str().unwrap(),
    ]));
    assert!(counter.contains("capabilities: kv"), "{counter}");
}

#[test]
fn check_compiles_once_then_loads_from_the_cache() {
    let cache = tempfile::tempdir().unwrap();
    let dir = cache.path().to_str().unwrap();
    let file = wasm("dice");
    let check = || wasmqq(&["plugin", "check", file.to_str().unwrap(), "--cache", dir]);
    let first = Command::new(env!("CARGO_BIN_EXE_wasmqq"))
        .args(["plugin", "check", file.to_str().unwrap(), "--cache", dir])
        .env("RUST_LOG", "info")
        .output()
        .expect("run wasmqq");
    assert!(first.status.success(), "{}", stderr(&first));
    assert!(
        stderr(&first).contains("component compiled in a child process"),
        "{}",
        stderr(&first)
    );
    assert!(
        stdout(&first).contains("compiled:     now"),
        "{}",
        stdout(&first)
    );
    assert!(
        std::fs::read_dir(cache.path()).unwrap().next().is_some(),
        "nothing was written to the cache"
    );
    let second = check();
    assert!(second.status.success(), "{}", stderr(&second));
    let text = stdout(&second);
    assert!(
        text.contains("compiled:     from the component cache"),
        "{text}"
    );
    assert!(text.starts_with("dice 0.1.0 — Rolls dice\n"), "{text}");

    let fresh = wasmqq(&["plugin", "check", file.to_str().unwrap(), "--no-cache"]);
    assert!(
        stdout(&fresh).contains("compiled:     now"),
        "{}",
        stdout(&fresh)
    );
}

#[test]
fn check_explains_each_kind_of_bad_file() {
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("readme.wasm");
    std::fs::write(&text, "not wasm").unwrap();
    let core = dir.path().join("core.wasm");
    std::fs::write(&core, b"\0asm\x01\0\0\0").unwrap();
    // A component cut in half: compiled (in the compiler child process)
    // until its end comes too soon.
    let cut = dir.path().join("cut.wasm");
    let dice = std::fs::read(wasm("dice")).unwrap();
    std::fs::write(&cut, &dice[..dice.len() / 2]).unwrap();
    let cases = [
        (cut, "invalid component: ".to_string()),
        (text, "not a WebAssembly file".to_string()),
        (core, "a core WebAssembly module, not a component".into()),
        (
            wasm("future-abi"),
            "built for wasmqq:plugin@9.9.0, but this host supports wasmqq:plugin@0.1.0".into(),
        ),
        (
            wasm("not-a-plugin"),
            "does not export wasmqq:plugin/guest".into(),
        ),
        (wasm("bad-describe"), "describe failed: wasm trap".into()),
    ];
    let cache = dir.path().join("cache");
    for (file, expect) in cases {
        let out = wasmqq(&[
            "plugin",
            "check",
            file.to_str().unwrap(),
            "--cache",
            cache.to_str().unwrap(),
        ]);
        assert!(!out.status.success(), "{} was accepted", file.display());
        let err = stderr(&out);
        assert!(err.starts_with("error: "), "{err}");
        assert!(err.contains(&expect), "{}: {err}", file.display());
        assert!(
            err.contains(file.file_name().unwrap().to_str().unwrap()),
            "{err}"
        );
    }
    let entries: Vec<_> = std::fs::read_dir(&cache)
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(
        entries
            .iter()
            .all(|e| e.to_string_lossy().ends_with(".cwasm")),
        "a compile left a temporary file behind: {entries:?}"
    );
}

#[test]
fn try_prints_the_plugin_actions() {
    let out = wasmqq(&[
        "plugin",
        "try",
        wasm("echo").to_str().unwrap(),
        "!echo hi there",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "reply: hi there\n");

    let counter = wasm("counter");
    let out = wasmqq(&[
        "plugin",
        "try",
        counter.to_str().unwrap(),
        "!count",
        "--grant",
        "kv",
    ]);
    assert_eq!(stdout(&out), "reply: Count for this chat: 1\n");

    let out = wasmqq(&["plugin", "try", counter.to_str().unwrap(), "!nope"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("has no command \"nope\" (its commands: count)"));
}

#[test]
fn demo_reads_a_script_and_prints_the_bot_replies() {
    demo_script(&[]);
}

/// The same script over the simulator's OneBot v11 face.
#[test]
fn demo_over_onebot_reads_a_script_and_prints_the_bot_replies() {
    demo_script(&["--platform", "onebot"]);
}

fn demo_script(extra: &[&str]) {
    let out = run_demo(extra, Some("off"));
    assert!(out.status.success(), "{}", stderr(&out));
    assert_chat(&stdout(&out));
}

/// Runs `wasmqq demo` on the chat script of the demo tests; `rust_log`
/// `None` leaves `RUST_LOG` unset, as a user's shell would.
fn run_demo(extra: &[&str], rust_log: Option<&str>) -> Output {
    use std::io::Write;
    let plugins = tempfile::tempdir().unwrap();
    for name in ["echo", "counter"] {
        std::fs::copy(wasm(name), plugins.path().join(format!("{name}.wasm"))).unwrap();
    }
    let mut command = Command::new(env!("CARGO_BIN_EXE_wasmqq"));
    command
        .args(["demo", "--plugins", plugins.path().to_str().unwrap()])
        .args(extra)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    match rust_log {
        Some(filter) => command.env("RUST_LOG", filter),
        None => command.env_remove("RUST_LOG"),
    };
    let mut child = command.spawn().expect("start demo");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"!echo hello\n:group wasmqq dev\n!count\n!count\n:as bob\n!plugins\n")
        .unwrap();
    child.wait_with_output().unwrap()
}

/// The chat of the demo script, in order.
fn assert_chat(text: &str) {
    let expected = [
        "Alice (a private chat): !echo hello",
        "bot (to Alice): hello",
        "you are Alice (10001) in group \"wasmqq dev\"",
        "bot (in group \"wasmqq dev\"): Count for this chat: 1",
        "bot (in group \"wasmqq dev\"): Count for this chat: 2",
        "you are Bob (10002) in group \"wasmqq dev\"",
        "bot (in group \"wasmqq dev\"): Sorry, !plugins is only for bot admins.",
    ];
    let mut rest = text;
    for line in expected {
        let at = rest
            .find(line)
            .unwrap_or_else(|| panic!("missing {line:?} (in order) in:\n{text}"));
        rest = &rest[at + line.len()..];
    }
}

/// By default the demo's terminal shows only the chat: the bot's and the
/// simulator's logs (INFO and up) go to `wasmqq.log` in its data folder.
#[test]
fn demo_logs_to_a_file_in_its_data_folder() {
    let data = tempfile::tempdir().unwrap();
    let out = run_demo(&["--data", data.path().to_str().unwrap()], None);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_chat(&stdout(&out));
    let terminal = format!("{}{}", stdout(&out), stderr(&out));
    assert!(
        !terminal.contains(" INFO ") && !terminal.contains("[webqq]"),
        "log lines on the terminal:\n{terminal}"
    );
    let log_path = data.path().join("wasmqq.log");
    assert!(
        terminal.contains(&log_path.display().to_string()),
        "the demo does not say where its log is:\n{terminal}"
    );
    let log = std::fs::read_to_string(&log_path).expect("the demo's log file");
    assert!(log.contains(" INFO "), "no INFO lines in the log:\n{log}");
    assert!(
        log.contains("plugin loaded from"),
        "no plugin load logged:\n{log}"
    );
}

/// `-v` shows the logs on the terminal (stderr) as well.
#[test]
fn demo_verbose_shows_the_logs() {
    let data = tempfile::tempdir().unwrap();
    let out = run_demo(&["-v", "--data", data.path().to_str().unwrap()], None);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_chat(&stdout(&out));
    assert!(stderr(&out).contains(" INFO "), "{}", stderr(&out));
    let log = std::fs::read_to_string(data.path().join("wasmqq.log")).unwrap();
    assert!(log.contains(" INFO "), "{log}");
}

/// A minimal HTTP/1.0 exchange with the simulator's control API.
fn http(addr: &str, method: &str, path: &str, body: &str) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).expect("connect to the simulator");
    write!(
        stream,
        "{method} {path} HTTP/1.0\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    answer
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default()
}

/// Kills the child process when dropped, so a failing test leaves nothing behind.
struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn run_serves_a_plugin_folder_against_a_standalone_simulator() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let _sim = Running(
        Command::new(env!("CARGO_BIN_EXE_wasmqq"))
            .args(["sim", "--listen", &addr])
            .env("RUST_LOG", "off")
            .spawn()
            .unwrap(),
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("plugins.d")).unwrap();
    std::fs::copy(wasm("echo"), dir.path().join("plugins.d/echo.wasm")).unwrap();
    let config = dir.path().join("wasmqq.toml");
    std::fs::write(
        &config,
        format!("[webqq]\nserver = \"{addr}\"\nsend_interval_ms = 100\n"),
    )
    .unwrap();
    let _bot = Running(
        Command::new(env!("CARGO_BIN_EXE_wasmqq"))
            .args(["run", "--config", config.to_str().unwrap()])
            .env("RUST_LOG", "off")
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    // Messages injected before the bot is logged in wait for its session.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let mut injected = false;
    loop {
        if !injected {
            injected = std::net::TcpStream::connect(&addr).is_ok()
                && http(
                    &addr,
                    "POST",
                    "/_sim/messages",
                    r#"{"chat":"friend","from":10001,"text":"!echo from a real run"}"#,
                )
                .contains("msg_id");
        }
        if injected && http(&addr, "GET", "/_sim/sent", "").contains("from a real run") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the bot never answered"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    // The session and the plugin data live in the data folder next to the file.
    assert!(dir.path().join("data/session.json").exists());
}

#[test]
fn run_refuses_a_bad_configuration_naming_file_line_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("bad.toml");
    std::fs::write(&config, "[bot]\nprefix = [\"!\"]\n").unwrap();
    let out = wasmqq(&["run", "--config", config.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("bad.toml:2:1: bot.prefix: unknown key"),
        "{err}"
    );
}

#[test]
fn run_refuses_zero_worker_threads_naming_the_option() {
    for args in [
        &["run", "--worker-threads", "0"][..],
        &["demo", "--worker-threads", "many"][..],
    ] {
        let out = wasmqq(args);
        assert!(!out.status.success(), "{args:?}");
        let err = stderr(&out);
        assert!(
            err.contains(&format!(
                "invalid value '{}' for '--worker-threads",
                args[2]
            )),
            "{err}"
        );
    }
}
