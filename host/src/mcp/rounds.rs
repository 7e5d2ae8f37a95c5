//! 2026-07-28 input rounds (multi-round-trip requests): a server may not
//! send requests, so a call whose guest asks a question stops, and its
//! result is an `InputRequiredResult` holding the questions and a
//! `requestState`; the client calls again with `inputResponses`, and moat
//! runs the call again from the start in a fresh instance, answering each
//! question already answered from the state and the new responses.
//!
//! Owns: the request state (the answers so far, and whether the user
//! confirmed the call), sealed with HMAC-SHA256 under a key made at start
//! and bound to the caller, the request and its arguments, for ten minutes,
//! and good for one use, so that a client can neither change it, nor replay
//! it elsewhere, nor replay it at all (a confirmed call does not run twice
//! on one confirmation); which
//! answer a question gets (a recorded answer only for the same question
//! under the same key); and the result that asks for the rest.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use rand_core::{OsRng, RngCore};
use rmcp::ErrorData as McpError;
use rmcp::model::{
    ClientCapabilities, ElicitResult, InputRequests, InputRequiredResult, InputResponses, RequestStateCodec,
    SealOptions,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::questions::{Incoming, Outgoing};
use crate::canonical::digest_of;
use crate::runtime::asks::{Ask, Reply};
use crate::served::Host;

/// How long a request state stays good: the time a user has to answer.
const STATE_TTL: Duration = Duration::from_secs(600);

/// The key of the confirmation moat asks itself (`[confirm]`).
pub const CONFIRM_KEY: &str = "moat.confirm";

/// The process's sealing key: random, made once. States do not survive a
/// restart, and replicas do not share them.
fn codec() -> &'static RequestStateCodec {
    static CODEC: OnceLock<RequestStateCodec> = OnceLock::new();
    CODEC.get_or_init(|| {
        let mut key = [0u8; 32];
        OsRng.fill_bytes(&mut key);
        RequestStateCodec::try_new(key.to_vec()).expect("a 32-byte key is long enough")
    })
}

/// What the sealed state holds.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
struct State {
    /// Answers so far, by question key.
    #[serde(default)]
    answers: BTreeMap<String, Recorded>,
    /// moat asked for the user's confirmation (its key is [`CONFIRM_KEY`]).
    #[serde(default)]
    confirm_asked: bool,
    /// The user confirmed this call.
    #[serde(default)]
    confirmed: bool,
    /// Random, set when sealed: a state opens once ([`first_use`]).
    #[serde(default)]
    nonce: String,
}

/// Whether the state of `nonce` opens for the first time: each one opens
/// once in [`STATE_TTL`] (after that, its seal has expired). The key is this
/// process's, so no other process can open it at all.
fn first_use(nonce: &str) -> bool {
    static USED: OnceLock<Mutex<HashMap<String, Instant>>> = OnceLock::new();
    let mut used = USED.get_or_init(Default::default).lock().expect("used states lock");
    let now = Instant::now();
    used.retain(|_, opened| now.duration_since(*opened) < STATE_TTL);
    used.insert(nonce.to_string(), now).is_none()
}

/// One answer and the question it answers.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Recorded {
    /// `digest_of` the question's input request.
    question: String,
    response: Value,
}

/// What one request (`tools/call`, `prompts/get`, `resources/read`) is:
/// what the state is bound to.
pub struct Binding<'a> {
    pub principal: &'a str,
    pub method: &'static str,
    pub name: &'a str,
    pub arguments: Option<&'a Map<String, Value>>,
}

impl Binding<'_> {
    fn associated_data(&self) -> Vec<u8> {
        let arguments = self.arguments.map_or(Value::Null, |a| Value::Object(a.clone()));
        format!(
            "moat/rounds/v1\0{}\0{}\0{}\0{}",
            self.principal,
            self.method,
            self.name,
            digest_of(&arguments)
        )
        .into_bytes()
    }
}

/// One run of a request in rounds: the answers it may use, and what it
/// still needs.
pub struct Rounds {
    state: State,
    /// The client's `inputResponses` of this request.
    fresh: InputResponses,
    /// Answers this run used, for the next state.
    used: BTreeMap<String, Recorded>,
    /// Questions the client has not answered.
    pending: InputRequests,
    /// An input response that is not what its question needs.
    invalid: Option<String>,
    capabilities: Option<ClientCapabilities>,
}

/// What a confirmation round decided.
pub enum Confirmation {
    Confirmed,
    Refused(String),
    /// Ask the user: this is the result to send.
    Ask(InputRequiredResult),
}

impl Rounds {
    /// The rounds of a request that carried `state` and `responses`; a
    /// state that fails its check (changed, expired, another request's,
    /// used already) is refused with `-32602`.
    pub fn open(
        binding: &Binding<'_>,
        state: Option<&str>,
        responses: Option<InputResponses>,
        capabilities: Option<ClientCapabilities>,
    ) -> Result<Rounds, McpError> {
        let state = match state {
            None => State::default(),
            Some(sealed) => {
                let state: State = codec()
                    .open_json_with(sealed, &binding.associated_data())
                    .map_err(|e| McpError::invalid_params(format!("requestState is refused: {e}"), None))?;
                if !first_use(&state.nonce) {
                    let message = "requestState is refused: it was used already (each is good for one call)";
                    return Err(McpError::invalid_params(message, None));
                }
                state
            }
        };
        Ok(Rounds {
            state,
            fresh: responses.unwrap_or_default(),
            used: BTreeMap::new(),
            pending: InputRequests::new(),
            invalid: None,
            capabilities,
        })
    }

    /// Whether the user confirmed a call `[confirm]` names, and if not,
    /// the round that asks (`message` in moat's words).
    pub fn confirm(&mut self, binding: &Binding<'_>, host: &Host, message: String) -> Confirmation {
        if self.state.confirmed {
            return Confirmation::Confirmed;
        }
        if self.state.confirm_asked
            && let Some(response) = self.fresh.remove(CONFIRM_KEY)
        {
            return match serde_json::from_value::<ElicitResult>(response) {
                Ok(answer) => match answer.action {
                    rmcp::model::ElicitationAction::Accept => {
                        self.state.confirmed = true;
                        Confirmation::Confirmed
                    }
                    rmcp::model::ElicitationAction::Decline => {
                        Confirmation::Refused("the user declined to run it".into())
                    }
                    _ => Confirmation::Refused("the user cancelled it".into()),
                },
                Err(e) => Confirmation::Refused(format!(
                    "the confirmation's answer is not an elicitation result: {e}"
                )),
            };
        }
        let declared = self.capabilities.as_ref().is_some_and(|c| c.elicitation.is_some());
        if !declared {
            return match super::confirm::unaskable(host, binding.name) {
                super::confirm::Confirmed::Yes => Confirmation::Confirmed,
                super::confirm::Confirmed::No(reason) => Confirmation::Refused(reason),
            };
        }
        let question = crate::runtime::asks::Question::Elicit {
            message,
            requested_schema: "{\"type\":\"object\",\"properties\":{}}".into(),
        };
        let request = Outgoing::of(&question, self.capabilities.as_ref(), CONFIRM_KEY)
            .expect("moat's own form is a form");
        let state = State { confirm_asked: true, ..State::default() };
        let requests: InputRequests =
            [(CONFIRM_KEY.to_string(), request.input_request())].into_iter().collect();
        Confirmation::Ask(InputRequiredResult::new(Some(requests), Some(seal(binding, &state))))
    }

    /// Answers `ask` from what the client has sent, or stops the call for
    /// what it has not.
    pub fn answer(&mut self, host: &Host, tool: &str, ask: Ask) {
        let mut answers = Vec::with_capacity(ask.questions.len());
        for (key, question) in &ask.questions {
            // The same on every run, so that a recorded answer finds its question.
            let outgoing = match Outgoing::of(question, self.capabilities.as_ref(), key) {
                Ok(outgoing) => outgoing,
                Err(reason) => {
                    answers.push(Err(reason));
                    continue;
                }
            };
            let request = outgoing.clone().input_request();
            let digest = digest_of(&serde_json::to_value(&request).expect("requests serialise"));
            let response = match self.state.answers.get(key) {
                Some(recorded) if recorded.question == digest => Some(recorded.response.clone()),
                _ => self.fresh.get(key).cloned(),
            };
            let Some(response) = response else {
                self.pending.insert(key.clone(), request);
                continue;
            };
            match Incoming::parse(&outgoing, response.clone()) {
                Ok(incoming) => {
                    answers.push(incoming.answer(host, tool));
                    self.used.insert(key.clone(), Recorded { question: digest, response });
                }
                Err(error) => {
                    self.invalid.get_or_insert(format!("inputResponses.{key} {error}"));
                }
            }
        }
        let reply = if self.pending.is_empty() && self.invalid.is_none() {
            Reply::Answers(answers)
        } else {
            Reply::Suspend
        };
        let _ = ask.reply.send(reply);
    }

    /// The result of a run that stopped for answers: the questions with the
    /// state for the next round, or the error of a response that does not
    /// fit its question.
    pub fn input_required(self, binding: &Binding<'_>) -> Result<InputRequiredResult, McpError> {
        if let Some(invalid) = self.invalid {
            return Err(McpError::invalid_params(invalid, None));
        }
        let state = State { answers: self.used, confirmed: self.state.confirmed, ..State::default() };
        Ok(InputRequiredResult::new(Some(self.pending), Some(seal(binding, &state))))
    }
}

fn seal(binding: &Binding<'_>, state: &State) -> String {
    let mut nonce = [0u8; 16];
    OsRng.fill_bytes(&mut nonce);
    let state = &State { nonce: hex::encode(nonce), ..state.clone() };
    let associated_data = binding.associated_data();
    let options = SealOptions::new().associated_data(&associated_data).ttl(STATE_TTL);
    codec().seal_json_with(state, &options).expect("states serialise")
}

/// The input request of a question as JSON, for tests.
#[cfg(test)]
fn request_json(request: &rmcp::model::InputRequest) -> Value {
    serde_json::to_value(request).unwrap()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn binding(arguments: &Map<String, Value>) -> Binding<'_> {
        Binding { principal: "alice", method: "tools/call", name: "notes.delete", arguments: Some(arguments) }
    }

    #[test]
    fn a_state_opens_only_unchanged_and_for_the_same_request() {
        let arguments: Map<String, Value> = serde_json::from_str(r#"{"name": "groceries"}"#).unwrap();
        let state = State { confirmed: true, ..State::default() };
        let sealed = seal(&binding(&arguments), &state);
        let opened = Rounds::open(&binding(&arguments), Some(&sealed), None, None).unwrap();
        assert!(opened.state.confirmed);
        let again = Rounds::open(&binding(&arguments), Some(&sealed), None, None).err().unwrap();
        assert!(again.message.contains("used already"), "{}", again.message);
        let sealed = seal(&binding(&arguments), &state);

        let tampered = format!("{sealed}-TAMPERED");
        let error = Rounds::open(&binding(&arguments), Some(&tampered), None, None).err().unwrap();
        assert_eq!(error.code, rmcp::model::ErrorCode::INVALID_PARAMS);
        assert!(error.message.contains("requestState is refused"), "{}", error.message);

        let other: Map<String, Value> = serde_json::from_str(r#"{"name": "taxes"}"#).unwrap();
        assert!(Rounds::open(&binding(&other), Some(&sealed), None, None).is_err(), "other arguments");
        let bob = Binding { principal: "bob", ..binding(&arguments) };
        assert!(Rounds::open(&bob, Some(&sealed), None, None).is_err(), "another principal");
    }

    #[test]
    fn an_input_request_is_the_method_and_params_mcp_names() {
        let question = crate::runtime::asks::Question::ListRoots;
        let capabilities: ClientCapabilities = serde_json::from_str(r#"{"roots": {}}"#).unwrap();
        let request = Outgoing::of(&question, Some(&capabilities), "k").unwrap().input_request();
        assert_eq!(request_json(&request)["method"], "roots/list");
        let none = ClientCapabilities::default();
        assert!(Outgoing::of(&question, Some(&none), "k").unwrap_err().contains("did not declare the roots"));
    }
}
