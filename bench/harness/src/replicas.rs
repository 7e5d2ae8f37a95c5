//! HAProxy (Debian's package) in front of moat replicas, for the benchmark,
//! with the configuration moat ships and `tests/e2e/replicas.rs` runs
//! (`deploy/haproxy/moat.cfg`: round robin per request, sessions stuck to
//! their replica by `Mcp-Session-Id`, a request sent again only when its
//! connection to a replica failed).

use std::net::SocketAddr;
use std::path::Path;
use std::process::Stdio;

use anyhow::{Context, Result, bail};
use tokio::process::{Child, Command};

/// A running `haproxy -db`, stopped when dropped.
pub struct Haproxy {
    _child: Child,
}

/// The binary, if Debian's package (or another) is installed.
pub fn binary() -> Option<&'static str> {
    ["haproxy", "/usr/sbin/haproxy"].into_iter().find(|binary| {
        std::process::Command::new(binary).arg("-v").output().is_ok_and(|output| output.status.success())
    })
}

impl Haproxy {
    /// Listens on `frontend` and balances over `backends`, with the
    /// configuration under `root` (the repository); `work` holds the filled-in copy.
    pub async fn start(
        frontend: SocketAddr,
        backends: &[SocketAddr],
        root: &Path,
        work: &Path,
    ) -> Result<Haproxy> {
        let binary = binary().context("haproxy is not installed")?;
        let servers: String = backends
            .iter()
            .enumerate()
            .map(|(i, backend)| format!("    server replica{i} {backend} check inter 500ms\n"))
            .collect();
        let template = std::fs::read_to_string(root.join("deploy/haproxy/moat.cfg"))?;
        let config = template.replace("@FRONTEND@", &frontend.to_string()).replace("@SERVERS@", &servers);
        let path = work.join(format!("haproxy-{}.cfg", backends.len()));
        std::fs::write(&path, config)?;
        let child = Command::new(binary)
            .arg("-db")
            .arg("-f")
            .arg(&path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()?;
        for _ in 0..500 {
            if tokio::net::TcpStream::connect(frontend).await.is_ok() {
                return Ok(Haproxy { _child: child });
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        bail!("haproxy did not listen on {frontend}")
    }
}
