//! What a running guest may ask through `moat:host/elicitation`,
//! `moat:host/sampling`, `moat:host/roots` and `moat:host/input`: its
//! questions for the user, for the client's model and for the client's
//! roots, as they travel to whoever serves the call and back.
//!
//! Owns: the grant check (no grant, no channel: the question never leaves
//! the call), the cap of [`MAX_ASKS_PER_CALL`] per call and the rules for
//! question keys ([`Asking`]), and the messages ([`Ask`], [`Question`],
//! [`Answer`], [`Reply`], and [`Suspended`], which ends a call whose
//! questions go to the client in its result); what the client declared it
//! can be asked ([`Declared`]), and [`Undeclared`], which ends a call that
//! needs more. The host functions that send
//! them are in [`super::notices`]; asking the client itself, scanning what
//! the model says and the protocol's rules are the MCP layer's.

use tokio::sync::oneshot;

use super::bindings::moat::host::{elicitation, roots, sampling};

/// The most questions (elicitations, samplings and roots together) one call may ask.
pub const MAX_ASKS_PER_CALL: u32 = 8;

/// The longest key a guest may give a question.
pub const MAX_KEY_LEN: usize = 64;

/// Keys starting with this are moat's own: the keys of single questions and
/// of the confirmation moat asks itself.
pub const MOAT_KEY_PREFIX: &str = "moat.";

/// What a component may ask, and how often its call has.
#[derive(Debug, Default, Clone)]
pub struct Asking {
    pub elicitation: bool,
    pub sampling: bool,
    pub roots: bool,
    /// The `https` URL prefixes the user may be sent to (URL elicitation).
    pub urls: Vec<url::Url>,
    asked: u32,
    keys: std::collections::BTreeSet<String>,
}

impl Asking {
    pub fn granted(elicitation: bool, sampling: bool, roots: bool, urls: Vec<url::Url>) -> Asking {
        Asking { elicitation, sampling, roots, urls, ..Asking::default() }
    }

    /// The key of the next single question of `question`'s kind: the same
    /// on every run of a call that asks the same things in the same order.
    pub fn next_key(&self, question: &Question) -> String {
        format!("{MOAT_KEY_PREFIX}{}.{}", question.kind(), self.asked + 1)
    }

    /// Whether `url` may be shown to the user: `https`, no user name or
    /// password in it, and under one of the granted prefixes (same host and
    /// port, its path within the prefix's).
    pub fn url_allowed(&self, url: &str) -> Result<(), String> {
        let parsed = url::Url::parse(url).map_err(|e| format!("`{url}` is not a URL: {e}"))?;
        if parsed.scheme() != "https" {
            return Err(format!("`{url}` is not https: moat sends the user only to https pages"));
        }
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(format!("`{url}` holds a user name or password"));
        }
        let under = |prefix: &url::Url| {
            prefix.host_str() == parsed.host_str()
                && prefix.port_or_known_default() == parsed.port_or_known_default()
                && parsed.path().starts_with(prefix.path())
        };
        if !self.urls.iter().any(under) {
            return Err(format!(
                "`{url}` is under no `elicitation_urls` grant of this component (granted: {})",
                if self.urls.is_empty() {
                    "none".to_string()
                } else {
                    self.urls.iter().map(|u| u.as_str()).collect::<Vec<_>>().join(", ")
                }
            ));
        }
        Ok(())
    }

    /// A guest's own key, checked: the characters and length
    /// `moat:host/input` allows, not moat's prefix.
    pub fn guest_key(key: &str) -> Result<(), String> {
        if key.is_empty() || key.len() > MAX_KEY_LEN {
            return Err(format!("a question's key has 1 to {MAX_KEY_LEN} characters, not {}", key.len()));
        }
        if let Some(c) = key.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))) {
            return Err(format!(
                "the key `{key}` holds {c:?}: keys are ASCII letters, digits, `_`, `-` and `.`"
            ));
        }
        if key.starts_with(MOAT_KEY_PREFIX) {
            return Err(format!("the key `{key}` starts with `{MOAT_KEY_PREFIX}`, which is moat's"));
        }
        Ok(())
    }

    /// Lets `question` under `key` through when its grant is there, the key
    /// is new in this call and the cap is not reached.
    pub fn admit(&mut self, key: &str, question: &Question) -> Result<(), String> {
        let kind = question.kind();
        let granted = match question {
            Question::Elicit { .. } | Question::ElicitUrl { .. } => self.elicitation,
            Question::Sample(_) => self.sampling,
            Question::ListRoots => self.roots,
        };
        if !granted {
            return Err(format!(
                "moat:host/{kind} is not granted to this component (its grants need `{kind} = true`)"
            ));
        }
        if let Question::ElicitUrl { url, .. } = question {
            self.url_allowed(url)?;
        }
        if self.asked >= MAX_ASKS_PER_CALL {
            return Err(format!("this call has asked {MAX_ASKS_PER_CALL} times, the most one call may"));
        }
        if !self.keys.insert(key.to_string()) {
            return Err(format!("this call already asked a question under the key `{key}`"));
        }
        self.asked += 1;
        Ok(())
    }
}

/// A guest's question.
#[derive(Debug, Clone)]
pub enum Question {
    Elicit {
        message: String,
        requested_schema: String,
    },
    /// A page for the user to open (URL-mode elicitation).
    ElicitUrl {
        message: String,
        url: String,
    },
    Sample(sampling::Request),
    ListRoots,
}

impl Question {
    /// The name of its interface and grant.
    pub fn kind(&self) -> &'static str {
        match self {
            Question::Elicit { .. } | Question::ElicitUrl { .. } => "elicitation",
            Question::Sample(_) => "sampling",
            Question::ListRoots => "roots",
        }
    }
}

/// The answer to a [`Question`].
#[derive(Debug)]
pub enum Answer {
    Elicited(elicitation::Answer),
    Sampled(Box<sampling::Reply>),
    Roots(Vec<roots::Root>),
}

/// Questions on their way to the client, each under its key, and where
/// their answers go.
#[derive(Debug)]
pub struct Ask {
    pub questions: Vec<(String, Question)>,
    pub reply: oneshot::Sender<Reply>,
}

/// What comes back for an [`Ask`].
#[derive(Debug)]
pub enum Reply {
    /// One answer, or the reason there is none, per question, in order.
    Answers(Vec<Result<Answer, String>>),
    /// The call stops here: its questions go to the client in its result,
    /// and the client calls again with the answers (2026-07-28).
    Suspend,
}

/// What the client declared it can be asked (MCP client capabilities).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Declared {
    pub elicitation: bool,
    pub sampling: bool,
    pub roots: bool,
}

/// The error that ends a guest which needs capabilities the client did not
/// declare (`moat:host/input.require`), by name.
#[derive(Debug, thiserror::Error)]
#[error("the client did not declare {}, which this call needs", .0.join(", "))]
pub struct Undeclared(pub Vec<&'static str>);

/// The error that ends a guest whose questions go to the client in the
/// result ([`Reply::Suspend`]): the call is made again with the answers.
#[derive(Debug, thiserror::Error)]
#[error("the call stopped to wait for the client's answers")]
pub struct Suspended;

#[cfg(test)]
mod tests {
    use super::*;

    fn elicit() -> Question {
        Question::Elicit { message: "name?".into(), requested_schema: "{}".into() }
    }

    #[test]
    fn no_grant_no_question_and_the_cap_holds() {
        let mut none = Asking::granted(false, false, false, vec![]);
        let error = none.admit("a", &elicit()).unwrap_err();
        assert!(error.contains("`elicitation = true`"), "{error}");
        assert!(none.admit("r", &Question::ListRoots).unwrap_err().contains("`roots = true`"));
        let mut some = Asking::granted(true, false, false, vec![]);
        for i in 0..MAX_ASKS_PER_CALL {
            some.admit(&format!("k{i}"), &elicit()).unwrap();
        }
        assert!(some.admit("last", &elicit()).unwrap_err().contains("asked 8 times"));
    }

    #[test]
    fn the_user_is_sent_only_to_granted_https_pages() {
        let prefix = url::Url::parse("https://login.example.com/oauth/").unwrap();
        let mut asking = Asking::granted(true, false, false, vec![prefix]);
        let page = |url: &str| Question::ElicitUrl { message: "Sign in".into(), url: url.into() };
        asking.admit("a", &page("https://login.example.com/oauth/start?state=1")).unwrap();
        for (url, why) in [
            ("http://login.example.com/oauth/start", "not https"),
            ("https://login.example.com/other", "under no `elicitation_urls`"),
            ("https://login.example.com.evil.test/oauth/", "under no"),
            ("https://login.example.com:8443/oauth/", "under no"),
            ("https://me:pw@login.example.com/oauth/", "user name or password"),
            ("javascript:alert(1)", "not https"),
        ] {
            let error = asking.admit(url, &page(url)).unwrap_err();
            assert!(error.contains(why), "{url}: {error}");
        }
        let mut none = Asking::granted(true, false, false, vec![]);
        assert!(
            none.admit("b", &page("https://login.example.com/oauth/")).unwrap_err().contains("granted: none")
        );
    }

    #[test]
    fn a_key_is_asked_once_and_moats_keys_are_moats() {
        let mut asking = Asking::granted(true, false, false, vec![]);
        asking.admit("user_name", &elicit()).unwrap();
        assert!(asking.admit("user_name", &elicit()).unwrap_err().contains("already asked"));
        assert_eq!(asking.next_key(&elicit()), "moat.elicitation.2");
        assert!(Asking::guest_key("moat.confirm").unwrap_err().contains("moat's"));
        assert!(Asking::guest_key("").is_err());
        assert!(Asking::guest_key("a b").unwrap_err().contains("' '"));
        assert!(Asking::guest_key(&"k".repeat(65)).is_err());
        Asking::guest_key("step-1.name_2").unwrap();
    }
}
