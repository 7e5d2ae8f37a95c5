//! The Rust bindings of `wit/host/host.wit` (package `moat:host`), which
//! the host interfaces implement ([`super::notices`]) and the MCP layer
//! reads and writes the values of.

wasmtime::component::bindgen!({
    path: "../wit/host",
    world: "imports",
    imports: {
        "moat:host/elicitation.ask": async,
        "moat:host/sampling.create-message": async,
    },
});
