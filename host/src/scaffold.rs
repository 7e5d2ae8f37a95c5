//! `moat new NAME --lang rust|python|js|go [--no-wasi]`: a tool project that
//! builds, passes its test and serves on the first try.
//!
//! Owns the templates (`host/templates/new/`, compiled into the binary), the
//! rules for a project name (it becomes the WIT world, the component and the
//! tool prefix, so it must be all three), and writing the files. Every
//! project gets the same WIT world, `moat.toml`, `test.sh` and README, and the
//! host interfaces as `wit/deps/moat-host/host.wit` (this moat's own copy).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

/// The languages a project can be written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Language {
    Rust,
    Python,
    Js,
    Go,
}

impl Language {
    fn label(self) -> &'static str {
        match self {
            Language::Rust => "Rust (wit-bindgen, cargo)",
            Language::Python => "Python (componentize-py)",
            Language::Js => "JavaScript (componentize-js)",
            Language::Go => "Go (wit-bindgen's Go generator, GOOS=wasip1)",
        }
    }
}

/// A file to write: its path in the project, its template, whether it runs.
struct File {
    path: &'static str,
    template: &'static str,
    executable: bool,
}

const fn file(path: &'static str, template: &'static str) -> File {
    File { path, template, executable: false }
}

const fn script(path: &'static str, template: &'static str) -> File {
    File { path, template, executable: true }
}

const COMMON: &[File] = &[
    file("wit/world.wit", include_str!("../templates/new/common/world.wit")),
    file("wit/deps/moat-host/host.wit", include_str!("../../wit/host/host.wit")),
    file("moat.toml", include_str!("../templates/new/common/moat.toml")),
    script("test.sh", include_str!("../templates/new/common/test.sh")),
    file("README.md", include_str!("../templates/new/common/README.md")),
    file(".gitignore", include_str!("../templates/new/common/gitignore")),
];

const RUST: &[File] = &[
    file("Cargo.toml", include_str!("../templates/new/rust/Cargo.toml")),
    file("src/lib.rs", include_str!("../templates/new/rust/lib.rs")),
    script("build.sh", include_str!("../templates/new/rust/build.sh")),
];

const PYTHON: &[File] = &[
    file("app.py", include_str!("../templates/new/python/app.py")),
    file("requirements.txt", include_str!("../templates/new/python/requirements.txt")),
    script("build.sh", include_str!("../templates/new/python/build.sh")),
];

const GO: &[File] = &[
    file("export_wit_world/tools.go", include_str!("../templates/new/go/export_wit_world/tools.go")),
    script("build.sh", include_str!("../templates/new/go/build.sh")),
];

const JS: &[File] = &[
    file("app.js", include_str!("../templates/new/js/app.js")),
    file("package.json", include_str!("../templates/new/js/package.json")),
    script("build.sh", include_str!("../templates/new/js/build.sh")),
];

/// Words WIT reserves: a world cannot be named after one without `%`.
const WIT_KEYWORDS: &[&str] = &[
    "as",
    "async",
    "bool",
    "borrow",
    "char",
    "constructor",
    "enum",
    "export",
    "f32",
    "f64",
    "flags",
    "from",
    "func",
    "future",
    "import",
    "include",
    "interface",
    "list",
    "option",
    "own",
    "package",
    "record",
    "resource",
    "result",
    "s16",
    "s32",
    "s64",
    "s8",
    "static",
    "stream",
    "string",
    "tuple",
    "type",
    "u16",
    "u32",
    "u64",
    "u8",
    "use",
    "variant",
    "with",
    "world",
];

/// A project name must be a WIT identifier (lower-case words of letters and
/// digits joined by `-`, each word starting with a letter), which also makes
/// it a component name and a crate name.
pub fn validate_name(name: &str) -> Result<()> {
    let words_ok = !name.is_empty()
        && name.len() <= 64
        && name.split('-').all(|word| {
            word.starts_with(|c: char| c.is_ascii_lowercase())
                && word.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        });
    if !words_ok {
        bail!(
            "`{name}` cannot name a tool project: use lower-case words of letters and digits joined by `-`, \
             each starting with a letter (e.g. `word-count`)"
        );
    }
    if WIT_KEYWORDS.contains(&name) {
        bail!("`{name}` is a WIT keyword; choose another name (e.g. `my-{name}`)");
    }
    Ok(())
}

/// Writes project `name` in `language` into `dir` (which must not exist or be
/// empty); returns the files written. With `no_wasi` (Rust only) the tool is
/// built for wasm32-unknown-unknown, so that its component imports nothing
/// from WASI.
pub fn create(name: &str, language: Language, no_wasi: bool, dir: &Path) -> Result<Vec<PathBuf>> {
    validate_name(name)?;
    if no_wasi && language != Language::Rust {
        bail!(
            "--no-wasi is for Rust projects: a {} component carries an interpreter that needs WASI",
            language.label()
        );
    }
    if dir.exists()
        && dir.read_dir().with_context(|| format!("cannot read {}", dir.display()))?.next().is_some()
    {
        bail!(
            "{} exists and is not empty: moat new writes only into a new or empty directory",
            dir.display()
        );
    }
    let own = match language {
        Language::Rust => RUST,
        Language::Python => PYTHON,
        Language::Js => JS,
        Language::Go => GO,
    };
    let mut layout = match language {
        Language::Rust => "- `src/lib.rs` implements them; `cargo test` runs its unit tests natively.\n",
        Language::Python => "- `app.py` implements them; `requirements.txt` pins componentize-py.\n",
        Language::Js => "- `app.js` implements them; `package.json` pins componentize-js.\n",
        Language::Go => {
            "- `export_wit_world/tools.go` implements them (the package wit-bindgen's Go generator\n  \
             expects the world's exports in); `build.sh` generates the bindings into `build/gen`,\n  \
             builds a `GOOS=wasip1` module and `moat pack` makes it a component.\n"
        }
    }
    .to_string();
    if no_wasi {
        layout.push_str(
            "- `build.sh` builds for `wasm32-unknown-unknown`: the component imports nothing from\n  \
             WASI. `println!` prints nothing (log through `moat:host/logging`) and\n  \
             `SystemTime::now()` panics.\n",
        );
    }
    let unit_tests = match language {
        Language::Rust => "cargo test --quiet\n",
        _ => "",
    };
    let crate_name = name.replace('-', "_");
    let (target, cargo_config, target_note) = if no_wasi {
        (
            "wasm32-unknown-unknown",
            " \\\n    --config 'target.wasm32-unknown-unknown.linker = \"wasm-component-ld\"'",
            "# wasm32-unknown-unknown, linked into a component by wasm-component-ld (the Rust\n\
             # toolchain's linker for wasm32-wasip2): the component imports nothing from WASI.\n",
        )
    } else {
        ("wasm32-wasip2", "", "")
    };
    let mut written = Vec::new();
    for file in COMMON.iter().chain(own) {
        let text = file
            .template
            .replace("{{name}}", name)
            .replace("{{crate}}", &crate_name)
            .replace("{{language}}", language.label())
            .replace("{{layout}}", &layout)
            .replace("{{target}}", target)
            .replace("{{cargo_config}}", cargo_config)
            .replace("{{target_note}}", target_note)
            .replace("{{unit_tests}}", unit_tests);
        let path = dir.join(file.path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).with_context(|| format!("cannot create {}", parent.display()))?;
        }
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
        if file.executable {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))?;
        }
        written.push(path);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_must_be_wit_identifiers() {
        for good in ["greeter", "word-count", "v2-tool"] {
            validate_name(good).unwrap();
        }
        for bad in ["", "Greeter", "word_count", "2fast", "a--b", "-a", "tool-", "list", "a.b"] {
            assert!(validate_name(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn every_placeholder_is_filled_and_the_host_wit_is_this_hosts() {
        for (language, no_wasi) in [
            (Language::Rust, false),
            (Language::Rust, true),
            (Language::Python, false),
            (Language::Js, false),
            (Language::Go, false),
        ] {
            let dir = tempfile::tempdir().unwrap();
            let files = create("word-count", language, no_wasi, dir.path()).unwrap();
            for path in &files {
                let text = std::fs::read_to_string(path).unwrap();
                assert!(!text.contains("{{"), "{} keeps a placeholder", path.display());
            }
            let host = std::fs::read_to_string(dir.path().join("wit/deps/moat-host/host.wit")).unwrap();
            assert_eq!(host, include_str!("../../wit/host/host.wit"));
            assert!(
                create("word-count", language, no_wasi, dir.path()).is_err(),
                "a non-empty directory is refused"
            );
        }
    }

    #[test]
    fn no_wasi_is_for_rust_alone_and_changes_only_the_build() {
        for language in [Language::Python, Language::Js, Language::Go] {
            let dir = tempfile::tempdir().unwrap();
            let refused = create("word-count", language, true, dir.path()).unwrap_err().to_string();
            assert!(refused.contains("--no-wasi is for Rust projects"), "{refused}");
        }
        let (wasi, bare) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        create("word-count", Language::Rust, false, wasi.path()).unwrap();
        create("word-count", Language::Rust, true, bare.path()).unwrap();
        let build = |dir: &Path| std::fs::read_to_string(dir.join("build.sh")).unwrap();
        assert!(build(wasi.path()).contains("cargo build --quiet --target wasm32-wasip2 --release\n"));
        assert!(build(bare.path()).contains(
            "cargo build --quiet --target wasm32-unknown-unknown --release \\\n    \
             --config 'target.wasm32-unknown-unknown.linker = \"wasm-component-ld\"'\n"
        ));
        assert!(build(bare.path()).contains("target}/wasm32-unknown-unknown/release/word_count.wasm"));
        for same in ["src/lib.rs", "wit/world.wit", "Cargo.toml", "test.sh", "moat.toml"] {
            let read = |dir: &Path| std::fs::read_to_string(dir.join(same)).unwrap();
            assert_eq!(read(wasi.path()), read(bare.path()), "{same} differs");
        }
    }
}
