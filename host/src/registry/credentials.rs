//! Who moat is at a registry, found where the tools people already use
//! leave it: `MOAT_REGISTRY_USERNAME` and `MOAT_REGISTRY_PASSWORD` first,
//! else Docker's `config.json` (`$DOCKER_CONFIG`, else `~/.docker`), as
//! `docker login`, `wkg` and `wash` write it: its `auths`, and the
//! credential helpers its `credHelpers` and `credsStore` name
//! (`docker-credential-NAME get`), read with the `docker_credential` crate.
//! Nobody found: anonymous.

use anyhow::{Result, bail};
use docker_credential::{CredentialRetrievalError, DockerCredential};
use oci_client::secrets::RegistryAuth;

/// Where the credentials of a registry came from, for the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Environment,
    DockerConfig,
    Anonymous,
}

/// The credentials for `registry` (`HOST[:PORT]`).
pub fn for_registry(registry: &str) -> Result<(RegistryAuth, Source)> {
    if let (Ok(user), Ok(password)) =
        (std::env::var("MOAT_REGISTRY_USERNAME"), std::env::var("MOAT_REGISTRY_PASSWORD"))
    {
        return Ok((RegistryAuth::Basic(user, password), Source::Environment));
    }
    if !docker_config().is_some_and(|path| path.is_file()) {
        return Ok((RegistryAuth::Anonymous, Source::Anonymous));
    }
    match docker_credential::get_credential(registry) {
        Ok(DockerCredential::UsernamePassword(user, password)) => {
            Ok((RegistryAuth::Basic(user, password), Source::DockerConfig))
        }
        Ok(DockerCredential::IdentityToken(_)) => bail!(
            "Docker's config.json holds an identity token for {registry} (an OAuth refresh token), which moat \
             cannot exchange yet: log in with a username and password, or set MOAT_REGISTRY_USERNAME and \
             MOAT_REGISTRY_PASSWORD"
        ),
        Err(CredentialRetrievalError::ConfigNotFound | CredentialRetrievalError::NoCredentialConfigured) => {
            Ok((RegistryAuth::Anonymous, Source::Anonymous))
        }
        Err(CredentialRetrievalError::HelperFailure { helper, stderr, .. }) => {
            bail!("the credential helper `{helper}` failed for {registry}: {}", stderr.trim())
        }
        Err(error) => {
            let path = docker_config().unwrap_or_default();
            bail!("cannot read the credentials for {registry} from {}: {error}", path.display())
        }
    }
}

/// Docker's `config.json`: in `$DOCKER_CONFIG`, else `~/.docker`.
fn docker_config() -> Option<std::path::PathBuf> {
    let dir = match std::env::var_os("DOCKER_CONFIG").filter(|dir| !dir.is_empty()) {
        Some(dir) => std::path::PathBuf::from(dir),
        None => dirs::home_dir()?.join(".docker"),
    };
    Some(dir.join("config.json"))
}
