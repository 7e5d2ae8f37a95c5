//! Every limit, tried by the hostile component: the call fails naming the limit
//! and its value, while a normal call made at the same time and one made after
//! both succeed. Plus guest stdout spam and cancellation.

use std::io::{BufRead, BufReader};
use std::time::Duration;

use serde_json::{Value, json};

use crate::support::{Moat, example, is_error, raw_serve, text, writeln_message};

const CONFIG: &str = r#"
[components.text]
path = "{dist}/text.wasm"

[components.hostile]
path = "{dist}/hostile.wasm"
limits = { fuel = 400_000_000, wall_clock = "20s", memory = "48MiB", output = "64KiB", guest_log = "1KiB" }

[components.slow]
path = "{dist}/hostile.wasm"
limits = { fuel = 1_000_000_000_000, wall_clock = "1s" }

[components.single]
path = "{dist}/hostile.wasm"
limits = { fuel = 1_000_000_000_000, wall_clock = "60s", concurrent_calls = 1, queued_calls = 0 }
"#;

/// Runs `tool(args)` next to a normal call; the first must fail with a message
/// containing `expected`, the normal one (and one made afterwards) must succeed.
async fn contained(moat: &Moat, tool: &str, args: Value, expected: &str) {
    let hostile = moat.call(tool, args);
    let normal = async {
        tokio::time::sleep(Duration::from_millis(20)).await;
        moat.call("text.word-count", json!({"text": "still here"})).await
    };
    let (hostile, normal) = tokio::join!(hostile, normal);
    assert!(is_error(&hostile), "{tool} must fail");
    let message = text(&hostile);
    assert!(message.starts_with("moat stopped the call: "), "{message}");
    assert!(message.contains(expected), "{tool}: {message:?} should contain {expected:?}");
    assert_eq!(normal.structured_content.unwrap()["words"], 2, "the concurrent normal call succeeded");
    let after = moat.call("hostile.ok", json!({})).await;
    assert_eq!(text(&after), "ok", "the same component still serves after {tool}");
}

#[tokio::test]
async fn fuel_memory_stack_output_and_traps_end_only_their_call() {
    let moat = Moat::start(CONFIG).await;
    contained(&moat, "hostile.spin", json!({}), "fuel limit of 400000000 units exhausted").await;
    contained(&moat, "hostile.allocate", json!({"mebibytes": 100}), "memory limit of 48.0 MiB exceeded")
        .await;
    contained(&moat, "hostile.recurse", json!({"depth": 10_000_000}), "stack limit of 1.0 MiB exhausted")
        .await;
    contained(&moat, "hostile.huge-output", json!({"mebibytes": 1}), "output limit of 64.0 KiB exceeded")
        .await;
    contained(&moat, "hostile.crash", json!({"message": "boom"}), "the tool trapped").await;
    let crash = moat.call("hostile.crash", json!({"message": "kaboom"})).await;
    assert!(text(&crash).contains("kaboom"), "the panic message is reported: {}", text(&crash));
    moat.stop().await;
}

#[tokio::test]
async fn wall_clock_stops_compute_and_guests_blocked_in_host_calls() {
    let moat = Moat::start(CONFIG).await;
    contained(&moat, "slow.spin", json!({}), "wall-clock limit of 1s exceeded").await;
    // Fuel does not tick while the guest sleeps inside a host call: only the
    // wall clock can stop it.
    contained(&moat, "slow.sleep", json!({"seconds": 30}), "wall-clock limit of 1s exceeded").await;
    moat.stop().await;
}

/// A spare instance is made after a call, and may wait long before the next
/// one: that call still gets its own wall clock, not the spare's.
#[tokio::test]
async fn a_call_in_a_spare_instance_gets_its_own_wall_clock() {
    let moat = Moat::start(CONFIG).await;
    let first = moat.call("slow.busy", json!({"milliseconds": 300})).await;
    assert!(!is_error(&first), "{}", text(&first));
    // Longer than the 1 s wall clock: a deadline counted from when the spare
    // was made would have passed, and stop the call at its first epoch tick.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let second = moat.call("slow.busy", json!({"milliseconds": 300})).await;
    assert!(!is_error(&second), "the call in the spare instance ran to its end: {}", text(&second));
    assert_eq!(
        moat.calls_in_spares("slow.busy", 2).await,
        1,
        "the second call ran in the spare:\n{}",
        moat.stderr()
    );
    moat.stop().await;
}

/// Spare instances have pool places of their own: with a spare waiting in
/// two components, both of the host's call slots can still run a call.
#[tokio::test]
async fn spare_instances_leave_every_call_slot_its_instance() {
    let config = r#"
[server]
max_concurrent_calls = 2

[components.a]
path = "{dist}/hostile.wasm"

[components.b]
path = "{dist}/hostile.wasm"

[components.c]
path = "{dist}/hostile.wasm"
"#;
    let moat = Moat::start(config).await;
    for tool in ["a.ok", "b.ok"] {
        assert_eq!(text(&moat.call(tool, json!({})).await), "ok");
    }
    assert!(moat.wait_for_log(r#"tool="b.ok""#).await);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (one, two) = tokio::join!(
        moat.call("c.sleep", json!({"seconds": 1})),
        moat.call("c.sleep", json!({"seconds": 1}))
    );
    assert_eq!((text(&one), text(&two)), ("1".to_string(), "1".to_string()));
    // The spares were there all along: the next calls of a and b run in them.
    for tool in ["a.ok", "b.ok"] {
        assert_eq!(text(&moat.call(tool, json!({})).await), "ok");
    }
    for tool in ["a.ok", "b.ok"] {
        assert_eq!(
            moat.calls_in_spares(tool, 2).await,
            1,
            "{tool} ran in its spare the second time:\n{}",
            moat.stderr()
        );
    }
    moat.stop().await;
}

#[tokio::test]
async fn calls_beyond_the_concurrency_limit_are_refused() {
    let moat = Moat::start(CONFIG).await;
    let busy = moat.call("single.sleep", json!({"seconds": 3}));
    let refused = async {
        tokio::time::sleep(Duration::from_millis(500)).await;
        moat.call("single.ok", json!({})).await
    };
    let (busy, refused) = tokio::join!(busy, refused);
    assert_eq!(text(&busy), "3");
    assert!(is_error(&refused));
    assert!(
        text(&refused).contains("concurrency limit reached: 1 calls of this component running and 0 waiting"),
        "{}",
        text(&refused)
    );
    assert_eq!(text(&moat.call("single.ok", json!({})).await), "ok", "a slot is free again");
    moat.stop().await;
}

#[tokio::test]
async fn cancellation_stops_the_running_guest() {
    let moat = Moat::start(CONFIG).await;
    // `single` has one slot and no waiting place: while the spin runs, any other
    // call to it is refused. After cancellation it must be free at once, which
    // the 60 s wall clock and 10^12 fuel could never have done.
    let spin = moat.call("single.spin", json!({}));
    let cancelled = tokio::time::timeout(Duration::from_millis(700), spin).await;
    assert!(
        cancelled.is_err(),
        "the spin was still running; dropping the request sends notifications/cancelled"
    );
    assert!(
        moat.wait_for_log("outcome=\"cancelled\"").await,
        "the host logs the cancellation:\n{}",
        moat.stderr()
    );
    let next = moat.call("single.ok", json!({})).await;
    assert_eq!(text(&next), "ok", "the slot was freed: the guest stopped");
    moat.stop().await;
}

/// Guest stdout that imitates JSON-RPC never reaches the protocol stream; it is
/// captured, capped, and logged escaped to stderr.
#[test]
fn guest_stdout_spam_cannot_forge_protocol_messages() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("moat.toml");
    std::fs::write(
        &config,
        format!(
            "[components.hostile]\npath = {:?}\nlimits = {{ guest_log = \"1KiB\" }}\n",
            example("hostile")
        ),
    )
    .unwrap();
    let (mut child, mut stdin) = raw_serve(&["--config".as_ref(), config.as_os_str()]);
    writeln_message(
        &mut stdin,
        &json!({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"hostile.chatter","arguments":{"lines":2000}}}),
    );
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let init = lines.next().unwrap().unwrap();
    assert!(init.contains("\"id\":1"), "{init}");
    let answer: Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    assert_eq!(answer["id"], 2);
    assert_eq!(answer["result"]["content"][0]["text"], "2000", "the chatty call still succeeds");
    drop(stdin);
    assert!(lines.next().is_none(), "nothing else on stdout: no forged message");
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    let guest_lines: Vec<&str> = stderr.lines().filter(|l| l.contains("moat::guest")).collect();
    assert_eq!(guest_lines.len(), 2, "stdout and stderr of the guest, one log line each:\n{stderr}");
    assert!(guest_lines.iter().all(|l| l.contains("kept=1024") && l.contains("dropped=")), "{guest_lines:?}");
    assert!(
        !stderr.lines().any(|l| l.starts_with("{\"jsonrpc\"")),
        "guest output is escaped inside log lines, never a line of its own"
    );
}

#[tokio::test]
async fn instance_table_and_memory_counts_are_limited() {
    let config = r#"
[components.instances]
path = "{dist}/hash.wasm"
limits = { instances = 1 }
[components.memories]
path = "{dist}/hash.wasm"
limits = { memories = 0 }
[components.tables]
path = "{dist}/hash.wasm"
limits = { tables = 0 }
[components.elements]
path = "{dist}/hash.wasm"
limits = { table_elements = 1 }
[components.hash]
path = "{dist}/hash.wasm"
"#;
    let moat = Moat::start(config).await;
    let args = json!({"encoding": "hex", "data": "A"});
    for (component, expected) in [
        ("instances", "limit of 1 instances per call exceeded"),
        ("memories", "limit of 0 linear memories per call exceeded"),
        ("tables", "limit of 0 tables per call exceeded"),
        ("elements", "table limit of 1 elements exceeded"),
    ] {
        let result = moat.call(&format!("{component}.encode"), args.clone()).await;
        assert!(is_error(&result), "{component}");
        assert!(text(&result).contains(expected), "{component}: {}", text(&result));
    }
    // A component that cannot be instantiated under its limits has no spare,
    // says so once, and each of its calls still fails with the reason.
    for _ in 0..2 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let again = moat.call("instances.encode", args.clone()).await;
        assert!(text(&again).contains("limit of 1 instances per call exceeded"), "{}", text(&again));
    }
    let stderr = moat.stderr();
    let given_up =
        stderr.lines().filter(|l| l.contains("no spare instances") && l.contains("component=instances"));
    assert_eq!(given_up.count(), 1, "one attempt at a spare, then none:\n{stderr}");
    assert_eq!(
        text(&moat.call("hash.encode", args).await),
        "41",
        "the same component with default limits works"
    );
    moat.stop().await;
}
