//! The `moat-metadata` custom section, which every component brings and
//! nobody vouches for: read from arbitrary bytes as a payload, inside a
//! component, and as a whole binary. What moat reads it can write back and
//! read again to the same metadata; nothing panics.

use moat::metadata::{self, SECTION_NAME, ToolMetadata};
use wasm_encoder::{Component, CustomSection};

pub fn check(data: &[u8]) {
    let payload = ToolMetadata::from_bytes(data);
    if let Ok(read) = &payload {
        let again = ToolMetadata::from_bytes(&read.to_bytes()).expect("what moat writes, moat reads");
        assert_eq!(&again, read);
    }

    // The same bytes as the section of a component: read exactly as the payload was.
    let mut component = Component::new();
    component.section(&CustomSection { name: SECTION_NAME.into(), data: data.into() });
    let component = component.finish();
    match (metadata::read(&component), &payload) {
        (Ok(Some(read)), Ok(payload)) => assert_eq!(&read, payload),
        (Err(_), Err(_)) => {}
        (read, payload) => panic!("the section read as {read:?}, its payload as {payload:?}"),
    }
    if let Ok(read) = &payload {
        let embedded = metadata::embed(&component, read).expect("a component moat built takes metadata");
        assert_eq!(metadata::read(&embedded).expect("embedded metadata reads").as_ref(), Some(read));
    }

    // The bytes as a whole binary.
    if let Ok(Some(read)) = metadata::read(data) {
        let embedded = metadata::embed(data, &read).expect("a binary whose section was read takes it again");
        assert_eq!(metadata::read(&embedded).expect("embedded metadata reads"), Some(read));
    }
}
