//! Crash safety (docs/durability.md): `kill -9` under concurrent writes,
//! restart on the same data, and check that every answered write survived.
//!
//! Each cycle starts the real server on the data of the cycles before it.
//! Six clients send messages, reply in threads, edit, delete, follow and
//! unfollow, each keeping a ledger of what the server answered. After a
//! random 150–600 ms the server gets SIGKILL. A request cut by the kill has
//! an unknown outcome: applied or not are both fine, half of it is not.
//! After the restart, the server's state (read back through
//! `chat.syncMessages`, `chat.getDeletedMessages`, `chat.getThreadMessages`,
//! `chat.syncThreadMessages`, `subscriptions.getOne` and `channels.info`)
//! must agree with every ledger and with the thread invariants. Unknown
//! outcomes are then resolved from what the server showed, so later cycles
//! also catch a write that comes back or goes away.
//!
//! The seed (printed; set `THREADSYNC_CRASH_SEED` to replay the same choices)
//! drives the clients' operations and the kill delays; the exact moment of
//! the kill relative to the requests is up to the machine.

mod support;

use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::*;

const CLIENTS: usize = 6;
const CYCLES: usize = 10;
/// The server is killed this long (ms, drawn from the seed) after the clients start.
const KILL_AFTER_MS: std::ops::Range<u64> = 150..600;
/// Thread parents created at most, so threads grow long over the cycles.
const MAX_ROOTS: usize = 24;
const ROOM: &str = "GENERAL";
const EPOCH: &str = "1970-01-01T00:00:00.000Z";
/// `API_Upper_Count_Limit`'s default: the largest page the listings return.
const PAGE: usize = 100;
const PASSWORD: &str = "crash-pw-123456";
/// A client task still running this long after the kill is a bug of the test.
const CLIENT_STOP_TIMEOUT: Duration = Duration::from_secs(30);

fn seed() -> u64 {
    let from_env = std::env::var("THREADSYNC_CRASH_SEED").ok().and_then(|s| s.trim().parse::<u64>().ok());
    let seed = from_env.unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(1, |d| d.as_nanos() as u64)
    });
    // xorshift must not start at 0.
    seed.max(1)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// A top-level message others reply to. Never deleted: deleting a
    /// parent whose replies were all deleted removes it but leaves it in its
    /// followers' `tunread` (a bug outside this test's subject), which would
    /// break the `tunread` invariant checked here.
    Root,
    /// A top-level message nobody replies to.
    Plain,
    Reply,
}

/// What a client knows about one message it wrote.
#[derive(Clone, Debug, PartialEq)]
enum Fate {
    /// Written and not deleted. The text is one of these: the last one
    /// answered 200 first, then later edits whose answer never came.
    Present(Vec<String>),
    /// The send's answer never came.
    MaybeSent(String),
    /// The delete was answered 200.
    Deleted,
    /// The delete's answer never came; if the message survived, its text is one of these.
    MaybeDeleted(Vec<String>),
    /// Never written: the send was refused, or its outcome was unknown and
    /// the server showed it absent after the restart.
    Absent,
}

#[derive(Clone, Debug)]
struct Mine {
    kind: Kind,
    tmid: Option<String>,
    fate: Fate,
}

/// Whether a client follows a thread, as far as it knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Follow {
    /// Its last follow or reply was answered 200: it must be in `replies`.
    Yes,
    /// Its last unfollow was answered 200 (nothing is asserted: others'
    /// replies may add the thread's author again).
    No,
    /// The answer of its last follow (`true`) or unfollow never came.
    Unknown(bool),
}

#[derive(Clone, Copy, Debug, Default)]
struct Tally {
    attempted: usize,
    ok: usize,
    refused: usize,
    unknown: usize,
    /// Unknown outcomes the server showed applied after the restart…
    unknown_applied: usize,
    /// …and not applied.
    unknown_not_applied: usize,
    /// Ledger entries (messages and follows) checked after restarts.
    checks: usize,
}

impl Tally {
    fn add(&mut self, other: &Tally) {
        self.attempted += other.attempted;
        self.ok += other.ok;
        self.refused += other.refused;
        self.unknown += other.unknown;
        self.unknown_applied += other.unknown_applied;
        self.unknown_not_applied += other.unknown_not_applied;
        self.checks += other.checks;
    }
}

enum Outcome {
    Ok(Value),
    Refused,
    /// No complete answer (the kill cut it), or a 5xx: the write may or may not have happened.
    Unknown,
}

struct Client {
    index: usize,
    session: Session,
    rng: Rng,
    next: usize,
    mine: BTreeMap<String, Mine>,
    follows: BTreeMap<String, Follow>,
    tally: Tally,
    /// The first few refusals, for the report (none are expected).
    refusals: Vec<String>,
}

impl Client {
    async fn call(&mut self, api: &Endpoint, path: &str, body: Value) -> Outcome {
        self.tally.attempted += 1;
        match api.try_post(path, Some(&self.session), body).await {
            Some((200, body)) => {
                self.tally.ok += 1;
                Outcome::Ok(body)
            }
            Some((status, body)) if status < 500 => {
                self.tally.refused += 1;
                if self.refusals.len() < 5 {
                    self.refusals.push(format!("{path}: {status} {body}"));
                }
                Outcome::Refused
            }
            _ => {
                self.tally.unknown += 1;
                Outcome::Unknown
            }
        }
    }

    /// Runs operations until one has an unknown outcome (the server died).
    async fn run(mut self, api: Endpoint, roots: Arc<Mutex<Vec<String>>>, cycle: usize) -> Client {
        while self.step(&api, &roots, cycle).await {}
        self
    }

    /// One random operation; `false` once its outcome is unknown.
    async fn step(&mut self, api: &Endpoint, roots: &Mutex<Vec<String>>, cycle: usize) -> bool {
        let known_roots = roots.lock().expect("roots").clone();
        let live: Vec<String> = self
            .mine
            .iter()
            .filter(|(_, m)| matches!(m.fate, Fate::Present(_)))
            .map(|(id, _)| id.clone())
            .collect();
        let deletable: Vec<String> =
            live.iter().filter(|id| self.mine[*id].kind != Kind::Root).cloned().collect();
        let roll = self.rng.below(100);
        if roll < 8 && known_roots.len() < MAX_ROOTS {
            self.send(api, Kind::Root, None, roots, cycle).await
        } else if roll < 25 || known_roots.is_empty() {
            self.send(api, Kind::Plain, None, roots, cycle).await
        } else if roll < 55 {
            let tmid = self.rng.pick(&known_roots).clone();
            self.send(api, Kind::Reply, Some(tmid), roots, cycle).await
        } else if roll < 70 && !live.is_empty() {
            let id = self.rng.pick(&live).clone();
            self.edit(api, id, cycle).await
        } else if roll < 85 && !deletable.is_empty() {
            let id = self.rng.pick(&deletable).clone();
            self.delete(api, id).await
        } else {
            let tmid = self.rng.pick(&known_roots).clone();
            let follow = self.rng.below(2) == 0;
            self.follow(api, tmid, follow).await
        }
    }

    fn new_id(&mut self) -> String {
        self.next += 1;
        format!("crash{}-{:05}", self.index, self.next)
    }

    async fn send(
        &mut self,
        api: &Endpoint,
        kind: Kind,
        tmid: Option<String>,
        roots: &Mutex<Vec<String>>,
        cycle: usize,
    ) -> bool {
        let id = self.new_id();
        let text = format!("{kind:?} {id} (cycle {cycle})");
        let mut message = json!({"_id": id, "rid": ROOM, "msg": text});
        if let Some(tmid) = &tmid {
            message["tmid"] = json!(tmid);
        }
        let outcome = self.call(api, "/api/v1/chat.sendMessage", json!({ "message": message })).await;
        let fate = match outcome {
            Outcome::Ok(body) => {
                assert_eq!(body["message"]["_id"], id.as_str(), "the client's _id is kept: {body}");
                if kind == Kind::Root {
                    roots.lock().expect("roots").push(id.clone());
                }
                if let Some(tmid) = &tmid {
                    // The sender of a reply follows the thread.
                    self.follows.insert(tmid.clone(), Follow::Yes);
                }
                Fate::Present(vec![text])
            }
            Outcome::Refused => Fate::Absent,
            Outcome::Unknown => Fate::MaybeSent(text),
        };
        let unknown = matches!(fate, Fate::MaybeSent(_));
        self.mine.insert(id, Mine { kind, tmid, fate });
        !unknown
    }

    async fn edit(&mut self, api: &Endpoint, id: String, cycle: usize) -> bool {
        self.next += 1;
        let text = format!("edit {} of {id} (cycle {cycle})", self.next);
        let outcome =
            self.call(api, "/api/v1/chat.update", json!({"roomId": ROOM, "msgId": id, "text": text})).await;
        let mine = self.mine.get_mut(&id).expect("own message");
        let Fate::Present(texts) = &mut mine.fate else { unreachable!("only present messages are edited") };
        match outcome {
            Outcome::Ok(_) => *texts = vec![text],
            Outcome::Refused => {}
            Outcome::Unknown => {
                texts.push(text);
                return false;
            }
        }
        true
    }

    async fn delete(&mut self, api: &Endpoint, id: String) -> bool {
        let outcome = self.call(api, "/api/v1/chat.delete", json!({"roomId": ROOM, "msgId": id})).await;
        let mine = self.mine.get_mut(&id).expect("own message");
        let Fate::Present(texts) = &mine.fate else { unreachable!("only present messages are deleted") };
        match outcome {
            Outcome::Ok(_) => mine.fate = Fate::Deleted,
            Outcome::Refused => {}
            Outcome::Unknown => {
                mine.fate = Fate::MaybeDeleted(texts.clone());
                return false;
            }
        }
        true
    }

    async fn follow(&mut self, api: &Endpoint, tmid: String, follow: bool) -> bool {
        let path = if follow { "/api/v1/chat.followMessage" } else { "/api/v1/chat.unfollowMessage" };
        match self.call(api, path, json!({ "mid": tmid })).await {
            Outcome::Ok(_) => {
                self.follows.insert(tmid, if follow { Follow::Yes } else { Follow::No });
                true
            }
            Outcome::Refused => true,
            Outcome::Unknown => {
                self.follows.insert(tmid, Follow::Unknown(follow));
                false
            }
        }
    }
}

/// One thread as the server shows it.
#[derive(Debug, Default)]
struct Thread {
    /// `chat.getThreadMessages`: the replies, and the `total` it reports.
    listed: BTreeSet<String>,
    listed_total: u64,
    /// `chat.syncThreadMessages` from the epoch: updates and removals.
    synced: BTreeSet<String>,
    removed: BTreeSet<String>,
}

/// The server's state after a restart, read through the API.
struct Snapshot {
    /// Every message of the room (`chat.syncMessages` from the epoch).
    live: BTreeMap<String, Value>,
    /// `chat.syncMessages`' removals…
    feed_removed: BTreeSet<String>,
    /// …and `chat.getDeletedMessages`'.
    tombstones: BTreeSet<String>,
    /// Per thread parent (a live message with `tcount`).
    threads: BTreeMap<String, Thread>,
    /// Per client, the `tunread` of its subscription to the room.
    tunread: Vec<Vec<String>>,
    /// The room's `msgs` counter.
    room_msgs: u64,
}

fn ok_body(label: &str, what: &str, (status, body): (u16, Value)) -> Value {
    assert_eq!(status, 200, "{label}: {what}: {body}");
    body
}

fn ids(items: &Value) -> impl Iterator<Item = String> + '_ {
    items.as_array().expect("array").iter().map(|d| d["_id"].as_str().expect("_id").to_owned())
}

async fn snapshot(server: &Server, admin: &Session, clients: &[Client], label: &str) -> Snapshot {
    // The whole room, oldest change first, resumed from the greatest stamp.
    let mut live = BTreeMap::new();
    let mut feed_removed = BTreeSet::new();
    let mut cursor = EPOCH.to_owned();
    loop {
        let path = format!("/api/v1/chat.syncMessages?roomId={ROOM}&lastUpdate={cursor}");
        let body = ok_body(label, "chat.syncMessages", server.get(&path, Some(admin)).await);
        let updated = body["result"]["updated"].as_array().expect("updated");
        let deleted = body["result"]["deleted"].as_array().expect("deleted");
        if updated.is_empty() && deleted.is_empty() {
            break;
        }
        for doc in updated {
            let stamp = doc["_updatedAt"].as_str().expect("_updatedAt");
            cursor = cursor.max(stamp.to_owned());
            live.insert(doc["_id"].as_str().expect("_id").to_owned(), doc.clone());
        }
        for gone in deleted {
            let stamp = gone["_deletedAt"].as_str().expect("_deletedAt");
            cursor = cursor.max(stamp.to_owned());
            feed_removed.insert(gone["_id"].as_str().expect("_id").to_owned());
        }
    }

    let mut tombstones = BTreeSet::new();
    loop {
        let path = format!(
            "/api/v1/chat.getDeletedMessages?roomId={ROOM}&since={EPOCH}&count={PAGE}&offset={}",
            tombstones.len()
        );
        let body = ok_body(label, "chat.getDeletedMessages", server.get(&path, Some(admin)).await);
        let before = tombstones.len();
        tombstones.extend(ids(&body["messages"]));
        let total = usize::try_from(body["total"].as_u64().expect("total")).expect("small");
        if tombstones.len() >= total || tombstones.len() == before {
            break;
        }
    }

    let mut threads = BTreeMap::new();
    for (pid, _) in live.iter().filter(|(_, doc)| doc.get("tcount").is_some()) {
        let mut thread = Thread::default();
        loop {
            let path = format!(
                "/api/v1/chat.getThreadMessages?tmid={pid}&count={PAGE}&offset={}",
                thread.listed.len()
            );
            let body = ok_body(label, "chat.getThreadMessages", server.get(&path, Some(admin)).await);
            let before = thread.listed.len();
            thread.listed.extend(ids(&body["messages"]));
            thread.listed_total = body["total"].as_u64().expect("total");
            if thread.listed.len() as u64 >= thread.listed_total || thread.listed.len() == before {
                break;
            }
        }
        let mut cursor = EPOCH.to_owned();
        loop {
            let path =
                format!("/api/v1/chat.syncThreadMessages?tmid={pid}&updatedSince={cursor}&count={PAGE}");
            let body = ok_body(label, "chat.syncThreadMessages", server.get(&path, Some(admin)).await);
            let update = body["messages"]["update"].as_array().expect("update");
            let remove = body["messages"]["remove"].as_array().expect("remove");
            if update.is_empty() && remove.is_empty() {
                break;
            }
            for doc in update {
                cursor = cursor.max(doc["_updatedAt"].as_str().expect("_updatedAt").to_owned());
                thread.synced.insert(doc["_id"].as_str().expect("_id").to_owned());
            }
            for gone in remove {
                cursor = cursor.max(gone["_deletedAt"].as_str().expect("_deletedAt").to_owned());
                thread.removed.insert(gone["_id"].as_str().expect("_id").to_owned());
            }
        }
        threads.insert(pid.clone(), thread);
    }

    let mut tunread = Vec::new();
    for client in clients {
        let path = format!("/api/v1/subscriptions.getOne?roomId={ROOM}");
        // The client's token from its login before the first kill still works.
        let body = ok_body(label, "subscriptions.getOne", server.get(&path, Some(&client.session)).await);
        let names = body["subscription"]["tunread"].as_array().cloned().unwrap_or_default();
        tunread.push(names.iter().map(|t| t.as_str().expect("tunread id").to_owned()).collect());
    }

    let path = format!("/api/v1/channels.info?roomId={ROOM}");
    let body = ok_body(label, "channels.info", server.get(&path, Some(admin)).await);
    let room_msgs = body["channel"]["msgs"].as_u64().expect("msgs");

    Snapshot { live, feed_removed, tombstones, threads, tunread, room_msgs }
}

/// The invariants of the data itself, whatever the clients did.
fn check_invariants(snap: &Snapshot, clients: &[Client], problems: &mut Vec<String>) {
    for id in snap.live.keys().filter(|id| snap.feed_removed.contains(*id) || snap.tombstones.contains(*id)) {
        problems.push(format!("{id} is both present and deleted"));
    }
    if snap.feed_removed != snap.tombstones {
        problems.push(format!(
            "chat.syncMessages and chat.getDeletedMessages disagree on removals: {} vs {}",
            snap.feed_removed.len(),
            snap.tombstones.len()
        ));
    }
    if snap.room_msgs != snap.live.len() as u64 {
        problems.push(format!("room msgs is {} but it holds {} messages", snap.room_msgs, snap.live.len()));
    }
    let mut replies_by_parent: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for (id, doc) in &snap.live {
        if let Some(tmid) = doc["tmid"].as_str() {
            replies_by_parent.entry(tmid).or_default().insert(id.clone());
            if !snap.threads.contains_key(tmid) {
                problems.push(format!(
                    "reply {id} is present but its parent {tmid} is not a present thread parent"
                ));
            }
        }
    }
    for (pid, thread) in &snap.threads {
        let tcount = snap.live[pid]["tcount"].as_u64();
        let in_feed = replies_by_parent.remove(pid.as_str()).unwrap_or_default();
        if tcount != Some(in_feed.len() as u64)
            || thread.listed != in_feed
            || thread.listed_total != in_feed.len() as u64
            || thread.synced != in_feed
        {
            problems.push(format!(
                "thread {pid}: tcount {tcount:?}, {} replies in the room, getThreadMessages {} (total {}), \
                 syncThreadMessages {}",
                in_feed.len(),
                thread.listed.len(),
                thread.listed_total,
                thread.synced.len()
            ));
        }
        if let Some(id) = thread.removed.intersection(&thread.listed).next() {
            problems.push(format!("thread {pid}: {id} is both a reply and removed"));
        }
    }
    for (client, tunread) in clients.iter().zip(&snap.tunread) {
        for tmid in tunread.iter().filter(|t| !snap.threads.contains_key(*t)) {
            problems.push(format!(
                "user {} has {tmid} in tunread, which is no present thread parent",
                client.index
            ));
        }
    }
}

/// Checks every ledger against the server, then resolves what was unknown
/// from what the server showed.
fn check_ledgers(
    snap: &Snapshot,
    clients: &mut [Client],
    roots: &Mutex<Vec<String>>,
    problems: &mut Vec<String>,
) {
    for client in clients.iter_mut() {
        for (id, mine) in &mut client.mine {
            client.tally.checks += 1;
            let doc = snap.live.get(id);
            let text = doc.map(|d| d["msg"].as_str().unwrap_or_default().to_owned());
            let gone = snap.tombstones.contains(id);
            if let Some(doc) = doc {
                if doc["tmid"].as_str() != mine.tmid.as_deref() {
                    problems.push(format!("{id}: tmid {} instead of {:?}", doc["tmid"], mine.tmid));
                }
            }
            let removed_from_thread = mine
                .tmid
                .as_ref()
                .is_none_or(|t| snap.threads.get(t).is_some_and(|th| th.removed.contains(id)));
            let resolved = match (&mine.fate, &text) {
                (Fate::Present(texts), Some(text)) if texts.contains(text) => {
                    if texts.len() > 1 {
                        // The last edit's answer never came.
                        if texts.last() == Some(text) {
                            client.tally.unknown_applied += 1;
                        } else {
                            client.tally.unknown_not_applied += 1;
                        }
                    }
                    Fate::Present(vec![text.clone()])
                }
                (Fate::Present(texts), _) => {
                    problems.push(format!("{id} answered 200: expected one of {texts:?}, found {text:?}"));
                    continue;
                }
                (Fate::MaybeSent(sent), Some(text)) if sent == text => {
                    client.tally.unknown_applied += 1;
                    if mine.kind == Kind::Root {
                        roots.lock().expect("roots").push(id.clone());
                    }
                    Fate::Present(vec![text.clone()])
                }
                (Fate::MaybeSent(_), None) if !gone => {
                    client.tally.unknown_not_applied += 1;
                    Fate::Absent
                }
                (Fate::MaybeSent(sent), _) => {
                    problems
                        .push(format!("{id} (send unanswered, {sent:?}): found {text:?}, tombstone {gone}"));
                    continue;
                }
                (Fate::Deleted, None) if gone && removed_from_thread => Fate::Deleted,
                (Fate::Deleted, _) => {
                    problems.push(format!(
                        "{id} deleted with 200: found {text:?}, tombstone {gone}, thread removal {removed_from_thread}"
                    ));
                    continue;
                }
                (Fate::MaybeDeleted(texts), Some(text)) if texts.contains(text) => {
                    client.tally.unknown_not_applied += 1;
                    Fate::Present(vec![text.clone()])
                }
                (Fate::MaybeDeleted(_), None) if gone && removed_from_thread => {
                    client.tally.unknown_applied += 1;
                    Fate::Deleted
                }
                (Fate::MaybeDeleted(texts), _) => {
                    problems.push(format!(
                        "{id} (delete unanswered, texts {texts:?}): found {text:?}, tombstone {gone}, \
                         thread removal {removed_from_thread}"
                    ));
                    continue;
                }
                (Fate::Absent, None) if !gone => Fate::Absent,
                (Fate::Absent, _) => {
                    problems.push(format!("{id} was never written: found {text:?}, tombstone {gone}"));
                    continue;
                }
            };
            mine.fate = resolved;
        }
        for (tmid, follow) in &mut client.follows {
            client.tally.checks += 1;
            let followers: Vec<&str> = snap
                .live
                .get(tmid)
                .and_then(|doc| doc["replies"].as_array())
                .map(|r| r.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let follows = followers.contains(&client.session.user_id.as_str());
            match follow {
                Follow::Yes if !follows => {
                    problems.push(format!(
                        "user {} follows {tmid} (200) but is not in its replies",
                        client.index
                    ));
                }
                Follow::Unknown(attempted) => {
                    // "Applied" includes "already so before the request".
                    if *attempted == follows {
                        client.tally.unknown_applied += 1;
                    } else {
                        client.tally.unknown_not_applied += 1;
                    }
                    *follow = if follows { Follow::Yes } else { Follow::No };
                }
                _ => {}
            }
        }
    }
}

/// Registers and logs in the clients, on the first start.
async fn setup(server: &Server, label: &str, seed: u64) -> (Session, Vec<Client>) {
    let admin = server.login(ADMIN, ADMIN_PASS).await;
    // The load is deliberate; a rate limiter would only refuse it.
    let (status, body) =
        server.post("/api/v1/settings/API_Enable_Rate_Limiter", Some(&admin), json!({"value": false})).await;
    assert_eq!(status, 200, "{label}: {body}");
    let mut clients = Vec::new();
    for index in 0..CLIENTS {
        let name = format!("crash{index}");
        let (status, body) = server
            .post(
                "/api/v1/users.register",
                None,
                json!({"username": name, "email": format!("{name}@example.com"), "pass": PASSWORD, "name": name}),
            )
            .await;
        assert_eq!(status, 200, "{label}: register: {body}");
        clients.push(Client {
            index,
            session: server.login(&name, PASSWORD).await,
            rng: Rng(seed ^ (0x9E37_79B9_7F4A_7C15_u64.wrapping_mul(index as u64 + 1))),
            next: 0,
            mine: BTreeMap::new(),
            follows: BTreeMap::new(),
            tally: Tally::default(),
            refusals: Vec::new(),
        });
    }
    (admin, clients)
}

/// `CYCLES` kill/restart cycles over one store; `start` makes the serve command.
async fn crash_cycles(label: &str, start: impl Fn() -> Command) {
    let seed = seed();
    eprintln!("crash ({label}): seed {seed} (THREADSYNC_CRASH_SEED={seed} replays the choices)");
    let began = Instant::now();
    let mut rng = Rng(seed.rotate_left(17).max(1));
    let mut server = tokio::task::block_in_place(|| Server::start(start()));
    let (admin, mut clients) = setup(&server, label, seed).await;
    let roots: Arc<Mutex<Vec<String>>> = Arc::default();
    let mut restart_ms = Vec::new();

    for cycle in 0..CYCLES {
        let api = server.endpoint();
        let tasks: Vec<_> =
            clients.drain(..).map(|c| tokio::spawn(c.run(api.clone(), Arc::clone(&roots), cycle))).collect();
        let delay = KILL_AFTER_MS.start + rng.next() % (KILL_AFTER_MS.end - KILL_AFTER_MS.start);
        tokio::time::sleep(Duration::from_millis(delay)).await;
        let status = tokio::task::block_in_place(|| server.kill9());
        assert_eq!(
            status.signal(),
            Some(9),
            "{label} cycle {cycle}: the server must die of the SIGKILL, not before ({status})\n{}",
            server.log()
        );
        for task in tasks {
            let client = tokio::time::timeout(CLIENT_STOP_TIMEOUT, task)
                .await
                .unwrap_or_else(|_| panic!("{label} cycle {cycle}: a client kept running after the kill"))
                .expect("client task");
            clients.push(client);
        }

        let restarted = Instant::now();
        server = tokio::task::block_in_place(|| Server::start(start()));
        restart_ms.push(restarted.elapsed().as_millis());
        let snap = snapshot(&server, &admin, &clients, label).await;
        let mut problems = Vec::new();
        check_invariants(&snap, &clients, &mut problems);
        check_ledgers(&snap, &mut clients, &roots, &mut problems);
        assert!(
            problems.is_empty(),
            "{label} cycle {cycle} (seed {seed}, killed after {delay} ms): {} problems after the restart:\n{}\n\
             --- log of the restarted server ---\n{}",
            problems.len(),
            problems.join("\n"),
            server.log()
        );
        let threads = snap.threads.len();
        let live = snap.live.len();
        eprintln!(
            "crash ({label}) cycle {cycle}: killed after {delay} ms; {live} messages, {} removed, {threads} threads: ok",
            snap.tombstones.len()
        );
    }

    // After all that, the server still stops cleanly.
    let status = tokio::task::block_in_place(|| server.terminate());
    assert_eq!(status.code(), Some(0), "{label}: exit after SIGTERM: {status}\n{}", server.log());

    let mut total = Tally::default();
    let mut refusals = Vec::new();
    for client in &clients {
        total.add(&client.tally);
        refusals.extend(client.refusals.iter().cloned());
    }
    if !refusals.is_empty() {
        eprintln!("crash ({label}): refused writes (not applied, checked absent): {refusals:#?}");
    }
    eprintln!(
        "crash ({label}): {CYCLES} kill -9 cycles in {:.1} s (restarts {restart_ms:?} ms); {} writes attempted: \
         {} answered 200, {} refused, {} unanswered ({} found applied, {} not); {} ledger checks after restarts, \
         0 problems",
        began.elapsed().as_secs_f64(),
        total.attempted,
        total.ok,
        total.refused,
        total.unknown,
        total.unknown_applied,
        total.unknown_not_applied,
        total.checks,
    );
    assert_eq!(
        total.unknown_applied + total.unknown_not_applied,
        total.unknown,
        "{label}: every unanswered write is resolved by the next restart"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_keeps_every_answered_write_across_kill_9() {
    let data = tempfile::tempdir().expect("temp dir");
    let dir = data.path().to_path_buf();
    crash_cycles("sqlite", || serve_cmd(&dir)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[cfg_attr(not(postgres_tests), ignore = "TEST_DATABASE_URL is not set: PostgreSQL tests need a server")]
async fn postgres_keeps_every_answered_write_across_kill_9() {
    let db = PgSchema::create().await;
    let data = tempfile::tempdir().expect("temp dir");
    let dir: &Path = data.path();
    crash_cycles("postgres", || pg_serve_cmd(dir, &db)).await;
    db.drop().await;
}
