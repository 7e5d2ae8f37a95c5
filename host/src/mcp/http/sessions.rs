//! Sessions of the 2025-11-25 protocol era, as moat wants them: IDs of 256
//! random bits from the operating system's CSPRNG (rmcp's own are UUIDv4,
//! 122 bits), an idle expiry, and otherwise rmcp's local session manager.
//!
//! With `[http] session_store = "redis://…"`, replicas share them: each
//! session's `initialize` (what rmcp needs to restore it) and its principal
//! are kept in Redis under the sha256 of its ID, expiring after
//! `session_idle` without use; a replica that does not know a session
//! restores it from there, for its principal only ([`SharedSessions`]). The
//! store holds digests of IDs and principals, never either.
//! What a session has in flight (an open stream, a question waiting for its
//! answer) stays on the replica that holds it.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use redis::AsyncCommands;
use sha2::Digest;

use base64::Engine as _;
use futures_core::Stream;
use rand_core::RngCore;
use rmcp::model::{ClientJsonRpcMessage, ServerJsonRpcMessage};
use rmcp::transport::WorkerTransport;
use rmcp::transport::streamable_http_server::session::ServerSseMessage;
use rmcp::transport::streamable_http_server::session::local::{
    LocalSessionManager, LocalSessionManagerError, LocalSessionWorker, SessionConfig, create_local_session,
};
use rmcp::transport::streamable_http_server::session::{SessionState, SessionStore, SessionStoreError};
use rmcp::transport::streamable_http_server::{RestoreOutcome, SessionId, SessionManager};

use super::redis_store::{self, REDIS_TIMEOUT};

/// rmcp's local sessions with moat's session IDs.
pub struct MoatSessions {
    inner: LocalSessionManager,
    /// Whether sessions unknown here may be restored from a shared store.
    shared: bool,
}

impl MoatSessions {
    pub fn new(idle: Duration, shared: bool) -> MoatSessions {
        let mut inner = LocalSessionManager::default();
        let mut config = SessionConfig::default();
        config.keep_alive = Some(idle);
        inner.session_config = config;
        MoatSessions { inner, shared }
    }
}

/// Sessions in the Redis replicas share: one hash per session, keyed by the
/// sha256 of its ID, holding rmcp's state (`state`: the client's
/// `initialize`) and the sha256 of the principal that opened it (`owner`),
/// expiring after `idle` without use.
pub struct SharedSessions {
    connection: redis::aio::ConnectionManager,
    idle: Duration,
    pub label: String,
}

/// A Redis request that did not answer in time, or failed.
async fn answered<T>(request: impl Future<Output = redis::RedisResult<T>>) -> Result<T> {
    match tokio::time::timeout(REDIS_TIMEOUT, request).await {
        Ok(answer) => Ok(answer?),
        Err(_) => anyhow::bail!("no answer in {} ms", REDIS_TIMEOUT.as_millis()),
    }
}

impl SharedSessions {
    /// The store at `url`, reached now: one that cannot be reached at start
    /// is a configuration error.
    pub async fn connect(url: &str, idle: Duration) -> Result<Arc<SharedSessions>> {
        let connected = redis_store::connect(url, "session store").await?;
        tracing::info!(store = %connected.label, "sessions shared through Redis");
        Ok(Arc::new(SharedSessions { connection: connected.connection, idle, label: connected.label }))
    }

    fn key(id: &str) -> String {
        redis_store::key("session", id)
    }

    fn idle_ms(&self) -> i64 {
        i64::try_from(self.idle.as_millis()).unwrap_or(i64::MAX)
    }

    /// A principal as the store holds it: its sha256, so that the store
    /// holds no principal's name (an OAuth subject, say).
    fn owner_of(principal: &str) -> String {
        hex::encode(sha2::Sha256::digest(principal.as_bytes()))
    }

    /// Whether `principal` opened session `id`; `None` when the store does
    /// not know the session, or knows it without an owner yet.
    pub async fn opened_by(&self, id: &str, principal: &str) -> Result<Option<bool>> {
        let mut connection = self.connection.clone();
        let owner: Option<String> = answered(connection.hget(Self::key(id), "owner")).await?;
        Ok(owner.map(|owner| owner == Self::owner_of(principal)))
    }

    /// Records `principal` as the owner of the session `id` it just opened.
    pub async fn set_owner(&self, id: &str, principal: &str) -> Result<()> {
        let key = Self::key(id);
        let mut pipe = redis::pipe();
        pipe.hset(&key, "owner", Self::owner_of(principal)).ignore().pexpire(&key, self.idle_ms()).ignore();
        let mut connection = self.connection.clone();
        answered(pipe.query_async::<()>(&mut connection)).await
    }

    /// Session `id` was used: its expiry starts again.
    pub async fn touch(&self, id: &str) -> Result<()> {
        let mut connection = self.connection.clone();
        answered(connection.pexpire::<_, ()>(Self::key(id), self.idle_ms())).await
    }
}

#[async_trait::async_trait]
impl SessionStore for SharedSessions {
    async fn load(&self, id: &str) -> Result<Option<SessionState>, SessionStoreError> {
        let mut connection = self.connection.clone();
        let state: Option<String> = answered(connection.hget(Self::key(id), "state")).await?;
        Ok(state.map(|state| serde_json::from_str(&state)).transpose()?)
    }

    async fn store(&self, id: &str, state: &SessionState) -> Result<(), SessionStoreError> {
        let key = Self::key(id);
        let mut pipe = redis::pipe();
        pipe.hset(&key, "state", serde_json::to_string(state)?)
            .ignore()
            .pexpire(&key, self.idle_ms())
            .ignore();
        let mut connection = self.connection.clone();
        Ok(answered(pipe.query_async::<()>(&mut connection)).await?)
    }

    async fn delete(&self, id: &str) -> Result<(), SessionStoreError> {
        let mut connection = self.connection.clone();
        Ok(answered(connection.del::<_, ()>(Self::key(id))).await?)
    }
}

/// A new session ID: 32 bytes from the OS CSPRNG, base64url.
pub fn new_session_id() -> String {
    let mut bytes = [0u8; 32];
    rand_core::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

impl SessionManager for MoatSessions {
    type Error = LocalSessionManagerError;
    type Transport = WorkerTransport<LocalSessionWorker>;

    async fn create_session(&self) -> Result<(SessionId, Self::Transport), Self::Error> {
        let id: SessionId = new_session_id().into();
        let (handle, worker) = create_local_session(id.clone(), self.inner.session_config.clone());
        self.inner.sessions.write().await.insert(id.clone(), handle);
        Ok((id, WorkerTransport::spawn(worker)))
    }

    async fn initialize_session(
        &self,
        id: &SessionId,
        message: ClientJsonRpcMessage,
    ) -> Result<ServerJsonRpcMessage, Self::Error> {
        self.inner.initialize_session(id, message).await
    }

    async fn has_session(&self, id: &SessionId) -> Result<bool, Self::Error> {
        self.inner.has_session(id).await
    }

    async fn close_session(&self, id: &SessionId) -> Result<(), Self::Error> {
        self.inner.close_session(id).await
    }

    async fn create_stream(
        &self,
        id: &SessionId,
        message: ClientJsonRpcMessage,
    ) -> Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, Self::Error> {
        self.inner.create_stream(id, message).await
    }

    async fn accept_message(&self, id: &SessionId, message: ClientJsonRpcMessage) -> Result<(), Self::Error> {
        self.inner.accept_message(id, message).await
    }

    async fn create_standalone_stream(
        &self,
        id: &SessionId,
    ) -> Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, Self::Error> {
        self.inner.create_standalone_stream(id).await
    }

    async fn resume(
        &self,
        id: &SessionId,
        last_event_id: String,
    ) -> Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, Self::Error> {
        self.inner.resume(id, last_event_id).await
    }

    /// A session another replica opened (rmcp found it in the shared store):
    /// a local worker under its ID, for rmcp to replay its `initialize` on.
    async fn restore_session(&self, id: SessionId) -> Result<RestoreOutcome<Self::Transport>, Self::Error> {
        if !self.shared {
            // Sessions live in this process only: an unknown ID is unknown.
            return Ok(RestoreOutcome::NotSupported);
        }
        let mut sessions = self.inner.sessions.write().await;
        if sessions.contains_key(&id) {
            return Ok(RestoreOutcome::AlreadyPresent);
        }
        let (handle, worker) = create_local_session(id.clone(), self.inner.session_config.clone());
        sessions.insert(id, handle);
        Ok(RestoreOutcome::Restored(WorkerTransport::spawn(worker)))
    }
}
