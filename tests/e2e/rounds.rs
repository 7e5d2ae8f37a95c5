//! 2026-07-28 input rounds through an rmcp client that speaks 2026-07-28
//! over stdio: a guest's questions come back as an input-required result
//! (never as a request from the server), the client's answers reach the
//! guest when moat runs the call again, a changed, misplaced or replayed
//! request state is refused, the cap of 8 questions holds across rounds, and `[confirm]`
//! asks in moat's words before the tool runs.

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, ClientCapabilities, ClientConfig, ElicitRequestParams,
    ElicitResult, ElicitationAction, ElicitationCapability, ErrorCode, InputRequest, ProtocolVersion,
};
use rmcp::service::{ClientLifecycleMode, ClientServiceExt, RequestContext, RunningService};
use rmcp::{ClientHandler, ErrorData, RoleClient};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

use crate::questions::ANSWER;
use crate::support::{self, is_error, text};

/// A 2026-07-28 client whose user answers every question with `action`
/// (and [`ANSWER`] when accepting); it records each question's message.
#[derive(Clone)]
struct Client {
    action: ElicitationAction,
    asked: Arc<Mutex<Vec<String>>>,
}

impl ClientHandler for Client {
    async fn create_elicitation(
        &self,
        request: ElicitRequestParams,
        _context: RequestContext<RoleClient>,
    ) -> Result<ElicitResult, ErrorData> {
        let message = match &request {
            ElicitRequestParams::FormElicitationParams { message, .. } => message.clone(),
            ElicitRequestParams::UrlElicitationParams { message, url, .. } => format!("{message} <{url}>"),
            _ => String::new(),
        };
        if matches!(request, ElicitRequestParams::UrlElicitationParams { .. }) {
            self.asked.lock().unwrap().push(message);
            return Ok(ElicitResult::new(self.action.clone()));
        }
        self.asked.lock().unwrap().push(message);
        let mut result = ElicitResult::new(self.action.clone());
        if self.action == ElicitationAction::Accept {
            result.content = Some(serde_json::from_str(ANSWER).unwrap());
        }
        Ok(result)
    }

    fn get_info(&self) -> ClientConfig {
        let mut capabilities = ClientCapabilities::default();
        capabilities.elicitation =
            Some(ElicitationCapability::new().with_form(Default::default()).with_url(Default::default()));
        let mut info = ClientConfig::default();
        info.capabilities = capabilities;
        info.protocol_version = ProtocolVersion::V_2026_07_28;
        info
    }
}

struct Session {
    client: RunningService<RoleClient, Client>,
    asked: Arc<Mutex<Vec<String>>>,
    _dir: tempfile::TempDir,
}

const CONFIG: &str = r#"
[components.asker]
path = "{dist}/hostile.wasm"
limits = { wall_clock = "20s" }
grants = { elicitation = true }
"#;

impl Session {
    async fn start(config: &str, action: ElicitationAction) -> Session {
        // 2026-07-28 has no initialize: the client discovers the server.
        let lifecycle =
            ClientLifecycleMode::Discover { preferred_versions: vec![ProtocolVersion::V_2026_07_28] };
        Session::start_in(config, action, lifecycle).await
    }

    async fn start_in(config: &str, action: ElicitationAction, lifecycle: ClientLifecycleMode) -> Session {
        let dir = support::config_dir(config);
        let (transport, _stderr) =
            support::serve_process(&dir.path().join("moat.toml"), &support::shared_cache(), &[], &[]);
        let asked = Arc::new(Mutex::new(Vec::new()));
        let client = Client { action, asked: asked.clone() };
        let client = client.serve_with_lifecycle(transport, lifecycle).await.expect("MCP session");
        Session { client, asked, _dir: dir }
    }

    fn asked(&self) -> Vec<String> {
        self.asked.lock().unwrap().clone()
    }
}

fn params(tool: &str, arguments: Value) -> CallToolRequestParams {
    let mut params = CallToolRequestParams::new(tool.to_string());
    params.arguments = arguments.as_object().cloned();
    params
}

#[tokio::test]
async fn a_guests_questions_come_back_in_the_result_and_its_answers_in_the_next_call() {
    let session = Session::start(CONFIG, ElicitationAction::Accept).await;
    let ask = params("asker.ask-user", json!({"message": "Proceed?", "count": 2}));
    // One round by hand: the question is in the result, under moat's key.
    let CallToolResponse::InputRequired(first) = session.client.call_tool_once(ask.clone()).await.unwrap()
    else {
        panic!("a 2026-07-28 call that asks gets an input-required result")
    };
    let requests = first.input_requests.clone().unwrap();
    assert_eq!(requests.keys().collect::<Vec<_>>(), ["moat.elicitation.1"]);
    assert!(matches!(requests["moat.elicitation.1"], InputRequest::Elicitation(_)));
    assert!(first.request_state.is_some());
    assert!(session.asked().is_empty(), "the server sent no request of its own");

    // The client's driver answers every round: two questions, two rounds.
    let result = session.client.call_tool(ask).await.expect("a result after the rounds");
    assert!(!is_error(&result), "{result:?}");
    let accepted = format!("accept {ANSWER}");
    assert_eq!(result.structured_content, Some(json!({"result": [accepted, accepted]})));
    assert_eq!(session.asked(), ["Proceed?", "Proceed?"]);
}

#[tokio::test]
async fn a_changed_misplaced_or_replayed_request_state_is_refused() {
    let session = Session::start(CONFIG, ElicitationAction::Accept).await;
    let ask = params("asker.ask-user", json!({"message": "Proceed?", "count": 1}));
    let CallToolResponse::InputRequired(first) = session.client.call_tool_once(ask.clone()).await.unwrap()
    else {
        panic!("an input-required result")
    };
    let state = first.request_state.unwrap();
    let answer: Value = json!({"action": "accept", "content": {"answer": "yes"}});
    let responses: rmcp::model::InputResponses =
        [("moat.elicitation.1".to_string(), answer)].into_iter().collect();

    let mut tampered = ask.clone().with_input_responses(responses.clone());
    let mut bytes = state.clone().into_bytes();
    let last = bytes.len() - 1;
    bytes[last] = if bytes[last] == b'A' { b'B' } else { b'A' };
    tampered = tampered.with_request_state(String::from_utf8(bytes).unwrap());
    let error = session.client.call_tool_once(tampered).await.unwrap_err();
    let rmcp::ServiceError::McpError(error) = error else { panic!("a JSON-RPC error: {error:?}") };
    assert_eq!(error.code, ErrorCode::INVALID_PARAMS);
    assert!(error.message.contains("requestState is refused"), "{}", error.message);

    // The same state for other arguments is another request's.
    let other = params("asker.ask-user", json!({"message": "Delete everything?", "count": 1}))
        .with_input_responses(responses.clone())
        .with_request_state(state.clone());
    assert!(session.client.call_tool_once(other).await.is_err(), "a state is bound to its arguments");

    // Untouched, it completes the call, once.
    let good = ask.with_input_responses(responses).with_request_state(state);
    let CallToolResponse::Complete(result) = session.client.call_tool_once(good.clone()).await.unwrap()
    else {
        panic!("the answered call completes")
    };
    assert_eq!(result.structured_content, Some(json!({"result": ["accept {\"answer\":\"yes\"}"]})));
    let replayed = session.client.call_tool_once(good).await.unwrap_err();
    assert!(format!("{replayed:?}").contains("used already"), "a state is good for one call: {replayed:?}");
}

#[tokio::test]
async fn the_cap_of_eight_questions_holds_across_rounds() {
    let session = Session::start(CONFIG, ElicitationAction::Accept).await;
    let result =
        session.client.call_tool(params("asker.ask-user", json!({"message": "Again?", "count": 9}))).await;
    let result = result.expect("a result");
    assert!(is_error(&result));
    assert!(text(&result).contains("question 9: this call has asked 8 times"), "{}", text(&result));
    assert_eq!(session.asked().len(), 8);
}

const DESTRUCTIVE: &str = r#"
[confirm]
destructive = true

[components.notes]
path = "{dist}/notes.wasm"
"#;

#[tokio::test]
async fn confirmation_is_a_round_in_moats_words_and_only_accept_runs_the_tool() {
    for (action, runs) in [(ElicitationAction::Accept, true), (ElicitationAction::Decline, false)] {
        let notes = tempfile::tempdir().unwrap();
        std::fs::write(notes.path().join("groceries.md"), "milk").unwrap();
        let config = format!(
            "{DESTRUCTIVE}[components.notes.grants]\nfiles = [{{ host = {:?}, guest = \"/notes\", mode = \"rw\" }}]\n",
            notes.path()
        );
        let session = Session::start(&config, action.clone()).await;
        let result =
            session.client.call_tool(params("notes.delete-note", json!({"name": "groceries"}))).await;
        let result = result.expect("a result");
        let asked = session.asked();
        assert_eq!(asked.len(), 1, "{asked:?}");
        assert!(asked[0].starts_with("moat asks before running this tool"), "{}", asked[0]);
        assert!(asked[0].contains("Tool: notes.delete-note"), "{}", asked[0]);
        assert_eq!(notes.path().join("groceries.md").exists(), !runs, "{action:?}: {result:?}");
        assert_eq!(is_error(&result), !runs, "{result:?}");
        if !runs {
            assert!(text(&result).contains("the user declined to run it"), "{}", text(&result));
        }
    }
}

#[tokio::test]
async fn the_user_is_sent_only_to_an_https_page_the_policy_grants_in_both_eras() {
    let config = r#"
[components.asker]
path = "{dist}/hostile.wasm"
grants = { elicitation = true, elicitation_urls = ["https://login.example.com/oauth/"] }

[components.hostile]
path = "{dist}/hostile.wasm"
grants = { elicitation = true }
"#;
    let eras = [
        ClientLifecycleMode::Initialize,
        ClientLifecycleMode::Discover { preferred_versions: vec![ProtocolVersion::V_2026_07_28] },
    ];
    for lifecycle in eras {
        let era = format!("{lifecycle:?}");
        let session = Session::start_in(config, ElicitationAction::Accept, lifecycle).await;
        let open = |tool: &str, url: &str| {
            let page = params(tool, json!({"message": "Sign in to continue", "url": url}));
            let client = &session.client;
            async move { client.call_tool(page).await.expect("a result") }
        };
        let opened = open("asker.open-page", "https://login.example.com/oauth/start?state=7").await;
        assert_eq!(text(&opened), "accept", "{era}: {opened:?}");
        assert_eq!(
            session.asked(),
            ["Sign in to continue <https://login.example.com/oauth/start?state=7>"],
            "{era}: the client was shown the page's URL"
        );
        for (tool, url, why) in [
            ("asker.open-page", "https://login.example.com.evil.test/oauth/", "under no `elicitation_urls`"),
            ("asker.open-page", "http://login.example.com/oauth/start", "not https"),
            ("hostile.open-page", "https://login.example.com/oauth/start", "granted: none"),
        ] {
            let refused = open(tool, url).await;
            assert!(is_error(&refused), "{era}: {url}");
            assert!(text(&refused).contains(why), "{era}: {url}: {}", text(&refused));
        }
        assert_eq!(session.asked().len(), 1, "{era}: no refused page reached the client");
    }
}
