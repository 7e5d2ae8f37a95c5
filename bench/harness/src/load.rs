//! Load over Streamable HTTP: a thousand clients at once against moat and
//! the native baseline (calls per second, p50 and p99, errors, and resident
//! memory per open session), and one principal flooding moat while others
//! are served (their p50 and p99 before and during the flood).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde_json::{Value, json};
use tokio::process::{Child, Command};

use crate::http::HttpSession;
use crate::{Plan, Sides, free_address, percentile};

/// Clients at once in the load run.
pub const CLIENTS: usize = 1000;

/// Sessions opened at once while the clients connect.
const OPENING: usize = 50;

/// One side's figures under [`CLIENTS`] clients.
pub struct Load {
    pub calls_per_second: f64,
    pub p50: Duration,
    pub p99: Duration,
    pub errors: usize,
    pub calls: usize,
    /// Resident memory added per open session (KiB): idle with every
    /// session open, against idle before any.
    pub session_kib: f64,
}

/// The flood's figures: the steady principal's latencies before and
/// during, and what became of the flooding principal's requests.
pub struct Flood {
    pub before: (Duration, Duration),
    pub during: (Duration, Duration),
    pub answered: usize,
    pub refused: usize,
    pub flooders: usize,
    pub steady_clients: usize,
}

fn spawn(mut command: Command) -> Result<Child> {
    Ok(command
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()?)
}

fn rss_kib(child: &Child) -> Result<u64> {
    let pid = child.id().context("the server has exited")?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).context("no VmRSS in /proc")?;
    Ok(line.split_whitespace().nth(1).context("malformed /proc line")?.parse()?)
}

/// The config of both runs: `bench` with room for a thousand calls at once,
/// and two principals, `bench` (no limit a run reaches) and `flood` (the
/// default rate, 600 a minute).
fn config(sides: &Sides) -> Result<std::path::PathBuf> {
    let path = sides.work.path().join("moat-load.toml");
    let bench = sides.dist.join("bench.wasm");
    std::fs::write(
        &path,
        format!(
            "[components.bench]\npath = {bench:?}\n\
             limits = {{ concurrent_calls = 64, queued_calls = 2048 }}\n\
             [http]\nmax_concurrent_requests = 2048\nmax_requests_per_principal = 2048\n\
             max_connections = 4096\nmax_connections_per_address = 4096\n\
             [http.tokens.bench]\nsha256 = \"{}\"\nrate_per_minute = 1000000000\n\
             [http.tokens.flood]\nsha256 = \"{}\"\n",
            bench_tools::sha256(TOKEN),
            bench_tools::sha256(FLOOD_TOKEN)
        ),
    )?;
    Ok(path)
}

/// The command serving [`config`] over HTTP on a free port (its cache
/// filled first), and that port.
async fn moat_over_http(sides: &Sides) -> Result<(Command, SocketAddr)> {
    let config = config(sides)?;
    let cache = sides.work.path().join("cache-warm");
    sides.fill(&config, &cache).await?;
    let address = free_address()?;
    let mut moat = sides.moat(&config, &cache);
    moat.arg("--http").arg(address.to_string());
    Ok((moat, address))
}

const TOKEN: &str = "moat-bench-token";
const FLOOD_TOKEN: &str = "moat-bench-flood";

/// Opens `count` sessions, [`OPENING`] at a time, each making one call.
async fn open_sessions(address: SocketAddr, token: Option<&str>, count: usize) -> Result<Vec<HttpSession>> {
    let add = json!({"a": 40, "b": 2});
    let mut sessions = Vec::with_capacity(count);
    while sessions.len() < count {
        let batch = OPENING.min(count - sessions.len());
        let mut opening = tokio::task::JoinSet::new();
        for _ in 0..batch {
            let (token, add) = (token.map(str::to_string), add.clone());
            opening.spawn(async move {
                let mut session = HttpSession::open(address, token.as_deref()).await?;
                session.call("bench.add", &add).await?;
                anyhow::Ok(session)
            });
        }
        while let Some(opened) = opening.join_next().await {
            sessions.push(opened??);
        }
    }
    Ok(sessions)
}

/// Every session makes `calls` calls, all sessions at once: the time of
/// each call that succeeded, the errors, and the wall time.
async fn all_at_once(sessions: Vec<HttpSession>, calls: usize) -> Result<(Vec<Duration>, usize, Duration)> {
    let add = json!({"a": 40, "b": 2});
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for mut session in sessions {
        let add = add.clone();
        tasks.spawn(async move {
            let (mut times, mut errors) = (Vec::with_capacity(calls), 0);
            for _ in 0..calls {
                match session.call("bench.add", &add).await {
                    Ok(time) => times.push(time),
                    Err(_) => errors += 1,
                }
            }
            (times, errors, session)
        });
    }
    let (mut times, mut errors, mut kept) = (Vec::new(), 0, Vec::new());
    while let Some(done) = tasks.join_next().await {
        let (t, e, session) = done?;
        times.extend(t);
        errors += e;
        kept.push(session);
    }
    let elapsed = started.elapsed();
    drop(kept);
    Ok((times, errors, elapsed))
}

/// [`CLIENTS`] clients at once against one side.
async fn one_side(command: Command, address: SocketAddr, token: Option<&str>, calls: usize) -> Result<Load> {
    let child = spawn(command)?;
    HttpSession::wait_for(address).await?;
    // Warm: one session's calls, then idle memory with no session but that.
    let mut warm = HttpSession::open(address, token).await?;
    for _ in 0..100 {
        warm.call("bench.add", &json!({"a": 1, "b": 2})).await?;
    }
    tokio::time::sleep(crate::IDLE).await;
    let before = rss_kib(&child)?;
    let sessions = open_sessions(address, token, CLIENTS).await?;
    tokio::time::sleep(crate::IDLE).await;
    let open = rss_kib(&child)?;
    let (mut times, errors, elapsed) = all_at_once(sessions, calls).await?;
    let ok = times.len();
    Ok(Load {
        calls_per_second: ok as f64 / elapsed.as_secs_f64(),
        p50: percentile(&mut times, 0.5),
        p99: percentile(&mut times, 0.99),
        errors,
        calls: ok + errors,
        session_kib: (open.saturating_sub(before)) as f64 / CLIENTS as f64,
    })
}

/// moat, then the native baseline, each with [`CLIENTS`] clients.
pub async fn thousand_clients(plan: &Plan, sides: &Sides) -> Result<(Load, Load)> {
    let calls = if plan.add_calls >= 3000 { 20 } else { 3 };
    let (moat, address) = moat_over_http(sides).await?;
    let moat = one_side(moat, address, Some(TOKEN), calls).await?;
    let address = free_address()?;
    let mut native = sides.native();
    native.arg("--http").arg(address.to_string());
    let native = one_side(native, address, None, calls).await?;
    Ok((moat, native))
}

/// `clients` sessions of the steady principal, each making `calls` calls in
/// turn: p50 and p99.
async fn steady(sessions: &mut [HttpSession], calls: usize) -> Result<(Duration, Duration)> {
    let add = json!({"a": 40, "b": 2});
    let mut times = Vec::new();
    for _ in 0..calls {
        for session in sessions.iter_mut() {
            times.push(session.call("bench.add", &add).await?);
        }
    }
    Ok((percentile(&mut times, 0.5), percentile(&mut times, 0.99)))
}

/// One principal floods moat from `FLOODERS` connections, with no pause,
/// far past its rate (600 a minute), while another's clients call in turn.
pub async fn flood(plan: &Plan, sides: &Sides) -> Result<Flood> {
    const FLOODERS: usize = 32;
    const STEADY: usize = 8;
    let calls = plan.add_calls / 10;
    let (moat, address) = moat_over_http(sides).await?;
    let _child = spawn(moat)?;
    HttpSession::wait_for(address).await?;
    let mut steady_sessions = open_sessions(address, Some(TOKEN), STEADY).await?;
    steady(&mut steady_sessions, calls / 4).await?; // warm
    let before = steady(&mut steady_sessions, calls).await?;

    let flooders = open_sessions(address, Some(FLOOD_TOKEN), FLOODERS).await?;
    let stop = tokio_util::sync::CancellationToken::new();
    let mut flooding = tokio::task::JoinSet::new();
    for mut session in flooders {
        let stop = stop.clone();
        flooding.spawn(async move {
            let add: Value = json!({"a": 1, "b": 1});
            let (mut answered, mut refused) = (0, 0);
            while !stop.is_cancelled() {
                match session.call("bench.add", &add).await {
                    Ok(_) => answered += 1,
                    Err(_) => refused += 1,
                }
            }
            (answered, refused)
        });
    }
    // The flood is under way before the steady clients are measured again.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let during = steady(&mut steady_sessions, calls).await?;
    stop.cancel();
    let (mut answered, mut refused) = (0, 0);
    while let Some(done) = flooding.join_next().await {
        let (a, r) = done?;
        answered += a;
        refused += r;
    }
    Ok(Flood { before, during, answered, refused, flooders: FLOODERS, steady_clients: STEADY })
}
