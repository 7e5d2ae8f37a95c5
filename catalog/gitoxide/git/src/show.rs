//! `git_show`: what a revision names, as the original prints it. A blob
//! (`REV:path`) is its text; a tree is its entries' names, a directory with
//! `/`; a commit (or a tag, peeled) is `git show --date=iso`'s header and
//! each file's patch against the first parent, as GitPython's diff gives it
//! (`--- a/`, `+++ b/` and the hunks, a rename without hunks).

use std::fmt::Write;

use gix::bstr::ByteSlice;
use gix::object::Kind;

use crate::changes::{self, bad_name};
use crate::log::zoned;
use crate::patch;

/// The original's answer for `revision`.
pub fn show(repo: &gix::Repository, revision: &str) -> Result<String, String> {
    let id = repo.rev_parse_single(revision).map_err(|_| not_found(repo, revision))?;
    let object = id.object().map_err(|e| e.to_string())?;
    match object.kind {
        Kind::Blob => Ok(String::from_utf8_lossy(&object.data).into_owned()),
        Kind::Tree => {
            let tree = object.into_tree();
            let names: Vec<String> = tree
                .decode()
                .map_err(|e| e.to_string())?
                .entries
                .iter()
                .map(|entry| {
                    let name = entry.filename.to_str_lossy();
                    if entry.mode.is_tree() { format!("{name}/") } else { name.into_owned() }
                })
                .collect();
            Ok(names.join("\n"))
        }
        Kind::Commit | Kind::Tag => {
            let commit = object.peel_to_commit().map_err(|_| bad_name(revision))?;
            commit_text(repo, &commit)
        }
    }
}

/// GitPython's error for a revision that names nothing: a missing path in
/// a tree that exists (`REV:path`) is a `KeyError`, anything else `BadName`.
fn not_found(repo: &gix::Repository, revision: &str) -> String {
    match revision.split_once(':') {
        Some((rev, path)) if !path.is_empty() && repo.rev_parse_single(rev).is_ok() => {
            format!("\"Blob or Tree named '{path}' not found\"")
        }
        _ => bad_name(revision),
    }
}

/// A commit's header and its changes against its first parent (or against
/// nothing, for a root commit).
fn commit_text(repo: &gix::Repository, commit: &gix::Commit<'_>) -> Result<String, String> {
    let author = commit.author().map_err(|e| e.to_string())?;
    let time = author.time().map_err(|e| e.to_string())?;
    let message = String::from_utf8_lossy(commit.message_raw_sloppy()).into_owned();
    let mut out = String::new();
    let _ = writeln!(out, "commit {}", commit.id);
    let _ = writeln!(out, "Author: {} <{}>", author.name, author.email);
    let _ = writeln!(out, "Date:   {}", zoned(time.seconds, time.offset).strftime("%Y-%m-%d %H:%M:%S %z"));
    out.push('\n');
    for line in message.trim_end_matches('\n').split('\n') {
        let _ = writeln!(out, "    {line}");
    }
    let parent_tree = match commit.parent_ids().next() {
        Some(parent) => {
            Some(parent.object().map_err(|e| e.to_string())?.peel_to_tree().map_err(|e| e.to_string())?.id)
        }
        None => None,
    };
    let tree = commit.tree_id().map_err(|e| e.to_string())?.detach();
    for file in changes::tree_to_tree(repo, parent_tree, tree)? {
        let a = file.old.as_ref().map(|side| format!("a/{}", side.path)).unwrap_or("/dev/null".into());
        let b = file.new.as_ref().map(|side| format!("b/{}", side.path)).unwrap_or("/dev/null".into());
        let _ = write!(out, "\n--- {a}\n+++ {b}\n{}", patch::body(&file));
    }
    Ok(out)
}
