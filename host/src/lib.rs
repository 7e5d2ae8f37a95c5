//! moat: runs MCP tools as sandboxed WebAssembly components.
//!
//! The data flow is load → vet → lock → compile → serve → call → audit, and
//! each step has one home:
//!
//! - [`load`]: the load pipeline of `serve` and `call`: find, read and
//!   digest, signature, surface, tools, lock, vet, register. Its
//!   [`load::surface`] is the one derivation of a component's tools, which
//!   the other commands (inspect, vet, lock, pack, publish, add) use too.
//! - [`served`]: the served set it produces (the [`served::Host`]).
//! - [`call`]: the call pipeline: arguments, instance, run, redact, cap,
//!   scan, audit.
//! - [`runtime`]: wasmtime: compiling (cached), linking, a fresh limited
//!   sandbox per call. It knows nothing of config, JSON or MCP.
//! - [`mcp`]: the MCP handler and the HTTP transport, on top.
//! - [`cli`]: the `moat` command line, over all of it.
//!
//! Imports run one way, down this list of layers (a module uses only
//! modules of lower layers; `layering` in the tests reads this list and the
//! `use` lines and holds the code to it):
//!
//! 1. `cli`
//! 2. `mcp`
//! 3. `call`
//! 4. `load`
//! 5. `served`
//! 6. `config`
//! 7. `runtime`, `scan`, `audit`, `metrics`, `registry`, `scaffold`, `lock`, `pack`,
//!    `catalog`
//! 8. `vet`
//! 9. `tools`, `resources`, `prompts`, `completion`
//! 10. `convert`, `component`, `content`
//! 11. `schema`
//! 12. the leaves: `policy`, `limits`, `types`, `metadata`, `signing`,
//!     `findings`, `canonical`, `telemetry`, `clients`
//! 13. `store`, how every file moat writes is written; `bounds`, how much
//!     untrusted input moat reads

pub mod audit;
pub mod bounds;
pub mod call;
pub mod canonical;
pub mod catalog;
pub mod cli;
pub mod clients;
pub mod completion;
pub mod component;
pub mod config;
pub mod content;
pub mod convert;
pub mod findings;
pub mod limits;
pub mod load;
pub mod lock;
pub mod mcp;
pub mod metadata;
pub mod metrics;
pub mod pack;
pub mod policy;
pub mod prompts;
pub mod registry;
pub mod resources;
pub mod runtime;
pub mod scaffold;
pub mod scan;
pub mod schema;
pub mod served;
pub mod signing;
pub mod store;
pub mod telemetry;
pub mod tools;
pub mod types;
pub mod vet;

#[cfg(test)]
mod layering;
