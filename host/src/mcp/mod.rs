//! The MCP layer, on top of everything else: the handler that serves a
//! [`crate::served::Host`] through rmcp ([`handler`]), and the Streamable HTTP
//! transport with its gate ([`http`]); stdio is rmcp's own.

pub mod handler;
pub mod http;
