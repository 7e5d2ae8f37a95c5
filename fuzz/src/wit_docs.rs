//! `moat pack` reading WIT: the doc comments of a world's exports become
//! tool metadata. The input is either a whole WIT package or the doc comment
//! of one export inside a fixed world; never a panic.

use moat::pack;

pub fn check(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else { return };
    let Ok(text) = std::str::from_utf8(rest) else { return };
    let source = if mode % 2 == 0 {
        text.to_string()
    } else {
        let docs: String = text.lines().map(|line| format!("    /// {line}\n")).collect();
        format!(
            "package fuzz:tools@0.1.0;\n\ninterface api {{\n{docs}    run: func(path: string, count: u32) -> string;\n}}\n\nworld tools {{\n{docs}    export go: func(text: string) -> u32;\n    export api;\n}}\n"
        )
    };
    // wit-parser 0.254 panics on an empty block doc comment where it should
    // answer an error: `pack` turns that panic into an error (its unit test
    // tries it), which libFuzzer's panic hook would not let it do here.
    if source.contains("/**/") {
        return;
    }
    let _ = pack::metadata_from_wit_source(&source, None);
}
