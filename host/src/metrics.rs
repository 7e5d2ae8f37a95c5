//! What moat counts for Prometheus, and the text it is read in (`/metrics`):
//! calls by tool and outcome, their durations and the fuel they burned,
//! calls in flight, each component's slots (running, waiting, how many),
//! and HTTP requests refused by reason. No label holds a
//! principal, an argument, a session or anything else a client chose: tool
//! names come from the config and the components, outcomes and reasons
//! from moat's own short lists, so the number of series stays bounded.

use std::sync::atomic::AtomicI64;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CallLabels {
    tool: String,
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ToolLabel {
    tool: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ComponentLabel {
    component: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabel {
    reason: String,
}

/// moat's counters, in one registry.
pub struct Metrics {
    registry: Registry,
    calls: Family<CallLabels, Counter>,
    durations: Family<ToolLabel, Histogram, fn() -> Histogram>,
    fuel: Family<ToolLabel, Counter>,
    in_flight: Gauge<i64, AtomicI64>,
    refusals: Family<ReasonLabel, Counter>,
    component_slots: Family<ComponentLabel, Gauge>,
    component_running: Family<ComponentLabel, Gauge>,
    component_waiting: Family<ComponentLabel, Gauge>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").field("in_flight", &self.in_flight.get()).finish_non_exhaustive()
    }
}

/// Seconds, from 100 µs to about 30 minutes: a trivial call to a call at a
/// generous wall clock.
fn duration_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.0001, 4.0, 12))
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("moat");
        let calls = Family::<CallLabels, Counter>::default();
        let durations =
            Family::<ToolLabel, Histogram, fn() -> Histogram>::new_with_constructor(duration_histogram);
        let fuel = Family::<ToolLabel, Counter>::default();
        let in_flight = Gauge::<i64, AtomicI64>::default();
        let refusals = Family::<ReasonLabel, Counter>::default();
        registry.register(
            "calls",
            "Calls (tools, resources, prompts, completions) by name and outcome",
            calls.clone(),
        );
        registry.register("call_duration_seconds", "How long calls took, by name", durations.clone());
        registry.register(
            "fuel",
            "Fuel the guests burned (about one unit per instruction), by name",
            fuel.clone(),
        );
        registry.register("calls_in_flight", "Calls running now", in_flight.clone());
        registry.register("http_refusals", "HTTP requests the gate refused, by reason", refusals.clone());
        let component_slots = Family::<ComponentLabel, Gauge>::default();
        let component_running = Family::<ComponentLabel, Gauge>::default();
        let component_waiting = Family::<ComponentLabel, Gauge>::default();
        registry.register(
            "component_slots",
            "Calls a component may run at once (concurrent_calls)",
            component_slots.clone(),
        );
        registry.register(
            "component_calls_running",
            "A component's calls running now",
            component_running.clone(),
        );
        registry.register(
            "component_calls_waiting",
            "A component's calls waiting for a slot (at most queued_calls)",
            component_waiting.clone(),
        );
        Metrics {
            registry,
            calls,
            durations,
            fuel,
            in_flight,
            refusals,
            component_slots,
            component_running,
            component_waiting,
        }
    }
}

/// A call in flight; dropped when it ends, however it ends.
#[derive(Debug)]
pub struct Running<'a> {
    metrics: &'a Metrics,
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.metrics.in_flight.dec();
    }
}

impl Metrics {
    /// A call starts; it counts as in flight until the guard drops.
    pub fn call_started(&self) -> Running<'_> {
        self.in_flight.inc();
        Running { metrics: self }
    }

    /// A call of `tool` ended with `outcome` (the audit log's label).
    pub fn call_ended(&self, tool: &str, outcome: &str, duration: Duration, fuel: Option<u64>) {
        let labels = CallLabels { tool: tool.to_string(), outcome: outcome.to_string() };
        self.calls.get_or_create(&labels).inc();
        let tool = ToolLabel { tool: tool.to_string() };
        self.durations.get_or_create(&tool).observe(duration.as_secs_f64());
        if let Some(fuel) = fuel {
            self.fuel.get_or_create(&tool).inc_by(fuel);
        }
    }

    /// The HTTP gate refused a request for `reason` (one of its own words).
    pub fn refused(&self, reason: &'static str) {
        self.refusals.get_or_create(&ReasonLabel { reason: reason.to_string() }).inc();
    }

    /// How full `component`'s slots are: set when the metrics are read.
    pub fn component_occupancy(&self, component: &str, slots: usize, running: usize, waiting: usize) {
        let label = ComponentLabel { component: component.to_string() };
        let gauge = |value: usize| i64::try_from(value).unwrap_or(i64::MAX);
        self.component_slots.get_or_create(&label).set(gauge(slots));
        self.component_running.get_or_create(&label).set(gauge(running));
        self.component_waiting.get_or_create(&label).set(gauge(waiting));
    }

    /// Calls running now.
    pub fn calls_in_flight(&self) -> i64 {
        self.in_flight.get()
    }

    /// The Prometheus text exposition of every metric.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry).expect("writing to a String");
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_are_counted_by_tool_and_outcome_and_in_flight_while_running() {
        let metrics = Metrics::default();
        {
            let _running = metrics.call_started();
            assert_eq!(metrics.calls_in_flight(), 1);
        }
        assert_eq!(metrics.calls_in_flight(), 0, "an ended call is no longer in flight");
        metrics.call_ended("text.word-count", "ok", Duration::from_millis(3), Some(1200));
        metrics.call_ended("text.word-count", "ok", Duration::from_millis(5), Some(800));
        metrics.call_ended("text.word-count", "invalid-arguments", Duration::from_micros(40), None);
        metrics.refused("unauthenticated");
        let text = metrics.encode();
        assert!(text.contains(r#"moat_calls_total{tool="text.word-count",outcome="ok"} 2"#), "{text}");
        assert!(text.contains(r#"moat_calls_total{tool="text.word-count",outcome="invalid-arguments"} 1"#));
        assert!(text.contains(r#"moat_fuel_total{tool="text.word-count"} 2000"#), "{text}");
        assert!(text.contains(r#"moat_call_duration_seconds_count{tool="text.word-count"} 3"#), "{text}");
        assert!(text.contains(r#"moat_http_refusals_total{reason="unauthenticated"} 1"#), "{text}");
        assert!(text.contains("moat_calls_in_flight 0"), "{text}");
    }
}
