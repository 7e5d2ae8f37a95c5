//! The bounds on input nobody vouches for: how much moat reads, and how deep,
//! before it refuses. Each bound is checked before the work it bounds is
//! done, and the error that refuses says which bound, with its value. Unlike
//! [`crate::limits`], which a user sets per component, these are fixed: past
//! them is an attack or a mistake, not a use.
//!
//! Bounds a user sets live with their settings: the HTTP body and the
//! connection, request and time caps in `[http]`, a call's output and memory
//! in `[limits]`.

/// How deep JSON may nest where moat parses it (a message, its arguments, a
/// file vet reads): serde_json's own limit, which moat's errors name.
pub const MAX_JSON_DEPTH: usize = 128;

/// The longest stdio line (one JSON-RPC message): past it, the line is
/// answered with an error and skipped, not buffered.
pub const MAX_LINE_BYTES: usize = 64 * 1024 * 1024;

/// How deep a parameter's or result's types may nest (a record in a list in
/// a record ... counts one level each). Each level is two levels of its JSON
/// Schema, and a `tools/list` answer must stay readable by clients' JSON
/// parsers, which stop at [`MAX_JSON_DEPTH`]: at 32 the deepest schema is
/// about 70 levels down in the answer.
pub const MAX_TYPE_NESTING: usize = 32;

/// Exported functions of one component: tools, resources, templates,
/// prompts and completions together. Far past any real server's (the
/// largest published servers offer about a hundred tools).
pub const MAX_FUNCTIONS: usize = 1024;

/// Bytes of a component's `moat-metadata` section.
pub const MAX_METADATA_BYTES: usize = 1024 * 1024;

/// Bytes of one text of a component's metadata: a description, a title, a
/// parameter's doc, a URI. Published servers' longest descriptions are
/// about 7 KB; a model reads every byte of them on every turn.
pub const MAX_TEXT_BYTES: usize = 16 * 1024;

/// Bytes of a file `moat vet` reads: a `tools/list` answer, a client config.
pub const MAX_VET_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// Definitions vetted in one run, from files or servers (tools, prompts,
/// resources and templates together).
pub const MAX_VET_DEFINITIONS: usize = 100_000;

/// Pages one list of one server may take: a server whose cursor never ends
/// is refused, not followed.
pub const MAX_LIST_PAGES: usize = 1000;

/// Bytes of one string vet reads closely; past it, vet reads this much and
/// says that the rest went unread (padding that pushes an instruction past
/// what a reader sees is itself the attack).
pub const MAX_VET_STRING_BYTES: usize = 256 * 1024;

/// Bytes of a key set or of an authorization server's metadata, fetched
/// for `[http.oauth]`.
pub const MAX_FETCHED_JSON_BYTES: usize = 1024 * 1024;

/// Bytes as a reader says them, exactly: `16 KiB`, `64 MiB`, `16385 bytes`.
pub fn size(bytes: u64) -> String {
    for (unit, name) in [(1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")] {
        if bytes >= unit && bytes.is_multiple_of(unit) {
            return format!("{} {name}", bytes / unit);
        }
    }
    format!("{bytes} bytes")
}
