//! Clauses and what surrounds a match in one: where a clause ends, what
//! was read of it before a position, and whether a position is denied,
//! quoted as an example, or a verb with a subject of its own.

use std::ops::Range;
use std::sync::LazyLock;

use regex::Regex;

use super::words::{NEGATION, re};

/// Where a clause ends: a sentence end followed by a space, a line break,
/// a dash between spaces.
pub(super) static CLAUSE_END: LazyLock<Regex> = LazyLock::new(|| re(r"[.!?;:]\s+|[。！？；\n]+|\s-\s"));

/// Clauses of `text`: split at sentence ends and at line breaks, never
/// inside a path or a domain (a dot must be followed by a space).
pub(super) fn clauses(text: &str) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut start = 0;
    for end in CLAUSE_END.find_iter(text) {
        if end.start() > start {
            out.push(start..end.end());
        }
        start = end.end();
    }
    if start < text.len() {
        out.push(start..text.len());
    }
    out
}

/// The text of `text`'s clause up to `at`: what a reader has read of the
/// sentence when they reach `at`.
pub fn clause_before(text: &str, at: usize) -> &str {
    let at = (0..=at.min(text.len())).rev().find(|i| text.is_char_boundary(*i)).unwrap_or(0);
    let start = CLAUSE_END.find_iter(&text[..at]).last().map_or(0, |end| end.end());
    &text[start..at]
}

/// Whether what stands at `at` is denied ("do not include ... API keys",
/// "never returned"), quoted as an example ("e.g. `Fill in the password`",
/// a JSON example), or inside a fenced code block: a description of data,
/// not a request for it.
pub fn denied_or_example(text: &str, at: usize) -> bool {
    let before = clause_before(text, at);
    let fenced = text[..at.min(text.len())].matches("```").count() % 2 == 1;
    let quoted = before.matches('"').count() % 2 == 1;
    static EXAMPLE: LazyLock<Regex> =
        LazyLock::new(|| re(r"\b(?:e\.g\.|i\.e\.|ie:|for example|for instance|example:|examples:|such as)"));
    // "Example: Fill username, password": the label ends a clause of its own.
    let mut lead = at.saturating_sub(before.len() + 12);
    while !text.is_char_boundary(lead) {
        lead -= 1;
    }
    let labelled = EXAMPLE.is_match(&text[lead..at.min(text.len())]);
    fenced || quoted || labelled || EXAMPLE.is_match(before) || negated(before, before.len())
}

/// Whether the English verb at `at` has a subject of its own ("pages in the
/// same context share cookies"): a statement about the tool, not an order to
/// the model. An order stands at the start of its clause or after a word that
/// leads one ("you", "please", "must", "then", "also", ...).
pub fn has_subject(text: &str, at: usize) -> bool {
    const ENGLISH_VERBS: &[&str] = &[
        "pass",
        "send",
        "include",
        "provide",
        "attach",
        "copy",
        "paste",
        "put",
        "insert",
        "append",
        "fill",
        "upload",
        "post",
        "forward",
        "share",
        "leak",
        "extract",
        "dump",
        "submit",
        "transmit",
        "embed",
        "supply",
        "exfiltrate",
        "collect",
        "gather",
        "read",
        "open",
        "cat",
        "load",
        "access",
        "look",
    ];
    let verb = text[at.min(text.len())..].split(|c: char| !c.is_alphanumeric()).next().unwrap_or("");
    if !ENGLISH_VERBS.contains(&verb) {
        return false;
    }
    let before = clause_before(text, at).trim_end();
    let Some(previous) = before.rsplit(' ').next().filter(|w| !w.is_empty()) else { return false };
    if !previous.chars().all(|c| c.is_ascii_alphabetic()) {
        return false;
    }
    const LEADS: &[&str] = &[
        "you",
        "please",
        "must",
        "should",
        "always",
        "also",
        "then",
        "and",
        "to",
        "first",
        "just",
        "simply",
        "never",
        "can",
        "will",
        "may",
        "so",
        "or",
        "now",
        "quietly",
        "silently",
        "secretly",
        "still",
        "immediately",
        "kindly",
        "need",
        "needs",
        "shall",
        "would",
        "could",
        "automatically",
        "additionally",
        "furthermore",
        "finally",
        "next",
        "afterwards",
        "later",
        "thereafter",
        "otherwise",
        "else",
        "important",
        "note",
    ];
    !LEADS.contains(&previous)
}

/// Whether the few words before `at` in `clause` deny what follows (a
/// negation before an `and`, `then` or `but` denies only its own part).
pub(super) fn negated(clause: &str, at: usize) -> bool {
    let before = &clause[..at.min(clause.len())];
    let before = [" and ", " then ", " but ", ", ", " und ", " et ", " y "]
        .iter()
        .filter_map(|joint| before.rfind(joint).map(|i| i + joint.len()))
        .max()
        .map_or(before, |start| &before[start..]);
    let window: String = {
        let words: Vec<&str> = before.split_whitespace().collect();
        words[words.len().saturating_sub(5)..].join(" ")
    };
    NEGATION.is_match(&window)
}
