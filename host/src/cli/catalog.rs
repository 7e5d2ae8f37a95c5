//! `moat catalog publish` and the catalog side of `moat add NAME`: the
//! source's components pushed and signed, the signed index written; a name
//! looked up in a verified index, and the directories it asks for gathered
//! from `--dir` or, on a terminal, asked.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use super::publish::{self, ListingRequest, publish};
use crate::catalog::{self, DirectoryAsk, Entry, INDEX_VERSION, Index};
use crate::config::validate_component_name;
use crate::findings::Severity;
use crate::signing::{self, TrustedKey};
use crate::store::write_atomically;

/// Publishes every component `source` names to `registry`/NAME:VERSION and
/// writes the index, pinned by digest and signed with `key`.
pub async fn publish_catalog(
    source_path: &Path,
    registry: &str,
    key_path: &Path,
    output: &Path,
    fail_on: Severity,
) -> Result<()> {
    let source = catalog::read_source(source_path)?;
    let key = signing::read_signing_key(key_path)?;
    let base = source_path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let registry = registry.trim_end_matches('/');
    let mut index = Index { version: INDEX_VERSION, components: Default::default() };
    for (name, entry) in source {
        validate_component_name(&name).with_context(|| format!("{}: [{name}]", source_path.display()))?;
        let reference = format!("{registry}/{name}:{}", entry.version);
        let listing = ListingRequest { file: None, name: None, remote: None };
        let pinned = publish(&base.join(&entry.file), &reference, key_path, fail_on, &listing).await?.pinned;
        index.components.insert(
            name,
            Entry {
                reference: pinned,
                version: entry.version,
                description: entry.description,
                stands_in_for: entry.stands_in_for,
                directories: entry.directories,
                http: entry.http,
            },
        );
    }
    let (bytes, signature) = index.signed(&key);
    write_atomically(output, &bytes)?;
    write_atomically(&catalog::signature_path(output), signature.as_bytes())?;
    outln!(
        "catalog index {} ({} components), signed: {}",
        output.display(),
        index.components.len(),
        catalog::signature_path(output).display()
    );
    super::output::result(&serde_json::json!({
        "index": output, "signature": catalog::signature_path(output),
        "components": index.components.iter().map(|(name, e)| (name.clone(), e.reference.clone())).collect::<std::collections::BTreeMap<_, _>>(),
    }));
    Ok(())
}

/// Whether `reference` is a catalog name rather than a reference or a package.
pub fn is_catalog_name(reference: &str) -> bool {
    !reference.contains([':', '/', '@']) && validate_component_name(reference).is_ok()
}

/// What `moat add NAME` was given for a catalog name.
pub struct AddRequest<'a> {
    pub name: &'a str,
    pub index: Option<PathBuf>,
    pub dirs: Vec<PathBuf>,
    pub keys: Vec<PathBuf>,
    pub config: PathBuf,
    /// The component's name in the config (default: the catalog's).
    pub as_name: Option<String>,
    pub fail_on: Severity,
}

/// `moat add NAME`: the name's pinned reference from the verified index,
/// added with the grants for the directories it asks for.
pub async fn add(request: AddRequest<'_>) -> Result<()> {
    let Some(index) = &request.index else {
        bail!(
            "`{}` is a catalog name: give the catalog index with --catalog INDEX (or MOAT_CATALOG)",
            request.name
        );
    };
    let keys = publish::trusted_keys(&request.keys, &request.config)?;
    let (reference, grants) = resolve(request.name, index, &keys, &request.dirs)?;
    let name = request.as_name.as_deref().unwrap_or(request.name);
    let grants = grants.replace(&format!("[components.{}.", request.name), &format!("[components.{name}."));
    publish::add(&reference, &request.keys, &request.config, Some(name), request.fail_on, &grants).await
}

/// `name` in the index at `index_path` (its signature checked against
/// `keys` first): the pinned reference, and the grants table for the
/// directories `dirs` gives (or the user answers, on a terminal).
fn resolve(name: &str, index_path: &Path, keys: &[TrustedKey], dirs: &[PathBuf]) -> Result<(String, String)> {
    if keys.is_empty() {
        bail!(
            "no trusted key to check the catalog index with: give --key PUB or list keys in the config's [trust] keys"
        );
    }
    let (index, key) = Index::read_verified(index_path, keys)?;
    let entry = index.entry(name)?;
    tracing::info!(index = %index_path.display(), key = %key.hint(), "catalog index verified");
    let chosen = directories(name, &entry.directories, dirs)?;
    let grants = catalog::grants_toml(name, entry, &chosen)?;
    Ok((entry.reference.clone(), grants))
}

/// The directories for each ask, in order: one `--dir` each, the rest to an
/// ask that takes many; what is missing is asked on a terminal.
fn directories(name: &str, asks: &[DirectoryAsk], dirs: &[PathBuf]) -> Result<Vec<Vec<PathBuf>>> {
    let mut given = dirs.iter().cloned();
    let mut chosen = Vec::new();
    for (index, ask) in asks.iter().enumerate() {
        let last = index + 1 == asks.len();
        let mut paths: Vec<PathBuf> =
            if ask.many && last { given.by_ref().collect() } else { given.next().into_iter().collect() };
        if paths.is_empty() {
            paths = ask_on_terminal(name, ask)?;
        }
        chosen.push(paths);
    }
    if let Some(extra) = given.next() {
        bail!(
            "{name} asks for {} director{}; {} is one too many",
            asks.len(),
            if asks.len() == 1 { "y" } else { "ies" },
            extra.display()
        );
    }
    Ok(chosen)
}

fn ask_on_terminal(name: &str, ask: &DirectoryAsk) -> Result<Vec<PathBuf>> {
    if !std::io::stdin().is_terminal() || !std::io::stderr().is_terminal() {
        bail!("{name} needs {}: give it with --dir PATH", ask.ask);
    }
    let many = if ask.many { " (several: separate with spaces)" } else { "" };
    eprint!(
        "{name} needs {} ({}){many}: ",
        ask.ask,
        if ask.mode == "ro" { "read-only" } else { "read-write" }
    );
    let mut line = String::new();
    std::io::stdin().read_line(&mut line).context("cannot read the answer")?;
    let paths: Vec<PathBuf> = line.split_whitespace().map(PathBuf::from).collect();
    if paths.is_empty() {
        bail!("no directory given for {name}: {}", ask.ask);
    }
    Ok(paths)
}
