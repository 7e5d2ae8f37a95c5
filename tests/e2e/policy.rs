//! Capability policy, proven by attacks. One component (the hostile guest) is
//! granted one read-write directory, one read-only directory, one environment
//! variable and one HTTP destination with an injected token, and tries every
//! way out. Canary files outside the grants and the canary token must never
//! appear in a result, an error, a log line or a file the guest can reach.

use std::path::Path;
use std::sync::{Arc, Mutex};

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::support::{Moat, is_error, text};

const TOKEN: &str = "canary-token-9f27c1d4e8";
const FILE_CANARY: &str = "canary-file-contents-41b7";

/// A minimal HTTP/1.1 server on 127.0.0.1 that records each request head.
/// `/echo` returns the request headers as the body, `/redirect` a 302 to
/// `redirect_to`, `/big` two MiB, anything else `hello`. Stops with the test.
struct TestServer {
    port: u16,
    requests: Arc<Mutex<Vec<String>>>,
}

impl TestServer {
    async fn start(redirect_to: String) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = requests.clone();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let seen = seen.clone();
                let redirect_to = redirect_to.clone();
                tokio::spawn(async move {
                    let mut head = Vec::new();
                    let mut byte = [0u8; 1];
                    while !head.ends_with(b"\r\n\r\n") && socket.read(&mut byte).await.unwrap_or(0) == 1 {
                        head.push(byte[0]);
                    }
                    let head = String::from_utf8_lossy(&head).into_owned();
                    seen.lock().unwrap().push(head.clone());
                    let path = head.split_whitespace().nth(1).unwrap_or("/").to_string();
                    let (status, extra, body) = match path.as_str() {
                        "/echo" => ("200 OK", String::new(), head.into_bytes()),
                        "/redirect" => ("302 Found", format!("Location: {redirect_to}\r\n"), Vec::new()),
                        "/big" => ("200 OK", String::new(), vec![b'x'; 2 * 1024 * 1024]),
                        _ => ("200 OK", String::new(), b"hello".to_vec()),
                    };
                    let response = format!(
                        "HTTP/1.1 {status}\r\n{extra}Content-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        body.len()
                    );
                    socket.write_all(response.as_bytes()).await.ok();
                    socket.write_all(&body).await.ok();
                });
            }
        });
        TestServer { port, requests }
    }

    fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}

struct Fixture {
    moat: Moat,
    allowed: TestServer,
    other: TestServer,
    rw: tempfile::TempDir,
    ro: tempfile::TempDir,
    outside: tempfile::TempDir,
}

async fn fixture() -> Fixture {
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret.txt"), FILE_CANARY).unwrap();
    let rw = tempfile::tempdir().unwrap();
    let ro = tempfile::tempdir().unwrap();
    std::fs::write(ro.path().join("keep.txt"), "read me, do not change me").unwrap();
    // A symlink planted on the host inside the grant, pointing outside it.
    std::os::unix::fs::symlink(outside.path().join("secret.txt"), rw.path().join("escape")).unwrap();
    std::os::unix::fs::symlink(outside.path(), rw.path().join("escape-dir")).unwrap();
    let other = TestServer::start(String::new()).await;
    let allowed = TestServer::start(format!("http://127.0.0.1:{}/", other.port)).await;
    let config = format!(
        r#"
[components.hostile]
path = "{{dist}}/hostile.wasm"
limits = {{ http_response_body = "1MiB" }}
[components.hostile.grants]
files = [
  {{ host = {rw:?}, guest = "/data", mode = "rw" }},
  {{ host = {ro:?}, guest = "/ro", mode = "ro" }},
]
env = {{ GREETING = "hello" }}
http = [{{ url = "http://127.0.0.1:{port}", headers = {{ Authorization = "Bearer {{TOKEN}}" }} }}]
[components.hostile.secrets]
TOKEN = {{ env = "MOAT_TEST_TOKEN" }}

[components.net]
path = "{{dist}}/hostile.wasm"
[components.net.grants]
tcp_connect = ["127.0.0.1:{port}"]

[components.notes]
path = "{{dist}}/notes.wasm"
[components.notes.grants]
files = [{{ host = {rw:?}, guest = "/notes", mode = "rw" }}]

[components.fetch]
path = "{{dist}}/fetch.wasm"
[components.fetch.grants]
http = [{{ url = "http://127.0.0.1:{port}", headers = {{ X-Api-Key = "{{TOKEN}}" }} }}]
[components.fetch.secrets]
TOKEN = {{ env = "MOAT_TEST_TOKEN" }}
"#,
        rw = rw.path(),
        ro = ro.path(),
        port = allowed.port,
    );
    let moat =
        Moat::start_with_env(&config, &[("MOAT_TEST_TOKEN", TOKEN), ("MOAT_UNGRANTED", FILE_CANARY)]).await;
    Fixture { moat, allowed, other, rw, ro, outside }
}

impl Fixture {
    /// Calls a hostile tool that must fail, and checks nothing leaked.
    async fn denied(&self, tool: &str, args: serde_json::Value) -> String {
        let result = self.moat.call(&format!("hostile.{tool}"), args.clone()).await;
        let message = text(&result);
        assert!(is_error(&result), "{tool}({args}) must be refused, got {message}");
        assert!(
            !message.starts_with("moat stopped the call"),
            "{tool}: refused by the sandbox, not a crash: {message}"
        );
        assert_clean(&message);
        message
    }
}

fn assert_clean(text: &str) {
    assert!(!text.contains(TOKEN), "the token leaked: {text}");
    assert!(!text.contains(FILE_CANARY), "a canary file leaked: {text}");
}

fn tree(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into()).collect();
    names.sort();
    names
}

#[tokio::test]
async fn files_outside_the_grants_stay_out_of_reach() {
    let f = fixture().await;
    let outside = f.outside.path().join("secret.txt");
    for path in [
        outside.to_str().unwrap().to_string(),
        "/data/../secret.txt".into(),
        format!("/data/../../..{}", outside.display()),
        "/data/escape".into(),
        "/data/escape-dir/secret.txt".into(),
        "/ro/../data/../../secret.txt".into(),
    ] {
        f.denied("read-file", json!({"path": path})).await;
    }
    f.denied("list-dir", json!({"path": "/"})).await;
    f.denied("list-dir", json!({"path": "/data/escape-dir"})).await;
    // A symlink the guest makes cannot point outside either.
    let made = f
        .moat
        .call("hostile.make-symlink", json!({"target": "../../../../etc/passwd", "link": "/data/mine"}))
        .await;
    let read = f.moat.call("hostile.read-file", json!({"path": "/data/mine"})).await;
    assert!(is_error(&made) || is_error(&read), "an escaping symlink is refused or unreadable");
    let absolute = f
        .moat
        .call("hostile.make-symlink", json!({"target": outside.to_str().unwrap(), "link": "/data/abs"}))
        .await;
    let read = f.moat.call("hostile.read-file", json!({"path": "/data/abs"})).await;
    assert!(is_error(&absolute) || is_error(&read));
    assert_clean(&text(&read));

    // The read-write grant works.
    let wrote = f.moat.call("hostile.write-file", json!({"path": "/data/ok.txt", "text": "written"})).await;
    assert!(!is_error(&wrote), "{}", text(&wrote));
    assert_eq!(std::fs::read_to_string(f.rw.path().join("ok.txt")).unwrap(), "written");
    assert_clean(&f.moat.settled_log().await);
    f.moat.stop().await;
}

#[tokio::test]
async fn a_read_only_grant_cannot_be_changed_by_any_route() {
    let f = fixture().await;
    let before = tree(f.ro.path());
    f.denied("write-file", json!({"path": "/ro/new.txt", "text": "x"})).await;
    f.denied("write-file", json!({"path": "/ro/keep.txt", "text": "overwritten"})).await;
    f.denied("truncate-file", json!({"path": "/ro/keep.txt"})).await;
    f.denied("remove-file", json!({"path": "/ro/keep.txt"})).await;
    f.denied("rename-file", json!({"from": "/ro/keep.txt", "to": "/ro/moved.txt"})).await;
    f.denied("rename-file", json!({"from": "/ro/keep.txt", "to": "/data/moved.txt"})).await;
    f.denied("make-symlink", json!({"target": "keep.txt", "link": "/ro/link"})).await;
    // A hard link into the writable grant would make the file writable there.
    f.denied("hard-link", json!({"existing": "/ro/keep.txt", "link": "/data/keep-link"})).await;
    assert_eq!(tree(f.ro.path()), before, "nothing created, removed or renamed");
    assert_eq!(std::fs::read_to_string(f.ro.path().join("keep.txt")).unwrap(), "read me, do not change me");
    assert!(!f.rw.path().join("keep-link").exists());
    let read = f.moat.call("hostile.read-file", json!({"path": "/ro/keep.txt"})).await;
    assert_eq!(text(&read), "read me, do not change me", "reading is what the grant allows");
    f.moat.stop().await;
}

#[tokio::test]
async fn only_granted_environment_variables_exist() {
    let f = fixture().await;
    let env = f.moat.call("hostile.env-vars", json!({})).await;
    assert_eq!(env.structured_content, Some(json!({"result": ["GREETING=hello"]})));
    f.moat.stop().await;
}

#[tokio::test]
async fn egress_goes_only_to_the_granted_host_with_the_secret_added_by_the_host() {
    let f = fixture().await;
    let granted = format!("http://127.0.0.1:{}/echo", f.allowed.port);
    // The guest even tries to set its own Authorization header.
    let answer = f
        .moat
        .call(
            "hostile.http-get",
            json!({"url": granted, "headers": [["Authorization", "Bearer guest-made"]]}),
        )
        .await;
    let body = text(&answer);
    assert!(!is_error(&answer), "{body}");
    let arrived = f.allowed.requests();
    assert_eq!(arrived.len(), 1);
    assert!(
        arrived[0].contains(&format!("authorization: Bearer {TOKEN}")),
        "the host injected the secret:\n{}",
        arrived[0]
    );
    assert!(!arrived[0].contains("guest-made"), "the guest's own header was replaced");
    assert!(body.contains("[redacted secret TOKEN]"), "the echoed secret is hidden from the guest: {body}");
    assert_clean(&body);
    // Whatever the guest got, it can store in its writable grant: no token there either.
    let kept = f.moat.call("hostile.write-file", json!({"path": "/data/echo.txt", "text": body})).await;
    assert!(!is_error(&kept));
    assert_clean(&std::fs::read_to_string(f.rw.path().join("echo.txt")).unwrap());

    // Not granted: another port, another literal for the same address, another host.
    for url in [
        format!("http://127.0.0.1:{}/", f.other.port),
        format!("http://[::ffff:127.0.0.1]:{}/echo", f.allowed.port),
        format!("https://127.0.0.1:{}/echo", f.allowed.port),
        format!("http://localhost:{}/echo", f.allowed.port),
        "http://169.254.169.254/latest/meta-data/".into(),
        "https://example.com/".into(),
    ] {
        let message = f.denied("http-get", json!({"url": url, "headers": []})).await;
        assert!(message.contains("HttpRequestDenied"), "{url}: {message}");
    }
    // A redirect to a non-granted place comes back to the guest; nothing follows it.
    let redirected = f
        .moat
        .call(
            "hostile.http-get",
            json!({"url": format!("http://127.0.0.1:{}/redirect", f.allowed.port), "headers": []}),
        )
        .await;
    assert!(text(&redirected).starts_with("302"), "{}", text(&redirected));
    assert!(f.other.requests().is_empty(), "the non-granted server saw nothing");
    // Responses are capped.
    let big = f
        .denied("http-get", json!({"url": format!("http://127.0.0.1:{}/big", f.allowed.port), "headers": []}))
        .await;
    assert!(big.contains("HttpResponseBodySize"), "{big}");
    // Raw sockets stay off even towards the granted address.
    f.denied("tcp-connect", json!({"address": format!("127.0.0.1:{}", f.allowed.port)})).await;
    f.denied("lookup", json!({"host": "localhost"})).await;

    assert!(f.moat.wait_for_log("egress refused").await);
    assert_clean(&f.moat.settled_log().await);
    f.moat.stop().await;
}

#[tokio::test]
async fn raw_tcp_is_granted_address_by_address() {
    let f = fixture().await;
    let granted =
        f.moat.call("net.tcp-connect", json!({"address": format!("127.0.0.1:{}", f.allowed.port)})).await;
    assert!(!is_error(&granted), "the granted address connects: {}", text(&granted));
    for address in [format!("127.0.0.1:{}", f.other.port), format!("[::1]:{}", f.allowed.port)] {
        let refused = f.moat.call("net.tcp-connect", json!({"address": address})).await;
        assert!(
            is_error(&refused) && text(&refused).starts_with(&address),
            "{address} is not granted: {}",
            text(&refused)
        );
    }
    let lookup = f.moat.call("net.lookup", json!({"host": "localhost"})).await;
    assert!(is_error(&lookup), "name lookup needs its own grant");
    let http = f
        .moat
        .call("net.http-get", json!({"url": format!("http://127.0.0.1:{}/", f.allowed.port), "headers": []}))
        .await;
    assert!(is_error(&http), "a TCP grant is not an HTTP grant");
    assert!(f.other.requests().is_empty());
    f.moat.stop().await;
}

#[test]
fn inspect_shows_grants_beside_imports_and_warns_about_ungranted_ones() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("moat.toml");
    std::fs::write(&config, format!("[components.notes]\npath = \"notes.wasm\"\n[components.notes.grants]\nfiles = [{{ host = {:?}, guest = \"/notes\", mode = \"rw\" }}]\n", dir.path())).unwrap();
    let inspect = |args: &[&str]| -> serde_json::Value {
        let output = std::process::Command::new(crate::support::MOAT)
            .arg("inspect")
            .arg("--json")
            .args(args)
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        serde_json::from_slice(&output.stdout).unwrap()
    };
    let notes = crate::support::example("notes");
    let granted = inspect(&[notes.to_str().unwrap(), "--config", config.to_str().unwrap()]);
    let grants = granted["grants"].as_array().unwrap();
    assert!(
        grants.len() == 1 && grants[0].as_str().unwrap().ends_with("→ /notes (read-write)"),
        "{grants:?}"
    );
    assert_eq!(granted["warnings"], json!([]));
    let bare = inspect(&[notes.to_str().unwrap()]);
    assert_eq!(bare["grants"], json!([]));
    assert_eq!(bare["warnings"], json!(["imports wasi:filesystem but is granted no directory"]));
}

#[tokio::test]
async fn the_notes_and_fetch_examples_work_through_their_grants() {
    let f = fixture().await;
    let wrote = f.moat.call("notes.write-note", json!({"name": "groceries", "text": "milk"})).await;
    assert!(!is_error(&wrote), "{}", text(&wrote));
    assert_eq!(std::fs::read_to_string(f.rw.path().join("groceries.md")).unwrap(), "milk");
    let listed = f.moat.call("notes.list-notes", json!({})).await;
    assert_eq!(listed.structured_content.unwrap()["result"], json!(["groceries"]));
    assert_eq!(text(&f.moat.call("notes.read-note", json!({"name": "groceries"})).await), "milk");
    let bad = f.moat.call("notes.read-note", json!({"name": "../secret"})).await;
    assert!(is_error(&bad));
    assert!(!is_error(&f.moat.call("notes.delete-note", json!({"name": "groceries"})).await));
    assert!(!f.rw.path().join("groceries.md").exists());

    let page =
        f.moat.call("fetch.get", json!({"url": format!("http://127.0.0.1:{}/hello", f.allowed.port)})).await;
    assert_eq!(page.structured_content.unwrap()["body"], "hello");
    assert!(f.allowed.requests().iter().any(|r| r.contains(&format!("x-api-key: {TOKEN}"))));
    let refused = f.moat.call("fetch.get", json!({"url": "https://example.com/"})).await;
    assert!(is_error(&refused));
    f.moat.stop().await;
}
