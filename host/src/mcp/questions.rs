//! A running guest's questions ([`crate::runtime::asks`]) in MCP's terms:
//! `elicitation/create` for the user, `sampling/createMessage` for the
//! client's model and `roots/list` for its roots, and their answers. Live
//! asking of a 2025-11-25 client (server-initiated requests) is here; the
//! 2026-07-28 rounds that carry the same requests in a result are
//! [`super::rounds`]'.
//!
//! Owns: the client-side checks (the client declared the capability), the
//! requested schema as MCP's elicitation schema (a form of primitive
//! properties, refused otherwise), the conversion of each request and
//! answer, a deadline on each live answer, and the scan of the model's
//! answer before the guest reads it (model output coming back into a tool).
#![allow(deprecated)] // MCP sampling: deprecated by SEP-2577 for later protocol versions, still served.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use rmcp::RoleServer;
use rmcp::model::{
    AudioContent, ClientCapabilities, CreateMessageRequest, CreateMessageRequestParams, CreateMessageResult,
    ElicitRequest, ElicitRequestParams, ElicitResult, ElicitationAction, ElicitationSchema, ImageContent,
    InputRequest, ListRootsRequest, ListRootsResult, Role, SamplingMessage, SamplingMessageContentBlock,
    TextContent,
};
use rmcp::service::Peer;
use serde_json::Value;

use crate::runtime::asks::{Answer, Ask, Question, Reply};
use crate::runtime::bindings::moat::host::{content, elicitation, roots, sampling};
use crate::scan::ScanAction;
use crate::served::Host;

/// How long the client has to answer one live question.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(300);

/// A question as the MCP request that asks it.
#[derive(Debug, Clone)]
pub enum Outgoing {
    Elicit(ElicitRequestParams),
    Sample(CreateMessageRequestParams),
    ListRoots,
}

impl Outgoing {
    /// The request of `question` (a URL elicitation's id is `id`) for a
    /// client with `capabilities`, or why it cannot be asked (the guest
    /// reads the reason).
    pub fn of(
        question: &Question,
        capabilities: Option<&ClientCapabilities>,
        id: &str,
    ) -> Result<Outgoing, String> {
        let elicitation = capabilities.and_then(|c| c.elicitation.as_ref());
        let (declared, what) = match question {
            Question::Elicit { .. } => (elicitation.is_some(), "the elicitation capability"),
            Question::ElicitUrl { .. } => {
                (elicitation.is_some_and(|e| e.url.is_some()), "URL elicitation (`elicitation.url`)")
            }
            Question::Sample(_) => {
                (capabilities.is_some_and(|c| c.sampling.is_some()), "the sampling capability")
            }
            Question::ListRoots => (capabilities.is_some_and(|c| c.roots.is_some()), "the roots capability"),
        };
        if !declared {
            return Err(format!("the client did not declare {what}"));
        }
        Ok(match question {
            Question::Elicit { message, requested_schema } => {
                let requested_schema: ElicitationSchema = serde_json::from_str(requested_schema).map_err(|e| {
                    format!("the requested schema is not an elicitation form (an object of primitive properties): {e}")
                })?;
                Outgoing::Elicit(ElicitRequestParams::FormElicitationParams {
                    meta: None,
                    message: message.clone(),
                    requested_schema,
                })
            }
            Question::ElicitUrl { message, url } => {
                Outgoing::Elicit(ElicitRequestParams::UrlElicitationParams {
                    meta: None,
                    message: message.clone(),
                    url: url.clone(),
                    elicitation_id: id.to_string(),
                })
            }
            Question::Sample(request) => Outgoing::Sample(sampling_params(request)?),
            Question::ListRoots => Outgoing::ListRoots,
        })
    }

    /// The request as a 2026-07-28 input request.
    pub fn input_request(self) -> InputRequest {
        match self {
            Outgoing::Elicit(params) => InputRequest::Elicitation(ElicitRequest::new(params)),
            Outgoing::Sample(params) => InputRequest::CreateMessage(CreateMessageRequest::new(params)),
            Outgoing::ListRoots => InputRequest::ListRoots(ListRootsRequest::default()),
        }
    }
}

/// A client's answer to a question, as MCP sends it.
pub enum Incoming {
    Elicited(ElicitResult),
    Sampled(CreateMessageResult),
    Roots(ListRootsResult),
}

impl Incoming {
    /// The answer of `outgoing`'s kind in `value` (a 2026-07-28 input
    /// response), or what is wrong with it.
    pub fn parse(outgoing: &Outgoing, value: Value) -> Result<Incoming, String> {
        let (what, parsed) = match outgoing {
            Outgoing::Elicit(_) => {
                ("an elicitation result", serde_json::from_value(value).map(Incoming::Elicited))
            }
            Outgoing::Sample(_) => {
                ("a sampling result", serde_json::from_value(value).map(Incoming::Sampled))
            }
            Outgoing::ListRoots => {
                ("a roots/list result", serde_json::from_value(value).map(Incoming::Roots))
            }
        };
        parsed.map_err(|e| format!("is not {what}: {e}"))
    }

    /// The guest's answer, the model's text scanned on the way in.
    pub fn answer(self, host: &Host, tool: &str) -> Result<Answer, String> {
        match self {
            Incoming::Elicited(result) => {
                let action = match result.action {
                    ElicitationAction::Accept => elicitation::Action::Accept,
                    ElicitationAction::Decline => elicitation::Action::Decline,
                    _ => elicitation::Action::Cancel,
                };
                let content = result.content.map(|content| content.to_string());
                Ok(Answer::Elicited(elicitation::Answer { action, content }))
            }
            Incoming::Sampled(result) => sampled(host, tool, result),
            Incoming::Roots(result) => Ok(Answer::Roots(
                result.roots.into_iter().map(|root| roots::Root { uri: root.uri, name: root.name }).collect(),
            )),
        }
    }
}

/// Answers `ask` for `tool`'s call by asking the client live (2025-11-25),
/// one question after another, on a task of its own (the call goes on
/// being served, its notices forwarded, meanwhile).
pub fn answer_live(
    host: Arc<Host>,
    peer: Peer<RoleServer>,
    capabilities: Option<ClientCapabilities>,
    tool: String,
    ask: Ask,
) {
    tokio::spawn(async move {
        let mut answers = Vec::with_capacity(ask.questions.len());
        for (key, question) in &ask.questions {
            // Unique per question asked live (the client may correlate by it).
            let id = format!("{key}.{:016x}", rand_core::RngCore::next_u64(&mut rand_core::OsRng));
            let answer = match Outgoing::of(question, capabilities.as_ref(), &id) {
                Ok(outgoing) => match ask_live(&peer, outgoing).await {
                    Ok(incoming) => incoming.answer(&host, &tool),
                    Err(error) => Err(error),
                },
                Err(error) => Err(error),
            };
            answers.push(answer);
        }
        // A call that ended meanwhile no longer waits for it.
        let _ = ask.reply.send(Reply::Answers(answers));
    });
}

async fn ask_live(peer: &Peer<RoleServer>, outgoing: Outgoing) -> Result<Incoming, String> {
    let unanswered = |e: rmcp::ServiceError| format!("the client did not answer: {e}");
    let late = |_| "the client did not answer in time".to_string();
    Ok(match outgoing {
        Outgoing::Elicit(request) => Incoming::Elicited(
            peer.create_elicitation_with_timeout(request, Some(ANSWER_TIMEOUT)).await.map_err(unanswered)?,
        ),
        Outgoing::Sample(params) => Incoming::Sampled(
            tokio::time::timeout(ANSWER_TIMEOUT, peer.create_message(params))
                .await
                .map_err(late)?
                .map_err(unanswered)?,
        ),
        Outgoing::ListRoots => Incoming::Roots(
            tokio::time::timeout(ANSWER_TIMEOUT, peer.list_roots())
                .await
                .map_err(late)?
                .map_err(unanswered)?,
        ),
    })
}

fn sampling_params(request: &sampling::Request) -> Result<CreateMessageRequestParams, String> {
    let messages = request
        .messages
        .iter()
        .map(|message| {
            let role = match message.role {
                content::Role::User => Role::User,
                content::Role::Assistant => Role::Assistant,
            };
            let block = match &message.content.kind {
                content::Kind::Text(text) => {
                    SamplingMessageContentBlock::Text(TextContent::new(text.clone()))
                }
                content::Kind::Image(media) => SamplingMessageContentBlock::Image(ImageContent::new(
                    BASE64.encode(&media.data),
                    media.mime_type.clone(),
                )),
                content::Kind::Audio(media) => SamplingMessageContentBlock::Audio(AudioContent::new(
                    BASE64.encode(&media.data),
                    media.mime_type.clone(),
                )),
                _ => return Err("a sampling message holds text, an image or audio".to_string()),
            };
            Ok(SamplingMessage::new(role, block))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut params = CreateMessageRequestParams::new(messages, request.max_tokens);
    params.system_prompt = request.system_prompt.clone();
    Ok(params)
}

/// The model's answer for the guest. What the model says goes back into
/// the tool: its text is scanned like the tool's output.
fn sampled(host: &Host, tool: &str, result: CreateMessageResult) -> Result<Answer, String> {
    let mut blocks = result.message.content.into_vec().into_iter();
    let kind = match blocks.next() {
        Some(SamplingMessageContentBlock::Text(text)) => content::Kind::Text(text.text),
        Some(SamplingMessageContentBlock::Image(image)) => {
            content::Kind::Image(media(image.data, image.mime_type)?)
        }
        Some(SamplingMessageContentBlock::Audio(audio)) => {
            content::Kind::Audio(media(audio.data, audio.mime_type)?)
        }
        _ => return Err("the model answered with no text, image or audio".into()),
    };
    if let content::Kind::Text(text) = &kind {
        let (action, findings) = host.scan_notice(tool, "sampling.content.text", text);
        if !findings.is_empty() {
            tracing::warn!(
                tool,
                findings = findings.len(),
                ?action,
                "output scan: the model's sampled answer holds instructions"
            );
            if action == ScanAction::Withhold {
                return Err("the model's answer was withheld by output scanning".into());
            }
        }
    }
    let content = content::Block { kind, annotations: None };
    Ok(Answer::Sampled(Box::new(sampling::Reply {
        model: result.model,
        content,
        stop_reason: result.stop_reason,
    })))
}

fn media(data: String, mime_type: String) -> Result<content::Media, String> {
    let data = BASE64.decode(data).map_err(|e| format!("the model's answer is not base64: {e}"))?;
    Ok(content::Media { data, mime_type })
}
