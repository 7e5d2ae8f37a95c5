//! OpenTelemetry export: a collector of our own on 127.0.0.1 receives
//! moat's OTLP/HTTP requests, which are decoded with the OTLP protobuf
//! types and checked against the semantic conventions for MCP.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::metrics::v1::metric;
use opentelemetry_proto::tonic::trace::v1::{Span, span, status};
use prost::Message;
use rmcp::model::{CallToolRequestParams, RequestMetaObject};
use serde_json::json;

use crate::support::{Moat, is_error};

/// What the collector was sent: (path, body), in order.
type Received = Arc<Mutex<Vec<(String, Bytes)>>>;

/// An OTLP/HTTP collector on a free loopback port that keeps every request
/// and answers 200; it stops with the test's runtime.
async fn collector() -> (String, Received) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let received: Received = Arc::default();
    let kept = received.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else { return };
            let kept = kept.clone();
            tokio::spawn(async move {
                let service =
                    hyper::service::service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                        let kept = kept.clone();
                        async move {
                            let path = request.uri().path().to_string();
                            let body = request.into_body().collect().await?.to_bytes();
                            kept.lock().unwrap().push((path, body));
                            let mut answer = hyper::Response::new(Full::new(Bytes::new()));
                            answer
                                .headers_mut()
                                .insert("content-type", "application/x-protobuf".parse().unwrap());
                            Ok::<_, hyper::Error>(answer)
                        }
                    });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (format!("http://{address}"), received)
}

fn spans(received: &Received) -> Vec<(Span, Vec<KeyValue>)> {
    let received = received.lock().unwrap();
    let mut spans = Vec::new();
    for (_, body) in received.iter().filter(|(path, _)| path == "/v1/traces") {
        let request = ExportTraceServiceRequest::decode(body.clone()).expect("an OTLP trace export");
        for resource in request.resource_spans {
            let attributes = resource.resource.map(|r| r.attributes).unwrap_or_default();
            for scope in resource.scope_spans {
                spans.extend(scope.spans.into_iter().map(|span| (span, attributes.clone())));
            }
        }
    }
    spans
}

fn attribute<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a str> {
    attributes.iter().find(|kv| kv.key == key).and_then(|kv| match &kv.value {
        Some(AnyValue { value: Some(any_value::Value::StringValue(text)) }) => Some(text.as_str()),
        _ => None,
    })
}

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT_ID: &str = "00f067aa0ba902b7";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_are_traced_under_the_clients_trace_and_timed() {
    let (endpoint, received) = collector().await;
    let moat = Moat::start(&format!(
        "[components.text]\npath = \"{{dist}}/text.wasm\"\n\n\
         [telemetry]\notlp = \"{endpoint}\"\nservice_name = \"moat-under-test\"\nmetrics_interval = \"1s\"\n"
    ))
    .await;

    // A call carrying the client's trace context in `_meta`, as MCP's
    // conventions put it.
    let mut params = CallToolRequestParams::new("text.word-count")
        .with_arguments(json!({"text": "private words of the user"}).as_object().unwrap().clone());
    let mut meta = RequestMetaObject::default();
    meta.insert("traceparent".into(), json!(format!("00-{TRACE_ID}-{PARENT_ID}-01")));
    params.meta = Some(meta);
    let counted = moat.client.call_tool(params).await.unwrap();
    assert!(!is_error(&counted), "{counted:?}");
    // A tool error, and a call with no trace context.
    let bad = moat.call("text.regex-find", json!({"pattern": "(", "text": "x", "max-matches": null})).await;
    assert!(is_error(&bad));
    moat.stop().await;

    // Sent when moat stops, if not before.
    let deadline = Instant::now() + Duration::from_secs(30);
    let (mut traced, mut timed) = (Vec::new(), false);
    while traced.len() < 2 || !timed {
        assert!(Instant::now() < deadline, "the collector got {} spans, metrics: {timed}", traced.len());
        tokio::time::sleep(Duration::from_millis(100)).await;
        traced = spans(&received);
        timed = received.lock().unwrap().iter().filter(|(path, _)| path == "/v1/metrics").any(|(_, body)| {
            let request = ExportMetricsServiceRequest::decode(body.clone()).unwrap();
            request.resource_metrics.iter().flat_map(|r| &r.scope_metrics).flat_map(|s| &s.metrics).any(|m| {
                m.name == "mcp.server.operation.duration"
                    && m.unit == "s"
                    && matches!(&m.data, Some(metric::Data::Histogram(h)) if h.data_points.iter().map(|p| p.count).sum::<u64>() >= 2)
            })
        });
    }

    let (counted, resource) =
        traced.iter().find(|(s, _)| s.name == "tools/call text.word-count").expect("the call's span");
    assert_eq!(attribute(resource, "service.name"), Some("moat-under-test"));
    assert_eq!(counted.kind, span::SpanKind::Server as i32);
    assert_eq!(hex::encode(&counted.trace_id), TRACE_ID, "the client's trace goes on");
    assert_eq!(hex::encode(&counted.parent_span_id), PARENT_ID, "under the client's span");
    let attributes = &counted.attributes;
    assert_eq!(attribute(attributes, "mcp.method.name"), Some("tools/call"));
    assert_eq!(attribute(attributes, "gen_ai.tool.name"), Some("text.word-count"));
    assert_eq!(attribute(attributes, "gen_ai.operation.name"), Some("execute_tool"));
    assert_eq!(attribute(attributes, "network.transport"), Some("pipe"));
    assert_eq!(attribute(attributes, "mcp.protocol.version"), Some("2025-11-25"));
    assert!(attribute(attributes, "jsonrpc.request.id").is_some(), "{attributes:?}");
    assert_eq!(attribute(attributes, "error.type"), None);

    let (bad, _) =
        traced.iter().find(|(s, _)| s.name == "tools/call text.regex-find").expect("the failed call's span");
    assert_eq!(attribute(&bad.attributes, "error.type"), Some("tool_error"));
    assert_eq!(bad.status.as_ref().map(|s| s.code), Some(status::StatusCode::Error as i32));
    assert_ne!(hex::encode(&bad.trace_id), TRACE_ID, "no context in `_meta`: a trace of its own");
    assert!(bad.parent_span_id.is_empty());

    // Nothing the user sent leaves in telemetry.
    let everything: Vec<u8> = received.lock().unwrap().iter().flat_map(|(_, body)| body.to_vec()).collect();
    assert!(!everything.windows(13).any(|w| w == b"private words"), "an argument was exported");
}

/// Over HTTP, a call's span says so and names its session.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_http_a_span_names_its_transport_and_session() {
    use rmcp::ServiceExt;
    use rmcp::transport::StreamableHttpClientTransport;
    use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;

    let _ = rustls::crypto::ring::default_provider().install_default();
    let (endpoint, received) = collector().await;
    let mut moat = crate::http::HttpMoat::start(&format!("[telemetry]\notlp = \"{endpoint}/\"\n")).await;
    let transport = StreamableHttpClientTransport::from_config(
        StreamableHttpClientTransportConfig::with_uri(moat.url()).auth_header(crate::http::BOB),
    );
    let client = rmcp::model::ClientConfig::default().serve(transport).await.expect("bob's session");
    let params = CallToolRequestParams::new("units.convert")
        .with_arguments(json!({"value": 1.0, "from": "km", "to": "m"}).as_object().unwrap().clone());
    client.call_tool(params).await.unwrap();
    client.cancel().await.unwrap();
    assert!(moat.terminate().await.success());

    let traced = spans(&received);
    let (span, _) =
        traced.iter().find(|(s, _)| s.name == "tools/call units.convert").expect("the call's span");
    assert_eq!(attribute(&span.attributes, "network.transport"), Some("tcp"));
    assert!(attribute(&span.attributes, "mcp.session.id").is_some_and(|id| !id.is_empty()), "{span:?}");
}
