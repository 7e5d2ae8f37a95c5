//! {{name}}: the tools of `wit/world.wit`, in Rust. wit-bindgen generates the
//! `Guest` trait from the world; each of its methods is one tool.

wit_bindgen::generate!({ world: "{{name}}", path: "wit", generate_all });

use moat::host::content::{Block, Kind, Role};
use moat::host::logging::{Field, Level, log};
use moat::host::progress::report;

const GREETINGS: [(&str, &str); 5] = [
    ("Hello, ", "!"),
    ("Bonjour, ", " !"),
    ("Hallo, ", "!"),
    ("Hola, ", "!"),
    ("Ciao, ", "!"),
];

/// The greetings themselves: plain Rust, tested natively with `cargo test`.
fn greetings(name: &str, languages: u8) -> Result<Vec<String>, String> {
    if !(1..=5).contains(&languages) {
        return Err(format!("languages must be between 1 and 5, not {languages}"));
    }
    Ok(GREETINGS[..languages as usize].iter().map(|(before, after)| format!("{before}{name}{after}")).collect())
}

struct Tool;

impl Guest for Tool {
    fn greet(name: String, languages: u8) -> Result<Vec<String>, String> {
        log(Level::Info, "greeting", &[Field { name: "name".into(), value: name.clone() }]);
        let all = greetings(&name, languages)?;
        for done in 1..=all.len() {
            report(done as f64, Some(all.len() as f64), None);
        }
        Ok(all)
    }

    fn greeting_card(name: String) -> Vec<Message> {
        let text = format!("Write a short, warm greeting card for {name}, in English and French.");
        vec![Message { role: Role::User, content: Block { kind: Kind::Text(text), annotations: None } }]
    }
}

export!(Tool);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn greets_in_as_many_languages_as_asked() {
        assert_eq!(greetings("Ada", 2).unwrap(), ["Hello, Ada!", "Bonjour, Ada !"]);
        assert!(greetings("Ada", 0).is_err());
        assert!(greetings("Ada", 6).is_err());
    }
}
