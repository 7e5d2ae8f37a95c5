//! Confirmation the host enforces (`[confirm]`): before a destructive or
//! listed tool runs, moat asks the user through the client's elicitation, in
//! its own words; the tool runs only on accept. Driven by rmcp clients that
//! accept, decline, cancel, and one that cannot elicit at all.

use std::sync::{Arc, Mutex};

use rmcp::model::{
    CallToolRequestParams, CallToolResult, ClientCapabilities, ClientConfig, ElicitRequestParams,
    ElicitResult, ElicitationAction, ElicitationCapability,
};
use rmcp::service::{RequestContext, RunningService};
use rmcp::{ClientHandler, ErrorData, RoleClient, ServiceExt};
use serde_json::{Value, json};

use crate::support::{self, is_error, text};

/// A client that answers every elicitation with `action` and keeps the
/// messages it was asked; `None` declares no elicitation capability.
#[derive(Clone)]
struct User {
    action: Option<ElicitationAction>,
    asked: Arc<Mutex<Vec<String>>>,
}

impl ClientHandler for User {
    async fn create_elicitation(
        &self,
        request: ElicitRequestParams,
        _context: RequestContext<RoleClient>,
    ) -> Result<ElicitResult, ErrorData> {
        let ElicitRequestParams::FormElicitationParams { message, .. } = request else {
            panic!("moat asks in form mode: {request:?}")
        };
        self.asked.lock().unwrap().push(message);
        let action = self.action.clone().expect("a client without elicitation is never asked");
        let content = (action == ElicitationAction::Accept).then(|| json!({}));
        let mut result = ElicitResult::new(action);
        result.content = content;
        Ok(result)
    }

    fn get_info(&self) -> ClientConfig {
        let mut capabilities = ClientCapabilities::default();
        if self.action.is_some() {
            capabilities.elicitation = Some(ElicitationCapability::default());
        }
        let mut info = ClientConfig::default();
        info.capabilities = capabilities;
        info
    }
}

struct Session {
    client: RunningService<RoleClient, User>,
    user: User,
    notes: tempfile::TempDir,
    stderr: Arc<Mutex<String>>,
    _dir: tempfile::TempDir,
}

const DESCRIPTION_WORDS: &str = "Deletes note";

async fn start(action: Option<ElicitationAction>, confirm: &str) -> Session {
    let notes = tempfile::tempdir().unwrap();
    std::fs::write(notes.path().join("groceries.md"), "milk").unwrap();
    let config = format!(
        "{confirm}\n[audit]\npath = \"audit.jsonl\"\n[components.notes]\npath = \"{{dist}}/notes.wasm\"\n\
         [components.notes.grants]\nfiles = [{{ host = {:?}, guest = \"/notes\", mode = \"rw\" }}]\n\
         [components.text]\npath = \"{{dist}}/text.wasm\"\n",
        notes.path()
    );
    let dir = support::config_dir(&config);
    let (transport, stderr) =
        support::serve_process(&dir.path().join("moat.toml"), &support::shared_cache(), &[], &[]);
    let user = User { action, asked: Arc::default() };
    let client = user.clone().serve(transport).await.expect("MCP session");
    Session { client, user, notes, stderr, _dir: dir }
}

impl Session {
    async fn call(&self, tool: &str, arguments: Value) -> CallToolResult {
        let mut params = CallToolRequestParams::new(tool.to_string());
        params.arguments = arguments.as_object().cloned();
        self.client.call_tool(params).await.expect("a result")
    }

    fn note_exists(&self) -> bool {
        self.notes.path().join("groceries.md").exists()
    }

    fn asked(&self) -> Vec<String> {
        self.user.asked.lock().unwrap().clone()
    }

    fn audit(&self) -> String {
        std::fs::read_to_string(self._dir.path().join("audit.jsonl")).unwrap_or_default()
    }
}

const DESTRUCTIVE: &str = "[confirm]\ndestructive = true\n";

#[tokio::test]
async fn an_accepted_confirmation_runs_the_tool_once_in_moats_words() {
    let session = start(Some(ElicitationAction::Accept), DESTRUCTIVE).await;
    let result = session.call("notes.delete-note", json!({"name": "groceries"})).await;
    assert!(!is_error(&result), "{result:?}");
    assert!(!session.note_exists(), "the tool ran");
    let asked = session.asked();
    assert_eq!(asked.len(), 1);
    let question = &asked[0];
    for expected in [
        "moat asks before running this tool",
        "Tool: notes.delete-note",
        r#"{"name":"groceries"}"#,
        "(read-write)",
    ] {
        assert!(question.contains(expected), "{expected:?} in:\n{question}");
    }
    assert!(!question.contains(DESCRIPTION_WORDS), "the component's own words are not in it:\n{question}");
    // A tool the policy does not name runs without asking.
    let count = session.call("text.word-count", json!({"text": "a b"})).await;
    assert!(!is_error(&count));
    assert_eq!(session.asked().len(), 1);
}

#[tokio::test]
async fn a_declined_or_cancelled_confirmation_leaves_the_tool_unrun_and_recorded() {
    for (action, expected) in [
        (ElicitationAction::Decline, "the user declined to run it"),
        (ElicitationAction::Cancel, "the user cancelled it"),
    ] {
        let session = start(Some(action), DESTRUCTIVE).await;
        let result = session.call("notes.delete-note", json!({"name": "groceries"})).await;
        assert!(is_error(&result));
        assert_eq!(text(&result), format!("moat stopped the call: {expected}"));
        assert!(session.note_exists(), "the tool did not run");
        assert!(session.audit().contains("\"outcome\":\"not-confirmed\""), "audited: {}", session.audit());
    }
}

#[tokio::test]
async fn a_client_that_cannot_ask_is_refused_unless_the_policy_allows() {
    let session = start(None, DESTRUCTIVE).await;
    let result = session.call("notes.delete-note", json!({"name": "groceries"})).await;
    assert!(is_error(&result));
    assert!(
        text(&result).contains("the client cannot ask the user (it did not declare elicitation)"),
        "{}",
        text(&result)
    );
    assert!(session.note_exists());

    let allow = "[confirm]\ntools = [\"notes.delete-*\"]\nunsupported = \"allow\"\n";
    let session = start(None, allow).await;
    let result = session.call("notes.delete-note", json!({"name": "groceries"})).await;
    assert!(!is_error(&result), "{result:?}");
    assert!(!session.note_exists(), "allowed to run unconfirmed");
    let log = support::settled(&session.stderr).await;
    assert!(log.contains("runs unconfirmed"), "the log says so:\n{log}");
}

#[test]
fn a_bad_confirm_pattern_is_a_config_error() {
    let dir = support::config_dir(
        "[confirm]\ntools = [\"no spaces please\"]\n[components.text]\npath = \"{dist}/text.wasm\"\n",
    );
    let config = dir.path().join("moat.toml");
    let output = support::moat(&[
        "call".as_ref(),
        "--config".as_ref(),
        config.as_os_str(),
        "text.word-count".as_ref(),
    ]);
    let stderr = support::stderr_of(&output);
    assert!(!output.status.success());
    assert!(stderr.contains("[confirm] tools[0] `no spaces please` is not a tool name"), "{stderr}");
}

#[test]
fn moat_call_of_a_tool_that_needs_confirmation_is_refused() {
    let notes = tempfile::tempdir().unwrap();
    std::fs::write(notes.path().join("groceries.md"), "milk").unwrap();
    let config = format!(
        "{DESTRUCTIVE}[components.notes]\npath = \"{{dist}}/notes.wasm\"\n\
         [components.notes.grants]\nfiles = [{{ host = {:?}, guest = \"/notes\", mode = \"rw\" }}]\n",
        notes.path()
    );
    let dir = support::config_dir(&config);
    let config = dir.path().join("moat.toml");
    let args = r#"{"name": "groceries"}"#;
    let output = support::moat(&[
        "call".as_ref(),
        "--config".as_ref(),
        config.as_os_str(),
        "notes.delete-note".as_ref(),
        args.as_ref(),
    ]);
    assert!(!output.status.success());
    assert!(
        support::stdout_of(&output).contains("`moat call` cannot ask"),
        "{}",
        support::stdout_of(&output)
    );
    assert!(notes.path().join("groceries.md").exists(), "the tool did not run");
}
