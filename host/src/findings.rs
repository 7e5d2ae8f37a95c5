//! What a check found: a rule, a severity, the field and the text it found
//! there. `moat vet`, output scanning, the load gate and the CLI report in
//! these terms; this module knows none of them.

use std::fmt;

use serde::Serialize;

/// How bad a finding is. Ordered: `Low < Medium < High < Critical`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize, clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        })
    }
}

/// One thing `vet` found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Finding {
    pub rule: String,
    pub severity: Severity,
    /// Where in the definition: `description`, `inputSchema.properties.path.description`, ...
    pub field: String,
    /// The offending text, invisible characters made visible.
    pub span: String,
    pub message: String,
}

/// The findings for one tool.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct ToolFindings {
    pub name: String,
    pub findings: Vec<Finding>,
}

impl ToolFindings {
    pub fn worst(&self) -> Option<Severity> {
        self.findings.iter().map(|f| f.severity).max()
    }
}

/// The worst severity among `findings`, if any.
pub fn worst(findings: &[Finding]) -> Option<Severity> {
    findings.iter().map(|f| f.severity).max()
}
