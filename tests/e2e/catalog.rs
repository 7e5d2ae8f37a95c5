//! The catalog against the originals it stands in for. Each catalog
//! component runs in moat beside the official server (PyPI's
//! `mcp-server-time`, npm's `@modelcontextprotocol/server-memory`, pinned in
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
                let texts: Vec<String> = result["content"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|block| block["text"].as_str().map(str::to_string))
                    .collect();
                if result["isError"] == json!(true) {
                    // The Python SDK words a tool's error as "Error executing
                    // tool NAME: MESSAGE"; the message is the server's own.
                    let prefix = format!("Error executing tool {name}: ");
                    let text = texts.join("\n");
                    return Outcome::ToolError(text.strip_prefix(&prefix).unwrap_or(&text).to_string());
                }
                let text = texts
                    .iter()
                    .map(|text| serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.clone())))
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
    /// text), `error` (both tool errors, other words) or `outcome`.
    fn difference(&self, other: &Outcome) -> Option<&'static str> {
        match (self, other) {
            _ if self == other => None,
            (Outcome::Result { structured: a, .. }, Outcome::Result { structured: b, .. }) if a == b => {
                Some("text")
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
async fn compare_listings(original: &Side, moat: &Side, known: &[Known], tally: &mut Tally) {
    let theirs = original.tools().await;
    let ours = moat.tools().await;
    let mut names: Vec<String> = theirs.iter().map(|t| t.name.to_string()).collect();
    let mut our_names: Vec<String> =
        ours.iter().map(|t| t.name.trim_start_matches(moat.prefix.as_str()).to_string()).collect();
    names.sort();
    our_names.sort();
    assert_eq!(our_names, names, "moat's component offers other tools than the original");
    for tool in &theirs {
        let our = ours.iter().find(|t| t.name.trim_start_matches(moat.prefix.as_str()) == tool.name).unwrap();
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
    compare_listings(&original, &moat, TIME_KNOWN, &mut tally).await;
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
    compare_listings(&original, &moat, MEMORY_KNOWN, &mut tally).await;
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
