//! What one HTTP client may hold, and for how long: open connections in all
//! and per client address, requests in flight per principal (an open SSE
//! stream is a request in flight), and the deadline after which a response
//! body ends. Every slot is given back when its guard drops, whether the
//! request ended, the client went away or the deadline passed.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::hash::Hash;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Frame, SizeHint};
use tokio::time::Sleep;

use super::Body;

/// Counts what each key holds, up to `cap` per key.
pub struct PerKey<K: Eq + Hash + Clone> {
    held: Arc<Mutex<HashMap<K, usize>>>,
    cap: usize,
}

impl<K: Eq + Hash + Clone> PerKey<K> {
    pub fn new(cap: usize) -> PerKey<K> {
        PerKey { held: Arc::new(Mutex::new(HashMap::new())), cap }
    }

    /// One more for `key`, or `None` when it already holds `cap`.
    pub fn try_take(&self, key: &K) -> Option<Held<K>> {
        let mut held = self.held.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let count = held.entry(key.clone()).or_insert(0);
        if *count >= self.cap {
            return None;
        }
        *count += 1;
        Some(Held { held: self.held.clone(), key: key.clone() })
    }
}

/// One slot of a [`PerKey`], given back on drop.
pub struct Held<K: Eq + Hash + Clone> {
    held: Arc<Mutex<HashMap<K, usize>>>,
    key: K,
}

impl<K: Eq + Hash + Clone> Drop for Held<K> {
    fn drop(&mut self) {
        let mut held = self.held.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(count) = held.get_mut(&self.key) {
            *count -= 1;
            if *count == 0 {
                held.remove(&self.key);
            }
        }
    }
}

/// A response body that ends cleanly at its deadline and holds its request's
/// slots (`S`) until it ends. A body that ends by its deadline finishes its
/// chunked encoding properly: an SSE client sees the stream close and may
/// open another.
pub struct Expiring<S> {
    inner: Body,
    deadline: Pin<Box<Sleep>>,
    expired: bool,
    _slots: S,
}

impl<S> Expiring<S> {
    pub fn new(inner: Body, lifetime: Duration, slots: S) -> Expiring<S> {
        Expiring { inner, deadline: Box::pin(tokio::time::sleep(lifetime)), expired: false, _slots: slots }
    }
}

impl<S: Unpin> http_body::Body for Expiring<S> {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let this = self.get_mut();
        if this.expired {
            return Poll::Ready(None);
        }
        // The deadline first: a stream that always has a frame ready ends too.
        if this.deadline.as_mut().poll(cx).is_ready() {
            tracing::debug!("a response reached its stream_timeout and was ended");
            this.expired = true;
            return Poll::Ready(None);
        }
        Pin::new(&mut this.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.expired || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        if self.expired { SizeHint::with_exact(0) } else { self.inner.size_hint() }
    }
}

#[cfg(test)]
mod tests {
    use http_body::Body as _;

    use super::*;

    #[test]
    fn a_key_holds_at_most_its_cap_and_gets_each_slot_back() {
        let slots = PerKey::new(2);
        let a1 = slots.try_take(&"a").unwrap();
        let a2 = slots.try_take(&"a").unwrap();
        assert!(slots.try_take(&"a").is_none(), "a third for the same key");
        let b = slots.try_take(&"b").unwrap();
        drop(a1);
        let a3 = slots.try_take(&"a").expect("a slot given back is taken again");
        drop((a2, a3, b));
        assert!(slots.held.lock().unwrap().is_empty(), "no key is kept once it holds nothing");
    }

    #[tokio::test]
    async fn a_body_ends_at_its_deadline_and_gives_back_what_it_holds() {
        use http_body_util::BodyExt;
        let (mut tx, stream) = http_body_util::Channel::<Bytes>::new(1);
        let slots = PerKey::new(1);
        let held = slots.try_take(&"p").unwrap();
        let mut body = Expiring::new(stream.boxed(), Duration::from_millis(100), held);
        tx.send_data(Bytes::from_static(b"event")).await.unwrap();
        let first = body.frame().await.unwrap().unwrap();
        assert_eq!(first.into_data().unwrap(), "event");
        assert!(slots.try_take(&"p").is_none(), "the open body holds its slot");
        // Nothing more is sent; the deadline passes.
        assert!(body.frame().await.is_none(), "the body ends at its deadline");
        assert!(body.is_end_stream());
        drop(body);
        assert!(slots.try_take(&"p").is_some(), "the ended body gave its slot back");
        drop(tx);
    }

    #[tokio::test]
    async fn a_body_that_always_has_a_frame_ends_at_its_deadline_too() {
        use http_body_util::{BodyExt, StreamBody};
        struct Endless;
        impl futures_core::Stream for Endless {
            type Item = Result<Frame<Bytes>, Infallible>;
            fn poll_next(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Self::Item>> {
                Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(b": ping\n\n")))))
            }
        }
        let mut body = Expiring::new(StreamBody::new(Endless).boxed(), Duration::from_millis(50), ());
        let mut frames = 0u64;
        while body.frame().await.is_some() {
            frames += 1;
            assert!(frames < 50_000_000, "the body never ended");
            // Real time passes between frames, as it does on a socket.
            if frames.is_multiple_of(1000) {
                tokio::task::yield_now().await;
            }
        }
        assert!(frames > 0 && body.is_end_stream());
    }
}
