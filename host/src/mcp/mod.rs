//! The MCP layer, on top of everything else: the handler that serves a
//! [`crate::served::Host`] through rmcp ([`handler`]), the confirmation moat
//! asks the user for before a tool its policy names ([`confirm`]), the
//! answers to a guest's own questions for the user, the model and the
//! roots ([`questions`]), the 2026-07-28 rounds that carry those questions
//! in results ([`rounds`]), and the transports: Streamable HTTP with its
//! gate ([`http`]) and stdio ([`stdio`]).

pub mod confirm;
pub mod handler;
pub mod http;
pub mod questions;
pub mod rounds;
pub mod stdio;
