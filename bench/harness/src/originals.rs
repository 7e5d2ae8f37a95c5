//! The catalog against the official servers it stands in for (`moat-bench
//! --originals`): for time, memory, filesystem, git and fetch, moat serving
//! the catalog's component and the original (PyPI's `mcp-server-time`,
//! `mcp-server-git` and `mcp-server-fetch`, npm's `server-memory` and
//! `server-filesystem`, as tests/originals and tests/python pin them) are started the same way, spawn to the tools/list
//! answer, then called the same way, in turns, through the same raw
//! JSON-RPC client. Each original is the baseline of its row.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Result, bail};
use serde_json::{Value, json};
use tokio::process::Command;

use crate::{Plan, Server, Sides, in_turns, micros, millis, percentile, warm_up};

/// One server's comparison.
pub struct Comparison {
    pub server: &'static str,
    pub call: String,
    pub calls: usize,
    pub start: (Duration, Duration),
    pub p50: (Duration, Duration),
    pub p99: (Duration, Duration),
}

struct Case {
    server: &'static str,
    original: Command,
    config: PathBuf,
    tool: &'static str,
    args: Value,
    /// Calls per side at most: the plan's, or fewer for an original whose
    /// call takes most of a second (fetch: its Readability runs in Node).
    calls: usize,
}

fn node(root: &Path, package: &str) -> Result<Command> {
    let entry =
        root.join("tests/originals/node_modules/@modelcontextprotocol").join(package).join("dist/index.js");
    if !entry.exists() {
        bail!("{} is missing: run `make bench` (it runs `npm ci` in tests/originals)", entry.display());
    }
    let mut command = Command::new("node");
    command.arg(entry);
    Ok(command)
}

/// tests/python/pages.py on a free port of 127.0.0.1, for fetch to read;
/// it stops when dropped (its stdin closes).
struct Pages {
    child: std::process::Child,
    port: u16,
}

impl Pages {
    fn start(root: &Path) -> Result<Pages> {
        use std::io::BufRead;
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let mut child = std::process::Command::new("python3")
            .arg(root.join("tests/python/pages.py"))
            .arg(port.to_string())
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()?;
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().expect("piped")).read_line(&mut line)?;
        if line.trim() != "ready" {
            bail!("tests/python/pages.py did not start");
        }
        Ok(Pages { child, port })
    }
}

impl Drop for Pages {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The five cases, their fixtures written under `work` (the same data for
/// both sides; for filesystem and git, at one path, granted at the same
/// path; for fetch, one page server on loopback, which the original reaches
/// with its flag for private addresses and moat's component by a grant).
fn cases(sides: &Sides, work: &Path, pages: &Pages) -> Result<Vec<Case>> {
    let catalog = sides.root.join("catalog/dist");
    for name in ["time", "memory", "filesystem", "git", "fetch"] {
        if !catalog.join(format!("{name}.wasm")).exists() {
            bail!("catalog/dist/{name}.wasm is missing: run `make bench`");
        }
    }
    let config = |name: &str, grants: &str| -> Result<PathBuf> {
        let path = work.join(format!("{name}.toml"));
        let component = catalog.join(format!("{name}.wasm"));
        std::fs::write(&path, format!("[components.{name}]\npath = {component:?}\n{grants}"))?;
        Ok(path)
    };

    let mut time = Command::new("python3");
    time.args(["-m", "mcp_server_time"]).env("TZ", "UTC");

    // A graph of 200 entities with 5 observations each, for both.
    let graph: Vec<String> = (0..200)
        .map(|i| {
            let observations: Vec<String> = (0..5).map(|j| format!("observation {j} of entity {i}")).collect();
            json!({"type": "entity", "name": format!("entity {i}"), "entityType": "thing", "observations": observations})
                .to_string()
        })
        .collect();
    let (theirs, ours) = (work.join("memory-original"), work.join("memory-moat"));
    for dir in [&theirs, &ours] {
        std::fs::create_dir_all(dir)?;
        std::fs::write(dir.join("memory.jsonl"), graph.join("\n"))?;
    }
    let mut memory = node(&sides.root, "server-memory")?;
    memory.env("MEMORY_FILE_PATH", theirs.join("memory.jsonl"));
    let memory_grant = format!(
        "[components.memory.grants]\nfiles = [{{ host = {ours:?}, guest = \"/memory\", mode = \"rw\" }}]\n"
    );

    // 100 files of 4 KiB, one of them read.
    let files = std::fs::canonicalize(work)?.join("files");
    std::fs::create_dir_all(&files)?;
    for i in 0..100 {
        std::fs::write(files.join(format!("file-{i:03}.txt")), "a line of text\n".repeat(273))?;
    }
    let mut filesystem = node(&sides.root, "server-filesystem")?;
    filesystem.arg(&files);
    let files_grant = format!(
        "[components.filesystem.grants]\nfiles = [{{ host = {files:?}, guest = {files:?}, mode = \"rw\" }}]\n"
    );

    // tests/originals/git-fixture.sh's repository: history, a pack, and
    // uncommitted changes of every kind, for `git status` to find.
    let repositories = std::fs::canonicalize(work)?.join("git");
    if !repositories.exists() {
        let built = std::process::Command::new("bash")
            .arg(sides.root.join("tests/originals/git-fixture.sh"))
            .arg(&repositories)
            .status()?;
        if !built.success() {
            bail!("tests/originals/git-fixture.sh failed");
        }
    }
    let repository = repositories.join("work");
    let mut git = Command::new("python3");
    git.args(["-m", "mcp_server_git", "--repository"])
        .arg(&repository)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1");
    let git_grant = format!(
        "[components.git.grants]\nfiles = [{{ host = {repository:?}, guest = {repository:?}, mode = \"ro\" }}]\n"
    );

    let mut fetch = Command::new("python3");
    fetch.args(["-m", "mcp_server_fetch", "--allow-private-ips"]);
    let fetch_grant =
        format!("[components.fetch.grants]\nhttp = [{{ url = \"http://127.0.0.1:{}\" }}]\n", pages.port);

    Ok(vec![
        Case {
            server: "time",
            original: time,
            config: config("time", "")?,
            tool: "get_current_time",
            args: json!({"timezone": "Europe/Paris"}),
            calls: usize::MAX,
        },
        Case {
            server: "memory",
            original: memory,
            config: config("memory", &memory_grant)?,
            tool: "search_nodes",
            args: json!({"query": "entity 17"}),
            calls: usize::MAX,
        },
        Case {
            server: "filesystem",
            original: filesystem,
            config: config("filesystem", &files_grant)?,
            tool: "read_text_file",
            args: json!({"path": files.join("file-042.txt")}),
            calls: usize::MAX,
        },
        Case {
            server: "git",
            original: git,
            config: config("git", &git_grant)?,
            tool: "git_status",
            args: json!({"repo_path": repository}),
            calls: usize::MAX,
        },
        Case {
            server: "fetch",
            original: fetch,
            config: config("fetch", &fetch_grant)?,
            tool: "fetch",
            args: json!({"url": format!("http://127.0.0.1:{}/page.html", pages.port)}),
            calls: 200,
        },
    ])
}

/// A fresh copy of `command` (a `Command` runs once).
fn again(command: &Command) -> Command {
    let std = command.as_std();
    let mut copy = Command::new(std.get_program());
    copy.args(std.get_args());
    for (key, value) in std.get_envs() {
        if let Some(value) = value {
            copy.env(key, value);
        }
    }
    copy
}

pub async fn comparisons(plan: &Plan, sides: &Sides) -> Result<Vec<Comparison>> {
    let work = sides.work.path().join("originals");
    std::fs::create_dir_all(&work)?;
    let cache = sides.work.path().join("cache-originals");
    let pages = Pages::start(&sides.root)?;
    let mut out = Vec::new();
    for case in cases(sides, &work, &pages)? {
        sides.fill(&case.config, &cache).await?;
        let moat_tool = format!("{}.{}", case.server, case.tool);
        let (mut moat_starts, mut original_starts) = (Vec::new(), Vec::new());
        for _ in 0..plan.cold_starts {
            moat_starts.push(Server::start_alone(sides.moat(&case.config, &cache)).await?);
            original_starts.push(Server::start_alone(again(&case.original)).await?);
        }
        let (mut moat, _) = Server::start(sides.moat(&case.config, &cache)).await?;
        let (mut original, _) = Server::start(again(&case.original)).await?;
        let warmup = plan.warmup.min(case.calls / 20);
        warm_up(&mut moat, &moat_tool, &case.args, warmup).await?;
        warm_up(&mut original, case.tool, &case.args, warmup).await?;
        let calls = plan.add_calls.min(2000).min(case.calls);
        let [mut ours, mut theirs] = in_turns::<2>(calls, async |side| match side {
            0 => moat.call(&moat_tool, &case.args).await,
            _ => original.call(case.tool, &case.args).await,
        })
        .await?;
        out.push(Comparison {
            server: case.server,
            call: format!("{}({})", case.tool, case.args),
            calls,
            start: (percentile(&mut moat_starts, 0.5), percentile(&mut original_starts, 0.5)),
            p50: (percentile(&mut ours, 0.5), percentile(&mut theirs, 0.5)),
            p99: (percentile(&mut ours, 0.99), percentile(&mut theirs, 0.99)),
        });
    }
    Ok(out)
}

pub fn print(comparisons: &[Comparison]) {
    println!("| server | measure | moat | the original | moat / original |");
    println!("| --- | --- | ---: | ---: | ---: |");
    for c in comparisons {
        let ratio = |(m, o): (Duration, Duration)| match m.as_secs_f64() / o.as_secs_f64() {
            r if r < 0.01 => format!("{r:.3}×"),
            r => format!("{r:.2}×"),
        };
        println!(
            "| {} | start, spawn to tools/list (cache warm) | {} | {} | {} |",
            c.server,
            millis(c.start.0),
            millis(c.start.1),
            ratio(c.start)
        );
        println!(
            "| {} | p50 per call ({} calls), `{}` | {} | {} | {} |",
            c.server,
            c.calls,
            c.call,
            micros(c.p50.0),
            micros(c.p50.1),
            ratio(c.p50)
        );
        println!(
            "| {} | p99 per call | {} | {} | {} |",
            c.server,
            micros(c.p99.0),
            micros(c.p99.1),
            ratio(c.p99)
        );
    }
}
