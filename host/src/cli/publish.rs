//! `moat publish` and `moat add`: vet → sign → push, and pull → verify →
//! vet → pin (config and lock, by digest).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use super::compiled_tools;
use super::vet::{component_target, vet_targets};
use crate::config::{Config, validate_component_name};
use crate::findings::Severity;
use crate::lock::{LOCK_VERSION, LockFile, LockedComponent, path_for_config};
use crate::policy::Policy;
use crate::registry::{OciRef, Registry, cosign_sign, server_json};
use crate::signing::{self, TrustedKey};
use crate::store::write_atomically;
use crate::tools::Naming;

/// What `publish` is asked to list in the MCP Registry's format.
pub struct ListingRequest {
    pub file: Option<PathBuf>,
    pub name: Option<String>,
    pub remote: Option<String>,
}

/// What `publish` pushed: the reference pinned by digest, and the result
/// `--format json` prints for it.
pub struct Published {
    pub pinned: String,
    pub report: serde_json::Value,
}

/// Vets, signs and pushes `component` to `reference` (a tag); with a
/// listing, writes its server.json.
pub async fn publish(
    component: &Path,
    reference: &str,
    key: &Path,
    fail_on: Severity,
    listing: &ListingRequest,
) -> Result<Published> {
    let reference = OciRef::parse(reference)?;
    let key = signing::read_signing_key(key)?;
    if let Some(name) = &listing.name {
        server_json::check_name(name)?;
    }
    let name = component.file_stem().and_then(|s| s.to_str()).unwrap_or("component").replace('_', "-");
    vet_or_refuse(component, &name, fail_on)?;
    let (file, tools, _) = compiled_tools(component, &Naming::new(&name))?;
    let registry = Registry::connect(&reference).await?.watched(Box::new(super::progress::Transfers));
    let mut annotations = std::collections::BTreeMap::new();
    if let Some(server_name) = &listing.name {
        annotations.insert("io.modelcontextprotocol.server.name".to_owned(), server_name.clone());
    }
    let manifest_digest = registry.push_component(&file.bytes, &annotations).await?;
    let (payload, signature) = cosign_sign(&key, &reference, &manifest_digest);
    let tag = registry.push_signature(&manifest_digest, &payload, &signature).await?;
    let pinned = reference.pinned(&manifest_digest);
    outln!("published {reference}");
    outln!("  digest    {pinned}");
    outln!("  component {}", file.digest);
    outln!("  signature {}:{tag}", reference.repository());
    if let (Some(path), Some(server_name)) = (&listing.file, &listing.name) {
        let metadata = crate::registry::annotations::of_component(&file.bytes);
        let version = reference
            .tag()
            .map(str::to_owned)
            .or_else(|| metadata.get("org.opencontainers.image.version").cloned())
            .unwrap_or_else(|| "0.0.0".to_owned());
        let tool_names: Vec<String> = tools.definitions().map(|t| t.name.clone()).collect();
        let document = server_json::server_json(&server_json::Listing {
            name: server_name,
            image: reference.to_string().trim_start_matches("oci://"),
            pinned: pinned.trim_start_matches("oci://"),
            version: &version,
            description: metadata.get("org.opencontainers.image.description").map(String::as_str),
            tools: &tool_names,
            signature_tag: &format!("{}:{tag}", reference.repository()),
            remote: listing.remote.as_deref(),
        });
        write_atomically(path, (serde_json::to_string_pretty(&document)? + "\n").as_bytes())?;
        outln!("  listing   {} (MCP Registry server.json, {server_name})", path.display());
    }
    let report = serde_json::json!({
        "published": reference.to_string(), "pinned": pinned,
        "manifest_digest": manifest_digest, "component_digest": file.digest.to_string(),
        "signature": format!("{}:{tag}", reference.repository()), "server_json": listing.file,
    });
    Ok(Published { pinned, report })
}

fn vet_or_refuse(component: &Path, name: &str, fail_on: Severity) -> Result<()> {
    let report = vet_targets(vec![component_target(component, &Naming::new(name), &Policy::default())?]);
    if report.worst().is_some_and(|worst| worst >= fail_on) {
        eprint!("{}", report.to_text(fail_on));
        bail!("{} has vet findings at or above {fail_on}", component.display());
    }
    Ok(())
}

/// Pulls `reference`, verifies its signature against `keys` (default: the
/// config's), vets it, and pins it by digest in the config
/// (`[components.NAME]`, followed by `grants`, a catalog entry's grants
/// table) and the lock.
pub async fn add(
    reference: &str,
    keys: &[PathBuf],
    config_path: &Path,
    name: Option<&str>,
    fail_on: Severity,
    grants: &str,
) -> Result<()> {
    let keys = trusted_keys(keys, config_path)?;
    let resolved = crate::registry::packages::resolve(reference).await?;
    let reference = OciRef::parse(resolved.as_deref().unwrap_or(reference))?;
    let name = match name {
        Some(name) => name.to_string(),
        None => reference.repository().rsplit('/').next().unwrap_or("component").to_string(),
    };
    validate_component_name(&name).context("choose another name with --name")?;
    let config_text = match std::fs::read_to_string(config_path) {
        Ok(text) => {
            let config = Config::load(config_path)?;
            if config.components.iter().any(|c| c.name == name) {
                bail!("{} already has a component named `{name}` (use --name)", config_path.display());
            }
            text
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", config_path.display())),
    };

    if keys.is_empty() {
        bail!("no trusted key: give --key PUB or list keys in the config's [trust] keys");
    }
    let registry = Registry::connect(&reference).await?.watched(Box::new(super::progress::Transfers));
    let pulled = registry.pull_verified(&keys).await?;
    let pinned = reference.pinned(&pulled.manifest_digest);

    let base = config_path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let relative = PathBuf::from("components")
        .join(format!("{name}@{}.wasm", pulled.manifest_digest.trim_start_matches("sha256:")));
    let path = base.join(&relative);
    std::fs::create_dir_all(path.parent().expect("has a parent"))?;
    write_atomically(&path, &pulled.component)?;
    write_atomically(
        &signing::oci_signature_path(&path),
        (serde_json::to_string_pretty(&pulled.signature)? + "\n").as_bytes(),
    )?;
    if let Err(error) = vet_or_refuse(&path, &name, fail_on) {
        let _ = std::fs::remove_file(signing::oci_signature_path(&path));
        let _ = std::fs::remove_file(&path);
        return Err(error);
    }

    let mut text = config_text;
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    text.push_str(&format!(
        "\n[components.{name}]\npath = {:?}\nsource = {:?}\n{grants}",
        relative.display().to_string(),
        pinned
    ));
    // The lock approves what the config grants: read back from the new text.
    let policy = Config::parse(&text, base)
        .and_then(|config| {
            let spec = config.components.into_iter().find(|c| c.name == name).context("the new entry")?;
            Ok(spec.policy)
        })
        .with_context(|| format!("the entry for `{name}` does not fit {}", config_path.display()))?;
    let (file, tools, _) = compiled_tools(&path, &Naming::new(&name))?;
    let defs: Vec<_> = tools.definitions().cloned().collect();
    let entry = LockedComponent::new(&file.digest, &defs, tools.offers(), &policy, Some(pinned.clone()));
    let lock_path = path_for_config(config_path);
    let mut lock = LockFile::read(&lock_path)?
        .unwrap_or(LockFile { version: LOCK_VERSION, components: Default::default() });
    lock.components.insert(name.clone(), entry);

    // The lock first: a moat stopped between the two leaves an approval for a
    // component the config does not name yet, never a named one unapproved.
    lock.write(&lock_path)?;
    write_atomically(config_path, text.as_bytes())?;
    outln!("added `{name}` from {pinned}");
    outln!("  signature verified with {}", pulled.key);
    outln!("  component {} ({} tools) → {}", file.digest, tools.tools.len(), path.display());
    outln!("  pinned in {} and {}", config_path.display(), lock_path.display());
    super::output::result(&serde_json::json!({
        "added": name, "pinned": pinned.to_string(), "key": pulled.key.to_string(),
        "component_digest": file.digest.to_string(), "tools": tools.tools.len(), "path": path,
        "config": config_path, "lock": lock_path,
    }));
    Ok(())
}

/// The keys given, else the config's `[trust]` keys.
pub fn trusted_keys(keys: &[PathBuf], config_path: &Path) -> Result<Vec<TrustedKey>> {
    let keys: Vec<TrustedKey> = keys.iter().map(|k| TrustedKey::read(k)).collect::<Result<_>>()?;
    if keys.is_empty() && config_path.is_file() {
        return Ok(Config::load(config_path)?.gates.trusted_keys);
    }
    Ok(keys)
}

/// For `moat serve oci://HOST/REPO@sha256:…`: the component the digest
/// names, verified against the config's trusted keys and kept in the cache
/// directory by digest (a later start uses the copy there, its signature
/// checked again at load). A tag is refused: what is served is what the
/// digest pins. Its name (the repository's last segment), path and source.
pub async fn pull_pinned(reference: &str, config: &Config) -> Result<(String, PathBuf, String)> {
    let parsed = OciRef::parse(reference)?;
    let Some(digest) = parsed.digest() else {
        bail!(
            "{reference}: serve a digest (oci://HOST/REPO@sha256:…), not a tag, which can move; `moat add` pins a tag"
        )
    };
    if config.gates.trusted_keys.is_empty() {
        bail!(
            "{reference}: no trusted key to verify it with (--trusted-key PUB, or [trust] keys in the config)"
        );
    }
    let name = parsed.repository().rsplit('/').next().unwrap_or("component").replace('_', "-");
    let dir = config
        .cache_dir
        .clone()
        .or_else(crate::runtime::cache::CompileCache::default_dir)
        .context("no cache directory for pulled components: give --cache-dir")?
        .join("pulled");
    let path = dir.join(format!("{name}@{}.wasm", digest.trim_start_matches("sha256:")));
    let signature = signing::oci_signature_path(&path);
    if path.is_file() && signature.is_file() {
        tracing::info!(component = name, path = %path.display(), "pulled before; its signature is checked at load");
        return Ok((name, path, reference.to_owned()));
    }
    let registry = Registry::connect(&parsed).await?.watched(Box::new(super::progress::Transfers));
    let pulled = registry.pull_verified(&config.gates.trusted_keys).await?;
    crate::store::create_private_dir(&dir)?;
    write_atomically(&signature, (serde_json::to_string_pretty(&pulled.signature)? + "\n").as_bytes())?;
    write_atomically(&path, &pulled.component)?;
    tracing::info!(component = name, key = pulled.key, path = %path.display(), "pulled and verified");
    Ok((name, path, reference.to_owned()))
}
