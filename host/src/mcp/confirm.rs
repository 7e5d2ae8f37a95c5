//! Confirmation the host enforces: before a tool that `[confirm]` names
//! runs, moat asks the user through the client (`elicitation/create`, form
//! mode), in words moat writes (the tool's name, its arguments, what its
//! component can reach), never the component's. The tool runs only when the
//! user accepts; declining, cancelling, a client that cannot ask or no
//! answer in time each leave it unrun, with the reason.

use std::time::Duration;

use rmcp::RoleServer;
use rmcp::model::{ElicitRequestParams, ElicitationAction, ElicitationSchema};
use rmcp::service::RequestContext;
use serde_json::{Map, Value};

use crate::config::Unconfirmable;
use crate::served::Host;
use crate::vet::text::make_visible;

/// How long the user has to answer.
pub const CONFIRMATION_TIMEOUT: Duration = Duration::from_secs(300);

/// The most characters of arguments the question shows; the rest is cut
/// with a marker, so that a long argument cannot push the rest off screen.
const MAX_SHOWN_ARGUMENTS: usize = 2_000;

/// What came of asking.
pub enum Confirmed {
    Yes,
    /// Not confirmed, with the reason for the client and the log.
    No(String),
}

/// The question moat asks, in its own words.
pub fn question(host: &Host, tool: &str, arguments: Option<&Map<String, Value>>) -> String {
    let shown = arguments.map_or_else(|| "{}".to_string(), |args| Value::Object(args.clone()).to_string());
    let mut shown = make_visible(&shown);
    if shown.chars().count() > MAX_SHOWN_ARGUMENTS {
        shown = shown.chars().take(MAX_SHOWN_ARGUMENTS).collect::<String>() + " … [cut by moat]";
    }
    let grants = host.grants_of(tool);
    let reach = if grants.is_empty() {
        "nothing outside itself".to_string()
    } else {
        grants.iter().map(|g| format!("\n  - {g}")).collect::<String>()
    };
    format!(
        "moat asks before running this tool (your [confirm] policy).\n\n\
         Tool: {tool}\nArguments: {shown}\nIt can reach: {reach}\n\n\
         Accept to run it once. Decline or cancel, and it does not run."
    )
}

/// What the policy says for a call of `tool` when the client cannot ask
/// the user (it did not declare elicitation): `[confirm] unsupported`.
pub fn unaskable(host: &Host, tool: &str) -> Confirmed {
    let why = "the client cannot ask the user (it did not declare elicitation)";
    match host.unconfirmable() {
        Unconfirmable::Allow => {
            tracing::warn!(tool, "runs unconfirmed: {why} and [confirm] unsupported = \"allow\"");
            Confirmed::Yes
        }
        Unconfirmable::Refuse => Confirmed::No(format!("this tool needs the user's confirmation, and {why}")),
    }
}

/// Asks the user to confirm a call of `tool`, live (2025-11-25; a
/// 2026-07-28 client is asked in a round, [`super::rounds`]).
pub async fn ask(
    host: &Host,
    context: &RequestContext<RoleServer>,
    tool: &str,
    arguments: Option<&Map<String, Value>>,
) -> Confirmed {
    let peer = &context.peer;
    let can_elicit = context.client_capabilities().is_some_and(|c| c.elicitation.is_some());
    if !can_elicit {
        return unaskable(host, tool);
    }
    let request = ElicitRequestParams::FormElicitationParams {
        meta: None,
        message: question(host, tool, arguments),
        requested_schema: ElicitationSchema::new(Default::default()),
    };
    match peer.create_elicitation_with_timeout(request, Some(CONFIRMATION_TIMEOUT)).await {
        Ok(answer) => match answer.action {
            ElicitationAction::Accept => Confirmed::Yes,
            ElicitationAction::Decline => Confirmed::No("the user declined to run it".into()),
            ElicitationAction::Cancel => Confirmed::No("the user cancelled it".into()),
            _ => Confirmed::No("the client answered with an action moat does not know".into()),
        },
        Err(error) => Confirmed::No(format!("the confirmation got no answer ({error})")),
    }
}
