//! The catalog against the originals it stands in for. Each catalog
//! component runs in moat beside the official server (PyPI's
//! `mcp-server-time`, `mcp-server-fetch` and `mcp-server-git`, npm's
//! `@modelcontextprotocol/server-memory` and `server-filesystem`, pinned in
//! tests/python/requirements.txt and tests/originals), both driven by rmcp's
//! client with the same calls. `tools/list` and every result are compared; a
//! difference either is one catalog/README.md lists, with its reason, or
//! fails the test, and a listed difference that no longer occurs fails it
//! too. Then the attacks: what the original reaches and moat's does not.

use std::path::{Path, PathBuf};

use rmcp::model::{CallToolRequestParams, ReadResourceRequestParams, ResourceContents, Tool};
use rmcp::service::RunningService;
use rmcp::transport::TokioChildProcess;
use rmcp::{RoleClient, ServiceExt};
use serde_json::{Map, Value, json};

use crate::support::{MOAT, catalog, repo_root, shared_cache};

/// One server under comparison, with the prefix its tools carry.
struct Side {
    client: RunningService<RoleClient, ()>,
    prefix: String,
}

impl Side {
    async fn start(command: tokio::process::Command, prefix: &str) -> Side {
        let transport = TokioChildProcess::new(command).expect("start the server");
        let client = ().serve(transport).await.expect("an MCP session starts");
        Side { client, prefix: prefix.to_string() }
    }

    /// moat serving `config` (TOML text) from `dir`.
    async fn moat(dir: &Path, config: &str, component: &str) -> Side {
        std::fs::write(dir.join("moat.toml"), config).unwrap();
        let mut command = tokio::process::Command::new(MOAT);
        command
            .args(["serve", "--config"])
            .arg(dir.join("moat.toml"))
            .arg("--cache-dir")
            .arg(shared_cache())
            .env("RUST_LOG", "warn");
        Side::start(command, &format!("{component}.")).await
    }

    async fn tools(&self) -> Vec<Tool> {
        self.client.list_all_tools().await.expect("tools/list")
    }

    async fn call(&self, tool: &str, arguments: &Value) -> Outcome {
        let Value::Object(arguments) = arguments.clone() else { panic!("arguments are an object") };
        let name = format!("{}{tool}", self.prefix);
        let request = CallToolRequestParams::new(name.clone()).with_arguments(arguments);
        match self.client.call_tool(request).await {
            Err(_) => Outcome::ProtocolError,
            Ok(result) => {
                let result = serde_json::to_value(&result).unwrap();
                let blocks: Vec<Value> = result["content"].as_array().cloned().unwrap_or_default();
                let texts: Vec<String> =
                    blocks.iter().filter_map(|block| block["text"].as_str().map(str::to_string)).collect();
                if result["isError"] == json!(true) {
                    // The Python SDK words a tool's error as "Error executing
                    // tool NAME: MESSAGE"; the message is the server's own.
                    let prefix = format!("Error executing tool {name}: ");
                    let text = texts.join("\n");
                    return Outcome::ToolError(text.strip_prefix(&prefix).unwrap_or(&text).to_string());
                }
                // Text blocks as the JSON they hold; other blocks as they are.
                let text = blocks
                    .iter()
                    .map(|block| match block["text"].as_str() {
                        Some(text) => {
                            serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.into()))
                        }
                        None => block.clone(),
                    })
                    .collect();
                Outcome::Result { structured: result.get("structuredContent").cloned(), text }
            }
        }
    }

    async fn stop(self) {
        let _ = self.client.cancel().await;
    }
}

/// A call's outcome as compared: JSON text blocks as the values they hold.
#[derive(Debug, Clone, PartialEq)]
enum Outcome {
    Result { structured: Option<Value>, text: Vec<Value> },
    ToolError(String),
    ProtocolError,
}

impl Outcome {
    /// Where two outcomes differ: `text` (the same structured content, other
    /// content blocks), `structured` (the same blocks, other structured
    /// content), `error` (both tool errors, other words) or `outcome`.
    fn difference(&self, other: &Outcome) -> Option<&'static str> {
        match (self, other) {
            _ if self == other => None,
            (Outcome::Result { structured: a, .. }, Outcome::Result { structured: b, .. }) if a == b => {
                Some("text")
            }
            (Outcome::Result { text: a, .. }, Outcome::Result { text: b, .. }) if a == b => {
                Some("structured")
            }
            (Outcome::ToolError(_), Outcome::ToolError(_)) => Some("error"),
            _ => Some("outcome"),
        }
    }
}

/// A difference catalog/README.md lists: the call (or tool, for
/// `tools/list`), where it differs, and why.
struct Known {
    label: &'static str,
    aspect: &'static str,
    reason: &'static str,
}

/// What one comparison found, for the report and the assertions.
#[derive(Default)]
struct Tally {
    compared: usize,
    same: usize,
    listed: Vec<(String, &'static str)>,
    unlisted: Vec<String>,
}

impl Tally {
    fn record(
        &mut self,
        label: &str,
        aspect: Option<&'static str>,
        detail: impl Fn() -> String,
        known: &[Known],
    ) {
        self.compared += 1;
        let Some(aspect) = aspect else {
            self.same += 1;
            return;
        };
        match known.iter().find(|k| k.label == label && k.aspect == aspect) {
            Some(k) => self.listed.push((label.to_string(), k.reason)),
            None => self.unlisted.push(format!("{label} ({aspect}): {}", detail())),
        }
    }

    /// Fails on an unlisted difference and on a listed one that did not occur.
    fn assert_as_listed(&self, server: &str, known: &[Known]) {
        eprintln!(
            "{server}: {} of {} comparisons the same, {} differ as listed in catalog/README.md",
            self.same,
            self.compared,
            self.listed.len()
        );
        assert!(self.unlisted.is_empty(), "{server}: differences not listed:\n{}", self.unlisted.join("\n"));
        for k in known {
            assert!(
                self.listed.iter().any(|(label, _)| label == k.label),
                "{server}: the listed difference `{}` ({}) did not occur: take it off the list",
                k.label,
                k.aspect
            );
        }
    }
}

/// A schema reduced to what a client relies on: types, properties, required
/// names, items and the parameters' descriptions; `$ref` resolved, titles
/// and `additionalProperties` dropped.
fn shape(schema: &Value, root: &Value, top: bool) -> Value {
    if let Some(reference) = schema["$ref"].as_str() {
        let name = reference.trim_start_matches("#/$defs/");
        return shape(&root["$defs"][name], root, top);
    }
    // An omissible option is `anyOf: [T, null]` in moat's schema: read as T.
    if let Some([inner, Value::Object(null)]) = schema["anyOf"].as_array().map(Vec::as_slice)
        && null.get("type") == Some(&json!("null"))
    {
        let mut inner = shape(inner, root, top);
        if let (true, Some(text)) = (top, schema.get("description")) {
            inner.as_object_mut().unwrap().insert("description".into(), text.clone());
        }
        return inner;
    }
    let mut out = Map::new();
    if let Some(kind) = schema.get("type") {
        out.insert("type".into(), kind.clone());
    }
    if let Some(properties) = schema["properties"].as_object() {
        let properties: Map<String, Value> = properties
            .iter()
            .map(|(name, property)| {
                let mut inner = shape(property, root, false);
                if let (true, Some(text)) = (top, property.get("description")) {
                    inner.as_object_mut().unwrap().insert("description".into(), text.clone());
                }
                (name.clone(), inner)
            })
            .collect();
        out.insert("properties".into(), Value::Object(properties));
        let mut required: Vec<String> = schema["required"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|name| name.as_str().unwrap().to_string())
            .collect();
        required.sort();
        out.insert("required".into(), json!(required));
    }
    if let Some(items) = schema.get("items") {
        out.insert("items".into(), shape(items, root, false));
    }
    Value::Object(out)
}

/// A tool's annotations with MCP's defaults filled in.
fn annotations(tool: &Tool) -> Value {
    let given = tool.annotations.as_ref().map(|a| serde_json::to_value(a).unwrap()).unwrap_or(json!({}));
    let hint = |name: &str, default: bool| given.get(name).cloned().unwrap_or(json!(default));
    json!({
        "readOnlyHint": hint("readOnlyHint", false),
        "destructiveHint": hint("destructiveHint", true),
        "idempotentHint": hint("idempotentHint", false),
        "openWorldHint": hint("openWorldHint", true),
    })
}

/// Compares the two tool lists: the same names (moat's with its prefix),
/// and for each tool its title, description, annotations and schemas.
fn compare_listings(theirs: &[Tool], ours: &[Tool], prefix: &str, known: &[Known], tally: &mut Tally) {
    let mut names: Vec<String> = theirs.iter().map(|t| t.name.to_string()).collect();
    let mut our_names: Vec<String> =
        ours.iter().map(|t| t.name.trim_start_matches(prefix).to_string()).collect();
    names.sort();
    our_names.sort();
    assert_eq!(our_names, names, "moat's component offers other tools than the original");
    for tool in theirs {
        let our = ours.iter().find(|t| t.name.trim_start_matches(prefix) == tool.name).unwrap();
        let view = |tool: &Tool| {
            let input = Value::Object((*tool.input_schema).clone());
            let output = tool.output_schema.as_ref().map(|s| Value::Object((**s).clone()));
            json!({
                "title": tool.title,
                "description": tool.description,
                "annotations": annotations(tool),
                "input": shape(&input, &input, true),
                "output": output.as_ref().map(|o| shape(o, o, false)),
            })
        };
        let (a, b) = (view(tool), view(our));
        let label = format!("tools/list {}", tool.name);
        tally.record(
            &label,
            (a != b).then_some("listing"),
            || format!("\n  original {a}\n  moat     {b}"),
            known,
        );
    }
}

/// Runs `calls` (label, tool, arguments) against both, in order, comparing
/// each outcome after `normalise`.
async fn compare_calls(
    original: &Side,
    moat: &Side,
    calls: &[(&str, &str, Value)],
    normalise: impl Fn(Outcome) -> Outcome,
    known: &[Known],
    tally: &mut Tally,
) {
    for (label, tool, arguments) in calls {
        // A minute can turn between the two calls of a clock-reading tool:
        // the pair is tried again, up to three times.
        let mut attempt = 0;
        let (a, b) = loop {
            let a = normalise(original.call(tool, arguments).await);
            let b = normalise(moat.call(tool, arguments).await);
            attempt += 1;
            if a == b || attempt == 3 || !tool.contains("time") {
                break (a, b);
            }
        };
        tally.record(label, a.difference(&b), || format!("\n  original {a:?}\n  moat     {b:?}"), known);
    }
}

// ---- time ---------------------------------------------------------------------

const TIME_KNOWN: &[Known] = &[
    Known {
        label: "zone that is a directory",
        aspect: "error",
        reason: "the original reports the tzdata directory's path on the host; moat's zone database is in the component, and the name is an unknown key",
    },
    Known {
        label: "missing argument",
        aspect: "error",
        reason: "each SDK's own wording of a missing required argument",
    },
];

/// Seconds are dropped from every `datetime`: the two calls are not at one instant.
fn without_seconds(outcome: Outcome) -> Outcome {
    fn walk(value: &mut Value) {
        match value {
            Value::Object(map) => {
                for (key, inner) in map.iter_mut() {
                    match inner {
                        Value::String(text) if key == "datetime" && text.len() == 25 => {
                            text.replace_range(16..19, "");
                        }
                        other => walk(other),
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(walk),
            _ => {}
        }
    }
    match outcome {
        Outcome::Result { mut structured, mut text } => {
            structured.iter_mut().for_each(walk);
            text.iter_mut().for_each(walk);
            Outcome::Result { structured, text }
        }
        other => other,
    }
}

fn time_calls() -> Vec<(&'static str, &'static str, Value)> {
    let now = |zone: &str| json!({ "timezone": zone });
    let convert = |from: &str, time: &str, to: &str| json!({ "source_timezone": from, "time": time, "target_timezone": to });
    vec![
        ("now in Tokyo", "get_current_time", now("Asia/Tokyo")),
        ("now in UTC", "get_current_time", now("UTC")),
        ("now in New York", "get_current_time", now("America/New_York")),
        ("now on Lord Howe (half-hour DST)", "get_current_time", now("Australia/Lord_Howe")),
        ("now in a link name", "get_current_time", now("US/Pacific")),
        ("unknown zone", "get_current_time", now("Mars/Olympus")),
        ("empty zone", "get_current_time", now("")),
        ("zone in lower case", "get_current_time", now("europe/paris")),
        ("zone climbing out", "get_current_time", now("../etc/passwd")),
        ("absolute zone", "get_current_time", now("/etc/localtime")),
        ("zone not normalised", "get_current_time", now("Europe//Paris")),
        ("zone that is a directory", "get_current_time", now("Europe")),
        ("missing argument", "get_current_time", json!({})),
        ("Kathmandu to St John's", "convert_time", convert("Asia/Kathmandu", "9:5", "America/St_Johns")),
        ("UTC to Tokyo", "convert_time", convert("UTC", "12:00", "Asia/Tokyo")),
        (
            "New York to Kiritimati",
            "convert_time",
            convert("America/New_York", "23:59", "Pacific/Kiritimati"),
        ),
        (
            "London midnight to Los Angeles",
            "convert_time",
            convert("Europe/London", "00:00", "America/Los_Angeles"),
        ),
        ("a zone to itself", "convert_time", convert("Europe/Berlin", "07:30", "Europe/Berlin")),
        ("hour 24", "convert_time", convert("UTC", "24:00", "UTC")),
        ("minute 60", "convert_time", convert("UTC", "12:60", "UTC")),
        ("seconds given", "convert_time", convert("UTC", "12:00:00", "UTC")),
        ("a word", "convert_time", convert("UTC", "noon", "UTC")),
        ("a leading space", "convert_time", convert("UTC", " 12:00", "UTC")),
        ("unknown target", "convert_time", convert("UTC", "12:00", "Nowhere/Land")),
        ("empty source", "convert_time", convert("", "12:00", "UTC")),
        ("unknown tool", "get_time", json!({})),
    ]
}

#[tokio::test]
async fn time_matches_mcp_server_time() {
    let dist = catalog();
    let dir = tempfile::tempdir().unwrap();
    let config = format!("[components.time]\npath = {:?}\n", dist.join("time.wasm"));
    let moat = Side::moat(dir.path(), &config, "time").await;
    let mut command = tokio::process::Command::new("python3");
    // TZ: the original names the host's zone in its descriptions; moat's
    // component has no host zone and names UTC.
    command.args(["-m", "mcp_server_time"]).env("TZ", "UTC");
    let original = Side::start(command, "").await;

    let mut tally = Tally::default();
    compare_listings(&original.tools().await, &moat.tools().await, &moat.prefix, TIME_KNOWN, &mut tally);
    compare_calls(&original, &moat, &time_calls(), without_seconds, TIME_KNOWN, &mut tally).await;
    tally.assert_as_listed("time", TIME_KNOWN);
    original.stop().await;
    moat.stop().await;
}

// ---- memory -------------------------------------------------------------------

const MEMORY_KNOWN: &[Known] = &[
    Known {
        label: "a field missing",
        aspect: "error",
        reason: "arguments that do not fit the schema are refused by each side's own validator, in its own words",
    },
    Known {
        label: "a wrong type",
        aspect: "error",
        reason: "arguments that do not fit the schema are refused by each side's own validator, in its own words",
    },
];

fn memory_original() -> PathBuf {
    let entry =
        repo_root().join("tests/originals/node_modules/@modelcontextprotocol/server-memory/dist/index.js");
    assert!(entry.exists(), "run `make test` (or `npm ci` in tests/originals) to install the originals");
    entry
}

async fn memory_original_on(file: &Path) -> Side {
    let mut command = tokio::process::Command::new("node");
    command.arg(memory_original()).env("MEMORY_FILE_PATH", file);
    Side::start(command, "").await
}

fn memory_config(granted: &Path) -> String {
    format!(
        "[components.memory]\npath = {:?}\n[components.memory.grants]\nfiles = [{{ host = {:?}, guest = \"/memory\", mode = \"rw\" }}]\n",
        catalog().join("memory.wasm"),
        granted,
    )
}

fn memory_calls() -> Vec<(&'static str, &'static str, Value)> {
    let entity = |name: &str, kind: &str, observations: &[&str]| json!({ "name": name, "entityType": kind, "observations": observations });
    let relation = |from: &str, to: &str, kind: &str| json!({ "from": from, "to": to, "relationType": kind });
    vec![
        ("read an empty graph", "read_graph", json!({})),
        (
            "create entities, one twice in the call",
            "create_entities",
            json!({ "entities": [
                entity("Alice", "person", &["likes tea"]),
                entity("Bob", "person", &[]),
                entity("Alice", "person", &["twin"]),
            ]}),
        ),
        (
            "create entities that exist",
            "create_entities",
            json!({ "entities": [entity("Alice", "robot", &[]), entity("Carol \"C\" 🦀\nO'Neil", "person", &["ÜNÏCODE ΣΑΣ"])] }),
        ),
        (
            "create relations, one twice",
            "create_relations",
            json!({ "relations": [
                relation("Alice", "Bob", "knows"),
                relation("Bob", "Carol \"C\" 🦀\nO'Neil", "works with"),
                relation("Alice", "Bob", "knows"),
            ]}),
        ),
        (
            "create a relation that exists",
            "create_relations",
            json!({ "relations": [relation("Alice", "Bob", "knows")] }),
        ),
        (
            "add observations, some known",
            "add_observations",
            json!({ "observations": [{ "entityName": "Alice", "contents": ["likes tea", "plays chess", "plays chess"] }] }),
        ),
        (
            "add observations to nobody",
            "add_observations",
            json!({ "observations": [{ "entityName": "Nobody", "contents": ["x"] }] }),
        ),
        ("search in observations, any case", "search_nodes", json!({ "query": "CHESS" })),
        ("search by type", "search_nodes", json!({ "query": "person" })),
        ("search unicode", "search_nodes", json!({ "query": "ünïcode σας" })),
        ("search for nothing", "search_nodes", json!({ "query": "" })),
        ("search without a match", "search_nodes", json!({ "query": "zebra" })),
        ("open a node", "open_nodes", json!({ "names": ["Alice"] })),
        ("open no node", "open_nodes", json!({ "names": [] })),
        ("open a missing node", "open_nodes", json!({ "names": ["Nobody"] })),
        (
            "delete observations",
            "delete_observations",
            json!({ "deletions": [{ "entityName": "Alice", "observations": ["likes tea"] }, { "entityName": "Nobody", "observations": ["x"] }] }),
        ),
        (
            "delete a relation",
            "delete_relations",
            json!({ "relations": [relation("Alice", "Bob", "knows")] }),
        ),
        (
            "delete an entity and its relations",
            "delete_entities",
            json!({ "entityNames": ["Carol \"C\" 🦀\nO'Neil"] }),
        ),
        ("read the graph after", "read_graph", json!({})),
        ("a field missing", "create_entities", json!({ "entities": [{ "name": "X" }] })),
        ("a wrong type", "open_nodes", json!({ "names": "Alice" })),
    ]
}

async fn graph_resource(side: &Side) -> String {
    let result = side
        .client
        .read_resource(ReadResourceRequestParams::new("memory://knowledge-graph"))
        .await
        .expect("the graph resource reads");
    match &result.contents[..] {
        [ResourceContents::TextResourceContents { text, mime_type, .. }] => {
            assert_eq!(mime_type.as_deref(), Some("application/json"));
            text.clone()
        }
        other => panic!("one text resource expected, got {other:?}"),
    }
}

#[tokio::test]
async fn memory_matches_server_memory_and_writes_the_same_file() {
    let dir = tempfile::tempdir().unwrap();
    let (theirs, ours) = (dir.path().join("theirs"), dir.path().join("ours"));
    std::fs::create_dir_all(&theirs).unwrap();
    std::fs::create_dir_all(&ours).unwrap();
    let original = memory_original_on(&theirs.join("memory.jsonl")).await;
    let moat = Side::moat(dir.path(), &memory_config(&ours), "memory").await;

    let mut tally = Tally::default();
    compare_listings(&original.tools().await, &moat.tools().await, &moat.prefix, MEMORY_KNOWN, &mut tally);
    compare_calls(&original, &moat, &memory_calls(), |o| o, MEMORY_KNOWN, &mut tally).await;
    let (a, b) = (graph_resource(&original).await, graph_resource(&moat).await);
    tally.record(
        "resource memory://knowledge-graph",
        (a != b).then_some("resource"),
        || format!("{a}\n{b}"),
        MEMORY_KNOWN,
    );
    // The file each wrote, byte for byte: moat keeps the original's format.
    let (a, b) = (
        std::fs::read_to_string(theirs.join("memory.jsonl")).unwrap(),
        std::fs::read_to_string(ours.join("memory.jsonl")).unwrap(),
    );
    tally.record("memory.jsonl", (a != b).then_some("file"), || format!("\n{a}\n---\n{b}"), MEMORY_KNOWN);
    tally.assert_as_listed("memory", MEMORY_KNOWN);
    original.stop().await;
    moat.stop().await;
}

/// A graph the original wrote is read by moat's component as it is.
#[tokio::test]
async fn memory_reads_a_graph_the_original_wrote() {
    let dir = tempfile::tempdir().unwrap();
    let granted = dir.path().join("graph");
    std::fs::create_dir_all(&granted).unwrap();
    let original = memory_original_on(&granted.join("memory.jsonl")).await;
    let entities =
        json!({ "entities": [{ "name": "Dana", "entityType": "person", "observations": ["wrote this"] }] });
    original.call("create_entities", &entities).await;
    let before = original.call("read_graph", &json!({})).await;
    original.stop().await;
    let moat = Side::moat(dir.path(), &memory_config(&granted), "memory").await;
    let ours = moat.call("read_graph", &json!({})).await;
    let structured = |outcome: &Outcome| match outcome {
        Outcome::Result { structured, .. } => structured.clone(),
        other => panic!("a graph expected, got {other:?}"),
    };
    assert_eq!(structured(&ours), structured(&before), "moat reads the original's graph as it is");
    assert!(format!("{ours:?}").contains("wrote this"));
    moat.stop().await;
}

/// A symlink planted in the granted directory leads out of it: the original
/// follows it and reads the file outside; moat's component cannot.
#[tokio::test]
async fn memory_does_not_follow_a_symlink_out_of_its_grant() {
    let dir = tempfile::tempdir().unwrap();
    let (granted, outside) = (dir.path().join("granted"), dir.path().join("outside"));
    std::fs::create_dir_all(&granted).unwrap();
    std::fs::create_dir_all(&outside).unwrap();
    let secret =
        r#"{"type":"entity","name":"secret","entityType":"key","observations":["sk-outside-the-grant"]}"#;
    std::fs::write(outside.join("secret.jsonl"), secret).unwrap();
    std::os::unix::fs::symlink(outside.join("secret.jsonl"), granted.join("memory.jsonl")).unwrap();

    let original = memory_original_on(&granted.join("memory.jsonl")).await;
    let theirs = original.call("read_graph", &json!({})).await;
    assert!(
        format!("{theirs:?}").contains("sk-outside-the-grant"),
        "the original follows the link: {theirs:?}"
    );
    original.stop().await;

    let moat = Side::moat(dir.path(), &memory_config(&granted), "memory").await;
    let ours = moat.call("read_graph", &json!({})).await;
    assert!(
        matches!(ours, Outcome::ToolError(_)),
        "moat's component must not read through the link: {ours:?}"
    );
    assert!(!format!("{ours:?}").contains("sk-outside"), "{ours:?}");
    let write = moat.call("create_entities", &json!({ "entities": [] })).await;
    assert!(matches!(write, Outcome::ToolError(_)), "{write:?}");
    assert_eq!(
        std::fs::read_to_string(outside.join("secret.jsonl")).unwrap(),
        secret,
        "the file outside is untouched"
    );
    moat.stop().await;
}

/// Without a granted directory the component has nowhere to keep the graph,
/// and says so.
#[tokio::test]
async fn memory_without_a_grant_says_what_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let config = format!("[components.memory]\npath = {:?}\n", catalog().join("memory.wasm"));
    let moat = Side::moat(dir.path(), &config, "memory").await;
    let outcome = moat.call("read_graph", &json!({})).await;
    assert_eq!(
        outcome,
        Outcome::ToolError("no directory is granted at /memory: grant one to keep the graph in".into())
    );
    moat.stop().await;
}

// ---- filesystem -----------------------------------------------------------------

const FILESYSTEM_KNOWN: &[Known] = &[
    Known {
        label: "tools/list read_media_file",
        aspect: "listing",
        reason: "a tool that returns content blocks has no output schema in moat, and no structured content",
    },
    Known {
        label: "read a PNG",
        aspect: "structured",
        reason: "the same image block; no structured content",
    },
    Known {
        label: "read a WAV",
        aspect: "structured",
        reason: "the same audio block; no structured content",
    },
    Known {
        label: "read other bytes",
        aspect: "structured",
        reason: "the same resource block; no structured content",
    },
    Known {
        label: "read a relative path climbing out",
        aspect: "error",
        reason: "moat's output scan marks an answer that names /etc/passwd, above the same refusal",
    },
    Known {
        label: "read through a link inside",
        aspect: "outcome",
        reason: "an absolute symlink's target is not visible inside WASI, so moat's component follows no absolute link (relative links are followed, and refused when they lead outside, as the original refuses them)",
    },
    Known {
        label: "read through a link outside",
        aspect: "error",
        reason: "an absolute symlink's target is not visible inside WASI, so moat's component follows no absolute link (relative links are followed, and refused when they lead outside, as the original refuses them)",
    },
    Known {
        label: "read through a directory link outside",
        aspect: "error",
        reason: "an absolute symlink's target is not visible inside WASI, so moat's component follows no absolute link (relative links are followed, and refused when they lead outside, as the original refuses them)",
    },
    Known {
        label: "write through a link outside",
        aspect: "error",
        reason: "an absolute symlink's target is not visible inside WASI, so moat's component follows no absolute link (relative links are followed, and refused when they lead outside, as the original refuses them)",
    },
    Known {
        label: "search with exclusions",
        aspect: "outcome",
        reason: "an absolute symlink's target is not visible inside WASI, so moat's component follows no absolute link (relative links are followed, and refused when they lead outside, as the original refuses them)",
    },
    Known {
        label: "list with sizes",
        aspect: "outcome",
        reason: "the original stats through symlinks, even to a directory outside its allowed directories (4.00 KB); moat's component cannot, and shows 0 B",
    },
    Known {
        label: "file info",
        aspect: "outcome",
        reason: "WASI has no permission bits and no birth time; the times are those of each run's files",
    },
];

fn filesystem_original() -> PathBuf {
    let entry = repo_root()
        .join("tests/originals/node_modules/@modelcontextprotocol/server-filesystem/dist/index.js");
    assert!(entry.exists(), "run `make test` (or `npm ci` in tests/originals) to install the originals");
    entry
}

/// A 1×1 PNG and a silent WAV: media whose bytes are what their names say.
const PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52, 0x00,
    0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4, 0x89, 0x00,
    0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0xf8, 0xcf, 0xc0, 0xf0, 0x1f, 0x00, 0x05,
    0x00, 0x01, 0xff, 0x89, 0x99, 0x3d, 0x1d, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42,
    0x60, 0x82,
];

fn wav() -> Vec<u8> {
    let mut out = Vec::new();
    out.extend(b"RIFF");
    out.extend(36u32.to_le_bytes());
    out.extend(b"WAVEfmt ");
    out.extend(16u32.to_le_bytes());
    out.extend(1u16.to_le_bytes());
    out.extend(1u16.to_le_bytes());
    out.extend(8000u32.to_le_bytes());
    out.extend(8000u32.to_le_bytes());
    out.extend(1u16.to_le_bytes());
    out.extend(8u16.to_le_bytes());
    out.extend(b"data");
    out.extend(0u32.to_le_bytes());
    out
}

/// The tree both servers are given, written afresh before each runs, at
/// the same path, with the same times.
fn filesystem_fixture(root: &Path, second: &Path, outside: &Path) {
    let _ = std::fs::remove_dir_all(root);
    let _ = std::fs::remove_dir_all(second);
    for dir in [root.join("sub/deep"), root.join("unicode"), second.to_path_buf(), outside.to_path_buf()] {
        std::fs::create_dir_all(dir).unwrap();
    }
    let files: &[(&str, &[u8])] = &[
        ("hello.txt", b"line1\nline2\nline3\nline4\nline5\n"),
        ("crlf.txt", b"a\r\nb\r\nc\r\n"),
        ("noeol.txt", b"x\ny\nz"),
        ("empty.txt", b""),
        ("invalid.txt", &[0xff, 0xfe, b'a', b'\n']),
        ("unicode/caf\u{e9}.txt", "cr\u{e8}me".as_bytes()),
        ("sub/a.txt", b"alpha"),
        ("sub/b.log", b"beta log line\n"),
        ("sub/deep/file.md", b"# title\n"),
        (".hidden", b"dotfile"),
        ("code.py", b"def f():\n    return 1\n\n\ndef g():\n    x = 2\n    return x\n"),
        ("image.png", PNG),
        ("data.bin", &[0, 1, 2, 3, 250, 251, 252]),
        ("Zebra.txt", b"z"),
        ("big.txt", &[b'x'; 1536]),
    ];
    for (name, bytes) in files {
        std::fs::write(root.join(name), bytes).unwrap();
    }
    std::fs::write(root.join("sound.wav"), wav()).unwrap();
    std::fs::write(second.join("readme.txt"), b"second directory").unwrap();
    std::fs::write(outside.join("secret.txt"), b"outside the grant").unwrap();
    std::os::unix::fs::symlink(root.join("hello.txt"), root.join("link-inside")).unwrap();
    std::os::unix::fs::symlink(outside.join("secret.txt"), root.join("link-outside")).unwrap();
    std::os::unix::fs::symlink(outside, root.join("dir-link-outside")).unwrap();
    std::os::unix::fs::symlink("hello.txt", root.join("rel-link-inside")).unwrap();
    std::os::unix::fs::symlink("../outside/secret.txt", root.join("rel-link-outside")).unwrap();
    let fixed = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_767_225_600); // 2026-01-01
    let times = std::fs::FileTimes::new().set_accessed(fixed).set_modified(fixed);
    for (name, _) in files {
        std::fs::File::options().write(true).open(root.join(name)).unwrap().set_times(times).unwrap();
    }
}

/// What a tree holds: each path with its bytes, `dir`, or `-> target`.
fn snapshot(root: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.strip_prefix(root).unwrap().to_string_lossy().into_owned();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            if meta.file_type().is_symlink() {
                out.push((name, format!("-> {}", std::fs::read_link(&path).unwrap().display())));
            } else if meta.is_dir() {
                out.push((name, "dir".into()));
                stack.push(path);
            } else {
                out.push((name, String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned()));
            }
        }
    }
    out.sort();
    out
}

fn filesystem_calls(root: &Path, second: &Path, outside: &Path) -> Vec<(String, &'static str, Value)> {
    let at = |name: &str| root.join(name).to_str().unwrap().to_string();
    let path = |name: &str| json!({ "path": at(name) });
    let root_text = root.to_str().unwrap();
    let edit = |old: &str, new: &str| json!({ "oldText": old, "newText": new });
    let calls: Vec<(&str, &'static str, Value)> = vec![
        ("read a file", "read_text_file", path("hello.txt")),
        ("read the first lines", "read_text_file", json!({ "path": at("hello.txt"), "head": 2 })),
        ("read the last lines", "read_text_file", json!({ "path": at("hello.txt"), "tail": 2 })),
        ("read 2.5 lines from the head", "read_text_file", json!({ "path": at("hello.txt"), "head": 2.5 })),
        ("read with tail 0", "read_text_file", json!({ "path": at("hello.txt"), "tail": 0 })),
        (
            "read with head and tail",
            "read_text_file",
            json!({ "path": at("hello.txt"), "head": 1, "tail": 1 }),
        ),
        ("read the last CRLF lines", "read_text_file", json!({ "path": at("crlf.txt"), "tail": 2 })),
        (
            "read the head without a final newline",
            "read_text_file",
            json!({ "path": at("noeol.txt"), "head": 5 }),
        ),
        ("read an empty file", "read_text_file", path("empty.txt")),
        ("read invalid UTF-8", "read_text_file", path("invalid.txt")),
        ("read a missing file", "read_text_file", path("missing.txt")),
        ("read a directory", "read_text_file", path("sub")),
        ("read a relative path", "read_text_file", json!({ "path": "hello.txt" })),
        ("read a relative path climbing out", "read_text_file", json!({ "path": "../../etc/passwd" })),
        ("read outside", "read_text_file", json!({ "path": outside.join("secret.txt") })),
        (
            "read with .. out",
            "read_text_file",
            json!({ "path": format!("{root_text}/../outside/secret.txt") }),
        ),
        ("read a Windows path", "read_text_file", json!({ "path": "C:\\Windows\\win.ini" })),
        ("read through a link inside", "read_text_file", path("link-inside")),
        ("read through a link outside", "read_text_file", path("link-outside")),
        ("read through a relative link inside", "read_text_file", path("rel-link-inside")),
        ("read through a relative link outside", "read_text_file", path("rel-link-outside")),
        ("read through a directory link outside", "read_text_file", path("dir-link-outside/secret.txt")),
        ("read a name in NFD", "read_text_file", path("unicode/cafe\u{301}.txt")),
        ("read below a file", "read_text_file", path("hello.txt/x")),
        ("read the second directory", "read_text_file", json!({ "path": second.join("readme.txt") })),
        ("read_file, deprecated", "read_file", path("noeol.txt")),
        (
            "read several, one missing",
            "read_multiple_files",
            json!({ "paths": [at("hello.txt"), at("missing.txt"), at("noeol.txt"), outside.join("secret.txt")] }),
        ),
        ("read a PNG", "read_media_file", path("image.png")),
        ("read a WAV", "read_media_file", path("sound.wav")),
        ("read other bytes", "read_media_file", path("data.bin")),
        ("read missing media", "read_media_file", path("missing.png")),
        ("list the allowed directories", "list_allowed_directories", json!({})),
        ("list a directory", "list_directory", path("")),
        ("list a subdirectory", "list_directory", path("sub")),
        ("list a file", "list_directory", path("hello.txt")),
        ("list with sizes", "list_directory_with_sizes", path("")),
        (
            "list with sizes by size",
            "list_directory_with_sizes",
            json!({ "path": at("sub"), "sortBy": "size" }),
        ),
        ("a tree", "directory_tree", path("sub")),
        (
            "a tree with exclusions",
            "directory_tree",
            json!({ "path": root_text, "excludePatterns": [".hidden", "*.bin", "deep", "link-*", "dir-link-outside"] }),
        ),
        ("search everywhere", "search_files", json!({ "path": root_text, "pattern": "**/*.txt" })),
        ("search the top", "search_files", json!({ "path": root_text, "pattern": "*.md" })),
        ("search deep", "search_files", json!({ "path": root_text, "pattern": "**/*.md" })),
        (
            "search with exclusions",
            "search_files",
            json!({ "path": root_text, "pattern": "**/*", "excludePatterns": ["unicode/**", "sub/**", "*.txt"] }),
        ),
        ("file info", "get_file_info", path("hello.txt")),
        ("write a new file", "write_file", json!({ "path": at("new.txt"), "content": "fresh\n" })),
        ("overwrite a file", "write_file", json!({ "path": at("noeol.txt"), "content": "replaced" })),
        ("write in a missing directory", "write_file", json!({ "path": at("nodir/x.txt"), "content": "x" })),
        ("write outside", "write_file", json!({ "path": outside.join("new.txt"), "content": "x" })),
        ("write through a link outside", "write_file", json!({ "path": at("link-outside"), "content": "x" })),
        (
            "preview an edit",
            "edit_file",
            json!({ "path": at("hello.txt"), "edits": [edit("line2", "LINE TWO")], "dryRun": true }),
        ),
        (
            "edit two places",
            "edit_file",
            json!({ "path": at("hello.txt"), "edits": [edit("line1\n", ""), edit("line5", "line5\nline6")] }),
        ),
        (
            "edit with other indentation",
            "edit_file",
            json!({ "path": at("code.py"), "edits": [edit("x = 2\nreturn x", "y = 3\n  return y")] }),
        ),
        (
            "edit without a match",
            "edit_file",
            json!({ "path": at("code.py"), "edits": [edit("absent", "x")] }),
        ),
        (
            "edit in backticks",
            "edit_file",
            json!({ "path": at("sub/deep/file.md"), "edits": [edit("# title", "```\ncode\n```")] }),
        ),
        ("read the edits", "read_multiple_files", json!({ "paths": [at("hello.txt"), at("code.py")] })),
        ("create nested directories", "create_directory", path("made/a/b")),
        ("create an existing directory", "create_directory", path("sub")),
        ("create over a file", "create_directory", path("hello.txt")),
        ("move a file", "move_file", json!({ "source": at("new.txt"), "destination": at("made/moved.txt") })),
        (
            "move onto a file",
            "move_file",
            json!({ "source": at("crlf.txt"), "destination": at("empty.txt") }),
        ),
        (
            "move a missing file",
            "move_file",
            json!({ "source": at("gone.txt"), "destination": at("here.txt") }),
        ),
        (
            "move out",
            "move_file",
            json!({ "source": at("empty.txt"), "destination": outside.join("taken.txt") }),
        ),
        ("the tree after", "directory_tree", path("made")),
    ];
    calls.into_iter().map(|(label, tool, args)| (label.to_string(), tool, args)).collect()
}

async fn run_calls(side: &Side, calls: &[(String, &'static str, Value)]) -> Vec<Outcome> {
    let mut out = Vec::new();
    for (_, tool, arguments) in calls {
        out.push(side.call(tool, arguments).await);
    }
    out
}

#[tokio::test]
async fn filesystem_matches_server_filesystem() {
    let dir = tempfile::tempdir().unwrap();
    let base = std::fs::canonicalize(dir.path()).unwrap();
    let (root, second, outside) = (base.join("files"), base.join("second"), base.join("outside"));
    let calls = filesystem_calls(&root, &second, &outside);

    filesystem_fixture(&root, &second, &outside);
    let mut command = tokio::process::Command::new("node");
    command.arg(filesystem_original()).arg(&root).arg(&second).env("TZ", "UTC");
    let original = Side::start(command, "").await;
    let theirs_listing = original.tools().await;
    let theirs = run_calls(&original, &calls).await;
    original.stop().await;
    let theirs_tree = snapshot(&root);

    filesystem_fixture(&root, &second, &outside);
    let config = format!(
        "[components.filesystem]\npath = {:?}\n[components.filesystem.grants]\nfiles = [{{ host = {root:?}, guest = {root:?}, mode = \"rw\" }}, {{ host = {second:?}, guest = {second:?}, mode = \"rw\" }}]\n",
        catalog().join("filesystem.wasm"),
    );
    let moat = Side::moat(&base, &config, "filesystem").await;
    let mut tally = Tally::default();
    compare_listings(&theirs_listing, &moat.tools().await, &moat.prefix, FILESYSTEM_KNOWN, &mut tally);
    let ours = run_calls(&moat, &calls).await;
    moat.stop().await;
    let ours_tree = snapshot(&root);

    for (((label, _, _), a), b) in calls.iter().zip(&theirs).zip(&ours) {
        tally.record(
            label,
            a.difference(b),
            || format!("\n  original {a:?}\n  moat     {b:?}"),
            FILESYSTEM_KNOWN,
        );
    }
    tally.record(
        "the tree after the calls",
        (theirs_tree != ours_tree).then_some("file"),
        || format!("\n  original {theirs_tree:?}\n  moat     {ours_tree:?}"),
        FILESYSTEM_KNOWN,
    );
    tally.assert_as_listed("filesystem", FILESYSTEM_KNOWN);
}

/// A read-only grant is read-only whatever the component does: writing,
/// editing, moving and creating are refused by the sandbox, and the files
/// stay as they were.
#[tokio::test]
async fn filesystem_under_a_read_only_grant_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let root = std::fs::canonicalize(dir.path()).unwrap().join("files");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::write(root.join("keep.txt"), "kept\n").unwrap();
    let config = format!(
        "[components.filesystem]\npath = {:?}\n[components.filesystem.grants]\nfiles = [{{ host = {root:?}, guest = {root:?}, mode = \"ro\" }}]\n",
        catalog().join("filesystem.wasm"),
    );
    let moat = Side::moat(dir.path(), &config, "filesystem").await;
    let at = |name: &str| root.join(name).to_str().unwrap().to_string();
    let read = moat.call("read_text_file", &json!({ "path": at("keep.txt") })).await;
    assert_eq!(
        read,
        Outcome::Result { structured: Some(json!({ "content": "kept\n" })), text: vec![json!("kept\n")] }
    );
    let edit = json!({ "path": at("keep.txt"), "edits": [{ "oldText": "kept", "newText": "lost" }] });
    for (tool, arguments) in [
        ("write_file", json!({ "path": at("keep.txt"), "content": "lost" })),
        ("write_file", json!({ "path": at("new.txt"), "content": "x" })),
        ("edit_file", edit),
        ("move_file", json!({ "source": at("keep.txt"), "destination": at("moved.txt") })),
        ("create_directory", json!({ "path": at("made") })),
    ] {
        let outcome = moat.call(tool, &arguments).await;
        assert!(matches!(outcome, Outcome::ToolError(_)), "{tool} under a read-only grant: {outcome:?}");
    }
    moat.stop().await;
    assert_eq!(snapshot(&root), vec![("keep.txt".to_string(), "kept\n".to_string())]);
}

// ---- the catalog, published and installed by name ---------------------------------

/// `moat catalog publish` pushes the catalog to a registry with its signed
/// index; `moat add NAME` installs each by name, pinned, verified and vetted,
/// with the directories it asks for; one moat then serves all four. A
/// changed index, one signed by another key, an unknown name and a missing
/// answer are refused, and nothing is added.
#[tokio::test]
async fn the_catalog_publishes_and_adds_by_name() {
    use crate::oci::{LocalRegistry, keygen};
    let dist = catalog();
    let registry = LocalRegistry::start();
    let dir = tempfile::tempdir().unwrap();
    let base = std::fs::canonicalize(dir.path()).unwrap();
    let (key, public) = keygen(&base, "publisher");
    let (_, stranger) = keygen(&base, "stranger");
    let index = base.join("catalog.json");
    let source = dist.parent().unwrap().join("catalog.toml");
    let published = crate::support::moat(&[
        "--format".as_ref(),
        "json".as_ref(),
        "catalog".as_ref(),
        "publish".as_ref(),
        source.as_os_str(),
        "--registry".as_ref(),
        registry.reference("catalog").as_ref(),
        "--key".as_ref(),
        key.as_os_str(),
        "--output".as_ref(),
        index.as_os_str(),
    ]);
    assert!(published.status.success(), "{}", crate::support::stderr_of(&published));
    // One JSON document for the whole catalog, not one per component pushed.
    let report: Value = serde_json::from_slice(&published.stdout).expect("one JSON document");
    assert_eq!(report["components"].as_object().unwrap().len(), 5, "{report}");
    let listed: Value = serde_json::from_slice(&std::fs::read(&index).unwrap()).unwrap();
    for name in ["time", "memory", "filesystem"] {
        let reference = listed["components"][name]["reference"].as_str().unwrap();
        assert!(reference.contains("/catalog/") && reference.contains("@sha256:"), "{name}: {reference}");
    }

    let home = base.join("home");
    let (files, memory, repository) = (base.join("work"), base.join("graph"), base.join("repository"));
    for d in [&home, &files, &memory] {
        std::fs::create_dir_all(d).unwrap();
    }
    let initialised =
        std::process::Command::new("git").args(["init", "-q", "-b", "main"]).arg(&repository).status();
    assert!(initialised.unwrap().success());
    let config = home.join("moat.toml");
    let add = |name: &str, index: &Path, trusted: &Path, dirs: &[&Path]| {
        let mut args: Vec<std::ffi::OsString> =
            vec!["add".into(), name.into(), "--catalog".into(), index.into()];
        args.extend(["--key".into(), trusted.into(), "--config".into(), config.clone().into()]);
        for d in dirs {
            args.extend(["--dir".into(), d.into()]);
        }
        crate::support::moat(&args)
    };

    // Refusals first, each leaving no config behind.
    let unknown = add("sequential-thinking", &index, &public, &[]);
    assert_eq!(unknown.status.code(), Some(1));
    assert!(
        crate::support::stderr_of(&unknown).contains(
            "no component named `sequential-thinking` (it has fetch, filesystem, git, memory, time)"
        )
    );
    let unanswered = add("memory", &index, &public, &[]);
    assert!(
        crate::support::stderr_of(&unanswered).contains(
            "memory needs the directory that holds (or will hold) memory.jsonl: give it with --dir PATH"
        ),
        "{}",
        crate::support::stderr_of(&unanswered)
    );
    let untrusted = add("time", &index, &stranger, &[]);
    assert!(crate::support::stderr_of(&untrusted).contains("is not signed by a trusted key"));
    let tampered = base.join("tampered.json");
    let text = std::fs::read_to_string(&index).unwrap();
    let first_digest = text.find("@sha256:").unwrap() + "@sha256:".len();
    let mut changed = text.clone();
    changed.replace_range(first_digest..first_digest + 4, "0000");
    std::fs::write(&tampered, changed).unwrap();
    std::fs::copy(base.join("catalog.json.sig"), base.join("tampered.json.sig")).unwrap();
    let refused = add("time", &tampered, &public, &[]);
    assert!(crate::support::stderr_of(&refused).contains("tampered.json is not signed by a trusted key"));
    assert!(!config.exists(), "a refused add writes no config");

    let adding = [
        ("time", vec![]),
        ("memory", vec![memory.as_path()]),
        ("filesystem", vec![files.as_path()]),
        ("fetch", vec![]),
        ("git", vec![repository.as_path()]),
    ];
    for (name, dirs) in adding {
        let output = add(name, &index, &public, &dirs);
        assert!(output.status.success(), "{name}: {}", crate::support::stderr_of(&output));
    }
    let written = std::fs::read_to_string(&config).unwrap();
    let files_text = files.to_str().unwrap();
    assert!(
        written.contains(&format!(
            "[components.filesystem.grants]\nfiles = [{{ host = \"{files_text}\", guest = \"{files_text}\", mode = \"rw\" }}]"
        )),
        "{written}"
    );
    assert!(written.contains("guest = \"/memory\""), "{written}");
    assert!(written.contains("[components.fetch.grants]\nhttp = [{ url = \"https://*\" }]"), "{written}");
    let repository_text = repository.to_str().unwrap();
    assert!(
        written.contains(&format!(
            "[components.git.grants]\nfiles = [{{ host = \"{repository_text}\", guest = \"{repository_text}\", mode = \"rw\" }}]"
        )),
        "{written}"
    );
    assert_eq!(written.matches("source = \"oci://").count(), 5, "{written}");

    // One moat serving the five, as the config `moat add` wrote.
    let mut command = tokio::process::Command::new(MOAT);
    command
        .args(["serve", "--config"])
        .arg(&config)
        .arg("--cache-dir")
        .arg(shared_cache())
        .env("RUST_LOG", "warn");
    let served = Side::start(command, "").await;
    assert_eq!(served.tools().await.len(), 2 + 9 + 14 + 1 + 12);
    let status = served.call("git.git_status", &json!({ "repo_path": repository })).await;
    assert!(
        matches!(status, Outcome::Result { ref text, .. } if text[0].as_str().unwrap().contains("No commits yet")),
        "{status:?}"
    );
    let note = served
        .call(
            "filesystem.write_file",
            &json!({ "path": files.join("note.txt"), "content": "from the catalog" }),
        )
        .await;
    assert!(matches!(note, Outcome::Result { .. }), "{note:?}");
    assert_eq!(std::fs::read_to_string(files.join("note.txt")).unwrap(), "from the catalog");
    let entity = json!({ "entities": [{ "name": "moat", "entityType": "host", "observations": [] }] });
    assert!(matches!(served.call("memory.create_entities", &entity).await, Outcome::Result { .. }));
    assert!(memory.join("memory.jsonl").exists());
    let outside =
        served.call("filesystem.read_text_file", &json!({ "path": memory.join("memory.jsonl") })).await;
    assert!(matches!(outside, Outcome::ToolError(ref e) if e.starts_with("Access denied")), "{outside:?}");
    served.stop().await;
}

// ---- fetch --------------------------------------------------------------------

const FETCH_KNOWN: &[Known] = &[
    Known {
        label: "no host",
        aspect: "error",
        reason: "arguments that do not fit are refused by each side's own validator, in its own words",
    },
    Known {
        label: "an article among navigation",
        aspect: "text",
        reason: "the same article found (Readability's algorithm in both), but markdownify keeps a paragraph's line breaks as the page wrote them and htmd joins its lines with spaces",
    },
    Known {
        label: "max_length 0",
        aspect: "error",
        reason: "arguments that do not fit are refused by each side's own validator, in its own words",
    },
];

/// tests/python/pages.py on a free port; stopped when dropped (its stdin closes).
struct Pages {
    child: std::process::Child,
    port: u16,
}

impl Pages {
    fn start(forbidden: bool) -> Pages {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut command = std::process::Command::new("python3");
        command.arg(repo_root().join("tests/python/pages.py")).arg(port.to_string());
        if forbidden {
            command.arg("forbidden");
        }
        let mut child = command
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("start the pages server");
        let mut line = String::new();
        std::io::BufRead::read_line(&mut std::io::BufReader::new(child.stdout.take().unwrap()), &mut line)
            .unwrap();
        assert_eq!(line.trim(), "ready");
        Pages { child, port }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }
}

impl Drop for Pages {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn fetch_matches_mcp_server_fetch() {
    let (pages, forbidden) = (Pages::start(false), Pages::start(true));
    let dir = tempfile::tempdir().unwrap();
    // Both reach the test's loopback server: the original with its flag for
    // private addresses, moat's component with a grant naming it.
    let config = format!(
        "[components.fetch]\npath = {:?}\n[components.fetch.grants]\nhttp = [{{ url = \"http://127.0.0.1:{}\" }}, {{ url = \"http://127.0.0.1:{}\" }}]\n",
        catalog().join("fetch.wasm"),
        pages.port,
        forbidden.port,
    );
    let moat = Side::moat(dir.path(), &config, "fetch").await;
    let mut command = tokio::process::Command::new("python3");
    command.args(["-m", "mcp_server_fetch", "--allow-private-ips"]);
    let original = Side::start(command, "").await;

    let mut tally = Tally::default();
    compare_listings(&original.tools().await, &moat.tools().await, &moat.prefix, FETCH_KNOWN, &mut tally);
    let fetch = |url: String| json!({ "url": url });
    let calls: Vec<(String, &'static str, Value)> = vec![
        ("plain text".into(), "fetch", fetch(pages.url("/plain.txt"))),
        ("JSON".into(), "fetch", fetch(pages.url("/data.json"))),
        ("HTML, raw".into(), "fetch", json!({ "url": pages.url("/page.html"), "raw": true })),
        ("HTML as Markdown".into(), "fetch", fetch(pages.url("/page.html"))),
        ("an empty page".into(), "fetch", fetch(pages.url("/empty.html"))),
        ("an article among navigation".into(), "fetch", fetch(pages.url("/article.html"))),
        ("a long text, first window".into(), "fetch", fetch(pages.url("/long.txt"))),
        (
            "a long text, a later window".into(),
            "fetch",
            json!({ "url": pages.url("/long.txt"), "start_index": 5000, "max_length": 1000 }),
        ),
        (
            "a long text, the last window".into(),
            "fetch",
            json!({ "url": pages.url("/long.txt"), "start_index": 31000 }),
        ),
        ("past the end".into(), "fetch", json!({ "url": pages.url("/plain.txt"), "start_index": 100000 })),
        ("exactly the length".into(), "fetch", json!({ "url": pages.url("/plain.txt"), "max_length": 39 })),
        ("a redirect".into(), "fetch", fetch(pages.url("/moved"))),
        ("disallowed by robots.txt".into(), "fetch", fetch(pages.url("/private/secret.txt"))),
        ("a redirect into a disallowed page".into(), "fetch", fetch(pages.url("/into-private"))),
        ("a redirect loop".into(), "fetch", fetch(pages.url("/loop"))),
        ("not found".into(), "fetch", fetch(pages.url("/missing"))),
        ("robots.txt forbidden".into(), "fetch", fetch(forbidden.url("/plain.txt"))),
        ("no host".into(), "fetch", fetch("http://".into())),
        ("max_length 0".into(), "fetch", json!({ "url": pages.url("/plain.txt"), "max_length": 0 })),
    ];
    compare_calls(
        &original,
        &moat,
        &calls.iter().map(|(l, t, a)| (l.as_str(), *t, a.clone())).collect::<Vec<_>>(),
        |o| o,
        FETCH_KNOWN,
        &mut tally,
    )
    .await;
    tally.assert_as_listed("fetch", FETCH_KNOWN);
    original.stop().await;
    moat.stop().await;
}

/// Under `https://*` (any public host), the component reaches no loopback,
/// private or metadata address, and nothing over plain http: the host
/// refuses each request before connecting, whatever the component asks.
#[tokio::test]
async fn fetch_under_any_public_host_reaches_no_private_address() {
    let pages = Pages::start(false);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("moat.toml"),
        format!(
            "[components.fetch]\npath = {:?}\n[components.fetch.grants]\nhttp = [{{ url = \"https://*\" }}]\n",
            catalog().join("fetch.wasm")
        ),
    )
    .unwrap();
    let moat = crate::support::Moat::serve_dir(dir, &[]).await;
    for url in [
        format!("https://localhost:{}/plain.txt", pages.port),
        "https://127.0.0.1/plain.txt".to_string(),
        "https://169.254.169.254/latest/meta-data/".to_string(),
        "https://10.0.0.1/".to_string(),
        pages.url("/plain.txt"),
    ] {
        let result = moat.call("fetch.fetch", json!({ "url": url })).await;
        assert!(crate::support::is_error(&result), "{url}: {}", crate::support::text(&result));
    }
    let log = moat.settled_log().await;
    assert_eq!(log.matches("egress refused").count(), 5, "each request refused by the host:\n{log}");
    assert!(log.contains("resolves only to addresses the grant does not name"), "{log}");
    moat.stop().await;
}

// ---- git ----------------------------------------------------------------------

const GIT_KNOWN: &[Known] = &[Known {
    label: "contains an unknown commit",
    aspect: "error",
    reason: "the original reports the failed git command (its exit code, command line and stderr); moat runs no git program and says what git's stderr says",
}];

const GIT_WRITE_KNOWN: &[Known] = &[
    Known {
        label: "add a path that is not there",
        aspect: "error",
        reason: "the original reports the failed git command; moat says what git's stderr says",
    },
    Known {
        label: "add an ignored file",
        aspect: "error",
        reason: "the original reports the failed git command, with git's hints; moat says what git's stderr says, without the hints (there is no -f to pass)",
    },
    Known {
        label: "checkout over a local change",
        aspect: "error",
        reason: "the original reports the failed git command; moat names the same files in git's words",
    },
];

/// Repositories built by tests/originals/git-fixture.sh in a new directory:
/// ROOT/work, ROOT/fresh and ROOT/detached.
fn git_fixture() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let root = std::fs::canonicalize(dir.path()).unwrap();
    let status = std::process::Command::new("bash")
        .arg(repo_root().join("tests/originals/git-fixture.sh"))
        .arg(&root)
        .status()
        .expect("run git-fixture.sh (it needs git)");
    assert!(status.success(), "git-fixture.sh failed");
    (dir, root)
}

/// PyPI's mcp-server-git, confined to `repository` when one is given, with
/// no user or system git configuration.
async fn git_original(repository: Option<&Path>) -> Side {
    let mut command = tokio::process::Command::new("python3");
    command
        .args(["-m", "mcp_server_git"])
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1");
    if let Some(repository) = repository {
        command.arg("--repository").arg(repository);
    }
    Side::start(command, "").await
}

/// moat's config granting each of `repositories` with `mode` (`ro` or
/// `rw`), at the same path inside as outside.
fn git_config(repositories: &[&Path], mode: &str) -> String {
    let grants: Vec<String> = repositories
        .iter()
        .map(|path| format!("{{ host = {:?}, guest = {:?}, mode = {mode:?} }}", path, path))
        .collect();
    format!(
        "[components.git]\npath = {:?}\n[components.git.grants]\nfiles = [{}]\n",
        catalog().join("git.wasm"),
        grants.join(", ")
    )
}

/// One labelled call of `tool` on the repository `repo`, with `extra`
/// arguments beside `repo_path`.
fn git_call(repo: &str, label: &str, tool: &'static str, extra: Value) -> (String, &'static str, Value) {
    let mut arguments = json!({ "repo_path": repo });
    arguments.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    (label.to_string(), tool, arguments)
}

fn git_calls(work: &Path) -> Vec<(String, &'static str, Value)> {
    let repo = work.to_str().unwrap();
    let call = |label: &str, tool: &'static str, extra: Value| git_call(repo, label, tool, extra);
    vec![
        call("status with every kind of change", "git_status", json!({})),
        call("unstaged diff", "git_diff_unstaged", json!({})),
        call("unstaged diff, no context", "git_diff_unstaged", json!({ "context_lines": 0 })),
        call("unstaged diff, ten lines of context", "git_diff_unstaged", json!({ "context_lines": 10 })),
        call("staged diff", "git_diff_staged", json!({})),
        call("diff with the parent", "git_diff", json!({ "target": "HEAD~1" })),
        call("diff with a tag: renames, binary, two hunks", "git_diff", json!({ "target": "v1" })),
        call(
            "diff with a branch, one line of context",
            "git_diff",
            json!({ "target": "feature", "context_lines": 1 }),
        ),
        call("diff with an unknown name", "git_diff", json!({ "target": "nope" })),
        call("diff with a flag as target", "git_diff", json!({ "target": "--output=/tmp/x" })),
        call("log", "git_log", json!({})),
        call("log, two entries", "git_log", json!({ "max_count": 2 })),
        call("log since a date", "git_log", json!({ "start_timestamp": "2024-01-18" })),
        call("log until a month-name date", "git_log", json!({ "end_timestamp": "Jan 25 2024" })),
        call(
            "log between an ISO time and a date",
            "git_log",
            json!({ "start_timestamp": "2024-01-16T00:00:00", "end_timestamp": "2024-02-05" }),
        ),
        call("log since a relative date", "git_log", json!({ "start_timestamp": "2 weeks ago" })),
        call("log with a flag as date", "git_log", json!({ "start_timestamp": "-all" })),
        call("show a merge", "git_show", json!({ "revision": "HEAD" })),
        call("show a commit with a rename and a binary file", "git_show", json!({ "revision": "HEAD~1" })),
        call("show the root commit", "git_show", json!({ "revision": "HEAD~2" })),
        call("show an annotated tag", "git_show", json!({ "revision": "v1" })),
        call("show a directory", "git_show", json!({ "revision": "HEAD:docs" })),
        call("show the top tree", "git_show", json!({ "revision": "HEAD:" })),
        call("show a file", "git_show", json!({ "revision": "HEAD:main.rs" })),
        call("show a binary file", "git_show", json!({ "revision": "HEAD:bin.dat" })),
        call("show a missing path", "git_show", json!({ "revision": "HEAD:nothere" })),
        call("show an unknown name", "git_show", json!({ "revision": "nope" })),
        call("show a flag", "git_show", json!({ "revision": "-p" })),
        call("local branches", "git_branch", json!({ "branch_type": "local" })),
        call("remote branches", "git_branch", json!({ "branch_type": "remote" })),
        call("all branches", "git_branch", json!({ "branch_type": "all" })),
        call(
            "branches containing a commit",
            "git_branch",
            json!({ "branch_type": "all", "contains": "HEAD~1" }),
        ),
        call(
            "branches not containing HEAD",
            "git_branch",
            json!({ "branch_type": "local", "not_contains": "HEAD" }),
        ),
        call(
            "contains an unknown commit",
            "git_branch",
            json!({ "branch_type": "local", "contains": "nope" }),
        ),
        call("a bad branch type", "git_branch", json!({ "branch_type": "bogus" })),
        call("contains a flag", "git_branch", json!({ "branch_type": "local", "contains": "--all" })),
        ("a repository outside the grant".into(), "git_status", json!({ "repo_path": "/tmp" })),
        (
            "a directory inside the repository".into(),
            "git_status",
            json!({ "repo_path": format!("{repo}/docs") }),
        ),
        ("a path through ..".into(), "git_status", json!({ "repo_path": format!("{repo}/../work") })),
        ("a missing path".into(), "git_status", json!({ "repo_path": format!("{repo}/nothere") })),
    ]
}

fn git_other_calls(fresh: &Path, detached: &Path) -> Vec<(String, &'static str, Value)> {
    let (fresh, detached) = (fresh.to_str().unwrap(), detached.to_str().unwrap());
    vec![
        ("status before the first commit".into(), "git_status", json!({ "repo_path": fresh })),
        ("staged diff before the first commit".into(), "git_diff_staged", json!({ "repo_path": fresh })),
        ("unstaged diff before the first commit".into(), "git_diff_unstaged", json!({ "repo_path": fresh })),
        ("log before the first commit".into(), "git_log", json!({ "repo_path": fresh })),
        (
            "branches before the first commit".into(),
            "git_branch",
            json!({ "repo_path": fresh, "branch_type": "local" }),
        ),
        (
            "show HEAD before the first commit".into(),
            "git_show",
            json!({ "repo_path": fresh, "revision": "HEAD" }),
        ),
        ("status, HEAD detached".into(), "git_status", json!({ "repo_path": detached })),
        (
            "branches, HEAD detached".into(),
            "git_branch",
            json!({ "repo_path": detached, "branch_type": "local" }),
        ),
        (
            "all branches of a clone".into(),
            "git_branch",
            json!({ "repo_path": detached, "branch_type": "all" }),
        ),
        ("log, HEAD detached".into(), "git_log", json!({ "repo_path": detached, "max_count": 1 })),
        (
            "diff with a branch, HEAD detached".into(),
            "git_diff",
            json!({ "repo_path": detached, "target": "main" }),
        ),
    ]
}

#[tokio::test]
async fn git_matches_mcp_server_git() {
    let (_dir, root) = git_fixture();
    let (work, fresh, detached) = (root.join("work"), root.join("fresh"), root.join("detached"));
    let config_dir = tempfile::tempdir().unwrap();
    let moat = Side::moat(config_dir.path(), &git_config(&[&work, &fresh, &detached], "ro"), "git").await;
    let confined = git_original(Some(&work)).await;
    let unconfined = git_original(None).await;

    let mut tally = Tally::default();
    compare_listings(&confined.tools().await, &moat.tools().await, &moat.prefix, GIT_KNOWN, &mut tally);
    for (original, calls) in
        [(&confined, git_calls(&work)), (&unconfined, git_other_calls(&fresh, &detached))]
    {
        let calls: Vec<(&str, &str, Value)> =
            calls.iter().map(|(l, t, a)| (l.as_str(), *t, a.clone())).collect();
        compare_calls(original, &moat, &calls, |o| o, GIT_KNOWN, &mut tally).await;
    }
    tally.assert_as_listed("git, reading", GIT_KNOWN);
    for side in [confined, unconfined, moat] {
        side.stop().await;
    }
}

/// `text` with `root` written as ROOT and every 40-digit object id as HASH
/// (commits made by the two sides differ in their times, so in their ids).
fn git_neutral(text: &str, root: &Path) -> String {
    let text = text.replace(root.to_str().unwrap(), "ROOT");
    let mut out = String::new();
    let mut run = String::new();
    for c in text.chars().chain(std::iter::once(' ')) {
        if c.is_ascii_hexdigit() {
            run.push(c);
            continue;
        }
        out.push_str(if run.len() == 40 { "HASH" } else { &run });
        run.clear();
        out.push(c);
    }
    out.pop();
    out
}

fn git_write_calls(work: &Path) -> Vec<(String, &'static str, Value)> {
    let repo = work.to_str().unwrap();
    let call = |label: &str, tool: &'static str, extra: Value| git_call(repo, label, tool, extra);
    vec![
        call("create a branch from the current one", "git_create_branch", json!({ "branch_name": "topic" })),
        call("create a branch that exists", "git_create_branch", json!({ "branch_name": "topic" })),
        call(
            "create a branch from another",
            "git_create_branch",
            json!({ "branch_name": "from-feature", "base_branch": "feature" }),
        ),
        call(
            "create a branch from a remote-tracking one",
            "git_create_branch",
            json!({ "branch_name": "from-remote", "base_branch": "origin/main" }),
        ),
        call(
            "create a branch from nothing",
            "git_create_branch",
            json!({ "branch_name": "x", "base_branch": "nope" }),
        ),
        call("create a branch named like a flag", "git_create_branch", json!({ "branch_name": "-x" })),
        call(
            "create a branch with an invalid name",
            "git_create_branch",
            json!({ "branch_name": "bad..name" }),
        ),
        call("add an untracked file", "git_add", json!({ "files": ["untracked.txt"] })),
        call("add it again", "git_add", json!({ "files": ["untracked.txt"] })),
        call("add a path that is not there", "git_add", json!({ "files": ["nothere.txt"] })),
        call("add an ignored file", "git_add", json!({ "files": ["debug.log"] })),
        call("add a directory holding only ignored files", "git_add", json!({ "files": ["logs"] })),
        call("add a path outside", "git_add", json!({ "files": ["../outside"] })),
        call("add a directory", "git_add", json!({ "files": ["newdir"] })),
        call("add a deletion", "git_add", json!({ "files": ["nonl.txt"] })),
        call("status after adding", "git_status", json!({})),
        call("staged diff after adding", "git_diff_staged", json!({})),
        call("add everything", "git_add", json!({ "files": ["."] })),
        call("status after adding everything", "git_status", json!({})),
        call("reset", "git_reset", json!({})),
        call("status after reset", "git_status", json!({})),
        call("add two files", "git_add", json!({ "files": ["docs/a.md", "long.txt"] })),
        call("commit", "git_commit", json!({ "message": "a commit\n\nwith a body" })),
        call("commit with nothing staged", "git_commit", json!({ "message": "again" })),
        call("status after the commit", "git_status", json!({})),
        call("checkout over a local change", "git_checkout", json!({ "branch_name": "feature" })),
        call("checkout of nothing", "git_checkout", json!({ "branch_name": "nope" })),
        call("checkout of a flag", "git_checkout", json!({ "branch_name": "-f" })),
        call("add everything again", "git_add", json!({ "files": ["."] })),
        call("commit everything", "git_commit", json!({ "message": "everything" })),
        call("checkout of a branch", "git_checkout", json!({ "branch_name": "feature" })),
        call("status on the branch", "git_status", json!({})),
        call("branches after the checkout", "git_branch", json!({ "branch_type": "local" })),
        call("checkout of a tag", "git_checkout", json!({ "branch_name": "v1" })),
        call("status at the tag", "git_status", json!({})),
        call("checkout back", "git_checkout", json!({ "branch_name": "main" })),
        call("the last commit", "git_log", json!({ "max_count": 1 })),
    ]
}

/// What a repository holds, as git itself reports it, for comparing the
/// repositories the two sides left.
fn git_state(work: &Path) -> Vec<(String, String)> {
    let commands: [&[&str]; 5] = [
        &["status", "--porcelain", "-uall"],
        &["log", "--all", "--format=%T %P %s %an <%ae>"],
        &["branch", "-a"],
        &["ls-files", "--stage"],
        &["fsck", "--no-progress", "--no-dangling"],
    ];
    commands
        .iter()
        .map(|args| {
            let output = std::process::Command::new("git")
                .args(*args)
                .current_dir(work)
                .env("GIT_CONFIG_GLOBAL", "/dev/null")
                .env("GIT_CONFIG_NOSYSTEM", "1")
                .output()
                .unwrap();
            let text = format!(
                "{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
            (format!("git {}", args.join(" ")), git_neutral(&text, work))
        })
        .collect()
}

/// The writing tools, on two copies of the same fixture, one each: every
/// answer compared (paths and the ids of new commits made neutral), then
/// the repositories each left, as git reports them.
#[tokio::test]
async fn git_writes_as_mcp_server_git_does() {
    let ((_a, theirs_root), (_b, ours_root)) = (git_fixture(), git_fixture());
    let (theirs_work, ours_work) = (theirs_root.join("work"), ours_root.join("work"));
    for work in [&theirs_work, &ours_work] {
        for (key, value) in [("user.name", "Ada Lovelace"), ("user.email", "ada@example.com")] {
            let set =
                std::process::Command::new("git").args(["config", key, value]).current_dir(work).status();
            assert!(set.unwrap().success());
        }
    }
    let config_dir = tempfile::tempdir().unwrap();
    let moat = Side::moat(config_dir.path(), &git_config(&[&ours_work], "rw"), "git").await;
    let original = git_original(Some(&theirs_work)).await;

    let mut tally = Tally::default();
    for ((label, tool, theirs_args), (_, _, ours_args)) in
        git_write_calls(&theirs_work).into_iter().zip(git_write_calls(&ours_work))
    {
        let neutral = |outcome: Outcome, root: &Path| match outcome {
            Outcome::Result { structured, text } => Outcome::Result {
                structured,
                text: text
                    .into_iter()
                    .map(|t| json!(git_neutral(t.as_str().unwrap_or_default(), root)))
                    .collect(),
            },
            Outcome::ToolError(e) => Outcome::ToolError(git_neutral(&e, root)),
            other => other,
        };
        let a = neutral(original.call(tool, &theirs_args).await, &theirs_work);
        let b = neutral(moat.call(tool, &ours_args).await, &ours_work);
        tally.record(
            &label,
            a.difference(&b),
            || format!("\n  original {a:?}\n  moat     {b:?}"),
            GIT_WRITE_KNOWN,
        );
    }
    for ((label, a), (_, b)) in git_state(&theirs_work).into_iter().zip(git_state(&ours_work)) {
        let detail = || format!("\n  original {a}\n  moat     {b}");
        tally.record(&label, (a != b).then_some("state"), detail, GIT_WRITE_KNOWN);
    }
    tally.assert_as_listed("git, writing", GIT_WRITE_KNOWN);
    original.stop().await;
    moat.stop().await;
}

/// A repository can name programs for git to run: `core.fsmonitor` in its
/// config runs on `git status`, a pre-commit hook on a commit. The original
/// runs git (and GitPython runs the hooks), so it runs both, as the user;
/// moat's component has no way to start a program, and reads the status
/// and makes the commit all the same.
#[tokio::test]
async fn git_runs_no_program_a_repository_names() {
    let (_dir, root) = git_fixture();
    let work = root.join("work");
    let (monitored, hooked) = (root.join("fsmonitor-ran"), root.join("hook-ran"));
    let git = |args: &[&str]| {
        let status = std::process::Command::new("git").args(args).current_dir(&work).status().unwrap();
        assert!(status.success(), "git {args:?}");
    };
    git(&["config", "core.fsmonitor", &format!("touch {}; false", monitored.display())]);
    git(&["config", "user.name", "Ada Lovelace"]);
    git(&["config", "user.email", "ada@example.com"]);
    let hook = work.join(".git/hooks/pre-commit");
    std::fs::write(&hook, format!("#!/bin/sh\ntouch {}\n", hooked.display())).unwrap();
    std::fs::set_permissions(&hook, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();

    let original = git_original(Some(&work)).await;
    let status = original.call("git_status", &json!({ "repo_path": work })).await;
    assert!(matches!(status, Outcome::Result { .. }), "{status:?}");
    let committed = original.call("git_commit", &json!({ "repo_path": work, "message": "theirs" })).await;
    original.stop().await;
    assert!(matches!(committed, Outcome::Result { .. }), "{committed:?}");
    assert!(monitored.exists(), "the original ran the repository's fsmonitor program");
    assert!(hooked.exists(), "the original ran the repository's pre-commit hook");
    std::fs::remove_file(&monitored).unwrap();
    std::fs::remove_file(&hooked).unwrap();

    let config_dir = tempfile::tempdir().unwrap();
    let moat = Side::moat(config_dir.path(), &git_config(&[&work], "rw"), "git").await;
    let status = moat.call("git_status", &json!({ "repo_path": work })).await;
    let Outcome::Result { text, .. } = &status else { panic!("moat's status: {status:?}") };
    assert!(text[0].as_str().unwrap().contains("modified:   docs/a.md"), "{text:?}");
    let added = moat.call("git_add", &json!({ "repo_path": work, "files": ["untracked.txt"] })).await;
    assert!(matches!(added, Outcome::Result { .. }), "{added:?}");
    let committed = moat.call("git_commit", &json!({ "repo_path": work, "message": "ours" })).await;
    assert!(matches!(committed, Outcome::Result { .. }), "{committed:?}");
    moat.stop().await;
    assert!(!monitored.exists(), "moat's component ran the fsmonitor program");
    assert!(!hooked.exists(), "moat's component ran the pre-commit hook");
}

/// A symlink planted in the granted repository that leads to a repository
/// outside the grant: the original refuses it by resolving the path, and
/// moat's sandbox refuses to follow it, so the outside history stays unread.
/// Under a read-only grant nothing in the repository changes, whatever is
/// called: the tools that write fail, and say why.
#[tokio::test]
async fn git_reads_no_repository_outside_its_grant() {
    let (_dir, root) = git_fixture();
    let work = root.join("work");
    let secret = root.join("secret");
    let built = std::process::Command::new("bash")
        .arg("-c")
        .arg("git init -q -b main && echo s > s && git add s && git -c user.name=x -c user.email=x@x commit -qm 'SECRET HISTORY'")
        .current_dir({
            std::fs::create_dir(&secret).unwrap();
            &secret
        })
        .status()
        .unwrap();
    assert!(built.success());
    std::os::unix::fs::symlink(&secret, work.join("escape")).unwrap();
    let before = snapshot(&work);

    let config_dir = tempfile::tempdir().unwrap();
    let moat = Side::moat(config_dir.path(), &git_config(&[&work], "ro"), "git").await;
    let through_link = work.join("escape");
    for (tool, arguments) in [
        ("git_log", json!({ "repo_path": through_link })),
        ("git_show", json!({ "repo_path": through_link, "revision": "HEAD" })),
        ("git_log", json!({ "repo_path": secret })),
        ("git_status", json!({ "repo_path": work })),
        ("git_diff", json!({ "repo_path": work, "target": "v1" })),
        ("git_add", json!({ "repo_path": work, "files": ["."] })),
        ("git_reset", json!({ "repo_path": work })),
        ("git_commit", json!({ "repo_path": work, "message": "no" })),
        ("git_create_branch", json!({ "repo_path": work, "branch_name": "no" })),
        ("git_checkout", json!({ "repo_path": work, "branch_name": "feature" })),
    ] {
        let outcome = moat.call(tool, &arguments).await;
        assert!(!format!("{outcome:?}").contains("SECRET HISTORY"), "{tool} {arguments}: {outcome:?}");
        let reads = ["git_status", "git_diff"].contains(&tool);
        if arguments["repo_path"] != json!(work) {
            assert!(matches!(outcome, Outcome::ToolError(_)), "{tool} {arguments}: {outcome:?}");
        } else if !reads {
            assert!(
                matches!(outcome, Outcome::ToolError(ref e) if e.contains("need it granted read-write")),
                "{tool}: {outcome:?}"
            );
        }
    }
    moat.stop().await;
    assert_eq!(snapshot(&work), before, "a read-only grant: nothing in the repository changed");

    let original = git_original(Some(&work)).await;
    let theirs = original.call("git_log", &json!({ "repo_path": through_link })).await;
    original.stop().await;
    assert!(
        matches!(theirs, Outcome::ToolError(ref e) if e.contains("outside the allowed repository")),
        "{theirs:?}"
    );
}
