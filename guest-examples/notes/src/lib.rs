//! Notes as a moat tool: files under /notes, the one directory the user grants.
//! Without that grant every call fails: the tool sees no filesystem at all.

wit_bindgen::generate!({ world: "notes", path: "wit" });

use std::path::PathBuf;

struct Notes;

const DIR: &str = "/notes";

/// A note's file. Names are plain words, so no path can be built from one.
fn file(name: &str) -> Result<PathBuf, String> {
    let valid = !name.trim().is_empty()
        && name.len() <= 100
        && name.chars().all(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_'));
    if !valid {
        return Err(format!("`{name}` is not a note name: use letters, digits, spaces, `-` and `_`"));
    }
    Ok(PathBuf::from(DIR).join(format!("{name}.md")))
}

fn explain(error: std::io::Error) -> String {
    match error.kind() {
        std::io::ErrorKind::NotFound => "no such note".into(),
        _ => format!("{error} (is a directory granted at {DIR}?)"),
    }
}

impl Guest for Notes {
    fn list_notes() -> Result<Vec<String>, String> {
        let entries = std::fs::read_dir(DIR).map_err(explain)?;
        let mut names: Vec<String> = entries
            .filter_map(|entry| entry.ok())
            .filter_map(|entry| entry.file_name().to_str()?.strip_suffix(".md").map(str::to_string))
            .collect();
        names.sort();
        Ok(names)
    }

    fn read_note(name: String) -> Result<String, String> {
        std::fs::read_to_string(file(&name)?).map_err(explain)
    }

    fn write_note(name: String, text: String) -> Result<(), String> {
        std::fs::write(file(&name)?, text).map_err(explain)
    }

    fn delete_note(name: String) -> Result<(), String> {
        std::fs::remove_file(file(&name)?).map_err(explain)
    }
}

export!(Notes);
