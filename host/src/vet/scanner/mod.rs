//! The scanner: one pass over every string of a definition, each read by
//! the intent reader and the phrase rules here, and by the checks of the
//! submodules: disguised text ([`disguises`]), other components' tools
//! ([`references`]) and the walk over schemas and annotations
//! ([`schema_walk`]).

use super::names::Names;
use super::rules::{self, Check};
use super::text::{self, Normalized, make_visible};
use super::{Context, intent};
use crate::bounds::{MAX_VET_STRING_BYTES, size};
use crate::findings::{Finding, Severity};

mod disguises;
mod references;
mod schema_walk;

use self::references::ToolRef;
#[cfg(test)]
pub(super) use self::schema_walk::collect_strings;

/// The longest span quoted in a finding.
const MAX_SPAN: usize = 160;
/// How deep decoded payloads are decoded again.
const MAX_DECODE_DEPTH: usize = 2;
/// Nesting of schemas beyond this is reported.
const MAX_SCHEMA_DEPTH: usize = 8;

pub(super) struct Scanner<'a> {
    pub(super) context: &'a Context,
    pub(super) tool_name: &'a str,
    pub(super) findings: &'a mut Vec<Finding>,
    /// Reading a tool's output rather than its definition.
    pub(super) output: bool,
    /// Reading a schema value (`default`, `const`, `enum`, `examples`) rather
    /// than prose: a value equal to another tool's short name (an algorithm
    /// `sha256`, a variant tag `ok`) is data, so only a full tool name counts.
    pub(super) in_value: bool,
    /// Names the text may use freely: the tool, its siblings, their parameters.
    pub(super) names: Names<'a>,
    /// The tool's name and description, normalised: what its parameters may ask for.
    pub(super) purpose: &'a str,
    /// `context.others`, lowercase, for the intent reader.
    pub(super) others_lowercase: &'a [String],
    /// Where the learned model's features of every clause go, for training,
    /// in place of its findings.
    pub(super) learned: Option<&'a mut Vec<super::LearnedClause>>,
}

/// Rules that ask for data: a match that is denied ("do not include API
/// keys") or quoted as an example is not a request.
const DATA_RULES: &[&str] =
    &["sensitive-file", "credential-request", "context-exfiltration", "exfiltration-url", "cross-tool"];

/// Whether `rest` goes on with a noun that makes "instructions for the AI"
/// a thing the tool takes ("... for the AI analysis"), not an address.
fn names_a_thing(rest: &str) -> bool {
    let next = rest.trim_start().split(|c: char| !c.is_alphanumeric()).next().unwrap_or("");
    ["analysis", "analyses", "model", "review", "summary", "service", "search", "generation", "pipeline"]
        .contains(&next)
}

/// Rules of [`rules`] that already say what an [`intent`] judgement would.
const SAME_AS: &[(&str, &[&str])] = &[
    ("data-request", &["sensitive-file", "credential-request", "context-exfiltration"]),
    ("other-tool-instruction", &["cross-tool", "shadowing"]),
    ("exfiltration-destination", &["exfiltration-url"]),
    ("decode-and-act", &["encoded-instructions"]),
];

impl Scanner<'_> {
    pub(super) fn push(&mut self, rule: &str, severity: Severity, field: &str, span: &str, message: String) {
        let span = truncate(&make_visible(span), MAX_SPAN);
        if self.findings.iter().any(|f| f.rule == rule && f.field == field && f.span == span) {
            return;
        }
        self.findings.push(Finding { rule: rule.into(), severity, field: field.into(), span, message });
    }

    /// A name (of the tool or a parameter): disguises only.
    pub(super) fn name(&mut self, field: &str, name: &str) {
        self.disguises(field, name, 0);
    }

    /// Free text: disguises, phrase rules, other components' tools, encoded payloads.
    pub(super) fn text(&mut self, field: &str, text: &str) {
        let text = if text.len() > MAX_VET_STRING_BYTES && !self.output {
            let read = &text[..text.floor_char_boundary(MAX_VET_STRING_BYTES)];
            self.push(
                "oversized-text",
                Severity::High,
                field,
                &text[read.len()..text.floor_char_boundary(read.len() + 80)],
                format!(
                    "{} of text, past the {} vet reads: what follows is unread (padding that pushes an instruction past what a person reads is itself an attack)",
                    size(text.len() as u64),
                    size(MAX_VET_STRING_BYTES as u64)
                ),
            );
            read
        } else {
            text
        };
        self.text_at_depth(field, text, 0);
    }

    fn text_at_depth(&mut self, field: &str, text: &str, depth: usize) {
        self.disguises(field, text, depth);
        let normalized = Normalized::new(text);
        self.phrase_rules(field, text, &normalized);
        if !self.output {
            self.other_tools(field, text, &normalized);
            // A schema value (`default`, `enum`) is data, not an instruction;
            // and an instruction needs a verb and what it acts on, so
            // English text of one or two words ("Page number") holds none.
            let too_short = normalized.text.is_ascii() && normalized.text.split(' ').nth(2).is_none();
            if !self.in_value && !too_short {
                self.intent(field, text, &normalized);
            }
        }
        if depth < MAX_DECODE_DEPTH {
            self.encoded(field, text, depth);
        }
    }

    /// What the text asks the model to do ([`intent`]), where no phrase rule
    /// said it already.
    fn intent(&mut self, field: &str, original: &str, normalized: &Normalized) {
        let parameter_name = field
            .rsplit_once(".properties.")
            .map(|(_, rest)| rest.split('.').next().unwrap_or(rest).to_lowercase());
        let constants = intent::constants(original);
        let tool_name = self.tool_name.to_lowercase();
        let frame = intent::Frame {
            names: self.names,
            others: self.others_lowercase,
            // A parameter may ask for what the tool is about; a description
            // is about what its name says.
            purpose: if parameter_name.is_some() { self.purpose } else { &tool_name },
            parameter: parameter_name.is_some(),
            parameter_name: parameter_name.as_deref(),
            constants: &constants,
        };
        for judgement in intent::judge(&normalized.text, &frame) {
            let said = |rule: &str| self.findings.iter().any(|f| f.field == field && f.rule == rule);
            let same =
                SAME_AS.iter().find(|(id, _)| *id == judgement.rule).map_or(&[][..], |(_, same)| *same);
            if said(judgement.rule) || same.iter().any(|rule| said(rule)) {
                continue;
            }
            let range = normalized.original_range(judgement.range);
            self.push(judgement.rule, judgement.severity, field, &original[range], judgement.reason);
        }
        // The learned model, where the rules found nothing that counts.
        if let Some(sink) = self.learned.as_deref_mut() {
            for (range, features) in intent::learned::clause_features(&normalized.text, &frame) {
                let text = normalized.text[range].to_string();
                sink.push(super::LearnedClause { field: field.to_string(), text, features });
            }
        } else if !self.findings.iter().any(|f| f.field == field && f.severity >= Severity::Medium)
            && let Some((range, reason)) = intent::learned::judge(&normalized.text, &frame)
        {
            let range = normalized.original_range(range);
            self.push(intent::learned::RULE, Severity::Medium, field, &original[range], reason);
        }
    }

    /// Runs every phrase rule on the normalised text, then on the text with
    /// its obfuscations undone (leetspeak, spaced letters, punctuation between
    /// words, ROT13) for the rules that did not match already. A pattern runs
    /// only on text that has what it needs ([`gates`]).
    fn phrase_rules(&mut self, field: &str, original: &str, normalized: &Normalized) {
        let mut matched = Vec::new();
        for (rule, open) in rules::rules_for(&normalized.text).iter() {
            if let Some((severity, message, range)) = self.match_rule(rule, open, &normalized.text) {
                let range = normalized.original_range(range);
                self.push(rule.id, severity, field, &original[range], message);
                matched.push(rule.id);
            }
        }
        for (how, variant) in text::deobfuscated_variants(&normalized.text) {
            for (rule, open) in rules::rules_for(&variant).iter() {
                // Undoing leetspeak mangles identifiers (`content_base64`),
                // so tool references are read in the text as written only.
                if matched.contains(&rule.id) || rule.check == Check::ToolReference {
                    continue;
                }
                if let Some((severity, message, range)) = self.match_rule(rule, open, &variant) {
                    let message =
                        format!("{message} (hidden by {how}; read as {:?})", &variant[range.clone()]);
                    self.push(rule.id, severity, field, original, message);
                    matched.push(rule.id);
                }
            }
        }
    }

    /// The first match of `rule` in `text` that passes its check: severity,
    /// message and range. Only the patterns marked `open` are tried.
    fn match_rule(
        &self,
        rule: &rules::Rule,
        open: &[bool],
        text: &str,
    ) -> Option<(Severity, String, std::ops::Range<usize>)> {
        for (pattern, _) in rule.patterns.iter().zip(open).filter(|(_, open)| **open) {
            for captures in pattern.captures_iter(text) {
                let whole = captures.get(0).expect("group 0 always matches");
                if DATA_RULES.contains(&rule.id)
                    && (intent::denied_or_example(text, whole.start())
                        || intent::has_subject(text, whole.start()))
                {
                    continue;
                }
                if rule.id == "credential-request" && self.names_a_credential_parameter(text, whole.start()) {
                    continue;
                }
                // A Chinese verb with 的 modifies a noun ("提供的密码", the
                // password provided): it describes data, it orders nothing.
                if DATA_RULES.contains(&rule.id) && participle(whole.as_str()) {
                    continue;
                }
                if rule.id == "model-directed" && names_a_thing(&text[whole.end()..]) {
                    continue;
                }
                if rule.id == "cross-tool"
                    && whole.as_str().starts_with("instead of")
                    && intent::clause_before(text, whole.start()).contains("this")
                {
                    continue;
                }
                let mut severity = rule.severity;
                let mut message = rule.reason.to_string();
                match rule.check {
                    Check::None => {}
                    Check::NotPublicSshMaterial => {
                        let target = captures.name("target").map_or("", |m| m.as_str());
                        if ["authorized_keys", "known_hosts", ".pub", ".ssh/config"]
                            .iter()
                            .any(|public| target.contains(public))
                        {
                            continue;
                        }
                    }
                    Check::NotFeedback => {
                        if rules::FEEDBACK.is_match(whole.as_str()) {
                            continue;
                        }
                    }
                    Check::ToolReference => {
                        if let Some(tool) = captures.name("tool") {
                            let tool = tool.as_str().trim_matches(|c: char| ".,;:".contains(c));
                            match self.classify_tool(tool) {
                                ToolRef::Sibling => continue,
                                ToolRef::Other(full) => {
                                    severity = Severity::High;
                                    message =
                                        format!("names `{full}`, a tool of another component (shadowing)");
                                }
                                ToolRef::UnknownToolLike => {}
                                ToolRef::NotATool if rule.id == "cross-tool" => continue,
                                ToolRef::NotATool => {}
                            }
                        }
                    }
                }
                return Some((severity, message, whole.range()));
            }
        }
        None
    }

    /// Whether the clause at `at` sends the credential into a parameter
    /// that exists for one ("supply credentials in the connection string"):
    /// the tool asks for what it is for.
    fn names_a_credential_parameter(&self, text: &str, at: usize) -> bool {
        let clause_start = at - intent::clause_before(text, at).len();
        let clause = &text[clause_start..];
        let clause = clause.split(['.', ';', '\n']).next().unwrap_or(clause);
        self.names.iter().any(|name| {
            let spaced = name.replace(['_', '-'], " ");
            ["connection", "dsn", "credential", "password", "token", "auth", "secret", "login"]
                .iter()
                .any(|kind| name.contains(kind))
                && (clause.contains(name) || clause.contains(&spaced))
        })
    }
}

/// Whether `found` holds a Chinese verb of moving data used as a participle
/// (the verb followed by 的).
fn participle(found: &str) -> bool {
    ["提供的", "传入的", "传递的", "填入的", "上传的", "附上的", "包含的", "发送的"]
        .iter()
        .any(|p| found.contains(p))
}

fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let cut: String = text.chars().take(max).collect();
    format!("{cut}…")
}
