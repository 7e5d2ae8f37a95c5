//! Answers a running guest's questions ([`crate::runtime::asks`]) by asking
//! the client: `elicitation/create` for the user, `sampling/createMessage`
//! for its model, as 2025-11-25 server-initiated requests.
//!
//! Owns: the client-side checks (the client declared the capability; the
//! protocol version lets a server send requests, which 2026-07-28 does not),
//! the requested schema as MCP's elicitation schema (a form of primitive
//! properties, refused otherwise), the conversion of a sampling request and
//! reply, a deadline on each answer, and the scan of the model's answer
//! before the guest reads it (model output coming back into a tool).
#![allow(deprecated)] // MCP sampling: deprecated by SEP-2577 for later protocol versions, still served.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use rmcp::RoleServer;
use rmcp::model::{
    AudioContent, CreateMessageRequestParams, ElicitRequestParams, ElicitationAction, ElicitationSchema,
    ImageContent, ProtocolVersion, Role, SamplingMessage, SamplingMessageContentBlock, TextContent,
};
use rmcp::service::Peer;

use crate::runtime::asks::{Answer, Ask, Question};
use crate::runtime::bindings::moat::host::{content, elicitation, sampling};
use crate::scan::ScanAction;
use crate::served::Host;

/// How long the client has to answer one question.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(300);

/// Answers `ask` for tool `tool`'s call, on a task of its own (the call goes
/// on being served, its notices forwarded, meanwhile).
pub fn answer(host: Arc<Host>, peer: Peer<RoleServer>, tool: String, ask: Ask) {
    tokio::spawn(async move {
        let answer = match ask.question {
            Question::Elicit { message, requested_schema } => elicit(&peer, message, &requested_schema).await,
            Question::Sample(request) => sample(&host, &peer, &tool, request).await,
        };
        // A call that ended meanwhile no longer waits for it.
        let _ = ask.reply.send(answer);
    });
}

/// Whether the client can be sent a request of this kind now.
fn can_ask(peer: &Peer<RoleServer>, declared: bool, what: &str) -> Result<(), String> {
    let info = peer.peer_info();
    if info.as_ref().is_some_and(|info| info.protocol_version >= ProtocolVersion::V_2026_07_28) {
        return Err(format!(
            "the client speaks 2026-07-28, where a server may not send {what} requests (its input requests are not built yet)"
        ));
    }
    if !declared {
        return Err(format!("the client did not declare the {what} capability"));
    }
    Ok(())
}

async fn elicit(peer: &Peer<RoleServer>, message: String, requested_schema: &str) -> Result<Answer, String> {
    let declared = peer.peer_info().is_some_and(|info| info.capabilities.elicitation.is_some());
    can_ask(peer, declared, "elicitation")?;
    let requested_schema: ElicitationSchema = serde_json::from_str(requested_schema).map_err(|e| {
        format!("the requested schema is not an elicitation form (an object of primitive properties): {e}")
    })?;
    let request = ElicitRequestParams::FormElicitationParams { meta: None, message, requested_schema };
    let result = peer
        .create_elicitation_with_timeout(request, Some(ANSWER_TIMEOUT))
        .await
        .map_err(|e| format!("the client did not answer: {e}"))?;
    let action = match result.action {
        ElicitationAction::Accept => elicitation::Action::Accept,
        ElicitationAction::Decline => elicitation::Action::Decline,
        _ => elicitation::Action::Cancel,
    };
    let content = result.content.map(|content| content.to_string());
    Ok(Answer::Elicited(elicitation::Answer { action, content }))
}

async fn sample(
    host: &Host,
    peer: &Peer<RoleServer>,
    tool: &str,
    request: sampling::Request,
) -> Result<Answer, String> {
    let declared = peer.peer_info().is_some_and(|info| info.capabilities.sampling.is_some());
    can_ask(peer, declared, "sampling")?;
    let messages = request
        .messages
        .into_iter()
        .map(|message| {
            let role = match message.role {
                content::Role::User => Role::User,
                content::Role::Assistant => Role::Assistant,
            };
            let block = match message.content.kind {
                content::Kind::Text(text) => SamplingMessageContentBlock::Text(TextContent::new(text)),
                content::Kind::Image(media) => SamplingMessageContentBlock::Image(ImageContent::new(
                    BASE64.encode(media.data),
                    media.mime_type,
                )),
                content::Kind::Audio(media) => SamplingMessageContentBlock::Audio(AudioContent::new(
                    BASE64.encode(media.data),
                    media.mime_type,
                )),
                _ => return Err("a sampling message holds text, an image or audio".to_string()),
            };
            Ok(SamplingMessage::new(role, block))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut params = CreateMessageRequestParams::new(messages, request.max_tokens);
    params.system_prompt = request.system_prompt;
    let result = tokio::time::timeout(ANSWER_TIMEOUT, peer.create_message(params))
        .await
        .map_err(|_| "the client did not answer in time".to_string())?
        .map_err(|e| format!("the client did not answer: {e}"))?;
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
    // What the model says goes back into the tool: scanned like its output.
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
