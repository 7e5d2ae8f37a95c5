//! `vet`'s reading of text, on arbitrary Unicode: the normalisation (NFKC,
//! lowercase, invisibles out, look-alikes mapped back) whose every byte must
//! point into the original at a character boundary; the runs of invisible
//! characters and words of look-alikes; the undoing of disguises (base64,
//! hex, percent and `\u` escapes, tag characters, ROT13, leetspeak,
//! spacing); and the rules over all of it, as for a description and as for
//! a tool's output. Never a panic; every finding says what and why.

use moat::vet::text::{Normalized, deobfuscated_variants, homoglyph_words, invisible_runs, make_visible};
use moat::vet::{Context, vet_output, vet_text};

pub fn check(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let on_boundary = |range: &std::ops::Range<usize>| {
        range.start <= range.end
            && range.end <= text.len()
            && text.is_char_boundary(range.start)
            && text.is_char_boundary(range.end)
    };

    let normalized = Normalized::new(&text);
    for start in 0..normalized.text.len().min(64) {
        let range = normalized.original_range(start..normalized.text.len());
        assert!(on_boundary(&range), "{range:?} is not a range of {text:?}");
    }
    for run in invisible_runs(&text) {
        assert!(on_boundary(&run.range), "invisible run {:?} in {text:?}", run.range);
    }
    for word in homoglyph_words(&text) {
        assert!(on_boundary(&word.range), "look-alike word {:?} in {text:?}", word.range);
    }
    let visible = make_visible(&text);
    assert!(invisible_runs(&visible).is_empty(), "{visible:?} still hides characters");
    let _ = deobfuscated_variants(&normalized.text);

    let context =
        Context { siblings: vec!["fuzz.tool".into()], others: vec!["mail.send".into()], vocabulary: vec![] };
    for finding in
        vet_text("description", &text, &context).into_iter().chain(vet_output("output", &text, &context))
    {
        assert!(!finding.rule.is_empty() && !finding.message.is_empty(), "{finding:?}");
        assert!(
            finding.field.starts_with("description") || finding.field.starts_with("output"),
            "{finding:?}"
        );
    }
}
