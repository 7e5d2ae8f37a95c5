//! Changes printed as git prints them: `git diff`'s headers (`diff --git`,
//! modes, `index`, renames) and unified hunks with git's rules, computed
//! with imara-diff's Myers and git's indent heuristic: changes closer than
//! twice the context share a hunk, a hunk header names the nearest line
//! above it that starts like a definition, and a last line without a
//! newline is marked.

use std::fmt::Write;

use imara_diff::{Algorithm, Diff, InternedInput};

use crate::changes::{FileChange, Side};

/// Hex digits of an abbreviated object id in an `index` line (git's
/// `core.abbrev` for a repository of fewer than 2^28 objects).
const ABBREV: usize = 7;

/// Bytes of a file git looks at for a NUL to call it binary.
const BINARY_PROBE: usize = 8000;

/// Longest function-context text after `@@ ... @@`, as xdiff's buffer.
const FUNCTION_CONTEXT: usize = 80;

/// `path` as git writes it in its output (`core.quotePath`, on by default):
/// as it is, or in double quotes with C escapes when it holds a control
/// character, a quote, a backslash or any byte outside ASCII.
pub fn quote(path: &str) -> String {
    let needs = |b: u8| b < 0x20 || b == b'"' || b == b'\\' || b >= 0x7f;
    if !path.bytes().any(needs) {
        return path.to_string();
    }
    let mut out = String::from("\"");
    for byte in path.bytes() {
        match byte {
            0x07 => out.push_str("\\a"),
            0x08 => out.push_str("\\b"),
            b'\t' => out.push_str("\\t"),
            b'\n' => out.push_str("\\n"),
            0x0b => out.push_str("\\v"),
            0x0c => out.push_str("\\f"),
            b'\r' => out.push_str("\\r"),
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            byte if needs(byte) => {
                let _ = write!(out, "\\{byte:03o}");
            }
            byte => out.push(byte as char),
        }
    }
    out.push('"');
    out
}

/// A side's name in a patch: `a/PATH` or `b/PATH` quoted as git quotes it,
/// or `/dev/null` for a side that does not exist.
fn name(side: Option<&Side>, prefix: &str) -> String {
    side.map(|s| quote(&format!("{prefix}{}", s.path))).unwrap_or_else(|| "/dev/null".into())
}

/// `git diff --unified=CONTEXT` of `files`, as GitPython returns it: the
/// last newline stripped.
pub fn git_diff(files: &[FileChange], context: usize) -> String {
    let mut out = String::new();
    for file in files {
        file_header(&mut out, file);
        let (old, new) = (file.old.as_ref(), file.new.as_ref());
        let old_data = old.map(|side| side.data.as_slice()).unwrap_or_default();
        let new_data = new.map(|side| side.data.as_slice()).unwrap_or_default();
        if old.map(|side| side.id) == new.map(|side| side.id) {
            continue;
        }
        if is_binary(old_data) || is_binary(new_data) {
            let _ = writeln!(out, "Binary files {} and {} differ", name(old, "a/"), name(new, "b/"));
            continue;
        }
        let hunks = hunks(old_data, new_data, context);
        if !hunks.is_empty() {
            let _ = writeln!(out, "--- {}", name(old, "a/"));
            let _ = writeln!(out, "+++ {}", name(new, "b/"));
            out.push_str(&hunks);
        }
    }
    if out.ends_with('\n') {
        out.pop();
    }
    out
}

/// `diff --git` and the extended header lines of one file.
fn file_header(out: &mut String, file: &FileChange) {
    let (a, b) = match (&file.old, &file.new) {
        (Some(old), Some(new)) => (old, new),
        (Some(old), None) => (old, old),
        (None, Some(new)) => (new, new),
        (None, None) => return,
    };
    let _ =
        writeln!(out, "diff --git {} {}", quote(&format!("a/{}", a.path)), quote(&format!("b/{}", b.path)));
    match (&file.old, &file.new) {
        (None, Some(new)) => {
            let _ = writeln!(out, "new file mode {:o}", new.mode);
            let _ = writeln!(out, "index {}..{}", zeros(), short(new));
        }
        (Some(old), None) => {
            let _ = writeln!(out, "deleted file mode {:o}", old.mode);
            let _ = writeln!(out, "index {}..{}", short(old), zeros());
        }
        (Some(old), Some(new)) => {
            if old.path != new.path {
                let _ = writeln!(out, "similarity index 100%");
                let _ = writeln!(out, "rename from {}", quote(&old.path));
                let _ = writeln!(out, "rename to {}", quote(&new.path));
            }
            if old.mode != new.mode {
                let _ = writeln!(out, "old mode {:o}", old.mode);
                let _ = writeln!(out, "new mode {:o}", new.mode);
                if old.id != new.id {
                    let _ = writeln!(out, "index {}..{}", short(old), short(new));
                }
            } else if old.id != new.id {
                let _ = writeln!(out, "index {}..{} {:o}", short(old), short(new), new.mode);
            }
        }
        (None, None) => {}
    }
}

/// The patch body GitPython keeps for one file of a commit (`git show`):
/// the hunks with three lines of context, or git's binary line.
pub fn body(file: &FileChange) -> String {
    let old = file.old.as_ref().map(|side| side.data.as_slice()).unwrap_or_default();
    let new = file.new.as_ref().map(|side| side.data.as_slice()).unwrap_or_default();
    if file.old.as_ref().map(|s| s.id) == file.new.as_ref().map(|s| s.id) {
        return String::new();
    }
    if is_binary(old) || is_binary(new) {
        return format!(
            "Binary files {} and {} differ\n",
            name(file.old.as_ref(), "a/"),
            name(file.new.as_ref(), "b/")
        );
    }
    hunks(old, new, 3)
}

/// git's test for a binary file: a NUL among its first 8000 bytes.
pub fn is_binary(data: &[u8]) -> bool {
    data[..data.len().min(BINARY_PROBE)].contains(&0)
}

fn short(side: &Side) -> String {
    side.id.to_hex_with_len(ABBREV).to_string()
}

fn zeros() -> String {
    "0".repeat(ABBREV)
}

/// The unified hunks from `old` to `new`, each line as git writes it.
pub fn hunks(old: &[u8], new: &[u8], context: usize) -> String {
    let input = InternedInput::new(old, new);
    let mut diff = Diff::compute(Algorithm::Myers, &input);
    diff.postprocess_lines(&input);
    let changes: Vec<_> = diff.hunks().collect();
    let before: Vec<&[u8]> = input.before.iter().map(|&token| input.interner[token]).collect();
    let after: Vec<&[u8]> = input.after.iter().map(|&token| input.interner[token]).collect();
    let mut out = String::new();
    let mut at = 0;
    while at < changes.len() {
        // Changes whose gap is at most twice the context share a hunk.
        let mut last = at;
        while last + 1 < changes.len()
            && (changes[last + 1].before.start - changes[last].before.end) as usize <= 2 * context
        {
            last += 1;
        }
        let first = &changes[at];
        let old_start = (first.before.start as usize).saturating_sub(context);
        let new_start = (first.after.start as usize).saturating_sub(context);
        let old_end = (changes[last].before.end as usize + context).min(before.len());
        let new_end = (changes[last].after.end as usize + context).min(after.len());
        let _ = write!(
            out,
            "@@ -{} +{} @@",
            range(old_start, old_end - old_start),
            range(new_start, new_end - new_start)
        );
        if let Some(name) = function_context(&before, old_start) {
            let _ = write!(out, " {name}");
        }
        out.push('\n');
        let mut old_line = old_start;
        for change in &changes[at..=last] {
            while old_line < change.before.start as usize {
                line(&mut out, ' ', before[old_line]);
                old_line += 1;
            }
            for index in change.before.clone() {
                line(&mut out, '-', before[index as usize]);
            }
            for index in change.after.clone() {
                line(&mut out, '+', after[index as usize]);
            }
            old_line = change.before.end as usize;
        }
        while old_line < old_end {
            line(&mut out, ' ', before[old_line]);
            old_line += 1;
        }
        at = last + 1;
    }
    out
}

/// A hunk header's range: `start,count`, the count left out when it is one,
/// and the start the line before when it is zero.
fn range(start: usize, count: usize) -> String {
    match count {
        0 => format!("{start},0"),
        1 => format!("{}", start + 1),
        _ => format!("{},{count}", start + 1),
    }
}

/// The nearest line above line `start` of the old file that begins with a
/// letter, `_` or `$` (git's default function-context rule), cut to 80
/// bytes and without trailing whitespace.
fn function_context(lines: &[&[u8]], start: usize) -> Option<String> {
    lines[..start].iter().rev().find_map(|line| {
        let first = *line.first()?;
        if !(first.is_ascii_alphabetic() || first == b'_' || first == b'$') {
            return None;
        }
        let mut text = &line[..line.len().min(FUNCTION_CONTEXT)];
        while let Some((last, rest)) = text.split_last() {
            if !last.is_ascii_whitespace() {
                break;
            }
            text = rest;
        }
        Some(String::from_utf8_lossy(text).into_owned())
    })
}

/// One line of a hunk, with git's mark for a missing final newline.
fn line(out: &mut String, mark: char, text: &[u8]) {
    out.push(mark);
    match text.strip_suffix(b"\n") {
        Some(text) => {
            out.push_str(&String::from_utf8_lossy(text));
            out.push('\n');
        }
        None => {
            out.push_str(&String::from_utf8_lossy(text));
            out.push_str("\n\\ No newline at end of file\n");
        }
    }
}
