//! The tools of npm's `@modelcontextprotocol/server-filesystem`, as a
//! sandboxed component. The original's "allowed directories" are this
//! component's WASI preopens (moat's file grants); its path checks are
//! repeated here so that its answers (and its refusals, word for word) are
//! the same, and under them the sandbox itself holds: no path outside a
//! grant can be opened, whatever this code concludes.
//!
//! Module map: `paths` resolves and checks paths as the original's
//! `validatePath` does; `text` holds its formats (sizes, dates, diffs, Node's
//! error messages); this file is the tools.

wit_bindgen::generate!({ world: "filesystem", path: "wit", generate_all });

mod paths;
mod text;

use std::fs;
use std::io::ErrorKind;

use moat::host::content::{Body, Kind, Media, ResourceContents};

use crate::paths::{allowed_directories, join, relative, validate};
use crate::text::{Glob, NodeError, format_size, js_date, pad_end, pad_start, unified_diff};

struct Filesystem;

fn ok(content: impl Into<String>) -> Result<TextResult, String> {
    Ok(TextResult { content: content.into() })
}

/// JavaScript's truthiness of an optional number.
fn truthy(n: Option<f64>) -> Option<f64> {
    n.filter(|n| *n != 0.0 && !n.is_nan())
}

fn read_text(path: String, tail: Option<f64>, head: Option<f64>) -> Result<TextResult, String> {
    let real = validate(&path)?;
    let (tail, head) = (truthy(tail), truthy(head));
    if tail.is_some() && head.is_some() {
        return Err("Cannot specify both head and tail parameters simultaneously".into());
    }
    if let Some(n) = tail {
        return ok(tail_lines(&real, n)?);
    }
    if let Some(n) = head {
        return ok(head_lines(&real, n)?);
    }
    ok(read_utf8(&real)?)
}

/// The file as UTF-8, invalid sequences replaced (Node's `readFile(…, 'utf-8')`).
fn read_utf8(path: &str) -> Result<String, String> {
    let bytes = fs::read(path).map_err(|e| NodeError::of(&e, "open", path))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// The last `n` lines, line endings normalised, as the original's `tailFile`.
fn tail_lines(path: &str, n: f64) -> Result<String, String> {
    let text = read_utf8(path)?.replace("\r\n", "\n");
    if text.is_empty() || n < 0.0 {
        return Ok(String::new());
    }
    let lines: Vec<&str> = text.split('\n').collect();
    // `slice(-n)`: n truncated towards zero.
    let keep = (n.trunc() as usize).min(lines.len());
    Ok(lines[lines.len() - keep..].join("\n"))
}

/// The first `n` lines, as the original's `headFile` (which reads whole
/// lines while it has fewer than `n`).
fn head_lines(path: &str, n: f64) -> Result<String, String> {
    let text = read_utf8(path)?;
    let mut segments: Vec<&str> = text.split('\n').collect();
    if segments.last() == Some(&"") {
        segments.pop();
    }
    let mut lines = Vec::new();
    for segment in segments {
        if (lines.len() as f64) >= n {
            break;
        }
        lines.push(segment);
    }
    Ok(lines.join("\n"))
}

fn media_type(path: &str) -> &'static str {
    let extension = path.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default();
    let extension = if path.rsplit('/').next().is_some_and(|name| name.rfind('.').is_some_and(|i| i > 0)) {
        extension
    } else {
        String::new()
    };
    match extension.as_str() {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "bmp" => "image/bmp",
        "svg" => "image/svg+xml",
        "mp3" => "audio/mpeg",
        "wav" => "audio/wav",
        "ogg" => "audio/ogg",
        "flac" => "audio/flac",
        _ => "application/octet-stream",
    }
}

/// `file://` and the path, percent-encoded as Node's `pathToFileURL` does.
fn file_url(path: &str) -> String {
    let mut out = String::from("file://");
    for byte in path.bytes() {
        match byte {
            b'A'..=b'Z'
            | b'a'..=b'z'
            | b'0'..=b'9'
            | b'/'
            | b'-'
            | b'.'
            | b'_'
            | b'~'
            | b'!'
            | b'$'
            | b'&'
            | b'\''
            | b'('
            | b')'
            | b'*'
            | b'+'
            | b','
            | b';'
            | b'='
            | b':'
            | b'@' => out.push(byte as char),
            other => out.push_str(&format!("%{other:02X}")),
        }
    }
    out
}

/// Writes `content` to `path` through a temporary file renamed over it, so a
/// reader never sees half of it.
fn replace_file(path: &str, content: &str) -> Result<(), String> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let temporary = format!("{path}.{nanos:032x}.tmp");
    let written = fs::write(&temporary, content).and_then(|()| fs::rename(&temporary, path));
    written.map_err(|e| {
        let _ = fs::remove_file(&temporary);
        NodeError::of(&e, "rename", &temporary)
    })
}

fn leading_whitespace(line: &str) -> &str {
    &line[..line.len() - line.trim_start().len()]
}

/// The original's `applyFileEdits`: each edit replaces its first exact
/// occurrence, or else the first run of lines equal to it once trimmed,
/// re-indented to the file's indentation.
fn apply_edits(content: &str, edits: &[Edit]) -> Result<String, String> {
    let mut modified = content.to_string();
    for edit in edits {
        let old = edit.old_text.replace("\r\n", "\n");
        let new = edit.new_text.replace("\r\n", "\n");
        if let Some(at) = modified.find(&old) {
            modified.replace_range(at..at + old.len(), &new);
            continue;
        }
        let old_lines: Vec<&str> = old.split('\n').collect();
        let mut lines: Vec<String> = modified.split('\n').map(str::to_string).collect();
        let found = (0..(lines.len() + 1).saturating_sub(old_lines.len()))
            .find(|&i| old_lines.iter().enumerate().all(|(j, old)| old.trim() == lines[i + j].trim()));
        let Some(i) = found else {
            return Err(format!("Could not find exact match for edit:\n{}", edit.old_text));
        };
        let indent = leading_whitespace(&lines[i]).to_string();
        let replacement: Vec<String> = new
            .split('\n')
            .enumerate()
            .map(|(j, line)| {
                if j == 0 {
                    return format!("{indent}{}", line.trim_start());
                }
                let old_indent = old_lines.get(j).map(|l| leading_whitespace(l)).unwrap_or("");
                let new_indent = leading_whitespace(line);
                if !old_indent.is_empty() && !new_indent.is_empty() {
                    let relative = new_indent.chars().count() as i64 - old_indent.chars().count() as i64;
                    format!("{indent}{}{}", " ".repeat(relative.max(0) as usize), line.trim_start())
                } else {
                    line.to_string()
                }
            })
            .collect();
        lines.splice(i..i + old_lines.len(), replacement);
        modified = lines.join("\n");
    }
    Ok(modified)
}

/// One directory entry: its name and whether it is a directory (not
/// following a symlink, as Node's `Dirent` does not).
fn entries(path: &str) -> Result<Vec<(String, bool)>, String> {
    let read = fs::read_dir(path).map_err(|e| NodeError::of(&e, "scandir", path))?;
    let mut out = Vec::new();
    for entry in read {
        let entry = entry.map_err(|e| NodeError::of(&e, "scandir", path))?;
        let is_dir = entry.file_type().map(|t| t.is_dir()).unwrap_or(false);
        out.push((entry.file_name().to_string_lossy().into_owned(), is_dir));
    }
    // Node lists a directory in byte order of the names (libuv sorts).
    out.sort();
    Ok(out)
}

fn exclusion(patterns: &[String]) -> Result<Vec<Glob>, String> {
    patterns.iter().map(|p| Glob::new(p)).collect()
}

/// The original's `directory_tree` entry, in its key order.
#[derive(serde::Serialize)]
struct TreeEntry {
    name: String,
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    children: Option<Vec<TreeEntry>>,
}

/// directory_tree's exclusions: a pattern with `*` as it is; any other also
/// as a name anywhere (`**/P`) and as a directory anywhere (`**/P/**`).
fn tree_exclusion(patterns: &[String]) -> Result<Vec<Glob>, String> {
    let mut globs = Vec::new();
    for pattern in patterns {
        globs.push(Glob::new(pattern)?);
        if !pattern.contains('*') {
            globs.push(Glob::new(&format!("**/{pattern}"))?);
            globs.push(Glob::new(&format!("**/{pattern}/**"))?);
        }
    }
    Ok(globs)
}

fn tree(root: &str, current: &str, exclude: &[Glob]) -> Result<Vec<TreeEntry>, String> {
    let valid = validate(current)?;
    let mut out = Vec::new();
    for (name, is_dir) in entries(&valid)? {
        let relative_path = relative(root, &join(current, &name));
        if exclude.iter().any(|glob| glob.matches(&relative_path)) {
            continue;
        }
        let children = if is_dir { Some(tree(root, &join(current, &name), exclude)?) } else { None };
        out.push(TreeEntry { name, kind: if is_dir { "directory" } else { "file" }, children });
    }
    Ok(out)
}

fn search(
    root: &str,
    current: &str,
    pattern: &Glob,
    exclude: &[Glob],
    found: &mut Vec<String>,
) -> Result<(), String> {
    for (name, is_dir) in entries(current)? {
        let full = join(current, &name);
        if validate(&full).is_err() {
            continue;
        }
        let relative_path = relative(root, &full);
        if exclude.iter().any(|glob| glob.matches(&relative_path)) {
            continue;
        }
        if pattern.matches(&relative_path) {
            found.push(full.clone());
        }
        if is_dir {
            let _ = search(root, &full, pattern, exclude, found);
        }
    }
    Ok(())
}

/// ICU's root collation for the names people use, approximated: spaces and
/// punctuation first, then digits, then letters without regard to case,
/// lower case before upper case to break a tie.
fn collation_key(name: &str) -> (Vec<(u8, char)>, Vec<bool>) {
    let primary = name
        .chars()
        .map(|c| {
            let class = if c.is_alphabetic() {
                2
            } else if c.is_numeric() {
                1
            } else {
                0
            };
            (class, c.to_lowercase().next().unwrap_or(c))
        })
        .collect();
    let tertiary = name.chars().map(char::is_uppercase).collect();
    (primary, tertiary)
}

impl Guest for Filesystem {
    fn read_file(path: String, tail: Option<f64>, head: Option<f64>) -> Result<TextResult, String> {
        read_text(path, tail, head)
    }

    fn read_text_file(path: String, tail: Option<f64>, head: Option<f64>) -> Result<TextResult, String> {
        read_text(path, tail, head)
    }

    fn read_media_file(path: String) -> Result<Vec<Block>, String> {
        let real = validate(&path)?;
        let mime_type = media_type(&real).to_string();
        let data = fs::read(&real).map_err(|e| NodeError::of(&e, "open", &real))?;
        let kind = if mime_type.starts_with("image/") {
            Kind::Image(Media { data, mime_type })
        } else if mime_type.starts_with("audio/") {
            Kind::Audio(Media { data, mime_type })
        } else {
            Kind::Resource(ResourceContents {
                uri: file_url(&real),
                mime_type: Some(mime_type),
                body: Body::Blob(data),
            })
        };
        Ok(vec![Block { kind, annotations: None }])
    }

    fn read_multiple_files(paths: Vec<String>) -> Result<TextResult, String> {
        if paths.is_empty() {
            return Err("At least one file path must be provided".into());
        }
        let results: Vec<String> = paths
            .iter()
            .map(|path| match validate(path).and_then(|real| read_utf8(&real)) {
                Ok(content) => format!("{path}:\n{content}\n"),
                Err(message) => format!("{path}: Error - {message}"),
            })
            .collect();
        ok(results.join("\n---\n"))
    }

    fn write_file(path: String, content: String) -> Result<TextResult, String> {
        let real = validate(&path)?;
        let created = fs::OpenOptions::new().write(true).create_new(true).open(&real);
        match created {
            Ok(mut file) => {
                use std::io::Write;
                file.write_all(content.as_bytes()).map_err(|e| NodeError::of(&e, "write", &real))?;
            }
            Err(e) if e.kind() == ErrorKind::AlreadyExists => {
                fs::metadata(&real).map_err(|e| NodeError::of(&e, "stat", &real))?;
                replace_file(&real, &content)?;
            }
            Err(e) => return Err(NodeError::of(&e, "open", &real)),
        }
        ok(format!("Successfully wrote to {path}"))
    }

    fn edit_file(path: String, edits: Vec<Edit>, dry_run: Option<bool>) -> Result<TextResult, String> {
        let real = validate(&path)?;
        let content = read_utf8(&real)?.replace("\r\n", "\n");
        let modified = apply_edits(&content, &edits)?;
        let diff = unified_diff(&content, &modified, &real);
        let mut fence = 3;
        while diff.contains(&"`".repeat(fence)) {
            fence += 1;
        }
        let fence = "`".repeat(fence);
        if !dry_run.unwrap_or(false) {
            fs::metadata(&real).map_err(|e| NodeError::of(&e, "stat", &real))?;
            replace_file(&real, &modified)?;
        }
        ok(format!("{fence}diff\n{diff}{fence}\n\n"))
    }

    fn create_directory(path: String) -> Result<TextResult, String> {
        let real = validate(&path)?;
        fs::create_dir_all(&real).map_err(|e| NodeError::of(&e, "mkdir", &real))?;
        ok(format!("Successfully created directory {path}"))
    }

    fn list_directory(path: String) -> Result<TextResult, String> {
        let real = validate(&path)?;
        let lines: Vec<String> = entries(&real)?
            .into_iter()
            .map(|(name, is_dir)| format!("{} {name}", if is_dir { "[DIR]" } else { "[FILE]" }))
            .collect();
        ok(lines.join("\n"))
    }

    fn list_directory_with_sizes(path: String, sort_by: Option<SortBy>) -> Result<TextResult, String> {
        let real = validate(&path)?;
        let detailed: Vec<(String, bool, u64)> = entries(&real)?
            .into_iter()
            .map(|(name, is_dir)| {
                let size = fs::metadata(join(&real, &name)).map(|m| m.len()).unwrap_or(0);
                (name, is_dir, size)
            })
            .collect();
        let mut sorted = detailed.clone();
        match sort_by.unwrap_or(SortBy::Name) {
            SortBy::Size => sorted.sort_by_key(|e| std::cmp::Reverse(e.2)),
            SortBy::Name => sorted.sort_by_key(|e| collation_key(&e.0)),
        }
        let mut lines: Vec<String> = sorted
            .iter()
            .map(|(name, is_dir, size)| {
                let size = if *is_dir { String::new() } else { pad_start(&format_size(*size), 10) };
                format!("{} {} {size}", if *is_dir { "[DIR]" } else { "[FILE]" }, pad_end(name, 30))
            })
            .collect();
        let files = detailed.iter().filter(|e| !e.1).count();
        let directories = detailed.len() - files;
        let total: u64 = detailed.iter().filter(|e| !e.1).map(|e| e.2).sum();
        lines.push(String::new());
        lines.push(format!("Total: {files} files, {directories} directories"));
        lines.push(format!("Combined size: {}", format_size(total)));
        ok(lines.join("\n"))
    }

    fn directory_tree(path: String, exclude_patterns: Option<Vec<String>>) -> Result<TextResult, String> {
        let exclude = tree_exclusion(&exclude_patterns.unwrap_or_default())?;
        let tree = tree(&path, &path, &exclude)?;
        ok(serde_json::to_string_pretty(&tree).expect("the tree serialises"))
    }

    fn move_file(source: String, destination: String) -> Result<TextResult, String> {
        let from = validate(&source)?;
        let to = validate(&destination)?;
        match fs::symlink_metadata(&to) {
            Err(e) if e.kind() == ErrorKind::NotFound => {
                fs::rename(&from, &to).map_err(|e| NodeError::of2(&e, "rename", &from, &to))?;
            }
            Err(e) => return Err(NodeError::of(&e, "lstat", &to)),
            Ok(_) => return Err(format!("Destination already exists: {to}")),
        }
        ok(format!("Successfully moved {source} to {destination}"))
    }

    fn search_files(
        path: String,
        pattern: String,
        exclude_patterns: Option<Vec<String>>,
    ) -> Result<TextResult, String> {
        let real = validate(&path)?;
        let pattern = Glob::new(&pattern)?;
        let exclude = exclusion(&exclude_patterns.unwrap_or_default())?;
        let mut found = Vec::new();
        search(&real, &real, &pattern, &exclude, &mut found)?;
        ok(if found.is_empty() { "No matches found".to_string() } else { found.join("\n") })
    }

    fn get_file_info(path: String) -> Result<TextResult, String> {
        let real = validate(&path)?;
        let stat = fs::metadata(&real).map_err(|e| NodeError::of(&e, "stat", &real))?;
        let date = |time: std::io::Result<std::time::SystemTime>| match time {
            Ok(time) => js_date(time),
            Err(_) => "Invalid Date".to_string(),
        };
        let lines = [
            format!("size: {}", stat.len()),
            format!("created: {}", date(stat.created())),
            format!("modified: {}", date(stat.modified())),
            format!("accessed: {}", date(stat.accessed())),
            format!("isDirectory: {}", stat.is_dir()),
            format!("isFile: {}", stat.is_file()),
            // WASI has no permission bits: the sandbox decides what may be done.
            "permissions: unknown in the sandbox".to_string(),
        ];
        ok(lines.join("\n"))
    }

    fn list_allowed_directories() -> Result<TextResult, String> {
        ok(format!("Allowed directories:\n{}", allowed_directories().join("\n")))
    }
}

export!(Filesystem);
