//! `moat vet --server` and `--client-config`: vets running MCP servers that
//! are not components.
//!
//! Connects as an MCP client (rmcp) to a command over stdio or to a
//! Streamable HTTP URL, lists its tools, prompts and resources (every page),
//! and hands them to vet as one target; or does so for every server an MCP
//! client's config file names, so that they are vetted against each other. The server is only listed, never
//! called. A server that does not start, does not answer within the
//! deadline, or answers with something that is not a list is bad input:
//! the caller exits 2 with the reason.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context as _, Result, bail};
use rmcp::ServiceExt;
use rmcp::model::{ClientConfig, PaginatedRequestParams, Prompt, Resource, ResourceTemplate, Tool};
use rmcp::service::{RoleClient, RunningService};
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::transport::{StreamableHttpClientTransport, TokioChildProcess};
use serde_json::{Value, json};

use super::vet::Target;
use crate::bounds::{MAX_LIST_PAGES, MAX_VET_DEFINITIONS};

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
        if is_url { list_http(first, headers).await } else { list_stdio(spec, &[]).await }
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

/// How one server of a client's config is reached.
enum Entry {
    Stdio { command: Vec<String>, env: Vec<(String, String)> },
    Http { url: String, headers: Vec<String> },
}

/// The servers an MCP client's config file names, in file order: the
/// `mcpServers` table (Claude Desktop, Claude Code, Cursor, Gemini CLI) or
/// `servers` (VS Code); each `{command, args, env}` or `{url, headers}`.
fn client_config_servers(path: &Path) -> Result<Vec<(String, Entry)>> {
    let text = super::vet::read_bounded(path)?;
    let config: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("{} is not valid JSON", path.display()))?;
    let servers = config
        .get("mcpServers")
        .or_else(|| config.get("servers"))
        .and_then(serde_json::Value::as_object)
        .with_context(|| format!("{} has no `mcpServers` or `servers` object", path.display()))?;
    let strings = |value: Option<&serde_json::Value>, what: &str, name: &str| -> Result<Vec<String>> {
        match value {
            None => Ok(Vec::new()),
            Some(serde_json::Value::Array(items)) => items
                .iter()
                .map(|item| {
                    item.as_str()
                        .map(String::from)
                        .with_context(|| format!("server {name}: `{what}` holds a non-string"))
                })
                .collect(),
            Some(_) => bail!("server {name}: `{what}` is not a list of strings"),
        }
    };
    let pairs =
        |value: Option<&serde_json::Value>, what: &str, name: &str| -> Result<Vec<(String, String)>> {
            match value {
                None => Ok(Vec::new()),
                Some(serde_json::Value::Object(map)) => map
                    .iter()
                    .map(|(key, value)| {
                        let value = value
                            .as_str()
                            .with_context(|| format!("server {name}: `{what}.{key}` is not a string"))?;
                        Ok((key.clone(), value.to_string()))
                    })
                    .collect(),
                Some(_) => bail!("server {name}: `{what}` is not an object of strings"),
            }
        };
    let mut entries = Vec::new();
    for (name, server) in servers {
        let entry = if let Some(url) = server.get("url").and_then(serde_json::Value::as_str) {
            let headers = pairs(server.get("headers"), "headers", name)?;
            Entry::Http {
                url: url.to_string(),
                headers: headers.into_iter().map(|(k, v)| format!("{k}: {v}")).collect(),
            }
        } else if let Some(command) = server.get("command").and_then(serde_json::Value::as_str) {
            let mut spec = vec![command.to_string()];
            spec.extend(strings(server.get("args"), "args", name)?);
            Entry::Stdio { command: spec, env: pairs(server.get("env"), "env", name)? }
        } else {
            bail!("server {name} in {} has neither `command` nor `url`", path.display())
        };
        entries.push((name.clone(), entry));
    }
    Ok(entries)
}

/// Vets every server of the client config at `path`, all at once, each
/// within `deadline`. A server that fails is returned as an error and the
/// others are vetted all the same.
pub async fn client_config_targets(
    path: &Path,
    deadline: Duration,
) -> Result<(Vec<Target>, Vec<anyhow::Error>)> {
    let mut tasks = tokio::task::JoinSet::new();
    for (index, (name, entry)) in client_config_servers(path)?.into_iter().enumerate() {
        tasks.spawn(async move {
            let listing = tokio::time::timeout(deadline, async {
                match &entry {
                    Entry::Stdio { command, env } => list_stdio(command, env).await,
                    Entry::Http { url, headers } => list_http(url, headers).await,
                }
            })
            .await
            .map_err(|_| {
                anyhow::anyhow!(
                    "did not finish answering initialize and the list requests within {}",
                    humantime::format_duration(deadline)
                )
            })
            .and_then(|listing| listing);
            let result = listing.map(|mut listing| {
                listing.label = format!("server {name}");
                into_target(listing)
            });
            (index, result.with_context(|| format!("server {name}")))
        });
    }
    let mut results = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        results.push(joined.context("a listing task failed")?);
    }
    results.sort_by_key(|(index, _)| *index);
    let (mut targets, mut failures) = (Vec::new(), Vec::new());
    for (_, result) in results {
        match result {
            Ok(target) => targets.push(target),
            Err(error) => failures.push(error),
        }
    }
    Ok((targets, failures))
}

/// How a server is named in messages and in the report: its URL, or its command line.
fn describe(spec: &[String]) -> String {
    if spec[0].starts_with("http://") || spec[0].starts_with("https://") {
        format!("server {}", spec[0])
    } else {
        format!("server `{}`", spec.join(" "))
    }
}

async fn list_stdio(spec: &[String], env: &[(String, String)]) -> Result<Listing> {
    let mut command = tokio::process::Command::new(&spec[0]);
    command.args(&spec[1..]).envs(env.iter().cloned());
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
    let mut listed = Listed { label: &label, definitions: 0 };
    let tools = if capabilities.tools.is_some() {
        listed.all("tools/list", |page| client.list_tools(page), |r| (r.tools, r.next_cursor)).await?
    } else {
        Vec::new()
    };
    let prompts = if capabilities.prompts.is_some() {
        listed.all("prompts/list", |page| client.list_prompts(page), |r| (r.prompts, r.next_cursor)).await?
    } else {
        Vec::new()
    };
    let (resources, templates) = if capabilities.resources.is_some() {
        let resources = listed
            .all("resources/list", |page| client.list_resources(page), |r| (r.resources, r.next_cursor))
            .await?;
        let templates = listed
            .all(
                "resources/templates/list",
                |page| client.list_resource_templates(page),
                |r| (r.resource_templates, r.next_cursor),
            )
            .await?;
        (resources, templates)
    } else {
        (Vec::new(), Vec::new())
    };
    // The listing is complete; how the server takes its end is its own affair.
    let _ = client.cancel().await;
    Ok(Listing { label, tools, prompts, resources, templates })
}

/// Follows a server's pages within moat's bounds: at most
/// [`MAX_LIST_PAGES`] pages of one list, never a cursor twice, at most
/// [`MAX_VET_DEFINITIONS`] definitions from the server in all.
struct Listed<'a> {
    label: &'a str,
    definitions: usize,
}

impl Listed<'_> {
    async fn all<P, T, Fut>(
        &mut self,
        method: &str,
        mut page: impl FnMut(Option<PaginatedRequestParams>) -> Fut,
        split: impl Fn(P) -> (Vec<T>, Option<String>),
    ) -> Result<Vec<T>>
    where
        Fut: std::future::Future<Output = Result<P, rmcp::ServiceError>>,
    {
        let label = self.label;
        let mut items = Vec::new();
        let mut cursors = std::collections::HashSet::new();
        let mut cursor = None;
        for _ in 0..MAX_LIST_PAGES {
            let params =
                cursor.clone().map(|cursor| PaginatedRequestParams::default().with_cursor(Some(cursor)));
            let (page_items, next) =
                split(page(params).await.with_context(|| format!("{label}: {method} failed"))?);
            self.definitions += page_items.len();
            if self.definitions > MAX_VET_DEFINITIONS {
                bail!(
                    "{label}: the server listed more than {MAX_VET_DEFINITIONS} definitions, moat's bound (MAX_VET_DEFINITIONS)"
                );
            }
            items.extend(page_items);
            match next {
                None => return Ok(items),
                Some(next) if !cursors.insert(next.clone()) => {
                    bail!("{label}: {method} gave the cursor {next:?} twice; its pages never end")
                }
                Some(next) => cursor = Some(next),
            }
        }
        bail!("{label}: {method} went on past {MAX_LIST_PAGES} pages, moat's bound (MAX_LIST_PAGES)")
    }
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
