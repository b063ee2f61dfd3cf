//! Who receives what: the registry of stream subscriptions on this
//! instance, and the fan-out of one event to all of them.
//!
//! Delivery is keyed by `(stream, eventName)`, as in Rocket.Chat's
//! streamer: each matching sub gets one frame, so a client that subscribed
//! twice receives twice. A frame is serialised once per event and shared
//! by every subscriber's queue and socket write: [`Frame`] is a
//! reference-counted buffer, so queueing it to 20,000 subscribers copies
//! nothing.
//!
//! Each connection owns an [`Outbox`]: an unbounded channel drained by the
//! connection's writer, plus a count of the bytes queued and not yet
//! written. A consumer that cannot keep up must not grow the server's memory
//! without bound: past [`MAX_QUEUED_BYTES`] the outbox refuses further
//! frames and asks its connection to close with 1013 ("try again later"),
//! as Rocket.Chat's streamer does at 4 MiB. The client reconnects and
//! catches up through the sync endpoints, which lose nothing.

use axum::extract::ws::Utf8Bytes;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use tokio::sync::{mpsc, Notify};

/// Bytes a connection may have queued and unwritten before it is closed.
pub const MAX_QUEUED_BYTES: usize = 4 * 1024 * 1024;

pub type ConnId = u64;

/// A frame ready for the socket, shared by every receiver of one event
/// (cloning it shares the bytes; the socket writes them as they are).
pub type Frame = Utf8Bytes;

/// The sending side of one connection.
#[derive(Debug)]
pub struct Outbox {
    pub id: ConnId,
    tx: mpsc::UnboundedSender<Frame>,
    queued: AtomicUsize,
    overflowed: AtomicBool,
    /// Set when the connection must check that its login still holds.
    recheck: AtomicBool,
    /// Wakes the connection: it must close (overflow), or check its login.
    pub close: Notify,
}

impl Outbox {
    pub fn new(id: ConnId) -> (Arc<Outbox>, mpsc::UnboundedReceiver<Frame>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let outbox = Outbox {
            id,
            tx,
            queued: AtomicUsize::new(0),
            overflowed: AtomicBool::new(false),
            recheck: AtomicBool::new(false),
            close: Notify::new(),
        };
        (Arc::new(outbox), rx)
    }

    /// Queues a frame. `false` when the connection is gone or overflowed
    /// (the frame is dropped: the client will resync after reconnecting).
    pub fn send(&self, frame: Frame) -> bool {
        if self.overflowed.load(Ordering::Relaxed) {
            return false;
        }
        let len = frame.len();
        let queued = self.queued.fetch_add(len, Ordering::Relaxed) + len;
        if queued > MAX_QUEUED_BYTES {
            self.overflowed.store(true, Ordering::Relaxed);
            self.queued.fetch_sub(len, Ordering::Relaxed);
            // notify_one stores a permit, so the connection sees it even if
            // it is not waiting right now.
            self.close.notify_one();
            return false;
        }
        if self.tx.send(frame).is_err() {
            self.queued.fetch_sub(len, Ordering::Relaxed);
            return false;
        }
        true
    }

    /// Serialises and queues one frame of this connection's own (results,
    /// `ready`, `pong`...).
    pub fn send_value(&self, value: &Value) -> bool {
        self.send(Frame::from(value.to_string()))
    }

    /// The writer wrote `len` bytes of a frame.
    pub fn written(&self, len: usize) {
        self.queued.fetch_sub(len, Ordering::Relaxed);
    }

    pub fn overflowed(&self) -> bool {
        self.overflowed.load(Ordering::Relaxed)
    }

    /// Asks the connection to check its login (its account changed).
    pub fn recheck_login(&self) {
        self.recheck.store(true, Ordering::Relaxed);
        self.close.notify_one();
    }

    /// Whether a login check was asked for since the last call.
    pub fn take_recheck(&self) -> bool {
        self.recheck.swap(false, Ordering::Relaxed)
    }
}

/// One subscriber of a `(stream, eventName)` key.
#[derive(Clone, Debug)]
pub struct Target {
    pub outbox: Arc<Outbox>,
    /// The DDP sub id (a client may subscribe twice to one key).
    pub sub_id: String,
    /// The logged-in user of the connection when it subscribed.
    pub user_id: Option<String>,
}

/// The key of a delivery: stream (collection) name and event name.
pub type Key = (String, String);

/// Counters for `/metrics`.
#[derive(Debug, Default)]
pub struct HubStats {
    pub connections: AtomicU64,
    pub connections_total: AtomicU64,
    pub subscriptions: AtomicU64,
    pub events_total: AtomicU64,
    pub frames_total: AtomicU64,
    pub slow_consumers_dropped: AtomicU64,
}

#[derive(Debug, Default)]
pub struct Hub {
    routes: RwLock<HashMap<Key, Vec<Target>>>,
    /// The logged-in connections of each user, so a change to an account
    /// (deactivated, deleted, a token removed) reaches its open sessions.
    logins: Mutex<HashMap<String, Vec<Arc<Outbox>>>>,
    next_conn: AtomicU64,
    pub stats: HubStats,
}

impl Hub {
    pub fn new() -> Arc<Hub> {
        Arc::new(Hub::default())
    }

    /// Connection `outbox` is logged in as `user_id`.
    pub fn add_login(&self, user_id: &str, outbox: &Arc<Outbox>) {
        let mut logins = self.logins.lock().unwrap_or_else(PoisonError::into_inner);
        logins.entry(user_id.to_owned()).or_default().push(Arc::clone(outbox));
    }

    /// Connection `conn` is no longer logged in as `user_id`.
    pub fn remove_login(&self, user_id: &str, conn: ConnId) {
        let mut logins = self.logins.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(outboxes) = logins.get_mut(user_id) {
            outboxes.retain(|o| o.id != conn);
            if outboxes.is_empty() {
                logins.remove(user_id);
            }
        }
    }

    /// Asks the connections logged in as `user_id`, or every logged-in
    /// connection with `None` (after missed announcements), to check that
    /// their login still holds. Each checks on its own task: this only
    /// sets a flag and wakes it.
    pub fn recheck_logins(&self, user_id: Option<&str>) {
        let logins = self.logins.lock().unwrap_or_else(PoisonError::into_inner);
        match user_id {
            Some(id) => logins.get(id).into_iter().flatten().for_each(|o| o.recheck_login()),
            None => logins.values().flatten().for_each(|o| o.recheck_login()),
        }
    }

    pub fn next_conn_id(&self) -> ConnId {
        self.next_conn.fetch_add(1, Ordering::Relaxed) + 1
    }

    pub fn add(&self, key: Key, target: Target) {
        let mut routes = self.routes.write().unwrap_or_else(|p| p.into_inner());
        routes.entry(key).or_default().push(target);
        self.stats.subscriptions.fetch_add(1, Ordering::Relaxed);
    }

    /// Removes one sub of a connection; `true` if it was registered.
    pub fn remove(&self, key: &Key, conn: ConnId, sub_id: &str) -> bool {
        let mut routes = self.routes.write().unwrap_or_else(|p| p.into_inner());
        let Some(targets) = routes.get_mut(key) else { return false };
        let before = targets.len();
        targets.retain(|t| !(t.outbox.id == conn && t.sub_id == sub_id));
        let removed = before != targets.len();
        if targets.is_empty() {
            routes.remove(key);
        }
        if removed {
            self.stats.subscriptions.fetch_sub(1, Ordering::Relaxed);
        }
        removed
    }

    /// Rebinds one sub of a connection to the user now logged in on it, in
    /// place (no moment where the sub is missing). `true` if it was found.
    pub fn set_user(&self, key: &Key, conn: ConnId, sub_id: &str, user_id: Option<String>) -> bool {
        let mut routes = self.routes.write().unwrap_or_else(|p| p.into_inner());
        let Some(target) = routes
            .get_mut(key)
            .and_then(|t| t.iter_mut().find(|t| t.outbox.id == conn && t.sub_id == sub_id))
        else {
            return false;
        };
        target.user_id = user_id;
        true
    }

    /// The subscribers of a key (a snapshot).
    pub fn targets(&self, stream: &str, event: &str) -> Vec<Target> {
        let routes = self.routes.read().unwrap_or_else(|p| p.into_inner());
        routes.get(&(stream.to_owned(), event.to_owned())).cloned().unwrap_or_default()
    }

    /// Whether anyone on this instance listens to the key.
    pub fn has(&self, stream: &str, event: &str) -> bool {
        let routes = self.routes.read().unwrap_or_else(|p| p.into_inner());
        routes.contains_key(&(stream.to_owned(), event.to_owned()))
    }

    /// Every key of a stream whose event name satisfies `matches`, with its
    /// subscribers (a snapshot).
    pub fn keys_where(&self, stream: &str, matches: impl Fn(&str) -> bool) -> Vec<(String, Vec<Target>)> {
        let routes = self.routes.read().unwrap_or_else(|p| p.into_inner());
        routes
            .iter()
            .filter(|((s, e), _)| s == stream && matches(e))
            .map(|((_, e), t)| (e.clone(), t.clone()))
            .collect()
    }

    /// Sends one stream event to every subscriber of `(stream, event)` but
    /// the connection `except` (a client's own writes are not echoed).
    /// The frame is built and serialised once. Returns how many got it.
    ///
    /// The subscribers are walked under the read lock instead of being
    /// copied out: queueing a frame never blocks, and a copy of a room's
    /// 20,000 targets per message was the relay's largest cost after the
    /// socket writes (BENCHMARKS.md).
    pub fn emit(&self, stream: &str, event: &str, args: Value, except: Option<ConnId>) -> usize {
        let routes = self.routes.read().unwrap_or_else(|p| p.into_inner());
        let Some(targets) = routes.get(&(stream.to_owned(), event.to_owned())) else { return 0 };
        if targets.is_empty() {
            return 0;
        }
        let frame = Frame::from(super::ddp::stream_frame(stream, event, args).to_string());
        self.deliver(&frame, targets.iter().filter(|t| Some(t.outbox.id) != except))
    }

    /// Queues a ready frame to the given targets; counts and drops slow consumers.
    pub fn deliver<'a>(&self, frame: &Frame, targets: impl Iterator<Item = &'a Target>) -> usize {
        self.stats.events_total.fetch_add(1, Ordering::Relaxed);
        let mut sent = 0;
        for target in targets {
            let was_overflowed = target.outbox.overflowed();
            if target.outbox.send(frame.clone()) {
                sent += 1;
            } else if !was_overflowed && target.outbox.overflowed() {
                self.stats.slow_consumers_dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.stats.frames_total.fetch_add(sent as u64, Ordering::Relaxed);
        sent
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn target(hub: &Hub, sub: &str) -> (Target, mpsc::UnboundedReceiver<Frame>) {
        let (outbox, rx) = Outbox::new(hub.next_conn_id());
        (Target { outbox, sub_id: sub.into(), user_id: None }, rx)
    }

    #[test]
    fn one_frame_per_sub_and_no_echo() {
        let hub = Hub::new();
        let (a, mut rx_a) = target(&hub, "s1");
        let (b, mut rx_b) = target(&hub, "s1");
        let key: Key = ("stream-room-messages".into(), "R1".into());
        hub.add(key.clone(), a.clone());
        hub.add(key.clone(), Target { sub_id: "s2".into(), ..a.clone() });
        hub.add(key.clone(), b.clone());
        assert_eq!(hub.emit("stream-room-messages", "R1", json!([{"_id": "m"}]), Some(b.outbox.id)), 2);
        let first = rx_a.try_recv().expect("a frame");
        let second = rx_a.try_recv().expect("a duplicate frame for the duplicate sub");
        // Serialised once: both queues hold the same bytes.
        assert!(std::ptr::eq(first.as_str().as_ptr(), second.as_str().as_ptr()));
        assert!(rx_b.try_recv().is_err(), "no echo to the writer");
        assert!(hub.remove(&key, a.outbox.id, "s1"));
        assert!(!hub.remove(&key, a.outbox.id, "s1"));
        assert_eq!(hub.targets("stream-room-messages", "R1").len(), 2);
    }

    #[test]
    fn a_slow_consumer_is_cut_at_the_limit() {
        let hub = Hub::new();
        let (a, _rx) = target(&hub, "s1");
        hub.add(("s".into(), "e".into()), a.clone());
        let big = "x".repeat(1024 * 1024);
        let mut delivered = 0;
        for _ in 0..8 {
            delivered += hub.emit("s", "e", json!([big]), None);
        }
        assert_eq!(delivered, 3, "4 MiB hold three 1 MiB frames (plus framing)");
        assert!(a.outbox.overflowed());
        assert_eq!(hub.stats.slow_consumers_dropped.load(Ordering::Relaxed), 1);
    }
}
