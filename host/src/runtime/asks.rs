//! What a running guest may ask through `moat:host/elicitation` and
//! `moat:host/sampling`: its questions for the user and for the client's
//! model, as they travel to whoever serves the call and back.
//!
//! Owns: the grant check (no grant, no channel: the question never leaves
//! the call) and the cap of [`MAX_ASKS_PER_CALL`] per call ([`Asking`]), and
//! the messages ([`Ask`], [`Question`], [`Answer`]). The host functions that
//! send them are in [`super::notices`]; asking the client itself, scanning
//! what the model says and the protocol's rules are the MCP layer's.

use tokio::sync::oneshot;

use super::bindings::moat::host::{elicitation, sampling};

/// The most questions (elicitations and samplings together) one call may ask.
pub const MAX_ASKS_PER_CALL: u32 = 8;

/// What a component may ask, and how often its call has.
#[derive(Debug, Default, Clone, Copy)]
pub struct Asking {
    pub elicitation: bool,
    pub sampling: bool,
    asked: u32,
}

impl Asking {
    pub fn granted(elicitation: bool, sampling: bool) -> Asking {
        Asking { elicitation, sampling, asked: 0 }
    }

    /// Lets `question` through when its grant is there and the cap not reached.
    pub fn admit(&mut self, question: &Question) -> Result<(), String> {
        let (granted, what) = match question {
            Question::Elicit { .. } => (self.elicitation, "elicitation"),
            Question::Sample(_) => (self.sampling, "sampling"),
        };
        if !granted {
            return Err(format!(
                "moat:host/{what} is not granted to this component (its grants need `{what} = true`)"
            ));
        }
        if self.asked >= MAX_ASKS_PER_CALL {
            return Err(format!("this call has asked {MAX_ASKS_PER_CALL} times, the most one call may"));
        }
        self.asked += 1;
        Ok(())
    }
}

/// A guest's question.
#[derive(Debug)]
pub enum Question {
    Elicit { message: String, requested_schema: String },
    Sample(sampling::Request),
}

/// The answer to a [`Question`].
#[derive(Debug)]
pub enum Answer {
    Elicited(elicitation::Answer),
    Sampled(Box<sampling::Reply>),
}

/// A question on its way to the client, and where its answer goes.
#[derive(Debug)]
pub struct Ask {
    pub question: Question,
    pub reply: oneshot::Sender<Result<Answer, String>>,
}
