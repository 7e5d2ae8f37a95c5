//! OpenTelemetry over OTLP/HTTP (`[telemetry] otlp`): each MCP request that
//! runs a component (`tools/call`, `resources/read`, `prompts/get`) as a
//! server span, and the `mcp.server.operation.duration` histogram, named and
//! attributed as the semantic conventions for MCP say. A request's span has
//! the `traceparent` (and `tracestate`) of its `params._meta` as its parent,
//! so a client's trace goes on through moat.
//!
//! No span or metric holds an argument, a result or a principal; the session
//! ID is on spans only (never a metric label), as the conventions recommend.
//! Export runs on the tokio runtime; [`Telemetry::shutdown`] sends what is
//! left when moat stops.

use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};
use opentelemetry::metrics::{Histogram, MeterProvider as _};
use opentelemetry::propagation::{Extractor, TextMapPropagator};
use opentelemetry::trace::{Span as _, SpanKind, Status, Tracer as _, TracerProvider as _};
use opentelemetry::{Context, KeyValue};
use opentelemetry_otlp::WithExportConfig as _;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::metrics::SdkMeterProvider;
use opentelemetry_sdk::metrics::periodic_reader_with_async_runtime::PeriodicReader;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::runtime::Tokio;
use opentelemetry_sdk::trace::span_processor_with_async_runtime::BatchSpanProcessor;
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider};
use serde_json::{Map, Value};

/// `[telemetry]` in moat.toml.
#[derive(Debug, Clone, PartialEq)]
pub struct TelemetrySettings {
    /// The collector's OTLP/HTTP base URL (`http://host:4318`): spans go to
    /// `/v1/traces`, metrics to `/v1/metrics`.
    pub otlp: url::Url,
    /// `service.name` of what moat exports.
    pub service_name: String,
    /// How often metrics are exported.
    pub metrics_interval: Duration,
}

/// Metrics are exported this often unless `[telemetry] metrics_interval` says otherwise.
pub const DEFAULT_METRICS_INTERVAL: Duration = Duration::from_secs(60);

/// The buckets the conventions give `mcp.server.operation.duration`, in seconds.
const DURATION_BUCKETS: [f64; 14] =
    [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0];

/// The exporters, and what a request's instrumentation uses.
pub struct Telemetry {
    traces: SdkTracerProvider,
    tracer: SdkTracer,
    metrics: SdkMeterProvider,
    duration: Histogram<f64>,
}

/// What an MCP request is, for its span and its metric.
pub struct Request<'a> {
    /// `tools/call`, `resources/read`, `prompts/get`.
    pub method: &'static str,
    /// The tool's or prompt's name (the span's target), if any.
    pub target: Option<&'a str>,
    /// A `resources/read`'s URI.
    pub resource_uri: Option<&'a str>,
    pub request_id: String,
    pub session_id: Option<&'a str>,
    pub protocol_version: Option<String>,
    /// `pipe` over stdio, `tcp` over HTTP.
    pub transport: &'static str,
    /// The request's `params._meta`: the trace context, if the client sent one.
    pub meta: &'a Map<String, Value>,
}

/// One request's span and timing, ended by [`Operation::end`].
pub struct Operation<'a> {
    telemetry: &'a Telemetry,
    span: opentelemetry_sdk::trace::Span,
    started: Instant,
    /// The metric's attributes (low cardinality: no session, no request ID).
    labels: Vec<KeyValue>,
}

/// `params._meta` as a carrier of W3C trace context (`traceparent`,
/// `tracestate`), which MCP puts there unprefixed.
struct MetaCarrier<'a>(&'a Map<String, Value>);

impl Extractor for MetaCarrier<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(Value::as_str)
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(String::as_str).collect()
    }
}

impl Telemetry {
    /// Starts exporting to `settings.otlp`. Must run inside the tokio runtime.
    pub fn start(settings: &TelemetrySettings) -> Result<Telemetry> {
        // The exporters' HTTP client (rustls, for an https collector) uses
        // the process's crypto provider; moat's is ring.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let endpoint = |path: &str| -> Result<String> {
            Ok(settings
                .otlp
                .join(path)
                .with_context(|| format!("[telemetry] otlp: {}", settings.otlp))?
                .to_string())
        };
        let resource = Resource::builder_empty().with_service_name(settings.service_name.clone()).build();
        let span_exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_endpoint(endpoint("v1/traces")?)
            .build()
            .context("[telemetry]: cannot make the OTLP span exporter")?;
        let traces = SdkTracerProvider::builder()
            .with_span_processor(BatchSpanProcessor::builder(span_exporter, Tokio).build())
            .with_resource(resource.clone())
            .build();
        let metric_exporter = opentelemetry_otlp::MetricExporter::builder()
            .with_http()
            .with_endpoint(endpoint("v1/metrics")?)
            .build()
            .context("[telemetry]: cannot make the OTLP metric exporter")?;
        let reader =
            PeriodicReader::builder(metric_exporter, Tokio).with_interval(settings.metrics_interval).build();
        let metrics = SdkMeterProvider::builder().with_reader(reader).with_resource(resource).build();
        let duration = metrics
            .meter("moat")
            .f64_histogram("mcp.server.operation.duration")
            .with_unit("s")
            .with_description("MCP request duration as observed on the receiver")
            .with_boundaries(DURATION_BUCKETS.to_vec())
            .build();
        let tracer = traces.tracer("moat");
        tracing::info!(endpoint = %settings.otlp, "exporting traces and metrics over OTLP");
        Ok(Telemetry { traces, tracer, metrics, duration })
    }

    /// Starts the span of `request`, its parent the trace context in its `_meta`.
    pub fn operation(&self, request: Request<'_>) -> Operation<'_> {
        let parent =
            TraceContextPropagator::new().extract_with_context(&Context::new(), &MetaCarrier(request.meta));
        let name = match request.target {
            Some(target) => format!("{} {target}", request.method),
            None => request.method.to_string(),
        };
        let mut labels = vec![
            KeyValue::new("mcp.method.name", request.method),
            KeyValue::new("network.transport", request.transport),
        ];
        if let Some(version) = &request.protocol_version {
            labels.push(KeyValue::new("mcp.protocol.version", version.clone()));
        }
        match (request.method, request.target) {
            ("tools/call", Some(tool)) => {
                labels.push(KeyValue::new("gen_ai.tool.name", tool.to_string()));
                labels.push(KeyValue::new("gen_ai.operation.name", "execute_tool"));
            }
            ("prompts/get", Some(prompt)) => {
                labels.push(KeyValue::new("gen_ai.prompt.name", prompt.to_string()))
            }
            _ => {}
        }
        let mut attributes = labels.clone();
        attributes.push(KeyValue::new("jsonrpc.request.id", request.request_id));
        if let Some(session) = request.session_id {
            attributes.push(KeyValue::new("mcp.session.id", session.to_string()));
        }
        if let Some(uri) = request.resource_uri {
            attributes.push(KeyValue::new("mcp.resource.uri", uri.to_string()));
        }
        let span = self
            .tracer
            .span_builder(name)
            .with_kind(SpanKind::Server)
            .with_attributes(attributes)
            .start_with_context(&self.tracer, &parent);
        Operation { telemetry: self, span, started: Instant::now(), labels }
    }

    /// Exports what is left and stops the exporters (on a blocking thread:
    /// shutting down waits for the export tasks on the runtime).
    pub async fn shutdown(&self) {
        let (traces, metrics) = (self.traces.clone(), self.metrics.clone());
        let stopped = tokio::task::spawn_blocking(move || (traces.shutdown(), metrics.shutdown())).await;
        match stopped {
            Ok((Ok(()), Ok(()))) => {}
            Ok((traces, metrics)) => {
                tracing::warn!(traces = ?traces.err(), metrics = ?metrics.err(), "telemetry: the last export failed")
            }
            Err(error) => tracing::warn!(%error, "telemetry: the last export failed"),
        }
    }
}

impl Operation<'_> {
    /// Ends the span and records the duration; `error` is the `error.type`
    /// (`tool_error`, or the JSON-RPC error code) and the status message.
    pub fn end(mut self, error: Option<(String, String)>) {
        if let Some((kind, message)) = error {
            let error_type = KeyValue::new("error.type", kind);
            self.span.set_attribute(error_type.clone());
            self.span.set_status(Status::error(message));
            self.labels.push(error_type);
        }
        self.span.end();
        self.telemetry.duration.record(self.started.elapsed().as_secs_f64(), &self.labels);
    }
}
