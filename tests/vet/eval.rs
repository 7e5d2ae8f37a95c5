//! The evaluation of `moat vet`'s rules: detection and false-positive rates on
//! our own malicious and benign tool definitions, per category and language.
//!
//! `dev.jsonl` is the set the rules were tuned on; `holdout.jsonl` was written
//! at the same time and never used for tuning, so its rates are the honest
//! estimate. A case counts as flagged when a finding is `medium` or worse
//! (`moat vet`'s default `--fail-on`). Run with `--nocapture` for the table
//! that README.md quotes.

use std::collections::BTreeMap;
use std::path::Path;

use moat::vet::{Context, Severity, vet_tool};
use serde_json::{Value, json};

struct Case {
    id: String,
    category: String,
    lang: String,
    malicious: bool,
    /// The severity that counts as caught (self-promotion is `low` by design).
    threshold: Severity,
    tool: Value,
    context: Context,
}

fn load(file: &str) -> Vec<Case> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/vet").join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(n, line)| {
            let case: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{file}:{}: {e}", n + 1));
            let field = |key: &str| case[key].as_str().unwrap_or_else(|| panic!("{file}:{}: no {key}", n + 1));
            let name = case["name"].as_str().unwrap_or("demo.tool").to_string();
            let mut tool = json!({
                "name": name,
                "description": field("description"),
                "inputSchema": case.get("schema").cloned().unwrap_or(json!({"type": "object", "properties": {}})),
            });
            if let Some(annotations) = case.get("annotations") {
                tool["annotations"] = annotations.clone();
            }
            let strings = |key: &str| -> Vec<String> {
                case[key].as_array().into_iter().flatten().filter_map(|v| v.as_str().map(String::from)).collect()
            };
            let mut siblings = strings("siblings");
            siblings.push(name);
            Case {
                id: field("id").into(),
                category: field("category").into(),
                lang: field("lang").into(),
                malicious: field("label") == "malicious",
                threshold: match case.get("min_severity").and_then(Value::as_str) {
                    None | Some("medium") => Severity::Medium,
                    Some("low") => Severity::Low,
                    Some("high") => Severity::High,
                    Some(other) => panic!("{file}:{}: unknown min_severity {other}", n + 1),
                },
                tool,
                context: Context { siblings, others: strings("others"), vocabulary: Vec::new() },
            }
        })
        .collect()
}

#[derive(Default)]
struct Tally {
    malicious: usize,
    detected: usize,
    benign: usize,
    false_positives: usize,
}

impl Tally {
    fn detection(&self) -> f64 {
        if self.malicious == 0 { f64::NAN } else { self.detected as f64 / self.malicious as f64 }
    }
    fn false_positive_rate(&self) -> f64 {
        if self.benign == 0 { f64::NAN } else { self.false_positives as f64 / self.benign as f64 }
    }

    /// Detection at least `floor` and false positives at most `ceiling`.
    fn assert_within(&self, what: &str, floor: f64, ceiling: f64) {
        assert!(self.detection() >= floor, "{what}: detection {:.3} below {floor}", self.detection());
        assert!(
            self.false_positive_rate() <= ceiling,
            "{what}: false positives {:.3} above {ceiling}",
            self.false_positive_rate()
        );
    }
}

fn percent(rate: f64, of: usize) -> String {
    if rate.is_nan() { "—".into() } else { format!("{:.0}% of {of}", rate * 100.0) }
}

/// The rates of one set: overall, by category and by language.
struct Evaluation {
    total: Tally,
    by_category: BTreeMap<String, Tally>,
    by_lang: BTreeMap<String, Tally>,
}

fn evaluate(file: &str) -> Tally {
    evaluate_all(file).total
}

fn evaluate_all(file: &str) -> Evaluation {
    let mut total = Tally::default();
    let mut by_category: BTreeMap<String, Tally> = BTreeMap::new();
    let mut by_lang: BTreeMap<String, Tally> = BTreeMap::new();
    let mut misses = Vec::new();
    for case in load(file) {
        let findings = vet_tool(&case.tool, &case.context);
        // A benign case is a false positive at medium or worse, whatever the
        // malicious threshold of its category.
        let threshold = if case.malicious { case.threshold } else { Severity::Medium };
        let flagged = findings.worst().is_some_and(|s| s >= threshold);
        for tally in [
            &mut total,
            by_category.entry(case.category.clone()).or_default(),
            by_lang.entry(case.lang.clone()).or_default(),
        ] {
            if case.malicious {
                tally.malicious += 1;
                tally.detected += usize::from(flagged);
            } else {
                tally.benign += 1;
                tally.false_positives += usize::from(flagged);
            }
        }
        if case.malicious != flagged {
            let what = if case.malicious { "missed" } else { "false positive" };
            misses.push(format!("  {what}: {} {:?}", case.id, findings.findings));
        }
    }
    println!("\n{file}\n| | detected (malicious) | flagged (benign) |\n|---|---|---|");
    for (label, tally) in by_category
        .iter()
        .map(|(k, v)| (format!("category {k}"), v))
        .chain(by_lang.iter().map(|(k, v)| (format!("language {k}"), v)))
    {
        println!(
            "| {label} | {} | {} |",
            percent(tally.detection(), tally.malicious),
            percent(tally.false_positive_rate(), tally.benign)
        );
    }
    println!(
        "| **all** | {} | {} |",
        percent(total.detection(), total.malicious),
        percent(total.false_positive_rate(), total.benign)
    );
    for miss in &misses {
        println!("{miss}");
    }
    Evaluation { total, by_category, by_lang }
}

/// The adversarial set's first run, before any rule saw it, found 29% of
/// its attacks with 17% false positives (README.md). The rules were then
/// generalised (obfuscation undone, paraphrase families, feedback addresses);
/// these bounds keep what that gained, with room for one case either way.
const ADVERSARIAL_DETECTION_FLOOR: f64 = 0.90;
const ADVERSARIAL_FALSE_POSITIVE_CEILING: f64 = 0.06;

/// The rules were tuned on this set: it must be (nearly) perfect.
#[test]
fn development_set() {
    let tally = evaluate("dev.jsonl");
    assert!(tally.malicious >= 50 && tally.benign >= 45, "the set is too small to mean anything");
    assert!(tally.detection() >= 0.95, "detection {:.2} below 0.95", tally.detection());
    assert!(
        tally.false_positive_rate() <= 0.03,
        "false positives {:.2} above 0.03",
        tally.false_positive_rate()
    );
}

/// The intent detector's development set (issue 20): attacks without alarm
/// words, priority claims, social engineering, other tools in every
/// language, and benign text taken from the shapes real servers use.
#[test]
fn intent_development_set() {
    let tally = evaluate("train.jsonl");
    assert!(tally.malicious >= 40 && tally.benign >= 20, "the set is too small to mean anything");
    tally.assert_within("train.jsonl", 0.95, 0.03);
}

/// The learned model's second development set: benign descriptions in the
/// five languages beside English (so that a language is not itself a
/// signal) and poisoned ones in every category, written after unseen2's run.
#[test]
fn learned_development_set() {
    let tally = evaluate("train2.jsonl");
    assert!(tally.malicious >= 30 && tally.benign >= 60, "the set is too small to mean anything");
    tally.assert_within("train2.jsonl", 0.95, 0.03);
}

/// Written after the rules, to get past them: paraphrases without the
/// rules' keywords, obfuscations the rules do not decode (leetspeak, spaced
/// letters, ROT13, split base64), a language without rules (Italian), and
/// benign text built to trip them. Its first run is the honest estimate for
/// unseen attacks; the rules were generalised after it (see the bounds).
#[test]
fn adversarial_set() {
    let tally = evaluate("adversarial.jsonl");
    assert!(tally.malicious >= 25 && tally.benign >= 15, "the set is too small to mean anything");
    assert!(
        tally.detection() >= ADVERSARIAL_DETECTION_FLOOR,
        "detection {:.2} fell below the first run",
        tally.detection()
    );
    assert!(
        tally.false_positive_rate() <= ADVERSARIAL_FALSE_POSITIVE_CEILING,
        "false positives {:.2} rose above the first run",
        tally.false_positive_rate()
    );
}

/// Never tuned on: the honest estimate. The bounds leave room for one or two
/// misses in twenty, which is what an unseen phrasing costs a rule set.
#[test]
fn holdout_set() {
    let tally = evaluate("holdout.jsonl");
    assert!(tally.malicious >= 20 && tally.benign >= 15, "the set is too small to mean anything");
    assert!(tally.detection() >= 0.85, "detection {:.2} below 0.85", tally.detection());
    assert!(
        tally.false_positive_rate() <= 0.10,
        "false positives {:.2} above 0.10",
        tally.false_positive_rate()
    );
}

/// `unseen.jsonl` was first run with the detector of commit 6742196: 116 of
/// 129 poisoned definitions detected (89.9%), 6 of 102 benign flagged
/// (5.9%) (README.md keeps that run's table). None of its misses was tuned
/// on since; three benign cases the issue itself named ("Include dotfiles",
/// "supply credentials", "<!-- comments -->") were fixed, with the rules
/// they tripped, and it flagged none. The learned model has trained on it
/// since (tests/vet/README.md), so it is no longer an unseen set; these
/// bounds hold the ground the rules had on it.
const UNSEEN_DETECTION_FLOOR: f64 = 0.89;
const UNSEEN_FALSE_POSITIVE_CEILING: f64 = 0.02;
/// No category may fall below this share detected, nor any language
/// (the weakest today: hidden markup, 9 of 12).
const UNSEEN_GROUP_DETECTION_FLOOR: f64 = 0.75;
/// No category or language may have more than this share of its benign
/// cases flagged (one case in the smallest group is a third).
const UNSEEN_GROUP_FALSE_POSITIVE_CEILING: f64 = 0.34;

/// Per category and per language, detection and false positives both.
#[test]
fn unseen_set() {
    let evaluation = evaluate_all("unseen.jsonl");
    let total = &evaluation.total;
    assert!(total.malicious >= 100 && total.benign >= 90, "the set is too small to mean anything");
    total.assert_within("unseen.jsonl", UNSEEN_DETECTION_FLOOR, UNSEEN_FALSE_POSITIVE_CEILING);
    for (group, tallies) in [("category", &evaluation.by_category), ("language", &evaluation.by_lang)] {
        for (name, tally) in tallies {
            if tally.malicious > 0 {
                assert!(
                    tally.detection() >= UNSEEN_GROUP_DETECTION_FLOOR,
                    "{group} {name}: detection {:.2} below {UNSEEN_GROUP_DETECTION_FLOOR}",
                    tally.detection()
                );
            }
            if tally.benign > 0 {
                assert!(
                    tally.false_positive_rate() <= UNSEEN_GROUP_FALSE_POSITIVE_CEILING,
                    "{group} {name}: false positives {:.2} above {UNSEEN_GROUP_FALSE_POSITIVE_CEILING}",
                    tally.false_positive_rate()
                );
            }
        }
    }
}

/// A second split, written after the intent detector against its blind
/// spots. Its first run (the rules) found 16 of 43 (37%) and flagged 1 of
/// 43; the learned model's first run, before it was trained on the set,
/// found 23 of 43 (53%) and flagged 1 (tests/vet/README.md). It has been
/// the learned model's training data since: these bounds are a tuned set's.
#[test]
fn unseen2_set() {
    let tally = evaluate("unseen2.jsonl");
    assert!(tally.malicious >= 40 && tally.benign >= 40, "the set is too small to mean anything");
    tally.assert_within(
        "unseen2.jsonl (trained on)",
        UNSEEN2_DETECTION_FLOOR,
        UNSEEN2_FALSE_POSITIVE_CEILING,
    );
}

const UNSEEN2_DETECTION_FLOOR: f64 = 0.90;
const UNSEEN2_FALSE_POSITIVE_CEILING: f64 = 0.03;

/// The never-tuned split (tests/vet/README.md), first run with the learned
/// model of commit 57fc5ce: the honest estimate, per category and language;
/// the bounds are that run's.
#[test]
fn unseen3_set() {
    let evaluation = evaluate_all("unseen3.jsonl");
    let total = &evaluation.total;
    assert!(total.malicious >= 30 && total.benign >= 30, "the set is too small to mean anything");
    total.assert_within(
        "unseen3.jsonl (its first run)",
        UNSEEN3_DETECTION_FLOOR,
        UNSEEN3_FALSE_POSITIVE_CEILING,
    );
    for (group, detected, flagged) in UNSEEN3_FIRST_RUN_GROUPS {
        let (kind, name) = group.split_once(' ').unwrap();
        let groups = if kind == "category" { &evaluation.by_category } else { &evaluation.by_lang };
        let tally = &groups[name];
        assert!(
            tally.detected >= *detected,
            "{group}: {} detected, fewer than the first run's {detected}",
            tally.detected
        );
        assert!(
            tally.false_positives <= *flagged,
            "{group}: {} benign flagged, more than the first run's {flagged}",
            tally.false_positives
        );
    }
}

/// unseen3's first run per category and language: poisoned detected, benign
/// flagged. No group may do worse.
const UNSEEN3_FIRST_RUN_GROUPS: &[(&str, usize, usize)] = &[
    ("category coercive-ordering", 1, 0),
    ("category concealment", 1, 0),
    ("category exfiltration", 2, 0),
    ("category instruction-override", 5, 0),
    ("category parameter-exfiltration", 2, 0),
    ("category self-promotion", 0, 0),
    ("category sensitive-files", 0, 0),
    ("category shadowing", 5, 0),
    ("category social-engineering", 3, 0),
    ("category tricky", 0, 1),
    ("language de", 2, 0),
    ("language en", 6, 0),
    ("language es", 4, 0),
    ("language fr", 3, 0),
    ("language ja", 1, 1),
    ("language zh", 3, 0),
];

/// 19 of 32 detected (59%; the rules alone 15), 1 of 30 benign flagged.
const UNSEEN3_DETECTION_FLOOR: f64 = 0.59;
const UNSEEN3_FALSE_POSITIVE_CEILING: f64 = 0.034;

/// Published servers' own `tools/list` (tests/vet/real/SPLIT, captured by
/// capture.py from npm and PyPI): every tool is benign, and each server's
/// tools are one another's siblings. Returns (tools, flagged, servers).
fn real_servers(split: &str) -> (usize, usize, usize) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/vet/real").join(split);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    let (mut tools, mut flagged) = (0, 0);
    println!("\n| server | tools | flagged |\n|---|---|---|");
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        let capture: Value =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let list = capture["tools"].as_array().unwrap_or_else(|| panic!("{}: no tools", file.display()));
        let mut here = 0;
        for findings in moat::vet::vet_tools(list, &[]) {
            let serious: Vec<_> =
                findings.findings.iter().filter(|f| f.severity >= Severity::Medium).collect();
            if !serious.is_empty() {
                here += 1;
                println!("  flagged: {} {serious:?}", findings.name);
            }
        }
        println!("| {} | {} | {here} |", capture["source"].as_str().unwrap_or("?"), list.len());
        tools += list.len();
        flagged += here;
    }
    let rate = flagged as f64 / tools as f64;
    println!("| **all** ({} servers) | {tools} | {flagged} ({:.2}%) |", files.len(), rate * 100.0);
    (tools, flagged, files.len())
}

/// Vets the servers of `real/SPLIT`: at least `min_servers` servers and
/// `min_tools` tools, and at most `ceiling` of the tools flagged.
fn assert_real_servers(split: &str, min_servers: usize, min_tools: usize, ceiling: f64) {
    let (tools, flagged, servers) = real_servers(split);
    assert!(servers >= min_servers && tools >= min_tools, "too few real servers in {split} to mean anything");
    let rate = flagged as f64 / tools as f64;
    assert!(rate <= ceiling, "{split}: {flagged} of {tools} real tools flagged ({:.2}%)", rate * 100.0);
}

/// The bound for real published servers: 1% of their tools.
const REAL_FALSE_POSITIVE_CEILING: f64 = 0.01;

/// The servers the detector was tuned against.
#[test]
fn real_servers_tuned_on() {
    assert_real_servers("tuned", 20, 300, REAL_FALSE_POSITIVE_CEILING);
}

/// Servers captured after the detector was written. Their first run flagged
/// 16 of 256 tools (6.25%, README.md); the fixes that run led to (sibling
/// parameters and prefixed sibling names, "Note to LLM" guidance, help links
/// taken for destinations) are general, and it is now held at 1%.
#[test]
fn real_servers_held_out() {
    assert_real_servers("unseen", 5, 50, REAL_FALSE_POSITIVE_CEILING);
}

/// Servers captured after the learned model (real/README.md), never tuned
/// on. Their first run (commit 57fc5ce) flagged 2 of 247 tools (0.81%),
/// both by phrase rules, none by the model.
#[test]
fn real_servers_never_tuned_on() {
    assert_real_servers("unseen2", 5, 100, REAL_FALSE_POSITIVE_CEILING);
}
