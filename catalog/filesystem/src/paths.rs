//! Paths as the original's `validatePath` sees them: a relative path is
//! resolved against the allowed directories, the result must lie inside one,
//! symlinks are resolved and their targets must too, and a name missing in
//! one Unicode normal form is found in another. The allowed directories are
//! the component's WASI preopens. These checks give the original's answers;
//! the sandbox's own refusal of any path outside a grant stands under them.

use std::collections::VecDeque;
use std::fs;
use std::io::ErrorKind;

use unicode_normalization::UnicodeNormalization;

use crate::text::NodeError;

/// The granted directories, as the component sees them, in grant order:
/// read once an instance (a search validates every entry it walks).
pub fn allowed_directories() -> &'static [String] {
    static DIRECTORIES: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    DIRECTORIES.get_or_init(|| {
        wasip2::filesystem::preopens::get_directories().into_iter().map(|(_, path)| resolve(&path)).collect()
    })
}

/// Node's `path.normalize` of `path`, `.` and `..` applied, `//` collapsed,
/// no trailing `/` (an absolute path stays absolute, `..` stops at `/`).
pub fn normalize(path: &str) -> String {
    let absolute = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." if parts.last().is_some_and(|last| *last != "..") => {
                parts.pop();
            }
            ".." if absolute => {}
            other => parts.push(other),
        }
    }
    match (absolute, parts.is_empty()) {
        (true, _) => format!("/{}", parts.join("/")),
        (false, true) => ".".into(),
        (false, false) => parts.join("/"),
    }
}

/// `path.resolve` with `/` as the working directory.
pub fn resolve(path: &str) -> String {
    if path.starts_with('/') { normalize(path) } else { normalize(&format!("/{path}")) }
}

/// `path.join(a, b)`.
pub fn join(a: &str, b: &str) -> String {
    normalize(&format!("{a}/{b}"))
}

/// `path.relative(from, to)`, both resolved against `/`.
pub fn relative(from: &str, to: &str) -> String {
    let (from, to) = (resolve(from), resolve(to));
    let from: Vec<&str> = from.split('/').filter(|p| !p.is_empty()).collect();
    let to: Vec<&str> = to.split('/').filter(|p| !p.is_empty()).collect();
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut parts: Vec<&str> = vec![".."; from.len() - common];
    parts.extend(&to[common..]);
    parts.join("/")
}

/// `dirname`.
fn dirname(path: &str) -> String {
    match path.rsplit_once('/') {
        Some(("", _)) => "/".into(),
        Some((parent, _)) => parent.into(),
        None => ".".into(),
    }
}

/// The original's `normalizePath` for POSIX paths: trimmed, one pair of
/// quotes off, `//` collapsed, no trailing `/`.
fn normalize_path(path: &str) -> String {
    let trimmed = path.trim();
    let trimmed = trimmed.strip_prefix(['"', '\'']).unwrap_or(trimmed);
    let trimmed = trimmed.strip_suffix(['"', '\'']).unwrap_or(trimmed);
    let mut out = String::with_capacity(trimmed.len());
    for c in trimmed.chars() {
        if !(c == '/' && out.ends_with('/')) {
            out.push(c);
        }
    }
    if out.len() > 1 && out.ends_with('/') {
        out.pop();
    }
    out
}

/// Whether `path` is one of `directories` or inside one.
pub fn within(path: &str, directories: &[String]) -> bool {
    if path.is_empty() || path.contains('\0') {
        return false;
    }
    let path = resolve(path);
    directories.iter().any(|dir| {
        let dir = resolve(dir);
        path == dir || (dir == "/" && path.starts_with('/')) || path.starts_with(&format!("{dir}/"))
    })
}

fn outside(kind: &str, path: &str, directories: &[String]) -> String {
    format!("Access denied - {kind} outside allowed directories: {path} not in {}", directories.join(", "))
}

/// The allowed directory holding `path`, the longest if several do.
fn holder<'a>(path: &str, directories: &'a [String]) -> Option<&'a String> {
    directories.iter().filter(|dir| within(path, std::slice::from_ref(dir))).max_by_key(|dir| dir.len())
}

/// Why a symlink is not followed: its target is absolute, which WASI does
/// not show.
const UNSEEN_TARGET: &str = "unseen symlink target";

/// `realpath` of an absolute `path` inside an allowed directory, walked one
/// component at a time (WASI has no `realpath`). A symlink whose target
/// leaves the allowed directories ends the walk: the target, joined with what
/// is left, is returned for the caller to refuse.
fn realpath(path: &str, directories: &[String]) -> std::io::Result<String> {
    let Some(root) = holder(path, directories) else { return Ok(resolve(path)) };
    let mut resolved = root.clone();
    let rest = relative(root, path);
    let mut queue: VecDeque<String> = rest.split('/').filter(|p| !p.is_empty()).map(str::to_string).collect();
    let mut hops = 0;
    while let Some(part) = queue.pop_front() {
        if part == ".." {
            resolved = dirname(&resolved);
            continue;
        }
        if !within(&resolved, directories) {
            resolved = join(&resolved, &part);
            continue;
        }
        let candidate = join(&resolved, &part);
        let meta = fs::symlink_metadata(&candidate)?;
        if meta.file_type().is_symlink() {
            hops += 1;
            if hops > 40 {
                return Err(std::io::Error::other("ELOOP: too many symbolic links encountered"));
            }
            // WASI shows no absolute target (it could name anything on the
            // host): such a link is one the component cannot follow.
            let target = fs::read_link(&candidate)
                .map_err(|_| std::io::Error::other(UNSEEN_TARGET))?
                .to_string_lossy()
                .into_owned();
            if target.starts_with('/') {
                resolved = "/".into();
            }
            for piece in target.split('/').filter(|p| !p.is_empty()).rev() {
                queue.push_front(piece.to_string());
            }
        } else {
            resolved = candidate;
        }
    }
    Ok(resolved)
}

/// The original's `validatePath`: the real path of `requested`, or its
/// refusal in the original's words.
pub fn validate(requested: &str) -> Result<String, String> {
    let directories = allowed_directories();
    let bytes = requested.as_bytes();
    if bytes.len() >= 2
        && bytes[0].is_ascii_alphabetic()
        && bytes[1] == b':'
        && (bytes.len() == 2 || matches!(bytes[2], b'/' | b'\\'))
    {
        return Err(format!("Access denied - Windows-style path received on a POSIX host: {requested}"));
    }
    let absolute = if requested.starts_with('/') {
        resolve(requested)
    } else {
        resolve_relative(requested, directories)
    };
    if !within(&normalize_path(&absolute), directories) {
        return Err(outside("path", &absolute, directories));
    }
    match realpath(&absolute, directories) {
        Ok(real) if within(&real, directories) => Ok(real),
        Ok(real) => Err(outside("symlink target", &real, directories)),
        Err(error) if error.kind() == ErrorKind::NotFound => unicode_equivalent(&absolute, directories),
        Err(error) if error.to_string() == UNSEEN_TARGET => Err(format!(
            "Access denied - symlink target not visible in the sandbox (an absolute link is not followed): {absolute}"
        )),
        Err(error) => Err(NodeError::of(&error, "realpath", &absolute)),
    }
}

fn resolve_relative(path: &str, directories: &[String]) -> String {
    let Some(first) = directories.first() else { return resolve(path) };
    directories
        .iter()
        .map(|dir| resolve(&join(dir, path)))
        .find(|candidate| within(&normalize_path(candidate), directories))
        .unwrap_or_else(|| resolve(&join(first, path)))
}

/// A path that does not exist as written: each component is looked for as
/// written, else in NFC; the first missing one ends the search, and the path
/// from there on is taken as written (a file about to be created).
fn unicode_equivalent(absolute: &str, directories: &[String]) -> Result<String, String> {
    let Some(root) = holder(absolute, directories) else { return Ok(absolute.to_string()) };
    let mut current = realpath(root, directories).map_err(|e| NodeError::of(&e, "realpath", root))?;
    let rest = relative(root, absolute);
    let parts: Vec<&str> = rest.split('/').filter(|p| !p.is_empty()).collect();
    for (index, part) in parts.iter().enumerate() {
        let names: Vec<String> = match fs::read_dir(&current) {
            Ok(read) => {
                read.filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().into_owned()).collect()
            }
            Err(e) if e.kind() == ErrorKind::NotFound => {
                return Err(format!("Parent directory does not exist: {}", dirname(absolute)));
            }
            Err(e) => return Err(NodeError::of(&e, "scandir", &current)),
        };
        let matches: Vec<&String> = match names.iter().find(|name| name == part) {
            Some(exact) => vec![exact],
            None => {
                let wanted: String = part.nfc().collect();
                names.iter().filter(|name| name.nfc().collect::<String>() == wanted).collect()
            }
        };
        match matches[..] {
            [] => return Ok(join(&current, &parts[index..].join("/"))),
            [found] => {
                current = match realpath(&join(&current, found), directories) {
                    Ok(real) => real,
                    Err(e) if e.kind() == ErrorKind::NotFound => {
                        return Err(format!("Parent directory does not exist: {}", dirname(absolute)));
                    }
                    Err(e) => return Err(NodeError::of(&e, "realpath", &join(&current, found))),
                };
                if !within(&current, directories) {
                    return Err(outside("symlink target", &current, directories));
                }
            }
            _ => return Err(format!("Ambiguous Unicode path component: {part}")),
        }
    }
    Ok(current)
}
