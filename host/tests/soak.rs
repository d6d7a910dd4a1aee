//! A short soak in the test suite: 1,000 commands through the simulator
//! with every fault of its control API and one kill -9 restart of the real
//! `wasmqq run`: nothing lost, nothing out of order. The long one is
//! `make soak` (the ignored test below: 10,000 commands and two kills by
//! default; `SOAK_COMMANDS`, `SOAK_KILLS`, `SOAK_RATE` change it).

use wasmqq_tests::soak::{SoakPlan, run};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_commands_through_every_fault_and_a_kill_lose_nothing() {
    let plan = SoakPlan {
        commands: 1000,
        kills: 1,
        rate: 200,
    };
    let report = run(
        &plan,
        env!("CARGO_BIN_EXE_wasmqq").as_ref(),
        &wasmqq_tests::wasm::wasm_path("echo.wasm"),
    )
    .await;
    println!("soak: {report}");
    assert_eq!(report.kills, 1, "{report}");
    assert!(report.faults >= 15, "{report}");
    assert_eq!((report.lost, report.out_of_order), (0, 0), "{report}");
}

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "the long soak: run by `make soak`"]
async fn the_long_soak() {
    let plan = SoakPlan {
        commands: env_or("SOAK_COMMANDS", 10_000),
        kills: env_or("SOAK_KILLS", 2),
        rate: env_or("SOAK_RATE", 300) as u32,
    };
    println!("soak: {plan:?}");
    let report = run(
        &plan,
        env!("CARGO_BIN_EXE_wasmqq").as_ref(),
        &wasmqq_tests::wasm::wasm_path("echo.wasm"),
    )
    .await;
    println!("soak: {report}");
    assert_eq!(report.kills, plan.kills, "{report}");
    assert_eq!((report.lost, report.out_of_order), (0, 0), "{report}");
}
