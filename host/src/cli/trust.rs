//! `moat lock`, `moat keygen`, `moat sign`, `moat verify`: pinning what was
//! approved and signing what was published.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use super::compiled_tools;
use crate::config::Config;
use crate::lock::{LOCK_VERSION, LockFile, LockedComponent};
use crate::signing::{self, TrustedKey};

/// Pins every component of the config; with `updates`, approves the changes
/// of those components after printing them. Returns whether the lock now
/// matches the config (false: changes wait for `--update`).
pub fn lock(config_path: &Path, lock_path: &Path, updates: &[String]) -> Result<bool> {
    let config = Config::load(config_path)?;
    for name in updates {
        if !config.components.iter().any(|c| &c.name == name) {
            bail!("--update {name}: {} has no component named `{name}`", config_path.display());
        }
    }
    let existing = LockFile::read(lock_path)?;
    let creating = existing.is_none();
    let mut lock = existing.unwrap_or(LockFile { version: LOCK_VERSION, components: Default::default() });
    let mut changed = creating;
    let mut pending = Vec::new();
    let mut report = Vec::new();
    for spec in &config.components {
        let (file, tools, _) = compiled_tools(&spec.path, &spec.naming())?;
        let approved = lock.components.get(&spec.name);
        let source = spec.source.clone().or_else(|| approved.and_then(|a| a.source.clone()));
        let defs: Vec<_> = tools.definitions().cloned().collect();
        let current = LockedComponent::new(&file.digest, &defs, tools.offers(), &spec.policy, source);
        let approve = creating || updates.contains(&spec.name);
        match approved {
            Some(approved) => {
                let changes = current.changes_since(approved);
                if changes.is_empty() {
                    outln!("{}: unchanged ({})", spec.name, current.digest);
                    report.push(serde_json::json!({"name": spec.name, "state": "unchanged", "digest": current.digest}));
                    continue;
                }
                outln!("{}: changed since it was approved", spec.name);
                for change in &changes {
                    outln!("  {change}");
                }
                let changes: Vec<String> = changes.iter().map(ToString::to_string).collect();
                report.push(serde_json::json!({
                    "name": spec.name, "state": "changed", "digest": current.digest,
                    "changes": changes, "approved": approve,
                }));
            }
            None => {
                outln!("{}: new, {} ({} tools)", spec.name, current.digest, current.tools.len());
                for grant in &current.grants {
                    outln!("  grant: {grant}");
                }
                report.push(serde_json::json!({
                    "name": spec.name, "state": "new", "digest": current.digest,
                    "tools": current.tools.len(), "grants": current.grants, "approved": approve,
                }));
            }
        }
        if approve {
            if !creating {
                outln!("  → approved");
            }
            lock.components.insert(spec.name.clone(), current);
            changed = true;
        } else {
            pending.push(spec.name.clone());
        }
    }
    let stale: Vec<String> = lock
        .components
        .keys()
        .filter(|name| !config.components.iter().any(|c| &c.name == *name))
        .cloned()
        .collect();
    for name in stale {
        outln!("{name}: no longer in the config, removed from the lock");
        report.push(serde_json::json!({"name": name, "state": "removed"}));
        lock.components.remove(&name);
        changed = true;
    }
    if changed {
        lock.write(lock_path)?;
        outln!("wrote {}", lock_path.display());
    }
    if !pending.is_empty() {
        outln!(
            "not approved: {}; review the changes above, then run `moat lock --update NAME`",
            pending.join(", ")
        );
    }
    super::output::result(&serde_json::json!({
        "lock": lock_path, "written": changed, "components": report, "not_approved": pending,
    }));
    Ok(pending.is_empty())
}

pub fn keygen(prefix: &Path) -> Result<()> {
    let (private, public) = signing::keygen(prefix)?;
    outln!("private key {} (keep it secret; mode 0600)", private.display());
    outln!("public key  {} (give it to those who verify)", public.display());
    super::output::result(&serde_json::json!({"private_key": private, "public_key": public}));
    Ok(())
}

pub fn sign(component: &Path, key: &Path, output: Option<&Path>) -> Result<PathBuf> {
    let bytes = std::fs::read(component).with_context(|| format!("cannot read {}", component.display()))?;
    let key = signing::read_signing_key(key)?;
    let bundle = signing::sign_blob(&key, &bytes);
    let path = output.map(Path::to_path_buf).unwrap_or_else(|| signing::bundle_path(component));
    crate::store::write_atomically(&path, (serde_json::to_string_pretty(&bundle)? + "\n").as_bytes())?;
    outln!("signed {} → {}", component.display(), path.display());
    super::output::result(&serde_json::json!({"component": component, "bundle": path}));
    Ok(path)
}

pub fn verify(component: &Path, keys: &[PathBuf]) -> Result<()> {
    let keys: Vec<TrustedKey> = keys.iter().map(|k| TrustedKey::read(k)).collect::<Result<_>>()?;
    let bytes = std::fs::read(component).with_context(|| format!("cannot read {}", component.display()))?;
    let key = signing::verify_component(component, &bytes, &keys)
        .with_context(|| format!("{} failed verification", component.display()))?;
    outln!("{}: signature verified with {}", component.display(), key.label);
    super::output::result(&serde_json::json!({"component": component, "verified": true, "key": key.label}));
    Ok(())
}
