//! `git status` in its long format, as GitPython returns it (the last
//! newline stripped): the branch, the staged and unstaged changes with
//! git's hints, the untracked files (a directory holding only untracked
//! files as `dir/`), and the closing advice.

use std::fmt::Write;

use gix::bstr::ByteSlice;

use crate::changes::{self, FileChange};
use crate::patch::quote;

/// The long format of `git status`.
pub fn long_format(repo: &gix::Repository) -> Result<String, String> {
    let head = repo.head().map_err(|e| e.to_string())?;
    let unborn = head.is_unborn();
    let mut out = String::new();
    match repo.head_name().map_err(|e| e.to_string())? {
        Some(name) => {
            let _ = writeln!(out, "On branch {}", name.shorten());
        }
        None => {
            let id = repo.head_id().map_err(|e| e.to_string())?;
            let _ = writeln!(out, "HEAD detached at {}", id.to_hex_with_len(7));
        }
    }
    if unborn {
        out.push_str("\nNo commits yet\n\n");
    }
    let staged = changes::head_to_index(repo)?;
    let unstaged = changes::index_to_worktree(repo)?;
    let untracked = untracked(repo)?;

    if !staged.is_empty() {
        out.push_str("Changes to be committed:\n");
        match unborn {
            true => out.push_str("  (use \"git rm --cached <file>...\" to unstage)\n"),
            false => out.push_str("  (use \"git restore --staged <file>...\" to unstage)\n"),
        }
        for change in &staged {
            entry(&mut out, change);
        }
        out.push('\n');
    }
    if !unstaged.is_empty() {
        out.push_str("Changes not staged for commit:\n");
        match unstaged.iter().any(|change| change.new.is_none()) {
            true => out.push_str("  (use \"git add/rm <file>...\" to update what will be committed)\n"),
            false => out.push_str("  (use \"git add <file>...\" to update what will be committed)\n"),
        }
        out.push_str("  (use \"git restore <file>...\" to discard changes in working directory)\n");
        for change in &unstaged {
            entry(&mut out, change);
        }
        out.push('\n');
    }
    if !untracked.is_empty() {
        out.push_str("Untracked files:\n");
        out.push_str("  (use \"git add <file>...\" to include in what will be committed)\n");
        for path in &untracked {
            let _ = writeln!(out, "\t{}", quote(path));
        }
        out.push('\n');
    }
    match (staged.is_empty(), unstaged.is_empty(), untracked.is_empty()) {
        (false, _, _) => {}
        (true, false, _) => {
            out.push_str("no changes added to commit (use \"git add\" and/or \"git commit -a\")\n")
        }
        (true, true, false) => {
            out.push_str("nothing added to commit but untracked files present (use \"git add\" to track)\n")
        }
        (true, true, true) if unborn => {
            out.push_str("nothing to commit (create/copy files and use \"git add\" to track)\n")
        }
        (true, true, true) => out.push_str("nothing to commit, working tree clean\n"),
    }
    out.pop();
    Ok(out)
}

/// One change's line: its kind, padded as git pads it, and its path.
fn entry(out: &mut String, change: &FileChange) {
    let (label, path) = match (&change.old, &change.new) {
        (None, Some(new)) => ("new file:", quote(&new.path)),
        (Some(old), None) => ("deleted:", quote(&old.path)),
        (Some(old), Some(new)) if old.path != new.path => {
            ("renamed:", format!("{} -> {}", quote(&old.path), quote(&new.path)))
        }
        (Some(old), Some(new)) if (old.mode & 0o170000) != (new.mode & 0o170000) => {
            ("typechange:", quote(&new.path))
        }
        (_, _) => ("modified:", quote(change.path())),
    };
    let _ = writeln!(out, "\t{label:<12}{path}");
}

/// The untracked paths git lists, bytewise in order: a directory with
/// nothing tracked in it as `dir/`, ignored files left out.
fn untracked(repo: &gix::Repository) -> Result<Vec<String>, String> {
    use gix::status::index_worktree::Item;
    let iter = repo
        .status(gix::progress::Discard)
        .map_err(|e| e.to_string())?
        .untracked_files(gix::status::UntrackedFiles::Collapsed)
        .index_worktree_rewrites(None)
        .into_index_worktree_iter(Vec::new())
        .map_err(|e| e.to_string())?;
    let mut paths = Vec::new();
    for item in iter {
        let item = item.map_err(|e| e.to_string())?;
        let Item::DirectoryContents { entry, .. } = item else { continue };
        if entry.status != gix::dir::entry::Status::Untracked {
            continue;
        }
        let mut path = entry.rela_path.to_str_lossy().into_owned();
        if entry.disk_kind == Some(gix::dir::entry::Kind::Directory) {
            path.push('/');
        }
        paths.push(path);
    }
    paths.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    Ok(paths)
}
