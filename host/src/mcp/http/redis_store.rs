//! Reaching the Redis that replicas share (`[http] rate_store` and
//! `[http] session_store`): one managed connection with short timeouts, a
//! label for the log that never holds the password, and the key of a
//! secret or a name (its sha256), so that what others may read of the store
//! holds neither.

use std::time::Duration;

use anyhow::{Context, Result};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use sha2::Digest;

/// How long a request waits for Redis.
pub const REDIS_TIMEOUT: Duration = Duration::from_millis(250);

/// A connection to a shared Redis, and how the log names it.
pub struct Connected {
    pub connection: ConnectionManager,
    /// `redis://host:port/db`, without a password.
    pub label: String,
}

/// Connects to the Redis at `url` (the `[http]` key `what` names it): a
/// store that cannot be reached at start is a configuration error.
pub async fn connect(url: &str, what: &str) -> Result<Connected> {
    let client = redis::Client::open(url).with_context(|| format!("{what} is not a Redis URL"))?;
    let info = client.get_connection_info();
    let label = format!("redis://{}/{}", info.addr(), info.redis_settings().db());
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(Duration::from_secs(2)))
        .set_response_timeout(Some(REDIS_TIMEOUT))
        .set_number_of_retries(2)
        .set_max_delay(Duration::from_secs(1));
    let connection =
        tokio::time::timeout(Duration::from_secs(5), ConnectionManager::new_with_config(client, config))
            .await
            .map_err(|_| anyhow::anyhow!("no answer in 5 s"))
            .and_then(|connected| Ok(connected?))
            .with_context(|| format!("cannot reach the {what} {label}"))?;
    Ok(Connected { connection, label })
}

/// `moat:KIND:` and the hex sha256 of `secret`.
pub fn key(kind: &str, secret: &str) -> String {
    format!("moat:{kind}:{}", hex::encode(sha2::Sha256::digest(secret.as_bytes())))
}
