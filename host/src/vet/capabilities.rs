//! What a component can reach, read against what it is granted: imports no
//! grant backs (calls will be refused), and grants broader than a tool
//! should ever need (the home directory, the whole disk).

use std::path::Path;

use super::{Finding, Severity};
use crate::policy::{FileMode, Policy};

/// Findings about a component's imports and grants (`policy` is `None` when
/// no config was given: everything it imports would be refused).
pub fn vet_capabilities(imports: &[String], policy: &Policy) -> Vec<Finding> {
    let mut findings = Vec::new();
    for warning in policy.ungranted_imports(imports) {
        findings.push(Finding {
            rule: "capability-ungranted".into(),
            severity: Severity::Low,
            field: "imports".into(),
            span: warning.split_whitespace().nth(1).unwrap_or_default().to_string(),
            message: format!("{warning}: calls that need it will be refused"),
        });
    }
    let home = dirs::home_dir();
    for grant in &policy.files {
        let is_root = grant.host == Path::new("/");
        let is_home = home.as_deref().is_some_and(|home| grant.host == home);
        let contains_home = home.as_deref().is_some_and(|home| home.starts_with(&grant.host));
        let (severity, what) = match (is_root || contains_home, is_home, grant.mode) {
            (true, _, _) if !is_home => (Severity::Critical, "the whole file system (or a parent of home)"),
            (_, true, FileMode::Rw) => (Severity::High, "the whole home directory, writable"),
            (_, true, FileMode::Ro) => (Severity::Medium, "the whole home directory (keys, tokens, history)"),
            _ => continue,
        };
        findings.push(Finding {
            rule: "capability-broad".into(),
            severity,
            field: "grants.files".into(),
            span: grant.host.display().to_string(),
            message: format!("grants {what}: grant a dedicated directory instead"),
        });
    }
    findings
}
