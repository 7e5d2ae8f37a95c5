//! The tools that change a repository, as the original's do: stage paths
//! (`git add`), unstage everything (`git reset`), commit the index, create a
//! branch, switch to a branch or commit. They write through gitoxide into
//! the granted repository only, and need the grant to be read-write; they
//! run no hook and no program the repository names.

use std::collections::BTreeMap;
use std::path::Path;

use gix::ObjectId;
use gix::bstr::{BString, ByteSlice};
use gix::refs::transaction::{Change, LogChange, PreviousValue, RefEdit, RefLog};

use crate::changes::{self, bad_name};

/// What `git_add` stages: `.` for everything, or paths inside the
/// repository (files, directories, or tracked files that are gone).
pub fn add(repo: &gix::Repository, files: &[String]) -> Result<String, String> {
    if files.is_empty() {
        return Err(
            "No files provided to stage. Pass one or more paths, or ['.'] to stage everything.".into()
        );
    }
    let root = workdir(repo)?;
    let mut prefixes = Vec::new();
    if files == ["."] {
        prefixes.push(String::new());
    } else {
        for file in files {
            let full = crate::lexical(&format!("{}/{file}", root.display()));
            let root_text = root.display().to_string();
            let relative = match full.strip_prefix(&root_text) {
                Some("") => String::new(),
                Some(rest) if rest.starts_with('/') => rest[1..].to_string(),
                _ => return Err(format!("Path '{file}' is outside the repository '{root_text}'")),
            };
            prefixes.push(relative);
        }
    }
    let mut index = repo.open_index().map_err(|e| e.to_string())?;
    let tracked: BTreeMap<BString, (u32, ObjectId)> = index
        .entries()
        .iter()
        .filter(|e| e.stage_raw() == 0)
        .map(|e| (e.path(&index).to_owned(), (e.mode.bits(), e.id)))
        .collect();
    let untracked = changes::untracked(repo, gix::status::UntrackedFiles::Files)?;
    let under = |path: &str, prefix: &str| {
        prefix.is_empty() || path == prefix || path.starts_with(&format!("{prefix}/"))
    };
    // Every path a pathspec names: tracked ones (changed or gone) and
    // untracked ones that are not ignored.
    let mut chosen: Vec<String> = Vec::new();
    for prefix in &prefixes {
        let before = chosen.len();
        chosen.extend(tracked.keys().map(|p| p.to_str_lossy().into_owned()).filter(|p| under(p, prefix)));
        chosen.extend(untracked.iter().filter(|p| under(p, prefix)).cloned());
        if chosen.len() == before {
            // As git: a directory with nothing to add is no error, an
            // ignored file is, and so is a path that is not there.
            match std::fs::symlink_metadata(root.join(prefix)) {
                Ok(meta) if meta.is_dir() => {}
                Ok(_) => {
                    return Err(format!(
                        "The following paths are ignored by one of your .gitignore files:\n{prefix}"
                    ));
                }
                Err(_) => return Err(format!("pathspec '{prefix}' did not match any files")),
            }
        }
    }
    chosen.sort();
    chosen.dedup();

    let mut staged: BTreeMap<BString, Option<(gix::index::entry::Stat, u32, ObjectId)>> = BTreeMap::new();
    for path in &chosen {
        let full = root.join(path);
        let key = BString::from(path.as_str());
        let Ok(meta) = std::fs::symlink_metadata(&full) else {
            staged.insert(key, None);
            continue;
        };
        let (mode, data) = if meta.is_symlink() {
            let target = std::fs::read_link(&full).map_err(|e| e.to_string())?;
            (0o120000, target.to_string_lossy().into_owned().into_bytes())
        } else {
            // WASI shows no permission bits: a tracked file keeps its mode.
            let mode = tracked.get(&key).map(|(mode, _)| *mode).filter(|m| m & 0o170000 == 0o100000);
            (mode.unwrap_or(0o100644), std::fs::read(&full).map_err(|e| e.to_string())?)
        };
        // Hashed first: a file that did not change is not written again.
        let id = gix::objs::compute_hash(repo.object_hash(), gix::object::Kind::Blob, &data)
            .map_err(|e| e.to_string())?;
        if tracked.get(&key) == Some(&(mode, id)) {
            continue;
        }
        repo.write_blob(&data).map_err(|e| e.to_string())?;
        let stat = gix::index::fs::Metadata::from_path_no_follow(&full)
            .ok()
            .and_then(|m| gix::index::entry::Stat::from_fs(&m).ok())
            .unwrap_or_default();
        staged.insert(key, Some((stat, mode, id)));
    }
    if staged.is_empty() {
        return Ok("No changes were staged: the given paths had nothing new to stage. \
                   git_status shows what is modified or untracked."
            .into());
    }
    index.remove_entries(|_, path, _| staged.contains_key(path));
    for (path, entry) in &staged {
        if let Some((stat, mode, id)) = entry {
            let mode = gix::index::entry::Mode::from_bits(*mode).unwrap_or(gix::index::entry::Mode::FILE);
            index.dangerously_push_entry(*stat, *id, gix::index::entry::Flags::empty(), mode, path.as_bstr());
        }
    }
    write_index(&mut index)?;
    Ok("Files staged successfully".into())
}

/// `git_reset`: the index made `HEAD`'s tree again; the working tree kept.
pub fn reset(repo: &gix::Repository) -> Result<String, String> {
    let tree = changes::head_tree(repo)?.unwrap_or_else(|| ObjectId::empty_tree(repo.object_hash()));
    let old = repo.open_index().map_err(|e| e.to_string())?;
    let mut index = repo.index_from_tree(&tree).map_err(|e| e.to_string())?;
    // An entry that did not change keeps what the old index knew of its file.
    let known: BTreeMap<(BString, ObjectId), gix::index::entry::Stat> =
        old.entries().iter().map(|e| ((e.path(&old).to_owned(), e.id), e.stat)).collect();
    let paths: Vec<BString> = index.entries().iter().map(|e| e.path(&index).to_owned()).collect();
    for (entry, path) in index.entries_mut().iter_mut().zip(paths) {
        if let Some(stat) = known.get(&(path, entry.id)) {
            entry.stat = *stat;
        }
    }
    write_index(&mut index)?;
    Ok("All staged changes reset".into())
}

/// `git_commit`: the index as a commit on `HEAD`, by the identity in the
/// repository's config.
pub fn commit(repo: &gix::Repository, message: &str) -> Result<String, String> {
    if repo.git_dir().join("MERGE_HEAD").exists() {
        return Err("A merge is in progress: conclude it with git itself; this tool does not.".into());
    }
    let index = repo.open_index().map_err(|e| e.to_string())?;
    let head_tree = changes::head_tree(repo)?;
    let tree = tree_of(repo, &index)?;
    let nothing = match head_tree {
        None => index.entries().is_empty(),
        Some(head_tree) => head_tree == tree,
    };
    if nothing {
        return Err("No changes staged for commit. Use git_add to stage changes first; \
                    git_status shows what is currently staged."
            .into());
    }
    if repo.committer().is_none() || repo.author().is_none() {
        return Err("Author identity unknown: set user.name and user.email in the repository's \
                    config (the component reads no other git config)"
            .into());
    }
    let parents: Vec<ObjectId> = repo.head_id().ok().map(|id| id.detach()).into_iter().collect();
    let id = repo.commit("HEAD", message, tree, parents).map_err(|e| e.to_string())?;
    Ok(format!("Changes committed successfully with hash {id}"))
}

/// The tree the index records, written to the object database.
fn tree_of(repo: &gix::Repository, index: &gix::index::File) -> Result<ObjectId, String> {
    let mut editor = repo.edit_tree(ObjectId::empty_tree(repo.object_hash())).map_err(|e| e.to_string())?;
    for entry in index.entries().iter().filter(|e| e.stage_raw() == 0) {
        let kind = match entry.mode.bits() & 0o170000 {
            0o120000 => gix::object::tree::EntryKind::Link,
            0o160000 => gix::object::tree::EntryKind::Commit,
            _ if entry.mode.bits() & 0o111 != 0 => gix::object::tree::EntryKind::BlobExecutable,
            _ => gix::object::tree::EntryKind::Blob,
        };
        editor
            .upsert(entry.path(index).to_str_lossy().as_ref(), kind, entry.id)
            .map_err(|e| e.to_string())?;
    }
    Ok(editor.write().map_err(|e| e.to_string())?.detach())
}

/// `git_create_branch`: `refs/heads/NAME` at `base` (a reference's name) or
/// at the current branch.
pub fn create_branch(repo: &gix::Repository, name: &str, base: Option<&str>) -> Result<String, String> {
    let (base_name, target) = match base {
        Some(base) => {
            let mut reference =
                repo.find_reference(base).map_err(|_| format!("No item found with id {base}"))?;
            let id = reference.peel_to_id().map_err(|e| e.to_string())?.detach();
            (base.to_string(), id)
        }
        None => {
            let Some(branch) = repo.head_name().map_err(|e| e.to_string())? else {
                return Err(
                    "HEAD is detached, so there is no current branch to branch from; pass base_branch".into(),
                );
            };
            let id = repo.head_id().map_err(|e| e.to_string())?.detach();
            (branch.shorten().to_string(), id)
        }
    };
    let full = format!("refs/heads/{name}");
    if name.contains("..") {
        return Err(format!("Invalid reference '{full}': references cannot contain '..'"));
    }
    let full_name: gix::refs::FullName = full
        .as_str()
        .try_into()
        .map_err(|e: gix::validate::reference::name::Error| format!("Invalid reference '{full}': {e}"))?;
    if repo.try_find_reference(full.as_str()).map_err(|e| e.to_string())?.is_some() {
        return Err(format!("Cannot create branch '{name}': {full} already exists"));
    }
    repo.reference(
        full_name,
        target,
        PreviousValue::MustNotExist,
        format!("branch: Created from {base_name}"),
    )
    .map_err(|e| e.to_string())?;
    Ok(format!("Created branch '{name}' from '{base_name}'"))
}

/// `git_checkout`: the working tree and index made the tree of `spec`, and
/// `HEAD` pointed at the branch (or detached at the commit). As git does,
/// it refuses when a file it would change has changes of its own, or when
/// an untracked file is where it would write one.
pub fn checkout(repo: &gix::Repository, spec: &str) -> Result<String, String> {
    let id = repo.rev_parse_single(spec).map_err(|_| bad_name(spec))?;
    let commit = id.object().map_err(|e| e.to_string())?.peel_to_commit().map_err(|_| bad_name(spec))?;
    let branch = format!("refs/heads/{spec}");
    let is_branch = repo.try_find_reference(branch.as_str()).map_err(|e| e.to_string())?.is_some();
    let root = workdir(repo)?;
    let target_tree = commit.tree_id().map_err(|e| e.to_string())?.detach();
    let moving = changes::tree_to_tree(repo, changes::head_tree(repo)?, target_tree)?;

    let staged = changes::head_to_index(repo)?;
    let unstaged = changes::index_to_worktree(repo)?;
    let touched = |change: &changes::FileChange| {
        [&change.old, &change.new].into_iter().flatten().map(|side| side.path.clone()).collect::<Vec<_>>()
    };
    // A file deleted from the working tree only is not in the way: there is
    // nothing there to overwrite.
    let local: std::collections::BTreeSet<String> =
        staged.iter().chain(unstaged.iter().filter(|c| c.new.is_some())).flat_map(touched).collect();
    let mut blocked: Vec<String> = moving.iter().flat_map(touched).filter(|p| local.contains(p)).collect();
    blocked.sort();
    blocked.dedup();
    if !blocked.is_empty() {
        return Err(format!(
            "Your local changes to the following files would be overwritten by checkout:\n\t{}\n\
             Please commit your changes or stash them before you switch branches.\nAborting",
            blocked.join("\n\t")
        ));
    }
    let untracked = changes::untracked(repo, gix::status::UntrackedFiles::Files)?;
    let mut in_the_way: Vec<String> = moving
        .iter()
        .filter(|c| c.old.is_none())
        .filter_map(|c| c.new.as_ref().map(|s| s.path.clone()))
        .filter(|p| untracked.contains(p))
        .collect();
    in_the_way.sort();
    if !in_the_way.is_empty() {
        return Err(format!(
            "The following untracked working tree files would be overwritten by checkout:\n\t{}\n\
             Please move or remove them before you switch branches.\nAborting",
            in_the_way.join("\n\t")
        ));
    }

    let mut index = repo.open_index().map_err(|e| e.to_string())?;
    let mut entries: Vec<(BString, gix::index::entry::Stat, u32, ObjectId)> = Vec::new();
    let mut gone: Vec<BString> = Vec::new();
    for change in &moving {
        if let Some(old) = &change.old
            && change.new.as_ref().is_none_or(|new| new.path != old.path)
        {
            let full = root.join(&old.path);
            std::fs::remove_file(&full).map_err(|e| format!("{}: {e}", old.path))?;
            remove_empty_parents(root, &full);
            gone.push(old.path.as_str().into());
        }
        if let Some(new) = &change.new {
            let full = root.join(&new.path);
            if new.mode & 0o170000 == 0o120000 {
                return Err(format!("{}: the component cannot create a symlink", new.path));
            }
            if let Some(parent) = full.parent() {
                std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", new.path))?;
            }
            std::fs::write(&full, &new.data).map_err(|e| format!("{}: {e}", new.path))?;
            let stat = gix::index::fs::Metadata::from_path_no_follow(&full)
                .ok()
                .and_then(|m| gix::index::entry::Stat::from_fs(&m).ok())
                .unwrap_or_default();
            entries.push((new.path.as_str().into(), stat, new.mode, new.id));
        }
    }
    index.remove_entries(|_, path, _| {
        gone.iter().any(|g| g.as_bstr() == path) || entries.iter().any(|(p, ..)| p.as_bstr() == path)
    });
    for (path, stat, mode, id) in &entries {
        let mode = gix::index::entry::Mode::from_bits(*mode).unwrap_or(gix::index::entry::Mode::FILE);
        index.dangerously_push_entry(*stat, *id, gix::index::entry::Flags::empty(), mode, path.as_bstr());
    }
    write_index(&mut index)?;

    let from = repo
        .head_name()
        .ok()
        .flatten()
        .map(|n| n.shorten().to_string())
        .or_else(|| repo.head_id().ok().map(|id| id.to_string()))
        .unwrap_or_default();
    let new = match is_branch {
        true => gix::refs::Target::Symbolic(branch.as_str().try_into().map_err(|e| format!("{e}"))?),
        false => gix::refs::Target::Object(commit.id),
    };
    repo.edit_reference(RefEdit {
        change: Change::Update {
            log: LogChange {
                mode: RefLog::AndReference,
                force_create_reflog: false,
                message: format!("checkout: moving from {from} to {spec}").into(),
            },
            expected: PreviousValue::Any,
            new,
        },
        name: "HEAD".try_into().map_err(|e| format!("{e}"))?,
        deref: false,
    })
    .map_err(|e| e.to_string())?;
    Ok(match is_branch {
        true => format!("Switched to branch '{spec}'"),
        false => format!("HEAD is now detached at {}", commit.id.to_hex_with_len(7)),
    })
}

/// Directories left empty by a removed file, up to the top of the tree.
fn remove_empty_parents(root: &Path, file: &Path) {
    let mut dir = file.parent();
    while let Some(current) = dir {
        if current == root || std::fs::remove_dir(current).is_err() {
            break;
        }
        dir = current.parent();
    }
}

/// The index, entries in order and the cached trees dropped (they no
/// longer match), written back through its lock file.
fn write_index(index: &mut gix::index::File) -> Result<(), String> {
    index.sort_entries();
    index.remove_tree();
    index.write(gix::index::write::Options::default()).map_err(|e| format!("cannot write the index: {e}"))
}

/// Refuses a change to a repository the component cannot write (a
/// read-only grant), before anything is attempted: a file is created in
/// its git directory and removed again.
pub fn writable(repo: &gix::Repository) -> Result<(), String> {
    let probe = repo.git_dir().join("moat-write-check");
    match std::fs::OpenOptions::new().write(true).create_new(true).open(&probe) {
        Ok(_) => {
            let _ = std::fs::remove_file(&probe);
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(format!(
            "cannot write to the repository at {} ({e}): the tools that change a repository need \
             it granted read-write (mode = \"rw\")",
            workdir(repo).unwrap_or(repo.git_dir()).display()
        )),
    }
}

/// The working tree's top directory.
fn workdir(repo: &gix::Repository) -> Result<&Path, String> {
    repo.workdir().ok_or_else(|| "the repository has no working tree".to_string())
}
