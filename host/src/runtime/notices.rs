//! The host interfaces of `wit/host/host.wit`, implemented on the call's
//! [`NoticeSink`]: `moat:host/logging` and `moat:host/progress` (what a
//! running guest may tell the client, and the caps on it), and
//! `moat:host/elicitation`, `moat:host/sampling`, `moat:host/roots` and
//! `moat:host/input` (its questions, which wait for their answers or stop
//! the call; what may be asked is [`super::asks`]'s).
//! (`moat:host/content`, types only, is linked here too; its values are
//! read by [`crate::content`].)
//!
//! A guest's log messages and progress reports become [`Notice`]s on a channel
//! the MCP layer drains into `notifications/message` and
//! `notifications/progress`. Everything is decided here, before a notice leaves
//! the call: the client's minimum log level, whether the client asked for
//! progress at all, a token bucket of notices per second, a cap on each
//! notice's bytes, and MCP's rule that progress only increases. The guest is
//! never told a notice was dropped (the functions cannot fail); the client is,
//! at the end of the call, by [`NoticeSink::finish`].

use std::time::Instant;

use tokio::sync::mpsc;

use crate::limits::Limits;

use super::asks::{Answer, Ask, Asking, Declared, Question, Reply, Suspended, Undeclared};
pub use super::bindings::moat::host::logging::Level;
use super::bindings::moat::host::{content, elicitation, input, logging, progress, roots, sampling};

/// Most fields one log message may carry; the rest are dropped.
const MAX_FIELDS: usize = 32;

/// Marks text the host cut to fit [`Limits::notification_bytes`].
const TRUNCATED: &str = "… [truncated by moat]";

/// What a guest sent for the client.
#[derive(Debug, Clone, PartialEq)]
pub enum Notice {
    Log {
        level: Level,
        message: String,
        fields: Vec<(String, String)>,
    },
    Progress {
        progress: f64,
        total: Option<f64>,
        message: Option<String>,
    },
    /// Sent by the host after the call: notices the caps dropped.
    Dropped {
        rate: u64,
    },
    /// Sent by the host after the call: output scanning found these in the
    /// result (also marked in the result itself).
    Scanned {
        findings: Vec<crate::findings::Finding>,
        withheld: bool,
    },
}

/// Where a call's notices go, and what the client asked for.
#[derive(Debug, Clone)]
pub struct NoticeRoute {
    pub sender: mpsc::UnboundedSender<Notice>,
    /// Log messages below this level are not sent; `None` sends none.
    pub min_level: Option<Level>,
    /// Whether the request carried a progress token.
    pub progress: bool,
    /// The last progress the host itself reported on the token (while the
    /// call waited for its component): the guest's reports must exceed it.
    pub progress_floor: Option<f64>,
    /// Where the guest's questions for the user and the model go
    /// ([`super::asks`]); `None` when nobody can answer them.
    pub asks: Option<mpsc::UnboundedSender<Ask>>,
    /// What the client declared it can be asked.
    pub declared: Declared,
}

/// The per-call state behind the host interfaces.
#[derive(Debug)]
pub struct NoticeSink {
    route: Option<NoticeRoute>,
    /// What the component may ask, and how often it has ([`super::asks`]).
    pub(super) asking: Asking,
    max_bytes: usize,
    bucket: TokenBucket,
    last_progress: Option<f64>,
    dropped_by_rate: u64,
}

impl NoticeSink {
    pub fn new(route: Option<NoticeRoute>, limits: &Limits) -> Self {
        let last_progress = route.as_ref().and_then(|route| route.progress_floor);
        NoticeSink {
            route,
            asking: Default::default(),
            max_bytes: usize::try_from(limits.notification_bytes).unwrap_or(usize::MAX),
            bucket: TokenBucket::new(limits.notifications_per_second),
            last_progress,
            dropped_by_rate: 0,
        }
    }

    /// Tells the client how many notices the rate cap dropped, if any.
    pub fn finish(&mut self) {
        if let Some(route) = &self.route
            && self.dropped_by_rate > 0
        {
            let _ = route.sender.send(Notice::Dropped { rate: self.dropped_by_rate });
        }
    }

    fn send(&mut self, notice: Notice) {
        let Some(route) = &self.route else { return };
        if !self.bucket.take() {
            self.dropped_by_rate += 1;
            return;
        }
        // A closed channel means the client is gone: nothing to tell.
        let _ = route.sender.send(notice);
    }

    fn log(&mut self, level: Level, message: String, fields: Vec<logging::Field>) {
        let Some(route) = &self.route else { return };
        if route.min_level.is_none_or(|min| (level as u8) < (min as u8)) {
            return;
        }
        let mut budget = self.max_bytes;
        let message = fit(message, &mut budget);
        let fields = fields
            .into_iter()
            .take(MAX_FIELDS)
            .map_while(|field| {
                if budget == 0 {
                    return None;
                }
                let name = fit(field.name, &mut budget);
                Some((name, fit(field.value, &mut budget)))
            })
            .collect();
        self.send(Notice::Log { level, message, fields });
    }

    fn progress(&mut self, progress: f64, total: Option<f64>, message: Option<String>) {
        let wanted = self.route.as_ref().is_some_and(|route| route.progress);
        let finite = progress.is_finite() && total.is_none_or(f64::is_finite);
        let increases = self.last_progress.is_none_or(|last| progress > last);
        if !wanted || !finite || !increases {
            return;
        }
        self.last_progress = Some(progress);
        let mut budget = self.max_bytes;
        let message = message.map(|m| fit(m, &mut budget));
        self.send(Notice::Progress { progress, total, message });
    }
}

/// `text` cut to what is left of `budget` (at a character boundary, marked),
/// and the budget reduced by what was kept.
fn fit(mut text: String, budget: &mut usize) -> String {
    if text.len() <= *budget {
        *budget -= text.len();
        return text;
    }
    text.truncate(text.floor_char_boundary(budget.saturating_sub(TRUNCATED.len())));
    text.push_str(TRUNCATED);
    *budget = 0;
    text
}

/// Notices per second with a burst of one second's worth.
#[derive(Debug)]
struct TokenBucket {
    rate: f64,
    tokens: f64,
    refilled: Instant,
}

impl TokenBucket {
    fn new(per_second: u32) -> Self {
        let rate = f64::from(per_second);
        TokenBucket { rate, tokens: rate, refilled: Instant::now() }
    }

    fn take(&mut self) -> bool {
        let now = Instant::now();
        let elapsed = now.duration_since(self.refilled).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate).min(self.rate);
        self.refilled = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

impl logging::Host for NoticeSink {
    fn log(&mut self, level: Level, message: String, fields: Vec<logging::Field>) {
        NoticeSink::log(self, level, message, fields);
    }
}

impl progress::Host for NoticeSink {
    fn report(&mut self, progress: f64, total: Option<f64>, message: Option<String>) {
        self.progress(progress, total, message);
    }
}

/// `moat:host/content` holds types only: nothing to implement, but linking
/// it lets a tool's world use them.
impl content::Host for NoticeSink {}

impl NoticeSink {
    /// Hands `questions` (each under its key) to whoever serves the call and
    /// waits for the answers; each question first passes [`Asking`]. A
    /// question refused there gets its reason and is not sent. An `Err` is
    /// the end of the guest: the call stops for a client's answers.
    async fn ask(
        &mut self,
        questions: Vec<(String, Question)>,
    ) -> wasmtime::Result<Vec<Result<Answer, String>>> {
        let mut answers: Vec<Option<Result<Answer, String>>> = Vec::with_capacity(questions.len());
        let mut admitted = Vec::new();
        for (key, question) in questions {
            match self.asking.admit(&key, &question) {
                Ok(()) => {
                    answers.push(None);
                    admitted.push((key, question));
                }
                Err(reason) => answers.push(Some(Err(reason))),
            }
        }
        let mut sent = if admitted.is_empty() {
            Vec::new()
        } else {
            match self.route.as_ref().and_then(|route| route.asks.clone()) {
                None => {
                    let nobody =
                        "nobody can answer: this call was not made by an MCP client that can be asked";
                    admitted.iter().map(|_| Err(nobody.to_string())).collect()
                }
                Some(asks) => {
                    let count = admitted.len();
                    let (reply, answer) = tokio::sync::oneshot::channel();
                    match asks.send(Ask { questions: admitted, reply }) {
                        Err(_) => (0..count).map(|_| Err("the client is gone".to_string())).collect(),
                        Ok(()) => match answer.await {
                            Ok(Reply::Answers(answers)) => answers,
                            Ok(Reply::Suspend) => return Err(wasmtime::Error::new(Suspended)),
                            Err(_) => (0..count)
                                .map(|_| Err("the question was dropped unanswered".to_string()))
                                .collect(),
                        },
                    }
                }
            }
        }
        .into_iter();
        Ok(answers
            .into_iter()
            .map(|answer| {
                answer
                    .unwrap_or_else(|| sent.next().unwrap_or_else(|| Err("the host lost the answer".into())))
            })
            .collect())
    }

    /// One question under a key moat chooses.
    async fn ask_one(&mut self, question: Question) -> wasmtime::Result<Result<Answer, String>> {
        let key = self.asking.next_key(&question);
        let mut answers = self.ask(vec![(key, question)]).await?;
        Ok(answers.pop().unwrap_or_else(|| Err("the host lost the answer".into())))
    }
}

const WRONG_KIND: &str = "the host answered with the wrong kind of answer";

impl elicitation::Host for NoticeSink {
    async fn ask(
        &mut self,
        message: String,
        requested_schema: String,
    ) -> wasmtime::Result<Result<elicitation::Answer, String>> {
        Ok(match self.ask_one(Question::Elicit { message, requested_schema }).await? {
            Ok(Answer::Elicited(answer)) => Ok(answer),
            Ok(_) => Err(WRONG_KIND.into()),
            Err(reason) => Err(reason),
        })
    }

    async fn ask_url(
        &mut self,
        message: String,
        url: String,
    ) -> wasmtime::Result<Result<elicitation::Action, String>> {
        Ok(match self.ask_one(Question::ElicitUrl { message, url }).await? {
            Ok(Answer::Elicited(answer)) => Ok(answer.action),
            Ok(_) => Err(WRONG_KIND.into()),
            Err(reason) => Err(reason),
        })
    }
}

impl sampling::Host for NoticeSink {
    async fn create_message(
        &mut self,
        request: sampling::Request,
    ) -> wasmtime::Result<Result<sampling::Reply, String>> {
        Ok(match self.ask_one(Question::Sample(request)).await? {
            Ok(Answer::Sampled(reply)) => Ok(*reply),
            Ok(_) => Err(WRONG_KIND.into()),
            Err(reason) => Err(reason),
        })
    }
}

impl roots::Host for NoticeSink {
    async fn list_roots(&mut self) -> wasmtime::Result<Result<Vec<roots::Root>, String>> {
        Ok(match self.ask_one(Question::ListRoots).await? {
            Ok(Answer::Roots(roots)) => Ok(roots),
            Ok(_) => Err(WRONG_KIND.into()),
            Err(reason) => Err(reason),
        })
    }
}

impl input::Host for NoticeSink {
    fn require(&mut self, capabilities: Vec<input::Capability>) -> wasmtime::Result<()> {
        let declared = self.route.as_ref().map(|route| route.declared).unwrap_or_default();
        let mut missing: Vec<&'static str> = Vec::new();
        for capability in capabilities {
            let (has, name) = match capability {
                input::Capability::Elicitation => (declared.elicitation, "elicitation"),
                input::Capability::Sampling => (declared.sampling, "sampling"),
                input::Capability::Roots => (declared.roots, "roots"),
            };
            if !has && !missing.contains(&name) {
                missing.push(name);
            }
        }
        if missing.is_empty() { Ok(()) } else { Err(wasmtime::Error::new(Undeclared(missing))) }
    }

    async fn ask_all(
        &mut self,
        questions: Vec<input::Keyed>,
    ) -> wasmtime::Result<Result<Vec<Result<input::Response, String>>, String>> {
        let mut keyed = Vec::with_capacity(questions.len());
        for input::Keyed { key, question } in questions {
            if let Err(reason) = Asking::guest_key(&key) {
                return Ok(Err(reason));
            }
            if keyed.iter().any(|(k, _)| *k == key) {
                return Ok(Err(format!("the key `{key}` is given to two questions")));
            }
            let question = match question {
                input::Question::Elicit(form) => {
                    Question::Elicit { message: form.message, requested_schema: form.requested_schema }
                }
                input::Question::ElicitUrl(page) => {
                    Question::ElicitUrl { message: page.message, url: page.url }
                }
                input::Question::Sample(request) => Question::Sample(request),
                input::Question::ListRoots => Question::ListRoots,
            };
            keyed.push((key, question));
        }
        let answers = self.ask(keyed).await?;
        Ok(Ok(answers
            .into_iter()
            .map(|answer| {
                answer.map(|answer| match answer {
                    Answer::Elicited(answer) => input::Response::Elicited(answer),
                    Answer::Sampled(reply) => input::Response::Sampled(*reply),
                    Answer::Roots(roots) => input::Response::Roots(roots),
                })
            })
            .collect()))
    }
}

impl Level {
    /// The level's name as MCP spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Notice => "notice",
            Level::Warning => "warning",
            Level::Error => "error",
            Level::Critical => "critical",
            Level::Alert => "alert",
            Level::Emergency => "emergency",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sink(
        min_level: Option<Level>,
        progress: bool,
        limits: &Limits,
    ) -> (NoticeSink, mpsc::UnboundedReceiver<Notice>) {
        let (sender, receiver) = mpsc::unbounded_channel();
        (
            NoticeSink::new(
                Some(NoticeRoute {
                    sender,
                    min_level,
                    progress,
                    progress_floor: None,
                    asks: None,
                    declared: Default::default(),
                }),
                limits,
            ),
            receiver,
        )
    }

    fn drain(receiver: &mut mpsc::UnboundedReceiver<Notice>) -> Vec<Notice> {
        std::iter::from_fn(|| receiver.try_recv().ok()).collect()
    }

    #[test]
    fn below_the_clients_level_nothing_is_sent() {
        let (mut sink, mut rx) = sink(Some(Level::Warning), false, &Limits::default());
        sink.log(Level::Info, "quiet".into(), vec![]);
        sink.log(Level::Error, "loud".into(), vec![]);
        let (mut off, mut off_rx) = self::sink(None, false, &Limits::default());
        off.log(Level::Emergency, "nobody asked".into(), vec![]);
        assert_eq!(
            drain(&mut rx),
            vec![Notice::Log { level: Level::Error, message: "loud".into(), fields: vec![] }]
        );
        assert!(drain(&mut off_rx).is_empty());
    }

    #[test]
    fn a_message_and_its_fields_share_one_byte_budget() {
        let limits = Limits { notification_bytes: 40, ..Limits::default() };
        let (mut sink, mut rx) = sink(Some(Level::Debug), false, &limits);
        let field = |n: &str, v: &str| logging::Field { name: n.into(), value: v.into() };
        sink.log(Level::Info, "é".repeat(30), vec![field("k", "v")]);
        let Notice::Log { message, fields, .. } = drain(&mut rx).remove(0) else { panic!() };
        assert!(message.ends_with(TRUNCATED) && message.len() <= 40, "{message}");
        assert!(fields.is_empty(), "no budget left for fields: {fields:?}");
    }

    #[test]
    fn the_rate_cap_drops_and_counts() {
        let limits = Limits { notifications_per_second: 5, ..Limits::default() };
        let (mut sink, mut rx) = sink(Some(Level::Debug), false, &limits);
        for i in 0..100 {
            sink.log(Level::Info, format!("{i}"), vec![]);
        }
        sink.finish();
        let notices = drain(&mut rx);
        // The burst (5) plus whatever refilled while the loop ran: far fewer than 100.
        let sent = notices.iter().filter(|n| matches!(n, Notice::Log { .. })).count();
        assert!((5..20).contains(&sent), "{sent}");
        assert_eq!(notices.last(), Some(&Notice::Dropped { rate: 100 - sent as u64 }));
    }

    #[test]
    fn progress_goes_only_up_and_only_when_asked_for() {
        let (mut sink, mut rx) = sink(None, true, &Limits::default());
        for value in [0.0, 50.0, 50.0, 10.0, f64::NAN, 100.0] {
            sink.progress(value, Some(100.0), None);
        }
        let values: Vec<f64> = drain(&mut rx)
            .into_iter()
            .map(|n| match n {
                Notice::Progress { progress, .. } => progress,
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(values, vec![0.0, 50.0, 100.0]);
        let (mut unasked, mut unasked_rx) = self::sink(Some(Level::Debug), false, &Limits::default());
        unasked.progress(1.0, None, None);
        assert!(drain(&mut unasked_rx).is_empty());
    }
}
