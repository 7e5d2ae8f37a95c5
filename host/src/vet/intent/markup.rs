//! Blocks of markup in definition text: elements, comments, bracketed and
//! templated blocks, fenced blocks labelled for the model, hidden styling.

use std::ops::Range;
use std::sync::LazyLock;

use regex::Regex;

use super::words::re;

/// What kind of markup block holds a text.
pub(super) enum Block<'a> {
    /// Not rendered, or rendered as boilerplate: comments, `[NAME]`,
    /// `{{#name}}`, a fenced block labelled for the model.
    Unshown,
    /// An element, with its tag name.
    Element(&'a str),
}

/// Element names that address the model or claim to be out of the user's view.
pub(super) static SUSPICIOUS_ELEMENT: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"^(?:system\S*|important|instructions?|secret|hidden|internal|admin|assistant\S*|ai|llm|model|prompt|context|override|critical|policy|note|指示|指令|系统|システム|命令)$",
    )
});

/// Blocks of markup and what they hold: an element (`<name ...>…</name>`),
/// a bracketed or templated block (`[NAME]…[/NAME]`, `{{#name}}…{{/name}}`),
/// a fenced block labelled for the model, an HTML comment. Each is the byte
/// range of the whole block.
pub(super) fn markup_blocks(text: &str) -> Vec<(Range<usize>, Block<'_>)> {
    static OPENING: LazyLock<Regex> =
        LazyLock::new(|| re(r"<([\p{L}_][\p{L}0-9_-]*)[^>]*>|\[([a-z_ ]{3,20})\]|\{\{#\s*([a-z_]+)\s*\}\}"));
    static WHOLE: LazyLock<Regex> = LazyLock::new(|| {
        re(
            r"```(?:system|hidden|assistant|instructions?|internal|ai|llm|prompt|secret)\b.+?(?:```|$)|<!--.+?-->",
        )
    });
    let mut blocks: Vec<(Range<usize>, Block)> =
        WHOLE.find_iter(text).map(|m| (m.range(), Block::Unshown)).collect();
    for opening in OPENING.captures_iter(text) {
        let whole = opening.get(0).expect("group 0 always matches");
        let (closing, kind) = if let Some(name) = opening.get(1) {
            (format!("</{}", name.as_str()), Block::Element(name.as_str()))
        } else if let Some(name) = opening.get(2) {
            (format!("[/{}]", name.as_str()), Block::Unshown)
        } else if let Some(name) = opening.get(3) {
            (format!("{{{{/{}", name.as_str()), Block::Unshown)
        } else {
            continue;
        };
        if let Some(offset) = text[whole.end()..].find(&closing) {
            blocks.push((whole.start()..whole.end() + offset + closing.len(), kind));
        }
    }
    blocks
}

/// Styling that hides text from a rendered view.
pub(super) static STYLE_HIDDEN: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"display\s*:\s*none|visibility\s*:\s*hidden|font-size\s*:\s*0|opacity\s*:\s*0(?:[^.]|$)|color\s*:\s*(?:white|#fff)",
    )
});
