//! The names a definition may use freely (its own tool, its siblings, their
//! parameters), kept for constant-time look-up: vet asks for every
//! identifier of every string, and a server can list thousands of tools.

use std::collections::HashSet;

/// Names, lowercase and with `-` read as `_`: each in full, its last dotted
/// part, and each `_`-separated head and tail of that part (so that
/// `get_attachments` finds its sibling `confluence_get_attachments`).
#[derive(Debug, Default, Clone)]
pub struct NameSet {
    full: HashSet<String>,
    short: HashSet<String>,
    parts: HashSet<String>,
    names: Vec<String>,
}

fn loose(name: &str) -> String {
    name.to_lowercase().replace('-', "_")
}

impl NameSet {
    pub fn new<S: AsRef<str>>(names: impl IntoIterator<Item = S>) -> NameSet {
        let mut set = NameSet::default();
        for name in names {
            set.insert(name.as_ref());
        }
        set
    }

    pub fn insert(&mut self, name: &str) {
        let name = loose(name);
        let short = name.rsplit('.').next().unwrap_or(&name).to_string();
        for (i, _) in short.match_indices('_') {
            self.parts.insert(short[..i].to_string());
            self.parts.insert(short[i + 1..].to_string());
        }
        self.short.insert(short);
        self.full.insert(name.clone());
        self.names.push(name);
    }

    /// `word` is one of the names, in full or as its last dotted part.
    pub fn knows(&self, word: &str) -> bool {
        let word = loose(word);
        let short = word.rsplit('.').next().unwrap_or(&word);
        self.full.contains(&word) || self.short.contains(&word) || self.short.contains(short)
    }

    /// `word` is a name without its prefix or suffix (`get_attachments`).
    pub fn knows_part(&self, word: &str) -> bool {
        self.parts.contains(&loose(word))
    }

    /// Every name as inserted (lowercase).
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.names.iter().map(String::as_str)
    }
}

/// A definition's names: those shared by its server (built once for a
/// whole list) and its own (its name and parameters).
#[derive(Debug, Clone, Copy)]
pub struct Names<'a> {
    pub shared: &'a NameSet,
    pub own: &'a NameSet,
}

impl Names<'_> {
    pub fn knows(&self, word: &str) -> bool {
        self.shared.knows(word) || self.own.knows(word)
    }

    pub fn knows_part(&self, word: &str) -> bool {
        self.shared.knows_part(word) || self.own.knows_part(word)
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.own.iter().chain(self.shared.iter())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_found_whole_short_and_without_their_prefix() {
        let set = NameSet::new(["Confluence_Get_Attachments", "db.list-tables"]);
        assert!(
            set.knows("confluence_get_attachments")
                && set.knows("list_tables")
                && set.knows("db.list_tables")
        );
        assert!(set.knows_part("get_attachments") && set.knows_part("confluence"));
        assert!(!set.knows("send_email") && !set.knows_part("send_email"));
    }
}
