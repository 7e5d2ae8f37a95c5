//! `moat vet --server`: vets a running MCP server that is not a component.
//!
//! Connects as an MCP client (rmcp) to a command over stdio or to a
//! Streamable HTTP URL, lists its tools, prompts and resources (every page),
//! and hands them to vet as one target. The server is only listed, never
//! called. A server that does not start, does not answer within the
//! deadline, or answers with something that is not a list is bad input:
//! the caller exits 2 with the reason.

use std::collections::HashMap;
use std::time::Duration;

use anyhow::{Context as _, Result, bail};
use rmcp::ServiceExt;
use rmcp::model::{ClientConfig, Prompt, Resource, ResourceTemplate, Tool};
use rmcp::service::{RoleClient, RunningService};
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::transport::{StreamableHttpClientTransport, TokioChildProcess};
use serde_json::{Value, json};

use super::vet::Target;

/// What a server offers, as listed.
struct Listing {
    label: String,
    tools: Vec<Tool>,
    prompts: Vec<Prompt>,
    resources: Vec<Resource>,
    templates: Vec<ResourceTemplate>,
}

/// Lists the server given by `spec` (a URL, or a command and its arguments)
/// within `deadline` and returns it as a vet target.
pub async fn server_target(spec: &[String], headers: &[String], deadline: Duration) -> Result<Target> {
    let Some(first) = spec.first() else {
        bail!(
            "--server needs a URL (https://host/mcp) or a command after `--` (moat vet --server -- npx -y PACKAGE)"
        )
    };
    let is_url = first.starts_with("http://") || first.starts_with("https://");
    if is_url && spec.len() > 1 {
        bail!("--server takes one URL; {} more arguments were given", spec.len() - 1);
    }
    if !is_url && !headers.is_empty() {
        bail!("--header is for an HTTP server; {first:?} is a command");
    }
    let listing = tokio::time::timeout(deadline, async {
        if is_url { list_http(first, headers).await } else { list_stdio(spec).await }
    })
    .await
    .map_err(|_| {
        anyhow::anyhow!(
            "{} did not finish answering initialize and the list requests within {}",
            describe(spec),
            humantime::format_duration(deadline)
        )
    })??;
    Ok(into_target(listing))
}

/// How a server is named in messages and in the report: its URL, or its command line.
fn describe(spec: &[String]) -> String {
    if spec[0].starts_with("http://") || spec[0].starts_with("https://") {
        format!("server {}", spec[0])
    } else {
        format!("server `{}`", spec.join(" "))
    }
}

async fn list_stdio(spec: &[String]) -> Result<Listing> {
    let mut command = tokio::process::Command::new(&spec[0]);
    command.args(&spec[1..]);
    let transport =
        TokioChildProcess::new(command).with_context(|| format!("cannot start {}", describe(spec)))?;
    let client = ClientConfig::default()
        .serve(transport)
        .await
        .with_context(|| format!("{} did not complete the MCP handshake", describe(spec)))?;
    list(client, describe(spec)).await
}

async fn list_http(url: &str, headers: &[String]) -> Result<Listing> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut config = StreamableHttpClientTransportConfig::with_uri(url.to_string());
    let mut custom = HashMap::new();
    for header in headers {
        let (name, value) =
            header.split_once(':').with_context(|| format!("--header {header:?} is not `Name: value`"))?;
        let (name, value) = (name.trim(), value.trim());
        if name.eq_ignore_ascii_case("authorization") {
            let token =
                value.strip_prefix("Bearer ").or_else(|| value.strip_prefix("bearer ")).with_context(
                    || "--header Authorization must be `Authorization: Bearer TOKEN`".to_string(),
                )?;
            config = config.auth_header(token.to_string());
            continue;
        }
        let name = http::HeaderName::try_from(name)
            .with_context(|| format!("--header name {name:?} is not valid"))?;
        let value = http::HeaderValue::try_from(value)
            .with_context(|| format!("--header {name} has an invalid value"))?;
        custom.insert(name, value);
    }
    config.custom_headers = custom;
    let transport = StreamableHttpClientTransport::from_config(config);
    let client = ClientConfig::default()
        .serve(transport)
        .await
        .with_context(|| format!("server {url} did not complete the MCP handshake"))?;
    list(client, describe(&[url.to_string()])).await
}

async fn list(client: RunningService<RoleClient, ClientConfig>, label: String) -> Result<Listing> {
    let capabilities = client.peer_info().map(|info| info.capabilities.clone()).unwrap_or_default();
    let tools = if capabilities.tools.is_some() {
        client.list_all_tools().await.with_context(|| format!("{label}: tools/list failed"))?
    } else {
        Vec::new()
    };
    let prompts = if capabilities.prompts.is_some() {
        client.list_all_prompts().await.with_context(|| format!("{label}: prompts/list failed"))?
    } else {
        Vec::new()
    };
    let (resources, templates) = if capabilities.resources.is_some() {
        let resources =
            client.list_all_resources().await.with_context(|| format!("{label}: resources/list failed"))?;
        let templates = client
            .list_all_resource_templates()
            .await
            .with_context(|| format!("{label}: resources/templates/list failed"))?;
        (resources, templates)
    } else {
        (Vec::new(), Vec::new())
    };
    // The listing is complete; how the server takes its end is its own affair.
    let _ = client.cancel().await;
    Ok(Listing { label, tools, prompts, resources, templates })
}

/// Tools as they are; prompts and resources as definitions of their own
/// kind, every string of them read like a tool's.
fn into_target(listing: Listing) -> Target {
    let tools =
        listing.tools.iter().map(|tool| serde_json::to_value(tool).expect("rmcp tools serialise")).collect();
    let mut others = Vec::new();
    for prompt in &listing.prompts {
        let properties: serde_json::Map<String, Value> = prompt
            .arguments
            .iter()
            .flatten()
            .map(|argument| {
                (argument.name.clone(), json!({"type": "string", "description": argument.description}))
            })
            .collect();
        others.push(json!({
            "kind": "prompt",
            "name": prompt.name,
            "title": prompt.title,
            "description": prompt.description,
            "inputSchema": {"type": "object", "properties": properties},
        }));
    }
    let resource =
        |kind: &str, name: &str, title: &Option<String>, description: &Option<String>, uri: &str| {
            json!({
                "kind": kind,
                "name": name,
                "title": title,
                "description": description,
                "uri": uri,
                "inputSchema": {"type": "object", "properties": {}},
            })
        };
    for r in &listing.resources {
        others.push(resource("resource", &r.name, &r.title, &r.description, &r.uri));
    }
    for t in &listing.templates {
        others.push(resource("resource template", &t.name, &t.title, &t.description, &t.uri_template));
    }
    Target { label: listing.label, digest: None, tools, capability_findings: Vec::new(), definitions: others }
}
