//! moat: runs MCP tools as sandboxed WebAssembly components.
//!
//! Data flow: component bytes ([`component`], with [`metadata`] bound to them by
//! [`pack`]) → [`runtime`] (compile once, cached; a fresh limited sandbox per
//! call) → [`tools`] (typed WIT exports as MCP tools, schemas from [`schema`],
//! arguments checked by [`convert`]) → [`host`] (the loaded set, one call) →
//! [`server`] (MCP through rmcp). [`config`] and [`limits`] are the user's file.

pub mod audit;
pub mod cli;
pub mod component;
pub mod config;
pub mod convert;
pub mod digests;
pub mod host;
pub mod http_server;
pub mod limits;
pub mod linking;
pub mod lock;
pub mod metadata;
pub mod pack;
pub mod policy;
pub mod registry;
pub mod runtime;
pub mod scaffold;
pub mod scan;
pub mod schema;
pub mod server;
pub mod signing;
pub mod tools;
pub mod types;
pub mod vet;
