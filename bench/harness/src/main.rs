//! moat's benchmark harness: moat against the native baseline, side by side in
//! one run, reported as ratios (moat / native) with absolute figures as context.
//!
//! Both servers are driven the same way: a child process spoken to over stdio
//! with raw JSON-RPC lines, so the client costs the same on both sides. The cost
//! of each limit is measured in process through the moat library, the only
//! place fuel and epochs can be switched off. Method and results: BENCHMARKS.md.
//!
//! Run with `make bench` (release build of everything, then this); `--quick`
//! for a smaller plan, `--replicas` for only the replicas behind HAProxy,
//! `--startup` for only start-up with the bundled examples, `--load` for
//! only the thousand HTTP clients and the flood, `--originals` for only the
//! catalog against the official servers it stands in for.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use tokio::sync::Semaphore;

mod http;
mod load;
mod originals;
mod replicas;

/// The moat binary's allocator, for the in-process measurements.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// How much of everything to do.
struct Plan {
    warmup: usize,
    add_calls: usize,
    sha_calls: usize,
    transform_calls: usize,
    pipelined_calls: usize,
    in_flight: usize,
    cold_starts: usize,
}

const FULL: Plan = Plan {
    warmup: 100,
    add_calls: 3000,
    sha_calls: 100,
    transform_calls: 300,
    pipelined_calls: 10_000,
    in_flight: 64,
    cold_starts: 10,
};
const QUICK: Plan = Plan {
    warmup: 10,
    add_calls: 200,
    sha_calls: 10,
    transform_calls: 20,
    pipelined_calls: 1000,
    in_flight: 64,
    cold_starts: 3,
};

/// Sequential round trips alternate between the sides in blocks of this many
/// calls, so both see the same machine state over the run.
const BLOCK: usize = 20;

/// A pause between blocks: work a side does after answering (moat drops the
/// instance a call used and makes the next one then) ends before the other
/// side's block, instead of being measured as part of its calls.
const SETTLE: Duration = Duration::from_millis(2);

/// Pipelined runs of each server, taken in turns; the median is reported.
const PIPELINED_ROUNDS: usize = 3;

/// How long a server has had no request when its idle memory is read: moat
/// finishes start-up work in the background after answering (linking
/// components, compiling output scanning's rules), and its memory is not
/// idle memory until that is done.
const IDLE: Duration = Duration::from_secs(2);

/// The ten distinct example components of the 10-component cold start.
const TEN: [&str; 10] =
    ["bench", "text", "json-query", "datetime", "hash", "units", "notes", "fetch", "kitchen-sink", "hostile"];

/// A server under test, spoken to over its stdio.
struct Server {
    child: Child,
    stdin: ChildStdin,
    lines: Lines<BufReader<ChildStdout>>,
    next_id: u64,
}

impl Server {
    /// Spawns `command` and runs initialize + tools/list; returns the server and
    /// the time from spawn to the tools/list answer.
    async fn start(mut command: Command) -> Result<(Server, Duration)> {
        let started = Instant::now();
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .context("spawn server")?;
        let stdin = child.stdin.take().unwrap();
        let lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut server = Server { child, stdin, lines, next_id: 1 };
        server.request("initialize", initialize_params()).await?;
        server.send(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"})).await?;
        let tools = server.request("tools/list", json!({})).await?;
        let elapsed = started.elapsed();
        if tools["tools"].as_array().is_none_or(|t| t.is_empty()) {
            bail!("the server lists no tools: {tools}");
        }
        Ok((server, elapsed))
    }

    /// Like [`Server::start`], then one call of `tool`; ends the server. The
    /// times from spawn to the tools/list answer and to the call's answer.
    async fn start_and_call(command: Command, tool: &str, args: &Value) -> Result<(Duration, Duration)> {
        let started = Instant::now();
        let (mut server, listed) = Server::start(command).await?;
        server.call(tool, args).await?;
        let answered = started.elapsed();
        server.child.kill().await.context("end server")?;
        Ok((listed, answered))
    }

    /// Like [`Server::start`], then ends the server and waits until it has
    /// exited, so that the next start does not share the cores with this
    /// one's teardown.
    async fn start_alone(command: Command) -> Result<Duration> {
        let (mut server, elapsed) = Server::start(command).await?;
        server.child.kill().await.context("end server")?;
        Ok(elapsed)
    }

    async fn send(&mut self, message: &Value) -> Result<()> {
        let mut line = serde_json::to_vec(message)?;
        line.push(b'\n');
        self.stdin.write_all(&line).await?;
        Ok(())
    }

    async fn request(&mut self, method: &str, params: Value) -> Result<Value> {
        let id = self.next_id;
        self.next_id += 1;
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params})).await?;
        loop {
            let line = self.lines.next_line().await?.context("the server closed its stdout")?;
            let message: Value = serde_json::from_str(&line)?;
            if message["id"] == id {
                if let Some(error) = message.get("error") {
                    bail!("{method} failed: {error}");
                }
                return Ok(message["result"].clone());
            }
        }
    }

    /// One tools/call; fails on a tool error, so a broken run cannot look fast.
    async fn call(&mut self, tool: &str, args: &Value) -> Result<Duration> {
        let started = Instant::now();
        let result = self.request("tools/call", json!({"name": tool, "arguments": args})).await?;
        let elapsed = started.elapsed();
        if result["isError"] == true {
            bail!("{tool} returned an error: {result}");
        }
        Ok(elapsed)
    }

    /// `calls` tools/call requests with at most `in_flight` outstanding; calls per second.
    async fn pipelined(&mut self, tool: &str, args: &Value, calls: usize, in_flight: usize) -> Result<f64> {
        let window = Arc::new(Semaphore::new(in_flight));
        let first_id = self.next_id;
        self.next_id += calls as u64;
        let started = Instant::now();
        let mut errors = 0usize;
        let writer = {
            let window = window.clone();
            let stdin = &mut self.stdin;
            async move {
                for i in 0..calls as u64 {
                    window.acquire().await.expect("semaphore open").forget();
                    let message = json!({"jsonrpc": "2.0", "id": first_id + i, "method": "tools/call",
                        "params": {"name": tool, "arguments": args}});
                    let mut line = serde_json::to_vec(&message)?;
                    line.push(b'\n');
                    stdin.write_all(&line).await?;
                }
                anyhow::Ok(())
            }
        };
        let reader = async {
            let mut received = 0;
            while received < calls {
                let line = self.lines.next_line().await?.context("the server closed its stdout")?;
                let message: Value = serde_json::from_str(&line)?;
                if message.get("id").is_some() {
                    received += 1;
                    if message["result"]["isError"] == true || message.get("error").is_some() {
                        errors += 1;
                    }
                    window.add_permits(1);
                }
            }
            anyhow::Ok(())
        };
        let (written, read) = tokio::join!(writer, reader);
        written?;
        read?;
        let elapsed = started.elapsed();
        if errors > 0 {
            bail!("{errors} of {calls} pipelined calls failed");
        }
        Ok(calls as f64 / elapsed.as_secs_f64())
    }

    /// (current, peak) resident set in KiB, from /proc.
    fn memory(&self) -> Result<(u64, u64)> {
        let pid = self.child.id().context("the server has exited")?;
        let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
        let field = |name: &str| -> Result<u64> {
            let line = status
                .lines()
                .find(|l| l.starts_with(name))
                .with_context(|| format!("no {name} in /proc"))?;
            Ok(line.split_whitespace().nth(1).context("malformed /proc line")?.parse()?)
        };
        Ok((field("VmRSS:")?, field("VmHWM:")?))
    }
}

/// How to start each side.
struct Sides {
    moat: PathBuf,
    native: PathBuf,
    /// The repository.
    root: PathBuf,
    dist: PathBuf,
    work: tempfile::TempDir,
}

impl Sides {
    fn config(&self, components: &[&str]) -> Result<PathBuf> {
        let mut text = String::new();
        for name in components {
            let path = self.dist.join(format!("{name}.wasm"));
            text.push_str(&format!("[components.{name}]\npath = {path:?}\n"));
            if matches!(*name, "bench" | "bench-bare") {
                text.push_str("limits = { concurrent_calls = 64, queued_calls = 1024, output = \"4MiB\" }\n");
            }
        }
        let path = self.work.path().join(format!("moat-{}.toml", components.join("+")));
        std::fs::write(&path, text)?;
        Ok(path)
    }

    fn moat(&self, config: &Path, cache: &Path) -> Command {
        let mut command = Command::new(&self.moat);
        if let Ok(filter) = std::env::var("MOAT_BENCH_LOG") {
            command.arg("--log").arg(filter);
        }
        command.arg("serve").arg("--config").arg(config).arg("--cache-dir").arg(cache);
        command
    }

    fn native(&self) -> Command {
        Command::new(&self.native)
    }

    /// Fills the compile cache `cache` with every component of `config`:
    /// moat compiles after answering, and caches a component's surface once
    /// it has linked, which `/readyz` says of them all. A start that ended
    /// before would leave the next "warm" start compiling again.
    async fn fill(&self, config: &Path, cache: &Path) -> Result<()> {
        let address = free_address()?;
        let mut filling = self.moat(config, cache);
        filling.arg("--http").arg(address.to_string()).stdout(Stdio::null()).stderr(Stdio::null());
        let _filling = filling.kill_on_drop(true).spawn()?;
        http::HttpSession::wait_for(address).await?;
        http::HttpSession::wait_ready(address).await
    }
}

/// Start-up with the bundled `guest-examples/moat.toml` (ten components,
/// a Python and a JavaScript one among them), cache warm and cold: spawn to
/// the tools/list answer, and to the answer of a first call of the Python
/// component (which waits for it to be compiled), each followed by the same
/// of the native baseline (whose first call is its `bench.add`).
async fn startup_rows(plan: &Plan, sides: &Sides) -> Result<Vec<Row>> {
    let config = sides.root.join("guest-examples/moat.toml");
    let warm_cache = sides.work.path().join("cache-examples");
    let python = ("wordstats.analyse", json!({"text": "the cat saw the cat", "top": 1}));
    let add = ("bench.add", json!({"a": 40, "b": 2}));
    sides.fill(&config, &warm_cache).await?;
    let mut rows = Vec::new();
    for warm in [true, false] {
        let (mut listed, mut answered, mut native_listed, mut native_answered) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let runs = if warm { plan.cold_starts } else { plan.cold_starts.min(3) };
        for i in 0..runs {
            let cache =
                if warm { warm_cache.clone() } else { sides.work.path().join(format!("cold-examples-{i}")) };
            let (l, a) = Server::start_and_call(sides.moat(&config, &cache), python.0, &python.1).await?;
            listed.push(l);
            answered.push(a);
            let (l, a) = Server::start_and_call(sides.native(), add.0, &add.1).await?;
            native_listed.push(l);
            native_answered.push(a);
        }
        let cache = if warm { "cache warm" } else { "cache cold" };
        for (what, moat, native) in [
            (format!("start, bundled examples (10 components), {cache}"), &mut listed, &mut native_listed),
            (
                format!("start and first call of the Python component, bundled examples, {cache}"),
                &mut answered,
                &mut native_answered,
            ),
        ] {
            let (m, n) = (percentile(moat, 0.5), percentile(native, 0.5));
            rows.push(Row {
                what,
                moat: millis(m),
                native: millis(n),
                ratio: ratio(m.as_secs_f64(), n.as_secs_f64()),
                target: "",
            });
        }
    }
    Ok(rows)
}

/// `calls` sequential round trips to each of `N` servers, taking turns in
/// blocks of [`BLOCK`] with a [`SETTLE`] pause after each; `call(i)` makes one
/// round trip to server `i`. Each server's times, in order.
async fn in_turns<const N: usize>(
    calls: usize,
    mut call: impl AsyncFnMut(usize) -> Result<Duration>,
) -> Result<[Vec<Duration>; N]> {
    let mut times = std::array::from_fn(|_| Vec::with_capacity(calls));
    let mut done = 0;
    while done < calls {
        let block = BLOCK.min(calls - done);
        for (server, taken) in times.iter_mut().enumerate() {
            for _ in 0..block {
                taken.push(call(server).await?);
            }
            tokio::time::sleep(SETTLE).await;
        }
        done += block;
    }
    Ok(times)
}

fn median(samples: &mut [f64]) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

fn percentile(samples: &mut [Duration], p: f64) -> Duration {
    samples.sort();
    let index = ((samples.len() as f64 - 1.0) * p).round() as usize;
    samples[index]
}

fn micros(d: Duration) -> String {
    format!("{:.1} µs", d.as_secs_f64() * 1e6)
}

fn millis(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

fn ratio(moat: f64, native: f64) -> String {
    format!("{:.2}×", moat / native)
}

struct Row {
    what: String,
    moat: String,
    native: String,
    ratio: String,
    target: &'static str,
}

/// `calls` calls to `tool`, their times not kept: before measuring a server.
async fn warm_up(server: &mut Server, tool: &str, args: &Value, calls: usize) -> Result<()> {
    for _ in 0..calls {
        server.call(tool, args).await?;
    }
    Ok(())
}

async fn run(plan: &Plan, sides: &Sides) -> Result<Vec<Row>> {
    let mut rows = Vec::new();
    let warm_cache = sides.work.path().join("cache-warm");
    let one = sides.config(&["bench"])?;
    let bare = sides.config(&["bench-bare"])?;
    let ten = sides.config(&TEN)?;

    // Fill the warm cache once, and check that every component was served: a
    // component refused at load (say, by the vet gate) would make every
    // 10-component figure a figure for fewer.
    sides.fill(&ten, &warm_cache).await?;
    sides.fill(&bare, &warm_cache).await?;
    let (mut filled, _) = Server::start(sides.moat(&ten, &warm_cache)).await?;
    let listed = filled.request("tools/list", json!({})).await?;
    let mut served: Vec<&str> = listed["tools"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|tool| tool["name"].as_str()?.split('.').next())
        .collect();
    served.sort();
    served.dedup();
    if served.len() != TEN.len() {
        bail!("moat served {} of the {} components: {served:?}", served.len(), TEN.len());
    }
    drop(filled);

    // 1. Sequential round trips, moat also with the same tools built to
    // import nothing (the component's instantiation without WASI's imports).
    let add = json!({"a": 40, "b": 2});
    let data = json!({"data": "x".repeat(1024 * 1024)});
    let document = json!({"document": bench_tools::sample_document(1000)});
    let (mut moat, _) = Server::start(sides.moat(&one, &warm_cache)).await?;
    let (mut moat_bare, _) = Server::start(sides.moat(&bare, &warm_cache)).await?;
    let (mut native, _) = Server::start(sides.native()).await?;
    let cases: [(&str, &str, &Value, usize, &'static str); 3] = [
        ("trivial (add)", "bench.add", &add, plan.add_calls, "retired (was ≤ 1.3×)"),
        ("compute (sha256 of 1 MiB)", "bench.sha256", &data, plan.sha_calls, "≤ 2×"),
        ("JSON transform (1000 records)", "bench.transform", &document, plan.transform_calls, "≤ 2×"),
    ];
    let mut bare_rows = Vec::new();
    for (label, tool, args, calls, target) in cases {
        let bare_tool = tool.replacen("bench.", "bench-bare.", 1);
        for _ in 0..plan.warmup.min(calls) {
            moat.call(tool, args).await?;
            moat_bare.call(&bare_tool, args).await?;
            native.call(tool, args).await?;
        }
        let [mut m, mut b, mut n] = in_turns(calls, async |server| match server {
            0 => moat.call(tool, args).await,
            1 => moat_bare.call(&bare_tool, args).await,
            _ => native.call(tool, args).await,
        })
        .await?;
        let (bp, np) = (percentile(&mut b, 0.5), percentile(&mut n, 0.5));
        bare_rows.push(Row {
            what: format!("{label}, p50, component importing nothing"),
            moat: micros(bp),
            native: micros(np),
            ratio: ratio(bp.as_secs_f64(), np.as_secs_f64()),
            target: "",
        });
        for (p, name) in [(0.5, "p50"), (0.99, "p99")] {
            let (mp, np) = (percentile(&mut m, p), percentile(&mut n, p));
            rows.push(Row {
                what: format!("{label}, {name}"),
                moat: micros(mp),
                native: micros(np),
                ratio: ratio(mp.as_secs_f64(), np.as_secs_f64()),
                target: if p == 0.5 { target } else { "" },
            });
        }
    }
    rows.extend(bare_rows);
    drop((moat, moat_bare, native));

    // 2. Pipelined throughput, and memory under that load.
    let (mut moat, _) = Server::start(sides.moat(&ten, &warm_cache)).await?;
    let (mut moat_bare, _) = Server::start(sides.moat(&bare, &warm_cache)).await?;
    let (mut native, _) = Server::start(sides.native()).await?;
    warm_up(&mut moat, "bench.add", &add, plan.warmup).await?;
    warm_up(&mut moat_bare, "bench-bare.add", &add, plan.warmup).await?;
    tokio::time::sleep(IDLE).await;
    let moat_idle = moat.memory()?.0;
    let native_idle = native.memory()?.0;
    // Rounds of each server in turn, as the sequential blocks take turns:
    // the median round of each.
    let (mut m, mut b, mut n) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..PIPELINED_ROUNDS {
        m.push(moat.pipelined("bench.add", &add, plan.pipelined_calls, plan.in_flight).await?);
        b.push(moat_bare.pipelined("bench-bare.add", &add, plan.pipelined_calls, plan.in_flight).await?);
        n.push(native.pipelined("bench.add", &add, plan.pipelined_calls, plan.in_flight).await?);
    }
    let (m, b, n) = (median(&mut m), median(&mut b), median(&mut n));
    for (what, moat, target) in [
        (
            format!("pipelined add, {} in flight (calls/s; higher is better)", plan.in_flight),
            m,
            "retired (was ≥ 0.8×)",
        ),
        (format!("pipelined add, {} in flight, component importing nothing", plan.in_flight), b, ""),
    ] {
        rows.push(Row {
            what,
            moat: format!("{moat:.0}"),
            native: format!("{n:.0}"),
            ratio: ratio(moat, n),
            target,
        });
    }
    let moat_peak = moat.memory()?.1;
    let native_peak = native.memory()?.1;
    for (what, moat_kib, native_kib) in [
        ("resident memory, idle (moat: 10 components)", moat_idle, native_idle),
        ("resident memory, peak under the pipelined load", moat_peak, native_peak),
    ] {
        rows.push(Row {
            what: what.into(),
            moat: format!("{:.1} MiB", moat_kib as f64 / 1024.0),
            native: format!("{:.1} MiB", native_kib as f64 / 1024.0),
            ratio: ratio(moat_kib as f64, native_kib as f64),
            target: "",
        });
    }
    drop((moat, moat_bare, native));

    // 3. Cold start: spawn to the tools/list answer (median of several).
    // Each of moat's starts is followed by one of native's, so that each row
    // compares starts made in the same machine state (as the per-call
    // measurements alternate); the warm rows come before the cold ones,
    // which compile and write the cache.
    for (label, config, warm, target) in [
        ("cold start, 1 component, cache warm", &one, true, ""),
        ("cold start, 10 components, cache warm", &ten, true, "retired (was ≤ 2×)"),
        ("cold start, 1 component, cache cold", &one, false, ""),
        ("cold start, 10 components, cache cold", &ten, false, ""),
    ] {
        let (mut starts, mut native_starts) = (Vec::new(), Vec::new());
        for i in 0..plan.cold_starts {
            let cache =
                if warm { warm_cache.clone() } else { sides.work.path().join(format!("cold-{label}-{i}")) };
            starts.push(Server::start_alone(sides.moat(config, &cache)).await?);
            native_starts.push(Server::start_alone(sides.native()).await?);
        }
        let (m, n) = (percentile(&mut starts, 0.5), percentile(&mut native_starts, 0.5));
        rows.push(Row {
            what: label.into(),
            moat: millis(m),
            native: millis(n),
            ratio: ratio(m.as_secs_f64(), n.as_secs_f64()),
            target,
        });
    }
    Ok(rows)
}

/// The `initialize` request's params, the same over stdio and HTTP.
fn initialize_params() -> Value {
    json!({"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "moat-bench", "version": "1"}})
}

/// A free port on 127.0.0.1 (taken, then released for the server to bind).
fn free_address() -> Result<std::net::SocketAddr> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?)
}

/// The config moat serves the benchmark over HTTP with, and its token. moat
/// authenticates every request (the native side does not): a token whose
/// rate limit no run reaches.
fn http_config(sides: &Sides) -> Result<(PathBuf, &'static str)> {
    let token = "moat-bench-token";
    let config = sides.work.path().join("moat-http.toml");
    let bench = sides.dist.join("bench.wasm");
    std::fs::write(
        &config,
        format!(
            "[components.bench]\npath = {bench:?}\n\
             [http]\nmax_concurrent_requests = 256\nmax_connections_per_address = 1024\n\
             [http.tokens.bench]\nsha256 = \"{}\"\nrate_per_minute = 1000000000\n",
            bench_tools::sha256(token)
        ),
    )?;
    Ok((config, token))
}

/// moat and the native baseline over Streamable HTTP: sequential round trips
/// (in alternating blocks, as over stdio) and throughput with many clients at once.
async fn http_rows(plan: &Plan, sides: &Sides) -> Result<Vec<Row>> {
    let (moat_address, native_address) = (free_address()?, free_address()?);
    let (config, token) = http_config(sides)?;
    sides.fill(&config, &sides.work.path().join("cache-warm")).await?;
    let mut moat = sides.moat(&config, &sides.work.path().join("cache-warm"));
    moat.arg("--http").arg(moat_address.to_string());
    let mut native = sides.native();
    native.arg("--http").arg(native_address.to_string());
    let mut children = Vec::new();
    for mut command in [moat, native] {
        children.push(
            command
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .kill_on_drop(true)
                .spawn()?,
        );
    }
    http::HttpSession::wait_for(moat_address).await?;
    http::HttpSession::wait_for(native_address).await?;

    let add = json!({"a": 40, "b": 2});
    let mut rows = Vec::new();
    let (mut m_session, mut n_session) = (
        http::HttpSession::open(moat_address, Some(token)).await?,
        http::HttpSession::open(native_address, None).await?,
    );
    let calls = plan.add_calls / 3;
    for _ in 0..plan.warmup {
        m_session.call("bench.add", &add).await?;
        n_session.call("bench.add", &add).await?;
    }
    let [mut m, mut n] = in_turns(calls, async |server| match server {
        0 => m_session.call("bench.add", &add).await,
        _ => n_session.call("bench.add", &add).await,
    })
    .await?;
    let (mp, np) = (percentile(&mut m, 0.5), percentile(&mut n, 0.5));
    rows.push(Row {
        what: "HTTP: trivial (add), p50".into(),
        moat: micros(mp),
        native: micros(np),
        ratio: ratio(mp.as_secs_f64(), np.as_secs_f64()),
        target: "",
    });
    let clients = 32;
    let total = plan.pipelined_calls / 2;
    let m = http::throughput(moat_address, Some(token), "bench.add", &add, total, clients).await?;
    let n = http::throughput(native_address, None, "bench.add", &add, total, clients).await?;
    rows.push(Row {
        what: format!("HTTP: add, {clients} clients at once (calls/s; higher is better)"),
        moat: format!("{m:.0}"),
        native: format!("{n:.0}"),
        ratio: ratio(m, n),
        target: "",
    });
    drop(children);
    Ok(rows)
}

/// Calls per second of 32 clients at once through HAProxy to 1, 2 and 3
/// moat replicas, and to one moat served directly, in the same run (the
/// median of [`REPLICA_ROUNDS`] rounds); `None` without haproxy.
async fn replica_throughput(plan: &Plan, sides: &Sides) -> Result<Option<(f64, Vec<f64>)>> {
    if replicas::binary().is_none() {
        eprintln!("moat-bench: haproxy is not installed (Debian's haproxy); the replicas are not measured");
        return Ok(None);
    }
    let (config, token) = http_config(sides)?;
    sides.fill(&config, &sides.work.path().join("cache-warm")).await?;
    let add = json!({"a": 40, "b": 2});
    let (total, clients) = (plan.pipelined_calls / 2, REPLICA_CLIENTS);
    let mut servers = Vec::new();
    let mut addresses = Vec::new();
    for _ in 0..3 {
        let address = free_address()?;
        let mut moat = sides.moat(&config, &sides.work.path().join("cache-warm"));
        moat.arg("--http").arg(address.to_string());
        servers.push(
            moat.stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .kill_on_drop(true)
                .spawn()?,
        );
        http::HttpSession::wait_for(address).await?;
        addresses.push(address);
    }
    let mut proxies = Vec::new();
    let mut frontends = vec![addresses[0]];
    for replicas in 1..=3 {
        let frontend = free_address()?;
        proxies.push(
            replicas::Haproxy::start(frontend, &addresses[..replicas], &sides.root, sides.work.path())
                .await?,
        );
        frontends.push(frontend);
    }
    // Rounds in turns (direct, then through 1, 2 and 3 replicas), the
    // median of each: the machine's drift falls on all four alike.
    let mut rates = vec![Vec::new(); frontends.len()];
    for _ in 0..REPLICA_ROUNDS {
        for (i, frontend) in frontends.iter().enumerate() {
            rates[i].push(http::throughput(*frontend, Some(token), "bench.add", &add, total, clients).await?);
        }
    }
    let mut medians: Vec<f64> = rates
        .iter_mut()
        .map(|rates| {
            rates.sort_by(f64::total_cmp);
            rates[rates.len() / 2]
        })
        .collect();
    let direct = medians.remove(0);
    Ok(Some((direct, medians)))
}

const REPLICA_ROUNDS: usize = 5;
const REPLICA_CLIENTS: usize = 32;

/// One server of the languages table.
struct Language {
    label: &'static str,
    serving: Serving,
    tool: &'static str,
}

/// What serves a language's trivial tool.
#[derive(Clone, Copy)]
enum Serving {
    /// The native Rust baseline.
    Native,
    /// The official Python MCP SDK, from CPython.
    PythonSdk,
    /// moat, with this component.
    Moat(&'static str),
}

impl Language {
    fn component(&self) -> Option<&'static str> {
        match self.serving {
            Serving::Moat(component) => Some(component),
            Serving::Native | Serving::PythonSdk => None,
        }
    }
}

const LANGUAGES: [Language; 6] = [
    Language { label: "native Rust (rmcp), no sandbox", serving: Serving::Native, tool: "bench.add" },
    Language {
        label: "Python MCP SDK (CPython), no sandbox",
        serving: Serving::PythonSdk,
        tool: "bench.add",
    },
    Language { label: "moat, Rust component", serving: Serving::Moat("bench"), tool: "bench.add" },
    Language {
        label: "moat, Rust component importing nothing (wasm32-unknown-unknown)",
        serving: Serving::Moat("bench-bare"),
        tool: "bench-bare.add",
    },
    Language {
        label: "moat, Python component (componentize-py)",
        serving: Serving::Moat("bench-py"),
        tool: "bench-py.add",
    },
    Language {
        label: "moat, JavaScript component (componentize-js)",
        serving: Serving::Moat("bench-js"),
        tool: "bench-js.add",
    },
];

/// What one server of the languages table measured.
struct LanguageRow {
    label: &'static str,
    size: Option<u64>,
    warm_start: Duration,
    cold_start: Option<Duration>,
    p50: Duration,
    p99: Duration,
    idle_kib: u64,
}

/// The trivial tool in each language: start-up (compile cache warm and cold),
/// sequential round trips and idle memory. The servers take turns, as the two
/// sides of the main table do: one start each per round, and blocks of
/// [`BLOCK`] calls each with every server alive, so that each sees the same
/// machine state.
async fn languages(plan: &Plan, sides: &Sides) -> Result<Vec<LanguageRow>> {
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    let baseline = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../python/server.py");
    let warm_cache = sides.work.path().join("cache-languages");
    let add = json!({"a": 40, "b": 2});
    let command = |language: &Language, cache: &Path| -> Result<Command> {
        Ok(match language.serving {
            Serving::Native => sides.native(),
            Serving::PythonSdk => {
                let mut command = Command::new(&python);
                command.arg(&baseline);
                command
            }
            Serving::Moat(component) => sides.moat(&sides.config(&[component])?, cache),
        })
    };
    // Each component is compiled into the warm cache first.
    for language in &LANGUAGES {
        if let Serving::Moat(component) = language.serving {
            sides.fill(&sides.config(&[component])?, &warm_cache).await?;
        }
    }
    let mut warm = vec![Vec::new(); LANGUAGES.len()];
    for _ in 0..plan.cold_starts {
        for (language, starts) in LANGUAGES.iter().zip(&mut warm) {
            starts.push(Server::start_alone(command(language, &warm_cache)?).await?);
        }
    }
    let mut cold = vec![Vec::new(); LANGUAGES.len()];
    for run in 0..plan.cold_starts.min(3) {
        for (language, starts) in LANGUAGES.iter().zip(&mut cold) {
            if let Some(component) = language.component() {
                let cache = sides.work.path().join(format!("cold-{component}-{run}"));
                starts.push(Server::start_alone(command(language, &cache)?).await?);
            }
        }
    }
    let mut servers = Vec::new();
    for language in &LANGUAGES {
        let (mut server, _) = Server::start(command(language, &warm_cache)?).await?;
        warm_up(&mut server, language.tool, &add, plan.warmup).await?;
        servers.push(server);
    }
    let calls = plan.add_calls / 3;
    let samples: [_; LANGUAGES.len()] =
        in_turns(calls, async |i| servers[i].call(LANGUAGES[i].tool, &add).await).await?;
    tokio::time::sleep(IDLE).await;
    let mut rows = Vec::new();
    for (((language, server), mut samples), (mut warm, mut cold)) in
        LANGUAGES.iter().zip(&servers).zip(samples).zip(warm.into_iter().zip(cold))
    {
        rows.push(LanguageRow {
            label: language.label,
            size: language
                .component()
                .map(|c| std::fs::metadata(sides.dist.join(format!("{c}.wasm"))).map(|m| m.len()))
                .transpose()?,
            warm_start: percentile(&mut warm, 0.5),
            cold_start: (!cold.is_empty()).then(|| percentile(&mut cold, 0.5)),
            p50: percentile(&mut samples, 0.5),
            p99: percentile(&mut samples, 0.99),
            idle_kib: server.memory()?.0,
        });
    }
    Ok(rows)
}

/// Per-call cost in process (no MCP transport) with fuel and epochs switched.
async fn limit_costs(plan: &Plan, sides: &Sides) -> Result<Vec<(String, Duration, Duration)>> {
    use moat::call::CallOutcome;
    use moat::config::Config;
    use moat::runtime::EngineOptions;
    let add = json!({"a": 40, "b": 2});
    let data = json!({"data": "x".repeat(1024 * 1024)});
    let mut out = Vec::new();
    for (label, fuel, epoch_interruption) in [
        ("all limits on", true, true),
        ("fuel off", false, true),
        ("epoch off", true, false),
        ("fuel and epoch off", false, false),
    ] {
        let mut config = Config::parse(
            &format!(
                "[components.bench]\npath = {:?}\nlimits = {{ output = \"4MiB\" }}\n",
                sides.dist.join("bench.wasm")
            ),
            Path::new("/"),
        )?;
        config.cache_dir = Some(sides.work.path().join("cache-inprocess"));
        config.engine = EngineOptions { fuel, epoch_interruption };
        let (host, _) = moat::load::load(&config)?;
        let cancel = tokio_util::sync::CancellationToken::new();
        let measure = async |tool: &str, args: &Value, calls: usize| -> Result<Duration> {
            let mut samples = Vec::new();
            for i in 0..calls + plan.warmup.min(calls) {
                let started = Instant::now();
                let outcome = host
                    .call("bench", tool, args.as_object(), None, &cancel)
                    .await
                    .context("no such tool")?;
                if !matches!(outcome, CallOutcome::Success { .. }) {
                    bail!("{tool}: {outcome:?}");
                }
                if i >= plan.warmup.min(calls) {
                    samples.push(started.elapsed());
                }
            }
            Ok(percentile(&mut samples, 0.5))
        };
        let trivial = measure("bench.add", &add, plan.add_calls).await?;
        let compute = measure("bench.sha256", &data, plan.sha_calls).await?;
        out.push((label.to_string(), trivial, compute));
    }
    Ok(out)
}

#[tokio::main]
async fn main() -> Result<()> {
    let quick = std::env::args().any(|a| a == "--quick");
    let plan = if quick { &QUICK } else { &FULL };
    let bin_dir = std::env::current_exe()?.parent().context("no binary directory")?.to_path_buf();
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let sides = Sides {
        moat: bin_dir.join("moat"),
        native: bin_dir.join("moat-native-baseline"),
        dist: root.join("guest-examples/dist"),
        root: root.clone(),
        work: tempfile::tempdir()?,
    };
    for needed in [
        &sides.moat,
        &sides.native,
        &sides.dist.join("bench.wasm"),
        &sides.dist.join("bench-bare.wasm"),
        &sides.dist.join("bench-py.wasm"),
        &sides.dist.join("bench-js.wasm"),
    ] {
        if !needed.exists() {
            bail!("{} is missing: run `make bench`", needed.display());
        }
    }
    if std::env::args().any(|a| a == "--startup") {
        // Only start-up with the bundled examples.
        print_rows(&startup_rows(plan, &sides).await?);
        return Ok(());
    }
    if std::env::args().any(|a| a == "--originals") {
        // Only the catalog against the official servers it stands in for.
        originals::print(&originals::comparisons(plan, &sides).await?);
        return Ok(());
    }
    if std::env::args().any(|a| a == "--load") {
        // Only the thousand clients and the flood.
        print_load(&load::thousand_clients(plan, &sides).await?, &load::flood(plan, &sides).await?);
        return Ok(());
    }
    if std::env::args().any(|a| a == "--replicas") {
        // Only the replicas behind HAProxy.
        print_replicas(replica_throughput(plan, &sides).await?);
        return Ok(());
    }
    eprintln!("moat-bench: {} plan; this takes a few minutes", if quick { "quick" } else { "full" });
    let mut rows = run(plan, &sides).await?;
    rows.extend(startup_rows(plan, &sides).await?);
    rows.extend(http_rows(plan, &sides).await?);
    let costs = limit_costs(plan, &sides).await?;
    let languages = languages(plan, &sides).await?;
    let replicas = replica_throughput(plan, &sides).await?;
    let thousand = load::thousand_clients(plan, &sides).await?;
    let flood = load::flood(plan, &sides).await?;

    print_rows(&rows);
    println!(
        "| limits (in process, median per call) | add | sha256 of 1 MiB | add vs all on | sha256 vs all on |"
    );
    println!("| --- | ---: | ---: | ---: | ---: |");
    let (base_add, base_sha) = (costs[0].1, costs[0].2);
    for (label, add, sha) in &costs {
        println!(
            "| {label} | {} | {} | {} | {} |",
            micros(*add),
            micros(*sha),
            ratio(add.as_secs_f64(), base_add.as_secs_f64()),
            ratio(sha.as_secs_f64(), base_sha.as_secs_f64())
        );
    }
    println!();
    println!(
        "| trivial tool (add) by language | component | start, cache warm | start, cache cold | p50 | p99 | p50 / native Rust | p50 / Python SDK | idle memory |"
    );
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    let (native_p50, python_p50) = (languages[0].p50.as_secs_f64(), languages[1].p50.as_secs_f64());
    for row in &languages {
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {:.1} MiB |",
            row.label,
            row.size.map_or("–".into(), |b| format!("{:.1} MiB", b as f64 / 1048576.0)),
            millis(row.warm_start),
            row.cold_start.map_or("–".into(), millis),
            micros(row.p50),
            micros(row.p99),
            ratio(row.p50.as_secs_f64(), native_p50),
            ratio(row.p50.as_secs_f64(), python_p50),
            row.idle_kib as f64 / 1024.0
        );
    }
    println!();
    print_replicas(replicas);
    println!();
    print_load(&thousand, &flood);
    Ok(())
}

fn print_load((moat, native): &(load::Load, load::Load), flood: &load::Flood) {
    println!("| HTTP, {} clients at once | moat | native | moat / native |", load::CLIENTS);
    println!("| --- | ---: | ---: | ---: |");
    let rows = [
        (
            "calls/s (higher is better)",
            format!("{:.0}", moat.calls_per_second),
            format!("{:.0}", native.calls_per_second),
            ratio(moat.calls_per_second, native.calls_per_second),
        ),
        (
            "p50",
            millis(moat.p50),
            millis(native.p50),
            ratio(moat.p50.as_secs_f64(), native.p50.as_secs_f64()),
        ),
        (
            "p99",
            millis(moat.p99),
            millis(native.p99),
            ratio(moat.p99.as_secs_f64(), native.p99.as_secs_f64()),
        ),
        (
            "errors",
            format!("{} of {}", moat.errors, moat.calls),
            format!("{} of {}", native.errors, native.calls),
            String::new(),
        ),
        (
            "resident memory per open session",
            format!("{:.1} KiB", moat.session_kib),
            format!("{:.1} KiB", native.session_kib),
            ratio(moat.session_kib, native.session_kib),
        ),
    ];
    for (what, m, n, r) in rows {
        println!("| {what} | {m} | {n} | {r} |");
    }
    println!();
    println!(
        "| {} clients of one principal calling in turn, while another floods from {} connections | before | during | during / before |",
        flood.steady_clients, flood.flooders
    );
    println!("| --- | ---: | ---: | ---: |");
    for (what, b, d) in [("p50", flood.before.0, flood.during.0), ("p99", flood.before.1, flood.during.1)] {
        println!("| {what} | {} | {} | {} |", micros(b), micros(d), ratio(d.as_secs_f64(), b.as_secs_f64()));
    }
    println!("| the flood's calls: answered, refused (429) | {} | {} | |", flood.answered, flood.refused);
}

fn print_rows(rows: &[Row]) {
    println!("| measurement | moat | native | moat / native | target |");
    println!("| --- | ---: | ---: | ---: | --- |");
    for row in rows {
        println!("| {} | {} | {} | {} | {} |", row.what, row.moat, row.native, row.ratio, row.target);
    }
    println!();
}

fn print_replicas(replicas: Option<(f64, Vec<f64>)>) {
    if let Some((direct, through)) = replicas {
        println!(
            "| HTTP, {REPLICA_CLIENTS} clients at once (calls/s; higher is better) | calls/s | vs one moat direct |"
        );
        println!("| --- | ---: | ---: |");
        println!("| one moat, direct | {direct:.0} | 1.00× |");
        for (i, calls) in through.iter().enumerate() {
            println!("| HAProxy, {} moat replica(s) | {calls:.0} | {} |", i + 1, ratio(*calls, direct));
        }
    }
}
