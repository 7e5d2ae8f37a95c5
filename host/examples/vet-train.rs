//! Trains the learned part of `moat vet` (`host/src/vet/intent/learned`)
//! and writes its weights:
//!
//! ```sh
//! cargo run --release --example vet-train            # writes weights.tsv
//! cargo run --release --example vet-train -- --dry   # prints the figures only
//! ```
//!
//! The data is this repository's: the tuned sets of `tests/vet` (poisoned
//! and benign definitions written for the project) and published servers'
//! tool lists in `tests/vet/real` (benign). Sets that are never tuned on are
//! never read here. Each clause of a definition is read as `moat vet` reads
//! it ([`moat::vet::learned_clauses`]); a benign definition's clauses are
//! all benign, and a poisoned definition is taken to be poisoned in its
//! clause the model scores highest (multiple-instance learning), since the
//! sets label definitions, not clauses.
//!
//! The model is logistic regression fitted by AdaGrad with an L2 penalty,
//! deterministic (a fixed order, no randomness). Its threshold comes from
//! five-fold cross-validation grouped by case and by server: the lowest
//! score at which the held-out benign definitions are flagged no more than
//! [`BENIGN_BUDGET`] of the time. The figures printed are those held-out
//! ones, never the fitted model's own.
//!
//! The fitting's settings can be tried without editing this file, for
//! `--dry` runs: `EPOCHS` (15), `POS` (the poisoned clauses' total weight as
//! a share of the benign ones', 0.25), `L2` (1e-3), `WORDS` (how many times
//! harder words are held back than word families, 10), `LR` (0.2); `SHOW=1`
//! lists the highest-scoring held-out benign definitions.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use moat::vet::intent::learned::RULE;
use moat::vet::{Context, Severity, learned_clauses, parameter_names, vet_tool};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// The tuned sets of `tests/vet` the model learns from.
const SETS: &[&str] = &[
    "dev.jsonl",
    "train.jsonl",
    "train2.jsonl",
    "adversarial.jsonl",
    "holdout.jsonl",
    "unseen.jsonl",
    "unseen2.jsonl",
];
/// Published servers' tool lists (benign), under `tests/vet/real`.
const SERVERS: &[&str] = &["tuned", "unseen"];
/// Poisoned categories whose text is not the attack (it is hidden in
/// characters, encodings, annotations or schema names and values, which
/// other rules read: learning from them would teach the model that "Adds two
/// numbers." is poisoned), and self-promotion, which is low by design.
const NOT_TEXT: &[&str] = &[
    "invisible",
    "invisible-unicode",
    "encoded",
    "confusable",
    "obfuscation",
    "annotations",
    "schema-channel",
    "self-promotion",
];
/// The share of held-out benign definitions the threshold may flag.
const BENIGN_BUDGET: f64 = 0.0075;
const FOLDS: u64 = 5;
/// A fitting setting: the environment variable `name`, or `default`.
fn knob(name: &str, default: f32) -> f32 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}
/// A feature must occur in this many definitions to be weighed at all.
const MIN_DEFINITIONS: usize = 2;

struct Definition {
    /// Where it comes from: `set.jsonl:id` or `real/split/server.json:tool`.
    origin: String,
    poisoned: bool,
    fold: u64,
    /// Each clause's feature names.
    clauses: Vec<Vec<String>>,
    /// Whether the rules alone flag it (a finding at medium or worse that
    /// is not the model's).
    by_rules: bool,
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/vet")
}

fn fold_of(key: &str) -> u64 {
    let digest = Sha256::digest(key.as_bytes());
    u64::from_le_bytes(digest[..8].try_into().unwrap()) % FOLDS
}

fn features_of(tool: &Value, context: &Context) -> Vec<Vec<String>> {
    learned_clauses(tool, context).into_iter().map(|clause| clause.features).collect()
}

fn by_rules(tool: &Value, context: &Context) -> bool {
    vet_tool(tool, context).findings.iter().any(|f| f.severity >= Severity::Medium && f.rule != RULE)
}

fn load_set(file: &str, out: &mut Vec<Definition>, provenance: &mut Vec<String>) {
    let path = root().join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    provenance.push(format!("tests/vet/{file} sha256 {:x}", Sha256::digest(text.as_bytes())));
    for (n, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let case: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{file}:{}: {e}", n + 1));
        let poisoned = case["label"] == "malicious";
        let category = case["category"].as_str().unwrap_or("");
        if poisoned && (NOT_TEXT.contains(&category) || case["min_severity"] == "low") {
            continue;
        }
        let name = case["name"].as_str().unwrap_or("demo.tool").to_string();
        let tool = json!({
            "name": name,
            "description": case["description"],
            "inputSchema": case.get("schema").cloned().unwrap_or(json!({"type": "object", "properties": {}})),
        });
        let strings = |key: &str| -> Vec<String> {
            case[key].as_array().into_iter().flatten().filter_map(|v| v.as_str().map(String::from)).collect()
        };
        let mut siblings = strings("siblings");
        siblings.push(name);
        let context = Context { siblings, others: strings("others"), vocabulary: Vec::new() };
        let origin = format!("{file}:{}", case["id"].as_str().unwrap_or("?"));
        out.push(Definition {
            fold: fold_of(&origin),
            origin,
            poisoned,
            clauses: features_of(&tool, &context),
            by_rules: by_rules(&tool, &context),
        });
    }
}

fn load_servers(split: &str, out: &mut Vec<Definition>, provenance: &mut Vec<String>) {
    let dir = root().join("real").join(split);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    let mut digest = Sha256::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        digest.update(text.as_bytes());
        let capture: Value =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let tools = capture["tools"].as_array().cloned().unwrap_or_default();
        let siblings: Vec<String> =
            tools.iter().filter_map(|t| t["name"].as_str().map(String::from)).collect();
        let context = Context { siblings, others: Vec::new(), vocabulary: parameter_names(&tools) };
        let server = format!("real/{split}/{}", file.file_name().unwrap().to_string_lossy());
        for tool in &tools {
            out.push(Definition {
                origin: format!("{server}:{}", tool["name"].as_str().unwrap_or("?")),
                poisoned: false,
                fold: fold_of(&server),
                clauses: features_of(tool, &context),
                by_rules: by_rules(tool, &context),
            });
        }
    }
    provenance.push(format!(
        "tests/vet/real/{split}/*.json ({} servers) sha256 {:x}",
        files.len(),
        digest.finalize()
    ));
}

/// Definitions with their features as indices of `names`.
struct Indexed {
    poisoned: bool,
    clauses: Vec<Vec<usize>>,
}

fn index(definitions: &[&Definition], names: &HashMap<String, usize>) -> Vec<Indexed> {
    definitions
        .iter()
        .map(|d| Indexed {
            poisoned: d.poisoned,
            clauses: d
                .clauses
                .iter()
                .map(|c| {
                    let mut ids: Vec<usize> = c.iter().filter_map(|n| names.get(n).copied()).collect();
                    ids.sort_unstable();
                    ids.dedup();
                    ids
                })
                .filter(|c| !c.is_empty())
                .collect(),
        })
        .filter(|d| !d.clauses.is_empty())
        .collect()
}

/// Feature names that occur in at least [`MIN_DEFINITIONS`] of `definitions`.
fn vocabulary(definitions: &[&Definition]) -> (Vec<String>, HashMap<String, usize>) {
    let mut count: HashMap<&str, usize> = HashMap::new();
    for d in definitions {
        let mut seen: Vec<&str> = d.clauses.iter().flatten().map(String::as_str).collect();
        seen.sort_unstable();
        seen.dedup();
        for name in seen {
            *count.entry(name).or_default() += 1;
        }
    }
    let mut names: Vec<String> =
        count.into_iter().filter(|(_, n)| *n >= MIN_DEFINITIONS).map(|(name, _)| name.to_string()).collect();
    names.sort();
    let ids = names.iter().enumerate().map(|(i, n)| (n.clone(), i)).collect();
    (names, ids)
}

fn score(weights: &[f32], clause: &[usize]) -> f32 {
    clause.iter().map(|&i| weights[i]).sum()
}

fn best_clause(weights: &[f32], d: &Indexed) -> usize {
    (0..d.clauses.len())
        .max_by(|&a, &b| score(weights, &d.clauses[a]).total_cmp(&score(weights, &d.clauses[b])))
        .unwrap()
}

fn train(data: &[Indexed], names: &[String]) -> Vec<f32> {
    let features = names.len();
    let mut weights = vec![0.0f32; features];
    let mut squares = vec![1e-6f32; features];
    // Words are held back harder than word families: a family says what a
    // clause does in any language, a word mostly which language it is in.
    let (l2, words) = (knob("L2", 1e-3), knob("WORDS", 10.0));
    let penalty: Vec<f32> = names
        .iter()
        .map(|name| {
            let family = ["s:", "p:", "n:", "at:", "bias"].iter().any(|prefix| name.starts_with(prefix));
            l2 * if family { 1.0 } else { words }
        })
        .collect();
    let negatives: usize = data.iter().filter(|d| !d.poisoned).map(|d| d.clauses.len()).sum();
    let positives = data.iter().filter(|d| d.poisoned).count().max(1);
    // The poisoned clauses weigh half as much, together, as the benign ones.
    let positive_weight = knob("POS", 0.25) * negatives as f32 / positives as f32;
    let learning_rate = knob("LR", 0.2);
    for _ in 0..knob("EPOCHS", 15.0) as usize {
        for d in data {
            let (clauses, label, weight): (Vec<&Vec<usize>>, f32, f32) = if d.poisoned {
                (vec![&d.clauses[best_clause(&weights, d)]], 1.0, positive_weight)
            } else {
                (d.clauses.iter().collect(), 0.0, 1.0)
            };
            for clause in clauses {
                let p = 1.0 / (1.0 + (-score(&weights, clause)).exp());
                let gradient = weight * (p - label);
                for &i in clause {
                    let g = gradient + penalty[i] * weights[i];
                    squares[i] += g * g;
                    weights[i] -= learning_rate * g / squares[i].sqrt();
                }
            }
        }
    }
    weights
}

fn definition_score(weights: &[f32], d: &Indexed) -> f32 {
    d.clauses.iter().map(|c| score(weights, c)).fold(f32::NEG_INFINITY, f32::max)
}

/// How many of `held_out` are poisoned (or, with `false`, benign).
fn poisoned_total(held_out: &[(f32, &Definition)], poisoned: bool) -> usize {
    held_out.iter().filter(|(_, d)| d.poisoned == poisoned).count()
}

fn main() {
    let dry = std::env::args().any(|a| a == "--dry");
    let mut definitions = Vec::new();
    let mut provenance = Vec::new();
    for set in SETS {
        load_set(set, &mut definitions, &mut provenance);
    }
    for split in SERVERS {
        load_servers(split, &mut definitions, &mut provenance);
    }
    let poisoned = definitions.iter().filter(|d| d.poisoned).count();
    eprintln!(
        "{} definitions: {poisoned} poisoned, {} benign",
        definitions.len(),
        definitions.len() - poisoned
    );

    // Held-out scores, fold by fold.
    let mut held_out: Vec<(f32, &Definition)> = Vec::new();
    for fold in 0..FOLDS {
        let fitting: Vec<&Definition> = definitions.iter().filter(|d| d.fold != fold).collect();
        let testing: Vec<&Definition> = definitions.iter().filter(|d| d.fold == fold).collect();
        let (names, ids) = vocabulary(&fitting);
        let weights = train(&index(&fitting, &ids), &names);
        for d in testing {
            let indexed = index(&[d], &ids);
            let s = indexed.first().map_or(f32::NEG_INFINITY, |i| definition_score(&weights, i));
            held_out.push((s, d));
        }
    }
    if std::env::var("SHOW").is_ok() {
        let mut top: Vec<&(f32, &Definition)> = held_out.iter().filter(|(_, d)| !d.poisoned).collect();
        top.sort_by(|a, b| b.0.total_cmp(&a.0));
        for (s, d) in top.iter().take(25) {
            eprintln!("  benign {s:.2} {}", d.origin);
        }
    }
    let mut benign: Vec<f32> = held_out.iter().filter(|(_, d)| !d.poisoned).map(|(s, _)| *s).collect();
    benign.sort_by(|a, b| b.total_cmp(a));
    for budget in [0.005, 0.01, 0.02, 0.05, 0.10] {
        let at = benign[(benign.len() as f64 * budget).floor() as usize] + 1e-3;
        let caught = held_out.iter().filter(|(s, d)| d.poisoned && *s >= at).count();
        let hard = |d: &Definition| d.origin.starts_with("unseen2") || d.origin.starts_with("train2");
        let hard_all = held_out.iter().filter(|(_, d)| d.poisoned && hard(d)).count();
        let hard_caught =
            held_out.iter().filter(|(s, d)| d.poisoned && hard(d) && (*s >= at || d.by_rules)).count();
        eprintln!(
            "  at {:.1}% benign (score {at:.2}): the model catches {caught}; with the rules, {hard_caught} of {hard_all} of unseen2 and train2",
            budget * 100.0
        );
    }
    let allowed = (benign.len() as f64 * BENIGN_BUDGET).floor() as usize;
    let threshold = benign[allowed] + 1e-3;
    let caught = held_out.iter().filter(|(s, d)| d.poisoned && *s >= threshold).count();
    let flagged = held_out.iter().filter(|(s, d)| !d.poisoned && *s >= threshold).count();
    println!(
        "held out (5 folds): {caught} of {poisoned} poisoned caught ({:.1}%), {flagged} of {} benign flagged ({:.2}%), threshold {threshold:.3}",
        100.0 * caught as f64 / poisoned as f64,
        poisoned_total(&held_out, false),
        100.0 * flagged as f64 / poisoned_total(&held_out, false) as f64
    );
    let rules_caught = held_out.iter().filter(|(_, d)| d.poisoned && d.by_rules).count();
    let either = held_out.iter().filter(|(s, d)| d.poisoned && (d.by_rules || *s >= threshold)).count();
    let either_flagged =
        held_out.iter().filter(|(s, d)| !d.poisoned && (d.by_rules || *s >= threshold)).count();
    println!(
        "the rules alone catch {rules_caught}; the rules or the model {either} ({:.1}%), flagging {either_flagged} benign",
        100.0 * either as f64 / poisoned as f64
    );
    let mut by_set: std::collections::BTreeMap<&str, [usize; 4]> = Default::default();
    for (s, d) in &held_out {
        let set = d.origin.split(['/', ':']).next().unwrap_or("");
        let tally = by_set.entry(set).or_default();
        if d.poisoned {
            tally[0] += 1;
            tally[1] += usize::from(d.by_rules || *s >= threshold);
        } else {
            tally[2] += 1;
            tally[3] += usize::from(d.by_rules || *s >= threshold);
        }
    }
    for (set, [poisoned, caught, benign, flagged]) in &by_set {
        println!("  {set}: {caught} of {poisoned} poisoned caught, {flagged} of {benign} benign flagged");
    }
    for (s, d) in &held_out {
        if d.poisoned && *s < threshold && !d.by_rules || !d.poisoned && (*s >= threshold || d.by_rules) {
            let what = if d.poisoned { "missed by both" } else { "flagged" };
            println!("  {what} {:.2} {}", s, d.origin);
        }
    }
    if dry {
        return;
    }

    let all: Vec<&Definition> = definitions.iter().collect();
    let (names, ids) = vocabulary(&all);
    let weights = train(&index(&all, &ids), &names);
    let mut out = String::new();
    out.push_str("# moat vet's learned intent model: logistic regression over clause features\n");
    out.push_str("# (host/src/vet/intent/learned/features.rs), written by\n");
    out.push_str("# `cargo run --release --example vet-train` from:\n");
    for line in &provenance {
        out.push_str(&format!("#   {line}\n"));
    }
    out.push_str(&format!(
        "# Held out in 5 folds: {caught} of {poisoned} poisoned caught, {flagged} of {} benign flagged.\n",
        poisoned_total(&held_out, false)
    ));
    out.push_str(&format!("threshold\t{threshold:.4}\n"));
    for (name, weight) in names.iter().zip(&weights) {
        if weight.abs() >= 1e-3 {
            out.push_str(&format!("{name}\t{weight:.4}\n"));
        }
    }
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/vet/intent/learned/weights.tsv");
    std::fs::write(&path, out).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    eprintln!("wrote {} ({} features)", path.display(), weights.iter().filter(|w| w.abs() >= 1e-3).count());
}
