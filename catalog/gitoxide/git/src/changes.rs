//! Which files differ between two of a repository's states (a tree, the
//! index, the working tree), paired as git pairs them: by path, with a
//! deleted and an added file of the same content seen as a rename, in the
//! order git prints them (by path, bytewise).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use gix::ObjectId;
use gix::bstr::{BString, ByteSlice};

/// One side of a changed file: where it is, its mode and its blob.
#[derive(Clone, Debug, PartialEq)]
pub struct Side {
    pub path: String,
    pub mode: u32,
    pub id: ObjectId,
    pub data: Vec<u8>,
}

/// A file that differs: `old` is absent for an added file, `new` for a
/// deleted one; both present with other paths is a rename.
#[derive(Debug)]
pub struct FileChange {
    pub old: Option<Side>,
    pub new: Option<Side>,
}

impl FileChange {
    /// The path git sorts a change by: the new one, or the old for a deletion.
    pub fn path(&self) -> &str {
        match (&self.new, &self.old) {
            (Some(new), _) => &new.path,
            (None, Some(old)) => &old.path,
            (None, None) => "",
        }
    }
}

/// A blob as one side of a change, read lazily: the id is known, the data
/// is read only when the change is printed.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Entry {
    mode: u32,
    id: ObjectId,
}

/// The tree `spec` names (a commit's tree, or a tree), as `git diff TARGET`
/// reads it; an unknown name gets GitPython's `BadName` words.
pub fn resolve(repo: &gix::Repository, spec: &str) -> Result<ObjectId, String> {
    let id = repo.rev_parse_single(spec).map_err(|_| bad_name(spec))?;
    let object = id.object().map_err(|e| e.to_string())?;
    let tree = object.peel_to_tree().map_err(|_| bad_name(spec))?;
    Ok(tree.id)
}

/// GitPython's message for a revision that names nothing.
pub fn bad_name(spec: &str) -> String {
    format!("Ref '{spec}' did not resolve to an object")
}

/// Every blob of tree `id`, by path.
fn tree_entries(repo: &gix::Repository, id: Option<ObjectId>) -> Result<BTreeMap<BString, Entry>, String> {
    let Some(id) = id else { return Ok(BTreeMap::new()) };
    let tree = repo.find_tree(id).map_err(|e| e.to_string())?;
    let mut recorder = gix::traverse::tree::Recorder::default();
    tree.traverse().breadthfirst(&mut recorder).map_err(|e| e.to_string())?;
    Ok(recorder
        .records
        .into_iter()
        .filter(|entry| !entry.mode.is_tree())
        .map(|entry| (entry.filepath, Entry { mode: entry.mode.value() as u32, id: entry.oid }))
        .collect())
}

/// Every entry of the index at stage 0, by path.
fn index_entries(repo: &gix::Repository) -> Result<BTreeMap<BString, Entry>, String> {
    let index = repo.index_or_empty().map_err(|e| e.to_string())?;
    Ok(index
        .entries()
        .iter()
        .filter(|entry| entry.stage_raw() == 0)
        .map(|entry| (entry.path(&index).to_owned(), Entry { mode: entry.mode.bits(), id: entry.id }))
        .collect())
}

/// The tree `HEAD` points at, or none on an unborn branch.
pub fn head_tree(repo: &gix::Repository) -> Result<Option<ObjectId>, String> {
    match repo.head_commit() {
        Ok(commit) => Ok(Some(commit.tree_id().map_err(|e| e.to_string())?.detach())),
        Err(_) if repo.head().map(|head| head.is_unborn()).unwrap_or(false) => Ok(None),
        Err(e) => Err(e.to_string()),
    }
}

/// What the working tree holds at `path` as a blob: a file's bytes, a
/// symlink's target, or nothing when it is gone.
fn worktree_blob(repo: &gix::Repository, path: &BString, index_mode: u32) -> Option<Entry> {
    let full = repo.workdir()?.join(path.to_str_lossy().as_ref());
    let data = worktree_data(&full)?;
    let id = gix::objs::compute_hash(repo.object_hash(), gix::object::Kind::Blob, &data).ok()?;
    Some(Entry { mode: index_mode, id })
}

/// A working-tree path's bytes as git hashes them.
fn worktree_data(full: &Path) -> Option<Vec<u8>> {
    let meta = std::fs::symlink_metadata(full).ok()?;
    if meta.is_symlink() {
        let target = std::fs::read_link(full).ok()?;
        return Some(target.to_string_lossy().into_owned().into_bytes());
    }
    if meta.is_dir() {
        return None;
    }
    std::fs::read(full).ok()
}

/// Staged changes: `HEAD`'s tree against the index (`git diff --cached`).
pub fn head_to_index(repo: &gix::Repository) -> Result<Vec<FileChange>, String> {
    let old = tree_entries(repo, head_tree(repo)?)?;
    let new = index_entries(repo)?;
    pair(repo, old, new, &|_| None, true)
}

/// Unstaged changes: the index against the working tree (`git diff`).
pub fn index_to_worktree(repo: &gix::Repository) -> Result<Vec<FileChange>, String> {
    let old = index_entries(repo)?;
    let new = worktree_entries(repo, &old);
    pair(repo, old, new, &|path| worktree_data(&repo.workdir()?.join(path)), false)
}

/// A tree against the working tree, for the files the index tracks
/// (`git diff TARGET`).
pub fn tree_to_worktree(repo: &gix::Repository, tree: ObjectId) -> Result<Vec<FileChange>, String> {
    let old = tree_entries(repo, Some(tree))?;
    let new = worktree_entries(repo, &index_entries(repo)?);
    pair(repo, old, new, &|path| worktree_data(&repo.workdir()?.join(path)), true)
}

/// What the working tree holds at each of the `tracked` paths, as blobs;
/// a path that is gone is left out.
fn worktree_entries(repo: &gix::Repository, tracked: &BTreeMap<BString, Entry>) -> BTreeMap<BString, Entry> {
    tracked
        .iter()
        .filter_map(|(path, entry)| worktree_blob(repo, path, entry.mode).map(|blob| (path.clone(), blob)))
        .collect()
}

/// The untracked paths that are not ignored, bytewise in order: each file
/// on its own with `UntrackedFiles::Files`, or a directory with nothing
/// tracked in it as `dir/` with `UntrackedFiles::Collapsed` (as `git status`
/// lists them).
pub fn untracked(
    repo: &gix::Repository,
    listing: gix::status::UntrackedFiles,
) -> Result<Vec<String>, String> {
    use gix::status::index_worktree::Item;
    let iter = repo
        .status(gix::progress::Discard)
        .map_err(|e| e.to_string())?
        .untracked_files(listing)
        .index_worktree_rewrites(None)
        .into_index_worktree_iter(Vec::new())
        .map_err(|e| e.to_string())?;
    let mut paths = Vec::new();
    for item in iter {
        if let Item::DirectoryContents { entry, .. } = item.map_err(|e| e.to_string())?
            && entry.status == gix::dir::entry::Status::Untracked
        {
            let mut path = entry.rela_path.to_str_lossy().into_owned();
            if entry.disk_kind == Some(gix::dir::entry::Kind::Directory) {
                path.push('/');
            }
            paths.push(path);
        }
    }
    paths.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    Ok(paths)
}

/// One tree against another (a commit against its parent, for `git show`).
pub fn tree_to_tree(
    repo: &gix::Repository,
    old: Option<ObjectId>,
    new: ObjectId,
) -> Result<Vec<FileChange>, String> {
    let old = tree_entries(repo, old)?;
    let new = tree_entries(repo, Some(new))?;
    pair(repo, old, new, &|_| None, true)
}

/// The changes from `old` to `new`: same path and other blob or mode is a
/// modification; with `renames`, a deleted and an added blob with the same
/// id are one rename (git's exact rename detection, which `git diff` and
/// `git status` do by default). `new_data` reads a new side's bytes from the
/// working tree; otherwise they are read from the object database.
fn pair(
    repo: &gix::Repository,
    old: BTreeMap<BString, Entry>,
    new: BTreeMap<BString, Entry>,
    new_data: &dyn Fn(&str) -> Option<Vec<u8>>,
    renames: bool,
) -> Result<Vec<FileChange>, String> {
    let read = |id: ObjectId| -> Result<Vec<u8>, String> {
        if id.is_null() || id.is_empty_blob() {
            return Ok(Vec::new());
        }
        Ok(repo.find_object(id).map_err(|e| e.to_string())?.detach().data)
    };
    let side = |path: &BString, entry: Entry, from_worktree: bool| -> Result<Side, String> {
        let path = path.to_str_lossy().into_owned();
        let data = match from_worktree.then(|| new_data(&path)).flatten() {
            Some(data) => data,
            None => read(entry.id)?,
        };
        Ok(Side { path, mode: entry.mode, id: entry.id, data })
    };
    let mut deleted: Vec<(&BString, Entry)> = Vec::new();
    let mut added: Vec<(&BString, Entry)> = Vec::new();
    let mut changes = Vec::new();
    let paths: BTreeSet<&BString> = old.keys().chain(new.keys()).collect();
    for path in paths {
        match (old.get(path), new.get(path)) {
            (Some(a), Some(b)) if a == b => {}
            (Some(a), Some(b)) => changes
                .push(FileChange { old: Some(side(path, *a, false)?), new: Some(side(path, *b, true)?) }),
            (Some(a), None) => deleted.push((path, *a)),
            (None, Some(b)) => added.push((path, *b)),
            (None, None) => {}
        }
    }
    for (path, entry) in added {
        let source = renames
            .then(|| deleted.iter().position(|(_, gone)| gone.id == entry.id && !entry.id.is_empty_blob()))
            .flatten();
        let old = match source {
            Some(at) => {
                let (from, gone) = deleted.remove(at);
                Some(side(from, gone, false)?)
            }
            None => None,
        };
        changes.push(FileChange { old, new: Some(side(path, entry, true)?) });
    }
    for (path, entry) in deleted {
        changes.push(FileChange { old: Some(side(path, entry, false)?), new: None });
    }
    changes.sort_by(|a, b| a.path().as_bytes().cmp(b.path().as_bytes()));
    Ok(changes)
}
