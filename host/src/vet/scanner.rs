//! The walk over every string of a definition: name, title, description,
//! each parameter's name, description, default, enum and examples,
//! annotations; and the checks that are not phrase rules: invisible and
//! look-alike characters, encoded payloads (decoded and read again),
//! references to other components' tools (shadowing), schema sanity.

use base64::Engine as _;
use regex::Regex;
use serde_json::{Map, Value};

use super::names::Names;
use super::rules::{self, Check, EXFILTRATION_PARAMETERS, NOT_TOOL_NAMES, SECRET_PARAMETERS};
use super::text::{self, Invisible, Normalized, homoglyph_words, invisible_runs, make_visible};
use super::{Context, intent};
use crate::findings::{Finding, Severity};

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
    }

    fn disguises(&mut self, field: &str, text: &str, depth: usize) {
        for run in invisible_runs(text) {
            let span = &text[run.range.clone()];
            let (severity, message) = match run.kind {
                Invisible::Tag => (
                    Severity::Critical,
                    format!(
                        "invisible Unicode tag characters spell {:?}",
                        run.decoded.as_deref().unwrap_or_default()
                    ),
                ),
                Invisible::Bidi => {
                    (Severity::High, "bidirectional control characters change what a reader sees".into())
                }
                Invisible::ZeroWidth => (
                    Severity::Medium,
                    "zero-width characters hide inside the text (splitting words, carrying data)".into(),
                ),
                Invisible::VariationSelector => {
                    (Severity::High, "variation selectors outside emoji can carry hidden bytes".into())
                }
                Invisible::Filler => (Severity::Medium, "invisible filler characters".into()),
            };
            self.push("invisible-characters", severity, field, span, message);
            if let Some(decoded) = run.decoded.filter(|d| !d.trim().is_empty())
                && depth < MAX_DECODE_DEPTH
            {
                self.text_at_depth(&format!("{field} (hidden tag text)"), &decoded, depth + 1);
            }
        }
        for word in homoglyph_words(text) {
            let span = &text[word.range.clone()];
            self.push(
                "confusable-characters",
                Severity::High,
                field,
                span,
                format!("look-alike letters from another script: reads as {:?}", word.latin),
            );
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

    fn classify_tool(&self, name: &str) -> ToolRef {
        if NOT_TOOL_NAMES.contains(&name) || name.is_empty() {
            return ToolRef::NotATool;
        }
        let same = |candidate: &str| {
            let candidate = candidate.to_lowercase();
            let short = candidate.rsplit('.').next().unwrap_or(&candidate).to_string();
            let loose = |s: &str| s.replace('-', "_");
            loose(&candidate) == loose(name) || loose(&short) == loose(name)
        };
        if self.names.knows(name) || same(self.tool_name) {
            return ToolRef::Sibling;
        }
        if let Some(other) = self.context.others.iter().find(|o| same(o)) {
            return ToolRef::Other(other.clone());
        }
        if name.contains(['_', '.', '-']) { ToolRef::UnknownToolLike } else { ToolRef::NotATool }
    }

    /// Names of other components' tools in this text: shadowing.
    fn other_tools(&mut self, field: &str, original: &str, normalized: &Normalized) {
        for other in &self.context.others {
            let lower = other.to_lowercase();
            let short = lower.rsplit('.').next().unwrap_or(&lower).to_string();
            if self
                .context
                .siblings
                .iter()
                .any(|s| s.to_lowercase().ends_with(&format!(".{short}")) || s.to_lowercase() == short)
            {
                // The same short name exists here too; only the full name is shadowing.
                if let Some(found) = find_word(&normalized.text, &lower) {
                    self.shadowing(field, original, normalized, found, other);
                }
                continue;
            }
            if self.in_value {
                if let Some(found) = find_word(&normalized.text, &lower) {
                    self.shadowing(field, original, normalized, found, other);
                }
                continue;
            }
            // A bare function name counts when it is distinctive or quoted as a tool.
            let distinctive = short.contains(['_', '-']) || short.len() >= 12;
            let found = find_word(&normalized.text, &lower).or_else(|| {
                if distinctive {
                    find_word(&normalized.text, &short)
                } else {
                    find_quoted_or_tool(&normalized.text, &short)
                }
            });
            if let Some(found) = found {
                self.shadowing(field, original, normalized, found, other);
            }
        }
    }

    fn shadowing(
        &mut self,
        field: &str,
        original: &str,
        normalized: &Normalized,
        found: std::ops::Range<usize>,
        other: &str,
    ) {
        let range = normalized.original_range(found);
        self.push(
            "shadowing",
            Severity::High,
            field,
            &original[range],
            format!("names `{other}`, a tool of another component: a description must only speak about its own tools"),
        );
    }

    /// Base64, hex, percent and `\u` escapes that decode to text are decoded
    /// and read again; what they hide is reported on the encoded span.
    fn encoded(&mut self, field: &str, text: &str, depth: usize) {
        static CANDIDATES: std::sync::LazyLock<[(Encoding, Regex); 4]> = std::sync::LazyLock::new(|| {
            [
                (
                    Encoding::Base64,
                    Regex::new(r"[A-Za-z0-9+/_-]{8,}(?: [A-Za-z0-9+/_-]{8,})*={0,2}").unwrap(),
                ),
                (Encoding::Hex, Regex::new(r"(?:\\x)?(?:[0-9a-fA-F]{2}(?:\\x|\s)?){12,}").unwrap()),
                (Encoding::Percent, Regex::new(r"(?:%[0-9a-fA-F]{2}[^%\s]{0,3}){6,}").unwrap()),
                (Encoding::UnicodeEscape, Regex::new(r"(?:\\u[0-9a-fA-F]{4}){4,}").unwrap()),
            ]
        });
        for (encoding, pattern) in CANDIDATES.iter() {
            for found in pattern.find_iter(text) {
                let Some(decoded) = encoding.decode(found.as_str()) else { continue };
                let mut inner = Vec::new();
                let mut scanner = Scanner {
                    context: self.context,
                    tool_name: self.tool_name,
                    findings: &mut inner,
                    output: self.output,
                    in_value: self.in_value,
                    names: self.names,
                    purpose: self.purpose,
                    others_lowercase: self.others_lowercase,
                };
                scanner.text_at_depth(field, &decoded, depth + 1);
                let Some(worst) = inner.iter().map(|f| f.severity).max() else { continue };
                let rules: Vec<&str> = inner.iter().map(|f| f.rule.as_str()).collect();
                self.push(
                    "encoded-payload",
                    worst.max(Severity::High),
                    field,
                    found.as_str(),
                    format!(
                        "{} text that decodes to {:?} ({})",
                        encoding.name(),
                        truncate(&decoded, 120),
                        rules.join(", ")
                    ),
                );
            }
        }
    }

    pub(super) fn schema(&mut self, path: &str, schema: &Map<String, Value>, depth: usize, input: bool) {
        if depth > MAX_SCHEMA_DEPTH {
            self.push(
                "schema-depth",
                Severity::Low,
                path,
                "",
                format!("schema nests deeper than {MAX_SCHEMA_DEPTH} levels"),
            );
            return;
        }
        for key in ["title", "description"] {
            if let Some(text) = schema.get(key).and_then(Value::as_str) {
                self.text(&format!("{path}.{key}"), text);
            }
        }
        for key in ["default", "const", "enum", "examples"] {
            if let Some(value) = schema.get(key) {
                let mut strings = Vec::new();
                collect_strings(value, &mut strings);
                for (i, s) in strings.iter().enumerate() {
                    let field = if strings.len() == 1 {
                        format!("{path}.{key}")
                    } else {
                        format!("{path}.{key}[{i}]")
                    };
                    self.in_value = true;
                    self.text(&field, s);
                    self.in_value = false;
                }
            }
        }
        let is_object = schema.get("type").and_then(Value::as_str) == Some("object");
        let properties = schema.get("properties").and_then(Value::as_object);
        if input && is_object && depth > 0 && properties.is_none_or(Map::is_empty) {
            let additional = schema.get("additionalProperties");
            if !matches!(additional, Some(Value::Bool(false)))
                && !matches!(additional, Some(Value::Object(_)))
            {
                self.push(
                    "schema-free-form",
                    Severity::Low,
                    path,
                    "",
                    "a free-form object: the model may put anything here".into(),
                );
            }
        }
        if let Some(properties) = properties {
            for (name, property) in properties {
                let field = format!("{path}.properties.{name}");
                self.name(&field, name);
                if input && depth == 0 {
                    self.parameter_name(&field, name);
                }
                if let Value::Object(property) = property {
                    self.schema(&field, property, depth + 1, input);
                }
            }
        }
        for key in ["items", "additionalProperties"] {
            if let Some(Value::Object(inner)) = schema.get(key) {
                self.schema(&format!("{path}.{key}"), inner, depth + 1, input);
            }
        }
        for key in ["anyOf", "oneOf", "allOf", "prefixItems"] {
            for (i, inner) in schema.get(key).and_then(Value::as_array).into_iter().flatten().enumerate() {
                if let Value::Object(inner) = inner {
                    self.schema(&format!("{path}.{key}[{i}]"), inner, depth + 1, input);
                }
            }
        }
    }

    fn parameter_name(&mut self, field: &str, name: &str) {
        let key = name.to_lowercase().replace('-', "_");
        if EXFILTRATION_PARAMETERS.contains(&key.as_str()) {
            // A prompt-testing tool's `system_prompt` is its subject; a
            // calculator's is a channel out.
            let subject =
                key.split('_').filter(|part| part.len() > 3).any(|part| self.purpose.contains(part));
            self.push(
                "suspicious-parameter",
                if subject { Severity::Low } else { Severity::Medium },
                field,
                name,
                "a parameter named for the model's context or notes, a known exfiltration channel".into(),
            );
        } else if SECRET_PARAMETERS.contains(&key.as_str()) {
            self.push(
                "secret-parameter",
                Severity::Low,
                field,
                name,
                "a secret passed through the model; grant it as a host-injected secret instead".into(),
            );
        }
    }

    pub(super) fn annotations(&mut self, annotations: &Map<String, Value>) {
        let flag = |key: &str| annotations.get(key).and_then(Value::as_bool);
        if flag("readOnlyHint") == Some(true) && flag("destructiveHint") == Some(true) {
            self.push(
                "annotation-contradiction",
                Severity::Medium,
                "annotations",
                "readOnlyHint: true, destructiveHint: true",
                "claims to be read-only and destructive at once".into(),
            );
        }
        static DESTRUCTIVE_VERB: std::sync::LazyLock<Regex> = std::sync::LazyLock::new(|| {
            Regex::new(r"(?i)(?:^|[._-])(?:delete|remove|drop|destroy|wipe|erase|purge|truncate|kill)")
                .expect("valid regex")
        });
        if flag("readOnlyHint") == Some(true) && DESTRUCTIVE_VERB.is_match(self.tool_name) {
            self.push(
                "annotation-misleading",
                Severity::Medium,
                "annotations.readOnlyHint",
                self.tool_name,
                "the name says it changes or deletes things, the annotation says read-only".into(),
            );
        }
    }
}

enum ToolRef {
    Sibling,
    Other(String),
    UnknownToolLike,
    NotATool,
}

pub(super) fn collect_strings(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|v| collect_strings(v, out)),
        Value::Object(map) => map.values().for_each(|v| collect_strings(v, out)),
        _ => {}
    }
}

/// `word` in `haystack` as a whole tool name: not inside a longer name.
/// (Plain search, no regex: this runs for every other tool on every string.)
fn find_word(haystack: &str, word: &str) -> Option<std::ops::Range<usize>> {
    find_delimited(
        haystack,
        word,
        |before| !is_name_char(before) && before != '.',
        |after| !is_name_char(after),
    )
}

/// `short` quoted (`'name'`, `` `name` ``, `"name"`) or followed by " tool".
fn find_quoted_or_tool(haystack: &str, short: &str) -> Option<std::ops::Range<usize>> {
    let quote = |c: char| matches!(c, '`' | '\'' | '"');
    find_delimited(haystack, short, quote, quote).or_else(|| {
        let with_tool = format!("{short} tool");
        find_delimited(haystack, &with_tool, |c| !is_name_char(c), |c| !c.is_alphanumeric())
            .map(|r| r.start..r.start + short.len())
    })
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

fn find_delimited(
    haystack: &str,
    needle: &str,
    before_ok: impl Fn(char) -> bool,
    after_ok: impl Fn(char) -> bool,
) -> Option<std::ops::Range<usize>> {
    if needle.is_empty() {
        return None;
    }
    haystack.match_indices(needle).map(|(start, _)| start..start + needle.len()).find(|range| {
        let before = haystack[..range.start].chars().next_back();
        let after = haystack[range.end..].chars().next();
        before.is_none_or(&before_ok) && after.is_none_or(&after_ok)
    })
}

fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let cut: String = text.chars().take(max).collect();
    format!("{cut}…")
}

#[derive(Debug, Clone, Copy)]
enum Encoding {
    Base64,
    Hex,
    Percent,
    UnicodeEscape,
}

impl Encoding {
    fn name(self) -> &'static str {
        match self {
            Encoding::Base64 => "base64",
            Encoding::Hex => "hex",
            Encoding::Percent => "percent-encoded",
            Encoding::UnicodeEscape => "\\u-escaped",
        }
    }

    /// The text behind `encoded`, when it decodes to mostly readable text.
    fn decode(self, encoded: &str) -> Option<String> {
        let bytes = match self {
            Encoding::Base64 => {
                let joined: String = encoded.chars().filter(|c| *c != ' ').collect();
                if joined.len() < 16 {
                    return None;
                }
                let trimmed = joined.trim_end_matches('=');
                let engines = [
                    base64::engine::general_purpose::STANDARD_NO_PAD,
                    base64::engine::general_purpose::URL_SAFE_NO_PAD,
                ];
                engines.iter().find_map(|engine| engine.decode(trimmed).ok())?
            }
            Encoding::Hex => {
                let digits: String =
                    encoded.replace("\\x", "").chars().filter(|c| !c.is_whitespace()).collect();
                hex::decode(digits).ok()?
            }
            Encoding::Percent => {
                let mut bytes = Vec::new();
                let mut chars = encoded.bytes();
                while let Some(b) = chars.next() {
                    if b == b'%' {
                        let hi = chars.next()?;
                        let lo = chars.next()?;
                        bytes.push(u8::from_str_radix(std::str::from_utf8(&[hi, lo]).ok()?, 16).ok()?);
                    } else {
                        bytes.push(b);
                    }
                }
                bytes
            }
            Encoding::UnicodeEscape => {
                let text: Option<String> = encoded
                    .split("\\u")
                    .filter(|s| !s.is_empty())
                    .map(|h| u32::from_str_radix(h, 16).ok().and_then(char::from_u32))
                    .collect();
                return text.filter(|t| readable(t));
            }
        };
        let text = String::from_utf8(bytes).ok()?;
        readable(&text).then_some(text)
    }
}

/// Mostly letters, digits, spaces and punctuation: text, not binary.
fn readable(text: &str) -> bool {
    let total = text.chars().count();
    let printable = text.chars().filter(|c| !c.is_control() || c.is_whitespace()).count();
    total >= 6 && printable * 10 >= total * 9 && text.chars().any(char::is_alphabetic)
}
