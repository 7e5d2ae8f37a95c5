//! Every WIT type through real MCP (the kitchen-sink component), and every kind
//! of invalid argument refused before the guest runs.

use serde_json::{Value, json};

use crate::support::{Moat, USEFUL, is_error, text};

fn everything() -> Value {
    json!({
        "a-bool": true,
        "an-s8": -128,
        "a-u8": 255,
        "an-s16": -32768,
        "a-u16": 65535,
        "an-s32": -2147483648i64,
        "a-u32": 4294967295u64,
        "an-s64": i64::MIN,
        "a-u64": u64::MAX,
        "an-f32": 0.5,
        "an-f64": -1.25e300,
        "a-char": "🦀",
        "a-string": "grüße\n\"quoted\"",
        "a-list": [1, 2, 3],
        "a-record": {"x": -1, "y": 2},
        "a-tuple": [7, "seven", false],
        "a-variant": {"tag": "rectangle", "val": {"x": 3, "y": 4}},
        "an-enum": "green",
        "an-option": null,
        "a-result": {"tag": "err", "val": "nested errors are data"},
        "some-flags": ["read", "execute"],
        "nested": [{"x": 1, "y": 1}, null],
    })
}

#[tokio::test]
async fn every_type_round_trips_through_mcp() {
    let moat = Moat::start(USEFUL).await;
    let tools = moat.client.list_all_tools().await.unwrap();
    let tool = tools.iter().find(|t| t.name == "kitchen-sink.echo-everything").unwrap();
    let input = json!({"x": everything()});
    let input_schema = jsonschema::validator_for(&Value::Object((*tool.input_schema).clone())).unwrap();
    assert!(input_schema.is_valid(&input), "the test input satisfies the advertised input schema");

    let result = moat.call("kitchen-sink.echo-everything", input).await;
    assert!(!is_error(&result), "{}", text(&result));
    let structured = result.structured_content.clone().unwrap();
    assert_eq!(
        structured,
        everything(),
        "value → guest → value is the identity (a record is the structured content)"
    );
    let output_schema =
        jsonschema::validator_for(&Value::Object((*tool.output_schema.clone().unwrap()).clone())).unwrap();
    assert!(output_schema.is_valid(&structured));

    for (tool, value) in [
        ("echo-bool", json!(false)),
        ("echo-s8", json!(-128)),
        ("echo-u16", json!(65535)),
        ("echo-s64", json!(i64::MAX)),
        ("echo-u64", json!(u64::MAX)),
        ("echo-f32", json!(3.5)),
        ("echo-char", json!("é")),
        ("echo-string", json!("")),
        ("echo-list", json!([])),
        ("echo-tuple", json!([0, "", true])),
        ("echo-shape", json!({"tag": "empty"})),
        ("echo-shape", json!({"tag": "circle", "val": 1.5})),
        ("echo-color", json!("blue")),
        ("echo-option", json!("some")),
        ("echo-option", json!(null)),
        ("echo-flags", json!([])),
    ] {
        let result = moat.call(&format!("kitchen-sink.{tool}"), json!({"x": value})).await;
        assert_eq!(result.structured_content, Some(json!({"result": value})), "{tool}({value})");
    }
    let point = moat.call("kitchen-sink.echo-point", json!({"x": {"x": 1, "y": -1}})).await;
    assert_eq!(
        point.structured_content,
        Some(json!({"x": 1, "y": -1})),
        "a record result is the structured content itself"
    );
    moat.stop().await;
}

#[tokio::test]
async fn a_returned_err_is_a_tool_error_and_ok_a_result() {
    let moat = Moat::start(USEFUL).await;
    let err =
        moat.call("kitchen-sink.echo-result", json!({"x": {"tag": "err", "val": "it went wrong"}})).await;
    assert!(is_error(&err));
    assert_eq!(text(&err), "it went wrong");
    assert_eq!(err.structured_content, None);
    let ok = moat.call("kitchen-sink.echo-result", json!({"x": {"tag": "ok", "val": 42}})).await;
    assert!(!is_error(&ok));
    assert_eq!(ok.structured_content, Some(json!({"result": 42})));

    let nothing = moat.call("kitchen-sink.nothing", json!({})).await;
    assert!(!is_error(&nothing) && nothing.content.is_empty() && nothing.structured_content.is_none());

    let nan = moat.call("kitchen-sink.not-a-number", json!({})).await;
    assert!(is_error(&nan), "NaN cannot be sent as JSON");
    assert!(text(&nan).contains("finite number"), "{}", text(&nan));
    moat.stop().await;
}

#[tokio::test]
async fn invalid_arguments_name_the_path_and_never_reach_the_guest() {
    let moat = Moat::start(USEFUL).await;
    let mut bad_everything = everything();
    bad_everything["a-record"]["y"] = json!("two");
    let cases = [
        (
            "kitchen-sink.echo-u8",
            json!({"x": 256}),
            "`$.x`: expected integer in 0..=255 (u8), found number 256",
        ),
        ("kitchen-sink.echo-u8", json!({"x": -1}), "`$.x`: expected integer in 0..=255"),
        ("kitchen-sink.echo-u8", json!({"x": 1.5}), "found number 1.5"),
        ("kitchen-sink.echo-s64", json!({"x": "12"}), "expected integer"),
        ("kitchen-sink.echo-char", json!({"x": "ab"}), "string of exactly one character"),
        ("kitchen-sink.echo-u8", json!({}), "`$.x`: expected required parameter `x` (u8), found nothing"),
        (
            "kitchen-sink.echo-u8",
            json!({"x": 1, "sidenote": "~/.ssh/id_rsa"}),
            "`$.sidenote`: expected only the parameters x",
        ),
        (
            "kitchen-sink.echo-color",
            json!({"x": "purple"}),
            "one of the strings \"red\", \"green\", \"blue\"",
        ),
        ("kitchen-sink.echo-shape", json!({"x": {"tag": "hexagon"}}), "`$.x.tag`"),
        (
            "kitchen-sink.echo-shape",
            json!({"x": {"tag": "circle"}}),
            "`$.x.val`: expected the payload of `circle` (f64)",
        ),
        (
            "kitchen-sink.echo-flags",
            json!({"x": ["read", "read"]}),
            "`$.x[1]`: expected each flag at most once",
        ),
        ("kitchen-sink.echo-tuple", json!({"x": [1, "a"]}), "array of exactly 3 items"),
        ("kitchen-sink.echo-everything", json!({"x": bad_everything}), "`$.x.a-record.y`: expected integer"),
    ];
    for (tool, args, expected) in cases {
        let result = moat.call(tool, args.clone()).await;
        assert!(is_error(&result), "{tool}({args}) must be refused");
        let message = text(&result);
        assert!(message.starts_with("invalid arguments: "), "{message}");
        assert!(message.contains(expected), "{tool}({args}): {message:?} should contain {expected:?}");
    }
    assert!(moat.wait_for_log("outcome=\"invalid-arguments\"").await);
    let log = moat.stderr();
    let calls_that_ran = log.lines().filter(|l| l.contains("fuel_used=")).count();
    assert_eq!(calls_that_ran, 0, "no guest ran for invalid arguments:\n{log}");
    moat.stop().await;
}
