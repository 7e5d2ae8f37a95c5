//! Tools written in Python (componentize-py) and JavaScript (componentize-js),
//! served like the Rust ones: their WIT world's functions and nothing else,
//! logging and progress through moat:host, and the same sandbox and limits
//! around the interpreter inside them. And a Rust tool built to import nothing
//! at all (wasm32-unknown-unknown), served like the others.

#![allow(deprecated)] // MCP logging: deprecated by SEP-2577 for later protocol versions, still served.

use rmcp::model::LoggingLevel;
use serde_json::json;

use crate::notices::{Session, message};
use crate::support::{MOAT, example, imports_of, is_error, text};

const PYTHON: &str = "[components.wordstats]\npath = \"{dist}/wordstats.wasm\"\n";
const JAVASCRIPT: &str = "[components.markdown]\npath = \"{dist}/markdown.wasm\"\n";
const BARE: &str = "[components.bench-bare]\npath = \"{dist}/bench-bare.wasm\"\n";

async fn tools(session: &Session) -> Vec<rmcp::model::Tool> {
    session.client.list_all_tools().await.expect("tools/list")
}

#[tokio::test]
async fn a_python_tool_serves_its_world_with_logging_and_progress() {
    let session = Session::start(PYTHON).await;
    let listed = tools(&session).await;
    let names: Vec<&str> = listed.iter().map(|t| t.name.as_ref()).collect();
    // componentize-py's own `exports#init` export is not offered to the model.
    assert_eq!(names, ["wordstats.analyse", "wordstats.analyse-asking", "wordstats.reading-minutes"]);
    assert_eq!(listed[0].title.as_deref(), Some("Word statistics"));
    assert!(listed[0].description.as_deref().unwrap_or_default().starts_with("Counts the words"));

    let text_in = "The cat sat. The dog ran!\n\nA cat? Yes.";
    let result = session.call("wordstats.analyse", json!({"text": text_in, "top": 2}), Some("p")).await;
    assert!(!is_error(&result), "{result:?}");
    assert_eq!(
        result.structured_content,
        Some(json!({
            "words": 9, "sentences": 4, "paragraphs": 2,
            "top-words": [{"word": "the", "count": 2}, {"word": "cat", "count": 2}],
        }))
    );
    let progress: Vec<(f64, Option<f64>)> =
        session.recorder.take_progress().iter().map(|p| (p.progress, p.total)).collect();
    assert_eq!(progress, [(1.0, Some(2.0)), (2.0, Some(2.0))]);
    assert!(session.recorder.take_logs().is_empty(), "its debug message is below the default level");

    session.set_level(LoggingLevel::Debug).await;
    session.call("wordstats.analyse", json!({"text": text_in, "top": 0}), None).await;
    let logs = session.recorder.take_logs();
    assert_eq!(logs.len(), 1);
    assert_eq!(logs[0].logger.as_deref(), Some("wordstats.analyse"));
    assert_eq!(logs[0].data["fields"], json!({"paragraphs": "2", "bytes": "38"}));
    assert_eq!(message(&logs[0]), "analysing");

    // `raise Err(...)` is the WIT err case: a tool error with its message.
    let refused = session.call("wordstats.analyse", json!({"text": "x", "top": 101}), None).await;
    assert!(is_error(&refused));
    assert_eq!(text(&refused), "top must be at most 100, got 101");
    // Arguments that do not fit the WIT types never reach the interpreter.
    let invalid = session.call("wordstats.analyse", json!({"text": "x", "top": -1}), None).await;
    assert!(is_error(&invalid) && text(&invalid).starts_with("invalid arguments"), "{}", text(&invalid));
    let minutes = session
        .call(
            "wordstats.reading-minutes",
            json!({"text": "word ".repeat(450), "words-per-minute": 200}),
            None,
        )
        .await;
    assert_eq!(minutes.structured_content, Some(json!({"result": 3})));
    session.client.cancel().await.ok();
}

#[tokio::test]
async fn a_javascript_tool_serves_its_world() {
    let session = Session::start(JAVASCRIPT).await;
    let names: Vec<String> = tools(&session).await.iter().map(|t| t.name.to_string()).collect();
    assert_eq!(names, ["markdown.outline", "markdown.slugify", "markdown.slugify-confirmed"]);

    let document = "# Intro\ntext\n```sh\n# not a heading\n```\n## Install moat!\n# Intro\n";
    let outline = session.call("markdown.outline", json!({"markdown": document}), None).await;
    assert!(!is_error(&outline), "{outline:?}");
    assert_eq!(
        outline.structured_content,
        Some(json!({"result": [
            {"level": 1, "text": "Intro", "anchor": "#intro"},
            {"level": 2, "text": "Install moat!", "anchor": "#install-moat"},
            {"level": 1, "text": "Intro", "anchor": "#intro-1"},
        ]}))
    );
    let slug = session
        .call("markdown.slugify", json!({"text": "Crème Brûlée: a recipe!", "max-length": 0}), None)
        .await;
    assert_eq!(text(&slug), "creme-brulee-a-recipe");
    let short = session
        .call("markdown.slugify", json!({"text": "Crème Brûlée: a recipe!", "max-length": 10}), None)
        .await;
    assert_eq!(text(&short), "creme");
    // `throw "..."` is the WIT err case.
    let refused = session.call("markdown.slugify", json!({"text": "!!!", "max-length": 0}), None).await;
    assert!(is_error(&refused));
    assert_eq!(text(&refused), "no letters or digits in \"!!!\"");
    session.client.cancel().await.ok();
}

#[tokio::test]
async fn the_sandbox_and_limits_hold_around_a_python_interpreter() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let config = r#"
[components.pyhostile]
path = "{dist}/pyhostile.wasm"
limits = { fuel = 2_000_000_000, memory = "128MiB" }
"#;
    let session = Session::start(config).await;
    let read = session.call("pyhostile.read-file", json!({"path": "/etc/passwd"}), None).await;
    assert!(is_error(&read), "{}", text(&read));
    assert!(text(&read).contains("FileNotFoundError"), "{}", text(&read));
    let environment = session.call("pyhostile.environment", json!({}), None).await;
    assert_eq!(environment.structured_content, Some(json!({"result": []})), "no environment at all");
    let connect = session.call("pyhostile.connect", json!({"host": "127.0.0.1", "port": port}), None).await;
    assert!(is_error(&connect), "{}", text(&connect));
    listener.set_nonblocking(true).unwrap();
    assert!(listener.accept().is_err(), "nothing reached the listener");

    let spin = session.call("pyhostile.spin", json!({}), None).await;
    assert!(is_error(&spin));
    assert!(text(&spin).contains("fuel limit of 2000000000 units exhausted"), "{}", text(&spin));
    let allocate = session.call("pyhostile.allocate", json!({"mebibytes": 200}), None).await;
    assert!(is_error(&allocate), "{}", text(&allocate));
    assert!(text(&allocate).contains("memory limit of 128.0 MiB exceeded"), "{}", text(&allocate));
    // The interpreter is fresh for the next call.
    let small = session.call("pyhostile.allocate", json!({"mebibytes": 4}), None).await;
    assert_eq!(small.structured_content, Some(json!({"result": 4})));
    session.client.cancel().await.ok();
}

#[tokio::test]
async fn a_rust_tool_built_for_wasm32_unknown_unknown_imports_nothing_and_serves() {
    // The same source built for wasm32-wasip2 imports WASI's command-line
    // interfaces (std's stdio, environment and exit); built bare, nothing.
    let wasip2 = imports_of(&example("bench"));
    assert!(wasip2.iter().any(|import| import.starts_with("wasi:cli/environment")), "{wasip2:?}");
    assert_eq!(imports_of(&example("bench-bare")), Vec::<String>::new());
    let shown = std::process::Command::new(MOAT)
        .args(["--log", "warn", "inspect"])
        .arg(example("bench-bare"))
        .output()
        .expect("run moat inspect");
    let shown = String::from_utf8_lossy(&shown.stdout);
    assert!(shown.contains("imports\n  none: the component needs nothing from the host"), "{shown}");

    let session = Session::start(BARE).await;
    let listed = tools(&session).await;
    let names: Vec<&str> = listed.iter().map(|t| t.name.as_ref()).collect();
    assert_eq!(names, ["bench-bare.add", "bench-bare.sha256", "bench-bare.transform"]);
    assert_eq!(listed[0].description.as_deref(), Some("Adds two integers."));

    let sum = session.call("bench-bare.add", json!({"a": 40, "b": 2}), None).await;
    assert_eq!(sum.structured_content, Some(json!({"result": 42})));
    let digest = session.call("bench-bare.sha256", json!({"data": "abc"}), None).await;
    assert_eq!(text(&digest), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    let document = r#"[{"id": 1, "name": "low", "score": 10}, {"id": 2, "name": "high", "score": 90}]"#;
    let kept = session.call("bench-bare.transform", json!({"document": document}), None).await;
    assert_eq!(text(&kept), r#"[{"id":2,"name":"HIGH"}]"#);
    let refused = session.call("bench-bare.transform", json!({"document": "{}"}), None).await;
    assert!(is_error(&refused));
    assert_eq!(text(&refused), "the document must be an array of records");
    session.client.cancel().await.ok();
}

#[tokio::test]
async fn python_and_javascript_examples_serve_resources_and_ask_the_user() {
    let config = "[components.wordstats]\npath = \"{dist}/wordstats.wasm\"\ngrants = { elicitation = true }\n\
                  [components.markdown]\npath = \"{dist}/markdown.wasm\"\ngrants = { elicitation = true }\n";
    let session = crate::questions::Session::start_with(config, true, "").await;
    for (uri, expected) in
        [("wordstats://reading-speeds", "words per minute"), ("markdown://cheat-sheet", "**bold**")]
    {
        let read =
            session.client.read_resource(rmcp::model::ReadResourceRequestParams::new(uri)).await.unwrap();
        let rmcp::model::ResourceContents::TextResourceContents { text, .. } = &read.contents[0] else {
            panic!("{read:?}")
        };
        assert!(text.contains(expected), "{uri}: {text}");
    }
    // The user answers `top: 2` and `title: "Hello, Wörld"` (questions::ANSWER).
    let asked = session.call("wordstats.analyse-asking", json!({"text": "a b a c"})).await;
    assert!(!is_error(&asked), "{asked:?}");
    assert_eq!(asked.structured_content.unwrap()["top-words"].as_array().unwrap().len(), 2, "the user's top");
    assert_eq!(session.questions(), 1, "the Python tool asked the user");
    let asked = session.call("markdown.slugify-confirmed", json!({"title": "Hello World"})).await;
    assert_eq!(session.questions(), 2, "the JavaScript tool asked the user");
    assert_eq!(text(&asked), "hello-world", "the user's title, slugified: {asked:?}");
}
