//! A catalog of components by name: the signed index that `moat add NAME`
//! resolves, and the source it is published from.
//!
//! The source (`catalog.toml`) names each component's file, what it stands
//! in for, and the grants it needs, with the question to ask the user for
//! each directory. `moat catalog publish` pushes every component, signed, and
//! writes the index (`catalog.json`): each name pinned to the digest pushed,
//! and a detached signature beside it (`catalog.json.sig`, ECDSA P-256 over
//! the file's bytes, the key of `moat keygen`). `moat add NAME` reads the
//! index, checks its signature against the trusted keys before reading a
//! name from it, and adds the pinned reference with the grants answered.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail, ensure};
use serde::{Deserialize, Serialize};

use crate::signing::{self, TrustedKey};

/// The only index format this moat reads and writes.
pub const INDEX_VERSION: u32 = 1;

/// One directory a component needs, and how to ask for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct DirectoryAsk {
    /// The question, shown to the user: "the directory that holds memory.jsonl".
    pub ask: String,
    /// Where the component sees it; absent: at the same path as on the host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guest: Option<String>,
    /// `rw` or `ro`.
    pub mode: String,
    /// Whether the user may give more than one.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub many: bool,
}

/// One component of the catalog's source.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct SourceEntry {
    /// The packed component, relative to the source file.
    pub file: PathBuf,
    pub version: String,
    pub description: String,
    /// The server it replaces, with its version.
    pub stands_in_for: Option<String>,
    #[serde(default)]
    pub directories: Vec<DirectoryAsk>,
    /// HTTP destinations it is granted as it is added (`https://*`).
    #[serde(default)]
    pub http: Vec<String>,
}

/// `catalog.toml`: the components to publish, by name.
pub fn read_source(path: &Path) -> Result<BTreeMap<String, SourceEntry>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let source: BTreeMap<String, SourceEntry> =
        toml::from_str(&text).with_context(|| format!("{} is not a catalog source", path.display()))?;
    for (name, entry) in &source {
        for ask in &entry.directories {
            ensure!(
                matches!(ask.mode.as_str(), "rw" | "ro"),
                "{}: [{name}]: a directory's mode is rw or ro, not {:?}",
                path.display(),
                ask.mode
            );
        }
    }
    Ok(source)
}

/// One component of the index: what `moat add NAME` adds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Entry {
    /// `oci://HOST/REPOSITORY@sha256:…`: a digest, never a tag.
    pub reference: String,
    pub version: String,
    pub description: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stands_in_for: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub directories: Vec<DirectoryAsk>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub http: Vec<String>,
}

/// `catalog.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Index {
    pub version: u32,
    pub components: BTreeMap<String, Entry>,
}

/// Where an index's signature lives.
pub fn signature_path(index: &Path) -> PathBuf {
    PathBuf::from(format!("{}.sig", index.display()))
}

impl Index {
    /// The index's bytes and their signature by `key`.
    pub fn signed(&self, key: &p256::ecdsa::SigningKey) -> (Vec<u8>, String) {
        let bytes = (serde_json::to_string_pretty(self).expect("the index serialises") + "\n").into_bytes();
        let signature = signing::sign_bytes(key, &bytes);
        (bytes, signature)
    }

    /// Reads the index at `path` after checking its signature
    /// (`PATH.sig`) against `keys`; nothing of it is read unverified. The key
    /// that signed it.
    pub fn read_verified<'a>(path: &Path, keys: &'a [TrustedKey]) -> Result<(Index, &'a TrustedKey)> {
        let bytes = std::fs::read(path)
            .with_context(|| format!("cannot read the catalog index {}", path.display()))?;
        let signature_file = signature_path(path);
        let signature = std::fs::read_to_string(&signature_file).with_context(|| {
            format!(
                "the catalog index {} has no signature ({} is missing)",
                path.display(),
                signature_file.display()
            )
        })?;
        let key = signing::verify_bytes(&bytes, &signature, keys).with_context(|| {
            format!("the catalog index {} is not signed by a trusted key", path.display())
        })?;
        let index: Index = serde_json::from_slice(&bytes)
            .with_context(|| format!("the catalog index {} is not valid", path.display()))?;
        ensure!(
            index.version == INDEX_VERSION,
            "the catalog index {} has version {}, this moat reads version {INDEX_VERSION}",
            path.display(),
            index.version
        );
        for (name, entry) in &index.components {
            ensure!(
                entry.reference.starts_with("oci://") && entry.reference.contains("@sha256:"),
                "the catalog index names {name} by {}, not by a digest",
                entry.reference
            );
        }
        Ok((index, key))
    }

    /// The entry for `name`, or the names there are.
    pub fn entry(&self, name: &str) -> Result<&Entry> {
        match self.components.get(name) {
            Some(entry) => Ok(entry),
            None => bail!(
                "the catalog has no component named `{name}` (it has {})",
                self.components.keys().cloned().collect::<Vec<_>>().join(", ")
            ),
        }
    }
}

/// The `[components.NAME.grants]` table for `entry`, given the host
/// directories the user chose for each of its directories (in order).
pub fn grants_toml(name: &str, entry: &Entry, chosen: &[Vec<PathBuf>]) -> Result<String> {
    let directories = &entry.directories;
    let mut files = Vec::new();
    for (ask, paths) in directories.iter().zip(chosen) {
        ensure!(!paths.is_empty(), "no directory given for {name}: {}", ask.ask);
        ensure!(ask.many || paths.len() == 1, "{name} takes one directory for: {}", ask.ask);
        for path in paths {
            let host = std::fs::canonicalize(path).with_context(|| {
                format!("{}: no such directory (for {name}: {})", path.display(), ask.ask)
            })?;
            ensure!(host.is_dir(), "{} is not a directory (for {name}: {})", host.display(), ask.ask);
            let host = host.to_str().context("a directory's path is not UTF-8")?.to_string();
            let guest = ask.guest.clone().unwrap_or_else(|| host.clone());
            files.push(format!(
                "{{ host = {}, guest = {}, mode = {} }}",
                toml_string(&host),
                toml_string(&guest),
                toml_string(&ask.mode)
            ));
        }
    }
    let mut table = String::new();
    if !files.is_empty() {
        table.push_str(&format!("files = [{}]\n", files.join(", ")));
    }
    if !entry.http.is_empty() {
        let urls: Vec<String> =
            entry.http.iter().map(|url| format!("{{ url = {} }}", toml_string(url))).collect();
        table.push_str(&format!("http = [{}]\n", urls.join(", ")));
    }
    if table.is_empty() {
        return Ok(String::new());
    }
    Ok(format!("[components.{name}.grants]\n{table}"))
}

fn toml_string(text: &str) -> String {
    toml::Value::String(text.to_string()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index() -> Index {
        let entry = Entry {
            reference: "oci://127.0.0.1:5000/catalog/time@sha256:00".into(),
            version: "0.1.0".into(),
            description: "time".into(),
            stands_in_for: None,
            directories: Vec::new(),
            http: Vec::new(),
        };
        Index { version: INDEX_VERSION, components: [("time".to_string(), entry)].into() }
    }

    #[test]
    fn an_index_reads_only_with_a_signature_a_trusted_key_made() {
        let dir = tempfile::tempdir().unwrap();
        let (key_path, pub_path) = signing::keygen(&dir.path().join("k")).unwrap();
        let key = signing::read_signing_key(&key_path).unwrap();
        let trusted = vec![TrustedKey::read(&pub_path).unwrap()];
        let path = dir.path().join("catalog.json");
        let (bytes, signature) = index().signed(&key);
        std::fs::write(&path, &bytes).unwrap();
        let missing = Index::read_verified(&path, &trusted).unwrap_err();
        assert!(format!("{missing:#}").contains("has no signature"), "{missing:#}");
        std::fs::write(signature_path(&path), &signature).unwrap();
        let (read, _) = Index::read_verified(&path, &trusted).unwrap();
        assert_eq!(read, index());
        // One byte changed after signing: refused before it is read.
        let mut changed = bytes.clone();
        let at = changed.iter().position(|b| *b == b'5').unwrap();
        changed[at] = b'6';
        std::fs::write(&path, &changed).unwrap();
        let error = Index::read_verified(&path, &trusted).unwrap_err();
        assert!(format!("{error:#}").contains("not signed by a trusted key"), "{error:#}");
        assert!(index().entry("nope").unwrap_err().to_string().contains("it has time"));
    }

    #[test]
    fn grants_put_each_directory_where_the_entry_says() {
        let dir = tempfile::tempdir().unwrap();
        let real = std::fs::canonicalize(dir.path()).unwrap();
        let same = DirectoryAsk { ask: "a directory".into(), guest: None, mode: "rw".into(), many: true };
        let fixed = DirectoryAsk {
            ask: "memory".into(),
            guest: Some("/memory".into()),
            mode: "ro".into(),
            many: false,
        };
        let entry = |directories: Vec<DirectoryAsk>, http: Vec<String>| Entry {
            reference: String::new(),
            version: String::new(),
            description: String::new(),
            stands_in_for: None,
            directories,
            http,
        };
        let both = entry(vec![same, fixed], Vec::new());
        let text = grants_toml("c", &both, &[vec![dir.path().into()], vec![dir.path().into()]]).unwrap();
        let host = real.to_str().unwrap();
        assert_eq!(
            text,
            format!(
                "[components.c.grants]\nfiles = [{{ host = \"{host}\", guest = \"{host}\", mode = \"rw\" }}, {{ host = \"{host}\", guest = \"/memory\", mode = \"ro\" }}]\n"
            )
        );
        let one = DirectoryAsk { ask: "one".into(), guest: None, mode: "rw".into(), many: false };
        let two = vec![dir.path().to_path_buf(), dir.path().to_path_buf()];
        assert!(grants_toml("c", &entry(vec![one.clone()], Vec::new()), &[two]).is_err());
        assert!(
            grants_toml("c", &entry(vec![one], Vec::new()), &[vec![dir.path().join("missing")]]).is_err()
        );
        let web = entry(Vec::new(), vec!["https://*".into()]);
        assert_eq!(
            grants_toml("c", &web, &[]).unwrap(),
            "[components.c.grants]\nhttp = [{ url = \"https://*\" }]\n"
        );
    }
}
