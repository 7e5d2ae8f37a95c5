//! `moat vet TARGET...`: loads components or MCP `tools/list` JSON files,
//! vets every tool against the others, and reports as text or JSON.
//!
//! Exit status: 0 when nothing is at or above `--fail-on`, 1 when something
//! is, 2 when a target cannot be read (the caller maps [`VetError`]).

use std::path::{Path, PathBuf};

use anstyle::AnsiColor;
use anyhow::{Context as _, Result, bail};
use serde_json::{Value, json};

use super::EXIT_BAD_INPUT;
use super::args::OutputFormat;
use super::output::paint;
use crate::bounds::{MAX_VET_DEFINITIONS, MAX_VET_FILE_BYTES, size};
use crate::config::{ComponentSpec, Config};
use crate::policy::Policy;
use crate::tools::Naming;
use crate::vet::capabilities::vet_capabilities;
use crate::vet::{Context, Finding, Severity, ToolFindings, vet_other_definition, vet_tools, worst};

/// One thing vetted: a component or a tools/list file.
pub struct Target {
    pub label: String,
    /// `Some(digest)` for a component.
    pub digest: Option<String>,
    pub tools: Vec<Value>,
    pub capability_findings: Vec<Finding>,
    /// Prompts and resources a server listed, in a tool's shape
    /// ([`crate::vet::vet_other_definition`]).
    pub definitions: Vec<Value>,
}

/// What `moat vet` found in all targets.
pub struct VetReport {
    pub targets: Vec<(Target, Vec<ToolFindings>)>,
}

impl VetReport {
    pub fn worst(&self) -> Option<Severity> {
        self.targets
            .iter()
            .flat_map(|(target, tools)| {
                tools.iter().filter_map(ToolFindings::worst).chain(worst(&target.capability_findings))
            })
            .max()
    }

    pub fn to_json(&self, fail_on: Severity) -> Value {
        let tools: Vec<Value> = self
            .targets
            .iter()
            .flat_map(|(target, tools)| {
                tools.iter().map(|t| json!({"name": t.name, "target": target.label, "findings": t.findings}))
            })
            .collect();
        let components: Vec<Value> = self
            .targets
            .iter()
            .filter(|(target, _)| target.digest.is_some())
            .map(|(target, _)| {
                json!({"target": target.label, "digest": target.digest, "findings": target.capability_findings})
            })
            .collect();
        json!({
            "tools": tools,
            "components": components,
            "fail_on": fail_on,
            "failed": self.worst().is_some_and(|w| w >= fail_on),
        })
    }

    pub fn to_text(&self, fail_on: Severity) -> String {
        let mut out = String::new();
        let mut counts = [0usize; 4];
        for (target, tools) in &self.targets {
            let what = match &target.digest {
                Some(digest) => format!("component, {digest}"),
                None if target.label.starts_with("server ") => "MCP server".into(),
                None => "tools/list".into(),
            };
            out.push_str(&format!(
                "{} ({what}, {} tools{})\n",
                target.label,
                target.tools.len(),
                if target.definitions.is_empty() {
                    String::new()
                } else {
                    format!(", {} prompts and resources", target.definitions.len())
                }
            ));
            let mut groups: Vec<(&str, &[Finding])> =
                tools.iter().map(|t| (t.name.as_str(), t.findings.as_slice())).collect();
            groups.push(("(capabilities)", &target.capability_findings));
            for (name, findings) in groups {
                if findings.is_empty() {
                    if name != "(capabilities)" {
                        out.push_str(&format!("  {name}: no findings\n"));
                    }
                    continue;
                }
                out.push_str(&format!("  {name}\n"));
                for finding in findings {
                    counts[finding.severity as usize] += 1;
                    out.push_str(&format!(
                        "    {} {}  in {}\n             {}\n             {:?}\n",
                        severity_label(finding.severity),
                        finding.rule,
                        finding.field,
                        finding.message,
                        finding.span
                    ));
                }
            }
        }
        let worst = self.worst();
        out.push_str(&format!(
            "{} critical, {} high, {} medium, {} low; fail-on {fail_on}: {}\n",
            counts[3],
            counts[2],
            counts[1],
            counts[0],
            if worst.is_some_and(|w| w >= fail_on) {
                paint("FAILED", AnsiColor::Red.on_default().bold())
            } else {
                paint("passed", AnsiColor::Green.on_default())
            }
        ));
        out
    }
}

/// A severity, padded to a column, in its colour on a terminal.
fn severity_label(severity: Severity) -> String {
    let style = match severity {
        Severity::Critical => AnsiColor::Red.on_default().bold(),
        Severity::High => AnsiColor::Red.on_default(),
        Severity::Medium => AnsiColor::Yellow.on_default(),
        Severity::Low => AnsiColor::Cyan.on_default(),
    };
    paint(&format!("{:<8}", severity.to_string()), style)
}

/// Reads every target (or every component of `config` when there are none).
pub fn load_targets(paths: &[PathBuf], config: Option<&Path>) -> Result<Vec<Target>> {
    let config = config.map(Config::load).transpose()?;
    let mut targets = Vec::new();
    if paths.is_empty() {
        let Some(config) = &config else {
            bail!("nothing to vet: give components, tools/list files or --config")
        };
        for spec in &config.components {
            targets.push(component_target(&spec.path, &spec.naming(), &spec.policy)?);
        }
        return Ok(targets);
    }
    for path in paths {
        let is_json = path.extension().is_some_and(|e| e == "json");
        if is_json {
            targets.push(tool_list_target(path)?);
            continue;
        }
        let spec = config.as_ref().and_then(|c| spec_for(c, path));
        let naming = match spec {
            Some(spec) => spec.naming(),
            None => Naming::new(
                &path.file_stem().and_then(|s| s.to_str()).unwrap_or("component").replace('_', "-"),
            ),
        };
        let policy = spec.map(|s| s.policy.clone()).unwrap_or_default();
        targets.push(component_target(path, &naming, &policy)?);
    }
    Ok(targets)
}

/// The configured component served from `path`, if any.
fn spec_for<'a>(config: &'a Config, path: &Path) -> Option<&'a ComponentSpec> {
    let wanted = path.canonicalize().ok()?;
    config.components.iter().find(|spec| spec.path.canonicalize().ok().as_deref() == Some(&wanted))
}

pub fn component_target(path: &Path, naming: &Naming, policy: &Policy) -> Result<Target> {
    let (file, tools, imports) = super::compiled_tools(path, naming)?;
    let tools = tools.vetted();
    Ok(Target {
        label: path.display().to_string(),
        digest: Some(file.digest.clone()),
        tools,
        capability_findings: vet_capabilities(&imports, policy),
        definitions: Vec::new(),
    })
}

/// A file holding a `tools/list` result: `{"tools": [...]}`, a whole JSON-RPC
/// response `{"result": {"tools": [...]}}`, or a bare array of tools.
fn tool_list_target(path: &Path) -> Result<Target> {
    let text = read_bounded(path)?;
    let value: Value =
        serde_json::from_str(&text).with_context(|| format!("{} is not valid JSON", path.display()))?;
    let tools = match &value {
        Value::Array(tools) => tools.clone(),
        _ => value
            .get("tools")
            .or_else(|| value.pointer("/result/tools"))
            .and_then(Value::as_array)
            .cloned()
            .with_context(|| {
                format!("{} holds no tools/list result (expected `tools` or `result.tools`)", path.display())
            })?,
    };
    if tools.len() > MAX_VET_DEFINITIONS {
        bail!(
            "{} holds {} tools, past moat's bound of {MAX_VET_DEFINITIONS} (MAX_VET_DEFINITIONS)",
            path.display(),
            tools.len()
        );
    }
    for (i, tool) in tools.iter().enumerate() {
        if !tool.get("name").is_some_and(Value::is_string) {
            bail!("{}: tools[{i}] has no string `name`", path.display());
        }
    }
    Ok(Target {
        label: path.display().to_string(),
        digest: None,
        tools,
        capability_findings: Vec::new(),
        definitions: Vec::new(),
    })
}

/// A file vet reads (a tools/list answer, a client config), refused past
/// [`MAX_VET_FILE_BYTES`] before it is read.
pub(super) fn read_bounded(path: &Path) -> Result<String> {
    let cannot = || format!("cannot read {}", path.display());
    let file = std::fs::File::open(path).with_context(cannot)?;
    let length = file.metadata().with_context(cannot)?.len();
    if length > MAX_VET_FILE_BYTES {
        bail!(
            "{} is {}, past moat's bound of {} for a file vet reads (MAX_VET_FILE_BYTES)",
            path.display(),
            size(length),
            size(MAX_VET_FILE_BYTES)
        );
    }
    let mut text = String::new();
    std::io::Read::read_to_string(&mut std::io::Read::take(file, MAX_VET_FILE_BYTES), &mut text)
        .with_context(cannot)?;
    Ok(text)
}

/// Vets all targets together: each target's tools are the siblings of one
/// another, every other target's tools are "others" (shadowing).
pub fn vet_targets(targets: Vec<Target>) -> VetReport {
    let names = |t: &Target| -> Vec<String> {
        t.tools.iter().filter_map(|tool| tool.get("name").and_then(Value::as_str).map(String::from)).collect()
    };
    let all: Vec<Vec<String>> = targets.iter().map(names).collect();
    let targets = targets
        .into_iter()
        .enumerate()
        .map(|(i, target)| {
            let others: Vec<String> =
                all.iter().enumerate().filter(|(j, _)| *j != i).flat_map(|(_, n)| n.clone()).collect();
            let mut findings = vet_tools(&target.tools, &others);
            let siblings: Vec<String> = all[i].clone();
            let context =
                Context { siblings, others, vocabulary: crate::vet::parameter_names(&target.tools) };
            findings.extend(target.definitions.iter().map(|d| vet_other_definition(d, &context)));
            (target, findings)
        })
        .collect();
    VetReport { targets }
}

pub(super) fn vet_report(
    targets: Result<Vec<Target>>,
    format: OutputFormat,
    fail_on: Severity,
) -> std::process::ExitCode {
    match targets {
        Ok(targets) => vet_report_with(targets, Vec::new(), format, fail_on),
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::from(EXIT_BAD_INPUT)
        }
    }
}

/// Reports what could be vetted; `failures` (servers that could not be
/// listed) are printed after it and make the exit status 2.
pub(super) fn vet_report_with(
    targets: Vec<Target>,
    failures: Vec<anyhow::Error>,
    format: OutputFormat,
    fail_on: Severity,
) -> std::process::ExitCode {
    if targets.is_empty() && !failures.is_empty() {
        failures.iter().for_each(|error| eprintln!("error: {error:#}"));
        return std::process::ExitCode::from(EXIT_BAD_INPUT);
    }
    let report = vet_targets(targets);
    match format {
        OutputFormat::Json => super::output::result(&report.to_json(fail_on)),
        OutputFormat::Text => out!("{}", report.to_text(fail_on)),
    }
    failures.iter().for_each(|error| eprintln!("error: {error:#}"));
    match report.worst() {
        _ if !failures.is_empty() => std::process::ExitCode::from(EXIT_BAD_INPUT),
        Some(worst) if worst >= fail_on => std::process::ExitCode::FAILURE,
        _ => std::process::ExitCode::SUCCESS,
    }
}
