//! Literal gates for the phrase rules: one Aho-Corasick pass over a text says
//! which rule patterns could match it, and only those are run.
//!
//! Owns: deriving each pattern's gate from the pattern itself, and the pass.
//! Most of the cost of scanning ordinary text (a tool's 20 KB JSON result) was
//! patterns such as "a verb that sends, then within 80 characters a secret":
//! their leading alternations are too large for the regex engine's own
//! prefilter, so each pattern walked the whole text with its DFA, once per
//! de-obfuscation variant.
//!
//! A gate is derived, never written by hand, so it cannot drift from its rule.
//! It is a set of literals such that every match of the pattern contains one:
//! the prefix literals (regex-syntax's extractor) of a part the pattern cannot
//! match without. A part of a concatenation is needed by every match; so is
//! the body of a repetition of at least one; an alternation is gated by the
//! union of its branches' gates, and only when every branch has one. A pattern
//! with no such part, or only short literals, has no gate and always runs.
//! Gates only ever skip work: the rules that run, run unchanged.

use std::collections::HashMap;

use aho_corasick::{AhoCorasick, AhoCorasickKind};
use regex_syntax::hir::literal::{Extractor, Seq};
use regex_syntax::hir::{Hir, HirKind};

/// Shorter literals occur in too much ordinary text to be worth a gate.
const MIN_LITERAL_LEN: usize = 3;

/// More literals than this make the automaton large for little gain.
const MAX_LITERALS: usize = 400;

/// The gates of a list of patterns, in one automaton.
#[derive(Debug)]
pub struct Gates {
    automaton: AhoCorasick,
    /// For each literal of the automaton, the patterns it opens.
    opens: Vec<Vec<usize>>,
    /// Patterns with no gate: always open.
    ungated: Vec<usize>,
    patterns: usize,
}

impl Gates {
    /// Gates for `patterns` (regex source text), indexed as given.
    pub fn new<'a>(patterns: impl IntoIterator<Item = &'a str>) -> Gates {
        let mut literals: Vec<Vec<u8>> = Vec::new();
        let mut index_of: HashMap<Vec<u8>, usize> = HashMap::new();
        let mut opens: Vec<Vec<usize>> = Vec::new();
        let mut ungated = Vec::new();
        let mut count = 0;
        for (id, pattern) in patterns.into_iter().enumerate() {
            count += 1;
            let gate = regex_syntax::parse(pattern).ok().and_then(|hir| gate(&hir));
            let Some(gate) = gate else {
                ungated.push(id);
                continue;
            };
            for literal in gate {
                match index_of.get(&literal) {
                    Some(&index) => opens[index].push(id),
                    None => {
                        index_of.insert(literal.clone(), literals.len());
                        literals.push(literal);
                        opens.push(vec![id]);
                    }
                }
            }
        }
        // A DFA over these ~2,400 literals scans a little faster and takes
        // 19 MB; the contiguous NFA takes 0.4 MB.
        let automaton = AhoCorasick::builder()
            .kind(Some(AhoCorasickKind::ContiguousNFA))
            .build(&literals)
            .expect("literal gates build an automaton");
        Gates { automaton, opens, ungated, patterns: count }
    }

    /// Which patterns could match `text`: `open[id]` is false only when the
    /// pattern cannot match.
    pub fn open(&self, text: &str) -> Vec<bool> {
        let mut open = vec![false; self.patterns];
        for &id in &self.ungated {
            open[id] = true;
        }
        for found in self.automaton.find_overlapping_iter(text) {
            for &id in &self.opens[found.pattern().as_usize()] {
                open[id] = true;
            }
        }
        open
    }
}

/// Literals one of which every match of `hir` contains, if there is a usable set.
fn gate(hir: &Hir) -> Option<Vec<Vec<u8>>> {
    let mut candidates: Vec<Vec<Vec<u8>>> = Vec::new();
    if let Some(whole) = usable(Extractor::new().extract(hir)) {
        candidates.push(whole);
    }
    match hir.kind() {
        HirKind::Concat(parts) => candidates.extend(parts.iter().filter_map(gate)),
        HirKind::Alternation(branches) => {
            let mut union = Vec::new();
            for branch in branches {
                union.extend(gate(branch)?);
            }
            union.sort();
            union.dedup();
            if union.len() <= MAX_LITERALS {
                candidates.push(union);
            }
        }
        HirKind::Capture(capture) => candidates.extend(gate(&capture.sub)),
        HirKind::Repetition(repetition) if repetition.min >= 1 => candidates.extend(gate(&repetition.sub)),
        _ => {}
    }
    // Longer literals are rarer in ordinary text; then fewer of them.
    candidates.into_iter().max_by_key(|literals| {
        let shortest = literals.iter().map(Vec::len).min().unwrap_or(0);
        (shortest.min(8), std::cmp::Reverse(literals.len()))
    })
}

/// The literals of a finite sequence, when all are long enough and few enough.
fn usable(seq: Seq) -> Option<Vec<Vec<u8>>> {
    let literals = seq.literals()?;
    if literals.is_empty() || literals.len() > MAX_LITERALS {
        return None;
    }
    if literals.iter().any(|literal| literal.len() < MIN_LITERAL_LEN) {
        return None;
    }
    Some(literals.iter().map(|literal| literal.as_bytes().to_vec()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open(patterns: &[&str], text: &str) -> Vec<bool> {
        Gates::new(patterns.iter().copied()).open(text)
    }

    #[test]
    fn a_pattern_runs_only_when_a_part_it_needs_is_in_the_text() {
        let patterns = [r"\b(?:send|pass)\b.{0,80}?\bpassword\b", r"(?:ignore|forget) (?:previous|prior)"];
        assert_eq!(open(&patterns, "records and numbers"), [false, false]);
        assert_eq!(open(&patterns, "the password is long"), [true, false]);
        assert_eq!(open(&patterns, "please forget prior art"), [false, true]);
    }

    #[test]
    fn an_alternation_is_gated_only_when_every_branch_is() {
        // The branch `\w+` has no literals, so the first pattern always runs;
        // `\w+_token` needs `_token`, so the second is gated.
        let patterns = [r"(?:api_key|\w+)", r"(?:api_key|\w+_token)"];
        assert_eq!(open(&patterns, "nothing here"), [true, false]);
        assert_eq!(open(&patterns, "a session_token"), [true, true]);
        assert_eq!(open(&patterns, "my api_key"), [true, true]);
    }

    #[test]
    fn optional_parts_and_short_literals_are_not_gates() {
        let patterns = [r"(?:hidden)?\s*x", r"\bab\b"];
        assert_eq!(open(&patterns, "nothing"), [true, true]);
    }
}
