//! References to other components' tools in definition text: which tool a
//! name means, and shadowing (text that tells the model how to use a tool
//! of another component).

use super::Scanner;
use crate::findings::Severity;
use crate::vet::rules::NOT_TOOL_NAMES;
use crate::vet::text::Normalized;

impl Scanner<'_> {
    pub(super) fn classify_tool(&self, name: &str) -> ToolRef {
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
    pub(super) fn other_tools(&mut self, field: &str, original: &str, normalized: &Normalized) {
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
}

pub(super) enum ToolRef {
    Sibling,
    Other(String),
    UnknownToolLike,
    NotATool,
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
