//! Publishing components to OCI registries and pulling them back, in the
//! standard Wasm artifact layout, signed the way cosign signs.
//!
//! Owns: `oci://` references; the push of a component (config
//! `application/vnd.wasm.config.v0+json`, one `application/wasm` layer,
//! an OCI image manifest) and of its cosign signature (the simple-signing
//! payload as a layer of the manifest tagged `sha256-<digest>.sig`, the
//! signature in its `dev.cosignproject.cosign/signature` annotation); and
//! the pull that resolves a tag to a digest once, checks every digest on
//! the way down, and verifies the signature chain before anything is kept.
//! Plain HTTP is used for loopback registries only. Credentials are
//! [`credentials`]; the manifest's annotations, [`annotations`].

use anyhow::{Context, Result, bail, ensure};
use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};
use serde_json::{Value, json};

use crate::signing::{self, OciSignature, TrustedKey, oci_digest};

pub mod annotations;
pub mod credentials;
pub mod packages;
pub mod server_json;

pub const OCI_MANIFEST_MEDIA_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";
pub const WASM_CONFIG_MEDIA_TYPE: &str = "application/vnd.wasm.config.v0+json";
pub const WASM_LAYER_MEDIA_TYPE: &str = "application/wasm";
pub const OCI_CONFIG_MEDIA_TYPE: &str = "application/vnd.oci.image.config.v1+json";
pub const SIMPLE_SIGNING_MEDIA_TYPE: &str = "application/vnd.dev.cosign.simplesigning.v1+json";
pub const COSIGN_SIGNATURE_ANNOTATION: &str = "dev.cosignproject.cosign/signature";
pub const SIGSTORE_BUNDLE_MEDIA_TYPE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";
pub const OCI_INDEX_MEDIA_TYPE: &str = "application/vnd.oci.image.index.v1+json";

/// An `oci://HOST[:PORT]/REPOSITORY[:TAG|@DIGEST]` reference.
#[derive(Debug, Clone)]
pub struct OciRef(Reference);

impl OciRef {
    pub fn parse(text: &str) -> Result<OciRef> {
        let rest = text
            .strip_prefix("oci://")
            .with_context(|| format!("`{text}` is not an oci:// reference (oci://HOST/REPOSITORY:TAG)"))?;
        ensure!(rest.contains('/'), "`{text}` names no repository (oci://HOST/REPOSITORY:TAG)");
        let reference: Reference =
            rest.parse().with_context(|| format!("`{text}` is not a valid reference"))?;
        Ok(OciRef(reference))
    }

    /// `HOST/REPOSITORY`, what cosign calls the docker reference.
    /// The digest the reference pins, if it pins one.
    pub fn digest(&self) -> Option<&str> {
        self.0.digest()
    }

    pub fn repository(&self) -> String {
        format!("{}/{}", self.0.registry(), self.0.repository())
    }

    /// `oci://HOST/REPOSITORY@DIGEST`: the pinned form.
    /// The tag the reference names, if it names one.
    pub fn tag(&self) -> Option<&str> {
        self.0.tag()
    }

    pub fn pinned(&self, digest: &str) -> String {
        format!("oci://{}@{digest}", self.repository())
    }

    fn with_digest(&self, digest: &str) -> Reference {
        Reference::with_digest(self.0.registry().into(), self.0.repository().into(), digest.into())
    }

    fn with_tag(&self, tag: &str) -> Reference {
        Reference::with_tag(self.0.registry().into(), self.0.repository().into(), tag.into())
    }

    fn is_loopback(&self) -> bool {
        let host = self.0.registry().rsplit_once(':').map_or(self.0.registry(), |(host, port)| {
            if port.chars().all(|c| c.is_ascii_digit()) { host } else { self.0.registry() }
        });
        matches!(host, "localhost" | "127.0.0.1" | "[::1]")
    }
}

impl std::fmt::Display for OciRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "oci://{}", self.0)
    }
}

/// Told of each blob as it moves, for a progress display; the command line
/// draws bars with it, the library draws nothing.
pub trait Watch: Send + Sync {
    /// A blob of `bytes` (when known) starts moving; the handle is told how
    /// far it got, and dropped when it is done.
    fn start(&self, what: &str, bytes: Option<u64>) -> Box<dyn Moving>;
}

/// One blob on its way ([`Watch::start`]).
pub trait Moving: Send {
    fn reached(&self, bytes: u64);
}

/// A registry client for one reference: HTTPS, or plain HTTP on loopback,
/// with the credentials [`credentials::for_registry`] finds.
pub struct Registry {
    client: Client,
    auth: RegistryAuth,
    reference: OciRef,
    watch: Option<Box<dyn Watch>>,
}

impl Registry {
    pub async fn connect(reference: &OciRef) -> Result<Registry> {
        // reqwest's rustls needs a process-wide crypto provider; ours is ring.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let protocol = if reference.is_loopback() {
            ClientProtocol::HttpsExcept(vec![reference.0.registry().to_string()])
        } else {
            ClientProtocol::Https
        };
        let client = Client::new(ClientConfig { protocol, ..Default::default() });
        let (auth, source) = credentials::for_registry(reference.0.resolve_registry())?;
        tracing::debug!(registry = reference.0.resolve_registry(), credentials = ?source, "registry");
        client.store_auth_if_needed(reference.0.resolve_registry(), &auth).await;
        Ok(Registry { client, auth, reference: reference.clone(), watch: None })
    }

    /// Tells `watch` of every blob moved from now on.
    pub fn watched(mut self, watch: Box<dyn Watch>) -> Registry {
        self.watch = Some(watch);
        self
    }

    fn moving(&self, what: &str, bytes: Option<u64>) -> Option<Box<dyn Moving>> {
        self.watch.as_ref().map(|watch| watch.start(what, bytes))
    }

    async fn push_blob(&self, bytes: &[u8]) -> Result<(String, usize)> {
        let digest = oci_digest(bytes);
        let moving = self.moving(&format!("pushing {}", short(&digest)), Some(bytes.len() as u64));
        self.client
            .push_blob(&self.reference.0, bytes.to_vec(), &digest)
            .await
            .with_context(|| format!("cannot push blob {digest} to {}", self.reference))?;
        if let Some(moving) = moving {
            moving.reached(bytes.len() as u64);
        }
        Ok((digest, bytes.len()))
    }

    async fn push_manifest(&self, reference: &Reference, manifest: &[u8]) -> Result<String> {
        self.client
            .push_manifest_raw(
                reference,
                manifest.to_vec(),
                OCI_MANIFEST_MEDIA_TYPE.parse().expect("valid header"),
            )
            .await
            .with_context(|| format!("cannot push manifest to oci://{reference}"))?;
        Ok(oci_digest(manifest))
    }

    /// Pushes `component` in the Wasm artifact layout under the reference's
    /// tag; the manifest digest.
    pub async fn push_component(
        &self,
        component: &[u8],
        extra_annotations: &std::collections::BTreeMap<String, String>,
    ) -> Result<String> {
        ensure!(
            self.reference.0.tag().is_some() && self.reference.0.digest().is_none(),
            "publish to a tag, e.g. oci://HOST/REPO:1.0.0"
        );
        let layer_digest = oci_digest(component);
        let world = crate::component::world_names(component)?;
        let mut annotations = annotations::of_component(component);
        annotations.extend(extra_annotations.clone());
        let config = serde_json::to_vec(&json!({
            "created": humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
            "architecture": "wasm",
            "os": "wasip2",
            "layerDigests": [layer_digest],
            "component": {"exports": world.exports, "imports": world.imports, "target": null},
        }))?;
        let (config_digest, config_size) = self.push_blob(&config).await?;
        let (layer_digest, layer_size) = self.push_blob(component).await?;
        let manifest = serde_json::to_vec(&json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST_MEDIA_TYPE,
            "artifactType": WASM_CONFIG_MEDIA_TYPE,
            "config": {"mediaType": WASM_CONFIG_MEDIA_TYPE, "digest": config_digest, "size": config_size},
            "layers": [{"mediaType": WASM_LAYER_MEDIA_TYPE, "digest": layer_digest, "size": layer_size}],
            "annotations": annotations,
        }))?;
        self.push_manifest(&self.reference.0, &manifest).await
    }

    /// Pushes cosign's signature of `manifest_digest` (tag `sha256-<hex>.sig`).
    pub async fn push_signature(
        &self,
        manifest_digest: &str,
        payload: &[u8],
        signature: &str,
    ) -> Result<String> {
        let (payload_digest, payload_size) = self.push_blob(payload).await?;
        let config = serde_json::to_vec(&json!({
            "architecture": "", "os": "", "config": {}, "created": "0001-01-01T00:00:00Z",
            "history": [{"created": "0001-01-01T00:00:00Z"}],
            "rootfs": {"type": "layers", "diff_ids": [payload_digest]},
        }))?;
        let (config_digest, config_size) = self.push_blob(&config).await?;
        let manifest = serde_json::to_vec(&json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST_MEDIA_TYPE,
            "config": {"mediaType": OCI_CONFIG_MEDIA_TYPE, "digest": config_digest, "size": config_size},
            "layers": [{
                "mediaType": SIMPLE_SIGNING_MEDIA_TYPE, "digest": payload_digest, "size": payload_size,
                "annotations": {COSIGN_SIGNATURE_ANNOTATION: signature},
            }],
        }))?;
        let tag = signature_tag(manifest_digest);
        self.push_manifest(&self.reference.with_tag(&tag), &manifest).await?;
        Ok(tag)
    }

    async fn manifest(&self, reference: &Reference) -> Result<(Vec<u8>, Value)> {
        let (bytes, _) = self
            .client
            .pull_manifest_raw(reference, &self.auth, &[OCI_MANIFEST_MEDIA_TYPE, OCI_INDEX_MEDIA_TYPE])
            .await
            .with_context(|| format!("cannot pull manifest oci://{reference}"))?;
        let value: Value = serde_json::from_slice(&bytes)
            .with_context(|| format!("the manifest of oci://{reference} is not JSON"))?;
        Ok((bytes.to_vec(), value))
    }

    async fn blob(&self, digest: &str, size: Option<u64>) -> Result<Vec<u8>> {
        let mut bytes = Vec::new();
        let moving = self.moving(&format!("pulling {}", short(digest)), size);
        let sink = Counting { bytes: &mut bytes, moving: moving.as_deref() };
        self.client
            .pull_blob(&self.reference.0, digest, sink)
            .await
            .with_context(|| format!("cannot pull blob {digest} from {}", self.reference))?;
        ensure!(
            oci_digest(&bytes) == digest,
            "blob {digest} from {} does not match its digest",
            self.reference
        );
        Ok(bytes)
    }

    /// Resolves the reference to a manifest digest once, pulls the component
    /// layer and the signature, and verifies the chain against `keys`.
    pub async fn pull_verified(&self, keys: &[TrustedKey]) -> Result<Pulled> {
        let (manifest_bytes, manifest) = self.manifest(&self.reference.0).await?;
        let manifest_digest = oci_digest(&manifest_bytes);
        if let Some(wanted) = self.reference.0.digest() {
            ensure!(
                wanted == manifest_digest,
                "the registry returned manifest {manifest_digest} for {wanted}"
            );
        }
        // From here on, only the digest is used, never the tag.
        let config_type = manifest.pointer("/config/mediaType").and_then(Value::as_str).unwrap_or("");
        ensure!(
            config_type == WASM_CONFIG_MEDIA_TYPE,
            "{} is not a Wasm artifact (config media type {config_type:?}, expected {WASM_CONFIG_MEDIA_TYPE})",
            self.reference
        );
        let layers = manifest.get("layers").and_then(Value::as_array).cloned().unwrap_or_default();
        let [layer] = layers.as_slice() else {
            bail!("{} must have exactly one layer, it has {}", self.reference, layers.len())
        };
        ensure!(
            layer.get("mediaType").and_then(Value::as_str) == Some(WASM_LAYER_MEDIA_TYPE),
            "the layer of {} is not {WASM_LAYER_MEDIA_TYPE}",
            self.reference
        );
        let layer_digest = layer.get("digest").and_then(Value::as_str).context("the layer has no digest")?;
        let component = self.blob(layer_digest, layer.get("size").and_then(Value::as_u64)).await?;

        let manifest = String::from_utf8(manifest_bytes).context("the manifest is not UTF-8")?;
        let mut errors = Vec::new();
        match self.legacy_signatures(&manifest_digest, &manifest, &component, keys).await {
            Ok(Some(pulled)) => return Ok(pulled),
            Ok(None) => {}
            Err(error) => errors.push(format!("{error:#}")),
        }
        match self.referrer_signatures(&manifest_digest, &manifest, &component, keys).await {
            Ok(Some(pulled)) => return Ok(pulled),
            Ok(None) => {}
            Err(error) => errors.push(format!("{error:#}")),
        }
        match errors.is_empty() {
            true => bail!(
                "{} is not signed: no {} tag, and no sigstore bundle among its referrers",
                self.reference,
                signature_tag(&manifest_digest)
            ),
            false => bail!("the signature of {} does not verify: {}", self.reference, errors.join("; ")),
        }
    }

    /// cosign 2's signatures: the `sha256-<digest>.sig` tag's simple-signing
    /// layers. `None` when there is no such tag.
    async fn legacy_signatures(
        &self,
        manifest_digest: &str,
        manifest: &str,
        component: &[u8],
        keys: &[TrustedKey],
    ) -> Result<Option<Pulled>> {
        let tag = signature_tag(manifest_digest);
        let Ok((_, signature_manifest)) = self.manifest(&self.reference.with_tag(&tag)).await else {
            return Ok(None);
        };
        let signature_layers =
            signature_manifest.get("layers").and_then(Value::as_array).cloned().unwrap_or_default();
        let mut last_error = None;
        for layer in signature_layers {
            if layer.get("mediaType").and_then(Value::as_str) != Some(SIMPLE_SIGNING_MEDIA_TYPE) {
                continue;
            }
            let Some(signature) = layer
                .pointer(&format!("/annotations/{}", COSIGN_SIGNATURE_ANNOTATION.replace('/', "~1")))
                .and_then(Value::as_str)
            else {
                continue;
            };
            let Some(digest) = layer.get("digest").and_then(Value::as_str) else { continue };
            let payload = self.blob(digest, layer.get("size").and_then(Value::as_u64)).await?;
            let chain = OciSignature {
                reference: self.reference.repository(),
                manifest: manifest.to_owned(),
                payload: String::from_utf8(payload).context("the signature payload is not UTF-8")?,
                signature: signature.to_string(),
                bundle: None,
            };
            match chain.verify(component, keys) {
                Ok(key) => return Ok(Some(self.pulled(component, manifest_digest, chain, &key.label))),
                Err(error) => last_error = Some(error),
            }
        }
        // A tag with no signature layer in it signs nothing.
        last_error.map_or(Ok(None), Err)
    }

    /// cosign 3's signatures: sigstore bundles attached to the manifest as
    /// OCI 1.1 referrers, found through the referrers API, or, where a
    /// registry has none (distribution 2.8), through the referrers tag
    /// schema's fallback: an index tagged `sha256-<digest>`. `None` when
    /// neither lists a bundle.
    async fn referrer_signatures(
        &self,
        manifest_digest: &str,
        manifest: &str,
        component: &[u8],
        keys: &[TrustedKey],
    ) -> Result<Option<Pulled>> {
        let subject = self.reference.with_digest(manifest_digest);
        let listed: Vec<Value> =
            match self.client.pull_referrers(&subject, Some(SIGSTORE_BUNDLE_MEDIA_TYPE)).await {
                Ok(index) => serde_json::to_value(&index)?
                    .get("manifests")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default(),
                Err(error) => {
                    tracing::debug!(error = %error, "no referrers API; trying the referrers tag");
                    let fallback = self.reference.with_tag(&manifest_digest.replace(':', "-"));
                    match self.client.pull_manifest_raw(&fallback, &self.auth, &[OCI_INDEX_MEDIA_TYPE]).await
                    {
                        Ok((bytes, _)) => serde_json::from_slice::<Value>(&bytes)
                            .context("the referrers tag does not hold an index")?
                            .get("manifests")
                            .and_then(Value::as_array)
                            .cloned()
                            .unwrap_or_default(),
                        Err(_) => return Ok(None),
                    }
                }
            };
        let bundles: Vec<&str> = listed
            .iter()
            .filter(|m| m.get("artifactType").and_then(Value::as_str) == Some(SIGSTORE_BUNDLE_MEDIA_TYPE))
            .filter_map(|m| m.get("digest").and_then(Value::as_str))
            .collect();
        if bundles.is_empty() {
            return Ok(None);
        }
        let mut last_error = None;
        for digest in bundles {
            let referrer = self.reference.with_digest(digest);
            let (referrer_bytes, referrer_manifest) = self.manifest(&referrer).await?;
            ensure!(oci_digest(&referrer_bytes) == digest, "referrer {digest} does not match its digest");
            ensure!(
                referrer_manifest.pointer("/subject/digest").and_then(Value::as_str) == Some(manifest_digest),
                "referrer {digest} refers to another manifest"
            );
            let Some(layer) = referrer_manifest.pointer("/layers/0") else { continue };
            let Some(layer_digest) = layer.get("digest").and_then(Value::as_str) else { continue };
            let bundle = self.blob(layer_digest, layer.get("size").and_then(Value::as_u64)).await?;
            let chain = OciSignature {
                reference: self.reference.repository(),
                manifest: manifest.to_owned(),
                payload: String::new(),
                signature: String::new(),
                bundle: Some(String::from_utf8(bundle).context("the sigstore bundle is not UTF-8")?),
            };
            match chain.verify(component, keys) {
                Ok(key) => return Ok(Some(self.pulled(component, manifest_digest, chain, &key.label))),
                Err(error) => last_error = Some(error),
            }
        }
        Err(last_error.unwrap_or_else(|| anyhow::anyhow!("no referrer holds a sigstore bundle layer")))
    }

    fn pulled(&self, component: &[u8], manifest_digest: &str, signature: OciSignature, key: &str) -> Pulled {
        Pulled {
            component: component.to_vec(),
            manifest_digest: manifest_digest.to_owned(),
            signature,
            key: key.to_owned(),
        }
    }
}

/// What `pull_verified` brings back, verified.
pub struct Pulled {
    pub component: Vec<u8>,
    pub manifest_digest: String,
    pub signature: OciSignature,
    /// The trusted key that verified it.
    pub key: String,
}

/// cosign's tag for the signatures of a manifest: `sha256-<hex>.sig`.
pub fn signature_tag(manifest_digest: &str) -> String {
    format!("{}.sig", manifest_digest.replace(':', "-"))
}

/// Signs `manifest_digest` of `reference` as cosign does: the payload and its signature.
pub fn cosign_sign(
    key: &p256::ecdsa::SigningKey,
    reference: &OciRef,
    manifest_digest: &str,
) -> (Vec<u8>, String) {
    let payload = signing::simple_signing_payload(&reference.repository(), manifest_digest);
    let signature = signing::sign_bytes(key, &payload);
    (payload, signature)
}

/// A digest short enough for a progress line.
fn short(digest: &str) -> &str {
    &digest[..digest.len().min("sha256:".len() + 12)]
}

/// A blob's bytes as they arrive, told to the watch.
struct Counting<'a> {
    bytes: &'a mut Vec<u8>,
    moving: Option<&'a dyn Moving>,
}

impl tokio::io::AsyncWrite for Counting<'_> {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        let this = self.get_mut();
        this.bytes.extend_from_slice(buf);
        if let Some(moving) = this.moving {
            moving.reached(this.bytes.len() as u64);
        }
        std::task::Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
}
