//! Signatures on components, offline, in the sigstore formats that cosign
//! reads and writes for key-based signing.
//!
//! Owns: ECDSA P-256 key pairs (private key PKCS#8 PEM, public key SPKI PEM,
//! as `cosign import-key-pair` and `cosign verify --key` take them); a blob
//! signature in a sigstore bundle (`X.wasm.sigstore.json`, what
//! `cosign sign-blob --bundle` writes: a `messageSignature` over the file's
//! bytes); the cosign "simple signing" payload that signs an OCI manifest
//! digest; and the verification of both against the keys the user trusts.
//! Transparency logs and keyless (Fulcio) signing are out of scope: moat
//! verifies offline against keys the user chose.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail, ensure};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use p256::ecdsa::signature::{Signer, Verifier};
use p256::ecdsa::{DerSignature, Signature, SigningKey, VerifyingKey};
use p256::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey, LineEnding};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// The media type of a sigstore bundle, version 0.3.
pub const BUNDLE_MEDIA_TYPE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";
/// The file that holds a component's blob signature: `X.wasm` → `X.wasm.sigstore.json`.
pub const BUNDLE_SUFFIX: &str = ".sigstore.json";
/// The file that holds the OCI signature chain of a pulled component.
pub const OCI_SIGNATURE_SUFFIX: &str = ".cosign.json";
/// cosign's payload type for a signature on an OCI manifest.
pub const SIMPLE_SIGNING_TYPE: &str = "cosign container image signature";

/// A key the user trusts, with where it came from for messages.
#[derive(Debug, Clone)]
pub struct TrustedKey {
    pub label: String,
    pub key: VerifyingKey,
}

impl TrustedKey {
    /// Reads a PEM public key (`-----BEGIN PUBLIC KEY-----`, P-256).
    pub fn read(path: &Path) -> Result<TrustedKey> {
        let pem = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read public key {}", path.display()))?;
        let key = VerifyingKey::from_public_key_pem(&pem).with_context(|| {
            format!("{} is not a PEM ECDSA P-256 public key (`-----BEGIN PUBLIC KEY-----`)", path.display())
        })?;
        Ok(TrustedKey { label: path.display().to_string(), key })
    }

    /// A short identifier of the key: base64 of the sha256 of its DER form.
    pub fn hint(&self) -> String {
        key_hint(&self.key)
    }
}

fn key_hint(key: &VerifyingKey) -> String {
    let der = key.to_public_key_der().expect("P-256 keys encode");
    BASE64.encode(Sha256::digest(der.as_bytes()))
}

/// Writes a new key pair: `PREFIX.key` (PKCS#8, mode 0600) and `PREFIX.pub`.
pub fn keygen(prefix: &Path) -> Result<(PathBuf, PathBuf)> {
    let private_path = PathBuf::from(format!("{}.key", prefix.display()));
    let public_path = PathBuf::from(format!("{}.pub", prefix.display()));
    for path in [&private_path, &public_path] {
        ensure!(!path.exists(), "{} exists; refusing to overwrite a key", path.display());
    }
    let signing = SigningKey::random(&mut rand_core::OsRng);
    let private_pem = signing.to_pkcs8_pem(LineEnding::LF).context("cannot encode the private key")?;
    let public_pem =
        signing.verifying_key().to_public_key_pem(LineEnding::LF).context("cannot encode the public key")?;
    crate::store::create_atomically(&private_path, private_pem.as_bytes(), 0o600)?;
    crate::store::create_atomically(&public_path, public_pem.as_bytes(), 0o644)?;
    Ok((private_path, public_path))
}

/// The PEM label of a private key cosign encrypted (`cosign generate-key-pair`);
/// cosign 1 wrote the older label.
const COSIGN_ENCRYPTED_LABELS: [&str; 2] = ["ENCRYPTED SIGSTORE PRIVATE KEY", "ENCRYPTED COSIGN PRIVATE KEY"];

/// Reads a private key: PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`, P-256, as
/// `moat keygen` writes it), or a key cosign encrypted, opened with the
/// password in `COSIGN_PASSWORD` (as cosign reads it) or, on a terminal,
/// asked for.
pub fn read_signing_key(path: &Path) -> Result<SigningKey> {
    let pem = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read private key {}", path.display()))?;
    if let Some(label) = COSIGN_ENCRYPTED_LABELS.iter().find(|label| pem.contains(&format!("BEGIN {label}")))
    {
        let body =
            pem_body(&pem, label).with_context(|| format!("{}: a broken {label} PEM", path.display()))?;
        let password = match std::env::var("COSIGN_PASSWORD") {
            Ok(password) => password,
            Err(_) if std::io::IsTerminal::is_terminal(&std::io::stdin()) => {
                rpassword::prompt_password(format!("password for {}: ", path.display()))?
            }
            Err(_) => bail!("{} is encrypted: set COSIGN_PASSWORD to its password", path.display()),
        };
        let der =
            decrypt_cosign_key(&body, password.as_bytes()).with_context(|| format!("{}", path.display()))?;
        return SigningKey::from_pkcs8_der(&der)
            .with_context(|| format!("{}: the decrypted key is not an ECDSA P-256 key", path.display()));
    }
    SigningKey::from_pkcs8_pem(&pem).with_context(|| {
        format!(
            "{} is not a PKCS#8 PEM ECDSA P-256 private key (`-----BEGIN PRIVATE KEY-----`) nor a cosign encrypted key",
            path.display()
        )
    })
}

/// The bytes between a PEM's BEGIN and END lines for `label`.
fn pem_body(pem: &str, label: &str) -> Result<Vec<u8>> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = pem.find(&begin).context("no BEGIN line")? + begin.len();
    let stop = pem[start..].find(&end).context("no END line")? + start;
    let text: String = pem[start..stop].chars().filter(|c| !c.is_whitespace()).collect();
    BASE64.decode(text).context("the body is not base64")
}

/// Opens cosign's encrypted key (go-securesystemslib's `encrypted` format):
/// JSON naming an scrypt KDF with its parameters and salt, and a NaCl
/// secretbox with its nonce, over the PKCS#8 DER key.
fn decrypt_cosign_key(body: &[u8], password: &[u8]) -> Result<Vec<u8>> {
    use crypto_secretbox::aead::{Aead, KeyInit};
    let sealed: Value = serde_json::from_slice(body).context("the encrypted key is not cosign's JSON")?;
    let text = |pointer: &str| sealed.pointer(pointer).and_then(Value::as_str).unwrap_or("");
    ensure!(text("/kdf/name") == "scrypt", "the key's KDF is {:?}, not scrypt", text("/kdf/name"));
    ensure!(text("/cipher/name") == "nacl/secretbox", "the key's cipher is {:?}", text("/cipher/name"));
    let number =
        |name: &str| sealed.pointer(&format!("/kdf/params/{name}")).and_then(Value::as_u64).unwrap_or(0);
    let (n, r, p) = (number("N"), number("r"), number("p"));
    ensure!(
        n.is_power_of_two() && n > 1 && n <= 1 << 20,
        "the key's scrypt N ({n}) is not a power of two up to 2^20"
    );
    let params = scrypt::Params::new(n.trailing_zeros() as u8, r as u32, p as u32, 32)
        .map_err(|e| anyhow::anyhow!("the key's scrypt parameters: {e}"))?;
    let decode =
        |pointer: &str| BASE64.decode(text(pointer)).with_context(|| format!("{pointer} is not base64"));
    let mut key = [0u8; 32];
    scrypt::scrypt(password, &decode("/kdf/salt")?, &params, &mut key)
        .map_err(|e| anyhow::anyhow!("scrypt: {e}"))?;
    let nonce = decode("/cipher/nonce")?;
    ensure!(nonce.len() == 24, "the key's nonce is {} bytes, not 24", nonce.len());
    crypto_secretbox::XSalsa20Poly1305::new(&key.into())
        .decrypt(nonce.as_slice().into(), decode("/ciphertext")?.as_slice())
        .map_err(|_| anyhow::anyhow!("wrong password, or the encrypted key was changed"))
}

/// An ASN.1 DER ECDSA-P256-SHA256 signature over `message`, base64.
pub fn sign_bytes(key: &SigningKey, message: &[u8]) -> String {
    let signature: DerSignature = key.sign(message);
    BASE64.encode(signature.as_bytes())
}

/// The sigstore bundle signing `artifact` (the bytes of a component).
pub fn sign_blob(key: &SigningKey, artifact: &[u8]) -> Value {
    json!({
        "mediaType": BUNDLE_MEDIA_TYPE,
        "verificationMaterial": {"publicKey": {"hint": key_hint(key.verifying_key())}},
        "messageSignature": {
            "messageDigest": {"algorithm": "SHA2_256", "digest": BASE64.encode(Sha256::digest(artifact))},
            "signature": sign_bytes(key, artifact),
        },
    })
}

/// Where a component's blob signature lives.
pub fn bundle_path(component: &Path) -> PathBuf {
    PathBuf::from(format!("{}{BUNDLE_SUFFIX}", component.display()))
}

/// Where a pulled component's OCI signature chain lives.
pub fn oci_signature_path(component: &Path) -> PathBuf {
    PathBuf::from(format!("{}{OCI_SIGNATURE_SUFFIX}", component.display()))
}

/// Checks `signature` (base64 DER or raw r||s) over `message` against the
/// trusted keys; the key that verifies it.
pub fn verify_bytes<'a>(message: &[u8], signature: &str, keys: &'a [TrustedKey]) -> Result<&'a TrustedKey> {
    ensure!(!keys.is_empty(), "no trusted keys are configured (--trusted-key or [trust] keys)");
    let bytes = BASE64.decode(signature.trim()).context("the signature is not base64")?;
    let signature = Signature::from_der(&bytes)
        .or_else(|_| Signature::from_slice(&bytes))
        .context("the signature is not an ECDSA P-256 signature")?;
    keys.iter()
        .find(|trusted| trusted.key.verify(message, &signature).is_ok())
        .context("the signature does not verify with any trusted key")
}

/// Verifies a sigstore bundle over `artifact`.
pub fn verify_blob<'a>(artifact: &[u8], bundle: &Value, keys: &'a [TrustedKey]) -> Result<&'a TrustedKey> {
    let media_type = bundle.get("mediaType").and_then(Value::as_str).unwrap_or("");
    ensure!(
        media_type.starts_with("application/vnd.dev.sigstore.bundle"),
        "not a sigstore bundle (mediaType {media_type:?})"
    );
    let signature = bundle
        .pointer("/messageSignature/signature")
        .and_then(Value::as_str)
        .context("the bundle has no messageSignature.signature (only blob signatures are supported)")?;
    if let Some(digest) = bundle.pointer("/messageSignature/messageDigest/digest").and_then(Value::as_str) {
        let actual = BASE64.encode(Sha256::digest(artifact));
        ensure!(
            digest == actual,
            "the component's sha256 does not match the signed digest: its bytes changed after signing"
        );
    }
    verify_bytes(artifact, signature, keys)
}

/// The DSSE payload type of an in-toto statement.
pub const IN_TOTO_PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";

/// DSSE's pre-authentication encoding: what a DSSE signature signs.
fn dsse_pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut pae = format!("DSSEv1 {} {payload_type} {} ", payload_type.len(), payload.len()).into_bytes();
    pae.extend_from_slice(payload);
    pae
}

/// Verifies a sigstore bundle whose DSSE envelope holds an in-toto
/// statement about `manifest_digest`, as cosign 3 signs an image by default:
/// a signature over the envelope from a trusted key, and the manifest's
/// digest among the statement's subjects.
pub fn verify_image_bundle<'a>(
    bundle: &Value,
    manifest_digest: &str,
    keys: &'a [TrustedKey],
) -> Result<&'a TrustedKey> {
    let media_type = bundle.get("mediaType").and_then(Value::as_str).unwrap_or("");
    ensure!(
        media_type.starts_with("application/vnd.dev.sigstore.bundle"),
        "not a sigstore bundle (mediaType {media_type:?})"
    );
    let envelope = bundle.get("dsseEnvelope").context("the bundle holds no DSSE envelope")?;
    let payload_type = envelope.get("payloadType").and_then(Value::as_str).unwrap_or("");
    ensure!(
        payload_type == IN_TOTO_PAYLOAD_TYPE,
        "the envelope holds {payload_type:?}, not an in-toto statement"
    );
    let payload = envelope
        .get("payload")
        .and_then(Value::as_str)
        .and_then(|p| BASE64.decode(p).ok())
        .context("the envelope's payload is not base64")?;
    let pae = dsse_pae(payload_type, &payload);
    let signatures = envelope.get("signatures").and_then(Value::as_array).cloned().unwrap_or_default();
    let key = signatures
        .iter()
        .filter_map(|signature| signature.get("sig").and_then(Value::as_str))
        .find_map(|signature| verify_bytes(&pae, signature, keys).ok())
        .context("no signature of the envelope verifies with a trusted key")?;
    let statement: Value = serde_json::from_slice(&payload).context("the in-toto statement is not JSON")?;
    let kind = statement.get("_type").and_then(Value::as_str).unwrap_or("");
    ensure!(
        kind.starts_with("https://in-toto.io/Statement/"),
        "the payload is not an in-toto statement ({kind:?})"
    );
    let wanted = manifest_digest.trim_start_matches("sha256:");
    let subjects = statement.get("subject").and_then(Value::as_array).cloned().unwrap_or_default();
    ensure!(
        subjects.iter().any(|s| s.pointer("/digest/sha256").and_then(Value::as_str) == Some(wanted)),
        "the signed statement is about another manifest than {manifest_digest}"
    );
    Ok(key)
}

/// cosign's simple-signing payload for the OCI manifest `manifest_digest` of `reference`.
pub fn simple_signing_payload(reference: &str, manifest_digest: &str) -> Vec<u8> {
    let payload = json!({
        "critical": {
            "identity": {"docker-reference": reference},
            "image": {"docker-manifest-digest": manifest_digest},
            "type": SIMPLE_SIGNING_TYPE,
        },
        "optional": null,
    });
    serde_json::to_vec(&payload).expect("payloads serialise")
}

/// The manifest digest a simple-signing payload vouches for.
pub fn signed_manifest_digest(payload: &[u8]) -> Result<String> {
    let payload: Value = serde_json::from_slice(payload).context("the signature payload is not JSON")?;
    ensure!(
        payload.pointer("/critical/type").and_then(Value::as_str) == Some(SIMPLE_SIGNING_TYPE),
        "the signature payload is not a cosign simple-signing payload"
    );
    payload
        .pointer("/critical/image/docker-manifest-digest")
        .and_then(Value::as_str)
        .map(String::from)
        .context("the signature payload names no manifest digest")
}

/// `sha256:...` of bytes, as OCI writes digests.
pub fn oci_digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// A pulled component's signature chain, kept beside it so later loads can
/// verify it offline: the manifest (which names the component layer's
/// digest), the cosign payload (which names the manifest's digest), and the
/// signature over that payload.
///
/// cosign signs in one of two forms, and the chain keeps whichever it was:
/// the simple-signing `payload` and its `signature` (cosign 2, the
/// `sha256-<digest>.sig` tag), or a sigstore `bundle` (cosign 3, an OCI 1.1
/// referrer of the manifest).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct OciSignature {
    pub reference: String,
    pub manifest: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub payload: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub signature: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bundle: Option<String>,
}

impl OciSignature {
    /// Checks the whole chain from the signature down to `component`'s bytes.
    pub fn verify<'a>(&self, component: &[u8], keys: &'a [TrustedKey]) -> Result<&'a TrustedKey> {
        let manifest_digest = oci_digest(self.manifest.as_bytes());
        let key = match &self.bundle {
            Some(bundle) => {
                let bundle: Value =
                    serde_json::from_str(bundle).context("the sigstore bundle is not JSON")?;
                verify_image_bundle(&bundle, &manifest_digest, keys)?
            }
            None => {
                let key = verify_bytes(self.payload.as_bytes(), &self.signature, keys)?;
                let signed = signed_manifest_digest(self.payload.as_bytes())?;
                ensure!(
                    signed == manifest_digest,
                    "the manifest does not match the digest the signature vouches for"
                );
                key
            }
        };
        let manifest: Value = serde_json::from_str(&self.manifest).context("the manifest is not JSON")?;
        let layer = manifest
            .pointer("/layers/0/digest")
            .and_then(Value::as_str)
            .context("the manifest has no layer")?;
        ensure!(
            layer == oci_digest(component),
            "the component's sha256 does not match the signed manifest: its bytes changed after signing"
        );
        Ok(key)
    }
}

/// Verifies whichever signature sits beside `path`: a sigstore bundle, or
/// the OCI chain of a pulled component.
pub fn verify_component<'a>(path: &Path, bytes: &[u8], keys: &'a [TrustedKey]) -> Result<&'a TrustedKey> {
    let bundle = bundle_path(path);
    if bundle.exists() {
        let text = std::fs::read_to_string(&bundle)?;
        let value: Value =
            serde_json::from_str(&text).with_context(|| format!("{} is not JSON", bundle.display()))?;
        return verify_blob(bytes, &value, keys).with_context(|| format!("signature {}", bundle.display()));
    }
    let chain = oci_signature_path(path);
    if chain.exists() {
        let text = std::fs::read_to_string(&chain)?;
        let signature: OciSignature = serde_json::from_str(&text)
            .with_context(|| format!("{} is not an OCI signature record", chain.display()))?;
        return signature.verify(bytes, keys).with_context(|| format!("signature {}", chain.display()));
    }
    bail!("it is not signed (no {} beside it)", bundle.display())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> (SigningKey, Vec<TrustedKey>) {
        let key = SigningKey::random(&mut rand_core::OsRng);
        let trusted = TrustedKey { label: "test".into(), key: *key.verifying_key() };
        (key, vec![trusted])
    }

    #[test]
    fn a_blob_signature_verifies_and_a_flipped_byte_does_not() {
        let (key, trusted) = keys();
        let mut artifact = b"\0asm component bytes".to_vec();
        let bundle = sign_blob(&key, &artifact);
        assert!(verify_blob(&artifact, &bundle, &trusted).is_ok());
        artifact[3] ^= 1;
        let error = verify_blob(&artifact, &bundle, &trusted).unwrap_err();
        assert!(format!("{error:#}").contains("bytes changed after signing"), "{error:#}");
        let (_, stranger) = keys();
        artifact[3] ^= 1;
        let error = verify_blob(&artifact, &bundle, &stranger).unwrap_err();
        assert!(format!("{error:#}").contains("does not verify with any trusted key"), "{error:#}");
    }

    #[test]
    fn the_oci_chain_binds_signature_to_manifest_to_layer() {
        let (key, trusted) = keys();
        let component = b"component".to_vec();
        let manifest = json!({"layers": [{"digest": oci_digest(&component)}]}).to_string();
        let payload = simple_signing_payload("127.0.0.1:5000/t", &oci_digest(manifest.as_bytes()));
        let chain = OciSignature {
            reference: "127.0.0.1:5000/t".into(),
            manifest: manifest.clone(),
            payload: String::from_utf8(payload.clone()).unwrap(),
            signature: sign_bytes(&key, &payload),
            bundle: None,
        };
        assert!(chain.verify(&component, &trusted).is_ok());
        assert!(chain.verify(b"other", &trusted).is_err());
        let swapped = OciSignature { manifest: manifest.replace("layers", "layerz"), ..chain };
        assert!(format!("{:#}", swapped.verify(&component, &trusted).unwrap_err()).contains("manifest"));
    }

    /// A DSSE envelope over an in-toto statement about `digest`, signed with `key`.
    fn image_bundle(key: &SigningKey, digest: &str, payload_type: &str) -> Value {
        let statement = json!({
            "_type": "https://in-toto.io/Statement/v1",
            "subject": [{"name": "r", "digest": {"sha256": digest.trim_start_matches("sha256:")}}],
            "predicateType": "https://sigstore.dev/cosign/sign/v1", "predicate": {},
        })
        .to_string();
        let signature = sign_bytes(key, &dsse_pae(payload_type, statement.as_bytes()));
        json!({
            "mediaType": BUNDLE_MEDIA_TYPE,
            "verificationMaterial": {"publicKey": {}},
            "dsseEnvelope": {"payload": BASE64.encode(&statement), "payloadType": payload_type, "signatures": [{"sig": signature}]},
        })
    }

    #[test]
    fn an_image_bundle_binds_the_key_to_the_manifest_digest_through_the_envelope() {
        let (key, trusted) = keys();
        let digest = oci_digest(b"manifest");
        let bundle = image_bundle(&key, &digest, IN_TOTO_PAYLOAD_TYPE);
        assert!(verify_image_bundle(&bundle, &digest, &trusted).is_ok());
        let other = verify_image_bundle(&bundle, &oci_digest(b"other"), &trusted).unwrap_err();
        assert!(other.to_string().contains("another manifest"), "{other}");
        // The payload type is signed too: an envelope relabelled fails.
        let mut relabelled = bundle.clone();
        relabelled["dsseEnvelope"]["payloadType"] = json!("text/plain");
        assert!(verify_image_bundle(&relabelled, &digest, &trusted).is_err());
        let wrong_type = image_bundle(&key, &digest, "text/plain");
        assert!(verify_image_bundle(&wrong_type, &digest, &trusted).is_err());
        let (stranger, _) = keys();
        let forged = image_bundle(&stranger, &digest, IN_TOTO_PAYLOAD_TYPE);
        assert!(verify_image_bundle(&forged, &digest, &trusted).is_err());
    }
}
