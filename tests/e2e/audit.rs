//! The audit log over stdio: one hash-chained line per call, arguments only
//! as a digest, and `moat audit verify` catching an edited line.

use std::process::Command;

use serde_json::{Value, json};

use crate::support::{MOAT, Moat};

#[tokio::test]
async fn every_call_is_audited_and_tampering_is_detected() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.jsonl");
    let config = format!(
        "[audit]\npath = {:?}\n[components.text]\npath = \"{{dist}}/text.wasm\"\n[components.units]\npath = \"{{dist}}/units.wasm\"\n",
        log.to_str().unwrap()
    );
    let moat = Moat::start(&config).await;
    moat.call("text.word-count", json!({"text": "private words here"})).await;
    moat.call("text.word-count", json!({"text": 42})).await; // invalid arguments
    moat.call("units.convert", json!({"value": 1.0, "from": "km", "to": "parsec"})).await; // a tool error
    moat.stop().await;

    let text = std::fs::read_to_string(&log).unwrap();
    assert!(!text.contains("private words"), "arguments never reach the audit log");
    let lines: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 3, "{text}");
    let outcomes: Vec<&str> = lines.iter().map(|l| l["outcome"].as_str().unwrap()).collect();
    assert_eq!(outcomes, ["ok", "invalid-arguments", "tool-error"]);
    for (i, line) in lines.iter().enumerate() {
        assert_eq!(line["seq"], json!(i + 1));
        assert_eq!(line["principal"], "stdio");
        assert!(line["component_digest"].as_str().unwrap().starts_with("sha256:"));
        assert!(line["arguments_digest"].as_str().unwrap().starts_with("sha256:"));
        assert!(line["duration_us"].is_u64());
    }
    assert!(lines[0]["fuel_used"].as_u64().unwrap() > 0, "fuel is recorded for calls that ran");
    assert_eq!(lines[1]["prev"], lines[0]["hash"]);
    let mode = std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&log).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600, "the audit log is private");

    let verify = || Command::new(MOAT).args(["audit", "verify"]).arg(&log).output().unwrap();
    let ok = verify();
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    assert!(String::from_utf8_lossy(&ok.stdout).contains("3 lines, chain intact"));

    // Several logs are several chains (one per replica), each checked on its own.
    let copy = log.with_file_name("replica-b.jsonl");
    std::fs::copy(&log, &copy).unwrap();
    let edited = text.replacen("\"invalid-arguments\"", "\"ok\"", 1);
    std::fs::write(&log, edited).unwrap();
    let broken = verify();
    assert!(!broken.status.success());
    let message = String::from_utf8_lossy(&broken.stderr);
    assert!(message.contains("line 2") && message.contains("edited"), "{message}");

    let both = Command::new(MOAT).args(["audit", "verify"]).arg(&log).arg(&copy).output().unwrap();
    assert!(!both.status.success());
    let (printed, message) = (String::from_utf8_lossy(&both.stdout), String::from_utf8_lossy(&both.stderr));
    assert!(
        printed.contains("replica-b.jsonl: 3 lines, chain intact"),
        "the intact chain is still checked: {printed}"
    );
    assert!(message.contains("line 2") && message.contains("1 of 2 logs fail"), "{message}");
}
