//! Resource limits: every per-call knob, its default, and what exceeding it
//! says; the host-wide cap on calls at once; and the engine features that
//! enforce the limits.
//!
//! Defaults are tight; the config raises them per component (`[limits]` for all,
//! `[components.NAME.limits]` for one). A limit that trips ends only that call,
//! with an [`LimitExceeded`] error that names the limit and its value.

use std::fmt;
use std::time::Duration;

use bytesize::ByteSize;
use serde::Deserialize;

/// The largest number of calls the whole host runs at once (across components)
/// unless the config says otherwise. It also sizes the instance pool.
pub const DEFAULT_MAX_CONCURRENT_CALLS: u32 = 16;

/// Engine features that enforce limits. Both are on unless a program using
/// the library turns them off; the benchmarks do, to measure what each costs.
/// There is no config key or CLI flag for this: without fuel a guest's compute
/// is bounded only by the wall clock, and without epochs a spinning guest can be
/// stopped only when it calls the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EngineOptions {
    pub fuel: bool,
    pub epoch_interruption: bool,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions { fuel: true, epoch_interruption: true }
    }
}

/// The limits one call of one component runs under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Fuel per call: roughly one unit per WebAssembly instruction executed.
    /// Instantiating (start functions) has a budget of its own of this size.
    /// Measured on the 2-core reference machine: SHA-256 burns about 10 G units
    /// per second, JSON formatting about 6 G, so the default of 20 G is a few
    /// seconds of real compute. Fuel does not tick inside host calls;
    /// `wall_clock` covers those.
    pub fuel: u64,
    /// Wall-clock deadline for the whole call (guest code and the host calls it
    /// makes, and instantiation when the call makes its own instance), enforced
    /// by epoch interruption and an async timeout. A spare instance, made
    /// before its call, is made under a deadline of its own of this length.
    pub wall_clock: Duration,
    /// Total bytes of linear memory across all memories of one call's instance.
    pub memory: u64,
    /// Elements in any one table.
    pub table_elements: u64,
    /// Core and component instances created by one call.
    pub instances: u32,
    /// Tables created by one call.
    pub tables: u32,
    /// Linear memories created by one call.
    pub memories: u32,
    /// Bytes of the call's result once rendered as JSON.
    pub output: u64,
    /// Bytes of guest stdout and of guest stderr kept per call for the log;
    /// the rest is counted and dropped (the guest is not told).
    pub guest_log: u64,
    /// Bytes of one outgoing HTTP request body (wasi:http).
    pub http_request_body: u64,
    /// Bytes of one HTTP response body; a larger response is refused.
    pub http_response_body: u64,
    /// Time for one HTTP exchange: connect, send, and read the whole response.
    pub http_timeout: Duration,
    /// Calls of this component running at once.
    pub concurrent_calls: u32,
    /// Calls of this component waiting for a running slot. A call that finds
    /// every slot and every waiting place taken fails at once with the
    /// concurrency error; a waiting call's wall clock starts when it runs.
    pub queued_calls: u32,
    /// Log messages and progress reports one call may send the client per
    /// second (`wit/host/host.wit`), with a burst of one second's worth; the
    /// rest are dropped and counted.
    pub notifications_per_second: u32,
    /// Bytes of one log message (its fields included) or progress message;
    /// longer text is cut and marked.
    pub notification_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            fuel: 20_000_000_000,
            wall_clock: Duration::from_secs(10),
            memory: 256 * 1024 * 1024,
            table_elements: 100_000,
            instances: 32,
            tables: 32,
            memories: 8,
            output: 1024 * 1024,
            guest_log: 64 * 1024,
            http_request_body: 1024 * 1024,
            http_response_body: 10 * 1024 * 1024,
            http_timeout: Duration::from_secs(10),
            concurrent_calls: 8,
            queued_calls: 32,
            notifications_per_second: 20,
            notification_bytes: 4 * 1024,
        }
    }
}

/// Limits as written in the config: every field optional, unknown keys refused.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsOverride {
    pub fuel: Option<u64>,
    #[serde(default, with = "humantime_serde")]
    pub wall_clock: Option<Duration>,
    pub memory: Option<ByteSize>,
    pub table_elements: Option<u64>,
    pub instances: Option<u32>,
    pub tables: Option<u32>,
    pub memories: Option<u32>,
    pub output: Option<ByteSize>,
    pub guest_log: Option<ByteSize>,
    pub http_request_body: Option<ByteSize>,
    pub http_response_body: Option<ByteSize>,
    #[serde(default, with = "humantime_serde")]
    pub http_timeout: Option<Duration>,
    pub concurrent_calls: Option<u32>,
    pub queued_calls: Option<u32>,
    pub notifications_per_second: Option<u32>,
    pub notification_bytes: Option<ByteSize>,
}

impl Limits {
    /// These limits with the fields set in `over` replaced.
    pub fn with(mut self, over: &LimitsOverride) -> Limits {
        macro_rules! apply {
            ($($field:ident),*) => { $( if let Some(v) = over.$field { self.$field = v; } )* };
        }
        apply!(
            fuel,
            wall_clock,
            table_elements,
            instances,
            tables,
            memories,
            http_timeout,
            concurrent_calls,
            queued_calls,
            notifications_per_second
        );
        if let Some(v) = over.memory {
            self.memory = v.as_u64();
        }
        if let Some(v) = over.output {
            self.output = v.as_u64();
        }
        if let Some(v) = over.guest_log {
            self.guest_log = v.as_u64();
        }
        if let Some(v) = over.http_request_body {
            self.http_request_body = v.as_u64();
        }
        if let Some(v) = over.http_response_body {
            self.http_response_body = v.as_u64();
        }
        if let Some(v) = over.notification_bytes {
            self.notification_bytes = v.as_u64();
        }
        self
    }

    /// Refuses limits that cannot work (zero slots, zero time, zero fuel).
    pub fn validate(&self) -> Result<(), String> {
        let checks: [(&str, bool); 5] = [
            ("fuel", self.fuel > 0),
            ("wall_clock", !self.wall_clock.is_zero()),
            ("memory", self.memory > 0),
            ("output", self.output > 0),
            ("concurrent_calls", self.concurrent_calls > 0),
        ];
        match checks.iter().find(|(_, ok)| !ok) {
            Some((name, _)) => Err(format!("limit `{name}` must be greater than zero")),
            None => Ok(()),
        }
    }
}

/// A limit that ended a call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LimitExceeded {
    #[error("fuel limit of {0} units exhausted")]
    Fuel(u64),
    #[error("wall-clock limit of {} exceeded", humantime::format_duration(*.0))]
    WallClock(Duration),
    #[error("memory limit of {} exceeded (the guest asked for {} in total)", Bytes(*limit), Bytes(*requested))]
    Memory { limit: u64, requested: u64 },
    #[error("table limit of {limit} elements exceeded (the guest asked for {requested})")]
    TableElements { limit: u64, requested: u64 },
    #[error("limit of {limit} {what} per call exceeded")]
    Count { what: &'static str, limit: u32 },
    #[error("output limit of {} exceeded (the result is {})", Bytes(*limit), Bytes(*actual))]
    Output { limit: u64, actual: u64 },
    #[error("concurrency limit reached: {running} calls of this component running and {queued} waiting")]
    Concurrency { running: u32, queued: u32 },
    #[error("stack limit of {} exhausted (too deep recursion)", Bytes(*.0))]
    Stack(u64),
}

/// Bytes shown the way people write them (`256 MiB`).
pub(crate) struct Bytes(pub(crate) u64);

impl fmt::Display for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", ByteSize(self.0).display().iec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_replace_only_what_they_name() {
        let over: LimitsOverride =
            toml::from_str("fuel = 5\nwall_clock = \"250ms\"\nmemory = \"16MiB\"").unwrap();
        let limits = Limits::default().with(&over);
        assert_eq!(limits.fuel, 5);
        assert_eq!(limits.wall_clock, Duration::from_millis(250));
        assert_eq!(limits.memory, 16 * 1024 * 1024);
        assert_eq!(limits.output, Limits::default().output);
    }

    #[test]
    fn unknown_limit_names_are_errors() {
        let err = toml::from_str::<LimitsOverride>("fuell = 5").unwrap_err().to_string();
        assert!(err.contains("unknown field `fuell`"), "{err}");
    }

    #[test]
    fn messages_name_the_limit_and_its_value() {
        let memory = LimitExceeded::Memory { limit: 256 * 1024 * 1024, requested: 300 * 1024 * 1024 };
        assert_eq!(
            memory.to_string(),
            "memory limit of 256.0 MiB exceeded (the guest asked for 300.0 MiB in total)"
        );
        assert_eq!(
            LimitExceeded::WallClock(Duration::from_secs(10)).to_string(),
            "wall-clock limit of 10s exceeded"
        );
        assert!(Limits { concurrent_calls: 0, ..Limits::default() }.validate().is_err());
    }
}
