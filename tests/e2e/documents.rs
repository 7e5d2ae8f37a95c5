//! The repository's documents: every relative link in a Markdown file points
//! at a file or folder of this repository, and every `#anchor` at a heading of
//! the page it names. Links to other sites are not followed (the tests have no
//! network), and the threat model links to nothing outside the repository.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// The Markdown files of the repository, outside dependencies and builds.
fn documents(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if path.is_dir() {
            if !matches!(name.as_str(), "target" | "node_modules" | "vendor" | ".git" | "dist") {
                documents(&path, out);
            }
        } else if name.ends_with(".md") {
            out.push(path);
        }
    }
}

/// The targets of inline links `[text](target)` outside code blocks and spans.
fn links(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut in_block = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            in_block = !in_block;
            continue;
        }
        if in_block {
            continue;
        }
        // Code spans hold examples, not links (a link's text may be one:
        // "[`x`](y)" reads as "[](y)").
        let prose: String = line.split('`').step_by(2).collect();
        let mut rest = prose.as_str();
        while let Some(at) = rest.find("](") {
            rest = &rest[at + 2..];
            let end = rest.find(')').unwrap_or(rest.len());
            let target = rest[..end].split_whitespace().next().unwrap_or("").to_string();
            out.push(target);
            rest = &rest[end..];
        }
    }
    out
}

/// The anchors GitHub gives a page's headings: lowercased, punctuation
/// dropped, spaces as hyphens.
fn anchors(text: &str) -> BTreeSet<String> {
    let mut in_block = false;
    let mut out = BTreeSet::new();
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            in_block = !in_block;
        }
        if in_block || !line.starts_with('#') {
            continue;
        }
        let heading = line.trim_start_matches('#').trim().to_lowercase();
        let anchor: String = heading
            .chars()
            .filter(|c| c.is_alphanumeric() || *c == ' ' || *c == '-' || *c == '_')
            .map(|c| if c == ' ' { '-' } else { c })
            .collect();
        out.insert(anchor);
    }
    out
}

fn broken_links(root: &Path) -> Vec<String> {
    let mut files = Vec::new();
    documents(root, &mut files);
    files.sort();
    let mut broken = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        let shown = file.strip_prefix(root).unwrap().display().to_string();
        for target in links(&text) {
            if target.starts_with("http://")
                || target.starts_with("https://")
                || target.starts_with("mailto:")
            {
                if shown == "docs/threat-model.md" {
                    broken.push(format!("{shown}: {target} points outside the repository"));
                }
                continue;
            }
            let (path, anchor) = target.split_once('#').unwrap_or((&target, ""));
            let page = if path.is_empty() { file.clone() } else { file.parent().unwrap().join(path) };
            if !page.exists() {
                broken.push(format!("{shown}: {target} does not exist"));
                continue;
            }
            if !anchor.is_empty() && page.extension().is_some_and(|e| e == "md") {
                let headings = anchors(&std::fs::read_to_string(&page).unwrap());
                if !headings.contains(anchor) {
                    broken.push(format!("{shown}: {target} names no heading of its page"));
                }
            }
            if !page.canonicalize().unwrap().starts_with(root.canonicalize().unwrap()) {
                broken.push(format!("{shown}: {target} leaves the repository"));
            }
        }
    }
    broken
}

#[test]
fn every_link_in_the_documents_resolves_inside_the_repository() {
    let root = repository();
    let mut files = Vec::new();
    documents(&root, &mut files);
    assert!(
        files.iter().any(|f| f.ends_with("docs/threat-model.md")),
        "the threat model is in the repository"
    );
    let broken = broken_links(&root);
    assert!(broken.is_empty(), "broken links:\n  {}", broken.join("\n  "));
}

#[test]
fn a_missing_page_a_missing_heading_and_an_outside_link_are_each_reported() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("repo");
    std::fs::create_dir_all(root.join("docs")).unwrap();
    let readme = "# Top\n\n[guide](docs/guide.md#set-up-once) [no such heading](docs/guide.md#setup)\n\
        [gone](docs/gone.md) `[a code span](nowhere.md)`\n```\n[in a block](nowhere.md)\n```\n\
        only `[a code span](nowhere.md)` on this line\n[`code` as text](docs/guide.md)\n";
    std::fs::write(root.join("README.md"), readme).unwrap();
    std::fs::write(root.join("docs/guide.md"), "# Guide\n\n## Set-up, once\n\n[out](../../outside.md)\n")
        .unwrap();
    std::fs::write(
        root.join("docs/threat-model.md"),
        "[spec](https://example.com/spec) [top](../README.md#top)\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("outside.md"), "").unwrap();
    assert_eq!(
        broken_links(&root),
        [
            "README.md: docs/guide.md#setup names no heading of its page",
            "README.md: docs/gone.md does not exist",
            "docs/guide.md: ../../outside.md leaves the repository",
            "docs/threat-model.md: https://example.com/spec points outside the repository",
        ]
    );
}
