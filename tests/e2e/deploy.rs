//! `deploy/`: the Kubernetes manifests validated against Kubernetes' own
//! schemas (kubernetes-validate from PyPI, which bundles them) and held to
//! the settings the threat model asks of a pod, and the container image
//! built with buildah from scratch, run as its user with the ConfigMap's
//! `moat.toml`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{MOAT, repo_root};

fn manifests() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(repo_root().join("deploy/kubernetes"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "yaml"))
        .filter(|path| !path.ends_with("kustomization.yaml")) // kustomize's, not an API object
        .collect();
    files.sort();
    files
}

/// `kubernetes-validate --strict` of `files` against Kubernetes `version`.
fn validate(files: &[PathBuf], version: &str) -> std::process::Output {
    Command::new("kubernetes-validate")
        .args(["--strict", "--quiet", "--no-warn", "-k", version])
        .args(files)
        .output()
        .expect("kubernetes-validate (PyPI; `make deps` installs it from tests/python/requirements.txt)")
}

/// Every document of a YAML file, as JSON (read with PyYAML, which
/// kubernetes-validate brings).
fn documents(file: &Path) -> Vec<Value> {
    let output = Command::new("python3")
        .args([
            "-c",
            "import json, sys, yaml; print(json.dumps(list(yaml.safe_load_all(open(sys.argv[1])))))",
        ])
        .arg(file)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).unwrap()
}

fn object(kind: &str) -> Value {
    manifests()
        .iter()
        .flat_map(|file| documents(file))
        .find(|document| document["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} in deploy/kubernetes"))
}

/// The ConfigMap's moat.toml.
fn config_text() -> String {
    object("ConfigMap")["data"]["moat.toml"].as_str().unwrap().to_string()
}

#[test]
fn kubernetes_manifests_validate_and_hold_the_pod_to_least_privilege() {
    let files = manifests();
    for version in ["1.30.0", "1.37.0"] {
        let output = validate(&files, version);
        assert!(
            output.status.success(),
            "deploy/kubernetes against Kubernetes {version}:\n{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    // The validator is strict: a misspelt field fails it.
    let dir = tempfile::tempdir().unwrap();
    let misspelt = dir.path().join("deployment.yaml");
    let text = std::fs::read_to_string(repo_root().join("deploy/kubernetes/deployment.yaml")).unwrap();
    std::fs::write(&misspelt, text.replace("readOnlyRootFilesystem", "readOnlyRootFileSystem")).unwrap();
    assert!(!validate(&[misspelt], "1.37.0").status.success(), "a misspelt field passed validation");

    let deployment = object("Deployment");
    let pod = &deployment["spec"]["template"]["spec"];
    let container = &pod["containers"][0];
    let security = &container["securityContext"];
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    assert_eq!(pod["securityContext"]["seccompProfile"]["type"], "RuntimeDefault");
    assert_eq!(pod["automountServiceAccountToken"], false, "moat needs no Kubernetes API token");
    assert_eq!(security["readOnlyRootFilesystem"], true);
    assert_eq!(security["allowPrivilegeEscalation"], false);
    assert_eq!(security["capabilities"]["drop"], serde_json::json!(["ALL"]));
    assert_eq!(container["livenessProbe"]["httpGet"]["path"], "/healthz");
    assert_eq!(container["readinessProbe"]["httpGet"]["path"], "/readyz");

    // Each pod writes its own audit chain, named by the pod.
    let args: Vec<&str> = container["args"].as_array().unwrap().iter().map(|a| a.as_str().unwrap()).collect();
    let audit = args[args.iter().position(|a| *a == "--audit").unwrap() + 1];
    assert!(audit.contains("$(POD_NAME)"), "{audit}");
    assert_eq!(container["env"][0]["valueFrom"]["fieldRef"]["fieldPath"], "metadata.name");

    // Kubernetes waits longer than moat drains.
    let config: toml::Value = toml::from_str(&config_text()).unwrap();
    let drain = config["server"]["drain_timeout"].as_str().unwrap();
    let drain: u64 = drain.strip_suffix('s').unwrap().parse().unwrap();
    assert!(pod["terminationGracePeriodSeconds"].as_u64().unwrap() > drain);
    // What moat writes is mounted; everything else is read-only.
    let mounts: Vec<&str> = container["volumeMounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["mountPath"].as_str().unwrap())
        .collect();
    assert!(mounts.contains(&config["server"]["cache_dir"].as_str().unwrap()), "{mounts:?}");
    assert!(mounts.iter().any(|m| audit.starts_with(m)), "{mounts:?}");

    let policy = object("NetworkPolicy");
    assert_eq!(
        policy["spec"]["policyTypes"],
        serde_json::json!(["Ingress", "Egress"]),
        "deny by default both ways"
    );
    let budget = object("PodDisruptionBudget")["spec"]["minAvailable"].as_u64().unwrap();
    let autoscaler = object("HorizontalPodAutoscaler");
    assert!(autoscaler["spec"]["minReplicas"].as_u64().unwrap() > budget, "a drain can always proceed");
}

/// A command's output, failing the test with its stderr when it fails.
fn run(command: &mut Command) -> String {
    let output = command.output().unwrap_or_else(|e| panic!("{command:?}: {e}"));
    assert!(output.status.success(), "{command:?}:\n{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[test]
fn the_image_builds_from_scratch_and_serves_the_configmap_config_as_its_user() {
    let store = tempfile::tempdir().unwrap();
    let buildah = |args: &[&str]| {
        let mut command = Command::new("buildah");
        command.args(["--storage-driver", "vfs", "--root"]).arg(store.path().join("root"));
        command.arg("--runroot").arg(store.path().join("run")).args(args);
        command
    };
    run(Command::new(repo_root().join("deploy/container/build-image.sh"))
        .args([MOAT, "moat:e2e"])
        .env("IMAGE_STORE", store.path()));
    let inspected: Value =
        serde_json::from_str(&run(&mut buildah(&["inspect", "--type", "image", "moat:e2e"]))).unwrap();
    assert_eq!(inspected["OCIv1"]["config"]["User"], "65532:65532");
    assert_eq!(
        inspected["OCIv1"]["rootfs"]["diff_ids"].as_array().unwrap().len(),
        1,
        "one layer: built from scratch, no base image"
    );

    // The pod's mounts: the ConfigMap's moat.toml, the Secret's TLS pair,
    // and the two directories moat writes, owned by its user.
    let pod = tempfile::tempdir().unwrap();
    let (etc, cache, logs) = (pod.path().join("etc"), pod.path().join("cache"), pod.path().join("audit"));
    for dir in [&etc.join("tls"), &cache, &logs] {
        std::fs::create_dir_all(dir).unwrap();
    }
    let (port, metrics) = (free_port(), free_port());
    std::fs::write(
        etc.join("moat.toml"),
        config_text().replace("0.0.0.0:9464", &format!("127.0.0.1:{metrics}")),
    )
    .unwrap();
    crate::support::self_signed_certificate(&etc.join("tls/tls.crt"), &etc.join("tls/tls.key"));
    run(Command::new("chmod").arg("-R").arg("a+rX").arg(&etc));
    run(Command::new("chown").arg("65532:65532").arg(&cache).arg(&logs));
    run(Command::new("chmod").arg("a+x").arg(pod.path()));

    let container = run(&mut buildah(&["from", "moat:e2e"])).trim().to_string();
    let mount = |from: &Path, to: &str, mode: &str| format!("{}:{to}{mode}", from.display());
    let serving = buildah(&["run", "--isolation", "chroot"])
        .args(["-v", &mount(&etc, "/etc/moat", ":ro")])
        .args(["-v", &mount(&cache, "/var/cache/moat", "")])
        .args(["-v", &mount(&logs, "/var/log/moat", "")])
        .args([&container, "--", "/usr/local/bin/moat", "serve", "--config", "/etc/moat/moat.toml"])
        .args(["--http", &format!("127.0.0.1:{port}"), "--audit", "/var/log/moat/pod-a.jsonl"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut serving = InImage { buildah: serving, port };
    let curl = |path: &str| {
        let output = Command::new("curl")
            .args(["-sk", "-w", " %{http_code}", &format!("https://127.0.0.1:{port}{path}")])
            .output()
            .unwrap();
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while curl("/healthz") != "ok 200" {
        assert!(Instant::now() < deadline, "the image did not serve /healthz in 60 s");
        assert!(serving.buildah.try_wait().unwrap().is_none(), "moat ended in the image");
        std::thread::sleep(Duration::from_millis(100));
    }
    // Ready once its components are compiled and linked.
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let ready = curl("/readyz");
        if ready == "ready 200" {
            break;
        }
        assert_eq!(ready, "compiling 503");
        assert!(Instant::now() < deadline, "the image was not ready in 120 s");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(curl("/mcp").ends_with(" 401"), "MCP needs the configured token");

    // moat itself runs as the image's user, not as root.
    let pid = serving.moat().expect("moat's process");
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let uid = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
    assert!(uid.split_whitespace().skip(1).all(|id| id == "65532"), "{uid}");

    // SIGTERM, as Kubernetes stops a pod: moat drains and exits 0.
    rustix::process::kill_process(
        rustix::process::Pid::from_raw(pid).unwrap(),
        rustix::process::Signal::TERM,
    )
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = serving.buildah.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "moat did not stop in the image after SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status:?}");
    run(&mut buildah(&["rm", &container]));
}

/// `buildah run` of moat serving on `port`; dropped, both are killed, so a
/// failing test leaves nothing listening.
struct InImage {
    buildah: std::process::Child,
    port: u16,
}

impl InImage {
    /// The pid of the moat serving on this port, found in /proc.
    fn moat(&self) -> Option<i32> {
        let needle = format!("--http 127.0.0.1:{} ", self.port);
        std::fs::read_dir("/proc").ok()?.filter_map(Result::ok).find_map(|entry| {
            let command = std::fs::read(entry.path().join("cmdline")).ok()?;
            let command = String::from_utf8_lossy(&command).replace('\0', " ");
            (command.starts_with("/usr/local/bin/moat serve") && command.contains(&needle))
                .then(|| entry.file_name().to_str()?.parse().ok())?
        })
    }
}

impl Drop for InImage {
    fn drop(&mut self) {
        if let Some(pid) = self.moat().and_then(rustix::process::Pid::from_raw) {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
        }
        let _ = self.buildah.kill();
        let _ = self.buildah.wait();
    }
}
