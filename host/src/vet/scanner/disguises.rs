//! Text that hides what it says: invisible and look-alike characters, and
//! encoded payloads (base64, hex, percent, `\u` escapes), decoded and
//! read again.

use base64::Engine as _;
use regex::Regex;

use super::{MAX_DECODE_DEPTH, Scanner, truncate};
use crate::findings::Severity;
use crate::vet::text::{Invisible, homoglyph_words, invisible_runs};

impl Scanner<'_> {
    pub(super) fn disguises(&mut self, field: &str, text: &str, depth: usize) {
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

    /// Base64, hex, percent and `\u` escapes that decode to text are decoded
    /// and read again; what they hide is reported on the encoded span.
    pub(super) fn encoded(&mut self, field: &str, text: &str, depth: usize) {
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
                    learned: None,
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
