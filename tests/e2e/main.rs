//! End-to-end tests: the real `moat` binary, real components, real MCP clients.
//!
//! One test binary, one module per feature. The example components are built
//! and packed once per run by `guest-examples/build.sh`.

mod audit;
mod catalog;
mod clients;
mod confirm;
mod conformance;
mod content;
mod conversion;
mod crash;
mod deploy;
mod documents;
mod feedback;
mod guests;
mod http;
mod inspector;
mod limits;
mod notices;
mod oci;
mod operations;
mod packing;
mod policy;
mod protocol;
mod python;
mod questions;
mod replicas;
mod resources;
mod rounds;
mod sandbox;
mod scaffold;
mod slots;
mod startup;
mod support;
mod telemetry;
mod tools;
mod trust;
mod typescript;
mod vet_server;
