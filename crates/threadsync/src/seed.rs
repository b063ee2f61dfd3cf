//! `threadsync seed`: a deterministic benchmark dataset, written straight
//! into the store through the bulk path (`ImportStore`).
//!
//! The same arguments and seed give the same dataset (ids, texts, thread
//! sizes, timestamps relative to the start). Shape:
//! - thread sizes follow a Zipf law (a few huge threads, a long tail); with
//!   `--messages` ≥ 1M, one mega-thread gets 100,000 replies;
//! - about 5% of replies are edited and 2% deleted (tombstones);
//! - time advances one millisecond every few events across all rooms, so
//!   many writes of different rooms share a millisecond, while stamps stay
//!   unique within each room (the room-clock rule of the live server, which
//!   also moves each room's clock past the imported stamps).
//!
//! Documents are generated in time order and imported in batches; thread
//! parents are written last, when their final counters are known.

use crate::cli::SeedArgs;
use crate::config::Config;
use crate::serve::open_store;
use anyhow::{bail, Context};
use indicatif::{ProgressBar, ProgressStyle};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Map, Value};
use std::sync::Arc;
use threadsync_domain::{Email, Message, Room, RoomType, Subscription, Timestamp, Tombstone, User, UserRef};
use threadsync_storage::{ImportBatch, Store};

/// The password of every seeded user (and of the seeded admin).
pub const SEED_PASSWORD: &str = "seed-password";
const ADMIN_USERNAME: &str = "seed-admin";
/// Replies of the mega-thread, when the dataset has at least a million messages.
const MEGA_THREAD_REPLIES: u64 = 100_000;
const MEGA_THREAD_FROM: u64 = 1_000_000;
/// Documents per import transaction: bounds the memory one transaction
/// holds and lets other writes in between. On SQLite an import runs alone
/// in its transaction, without the savepoint the writer gives ordinary
/// writes: under a savepoint every statement's end walks the in-memory
/// journal of the whole transaction, and a batch's cost grew with its size
/// squared (20,000 per batch: 2 min 37 s for 200k messages; 2,000: 53 s;
/// alone: 7 s).
const BATCH: usize = 2_000;
const ZIPF_EXPONENT: f64 = 1.07;
const EDITED: f64 = 0.05;
const DELETED: f64 = 0.02;
const ALPHABET: &[u8] = b"23456789ABCDEFGHJKLMNPQRSTWXYZabcdefghijkmnopqrstuvwxyz";
const WORDS: &[&str] = &[
    "deploy", "rollback", "review", "merge", "latency", "thread", "sync", "index", "cache", "query",
    "release", "incident", "metrics", "schema", "backup", "ticket", "design", "hotfix", "build", "test",
];

/// A thread being generated: its parent and its counters so far.
struct ThreadState {
    parent: Message,
    room: usize,
    /// Replies still to write (deleted ones included).
    remaining: u64,
    live: u64,
    deleted: u64,
    mega: bool,
}

/// A room's clock: stamps unique within the room.
struct RoomClock {
    last: i64,
}

impl RoomClock {
    fn tick(&mut self, now: i64) -> Timestamp {
        self.last = now.max(self.last + 1);
        Timestamp(self.last)
    }
}

fn meteor_id(rng: &mut StdRng) -> String {
    (0..17).map(|_| char::from(ALPHABET[rng.gen_range(0..ALPHABET.len())])).collect()
}

/// Words in seeded texts: [`WORDS`] first (the most frequent), then
/// made-up words of two to four syllables, some with a diacritic.
const VOCABULARY: usize = 5_000;
/// Word frequencies follow Zipf's law with this exponent (rank `r` is
/// drawn in proportion to `1 / r^s`), as in natural text: a search for a
/// common word matches a large share of a room, a rare one a handful.
const WORD_EXPONENT: f64 = 1.0;

/// The words of seeded message texts and how often each is drawn. Texts
/// come from their own random stream (seeded from `--seed`), so the ids,
/// threads and stamps of a dataset do not depend on the vocabulary.
struct Vocabulary {
    words: Vec<String>,
    /// Cumulative probability of each rank.
    cdf: Vec<f64>,
    rng: StdRng,
}

impl Vocabulary {
    fn new(seed: u64) -> Vocabulary {
        const ONSETS: &[&str] =
            &["b", "d", "f", "g", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z", "br", "st", "tr"];
        const VOWELS: &[&str] = &["a", "e", "i", "o", "u", "ai", "ou"];
        let mut rng = StdRng::seed_from_u64(seed ^ 0x7365_6172_6368);
        let mut words: Vec<String> = WORDS.iter().map(|w| (*w).to_owned()).collect();
        let mut seen: std::collections::HashSet<String> = words.iter().cloned().collect();
        while words.len() < VOCABULARY {
            let syllables = rng.gen_range(2..=4);
            let mut word: String = (0..syllables)
                .map(|_| {
                    format!(
                        "{}{}",
                        ONSETS[rng.gen_range(0..ONSETS.len())],
                        VOWELS[rng.gen_range(0..VOWELS.len())]
                    )
                })
                .collect();
            // One word in 25 carries an accent: searches fold it away.
            if words.len().is_multiple_of(25) {
                word = word.replacen('e', "é", 1);
            }
            if seen.insert(word.clone()) {
                words.push(word);
            }
        }
        let weights: Vec<f64> = (1..=words.len()).map(|r| 1.0 / (r as f64).powf(WORD_EXPONENT)).collect();
        let total: f64 = weights.iter().sum();
        let mut acc = 0.0;
        let cdf = weights
            .iter()
            .map(|w| {
                acc += w / total;
                acc
            })
            .collect();
        Vocabulary { words, cdf, rng: StdRng::seed_from_u64(seed ^ 0x7465_7874) }
    }

    fn word(&mut self) -> &str {
        let roll: f64 = self.rng.gen();
        let rank = self.cdf.partition_point(|&c| c < roll).min(self.words.len() - 1);
        &self.words[rank]
    }

    fn text(&mut self, words: usize) -> String {
        (0..words).map(|_| self.word().to_owned()).collect::<Vec<_>>().join(" ")
    }
}

/// Reply counts per thread: Zipf-distributed, summing to `total`.
fn zipf_sizes(threads: u64, total: u64) -> Vec<u64> {
    let n = usize::try_from(threads).unwrap_or(usize::MAX);
    let weights: Vec<f64> = (1..=n).map(|k| 1.0 / (k as f64).powf(ZIPF_EXPONENT)).collect();
    let sum: f64 = weights.iter().sum();
    let mut sizes: Vec<u64> = weights.iter().map(|w| ((total as f64) * w / sum).floor() as u64).collect();
    let mut left = total.saturating_sub(sizes.iter().sum());
    let mut i = 0;
    while left > 0 && n > 0 {
        sizes[i % n] += 1;
        left -= 1;
        i += 1;
    }
    sizes
}

fn user_ref(user: &User) -> UserRef {
    UserRef { id: user.id.clone(), username: user.username.clone(), name: Some(user.name.clone()) }
}

fn new_message(id: String, rid: &str, author: &User, msg: String, at: Timestamp) -> Message {
    // Seeded messages carry `md` like every other (their words mention nobody).
    let md = threadsync_service::message_markup(&msg);
    Message {
        id,
        rid: rid.to_owned(),
        msg,
        ts: at,
        u: user_ref(author),
        updated_at: at,
        mentions: Vec::new(),
        channels: Vec::new(),
        tmid: None,
        tshow: None,
        tcount: None,
        tlm: None,
        replies: None,
        t: None,
        edited_at: None,
        edited_by: None,
        md,
        extra: Map::new(),
    }
}

fn subscription(rng: &mut StdRng, room: &Room, user: &User, at: Timestamp) -> Subscription {
    let name = room.name.clone().unwrap_or_default();
    Subscription {
        id: meteor_id(rng),
        rid: room.id.clone(),
        u: UserRef { id: user.id.clone(), username: user.username.clone(), name: None },
        t: room.t,
        name: name.clone(),
        fname: name,
        ts: at,
        ls: Some(at),
        updated_at: at,
        open: true,
        alert: false,
        unread: 0,
        user_mentions: 0,
        group_mentions: 0,
        tunread: Vec::new(),
        roles: Vec::new(),
        f: false,
        archived: false,
        ignored: Vec::new(),
    }
}

pub async fn run(args: SeedArgs) -> anyhow::Result<()> {
    if args.threads == 0 || args.rooms == 0 || args.users == 0 {
        bail!("--threads, --rooms and --users must be at least 1");
    }
    if args.messages < args.threads.saturating_mul(2) {
        bail!("--messages must be at least twice --threads (every thread needs a parent and replies)");
    }
    if args.users > 1_000_000 || args.rooms > 10_000 {
        bail!("at most 1,000,000 users and 10,000 rooms");
    }
    let store = open_store(&store_config(&args)).await?;
    let result = seed(&store, &args).await;
    store.close().await;
    let manifest = result?;
    let path = args.manifest.clone().unwrap_or_else(|| args.data.join("manifest.json"));
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    std::fs::write(&path, serde_json::to_vec_pretty(&manifest)?)
        .with_context(|| format!("cannot write the manifest {}", path.display()))?;
    eprintln!("seeded; manifest: {}", path.display());
    Ok(())
}

/// The store `seed` writes into: the one `serve` would open with the same
/// data directory or database.
fn store_config(args: &SeedArgs) -> Config {
    Config {
        listen: String::new(),
        data: args.data.clone(),
        database_url: args.database_url.clone(),
        pg_schema: args.pg_schema.clone(),
        pg_pool_size: 4,
        pg_read_connections: 1,
        pg_connect_attempts: crate::config::DEFAULT_PG_CONNECT_ATTEMPTS,
        pg_ca_file: None,
        sqlite_readers: 1,
        max_sync_items: crate::config::DEFAULT_MAX_SYNC_ITEMS,
        tombstone_retention_days: None,
        presence_lease_secs: crate::config::DEFAULT_PRESENCE_LEASE_SECS,
        log: "warn".into(),
        bench_endpoints: false,
        create_tokens_for_users: false,
        create_tokens_for_users_secret: None,
    }
}

async fn seed(store: &Arc<dyn Store>, args: &SeedArgs) -> anyhow::Result<Value> {
    if store.count_users().await? > 0 {
        bail!("the store already has users: seed into a new data directory or database");
    }
    let mut rng = StdRng::seed_from_u64(args.seed);
    let mut vocabulary = Vocabulary::new(args.seed);
    let started = Timestamp::now().millis();
    // One bcrypt hash for everyone: hashing a million passwords at cost 10
    // would take hours and measure nothing.
    let hash = threadsync_service::hash_password(SEED_PASSWORD, 10)?;

    let plain_total = args.messages / 10;
    let replies_total = args.messages - args.threads - plain_total.min(args.messages - args.threads);
    let plain_total = args.messages - args.threads - replies_total;
    let mega = args.messages >= MEGA_THREAD_FROM && replies_total > MEGA_THREAD_REPLIES;
    let mut sizes = if mega {
        let mut rest = zipf_sizes(args.threads - 1, replies_total - MEGA_THREAD_REPLIES);
        rest.insert(0, MEGA_THREAD_REPLIES);
        rest
    } else {
        zipf_sizes(args.threads, replies_total)
    };

    // Events happen about one per (rooms + 1) per millisecond, so the run
    // ends near "now" and many rooms share each millisecond.
    let events = args.messages;
    let rooms_n = args.rooms + 1;
    let mut now_ms = started - i64::try_from(events / rooms_n).unwrap_or(0) - 1_000;
    let time_from = now_ms;

    let make_user = |rng: &mut StdRng, username: String, roles: Vec<String>| User {
        id: meteor_id(rng),
        name: username.clone(),
        emails: vec![Email { address: format!("{username}@seed.example"), verified: true }],
        username,
        password_hash: Some(hash.clone()),
        roles,
        active: true,
        status: "offline".into(),
        status_text: String::new(),
        status_default: "online".into(),
        status_connection: "offline".into(),
        last_login: None,
        utc_offset: 0.0,
        kind: "user".into(),
        created_at: Timestamp(now_ms),
        updated_at: Timestamp(now_ms),
    };
    let admin = make_user(&mut rng, ADMIN_USERNAME.into(), vec!["admin".into(), "user".into()]);
    let users: Vec<User> =
        (0..args.users).map(|i| make_user(&mut rng, format!("seed-user-{i}"), vec!["user".into()])).collect();

    let mut rooms: Vec<Room> = Vec::new();
    for i in 0..rooms_n {
        let (id, name) = if i == 0 {
            ("GENERAL".to_owned(), "general".to_owned())
        } else {
            (meteor_id(&mut rng), format!("seed-room-{i}"))
        };
        rooms.push(Room {
            name: Some(name.clone()),
            fname: Some(name),
            creator: Some(user_ref(&admin)),
            is_default: i == 0,
            ..Room::new(id, RoomType::Channel, Timestamp(now_ms))
        });
    }
    let mut first = ImportBatch { users: vec![admin.clone()], ..ImportBatch::default() };
    first.users.extend(users.iter().cloned());
    for room in &rooms {
        let subs: Vec<Subscription> = std::iter::once(&admin)
            .chain(users.iter())
            .map(|u| subscription(&mut rng, room, u, Timestamp(now_ms)))
            .collect();
        first.rooms.push((room.clone(), subs));
    }
    store.import(first).await.context("importing users and rooms")?;

    let progress = ProgressBar::new(events);
    progress.set_style(
        ProgressStyle::with_template(
            "{spinner} seeding {bar:40} {pos}/{len} messages ({per_sec}, eta {eta})",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut clocks: Vec<RoomClock> = rooms.iter().map(|_| RoomClock { last: now_ms }).collect();
    let mut threads: Vec<ThreadState> = Vec::new();
    // Threads started that still expect replies.
    let mut open: Vec<usize> = Vec::new();
    let (mut parents_left, mut plain_left) = (args.threads, plain_total);
    let mut replies_left = replies_total;
    let (mut edited, mut deleted) = (0u64, 0u64);
    let mut batch = ImportBatch::default();
    let mut written = 0u64;

    while parents_left + plain_left + replies_left > 0 {
        // Time moves on about every (rooms + 1) events.
        if rng.gen_range(0..rooms_n) == 0 {
            now_ms += 1;
        }
        let total = parents_left + plain_left + replies_left;
        let pick = rng.gen_range(0..total);
        // The mega-thread starts first, so its replies spread over the run.
        let start_thread = parents_left > 0 && (threads.is_empty() || pick < parents_left || open.is_empty());
        if start_thread {
            let index = threads.len();
            let room = if index == 0 { 0 } else { rng.gen_range(0..rooms.len()) };
            let author = &users[rng.gen_range(0..users.len())];
            let at = clocks[room].tick(now_ms);
            let parent = new_message(
                meteor_id(&mut rng),
                &rooms[room].id,
                author,
                format!("thread: {}", vocabulary.text(6)),
                at,
            );
            let planned = sizes[index];
            threads.push(ThreadState {
                parent,
                room,
                remaining: planned,
                live: 0,
                deleted: 0,
                mega: mega && index == 0,
            });
            if planned > 0 {
                open.push(index);
            }
            parents_left -= 1;
            progress.inc(1);
            continue;
        }
        if pick < parents_left + plain_left || open.is_empty() {
            if plain_left == 0 {
                // Replies remain but every started thread is full: start more.
                continue;
            }
            let room = rng.gen_range(0..rooms.len());
            let author = &users[rng.gen_range(0..users.len())];
            let at = clocks[room].tick(now_ms);
            batch.messages.push(new_message(
                meteor_id(&mut rng),
                &rooms[room].id,
                author,
                vocabulary.text(8),
                at,
            ));
            plain_left -= 1;
        } else {
            let slot = rng.gen_range(0..open.len());
            let index = open[slot];
            let thread = &mut threads[index];
            let author = &users[rng.gen_range(0..users.len())];
            let clock = &mut clocks[thread.room];
            let at = clock.tick(now_ms);
            let mut reply = new_message(
                meteor_id(&mut rng),
                &thread.parent.rid,
                author,
                format!("re: {}", vocabulary.text(5)),
                at,
            );
            reply.tmid = Some(thread.parent.id.clone());
            // The parent moves with every reply (a tick of its own, as live).
            let parent_at = clock.tick(now_ms);
            let followers = thread.parent.replies.get_or_insert_with(Vec::new);
            if followers.is_empty() {
                followers.push(thread.parent.u.id.clone());
            }
            if !followers.contains(&author.id) {
                followers.push(author.id.clone());
            }
            thread.parent.tlm = Some(at);
            thread.parent.updated_at = parent_at;
            let roll: f64 = rng.gen();
            if roll < DELETED {
                let gone = clock.tick(now_ms);
                batch.tombstones.push(Tombstone {
                    id: reply.id,
                    rid: reply.rid,
                    tmid: reply.tmid,
                    deleted_at: gone,
                });
                thread.parent.updated_at = clock.tick(now_ms);
                thread.deleted += 1;
                deleted += 1;
            } else {
                if roll < DELETED + EDITED {
                    let edit_at = clock.tick(now_ms);
                    reply.msg = format!("{} (edited)", reply.msg);
                    // An edit re-parses, as chat.update does.
                    reply.md = threadsync_service::message_markup(&reply.msg);
                    reply.edited_at = Some(edit_at);
                    reply.edited_by = Some(reply.u.clone());
                    reply.updated_at = edit_at;
                    edited += 1;
                }
                batch.messages.push(reply);
                thread.live += 1;
            }
            thread.parent.tcount = Some(i64::try_from(thread.live).unwrap_or(i64::MAX));
            thread.remaining -= 1;
            if thread.remaining == 0 {
                open.swap_remove(slot);
            }
            replies_left -= 1;
        }
        progress.inc(1);
        if batch.messages.len() + batch.tombstones.len() >= BATCH {
            written += (batch.messages.len() + batch.tombstones.len()) as u64;
            store.import(std::mem::take(&mut batch)).await.context("importing messages")?;
        }
    }
    // Parents last, with their final counters.
    batch.messages.extend(threads.iter().map(|t| t.parent.clone()));
    written += (batch.messages.len() + batch.tombstones.len()) as u64;
    store.import(batch).await.context("importing thread parents")?;
    // Every seeded message carries `md`, so the first `serve` need not walk
    // the store for messages without it: on 5M messages that walk ran
    // through the first benchmark run on a new dataset (BENCHMARKS.md).
    store.mark_markup_backfilled().await.context("recording that every message has md")?;
    progress.finish_and_clear();
    sizes.truncate(threads.len());

    let time_to = clocks.iter().map(|c| c.last).max().unwrap_or(now_ms);
    let thread_list: Vec<Value> = threads
        .iter()
        .map(|t| {
            json!({
                "tmid": t.parent.id,
                "rid": t.parent.rid,
                "replies": t.live,
                "deleted": t.deleted,
                "mega": t.mega,
                "last_stamp": t.parent.updated_at,
            })
        })
        .collect();
    Ok(json!({
        "seed": args.seed,
        "messages": args.messages,
        "documents_written": written,
        "counts": {
            "threads": threads.len(),
            "replies": replies_total,
            "plain": plain_total,
            "edited": edited,
            "deleted": deleted,
        },
        "admin": {"username": ADMIN_USERNAME, "password": SEED_PASSWORD},
        "users": {
            "password": SEED_PASSWORD,
            "usernames": users.iter().map(|u| u.username.clone()).collect::<Vec<_>>(),
        },
        "rooms": rooms.iter().map(|r| json!({"_id": r.id, "name": r.name})).collect::<Vec<_>>(),
        "mega_thread": if mega { Some(threads[0].parent.id.clone()) } else { None },
        "threads": thread_list,
        "time_range": {"from": Timestamp(time_from), "to": Timestamp(time_to)},
        // By frequency rank, most frequent first (`threadsync-load --scenario search`).
        "vocabulary": vocabulary.words,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};
    use clap::Parser;

    /// A seeded store needs no `md` walk at its first start: every message
    /// has `md` and the store says so.
    #[tokio::test]
    async fn a_seeded_store_is_recorded_as_having_markup() {
        let dir = tempfile::tempdir().expect("tempdir");
        let data = dir.path().join("data");
        let data_arg = data.to_str().expect("utf-8 path");
        let args = [
            "seed",
            "--data",
            data_arg,
            "--messages",
            "60",
            "--threads",
            "4",
            "--rooms",
            "2",
            "--users",
            "3",
        ];
        let Command::Seed(mut args) = Cli::parse_from(std::iter::once("threadsync").chain(args)).command
        else {
            panic!("not the seed command");
        };
        // SQLite in the temporary directory, whatever DATABASE_URL says.
        args.database_url = None;
        let config = store_config(&args);
        run(args).await.expect("seed");
        let store = open_store(&config).await.expect("open");
        assert!(store.markup_backfilled().await.expect("read meta"));
        assert!(store.messages_without_markup("", 100).await.expect("walk").is_empty());
        assert!(store.count_users().await.expect("count") > 0);
        store.close().await;
    }

    #[test]
    fn zipf_sizes_sum_and_decrease() {
        let sizes = zipf_sizes(100, 10_000);
        assert_eq!(sizes.iter().sum::<u64>(), 10_000);
        assert!(sizes[0] > sizes[10] && sizes[10] > sizes[99], "{:?}", &sizes[..12]);
        assert_eq!(zipf_sizes(3, 2).iter().sum::<u64>(), 2);
    }

    #[test]
    fn vocabulary_is_deterministic_and_zipf_distributed() {
        let mut a = Vocabulary::new(1);
        let mut b = Vocabulary::new(1);
        assert_eq!(a.words.len(), VOCABULARY);
        assert_eq!(a.words.iter().collect::<std::collections::HashSet<_>>().len(), VOCABULARY, "unique");
        assert_eq!(a.text(50), b.text(50));
        let mut counts = vec![0u32; VOCABULARY];
        for _ in 0..100_000 {
            let w = a.word().to_owned();
            counts[a.words.iter().position(|x| *x == w).expect("a vocabulary word")] += 1;
        }
        // Rank 1 about 11% of words (1 / H(5000)), rank 100 a hundredth of that.
        assert!((9_500..12_500).contains(&counts[0]), "{}", counts[0]);
        assert!(counts[0] > 50 * counts[99], "{} vs {}", counts[0], counts[99]);
        assert!(a.words.iter().any(|w| w.contains('é')));
    }

    #[test]
    fn room_clocks_are_unique_within_a_millisecond() {
        let mut clock = RoomClock { last: 0 };
        let stamps: Vec<i64> = (0..5).map(|_| clock.tick(100).millis()).collect();
        assert_eq!(stamps, vec![100, 101, 102, 103, 104]);
    }
}
