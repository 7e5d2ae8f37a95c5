//! Text utilities as a moat tool: counting, regular expressions, case conversion.

wit_bindgen::generate!({ world: "text", path: "wit" });

use regex::Regex;

/// Patterns longer than this are refused, so a hostile pattern cannot make the
/// regex compiler itself the expensive part.
const MAX_PATTERN: usize = 4096;

struct Text;

fn compile(pattern: &str) -> Result<Regex, String> {
    if pattern.len() > MAX_PATTERN {
        return Err(format!("pattern is longer than {MAX_PATTERN} bytes"));
    }
    Regex::new(pattern).map_err(|e| e.to_string())
}

fn clamp(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Splits text into words for case conversion: on non-alphanumerics and at
/// lower→upper boundaries (`helloWorld` → `hello`, `World`).
fn words(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut previous_lower = false;
    for c in text.chars() {
        if !c.is_alphanumeric() {
            if !current.is_empty() {
                out.push(std::mem::take(&mut current));
            }
            previous_lower = false;
            continue;
        }
        if c.is_uppercase() && previous_lower && !current.is_empty() {
            out.push(std::mem::take(&mut current));
        }
        previous_lower = c.is_lowercase() || c.is_numeric();
        current.push(c);
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

fn capitalise(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars.flat_map(char::to_lowercase)).collect(),
        None => String::new(),
    }
}

impl Guest for Text {
    fn word_count(text: String) -> Counts {
        Counts {
            characters: clamp(text.chars().count()),
            words: clamp(text.split_whitespace().count()),
            lines: clamp(text.lines().count()),
            bytes: clamp(text.len()),
        }
    }

    fn regex_find(pattern: String, text: String, max_matches: Option<u32>) -> Result<Vec<Found>, String> {
        let regex = compile(&pattern)?;
        let limit = max_matches.map_or(usize::MAX, |n| n as usize);
        Ok(regex
            .find_iter(&text)
            .take(limit)
            .map(|m| Found { start: clamp(m.start()), end: clamp(m.end()), text: m.as_str().to_string() })
            .collect())
    }

    fn regex_replace(pattern: String, text: String, replacement: String) -> Result<String, String> {
        Ok(compile(&pattern)?.replace_all(&text, replacement.as_str()).into_owned())
    }

    fn change_case(text: String, to: LetterCase) -> String {
        let words = words(&text);
        let lower = || words.iter().map(|w| w.to_lowercase());
        match to {
            LetterCase::Upper => text.to_uppercase(),
            LetterCase::Lower => text.to_lowercase(),
            LetterCase::Title => words.iter().map(|w| capitalise(w)).collect::<Vec<_>>().join(" "),
            LetterCase::Snake => lower().collect::<Vec<_>>().join("_"),
            LetterCase::Kebab => lower().collect::<Vec<_>>().join("-"),
            LetterCase::Camel => words
                .iter()
                .enumerate()
                .map(|(i, w)| if i == 0 { w.to_lowercase() } else { capitalise(w) })
                .collect(),
        }
    }
}

export!(Text);
