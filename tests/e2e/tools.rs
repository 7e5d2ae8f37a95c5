//! The bundled example tools, called through rmcp's client: real answers, and
//! structured output that satisfies the advertised output schema.

use serde_json::{Value, json};

use crate::support::{Moat, USEFUL, is_error, text};

/// Calls `tool`, checks it succeeded and that `structuredContent` satisfies the
/// tool's `outputSchema`, and returns the structured content.
async fn structured(moat: &Moat, tool: &str, args: Value) -> Value {
    let result = moat.call(tool, args).await;
    assert!(!is_error(&result), "{tool} failed: {}", text(&result));
    let structured = result.structured_content.clone().expect("structured content");
    let tools = moat.client.list_all_tools().await.unwrap();
    let schema = tools.iter().find(|t| t.name == tool).unwrap().output_schema.clone().expect("output schema");
    let validator = jsonschema::validator_for(&Value::Object((*schema).clone())).unwrap();
    assert!(
        validator.is_valid(&structured),
        "{tool}: {structured} does not satisfy {}",
        Value::Object((*schema).clone())
    );
    structured
}

#[tokio::test]
async fn text_tools() {
    let moat = Moat::start(USEFUL).await;
    let counts = structured(&moat, "text.word-count", json!({"text": "naïve café\nsecond line"})).await;
    assert_eq!(counts, json!({"characters": 22, "words": 4, "lines": 2, "bytes": 24}));

    let found = structured(
        &moat,
        "text.regex-find",
        json!({"pattern": r"\d+", "text": "a1 b22 c333", "max-matches": 2}),
    )
    .await;
    assert_eq!(
        found["result"],
        json!([{"start": 1, "end": 2, "text": "1"}, {"start": 4, "end": 6, "text": "22"}])
    );
    let all = structured(
        &moat,
        "text.regex-find",
        json!({"pattern": r"\d+", "text": "a1 b22 c333", "max-matches": null}),
    )
    .await;
    assert_eq!(all["result"].as_array().unwrap().len(), 3);

    let bad = moat.call("text.regex-find", json!({"pattern": "(", "text": "x", "max-matches": null})).await;
    assert!(is_error(&bad), "an invalid pattern is the tool's error");
    assert!(text(&bad).contains("unclosed group"), "{}", text(&bad));

    let replaced = moat
        .call(
            "text.regex-replace",
            json!({"pattern": r"(\w+)@(\w+)", "text": "me@home", "replacement": "$2 at $1"}),
        )
        .await;
    assert_eq!(text(&replaced), "home at me");
    let camel = moat.call("text.change-case", json!({"text": "Hello big_world", "to": "camel"})).await;
    assert_eq!(text(&camel), "helloBigWorld");
    moat.stop().await;
}

#[tokio::test]
async fn json_tools() {
    let moat = Moat::start(USEFUL).await;
    let doc = r#"{"items":[{"name":"a","n":1},{"name":"b","n":2}],"ok":true}"#;
    assert_eq!(
        text(&moat.call("json.query", json!({"document": doc, "pointer": "/items/1/name"})).await),
        "\"b\""
    );
    let missing = moat.call("json.query", json!({"document": doc, "pointer": "/items/9"})).await;
    assert!(is_error(&missing) && text(&missing).contains("nothing at `/items/9`"));
    let keys = structured(&moat, "json.keys", json!({"document": doc, "pointer": ""})).await;
    assert_eq!(keys["result"], json!(["items", "ok"]));
    let formatted = moat.call("json.format", json!({"document": "{\"a\":[1]}", "indent": 2})).await;
    assert_eq!(text(&formatted), "{\n  \"a\": [\n    1\n  ]\n}");
    let invalid = structured(&moat, "json.validate", json!({"document": "{\"a\": }"})).await;
    assert_eq!(invalid["valid"], json!(false));
    assert_eq!(invalid["line"], json!(1));
    moat.stop().await;
}

#[tokio::test]
async fn datetime_tools() {
    let moat = Moat::start(USEFUL).await;
    assert_eq!(
        text(&moat.call("datetime.add-days", json!({"date": "2024-02-28", "days": 1})).await),
        "2024-02-29"
    );
    assert_eq!(
        text(&moat.call("datetime.days-between", json!({"from": "2026-01-01", "to": "2026-11-24"})).await),
        "327"
    );
    let info = structured(&moat, "datetime.describe", json!({"date": "2026-11-24"})).await;
    assert_eq!(
        info,
        json!({"date": "2026-11-24", "weekday": "tuesday", "ordinal": 328, "iso-week": 48, "leap-year": false})
    );
    assert_eq!(text(&moat.call("datetime.from-unix", json!({"seconds": 0})).await), "1970-01-01T00:00:00Z");
    assert_eq!(
        text(&moat.call("datetime.to-unix", json!({"timestamp": "1970-01-01T01:00:00+01:00"})).await),
        "0"
    );
    let bad = moat.call("datetime.add-days", json!({"date": "24/11/2026", "days": 1})).await;
    assert!(is_error(&bad) && text(&bad).contains("YYYY-MM-DD"));
    moat.stop().await;
}

#[tokio::test]
async fn hash_tools() {
    let moat = Moat::start(USEFUL).await;
    let digest = moat.call("hash.digest", json!({"algorithm": "sha256", "data": "abc"})).await;
    assert_eq!(text(&digest), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    let hmac = moat
        .call(
            "hash.hmac-sha256",
            json!({"key": "key", "message": "The quick brown fox jumps over the lazy dog"}),
        )
        .await;
    assert_eq!(text(&hmac), "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8");
    assert_eq!(
        text(&moat.call("hash.encode", json!({"encoding": "base64", "data": "moat"})).await),
        "bW9hdA=="
    );
    assert_eq!(text(&moat.call("hash.decode", json!({"encoding": "hex", "data": "6d6f6174"})).await), "moat");
    let bad = moat.call("hash.decode", json!({"encoding": "base64", "data": "%%%"})).await;
    assert!(is_error(&bad));
    moat.stop().await;
}

#[tokio::test]
async fn unit_tools() {
    let moat = Moat::start(USEFUL).await;
    let miles = structured(&moat, "units.convert", json!({"value": 5.0, "from": "km", "to": "mi"})).await;
    assert!((miles["value"].as_f64().unwrap() - 3.106_855_96).abs() < 1e-6, "{miles}");
    assert_eq!(miles["dimension"], "length");
    let boiling = structured(&moat, "units.convert", json!({"value": 100, "from": "C", "to": "F"})).await;
    assert!((boiling["value"].as_f64().unwrap() - 212.0).abs() < 1e-9);
    let mixed = moat.call("units.convert", json!({"value": 1, "from": "kg", "to": "m"})).await;
    assert!(is_error(&mixed) && text(&mixed).contains("cannot convert"), "{}", text(&mixed));
    let data = structured(&moat, "units.units-of", json!({"dimension": "data"})).await;
    assert!(data["result"].as_array().unwrap().contains(&json!("MiB")));
    moat.stop().await;
}

/// `moat call` prints the MCP result on stdout; a reader that closes its end
/// early (`moat call ... | head -c 1`) ends the command quietly, not in a panic.
#[test]
fn moat_call_prints_the_result_and_tolerates_a_reader_that_stops() {
    use std::io::Read;
    use std::process::{Command, Stdio};

    let dir = crate::support::config_dir("[components.text]\npath = \"{dist}/text.wasm\"\n");
    let config = dir.path().join("moat.toml");
    let call = || {
        let mut command = Command::new(crate::support::MOAT);
        command.args(["call", "text.word-count", r#"{"text": "one two"}"#, "-c"]).arg(&config);
        command.env("RUST_LOG", "warn");
        command
    };
    let output = call().output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let result: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(result["structuredContent"]["words"], 2);

    let mut child = call().stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    drop(child.stdout.take());
    let mut stderr = String::new();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "exit {status}: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}
