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
                tool,
                context: Context { siblings, others: strings("others") },
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
}

fn percent(rate: f64, of: usize) -> String {
    if rate.is_nan() { "—".into() } else { format!("{:.0}% of {of}", rate * 100.0) }
}

fn evaluate(file: &str) -> Tally {
    let mut total = Tally::default();
    let mut by_category: BTreeMap<String, Tally> = BTreeMap::new();
    let mut by_lang: BTreeMap<String, Tally> = BTreeMap::new();
    let mut misses = Vec::new();
    for case in load(file) {
        let findings = vet_tool(&case.tool, &case.context);
        let flagged = findings.worst().is_some_and(|s| s >= Severity::Medium);
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
    total
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
