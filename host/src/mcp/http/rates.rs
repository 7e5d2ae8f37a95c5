//! Per-principal rate limits: a token bucket of `rate_per_minute` tokens per
//! principal, refilled continuously, kept in this process or, with
//! `[http] rate_store = "redis://…"`, in a Redis that replicas share.
//!
//! Owns: the buckets, the Redis script that takes a token atomically (on
//! Redis's clock, so replicas' clocks do not matter), and what happens when
//! Redis cannot answer: the replica's own bucket decides, so the limit falls
//! back to one per replica, never to none. A person is told once when that
//! starts and once when it ends.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Result;
use redis::aio::ConnectionManager;

use super::redis_store::{self, Connected, REDIS_TIMEOUT};

/// Takes one token from `KEYS[1]`'s bucket of `ARGV[1]` tokens a minute, on
/// Redis's own clock; returns 0, or the milliseconds until a token is back.
/// An idle bucket expires after two minutes (it would be full by then).
const TAKE: &str = r"
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local rate = tonumber(ARGV[1])
local bucket = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(bucket[1]) or rate
local at = tonumber(bucket[2]) or now
tokens = math.min(rate, tokens + math.max(0, now - at) * rate / 60000)
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
else
  wait = math.ceil((1 - tokens) * 60000 / rate)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], 120000)
return wait
";

/// One principal's bucket in this process.
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Where buckets live.
pub struct Rates {
    local: Mutex<HashMap<String, Bucket>>,
    shared: Option<Shared>,
}

/// The Redis every replica takes its tokens from.
struct Shared {
    connection: ConnectionManager,
    script: redis::Script,
    /// `redis://host:port/db`, without a password, for the log.
    label: String,
    /// Whether Redis failed last time (the log says so once per change).
    failing: AtomicBool,
    /// While Redis fails, it is asked again only after this, so that a
    /// store that is down costs requests nothing but this check.
    next_try: Mutex<Option<Instant>>,
}

/// How long a failing store is left alone before it is asked again.
const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(1);

impl Rates {
    /// Buckets in this process.
    pub fn local() -> Rates {
        Rates { local: Mutex::new(HashMap::new()), shared: None }
    }

    /// Buckets in the Redis at `url`, reached now: a store that cannot be
    /// reached at start is a configuration error.
    pub async fn redis(url: &str) -> Result<Rates> {
        let Connected { connection, label } = redis_store::connect(url, "rate store").await?;
        let shared = Shared {
            connection,
            script: redis::Script::new(TAKE),
            label,
            failing: AtomicBool::new(false),
            next_try: Mutex::new(None),
        };
        tracing::info!(store = %shared.label, "rate limits shared through Redis");
        Ok(Rates { local: Mutex::new(HashMap::new()), shared: Some(shared) })
    }

    /// Takes a token from `principal`'s bucket of `rate` a minute: `None`
    /// if it had one, else the seconds until it will.
    pub async fn take(&self, principal: &str, rate: u32) -> Option<u64> {
        let rate = rate.max(1);
        if let Some(shared) = self.shared.as_ref().filter(|shared| shared.worth_asking()) {
            match shared.take(principal, rate).await {
                Ok(wait_ms) => {
                    *shared.next_try.lock().expect("next_try lock") = None;
                    if shared.failing.swap(false, Ordering::Relaxed) {
                        tracing::warn!(store = %shared.label, "the rate store answers again; limits are shared again");
                    }
                    return (wait_ms > 0).then(|| wait_ms.div_ceil(1000));
                }
                Err(error) => {
                    *shared.next_try.lock().expect("next_try lock") =
                        Some(Instant::now() + RETRY_AFTER_FAILURE);
                    if !shared.failing.swap(true, Ordering::Relaxed) {
                        tracing::warn!(store = %shared.label, %error, "the rate store does not answer; each replica limits on its own until it does");
                    }
                }
            }
        }
        self.take_local(principal, rate)
    }

    fn take_local(&self, principal: &str, rate: u32) -> Option<u64> {
        let rate = f64::from(rate);
        let mut buckets = self.local.lock().expect("buckets lock");
        let now = Instant::now();
        let bucket = buckets.entry(principal.to_string()).or_insert(Bucket { tokens: rate, at: now });
        bucket.tokens = (bucket.tokens + now.duration_since(bucket.at).as_secs_f64() * rate / 60.0).min(rate);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            None
        } else {
            Some(((1.0 - bucket.tokens) * 60.0 / rate).ceil() as u64)
        }
    }
}

impl Shared {
    fn worth_asking(&self) -> bool {
        self.next_try.lock().expect("next_try lock").is_none_or(|at| Instant::now() >= at)
    }

    /// The milliseconds until `principal` has a token (0: it had one).
    async fn take(&self, principal: &str, rate: u32) -> Result<u64> {
        // Keyed by a digest: a principal's name (an OAuth subject, say) is
        // not written to a store others may read.
        let key = redis_store::key("rate", principal);
        let mut connection = self.connection.clone();
        let mut invocation = self.script.key(key);
        invocation.arg(rate);
        let wait: u64 = tokio::time::timeout(REDIS_TIMEOUT, invocation.invoke_async(&mut connection))
            .await
            .map_err(|_| anyhow::anyhow!("no answer in {} ms", REDIS_TIMEOUT.as_millis()))??;
        Ok(wait)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_local_bucket_holds_its_rate_then_says_when() {
        let rates = Rates::local();
        for _ in 0..3 {
            assert_eq!(rates.take("alice", 3).await, None);
        }
        let wait = rates.take("alice", 3).await.expect("the fourth of three a minute waits");
        assert!((1..=20).contains(&wait), "{wait}");
        assert_eq!(rates.take("bob", 3).await, None, "each principal has its own bucket");
    }

    #[tokio::test]
    async fn an_unreachable_store_is_a_start_error_that_names_it() {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let error = Rates::redis(&format!("redis://:hunter2@127.0.0.1:{port}/3"))
            .await
            .err()
            .expect("nothing listens");
        let message = format!("{error:#}");
        assert!(message.contains(&format!("redis://127.0.0.1:{port}/3")), "{message}");
        assert!(!message.contains("hunter2"), "the password is never shown: {message}");
        assert!(Rates::redis("http://example.com").await.is_err());
    }
}
