//! `git branch` (`-r`, `-a`, `--contains`, `--no-contains`) as git prints
//! it: branches by name, the current one marked `*`, a detached `HEAD`
//! first, a symbolic remote ref as `name -> target`.

use gix::ObjectId;

/// Which branches `git_branch` lists.
#[derive(Clone, Copy, PartialEq)]
pub enum Kind {
    Local,
    Remote,
    All,
}

/// One line of the listing, before the filters.
struct Line {
    text: String,
    tip: Option<ObjectId>,
}

/// The listing, filtered by what each branch's tip contains.
pub fn list(
    repo: &gix::Repository,
    kind: Kind,
    contains: Option<&str>,
    not_contains: Option<&str>,
) -> Result<String, String> {
    let commit = |spec: &str| -> Result<ObjectId, String> {
        let id = repo.rev_parse_single(spec).map_err(|_| format!("malformed object name {spec}"))?;
        let object = id.object().map_err(|e| e.to_string())?;
        let commit = object.peel_to_commit().map_err(|_| format!("no such commit {spec}"))?;
        Ok(commit.id)
    };
    let contains = contains.map(commit).transpose()?;
    let not_contains = not_contains.map(commit).transpose()?;

    let current = repo.head_name().map_err(|e| e.to_string())?;
    let mut lines = Vec::new();
    if kind != Kind::Remote && current.is_none() {
        let head = repo.head_id().map_err(|e| e.to_string())?;
        lines.push(Line {
            text: format!("* (HEAD detached at {})", head.to_hex_with_len(7)),
            tip: Some(head.detach()),
        });
    }
    let references = repo.references().map_err(|e| e.to_string())?;
    if kind != Kind::Remote {
        for reference in references.local_branches().map_err(|e| e.to_string())? {
            let mut reference = reference.map_err(|e| e.to_string())?;
            let name = reference.name().shorten().to_string();
            let mark =
                if current.as_ref().is_some_and(|c| c.as_ref() == reference.name()) { '*' } else { ' ' };
            let tip = reference.peel_to_id().ok().map(|id| id.detach());
            lines.push(Line { text: format!("{mark} {name}"), tip });
        }
    }
    if kind != Kind::Local {
        let prefix = if kind == Kind::All { "remotes/" } else { "" };
        for reference in references.remote_branches().map_err(|e| e.to_string())? {
            let mut reference = reference.map_err(|e| e.to_string())?;
            let name = reference.name().shorten().to_string();
            let text = match reference.target() {
                gix::refs::TargetRef::Symbolic(target) => {
                    format!("  {prefix}{name} -> {}", target.shorten())
                }
                gix::refs::TargetRef::Object(_) => format!("  {prefix}{name}"),
            };
            let tip = reference.peel_to_id().ok().map(|id| id.detach());
            lines.push(Line { text, tip });
        }
    }
    let mut kept = Vec::new();
    for line in lines {
        let Some(tip) = line.tip else { continue };
        if let Some(wanted) = contains
            && !reaches(repo, tip, wanted)?
        {
            continue;
        }
        if let Some(unwanted) = not_contains
            && reaches(repo, tip, unwanted)?
        {
            continue;
        }
        kept.push(line.text);
    }
    Ok(kept.join("\n"))
}

/// Whether `commit` is `tip` or one of its ancestors.
fn reaches(repo: &gix::Repository, tip: ObjectId, commit: ObjectId) -> Result<bool, String> {
    for info in repo.rev_walk([tip]).all().map_err(|e| e.to_string())? {
        if info.map_err(|e| e.to_string())?.id == commit {
            return Ok(true);
        }
    }
    Ok(false)
}
