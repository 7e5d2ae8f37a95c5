//! WIT doc comments as `moat pack` reads them (description, `@param`,
//! `@title`, annotation and serving tags): never a panic, and what is read
//! survives the section's format unchanged.

use moat::metadata::{self, FORMAT_VERSION, ToolMetadata};

pub fn check(data: &[u8]) {
    let Ok(docs) = std::str::from_utf8(data) else { return };
    let Ok(parsed) = metadata::parse_doc_comment(docs) else { return };
    let mut whole =
        ToolMetadata { version: FORMAT_VERSION, world: "fuzz:docs/docs".into(), ..Default::default() };
    whole.functions.insert("f".into(), parsed);
    let again = ToolMetadata::from_bytes(&whole.to_bytes()).expect("what pack writes, moat reads");
    assert_eq!(again, whole);
}
