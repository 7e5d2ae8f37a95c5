//! moat: runs MCP tools as sandboxed WebAssembly components.
//!
//! Data flow: component bytes → [`metadata`] (what the model will read, bound to
//! the bytes) → [`runtime`] (compile once, cached; a fresh limited sandbox per
//! call) → [`tools`] (typed WIT exports as MCP tools, schemas from [`schema`],
//! arguments checked by [`convert`]) → [`server`] (MCP over stdio with rmcp).

pub mod component;
pub mod config;
pub mod convert;
pub mod limits;
pub mod metadata;
pub mod runtime;
pub mod schema;
pub mod types;
