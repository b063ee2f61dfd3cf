//! What each connection does until the deadline.

use crate::client::{CallError, Conn};
use crate::rng::Rng;
use crate::search_text::{encode, next_search, SEARCH_COUNT};
use crate::setup::{self, Thread, World, EPOCH};
use crate::stats::{Op, Stats};
use serde_json::{json, Value};
use std::collections::VecDeque;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Scenario {
    /// Hot delta sync: `chat.syncThreadMessages` from near the end of a
    /// thread (0-5 changes); no writes.
    S1,
    /// Full resync of one big thread: from the epoch, `count=0`, page after
    /// page until exhausted; no writes.
    S2,
    /// Mixed: 80% sync, 10% getThreadMessages, 8% sends into threads, 1%
    /// edits, 1% deletes.
    S3,
    /// Sends into threads only.
    S4,
    /// `s3` plus a little login/logout and follow/unfollow, for long runs.
    Soak,
    /// `chat.search` of one or two vocabulary words in a random seeded
    /// room (needs `--manifest`; `--search-top` narrows the words).
    Search,
    /// Websockets: N logged-in, subscribed connections held idle; server
    /// RSS per connection (src/ws.rs).
    WsIdle,
    /// Websockets: N subscribers of one room, one message every
    /// `--fanout-every` seconds; delay of every frame.
    WsFanout,
    /// Websockets: N subscribers over `--rooms` rooms, `--rate` messages/s
    /// spread over them; delays, losses, RSS over time.
    WsSustained,
    /// Ceiling (run by `--ceilings`, not chosen): `GET /bench/static` with
    /// a body of the size `s1` answered; HTTP and JSON alone.
    #[value(skip)]
    CeilingStatic,
    /// Ceiling (run by `--ceilings`): `GET /bench/raw-sync` with the same
    /// threads, stamps and checks as `s1`; the indexed store query alone.
    #[value(skip)]
    CeilingRawSync,
}

impl Scenario {
    /// The websocket scenarios (src/ws.rs).
    pub fn is_ws(self) -> bool {
        matches!(self, Scenario::WsIdle | Scenario::WsFanout | Scenario::WsSustained)
    }

    pub fn name(self) -> &'static str {
        match self {
            Scenario::S1 => "s1",
            Scenario::S2 => "s2",
            Scenario::S3 => "s3",
            Scenario::S4 => "s4",
            Scenario::Soak => "soak",
            Scenario::Search => "search",
            Scenario::WsIdle => "ws-idle",
            Scenario::WsFanout => "ws-fanout",
            Scenario::WsSustained => "ws-sustained",
            Scenario::CeilingStatic => "ceiling-static",
            Scenario::CeilingRawSync => "ceiling-raw-sync",
        }
    }

    fn mix(self) -> &'static [(Action, u32)] {
        match self {
            Scenario::S1 => &[(Action::HotSync, 1)],
            Scenario::S2 => &[(Action::FullResync, 1)],
            Scenario::S3 => S3_MIX,
            Scenario::S4 => &[(Action::Send, 1)],
            Scenario::Soak => SOAK_MIX,
            Scenario::Search => &[(Action::Search, 1)],
            // Driven by src/ws.rs, never by the HTTP connections.
            Scenario::WsIdle | Scenario::WsFanout | Scenario::WsSustained => &[],
            Scenario::CeilingStatic => &[(Action::StaticBody, 1)],
            Scenario::CeilingRawSync => &[(Action::RawSync, 1)],
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Action {
    /// `s1`: a fixed `updatedSince` 0-5 changes before a thread's end.
    HotSync,
    /// `s3`/`soak`: sync a thread from the greatest stamp this connection
    /// has seen of it, as a real client polls.
    CursorSync,
    FullResync,
    GetThread,
    Send,
    Update,
    Delete,
    Follow,
    Unfollow,
    /// A password login then a logout of that new session.
    LoginLogout,
    StaticBody,
    RawSync,
    Search,
}

/// Weights out of 10,000.
const S3_MIX: &[(Action, u32)] = &[
    (Action::CursorSync, 8_000),
    (Action::GetThread, 1_000),
    (Action::Send, 800),
    (Action::Update, 100),
    (Action::Delete, 100),
];

/// `s3` with 0.62% taken from the syncs for follows, unfollows and logins
/// (bcrypt makes a login cost tens of milliseconds of CPU: keep it rare).
const SOAK_MIX: &[(Action, u32)] = &[
    (Action::CursorSync, 7_938),
    (Action::GetThread, 1_000),
    (Action::Send, 800),
    (Action::Update, 100),
    (Action::Delete, 100),
    (Action::Follow, 30),
    (Action::Unfollow, 30),
    (Action::LoginLogout, 2),
];

fn pick(mix: &[(Action, u32)], rng: &mut Rng) -> Action {
    let total: u32 = mix.iter().map(|&(_, w)| w).sum();
    let mut roll = rng.below(total as usize) as u32;
    for &(action, weight) in mix {
        if roll < weight {
            return action;
        }
        roll -= weight;
    }
    mix[mix.len() - 1].0
}

/// A connection keeps the ids of its last replies, to edit and delete them.
const OWN_MESSAGES: usize = 64;
/// `chat.getThreadMessages`: the newest page, as a client opening a thread.
const GET_THREAD_QUERY: &str = "&count=50&sort=%7B%22ts%22%3A-1%7D";

pub struct Ctx {
    pub scenario: Scenario,
    pub world: Arc<World>,
    pub user_pass: String,
    pub stats: Arc<Stats>,
    pub deadline: Instant,
    /// The body size `/bench/static` is asked for.
    pub static_bytes: u64,
    /// Response bodies of `s1`'s syncs: bytes and count, for the mean size.
    pub body_bytes: AtomicU64,
    pub bodies: AtomicU64,
}

impl Ctx {
    /// The mean body size of the hot syncs answered so far, in bytes.
    pub fn mean_body_bytes(&self) -> Option<u64> {
        let n = self.bodies.load(Ordering::Relaxed);
        (n > 0).then(|| self.body_bytes.load(Ordering::Relaxed) / n)
    }
}

struct Connection {
    ctx: Arc<Ctx>,
    index: usize,
    conn: Conn,
    rng: Rng,
    /// Per thread: the greatest change stamp this connection has seen.
    cursors: Vec<String>,
    /// `(rid, _id)` of this connection's last replies.
    mine: VecDeque<(String, String)>,
    sent: u64,
}

/// Runs connection `index` until the deadline.
pub async fn run(ctx: Arc<Ctx>, index: usize, conn: Conn, rng: Rng) {
    let cursors = ctx
        .world
        .threads
        .iter()
        .map(|t| t.stamps.last().cloned().unwrap_or_else(|| EPOCH.to_owned()))
        .collect();
    let mut c = Connection { ctx, index, conn, rng, cursors, mine: VecDeque::new(), sent: 0 };
    let mix = c.ctx.scenario.mix();
    while Instant::now() < c.ctx.deadline {
        let action = pick(mix, &mut c.rng);
        c.step(action).await;
    }
}

impl Connection {
    async fn step(&mut self, action: Action) {
        match action {
            Action::HotSync => self.hot_sync().await,
            Action::CursorSync => self.cursor_sync().await,
            Action::FullResync => self.full_resync().await,
            Action::GetThread => {
                let tmid = self.random_thread().id.clone();
                let path = format!("/api/v1/chat.getThreadMessages?tmid={tmid}{GET_THREAD_QUERY}");
                self.timed(Op::GetThread, |c| c.conn.get(&path)).await;
            }
            Action::Send => self.send().await,
            Action::Update => {
                if self.mine.is_empty() {
                    return self.send().await;
                }
                let (rid, id) = self.mine[self.rng.below(self.mine.len())].clone();
                self.sent += 1;
                let body =
                    json!({"roomId": rid, "msgId": id, "text": format!("edit {}-{}", self.index, self.sent)});
                self.timed(Op::Update, |c| c.conn.post("/api/v1/chat.update", &body)).await;
            }
            Action::Delete => {
                let Some((rid, id)) = self.mine.remove(self.rng.below(self.mine.len().max(1))) else {
                    return self.send().await;
                };
                let body = json!({"roomId": rid, "msgId": id});
                self.timed(Op::Delete, |c| c.conn.post("/api/v1/chat.delete", &body)).await;
            }
            Action::Follow | Action::Unfollow => {
                let (op, path) = match action {
                    Action::Follow => (Op::Follow, "/api/v1/chat.followMessage"),
                    _ => (Op::Unfollow, "/api/v1/chat.unfollowMessage"),
                };
                let body = json!({"mid": self.random_thread().id});
                self.timed(op, |c| c.conn.post(path, &body)).await;
            }
            Action::LoginLogout => {
                let name = self.ctx.world.users[self.index].0.clone();
                let pass = self.ctx.user_pass.clone();
                let Some(session) = self.timed(Op::Login, |c| c.conn.login(&name, &pass)).await else {
                    return;
                };
                let empty = json!({});
                self.timed(Op::Logout, |c| c.conn.post_as("/api/v1/logout", &empty, Some(&session))).await;
            }
            Action::StaticBody => {
                let path = format!("/bench/static?bytes={}", self.ctx.static_bytes);
                self.timed(Op::Static, |c| c.conn.get(&path)).await;
            }
            Action::RawSync => self.hot_sync().await,
            Action::Search => self.search().await,
        }
    }

    fn random_thread(&mut self) -> &Thread {
        let i = self.rng.below(self.ctx.world.threads.len());
        &self.ctx.world.threads[i]
    }

    /// Times one request and records it; the answer if it succeeded.
    async fn timed<'a, T, F>(&'a self, op: Op, call: impl FnOnce(&'a Self) -> F) -> Option<T>
    where
        F: Future<Output = Result<T, CallError>> + 'a,
    {
        let started = Instant::now();
        let result = call(self).await;
        let outcome = result.as_ref().map(|_| ()).map_err(|e| format!("{}: {e}", op.name()));
        self.ctx.stats.record(op, started.elapsed(), outcome);
        result.ok()
    }

    async fn send(&mut self) {
        let i = self.rng.below(self.ctx.world.threads.len());
        self.sent += 1;
        let thread = &self.ctx.world.threads[i];
        let body = json!({"message": {
            "rid": thread.rid,
            "tmid": thread.id,
            "msg": format!("load {}-{}", self.index, self.sent),
        }});
        let sent: Option<Value> =
            self.timed(Op::Send, |c| c.conn.post("/api/v1/chat.sendMessage", &body)).await;
        if let Some(id) = sent.as_ref().and_then(|b| b["message"]["_id"].as_str()) {
            if self.mine.len() == OWN_MESSAGES {
                self.mine.pop_front();
            }
            self.mine.push_back((self.ctx.world.threads[i].rid.clone(), id.to_owned()));
        }
    }

    /// `s1`: `k` in 0..=5 changes before the end of a thread that does not
    /// change during the run; the answer must hold exactly `k` changes.
    /// The raw-sync ceiling asks the same of `/bench/raw-sync`.
    async fn hot_sync(&mut self) {
        let i = self.rng.below(self.ctx.world.threads.len());
        let k = self.rng.below(6);
        let thread = &self.ctx.world.threads[i];
        let (since, expected) = match thread.stamps.len() {
            n if n > k => (thread.stamps[n - 1 - k].as_str(), k),
            n => (EPOCH, n),
        };
        let (op, path) = match self.ctx.scenario {
            Scenario::CeilingRawSync => {
                (Op::RawSync, format!("/bench/raw-sync?tmid={}&updatedSince={since}", thread.id))
            }
            _ => (Op::SyncThread, setup::sync_path(&thread.id, since, false)),
        };
        let started = Instant::now();
        let result = self.conn.get_sized(&path).await.and_then(|(body, bytes)| {
            self.ctx.body_bytes.fetch_add(bytes as u64, Ordering::Relaxed);
            self.ctx.bodies.fetch_add(1, Ordering::Relaxed);
            setup::page_stamps(&body)
        });
        let outcome = match result {
            Ok(stamps) if stamps.len() == expected => Ok(()),
            Ok(stamps) => Err(format!(
                "{}: check failed: expected {expected} changes after {since} in thread {}, got {}",
                op.name(),
                thread.id,
                stamps.len()
            )),
            Err(e) => Err(format!("{}: {e}", op.name())),
        };
        self.ctx.stats.record(op, started.elapsed(), outcome);
    }

    async fn cursor_sync(&mut self) {
        let i = self.rng.below(self.ctx.world.threads.len());
        let path = setup::sync_path(&self.ctx.world.threads[i].id, &self.cursors[i], false);
        let started = Instant::now();
        let result = self.conn.get(&path).await.and_then(|body| setup::page_stamps(&body));
        let outcome = result.as_ref().map(|_| ()).map_err(|e| format!("{}: {e}", Op::SyncThread.name()));
        self.ctx.stats.record(Op::SyncThread, started.elapsed(), outcome);
        if let Some(max) = result.ok().and_then(|stamps| stamps.into_iter().max()) {
            if max > self.cursors[i] {
                self.cursors[i] = max;
            }
        }
    }

    /// `search`: the answer must be a list of at most [`SEARCH_COUNT`]
    /// messages of the room searched.
    async fn search(&mut self) {
        let Some(search) = &self.ctx.world.search else { return };
        let (rid, text) = next_search(&mut self.rng, &search.rooms, &search.vocabulary, search.top);
        let path =
            format!("/api/v1/chat.search?roomId={rid}&searchText={}&count={SEARCH_COUNT}", encode(&text));
        let started = Instant::now();
        let result = self.conn.get(&path).await;
        let outcome = match result {
            Ok(body) => match body["messages"].as_array() {
                Some(found)
                    if found.len() as u64 <= SEARCH_COUNT
                        && found.iter().all(|m| m["rid"].as_str() == Some(rid)) =>
                {
                    Ok(())
                }
                _ => Err(format!("{}: check failed: not a page of room {rid}: {body}", Op::Search.name())),
            },
            Err(e) => Err(format!("{}: {e}", Op::Search.name())),
        };
        self.ctx.stats.record(Op::Search, started.elapsed(), outcome);
    }

    /// `s2`: the whole big thread, page after page; every page is a
    /// request, the whole resync is timed as `Op::Resync` and must return
    /// every change the set-up saw.
    async fn full_resync(&mut self) {
        let Some(big) = &self.ctx.world.big else { return };
        let started = Instant::now();
        let result = setup::full_resync(&self.conn, &big.id, Some(&self.ctx.stats)).await;
        let outcome = match result {
            Ok(stamps) if stamps == big.stamps => Ok(()),
            Ok(stamps) => Err(format!(
                "{}: check failed: {} changes, expected {}",
                Op::Resync.name(),
                stamps.len(),
                big.stamps.len()
            )),
            // The failed page is already counted as a failed request.
            Err(_) => return,
        };
        self.ctx.stats.record(Op::Resync, started.elapsed(), outcome);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mixes_follow_their_weights() {
        assert_eq!(S3_MIX.iter().map(|m| m.1).sum::<u32>(), 10_000);
        assert_eq!(SOAK_MIX.iter().map(|m| m.1).sum::<u32>(), 10_000);
        let mut rng = Rng::new(3, 0);
        let n = 200_000;
        let syncs = (0..n).filter(|_| pick(S3_MIX, &mut rng) == Action::CursorSync).count();
        let share = syncs as f64 / f64::from(n);
        assert!((share - 0.80).abs() < 0.01, "{share}");
    }
}
