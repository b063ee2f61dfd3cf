//! Before the clock starts: the admin turns the rate limiter off, a pool of
//! users is registered (or logged in again on a later run), and threads with
//! replies are written so that the reads have something to read.

use crate::client::{CallError, Conn, Session};
use crate::stats::{Op, Stats};
use crate::target::Target;
use anyhow::{anyhow, bail, Context};
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::task::JoinSet;

/// The room every thread of a run lives in (created by the server's bootstrap).
pub const ROOM: &str = "GENERAL";
/// `updatedSince` for "everything".
pub const EPOCH: &str = "1970-01-01T00:00:00.000Z";
/// A full resync gives up after this many pages (a safety bound, far above
/// any thread this tool writes).
const MAX_PAGES: usize = 100_000;

pub struct Plan {
    pub users: usize,
    pub user_prefix: String,
    pub user_pass: String,
    pub threads: usize,
    pub replies: usize,
    /// The size of the one big thread (`s2`), if one is needed.
    pub big_replies: Option<usize>,
    pub request_timeout: Duration,
    /// `search`: `--search-top` (0: the whole vocabulary).
    pub search_top: Option<usize>,
}

/// A thread of the run and the stamps of its changes, oldest first, as a
/// full sync saw them at the end of the set-up.
#[derive(Clone, Debug)]
pub struct Thread {
    pub id: String,
    /// The room of the thread (sends, edits and deletes name it).
    pub rid: String,
    pub stamps: Vec<String>,
}

pub struct World {
    /// `(username, session)`, one per connection.
    pub users: Vec<(String, Session)>,
    pub threads: Vec<Thread>,
    pub big: Option<Thread>,
    /// What the `search` scenario searches (from a manifest).
    pub search: Option<SearchWorld>,
}

/// The rooms and words of a seeded dataset, for `search`.
pub struct SearchWorld {
    pub rooms: Vec<String>,
    /// Most frequent first.
    pub vocabulary: Vec<String>,
    /// Draw words among this many of the most frequent (0: all).
    pub top: usize,
}

pub async fn prepare(
    target: &Target,
    plan: &Plan,
    admin_user: &str,
    admin_pass: &str,
) -> anyhow::Result<World> {
    let admin = admin_connection(target, plan.request_timeout, admin_user, admin_pass).await?;

    let started = Instant::now();
    let users = register_users(target, plan).await?;
    eprintln!("set-up: {} users ready in {:.1} s", users.len(), started.elapsed().as_secs_f64());

    let started = Instant::now();
    let mut parents = Vec::new();
    for t in 0..plan.threads + usize::from(plan.big_replies.is_some()) {
        let body = admin
            .post(
                "/api/v1/chat.sendMessage",
                &json!({"message": {"rid": ROOM, "msg": format!("threadsync-load thread {t}")}}),
            )
            .await
            .context("cannot post a thread parent")?;
        parents.push(message_id(&body).context("thread parent")?);
    }
    let big_id = plan.big_replies.map(|_| parents.remove(plan.threads));
    // Reply `j` goes to thread `j % threads`; the big thread's replies follow.
    let mut targets: Vec<String> =
        (0..plan.threads * plan.replies).map(|j| parents[j % plan.threads].clone()).collect();
    if let (Some(id), Some(n)) = (&big_id, plan.big_replies) {
        targets.extend(std::iter::repeat_n(id.clone(), n));
    }
    let written = targets.len();
    write_replies(target, plan, &users, Arc::new(targets)).await?;
    eprintln!(
        "set-up: {} threads, {written} replies written in {:.1} s",
        parents.len() + usize::from(big_id.is_some()),
        started.elapsed().as_secs_f64()
    );

    let mut threads = Vec::new();
    for id in parents {
        let stamps =
            full_resync(&admin, &id, None).await.with_context(|| format!("cannot sync thread {id}"))?;
        threads.push(Thread { id, rid: ROOM.to_owned(), stamps });
    }
    let big = match big_id {
        Some(id) => {
            let stamps = full_resync(&admin, &id, None).await.context("cannot sync the big thread")?;
            Some(Thread { id, rid: ROOM.to_owned(), stamps })
        }
        None => None,
    };
    Ok(World { users, threads, big, search: None })
}

/// Turns the server's rate limiter off as `admin` (its default budget is
/// far below what a load run sends); the admin's connection.
pub async fn admin_connection(
    target: &Target,
    timeout: Duration,
    admin_user: &str,
    admin_pass: &str,
) -> anyhow::Result<Conn> {
    let mut admin = Conn::new(target, timeout)?;
    let session = admin.login(admin_user, admin_pass).await.map_err(|e| match e.status() {
        Some(401) => {
            anyhow!("admin login as {admin_user:?} refused (401): check --admin-user / --admin-pass")
        }
        _ => anyhow!("admin login as {admin_user:?} failed: {e}"),
    })?;
    admin.session = Some(session);
    admin
        .post("/api/v1/settings/API_Enable_Rate_Limiter", &json!({"value": false}))
        .await
        .context("cannot turn the rate limiter off (is the admin an admin?)")?;
    Ok(admin)
}

/// The parts of a `threadsync seed` manifest the load tool uses.
#[derive(Debug, Deserialize)]
pub struct Manifest {
    pub admin: Credentials,
    pub users: ManifestUsers,
    pub mega_thread: Option<String>,
    pub threads: Vec<ManifestThread>,
    #[serde(default)]
    pub rooms: Vec<ManifestRoom>,
    /// The words of the seeded texts, most frequent first (manifests
    /// written before the vocabulary was recorded have none).
    #[serde(default)]
    pub vocabulary: Vec<String>,
}

#[derive(Debug, Deserialize)]
pub struct ManifestRoom {
    #[serde(rename = "_id")]
    pub id: String,
}

#[derive(Debug, Deserialize)]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

#[derive(Debug, Deserialize)]
pub struct ManifestUsers {
    pub password: String,
    pub usernames: Vec<String>,
}

#[derive(Debug, Deserialize)]
pub struct ManifestThread {
    pub tmid: String,
    pub rid: String,
    /// Live replies.
    pub replies: u64,
    /// Deleted replies (each a tombstone in the feed).
    pub deleted: u64,
    #[serde(default)]
    pub mega: bool,
}

impl Manifest {
    pub fn read(path: &std::path::Path) -> anyhow::Result<Manifest> {
        let text =
            std::fs::read(path).with_context(|| format!("cannot read the manifest {}", path.display()))?;
        let manifest: Manifest = serde_json::from_slice(&text)
            .with_context(|| format!("{} is not a threadsync seed manifest", path.display()))?;
        if manifest.users.usernames.is_empty() || manifest.threads.is_empty() {
            bail!("the manifest {} has no users or no threads", path.display());
        }
        Ok(manifest)
    }

    /// `want` threads for the hot reads and the writes, chosen the same way
    /// on every run: threads with 6 to 5,000 changes (enough for a delta of
    /// 0-5 changes, small enough to resync at set-up), spread evenly over
    /// the manifest's list (which mixes rooms and sizes).
    fn pick_threads(&self, want: usize) -> Vec<&ManifestThread> {
        let fits: Vec<&ManifestThread> = self
            .threads
            .iter()
            .filter(|t| !t.mega && (6..=5_000).contains(&(t.replies + t.deleted)))
            .collect();
        let step = (fits.len() / want.max(1)).max(1);
        fits.into_iter().step_by(step).take(want).collect()
    }

    /// The thread `s2` resyncs: the mega-thread, else the largest.
    fn big_thread(&self) -> Option<&ManifestThread> {
        match &self.mega_thread {
            Some(id) => self.threads.iter().find(|t| &t.tmid == id),
            None => self.threads.iter().max_by_key(|t| t.replies + t.deleted),
        }
    }
}

/// The set-up on a seeded server (`threadsync seed`): no writes; the pool
/// users are the manifest's (connection `i` logs in as user `i` modulo
/// their number), the threads are picked from it and resynced once to
/// learn their change stamps.
pub async fn prepare_from_manifest(
    target: &Target,
    plan: &Plan,
    manifest: &Manifest,
) -> anyhow::Result<World> {
    let admin =
        admin_connection(target, plan.request_timeout, &manifest.admin.username, &manifest.admin.password)
            .await?;
    let started = Instant::now();
    let mut tasks = JoinSet::new();
    for i in 0..plan.users {
        let name = manifest.users.usernames[i % manifest.users.usernames.len()].clone();
        let pass = manifest.users.password.clone();
        let conn = Conn::new(target, plan.request_timeout)?;
        tasks.spawn(async move {
            let session = conn.login(&name, &pass).await.map_err(|e| anyhow!("cannot log {name} in: {e}"))?;
            Ok::<_, anyhow::Error>((i, name, session))
        });
    }
    let users = sessions_in_order(tasks).await?;
    eprintln!("set-up: {} sessions ready in {:.1} s", users.len(), started.elapsed().as_secs_f64());

    let started = Instant::now();
    let mut threads = Vec::new();
    for t in manifest.pick_threads(plan.threads) {
        let stamps = full_resync(&admin, &t.tmid, None)
            .await
            .with_context(|| format!("cannot sync thread {}", t.tmid))?;
        threads.push(Thread { id: t.tmid.clone(), rid: t.rid.clone(), stamps });
    }
    if threads.is_empty() {
        bail!("the manifest has no thread with 6 to 5,000 changes");
    }
    let big = match plan.big_replies.and(manifest.big_thread()) {
        Some(t) => {
            let stamps = full_resync(&admin, &t.tmid, None).await.context("cannot sync the big thread")?;
            Some(Thread { id: t.tmid.clone(), rid: t.rid.clone(), stamps })
        }
        None => None,
    };
    eprintln!(
        "set-up: {} threads ({} changes){} resynced in {:.1} s",
        threads.len(),
        threads.iter().map(|t| t.stamps.len()).sum::<usize>(),
        big.as_ref().map(|b| format!(" and a big thread of {} changes", b.stamps.len())).unwrap_or_default(),
        started.elapsed().as_secs_f64()
    );
    let search = plan.search_top.map(|top| SearchWorld {
        rooms: manifest.rooms.iter().map(|r| r.id.clone()).collect(),
        vocabulary: manifest.vocabulary.clone(),
        top,
    });
    if search.as_ref().is_some_and(|s| s.rooms.is_empty() || s.vocabulary.is_empty()) {
        bail!("the manifest lists no rooms or no vocabulary: seed the dataset again with this version");
    }
    Ok(World { users, threads, big, search })
}

/// Logs each user of the pool in, registering those that do not exist yet.
pub async fn register_users(target: &Target, plan: &Plan) -> anyhow::Result<Vec<(String, Session)>> {
    let mut tasks = JoinSet::new();
    for i in 0..plan.users {
        let name = format!("{}{i}", plan.user_prefix);
        let pass = plan.user_pass.clone();
        let conn = Conn::new(target, plan.request_timeout)?;
        tasks.spawn(async move {
            // Register first, then log in: logging in first would make every
            // new user a failed login, and the server's login brake blocks an
            // address after a few of those. A refused registration is taken
            // as "exists already" (a later run on the same server); the
            // login then tells whether the password matches.
            let body =
                json!({"username": name, "email": format!("{name}@example.com"), "pass": pass, "name": name});
            let registered = match conn.post_as("/api/v1/users.register", &body, None).await {
                Ok(_) => Ok(()),
                Err(e) if e.status() == Some(400) => Err(e),
                Err(e) => return Err(anyhow!("cannot register user {name}: {e}")),
            };
            let session = conn.login(&name, &pass).await.map_err(|e| match registered {
                Ok(()) => anyhow!("cannot log {name} in: {e}"),
                Err(refused) => anyhow!(
                    "user {name}: registration refused ({refused}) and login failed ({e}); \
                     another --user-prefix or --user-pass?"
                ),
            })?;
            Ok::<_, anyhow::Error>((i, name, session))
        });
    }
    sessions_in_order(tasks).await
}

/// The `(index, username, session)` of every login task, as
/// `(username, session)` in index order (connection `i` gets entry `i`).
async fn sessions_in_order(
    mut tasks: JoinSet<anyhow::Result<(usize, String, Session)>>,
) -> anyhow::Result<Vec<(String, Session)>> {
    let mut users = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        users.push(joined.context("a set-up task panicked")??);
    }
    users.sort_by_key(|(i, _, _)| *i);
    Ok(users.into_iter().map(|(_, name, session)| (name, session)).collect())
}

/// Sends reply `j` of `targets` (a thread id each) as user `j % users`.
async fn write_replies(
    target: &Target,
    plan: &Plan,
    users: &[(String, Session)],
    targets: Arc<Vec<String>>,
) -> anyhow::Result<()> {
    let mut tasks = JoinSet::new();
    for (u, (_, session)) in users.iter().enumerate() {
        let mut conn = Conn::new(target, plan.request_timeout)?;
        conn.session = Some(session.clone());
        let (targets, step) = (Arc::clone(&targets), users.len());
        tasks.spawn(async move {
            for j in (u..targets.len()).step_by(step) {
                let body =
                    json!({"message": {"rid": ROOM, "tmid": targets[j], "msg": format!("set-up reply {j}")}});
                conn.post("/api/v1/chat.sendMessage", &body).await.context("cannot write a set-up reply")?;
            }
            Ok::<_, anyhow::Error>(())
        });
    }
    while let Some(joined) = tasks.join_next().await {
        joined.context("a set-up task panicked")??;
    }
    Ok(())
}

pub fn message_id(body: &Value) -> anyhow::Result<String> {
    body["message"]["_id"].as_str().map(str::to_owned).ok_or_else(|| anyhow!("no message._id in {body}"))
}

/// `chat.syncThreadMessages` of `tmid` after `since`; `count=0` asks for as
/// many as the server gives in one page.
pub fn sync_path(tmid: &str, since: &str, all: bool) -> String {
    let count = if all { "&count=0" } else { "" };
    format!("/api/v1/chat.syncThreadMessages?tmid={tmid}&updatedSince={since}{count}")
}

/// The change stamps of a sync page (`update[]._updatedAt` and
/// `remove[]._deletedAt`), in page order. Stamps are fixed-width ISO-8601
/// UTC strings, so they compare as strings.
pub fn page_stamps(body: &Value) -> Result<Vec<String>, CallError> {
    let messages = &body["messages"];
    let (Some(update), Some(remove)) = (messages["update"].as_array(), messages["remove"].as_array()) else {
        return Err(CallError::Body(format!("no messages.update / messages.remove in {body:.200}")));
    };
    let mut stamps = Vec::with_capacity(update.len() + remove.len());
    for (list, key) in [(update, "_updatedAt"), (remove, "_deletedAt")] {
        for item in list {
            let stamp =
                item[key].as_str().ok_or_else(|| CallError::Body(format!("a change without {key}")))?;
            stamps.push(stamp.to_owned());
        }
    }
    Ok(stamps)
}

/// A full resync of a thread from the epoch: `count=0` pages, each asked
/// from the greatest stamp of the previous one, until a page comes back
/// empty or shorter than the largest page seen (the server's cap). Each page
/// is recorded in `stats` when given. Returns every change stamp, sorted.
pub async fn full_resync(conn: &Conn, tmid: &str, stats: Option<&Stats>) -> Result<Vec<String>, CallError> {
    let mut since = EPOCH.to_owned();
    let mut all = Vec::new();
    let mut largest = 0;
    for _ in 0..MAX_PAGES {
        let started = Instant::now();
        let page = conn.get(&sync_path(tmid, &since, true)).await.and_then(|body| page_stamps(&body));
        if let Some(stats) = stats {
            let outcome = page
                .as_ref()
                .map(|_| ())
                .map_err(|e| format!("{} (resync page): {e}", Op::SyncThread.name()));
            stats.record(Op::SyncThread, started.elapsed(), outcome);
        }
        let page = page?;
        let n = page.len();
        if let Some(max) = page.iter().max() {
            since.clone_from(max);
        }
        all.extend(page);
        if n == 0 || n < largest {
            all.sort_unstable();
            return Ok(all);
        }
        largest = largest.max(n);
    }
    Err(CallError::Body(format!("thread {tmid}: no end after {MAX_PAGES} pages")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn thread(id: usize, replies: u64, mega: bool) -> ManifestThread {
        ManifestThread { tmid: format!("t{id}"), rid: "R".to_owned(), replies, deleted: 0, mega }
    }

    fn manifest(threads: Vec<ManifestThread>, mega: Option<&str>) -> Manifest {
        Manifest {
            admin: Credentials { username: "a".to_owned(), password: "p".to_owned() },
            users: ManifestUsers { password: "p".to_owned(), usernames: vec!["u".to_owned()] },
            mega_thread: mega.map(str::to_owned),
            threads,
            rooms: Vec::new(),
            vocabulary: Vec::new(),
        }
    }

    #[test]
    fn threads_are_picked_evenly_among_those_that_fit() {
        // t0 is the mega-thread, t1..t3 too small, t4..t103 fit, t104 too big.
        let mut threads = vec![thread(0, 100_000, true)];
        threads.extend((1..4).map(|i| thread(i, 3, false)));
        threads.extend((4..104).map(|i| thread(i, 10 + i as u64, false)));
        threads.push(thread(104, 6_000, false));
        let m = manifest(threads, Some("t0"));
        let picked: Vec<&str> = m.pick_threads(10).iter().map(|t| t.tmid.as_str()).collect();
        assert_eq!(picked.len(), 10);
        assert_eq!(picked[0], "t4");
        assert_eq!(picked[9], "t94", "every 10th of the 100 that fit");
        assert_eq!(m.pick_threads(1000).len(), 100, "no more than fit");
        assert_eq!(m.big_thread().map(|t| t.tmid.as_str()), Some("t0"));
        let no_mega = manifest(vec![thread(1, 50, false), thread(2, 70, false)], None);
        assert_eq!(no_mega.big_thread().map(|t| t.tmid.as_str()), Some("t2"), "else the largest");
    }

    #[test]
    fn a_seed_manifest_parses() {
        let text = r#"{"seed": 1, "admin": {"username": "seed-admin", "password": "pw"},
            "users": {"password": "pw", "usernames": ["seed-user-0"]},
            "rooms": [{"_id": "R", "name": "r"}], "mega_thread": null,
            "threads": [{"tmid": "T", "rid": "R", "replies": 7, "deleted": 1, "mega": false,
                         "last_stamp": "2026-11-26T09:31:17.529Z"}],
            "time_range": {"from": "2026-11-26T09:31:17.529Z", "to": "2026-11-26T09:32:40.483Z"}}"#;
        let m: Manifest = serde_json::from_str(text).expect("parses");
        assert_eq!(
            (m.admin.username.as_str(), m.threads[0].replies + m.threads[0].deleted),
            ("seed-admin", 8)
        );
    }
}
