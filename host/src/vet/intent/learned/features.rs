//! What the learned model sees of one clause: its words (stems and pairs of
//! stems in Latin scripts, characters and pairs of characters in CJK), the
//! word families of [`super::super::words`] it holds and every pair of them,
//! and where it stands (a tool's description or a parameter's, first clause
//! or later). Features are names; the model weighs each name it was trained
//! on and ignores the rest.

use std::ops::Range;

use super::super::Frame;
use super::super::words::*;

/// How many characters of a Latin word are kept: enough to tell words
/// apart, few enough that "conceal", "concealed" and "concealing" are one.
const STEM_CHARS: usize = 6;

/// The families a clause is read for, by the name its features carry.
fn families() -> [(&'static str, &'static regex::Regex); 27] {
    [
        ("assistant", &*ASSISTANT),
        ("directive", &*DIRECTIVE),
        ("condition", &*CONDITION),
        ("moves", &*MOVES),
        ("asks-for", &*ASKS_FOR),
        ("secret", &*SECRET),
        ("secret-place", &*SECRET_PLACE),
        ("personal", &*PERSONAL),
        ("context", &*CONTEXT),
        ("conceal", &*CONCEAL),
        ("quiet", &*QUIET),
        ("lie", &*LIE),
        ("external", &*EXTERNAL),
        ("authority", &*AUTHORITY),
        ("ordering", &*ORDERING),
        ("deceive-user", &*DECEIVE_USER),
        ("harmful-advice", &*HARMFUL_ADVICE),
        ("promotion", &*PROMOTION),
        ("generic-other-tool", &*GENERIC_OTHER_TOOL),
        ("route-all", &*ROUTE_ALL),
        ("self-preference", &*SELF_PREFERENCE),
        ("redirect", &*REDIRECT),
        ("destination", &*DESTINATION),
        ("negation", &*NEGATION),
        ("user", &*USER),
        ("telling", &*TELLING),
        ("denial", &*DENIAL),
    ]
}

fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30ff     // Hiragana, Katakana
        | 0x3400..=0x4dbf   // CJK extension A
        | 0x4e00..=0x9fff   // CJK unified ideographs
        | 0xac00..=0xd7af   // Hangul syllables
        | 0xf900..=0xfaff) // CJK compatibility ideographs
}

/// A Latin-script word as the model sees it: identifiers and numbers by
/// their kind, other words by their stem.
fn word_feature(word: &str) -> String {
    if word.contains('_') || word.chars().any(|c| c.is_ascii_digit()) && word.chars().any(char::is_alphabetic)
    {
        "<id>".into()
    } else if word.chars().all(|c| c.is_ascii_digit()) {
        "<n>".into()
    } else {
        word.chars().take(STEM_CHARS).collect()
    }
}

/// Calls `emit` with the name of every feature of `clause`, the clause of
/// normalised text at `range` in `text`.
pub(super) fn features(text: &str, range: Range<usize>, frame: &Frame, mut emit: impl FnMut(&str)) {
    let clause = &text[range.clone()];
    emit("bias");
    let place = if frame.parameter { "parameter" } else { "description" };
    let order = if range.start == 0 { "first" } else { "later" };
    emit(&format!("at:{place}"));
    emit(&format!("at:{order}"));

    // Words and characters.
    let mut previous: Option<String> = None;
    let mut previous_cjk: Option<char> = None;
    let mut word = String::new();
    let flush = |word: &mut String, previous: &mut Option<String>, emit: &mut dyn FnMut(&str)| {
        if word.is_empty() {
            return;
        }
        let stem = word_feature(word);
        emit(&format!("w:{stem}"));
        // The word a clause opens with: an imperative stands there.
        if previous.is_none() {
            emit(&format!("f:{stem}"));
        }
        if let Some(before) = previous.as_ref() {
            emit(&format!("b:{before} {stem}"));
        }
        *previous = Some(stem);
        word.clear();
    };
    for c in clause.chars() {
        if is_cjk(c) {
            flush(&mut word, &mut previous, &mut emit);
            previous = None;
            emit(&format!("c:{c}"));
            if let Some(before) = previous_cjk {
                emit(&format!("c:{before}{c}"));
            }
            previous_cjk = Some(c);
        } else if c.is_alphanumeric() || c == '_' || c == '\'' && !word.is_empty() {
            previous_cjk = None;
            word.push(c);
        } else {
            previous_cjk = None;
            flush(&mut word, &mut previous, &mut emit);
        }
    }
    flush(&mut word, &mut previous, &mut emit);

    // Word families, alone and in pairs, and with where the clause stands.
    let mut held: Vec<&str> =
        families().into_iter().filter(|(_, family)| family.is_match(clause)).map(|(name, _)| name).collect();
    if into_argument(clause).is_some() {
        held.push("into-argument");
    }
    if keeps_from_user(clause).is_some() {
        held.push("keeps-from-user");
    }
    if super::super::foreign_tools(clause, frame).is_some() {
        held.push("foreign-tool");
    }
    for (i, first) in held.iter().enumerate() {
        emit(&format!("s:{first}"));
        emit(&format!("s:{first}@{place}"));
        for second in &held[i + 1..] {
            emit(&format!("p:{first}+{second}"));
        }
    }
    emit(&format!("n:{}", held.len().min(5)));
}

/// A feature's name as a person reads it, for a finding's reason.
pub(super) fn describe(feature: &str) -> String {
    match feature.split_once(':') {
        Some(("w", stem)) => format!("\"{stem}…\""),
        Some(("f", stem)) => format!("a clause opening with \"{stem}…\""),
        Some(("at", place)) => format!("a {place} clause"),
        Some(("b", pair)) => format!("\"{pair}\""),
        Some(("c", chars)) => format!("\"{chars}\""),
        Some(("s", family)) => family.replace('@', " in a "),
        Some(("p", pair)) => pair.replace('+', " with "),
        Some(("n", count)) => format!("{count} word families together"),
        _ => feature.to_string(),
    }
}
