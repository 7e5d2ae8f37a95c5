//! The original's text formats, so that results read the same: Node's
//! error messages (`ENOENT: no such file or directory, open '…'`), sizes as
//! `formatSize` writes them, dates as JavaScript's `Date.toString` in UTC,
//! padding by UTF-16 length, jsdiff's unified diff, and minimatch-style
//! globs (`dot: true`).

use std::io::{Error, ErrorKind};
use std::time::{SystemTime, UNIX_EPOCH};

use similar::{Algorithm, DiffOp};

/// Node's message for a failed file system call.
pub struct NodeError;

impl NodeError {
    fn code(error: &Error) -> Option<(&'static str, &'static str)> {
        Some(match error.kind() {
            ErrorKind::NotFound => ("ENOENT", "no such file or directory"),
            ErrorKind::IsADirectory => ("EISDIR", "illegal operation on a directory"),
            ErrorKind::NotADirectory => ("ENOTDIR", "not a directory"),
            ErrorKind::AlreadyExists => ("EEXIST", "file already exists"),
            ErrorKind::PermissionDenied => ("EACCES", "permission denied"),
            ErrorKind::DirectoryNotEmpty => ("ENOTEMPTY", "directory not empty"),
            ErrorKind::ReadOnlyFilesystem => ("EROFS", "read-only file system"),
            ErrorKind::InvalidFilename => ("ENAMETOOLONG", "name too long"),
            _ => return None,
        })
    }

    /// `CODE: description, SYSCALL 'PATH'`; reading a directory names no path.
    pub fn of(error: &Error, syscall: &str, path: &str) -> String {
        match Self::code(error) {
            Some(("EISDIR", text)) => format!("EISDIR: {text}, read"),
            Some((code, text)) => format!("{code}: {text}, {syscall} '{path}'"),
            None => format!("{error}, {syscall} '{path}'"),
        }
    }

    /// `CODE: description, SYSCALL 'FROM' -> 'TO'`.
    pub fn of2(error: &Error, syscall: &str, from: &str, to: &str) -> String {
        match Self::code(error) {
            Some((code, text)) => format!("{code}: {text}, {syscall} '{from}' -> '{to}'"),
            None => format!("{error}, {syscall} '{from}' -> '{to}'"),
        }
    }
}

/// The original's `formatSize`: `0 B`, `512 B`, `1.50 KB` (JavaScript's
/// `toFixed(2)`, which rounds a tie up, done in integers so it is exact).
pub fn format_size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KB", "MB", "GB", "TB"];
    if bytes == 0 {
        return "0 B".into();
    }
    let mut unit = 0;
    while unit + 1 < UNITS.len() && bytes >= 1024u64.pow(unit as u32 + 1) {
        unit += 1;
    }
    if unit == 0 {
        return format!("{bytes} B");
    }
    let divisor = 1024u128.pow(unit as u32);
    let hundredths = (u128::from(bytes) * 200 + divisor) / (2 * divisor);
    format!("{}.{:02} {}", hundredths / 100, hundredths % 100, UNITS[unit])
}

/// JavaScript's `padEnd`, counting UTF-16 code units.
pub fn pad_end(text: &str, width: usize) -> String {
    let units = text.encode_utf16().count();
    format!("{text}{}", " ".repeat(width.saturating_sub(units)))
}

/// JavaScript's `padStart`, counting UTF-16 code units.
pub fn pad_start(text: &str, width: usize) -> String {
    let units = text.encode_utf16().count();
    format!("{}{text}", " ".repeat(width.saturating_sub(units)))
}

/// JavaScript's `Date.prototype.toString` in UTC (the component has no
/// local zone): `Sun Dec 06 2026 21:40:00 GMT+0000 (Coordinated Universal Time)`.
pub fn js_date(time: SystemTime) -> String {
    let seconds = match time.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_secs() as i64,
        Err(e) => -(e.duration().as_secs_f64().ceil() as i64),
    };
    let days = seconds.div_euclid(86_400);
    let in_day = seconds.rem_euclid(86_400);
    // Howard Hinnant's days-to-civil.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    const WEEKDAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] =
        ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    format!(
        "{} {} {day:02} {year:04} {:02}:{:02}:{:02} GMT+0000 (Coordinated Universal Time)",
        WEEKDAYS[days.rem_euclid(7) as usize],
        MONTHS[(month - 1) as usize],
        in_day / 3600,
        in_day % 3600 / 60,
        in_day % 60
    )
}

/// Lines with their `\n`, as jsdiff splits them.
fn lines_of(text: &str) -> Vec<&str> {
    text.split_inclusive('\n').collect()
}

enum Part<'a> {
    Same(Vec<&'a str>),
    Removed(Vec<&'a str>),
    Added(Vec<&'a str>),
}

/// jsdiff's `createTwoFilesPatch(path, path, old, new, 'original',
/// 'modified')`: its headers, four lines of context, its hunk joining, and
/// `\ No newline at end of file`.
pub fn unified_diff(old: &str, new: &str, path: &str) -> String {
    const CONTEXT: usize = 4;
    let (old_lines, new_lines) = (lines_of(old), lines_of(new));
    let ops = similar::capture_diff_slices(Algorithm::Myers, &old_lines, &new_lines);
    // Each change as its removals, then its additions, as jsdiff orders them.
    let mut parts: Vec<Part> = Vec::new();
    let (mut removed, mut added): (Vec<&str>, Vec<&str>) = (Vec::new(), Vec::new());
    fn flush<'a>(parts: &mut Vec<Part<'a>>, removed: &mut Vec<&'a str>, added: &mut Vec<&'a str>) {
        if !removed.is_empty() {
            parts.push(Part::Removed(std::mem::take(removed)));
        }
        if !added.is_empty() {
            parts.push(Part::Added(std::mem::take(added)));
        }
    }
    for op in ops {
        match op {
            DiffOp::Equal { old_index, len, .. } => {
                flush(&mut parts, &mut removed, &mut added);
                parts.push(Part::Same(old_lines[old_index..old_index + len].to_vec()));
            }
            DiffOp::Delete { old_index, old_len, .. } => {
                removed.extend(&old_lines[old_index..old_index + old_len])
            }
            DiffOp::Insert { new_index, new_len, .. } => {
                added.extend(&new_lines[new_index..new_index + new_len])
            }
            DiffOp::Replace { old_index, old_len, new_index, new_len } => {
                removed.extend(&old_lines[old_index..old_index + old_len]);
                added.extend(&new_lines[new_index..new_index + new_len]);
            }
        }
    }
    flush(&mut parts, &mut removed, &mut added);
    parts.push(Part::Same(Vec::new()));

    struct Hunk {
        old_start: usize,
        old_lines: usize,
        new_start: usize,
        new_lines: usize,
        lines: Vec<String>,
    }
    let mut hunks: Vec<Hunk> = Vec::new();
    let (mut old_range_start, mut new_range_start) = (0usize, 0usize);
    let mut range: Vec<String> = Vec::new();
    let (mut old_line, mut new_line) = (1usize, 1usize);
    let count = parts.len();
    for i in 0..count {
        match &parts[i] {
            Part::Removed(lines) | Part::Added(lines) => {
                let is_added = matches!(parts[i], Part::Added(_));
                if old_range_start == 0 {
                    old_range_start = old_line;
                    new_range_start = new_line;
                    if i > 0 {
                        let previous = match &parts[i - 1] {
                            Part::Same(l) | Part::Removed(l) | Part::Added(l) => l,
                        };
                        let from = previous.len().saturating_sub(CONTEXT);
                        range = previous[from..].iter().map(|l| format!(" {l}")).collect();
                        old_range_start -= range.len();
                        new_range_start -= range.len();
                    }
                }
                let sign = if is_added { '+' } else { '-' };
                range.extend(lines.iter().map(|l| format!("{sign}{l}")));
                if is_added {
                    new_line += lines.len();
                } else {
                    old_line += lines.len();
                }
            }
            Part::Same(lines) => {
                if old_range_start != 0 {
                    if lines.len() <= CONTEXT * 2 && i + 2 < count {
                        range.extend(lines.iter().map(|l| format!(" {l}")));
                    } else {
                        let context = lines.len().min(CONTEXT);
                        range.extend(lines[..context].iter().map(|l| format!(" {l}")));
                        hunks.push(Hunk {
                            old_start: old_range_start,
                            old_lines: old_line - old_range_start + context,
                            new_start: new_range_start,
                            new_lines: new_line - new_range_start + context,
                            lines: std::mem::take(&mut range),
                        });
                        old_range_start = 0;
                        new_range_start = 0;
                    }
                }
                old_line += lines.len();
                new_line += lines.len();
            }
        }
    }
    let mut out = vec![
        format!("Index: {path}"),
        "===================================================================".to_string(),
        format!("--- {path}\toriginal"),
        format!("+++ {path}\tmodified"),
    ];
    for hunk in hunks {
        let old_start = if hunk.old_lines == 0 { hunk.old_start - 1 } else { hunk.old_start };
        let new_start = if hunk.new_lines == 0 { hunk.new_start - 1 } else { hunk.new_start };
        out.push(format!("@@ -{old_start},{} +{new_start},{} @@", hunk.old_lines, hunk.new_lines));
        for line in hunk.lines {
            match line.strip_suffix('\n') {
                Some(line) => out.push(line.to_string()),
                None => {
                    out.push(line);
                    out.push("\\ No newline at end of file".to_string());
                }
            }
        }
    }
    out.join("\n") + "\n"
}

/// A minimatch pattern with `dot: true`: `*` and `?` stay inside one path
/// component, `**` spans any number of them, braces and classes as globs
/// write them.
pub struct Glob(globset::GlobMatcher);

impl Glob {
    pub fn new(pattern: &str) -> Result<Glob, String> {
        globset::GlobBuilder::new(pattern)
            .literal_separator(true)
            .backslash_escape(true)
            .build()
            .map(|glob| Glob(glob.compile_matcher()))
            .map_err(|e| format!("Invalid glob pattern {pattern}: {e}"))
    }

    pub fn matches(&self, path: &str) -> bool {
        self.0.is_match(path)
    }
}
