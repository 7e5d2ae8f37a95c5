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
            let _ = writeln!(out, "{}", detached(repo, &head)?);
        }
    }
    if unborn {
        out.push_str("\nNo commits yet\n\n");
    }
    let staged = changes::head_to_index(repo)?;
    let unstaged = changes::index_to_worktree(repo)?;
    let untracked = changes::untracked(repo, gix::status::UntrackedFiles::Collapsed)?;

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

/// The first line for a detached `HEAD`, read from its reflog as git reads
/// it: the name of the last checkout (a tag or remote-tracking branch
/// without its prefix when it still names that commit, else the commit's
/// short id), `at` it if `HEAD` has not moved since, `from` it if it has.
fn detached(repo: &gix::Repository, head: &gix::Head<'_>) -> Result<String, String> {
    let mut last = None;
    if let Ok(Some(lines)) = head.log_iter().all() {
        for line in lines.flatten() {
            if let Some(rest) = line.message.strip_prefix(b"checkout: moving from ")
                && let Some(at) = rest.find(" to ")
            {
                last = Some((rest[at + 4..].to_str_lossy().into_owned(), line.new_oid()));
            }
        }
    }
    let Some((name, moved_to)) = last else { return Ok("Not currently on any branch.".into()) };
    let named = repo.find_reference(name.as_str()).ok().and_then(|mut reference| {
        let id = reference.peel_to_id().ok()?.detach();
        (id == moved_to).then(|| reference.name().as_bstr().to_string())
    });
    let label = match named {
        Some(full) => {
            let short = full.strip_prefix("refs/tags/").or_else(|| full.strip_prefix("refs/remotes/"));
            short.map(str::to_string).unwrap_or(full)
        }
        None => moved_to.to_hex_with_len(7).to_string(),
    };
    let head_id = repo.head_id().map_err(|e| e.to_string())?.detach();
    let place = if head_id == moved_to { "at" } else { "from" };
    Ok(format!("HEAD detached {place} {label}"))
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
