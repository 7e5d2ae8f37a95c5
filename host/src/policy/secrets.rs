//! Secrets: read once at load from the host environment or a file, kept in
//! the host, written only into outgoing requests to the destinations they are
//! bound to, and hidden ([`Redactor`]) in everything else: logs, errors, and
//! whatever comes back to the guest.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use anyhow::{Context, Result, bail, ensure};
use serde::Deserialize;

/// Where a secret's value comes from.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "lowercase")]
pub enum SecretSource {
    /// A host environment variable, read when moat starts.
    Env(String),
    /// A file (trailing newline removed), read when moat starts.
    File(PathBuf),
}

/// A secret value; `Debug` never shows it.
#[derive(Clone)]
pub struct Secret(String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(..)")
    }
}

/// The shortest secret accepted: shorter values would make redaction hide
/// ordinary text and are too weak to be credentials anyway.
const MIN_SECRET_LEN: usize = 8;

/// A component's secrets, by name.
#[derive(Debug, Default)]
pub struct Secrets {
    values: BTreeMap<String, Secret>,
    redactor: Redactor,
}

impl Secrets {
    pub fn load(sources: &BTreeMap<String, SecretSource>) -> Result<Secrets> {
        let mut values = BTreeMap::new();
        for (name, source) in sources {
            ensure!(
                !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
                "secret name `{name}` may only contain letters, digits and `_`"
            );
            let value = match source {
                SecretSource::Env(var) => std::env::var(var).with_context(|| {
                    format!("secret `{name}`: host environment variable `{var}` is not set")
                })?,
                SecretSource::File(path) => std::fs::read_to_string(path)
                    .with_context(|| format!("secret `{name}`: cannot read {}", path.display()))?
                    .trim_end_matches(['\n', '\r'])
                    .to_string(),
            };
            ensure!(
                value.len() >= MIN_SECRET_LEN,
                "secret `{name}` is shorter than {MIN_SECRET_LEN} characters"
            );
            ensure!(
                !value.contains(['\r', '\n', '\0']),
                "secret `{name}` contains a line break or NUL, which cannot go into a header"
            );
            values.insert(name.clone(), Secret(value));
        }
        let redactor = Redactor {
            values: values
                .iter()
                .map(|(name, secret)| (secret.0.clone(), format!("[redacted secret {name}]")))
                .collect(),
        };
        Ok(Secrets { values, redactor })
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.values.keys().map(String::as_str)
    }

    pub fn redactor(&self) -> &Redactor {
        &self.redactor
    }

    /// Checks a header template: every `{NAME}` must be a known secret.
    pub fn check_template(&self, template: &str) -> Result<Vec<String>> {
        let mut used = Vec::new();
        for piece in template_pieces(template)? {
            if let Piece::Secret(name) = piece {
                if !self.values.contains_key(name) {
                    bail!("`{{{name}}}` names no secret; declare it under [components.NAME.secrets]");
                }
                used.push(name.to_string());
            }
        }
        Ok(used)
    }

    /// Renders a checked template with the secret values.
    pub fn render(&self, template: &str) -> String {
        let pieces = template_pieces(template).expect("templates are checked at load");
        pieces
            .into_iter()
            .map(|piece| match piece {
                Piece::Text(text) => text.to_string(),
                Piece::Secret(name) => self.values[name].0.clone(),
            })
            .collect()
    }
}

enum Piece<'a> {
    Text(&'a str),
    Secret(&'a str),
}

/// Splits `Bearer {TOKEN}` into text and secret references. `{{` and `}}` are
/// literal braces.
fn template_pieces(template: &str) -> Result<Vec<Piece<'_>>> {
    let mut pieces = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find(['{', '}']) {
        if rest[open..].starts_with("{{") || rest[open..].starts_with("}}") {
            pieces.push(Piece::Text(&rest[..open + 1]));
            rest = &rest[open + 2..];
            continue;
        }
        ensure!(rest.as_bytes()[open] == b'{', "unmatched `}}` in header template `{template}`");
        let close = rest[open..]
            .find('}')
            .with_context(|| format!("unclosed `{{` in header template `{template}`"))?;
        pieces.push(Piece::Text(&rest[..open]));
        pieces.push(Piece::Secret(&rest[open + 1..open + close]));
        rest = &rest[open + close + 1..];
    }
    pieces.push(Piece::Text(rest));
    Ok(pieces)
}

/// Replaces every secret value of a component with a marker naming the secret.
#[derive(Default, Clone)]
pub struct Redactor {
    /// (value, replacement).
    values: Vec<(String, String)>,
}

impl fmt::Debug for Redactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Redactor({} secrets)", self.values.len())
    }
}

impl Redactor {
    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_string();
        for (value, marker) in &self.values {
            if out.contains(value.as_str()) {
                out = out.replace(value.as_str(), marker);
            }
        }
        out
    }

    /// Byte version, for bodies; non-UTF-8 input is handled bytewise.
    pub fn redact_bytes(&self, bytes: &[u8]) -> Vec<u8> {
        let mut out = bytes.to_vec();
        for (value, marker) in &self.values {
            let needle = value.as_bytes();
            let mut result = Vec::with_capacity(out.len());
            let mut i = 0;
            while i < out.len() {
                if out[i..].starts_with(needle) {
                    result.extend_from_slice(marker.as_bytes());
                    i += needle.len();
                } else {
                    result.push(out[i]);
                    i += 1;
                }
            }
            out = result;
        }
        out
    }

    /// Whether `bytes` hold any secret value.
    pub fn finds_in(&self, bytes: &[u8]) -> bool {
        self.values.iter().any(|(value, _)| memchr::memmem::find(bytes, value.as_bytes()).is_some())
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secrets() -> Secrets {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "s3cr3t-value-123\n").unwrap();
        let sources = BTreeMap::from([("TOKEN".to_string(), SecretSource::File(path))]);
        Secrets::load(&sources).unwrap()
    }

    #[test]
    fn templates_render_and_unknown_names_are_errors() {
        let secrets = secrets();
        assert_eq!(secrets.check_template("Bearer {TOKEN}").unwrap(), ["TOKEN"]);
        assert_eq!(secrets.render("Bearer {TOKEN}"), "Bearer s3cr3t-value-123");
        assert_eq!(secrets.render("{{literal}} {TOKEN}"), "{literal} s3cr3t-value-123");
        assert!(secrets.check_template("Bearer {OTHER}").is_err());
        assert!(secrets.check_template("Bearer {TOKEN").is_err());
    }

    #[test]
    fn redaction_hides_every_occurrence() {
        let secrets = secrets();
        let redactor = secrets.redactor();
        assert_eq!(
            redactor.redact("a s3cr3t-value-123 b s3cr3t-value-123"),
            "a [redacted secret TOKEN] b [redacted secret TOKEN]"
        );
        assert_eq!(redactor.redact_bytes(b"xs3cr3t-value-123y"), b"x[redacted secret TOKEN]y");
        assert!(!format!("{secrets:?}").contains("s3cr3t"), "Debug never shows a value");
    }

    #[test]
    fn missing_and_short_secrets_are_errors() {
        let missing =
            BTreeMap::from([("A".to_string(), SecretSource::Env("MOAT_TEST_SURELY_UNSET_VAR".into()))]);
        assert!(format!("{:#}", Secrets::load(&missing).unwrap_err()).contains("is not set"));
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("t"), "short").unwrap();
        let short = BTreeMap::from([("A".to_string(), SecretSource::File(dir.path().join("t")))]);
        assert!(format!("{:#}", Secrets::load(&short).unwrap_err()).contains("shorter than"));
    }
}
