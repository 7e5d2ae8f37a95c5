//! Holds the crate to the import direction `lib.rs` states: every reference
//! to another top-level module (`crate::x` in a `use` line or a path) points
//! down the list of layers, and no two modules that are not one inside the
//! other use each other, however indirectly. Read from the source, the way a
//! reader of the `use` lines would.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The layers as `lib.rs` lists them, top to bottom: the numbered lines of
/// its module documentation, each naming its modules in backticks. A module
/// may use only modules of a later layer.
fn layers_stated_in(lib: &str) -> Vec<Vec<String>> {
    let mut layers: Vec<Vec<String>> = Vec::new();
    let mut in_list = false;
    for line in lib.lines() {
        let Some(doc) = line.strip_prefix("//!") else { continue };
        let doc = doc.trim();
        let numbered =
            doc.split_once(". ").filter(|(n, _)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
        let text = match numbered {
            Some((_, rest)) => {
                layers.push(Vec::new());
                in_list = true;
                rest
            }
            None if in_list && !doc.is_empty() => doc,
            None => {
                in_list = false;
                continue;
            }
        };
        let names = text.split('`').skip(1).step_by(2).map(str::to_string);
        layers.last_mut().expect("a numbered line came first").extend(names);
    }
    layers
}

fn layer_of(layers: &[Vec<String>], module: &str) -> Option<usize> {
    layers.iter().position(|layer| layer.iter().any(|m| m == module))
}

/// Every `.rs` file under `dir`, with its module path (`runtime::notices`).
fn modules(dir: &Path, prefix: &[String], out: &mut Vec<(Vec<String>, PathBuf)>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    entries.sort();
    for path in entries {
        let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
        if path.is_dir() {
            let mut inner = prefix.to_vec();
            inner.push(stem);
            modules(&path, &inner, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let mut module = prefix.to_vec();
            if !matches!(stem.as_str(), "mod" | "lib" | "main") {
                module.push(stem);
            }
            out.push((module, path));
        }
    }
}

/// The code of a file without comments (doc links are not imports).
fn code(text: &str) -> String {
    text.lines().filter(|line| !line.trim_start().starts_with("//")).collect::<Vec<_>>().join("\n")
}

/// The module paths a file names: `crate::a::b...` and `super::...` paths,
/// and the members of `use crate::{a, b::c}` groups.
fn references(module: &[String], text: &str) -> Vec<Vec<String>> {
    let code = code(text);
    let mut out = Vec::new();
    let path_at = |rest: &str| -> Vec<String> {
        rest.split("::")
            .map(|s| s.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect::<String>())
            .take_while(|s| !s.is_empty())
            .collect()
    };
    for (at, _) in code.match_indices("crate::") {
        let rest = &code[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            // Members of a group at its first level.
            let mut depth = 0;
            let mut member = String::new();
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        out.push(path_at(member.trim()));
                        member.clear();
                        continue;
                    }
                    _ => {}
                }
                if depth == 0 || c != '{' {
                    member.push(c);
                }
            }
            out.push(path_at(member.trim()));
        } else {
            out.push(path_at(rest));
        }
    }
    // `super::x` in module `a::b` (its own file or `a/b/mod.rs`) names `a::x`.
    let parent: Vec<String> = module[..module.len().saturating_sub(1)].to_vec();
    for (at, _) in code.match_indices("super::") {
        if at > 0 && code[..at].ends_with("::") {
            continue;
        }
        let mut path = parent.clone();
        path.extend(path_at(&code[at + "super::".len()..]));
        out.push(path);
    }
    out.retain(|path| !path.is_empty());
    out
}

/// What breaks the direction: references up or across the layers, and
/// modules that use each other (however indirectly) without being one inside
/// the other. `files` holds each module's path and source.
fn violations(layers: &[Vec<String>], files: &[(Vec<String>, String)]) -> Vec<String> {
    let known: BTreeSet<Vec<String>> = files.iter().map(|(m, _)| m.clone()).collect();
    // The longest known module a path starts with.
    let resolve = |path: &[String]| -> Option<Vec<String>> {
        (1..=path.len()).rev().map(|n| path[..n].to_vec()).find(|p| known.contains(p))
    };
    let mut wrong = Vec::new();
    let mut edges: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = BTreeMap::new();
    for (module, text) in files {
        if module.is_empty() || module[0] == "layering" {
            continue;
        }
        let Some(from) = layer_of(layers, &module[0]) else {
            wrong.push(format!("{} is in no layer of the list in lib.rs", module[0]));
            continue;
        };
        for reference in references(module, text) {
            let Some(target) = resolve(&reference) else { continue };
            if target[0] != module[0] {
                match layer_of(layers, &target[0]) {
                    Some(to) if to > from => {}
                    _ => wrong.push(format!(
                        "{} uses {}: up or across the layers",
                        module.join("::"),
                        target.join("::")
                    )),
                }
            }
            let related = target.starts_with(module) || module.starts_with(&target);
            if !related {
                edges.entry(module.clone()).or_default().insert(target);
            }
        }
    }
    fn reach(
        from: &Vec<String>,
        edges: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>,
        seen: &mut BTreeSet<Vec<String>>,
    ) {
        for next in edges.get(from).into_iter().flatten() {
            if seen.insert(next.clone()) {
                reach(next, edges, seen);
            }
        }
    }
    for (module, targets) in &edges {
        for target in targets {
            let mut seen = BTreeSet::new();
            reach(target, &edges, &mut seen);
            if seen.contains(module) {
                wrong.push(format!("{} and {} use each other", module.join("::"), target.join("::")));
            }
        }
    }
    wrong.sort();
    wrong.dedup();
    wrong
}

#[test]
fn imports_run_one_way_down_the_layers_and_no_modules_use_each_other() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut paths = Vec::new();
    modules(&src, &[], &mut paths);
    let files: Vec<(Vec<String>, String)> =
        paths.into_iter().map(|(module, path)| (module, std::fs::read_to_string(path).unwrap())).collect();
    let lib = &files.iter().find(|(module, _)| module.is_empty()).expect("lib.rs").1;
    let layers = layers_stated_in(lib);
    assert!(layers.len() > 5, "lib.rs lists its layers: {layers:?}");
    let wrong = violations(&layers, &files);
    assert!(wrong.is_empty(), "the import direction is broken:\n  {}", wrong.join("\n  "));
}

#[test]
fn an_upward_import_and_a_circle_are_both_reported() {
    let lib = "//! Layers:\n//!\n//! 1. `top`\n//! 2. `middle`, `other`\n//! 3. the leaves: `leaf`,\n//!    `also`\n";
    let layers = layers_stated_in(lib);
    assert_eq!(layers, [vec!["top"], vec!["middle", "other"], vec!["leaf", "also"]]);
    let file =
        |module: &[&str], text: &str| (module.iter().map(|s| s.to_string()).collect(), text.to_string());
    let files = vec![
        file(&["top"], "use crate::middle::Thing;\n"),
        file(&["middle"], "use crate::leaf;\n"),
        file(&["leaf"], "fn f() { crate::top::run() }\n"),
        file(&["other"], "use crate::other::a;\n"),
        file(&["other", "a"], "use super::b::B;\n"),
        file(&["other", "b"], "use super::a::A;\n"),
        file(&["also"], "// crate::top in a comment is no import\n"),
    ];
    assert_eq!(
        violations(&layers, &files),
        [
            // top → middle → leaf → top is one circle, seen from each member.
            "leaf and top use each other",
            "leaf uses top: up or across the layers",
            "middle and leaf use each other",
            "other::a and other::b use each other",
            "other::b and other::a use each other",
            "top and middle use each other",
        ]
    );
}

#[test]
fn the_reader_sees_group_members_and_super_paths() {
    let module = vec!["runtime".to_string(), "notices".to_string()];
    let text =
        "use crate::{limits::Limits, vet};\nuse super::call_state::CallState;\n// crate::cli in a comment\n";
    let found = references(&module, text);
    assert!(found.contains(&vec!["limits".to_string(), "Limits".to_string()]), "{found:?}");
    assert!(found.contains(&vec!["vet".to_string()]), "{found:?}");
    assert!(found.contains(&vec!["runtime".to_string(), "call_state".to_string(), "CallState".to_string()]));
    assert!(!found.iter().any(|p| p[0] == "cli"), "{found:?}");
}
