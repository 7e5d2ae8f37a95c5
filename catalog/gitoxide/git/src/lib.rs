//! The tools of PyPI's `mcp-server-git` as a sandboxed component: status,
//! the three diffs, log, show and branch answer in the words of the git
//! command the original runs; add, reset, commit, create-branch and checkout
//! change the repository as the original does. The repository is read and
//! written through gitoxide in the component's file grant (its WASI
//! preopen), at the same path inside as outside; no program runs. This
//! file owns the tools' arguments, the grant check and opening the
//! repository; the answers are built in the modules below.

wit_bindgen::generate!({ world: "git", path: "wit", generate_all });

mod branch;
mod changes;
mod log;
mod patch;
mod show;
mod status;
mod write;

use std::path::Path;

use moat::host::content::Kind;

/// Context lines when a call gives none, as the original's default.
const DEFAULT_CONTEXT_LINES: i64 = 3;

struct Git;

impl Guest for Git {
    fn git_status(repo_path: String) -> Result<Vec<Block>, String> {
        let repo = open(&repo_path)?;
        Ok(text(format!("Repository status:\n{}", status::long_format(&repo)?)))
    }

    fn git_diff_unstaged(repo_path: String, context_lines: Option<i64>) -> Result<Vec<Block>, String> {
        let repo = open(&repo_path)?;
        let context = context(context_lines)?;
        let files = changes::index_to_worktree(&repo)?;
        Ok(text(format!("Unstaged changes:\n{}", patch::git_diff(&files, context))))
    }

    fn git_diff_staged(repo_path: String, context_lines: Option<i64>) -> Result<Vec<Block>, String> {
        let repo = open(&repo_path)?;
        let context = context(context_lines)?;
        let files = changes::head_to_index(&repo)?;
        Ok(text(format!("Staged changes:\n{}", patch::git_diff(&files, context))))
    }

    fn git_diff(repo_path: String, target: String, context_lines: Option<i64>) -> Result<Vec<Block>, String> {
        let repo = open(&repo_path)?;
        if target.starts_with('-') {
            return Err(format!("Invalid target: '{target}' - cannot start with '-'"));
        }
        let tree = changes::resolve(&repo, &target)?;
        let context = context(context_lines)?;
        let files = changes::tree_to_worktree(&repo, tree)?;
        Ok(text(format!("Diff with {target}:\n{}", patch::git_diff(&files, context))))
    }

    fn git_log(
        repo_path: String,
        max_count: Option<i64>,
        start_timestamp: Option<String>,
        end_timestamp: Option<String>,
    ) -> Result<Vec<Block>, String> {
        let repo = open(&repo_path)?;
        let since = start_timestamp.filter(|s| !s.is_empty());
        let until = end_timestamp.filter(|s| !s.is_empty());
        for (name, value) in [("start_timestamp", &since), ("end_timestamp", &until)] {
            if let Some(value) = value.as_deref().filter(|v| v.starts_with('-')) {
                return Err(format!("Invalid {name}: '{value}' - cannot start with '-'"));
            }
        }
        let entries = log::entries(&repo, max_count.unwrap_or(10), since.as_deref(), until.as_deref())?;
        Ok(text(format!("Commit history:\n{}", entries.join("\n"))))
    }

    fn git_show(repo_path: String, revision: String) -> Result<Vec<Block>, String> {
        let repo = open(&repo_path)?;
        if revision.starts_with('-') {
            return Err(format!("Invalid revision: '{revision}' - cannot start with '-'"));
        }
        show::show(&repo, &revision).map(text)
    }

    fn git_branch(
        repo_path: String,
        branch_type: String,
        contains: Option<String>,
        not_contains: Option<String>,
    ) -> Result<Vec<Block>, String> {
        let repo = open(&repo_path)?;
        if let Some(value) = contains.as_deref().filter(|v| v.starts_with('-')) {
            return Err(format!("Invalid contains value: '{value}' - cannot start with '-'"));
        }
        if let Some(value) = not_contains.as_deref().filter(|v| v.starts_with('-')) {
            return Err(format!("Invalid not_contains value: '{value}' - cannot start with '-'"));
        }
        let kind = match branch_type.as_str() {
            "local" => branch::Kind::Local,
            "remote" => branch::Kind::Remote,
            "all" => branch::Kind::All,
            other => return Err(format!("Invalid branch type: {other}")),
        };
        branch::list(&repo, kind, contains.as_deref(), not_contains.as_deref()).map(text)
    }

    fn git_commit(repo_path: String, message: String) -> Result<Vec<Block>, String> {
        let repo = open(&repo_path)?;
        write::writable(&repo)?;
        write::commit(&repo, &message).map(text)
    }

    fn git_add(repo_path: String, files: Vec<String>) -> Result<Vec<Block>, String> {
        let repo = open(&repo_path)?;
        write::writable(&repo)?;
        write::add(&repo, &files).map(text)
    }

    fn git_reset(repo_path: String) -> Result<Vec<Block>, String> {
        let repo = open(&repo_path)?;
        write::writable(&repo)?;
        write::reset(&repo).map(text)
    }

    fn git_create_branch(
        repo_path: String,
        branch_name: String,
        base_branch: Option<String>,
    ) -> Result<Vec<Block>, String> {
        let repo = open(&repo_path)?;
        if branch_name.starts_with('-') {
            return Err(format!("Invalid branch name: '{branch_name}' - cannot start with '-'"));
        }
        if let Some(base) = base_branch.as_deref().filter(|b| b.starts_with('-')) {
            return Err(format!("Invalid base branch: '{base}' - cannot start with '-'"));
        }
        write::writable(&repo)?;
        write::create_branch(&repo, &branch_name, base_branch.as_deref().filter(|b| !b.is_empty())).map(text)
    }

    fn git_checkout(repo_path: String, branch_name: String) -> Result<Vec<Block>, String> {
        let repo = open(&repo_path)?;
        if branch_name.starts_with('-') {
            return Err(format!("Invalid branch name: '{branch_name}' - cannot start with '-'"));
        }
        write::writable(&repo)?;
        write::checkout(&repo, &branch_name).map(text)
    }
}

/// An answer: one text block, as the original's (no structured content).
fn text(answer: String) -> Vec<Block> {
    vec![Block { kind: Kind::Text(answer), annotations: None }]
}

/// `--unified=N` as git reads it: a negative count is refused.
fn context(lines: Option<i64>) -> Result<usize, String> {
    let lines = lines.unwrap_or(DEFAULT_CONTEXT_LINES);
    usize::try_from(lines).map_err(|_| format!("invalid --unified value: {lines}"))
}

/// The repository at `repo_path`, which must lie inside a granted directory
/// (the original's `--repository`) and be a repository's top level or its
/// git directory, as GitPython's `Repo(path)` requires.
fn open(repo_path: &str) -> Result<gix::Repository, String> {
    let grants: Vec<String> =
        wasip2::filesystem::preopens::get_directories().into_iter().map(|(_, path)| path).collect();
    let path = lexical(repo_path);
    let inside = |grant: &String| {
        let grant = lexical(grant);
        path == grant || grant == "/" || path.starts_with(&format!("{grant}/"))
    };
    if !grants.iter().any(inside) {
        let allowed = grants.first().map(String::as_str).unwrap_or("(no directory is granted)");
        return Err(format!("Repository path '{repo_path}' is outside the allowed repository '{allowed}'"));
    }
    if std::fs::metadata(&path).is_err() {
        return Err(path);
    }
    let options = gix::open::Options::isolated();
    gix::open_opts(Path::new(&path), options).map_err(|_| path)
}

/// `path` made absolute against `/`, with `.`, `..` and doubled slashes
/// resolved, as `Path.resolve` does without symlinks (the sandbox has none
/// that lead out of a grant).
fn lexical(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    format!("/{}", parts.join("/"))
}

export!(Git);
