//! Serving at once: a component's tools are listed from its bytes, before it
//! is compiled; it compiles in the background, a call waits for its own
//! component only, and the wait is reported and bounded.

use std::time::Duration;

use moat::component::{ComponentFile, Surface, decode};
use moat::runtime::{EngineOptions, Runtime};
use rmcp::ServiceExt;
use rmcp::model::{CallToolRequestParams, NumberOrString, ProgressToken, ProtocolVersion, RequestMetaObject};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use serde_json::json;

use crate::http::{BOB, HttpMoat, sha256_hex};
use crate::notices::{Recorder, Session};
use crate::operations::get;
use crate::support::{Lifecycle, Moat, example, examples, is_error, shared_cache, text};

/// Every example component (Rust, Python, JavaScript, the hostile ones) has
/// the same surface read from its bytes as read from its compiled form:
/// what is listed before compiling is what runs after.
#[test]
fn the_surface_read_from_the_bytes_is_the_compiled_one() {
    let runtime = Runtime::new(None, Some(&shared_cache()), EngineOptions::default()).unwrap();
    let mut checked = 0;
    for entry in std::fs::read_dir(examples()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "wasm") {
            continue;
        }
        let file = ComponentFile::read(&path).unwrap();
        let (component, _) = runtime.compile(file.digest_hex(), &file.bytes).unwrap();
        let compiled = Surface::of(runtime.engine(), &component, file.metadata.clone());
        let decoded = decode(&file.bytes, file.metadata.clone()).unwrap();
        assert_eq!(decoded, compiled, "{}", path.display());
        // What links, moat's name check lets through.
        let foreign: Vec<_> = decoded.imports.iter().filter(|i| !moat::runtime::provides(i)).collect();
        assert!(foreign.is_empty(), "{}: {foreign:?}", path.display());
        checked += 1;
    }
    assert!(checked >= 15, "only {checked} components checked");
}

/// A config serving the Rust `text` and the Python `wordstats` components
/// over HTTP to bob, with `extra` added.
fn text_and_wordstats(extra: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        "[components.text]\npath = {:?}\n[components.wordstats]\npath = {:?}\n\n\
         [http.tokens.bob]\nsha256 = \"{}\"\n{extra}\n",
        example("text"),
        example("wordstats"),
        sha256_hex(BOB),
    );
    let path = dir.path().join("moat.toml");
    std::fs::write(&path, config).unwrap();
    (dir, path)
}

fn bob(moat: &HttpMoat) -> StreamableHttpClientTransport<reqwest::Client> {
    StreamableHttpClientTransport::from_config(
        StreamableHttpClientTransportConfig::with_uri(moat.url()).auth_header(BOB),
    )
}

/// On an empty compile cache, with a Python component (seconds of
/// compiling): every tool is listed while `/readyz` still says the
/// components are compiling; a call to the Rust component does not wait for
/// the Python one; a call to the Python one waits, with progress, and runs.
/// The next start on the same cache reads the surfaces it cached.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cold_start_lists_every_tool_at_once_and_a_call_waits_for_its_own_component() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cache = tempfile::tempdir().unwrap();
    let (dir, config) = text_and_wordstats("");
    let moat = HttpMoat::serve_with_cache(&config, dir, cache.path()).await;

    let recorder = Recorder::default();
    let client = recorder.clone().serve(bob(&moat)).await.expect("bob's session");
    let listed: Vec<String> =
        client.list_all_tools().await.unwrap().into_iter().map(|t| t.name.to_string()).collect();
    assert!(listed.contains(&"wordstats.analyse".to_string()), "{listed:?}");
    assert!(listed.contains(&"text.word-count".to_string()), "{listed:?}");
    // Listed, and not yet compiled: the Python component takes seconds.
    let (status, answer) = get(moat.address(), "localhost", "/readyz");
    assert_eq!((status, answer.rsplit("\r\n").next().unwrap()), (503, "compiling"), "{answer}");

    // The small component is linked first, and its call does not wait for
    // the Python one: the host still says it is compiling afterwards.
    let counted = client
        .call_tool(
            CallToolRequestParams::new("text.word-count")
                .with_arguments(json!({"text": "one two three"}).as_object().unwrap().clone()),
        )
        .await
        .unwrap();
    assert_eq!(counted.structured_content.as_ref().unwrap()["words"], json!(3), "{counted:?}");
    let (status, _) = get(moat.address(), "localhost", "/readyz");
    assert_eq!(status, 503, "the Python component is still compiling");

    // The Python component's call waits for it, telling the client.
    let mut params = CallToolRequestParams::new("wordstats.analyse")
        .with_arguments(json!({"text": "the cat saw the cat", "top": 1}).as_object().unwrap().clone());
    let mut meta = RequestMetaObject::default();
    meta.set_progress_token(ProgressToken(NumberOrString::String("cold".into())));
    params.meta = Some(meta);
    let analysed = client.call_tool(params).await.unwrap();
    assert_eq!(analysed.is_error, Some(false), "{analysed:?}");
    assert_eq!(analysed.structured_content.as_ref().unwrap()["words"], json!(5), "{analysed:?}");
    // This call's waits (rmcp's client gives each request a progress token
    // of its own; the first call, to `text`, may have waited too).
    let progress = recorder.take_all_progress();
    let waiting: Vec<_> = progress
        .iter()
        .filter(|p| crate::notices::is_compile_wait(p))
        .filter(|p| p.message.as_deref().unwrap().contains("`wordstats` to be compiled and linked"))
        .collect();
    assert!(!waiting.is_empty(), "no progress while it waited: {progress:?}");
    assert!(waiting.iter().all(|p| p.progress < 1.0 && p.total.is_none()), "{progress:?}");
    // The guest's own report (paragraph 1 of 1) comes after, and is kept.
    let guest: Vec<(f64, Option<f64>)> =
        progress.iter().filter(|p| p.total.is_some()).map(|p| (p.progress, p.total)).collect();
    assert_eq!(guest, [(1.0, Some(1.0))]);
    assert!(crate::operations::ready(moat.address()).ends_with("ready"));
    client.cancel().await.unwrap();
    drop(moat);

    // The next start reads both surfaces from the cache it left.
    let (dir, config) = text_and_wordstats("");
    let moat = HttpMoat::serve_with_cache(&config, dir, cache.path()).await;
    crate::operations::ready(moat.address());
    let log = moat.settled_log().await;
    assert_eq!(log.matches("surface=\"cached\"").count(), 2, "{log}");
    assert!(!log.contains("read from the bytes"), "{log}");
}

/// Past `[server] compile_wait`, a call fails with a message saying why,
/// and the guest does not run; once the component is linked, calls run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_that_waits_past_compile_wait_fails_clearly() {
    let cache = tempfile::tempdir().unwrap();
    let session = Session::start_with_cache(
        "[server]\ncompile_wait = \"0s\"\n\n[components.wordstats]\npath = \"{dist}/wordstats.wasm\"\n",
        cache.path(),
    )
    .await;
    let arguments = json!({"text": "a b", "top": 1});
    let refused = session.call("wordstats.analyse", arguments.clone(), None).await;
    assert!(is_error(&refused), "{refused:?}");
    assert_eq!(
        text(&refused),
        "moat stopped the call: component `wordstats` is still being compiled after 0s (a component is \
         compiled the first time moat serves it); try again shortly"
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(180);
    loop {
        let result = session.call("wordstats.analyse", arguments.clone(), None).await;
        if !is_error(&result) {
            assert_eq!(result.structured_content.unwrap()["words"], json!(2));
            break;
        }
        assert!(text(&result).contains("still being compiled"), "{result:?}");
        assert!(std::time::Instant::now() < deadline, "wordstats was not linked in three minutes");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A component that imports what the host does not provide is refused
/// before its tools are listed, naming the import; the others are served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_component_needing_what_the_host_lacks_is_refused_before_it_is_listed() {
    let dir = tempfile::tempdir().unwrap();
    let vault = dir.path().join("vault.wasm");
    let bytes = wat::parse_str(
        r#"(component
            (import "acme:vault/secrets" (instance $vault (export "get" (func (result string)))))
            (alias export $vault "get" (func $get))
            (export "relay" (func $get)))"#,
    )
    .unwrap();
    std::fs::write(&vault, bytes).unwrap();
    let cache = tempfile::tempdir().unwrap();
    let moat = Moat::start_with(
        &format!("[components.vault]\npath = {vault:?}\n[components.text]\npath = \"{{dist}}/text.wasm\"\n"),
        Lifecycle::Initialize(ProtocolVersion::V_2025_11_25),
        cache.path(),
    )
    .await;
    let names = moat.tool_names().await;
    assert!(names.iter().all(|name| !name.starts_with("vault.")), "{names:?}");
    assert!(names.contains(&"text.word-count".to_string()), "{names:?}");
    let log = moat.settled_log().await;
    assert!(log.contains("it needs `acme:vault/secrets`, which this host does not provide"), "{log}");
}

/// Were the surface read from the bytes ever to differ from the compiled
/// form's (a bug in reading it), the component is not run: its calls get
/// the reason, and the wrong surface is not cached.
#[tokio::test]
async fn a_surface_that_differs_from_the_compiled_form_is_never_run() {
    use moat::runtime::linked::{LinkSlot, PendingLink, link_in_background};
    use moat::runtime::surface_cache::SurfaceCache;
    use std::sync::Arc;

    let cache = tempfile::tempdir().unwrap();
    let path = example("hash");
    let file = ComponentFile::read(&path).unwrap();
    let mut listed = decode(&file.bytes, file.metadata.clone()).unwrap();
    let mut widened = listed.functions[0].clone();
    widened.name.push_str("-and-more");
    widened.path.push_str("-and-more");
    listed.functions.push(widened);
    let runtime = Runtime::new(None, Some(cache.path()), EngineOptions::default()).unwrap();
    let slot = Arc::new(LinkSlot::pending());
    let surfaces = SurfaceCache::new(Some(cache.path()));
    link_in_background(
        runtime.linking(),
        surfaces.clone(),
        vec![PendingLink {
            component: "hash".into(),
            path: path.clone(),
            digest: file.digest_hex().to_string(),
            functions: listed.functions.clone(),
            decoded: Some(listed),
            size: file.bytes.len() as u64,
            slot: slot.clone(),
        }],
    );
    let Err(reason) = slot.wait().await else { panic!("a component whose listing is wrong must not run") };
    assert!(reason.contains("does not export what was read from its bytes and listed"), "{reason}");
    assert!(surfaces.get(file.digest_hex()).is_none(), "the wrong surface is not cached");
}
