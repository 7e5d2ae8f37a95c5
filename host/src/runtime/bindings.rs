//! The Rust bindings of `wit/host/host.wit` (package `moat:host`), which
//! the host interfaces implement ([`super::notices`]) and the MCP layer
//! reads and writes the values of. The questions are async (the answer
//! comes from the client) and trappable: a question that stops the call
//! (a 2026-07-28 input round, [`super::asks::Suspended`]) ends the guest,
//! as does a capability the client lacks ([`super::asks::Undeclared`]).

wasmtime::component::bindgen!({
    path: "../wit/host",
    world: "imports",
    imports: {
        "moat:host/elicitation.ask": async | trappable,
        "moat:host/elicitation.ask-url": async | trappable,
        "moat:host/sampling.create-message": async | trappable,
        "moat:host/roots.list-roots": async | trappable,
        "moat:host/input.ask-all": async | trappable,
        "moat:host/input.require": trappable,
    },
});
