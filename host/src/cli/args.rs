//! The command line's grammar, in clap's derive form: every command, flag and
//! default, with the help text `moat --help` prints.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::findings::Severity;

#[derive(Debug, Parser)]
#[command(name = "moat", version, about = "Serve MCP tools as sandboxed WebAssembly components")]
pub struct Cli {
    /// Log filter for stderr, e.g. `info`, `moat=debug` (overrides RUST_LOG).
    #[arg(long, global = true, value_name = "FILTER")]
    pub(super) log: Option<String>,
    /// How each log line on stderr is written: text for a person, or one
    /// JSON object a line for a log collector.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub(super) log_format: LogFormat,
    /// What a command prints on stdout: text for a person, or one JSON
    /// document for a program (`moat vet`: `{"tools":[...]}`).
    #[arg(long, global = true, value_enum, default_value_t = OutputFormat::Text)]
    pub(super) format: OutputFormat,
    #[command(subcommand)]
    pub(super) command: Command,
}

/// How log lines are written (`--log-format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub(super) enum Command {
    /// Serve components' tools over MCP on stdin/stdout.
    Serve {
        /// Config file naming components and their limits (default:
        /// ./moat.toml, else ~/.config/moat/moat.toml, when they exist).
        #[arg(long, short, env = "MOAT_CONFIG")]
        config: Option<PathBuf>,
        /// Directory for compiled components (default: the user cache directory).
        #[arg(long, value_name = "DIR")]
        cache_dir: Option<PathBuf>,
        /// Components to serve besides those in the config: files, named
        /// after the file, or `oci://HOST/REPO@sha256:…` references, pulled,
        /// verified against the trusted keys and kept by digest in the cache
        /// directory, named after the repository.
        components: Vec<PathBuf>,
        /// Serve MCP Streamable HTTP at http://ADDR/mcp instead of stdio
        /// (default ADDR: [http] bind, else 127.0.0.1:8787).
        #[arg(long, value_name = "ADDR", num_args = 0..=1, default_missing_value = "")]
        http: Option<String>,
        #[command(flatten)]
        trust: ServeTrust,
    },
    /// Call one tool once, without an MCP client: prints the MCP result as JSON
    /// (log messages and progress go to stderr). Exit status 0 for a result, 1
    /// for a tool error (`isError`), 2 for bad input.
    Call {
        /// The tool, as served (`COMPONENT.function`).
        tool: String,
        /// Its arguments: a JSON object (default `{}`).
        arguments: Option<String>,
        /// Config file naming components and their limits (default:
        /// ./moat.toml, else ~/.config/moat/moat.toml).
        #[arg(long, short, env = "MOAT_CONFIG")]
        config: Option<PathBuf>,
        /// Directory for compiled components (default: the user cache directory).
        #[arg(long, value_name = "DIR")]
        cache_dir: Option<PathBuf>,
        #[command(flatten)]
        trust: ServeTrust,
    },
    /// Start a tool project: WIT, source, build.sh, test.sh and moat.toml, in
    /// DIR (default: ./NAME). It builds, passes its test and serves as it is.
    New {
        /// The project's name: the WIT world, the component and the tools' prefix.
        name: String,
        #[arg(long, value_enum)]
        lang: crate::scaffold::Language,
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Rust only: build for wasm32-unknown-unknown, so that the component
        /// imports nothing from WASI (for tools that need no files, network or clock).
        #[arg(long)]
        no_wasi: bool,
    },
    /// Make a bearer token for `serve --http`: prints the token (give it to the
    /// client) and the config lines that store only its SHA-256.
    Token { principal: String },
    /// Show a component's tools, schemas, imports, grants, metadata and digest.
    Inspect {
        component: PathBuf,
        /// Namespace for the tool names (default: the file name).
        #[arg(long)]
        name: Option<String>,
        /// Show the grants this config gives the component named NAME.
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// The same as `--format json`.
        #[arg(long, hide = true)]
        json: bool,
    },
    /// Look for poisoned tool metadata, shadowing, disguised text and broad grants.
    ///
    /// A TARGET is a component (.wasm) or a JSON file holding an MCP tools/list
    /// result, so any MCP server's tools can be vetted. With --server, moat
    /// connects to a running server instead and vets its tools, prompts and
    /// resources: `moat vet --server -- npx -y PACKAGE` (stdio) or
    /// `moat vet --server https://host/mcp --header 'Authorization: Bearer T'`.
    /// Exit status: 0 when nothing is at or above --fail-on, 1 when something
    /// is, 2 on bad input (a target that cannot be read, a server that does
    /// not answer).
    Vet {
        targets: Vec<PathBuf>,
        /// Connect to an MCP server: TARGET is its URL, or its command and
        /// arguments after `--`. It is listed, never called.
        #[arg(long)]
        server: bool,
        /// A header for an HTTP server, `Name: value` (repeatable).
        #[arg(long = "header", value_name = "NAME: VALUE", requires = "server")]
        headers: Vec<String>,
        /// Vet every server an MCP client's config file names (`mcpServers`
        /// or VS Code's `servers`), against each other.
        #[arg(long, value_name = "FILE", conflicts_with_all = ["server", "targets", "config"])]
        client_config: Option<PathBuf>,
        /// How long a server may take to start and answer the list requests.
        #[arg(long, value_parser = humantime::parse_duration, default_value = "60s")]
        timeout: std::time::Duration,
        /// Take component names and grants from this config (vets all of its
        /// components when no TARGET is given).
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// The severity at which the exit status becomes 1.
        #[arg(long, value_enum, default_value = "medium")]
        fail_on: Severity,
    },
    /// Pin each component of the config (bytes, tool definitions, grants) in moat.lock.
    ///
    /// `moat serve` refuses any component that differs from the lock and says
    /// what changed. Approve a change with `--update NAME` after reading it.
    Lock {
        /// The config (default: ./moat.toml, else ~/.config/moat/moat.toml).
        #[arg(long, short, env = "MOAT_CONFIG")]
        config: Option<PathBuf>,
        /// The lock file (default: moat.lock beside the config).
        #[arg(long)]
        lock: Option<PathBuf>,
        /// Approve the current state of component NAME (repeatable).
        #[arg(long, value_name = "NAME")]
        update: Vec<String>,
    },
    /// Make an ECDSA P-256 key pair: PREFIX.key (private) and PREFIX.pub.
    Keygen {
        #[arg(default_value = "moat")]
        prefix: PathBuf,
    },
    /// Sign a component: writes COMPONENT.sigstore.json (a sigstore bundle).
    Sign {
        component: PathBuf,
        /// The private key (PKCS#8 PEM, from `moat keygen`).
        #[arg(long)]
        key: PathBuf,
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// Verify a component's signature against public keys you trust.
    Verify {
        component: PathBuf,
        /// A trusted public key (PEM); repeatable.
        #[arg(long = "key", required = true)]
        keys: Vec<PathBuf>,
    },
    /// Vet, sign and push a component to an OCI registry (Wasm artifact layout,
    /// cosign signature).
    Publish {
        component: PathBuf,
        /// Where: oci://HOST/REPOSITORY:TAG (plain HTTP only for loopback hosts).
        reference: String,
        /// The private key to sign with (PKCS#8 PEM, from `moat keygen`).
        #[arg(long)]
        key: PathBuf,
        /// Refuse to publish with vet findings at or above this severity.
        #[arg(long, value_enum, default_value = "medium")]
        fail_on: Severity,
        /// Also write the official MCP Registry's server.json for it to FILE.
        #[arg(long, value_name = "FILE", requires = "server_name")]
        server_json: Option<PathBuf>,
        /// Its name in the MCP Registry, reverse-DNS (io.github.you/text-tools);
        /// also set on the manifest as `io.modelcontextprotocol.server.name`.
        #[arg(long, value_name = "NAME")]
        server_name: Option<String>,
        /// A moat serving it over Streamable HTTP, listed as a remote.
        #[arg(long, value_name = "URL", requires = "server_json")]
        remote: Option<String>,
    },
    /// Publish a catalog: every component of its source, signed, and the
    /// signed index that `moat add NAME --catalog INDEX` reads.
    Catalog {
        #[command(subcommand)]
        command: CatalogCommand,
    },
    /// Pull a component from an OCI registry, verify its signature, vet it,
    /// and pin it by digest in the config and the lock.
    Add {
        /// oci://HOST/REPOSITORY:TAG, oci://HOST/REPOSITORY@sha256:..., a
        /// package name with its version (namespace:name@1.0.0), resolved to
        /// an OCI reference through wkg's config as wkg resolves it, or a
        /// catalog name (filesystem), resolved through --catalog.
        reference: String,
        /// The signed catalog index a name is looked up in (catalog.json,
        /// with catalog.json.sig beside it).
        #[arg(long, value_name = "INDEX", env = "MOAT_CATALOG")]
        catalog: Option<PathBuf>,
        /// A directory the catalog component asks for; repeatable, in the
        /// order it asks (asked on a terminal when not given).
        #[arg(long = "dir", value_name = "PATH")]
        dirs: Vec<PathBuf>,
        /// A trusted public key (PEM); repeatable (default: the config's [trust] keys).
        #[arg(long = "key")]
        keys: Vec<PathBuf>,
        /// The config to add it to (default: ./moat.toml, else
        /// ~/.config/moat/moat.toml; a new ./moat.toml when neither exists).
        #[arg(long, short, env = "MOAT_CONFIG")]
        config: Option<PathBuf>,
        /// The component's name (default: the repository's last segment).
        #[arg(long)]
        name: Option<String>,
        /// Refuse to add with vet findings at or above this severity.
        #[arg(long, value_enum, default_value = "medium")]
        fail_on: Severity,
    },
    /// Put moat in an MCP client's config file, or show where it is.
    Client {
        #[command(subcommand)]
        command: ClientCommand,
    },
    /// Print a shell completion script: `moat completions bash >
    /// /etc/bash_completion.d/moat`, `moat completions zsh > ~/.zfunc/_moat`.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print moat's manual page (roff): `moat man | man -l -`, or write one
    /// page per command into DIR (moat.1, moat-serve.1, ...).
    Man {
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
    /// The audit log.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Embed the WIT documentation of a component's tools into the component.
    ///
    /// A WASI preview 1 core module (Go's `GOOS=wasip1` output) is first made
    /// a component of the WIT world, with the WASI adapter of the wasmtime
    /// moat runs.
    Pack {
        component: PathBuf,
        /// The WIT file or directory the component was built from.
        #[arg(long)]
        wit: PathBuf,
        /// The world to read (default: the package's only world).
        #[arg(long)]
        world: Option<String>,
        /// Where to write the packed component (default: replace COMPONENT).
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
}

/// What `serve` demands of components before it serves them.
#[derive(Debug, clap::Args)]
pub(super) struct ServeTrust {
    /// The lock file (default: moat.lock beside the config, when it exists).
    #[arg(long)]
    pub(super) lock: Option<PathBuf>,
    /// Refuse to start without a lock file.
    #[arg(long)]
    pub(super) locked: bool,
    /// Refuse components without a valid signature from a trusted key.
    #[arg(long)]
    pub(super) require_signature: bool,
    /// A trusted public key (PEM), besides the config's [trust] keys; repeatable.
    #[arg(long = "trusted-key", value_name = "FILE")]
    pub(super) trusted_keys: Vec<PathBuf>,
    /// Append one hash-chained JSON line per call to FILE (overrides [audit] path).
    #[arg(long, value_name = "FILE")]
    pub(super) audit: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub(super) enum CatalogCommand {
    /// Vet, sign and push each component `SOURCE` (catalog.toml) names to
    /// REGISTRY/NAME:VERSION, then write the index pinning each by digest,
    /// signed with the same key.
    Publish {
        source: PathBuf,
        /// Where: oci://HOST/PREFIX (plain HTTP only for loopback hosts).
        #[arg(long)]
        registry: String,
        /// The private key to sign with (PKCS#8 PEM, from `moat keygen`).
        #[arg(long)]
        key: PathBuf,
        /// The index to write; its signature goes to INDEX.sig.
        #[arg(long, value_name = "INDEX", default_value = "catalog.json")]
        output: PathBuf,
        /// Refuse to publish with vet findings at or above this severity.
        #[arg(long, value_enum, default_value = "medium")]
        fail_on: Severity,
    },
}

#[derive(Debug, Subcommand)]
pub(super) enum ClientCommand {
    /// Write moat's entry into CLIENT's own config file: merged with what is
    /// there (comments and other servers kept), the old file kept beside it
    /// as FILE.moat-backup-SECONDS.
    ///
    /// Over stdio (the default) the client starts `moat serve --config
    /// CONFIG` by absolute paths; with --http it connects to URL, and the
    /// bearer token is read from the environment variable --token-env names
    /// when the client starts, never written in the file.
    Add {
        #[arg(value_enum)]
        client: crate::clients::Client,
        /// The server's name in the client.
        #[arg(long, default_value = "moat")]
        name: String,
        /// The moat config the client serves (default: ./moat.toml, else
        /// ~/.config/moat/moat.toml).
        #[arg(long, short, env = "MOAT_CONFIG", conflicts_with = "http")]
        config: Option<PathBuf>,
        /// Connect to a moat serving Streamable HTTP at URL instead.
        #[arg(long, value_name = "URL")]
        http: Option<String>,
        /// The environment variable that holds the bearer token (with --http).
        #[arg(long, value_name = "VAR", requires = "http")]
        token_env: Option<String>,
        /// The moat executable the client starts (default: this one).
        #[arg(long, value_name = "PATH", conflicts_with = "http")]
        command: Option<PathBuf>,
        /// The client's config file (default: the client's user-wide file).
        #[arg(long, value_name = "FILE")]
        file: Option<PathBuf>,
        /// Show the change as a diff; write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Replace an entry of the same name that differs.
        #[arg(long)]
        force: bool,
    },
    /// Show each client's config file and the MCP servers it names, moat's marked.
    List,
}

#[derive(Debug, Subcommand)]
pub(super) enum AuditCommand {
    /// Check each log's chain from its first line; name the first edited,
    /// removed or moved line. Several files are several chains (one per
    /// replica), each checked on its own.
    Verify {
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(super) enum OutputFormat {
    Text,
    Json,
}
