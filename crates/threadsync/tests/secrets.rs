//! Secrets never reach the disk or the log, even at `RUST_LOG=trace`.
//!
//! The real server runs with every log level on while users register, log in
//! (plain password, `{digest, algorithm: "sha-256"}`, `{resume}`), fail a
//! login, post and log out. Then the raw bytes of the database files (SQLite:
//! `threadsync.db` and its `-wal` / `-shm`, read both while the server runs
//! and after it stopped; PostgreSQL: every row of every table of the schema
//! as text) and the whole log must contain no password, no SHA-256 digest of
//! one, and no login token. Passwords are stored as bcrypt of the digest,
//! tokens as `base64(sha256(token))` (service/src/auth.rs); this test is
//! what keeps it that way, and keeps request bodies, headers and query
//! strings out of the log (the access log included).

mod support;

use serde_json::{json, Value};
use std::path::Path;
use support::*;

/// Distinctive values, so a match can only be a leak.
const ALICE_PASS: &str = "Alice-plain-pass-7f3a91c2";
const BOB_PASS: &str = "Bob-digest-pass-5d1e08b4";
const CAROL_PASS: &str = "Carol-created-pass-c60f2e97";
const WRONG_PASS: &str = "Wrong-guess-pass-93be4a10";
const MESSAGE: &str = "an ordinary message that must be stored";
/// A value sent in a query string: the access log names routes, never URLs.
const QUERY_SECRET: &str = "Query-secret-6be02f7d";

/// SHA-256 as lowercase hex (FIPS 180-4), to send digests without a dependency.
fn sha256_hex(data: &[u8]) -> String {
    const K: [u32; 64] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
    ];
    let mut h: [u32; 8] =
        [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];
    let mut padded = data.to_vec();
    padded.push(0x80);
    while padded.len() % 64 != 56 {
        padded.push(0);
    }
    padded.extend_from_slice(&(data.len() as u64 * 8).to_be_bytes());
    for block in padded.chunks(64) {
        let mut w = [0u32; 64];
        for (word, bytes) in w.iter_mut().zip(block.chunks(4)) {
            *word = u32::from_be_bytes(bytes.try_into().expect("4 bytes"));
        }
        for i in 16..64 {
            let s0 = w[i - 15].rotate_right(7) ^ w[i - 15].rotate_right(18) ^ (w[i - 15] >> 3);
            let s1 = w[i - 2].rotate_right(17) ^ w[i - 2].rotate_right(19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16].wrapping_add(s0).wrapping_add(w[i - 7]).wrapping_add(s1);
        }
        let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut hh] = h;
        for (k, wi) in K.iter().zip(w.iter()) {
            let s1 = e.rotate_right(6) ^ e.rotate_right(11) ^ e.rotate_right(25);
            let ch = (e & f) ^ (!e & g);
            let t1 = hh.wrapping_add(s1).wrapping_add(ch).wrapping_add(*k).wrapping_add(*wi);
            let s0 = a.rotate_right(2) ^ a.rotate_right(13) ^ a.rotate_right(22);
            let maj = (a & b) ^ (a & c) ^ (b & c);
            let t2 = s0.wrapping_add(maj);
            hh = g;
            g = f;
            f = e;
            e = d.wrapping_add(t1);
            d = c;
            c = b;
            b = a;
            a = t1.wrapping_add(t2);
        }
        for (x, y) in h.iter_mut().zip([a, b, c, d, e, f, g, hh]) {
            *x = x.wrapping_add(y);
        }
    }
    h.iter().map(|x| format!("{x:08x}")).collect()
}

#[test]
fn sha256_known_answers() {
    assert_eq!(sha256_hex(b""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    assert_eq!(sha256_hex(b"abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    let long = b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    assert_eq!(sha256_hex(long), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

/// What must never be found, each with a name for the failure message.
#[derive(Default)]
struct Secrets(Vec<(String, String)>);

impl Secrets {
    fn add(&mut self, what: impl Into<String>, value: impl Into<String>) {
        self.0.push((what.into(), value.into()));
    }

    /// A password and its SHA-256 digest in both cases (the digest logs a user in as well).
    fn add_password(&mut self, who: &str, password: &str) {
        let digest = sha256_hex(password.as_bytes());
        self.add(format!("{who}'s password"), password);
        self.add(format!("{who}'s password digest"), digest.to_ascii_uppercase());
        self.add(format!("{who}'s password digest"), digest);
    }

    /// The names of the secrets found in `haystack`.
    fn found_in(&self, haystack: &[u8]) -> Vec<String> {
        self.0
            .iter()
            .filter(|(_, value)| contains(haystack, value.as_bytes()))
            .map(|(what, value)| format!("{what} ({value})"))
            .collect()
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

fn login_ok(label: &str, (status, body): (u16, Value)) -> Session {
    assert_eq!(status, 200, "{label}: login: {body}");
    let token = body["data"]["authToken"].as_str().expect("authToken").to_owned();
    assert_eq!(token.len(), 43, "{label}: tokens are 43 characters: {token}");
    Session { user_id: body["data"]["userId"].as_str().expect("userId").to_owned(), token }
}

/// Registers, logs in every way, posts, logs out; returns the secrets used
/// and alice's user id.
async fn exercise(server: &Server, label: &str) -> (Secrets, String) {
    let mut secrets = Secrets::default();
    secrets.add_password("the admin", ADMIN_PASS);
    secrets.add_password("alice", ALICE_PASS);
    secrets.add_password("bob", BOB_PASS);
    secrets.add_password("carol", CAROL_PASS);
    secrets.add_password("a wrong guess", WRONG_PASS);

    let admin = server.login(ADMIN, ADMIN_PASS).await;
    secrets.add("the admin's token", admin.token.clone());
    // This test logs in more often than a client would.
    let (status, body) =
        server.post("/api/v1/settings/API_Enable_Rate_Limiter", Some(&admin), json!({"value": false})).await;
    assert_eq!(status, 200, "{label}: {body}");
    for (name, pass) in [("alice", ALICE_PASS), ("bob", BOB_PASS)] {
        let (status, body) = server
            .post(
                "/api/v1/users.register",
                None,
                json!({"username": name, "email": format!("{name}@example.com"), "pass": pass, "name": name}),
            )
            .await;
        assert_eq!(status, 200, "{label}: register {name}: {body}");
    }
    let (status, body) = server
        .post(
            "/api/v1/users.create",
            Some(&admin),
            json!({"username": "carol", "email": "carol@example.com", "password": CAROL_PASS, "name": "carol"}),
        )
        .await;
    assert_eq!(status, 200, "{label}: users.create: {body}");

    // Plain password, by username and by email.
    let alice = login_ok(
        label,
        server.post("/api/v1/login", None, json!({"user": "alice", "password": ALICE_PASS})).await,
    );
    secrets.add("alice's token", alice.token.clone());
    let alice_by_email = login_ok(
        label,
        server
            .post("/api/v1/login", None, json!({"email": "alice@example.com", "password": ALICE_PASS}))
            .await,
    );
    secrets.add("alice's second token", alice_by_email.token.clone());

    // The digest form: the password itself never travels.
    for (name, pass) in [("bob", BOB_PASS), ("carol", CAROL_PASS)] {
        let digest = json!({"digest": sha256_hex(pass.as_bytes()), "algorithm": "sha-256"});
        let session = login_ok(
            label,
            server.post("/api/v1/login", None, json!({"user": name, "password": digest})).await,
        );
        secrets.add(format!("{name}'s token"), session.token.clone());
        let (status, body) = server
            .post("/api/v1/chat.postMessage", Some(&session), json!({"roomId": "GENERAL", "text": MESSAGE}))
            .await;
        assert_eq!(status, 200, "{label}: post as {name}: {body}");
    }

    // A wrong password is refused (and must not be kept anywhere either).
    let (status, body) =
        server.post("/api/v1/login", None, json!({"user": "alice", "password": WRONG_PASS})).await;
    assert_eq!(status, 401, "{label}: wrong password: {body}");

    // Resume: a token proves the user and a fresh one is issued.
    let resumed = login_ok(label, server.post("/api/v1/login", None, json!({"resume": alice.token})).await);
    assert_eq!(resumed.user_id, alice.user_id, "{label}");
    assert_ne!(resumed.token, alice.token, "{label}: resume issues a new token");
    secrets.add("alice's resumed token", resumed.token.clone());

    // The token travels in headers; then logout drops it.
    let (status, body) = server.get("/api/v1/me", Some(&alice)).await;
    assert_eq!(status, 200, "{label}: me: {body}");
    let (status, body) = server
        .post("/api/v1/chat.postMessage", Some(&alice), json!({"roomId": "GENERAL", "text": MESSAGE}))
        .await;
    assert_eq!(status, 200, "{label}: post as alice: {body}");
    let (status, body) = server.post("/api/v1/logout", Some(&alice), json!({})).await;
    assert_eq!(status, 200, "{label}: logout: {body}");
    let (status, body) = server.get("/api/v1/me", Some(&alice)).await;
    assert_eq!(status, 401, "{label}: the token is gone after logout: {body}");
    let (status, body) = server.get("/api/v1/me", Some(&resumed)).await;
    assert_eq!(status, 200, "{label}: other tokens stay: {body}");

    // A query string may carry anything; it is not logged.
    secrets.add("a query-string value", QUERY_SECRET);
    let (status, body) =
        server.get(&format!("/api/v1/users.info?username=alice&token={QUERY_SECRET}"), Some(&resumed)).await;
    assert_eq!(status, 200, "{label}: users.info: {body}");
    (secrets, alice.user_id)
}

/// The bytes of every file of the SQLite data directory, by name.
fn data_files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read data dir") {
        let path = entry.expect("dir entry").path();
        if path.is_file() {
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            files.push((name, std::fs::read(&path).expect("read data file")));
        }
    }
    files.sort();
    files
}

/// Checks the log: trace level was really on and the access log shows the
/// requests, with the caller's id (controls), and no secret.
fn check_log(label: &str, server: &Server, secrets: &Secrets, alice_id: &str) {
    let log = server.log();
    let access: Vec<&str> = log.lines().filter(|l| l.contains("threadsync::access")).collect();
    assert!(log.contains("TRACE"), "{label}: the log must be at trace level:\n{log}");
    assert!(
        access.iter().any(|l| l.contains("method=POST route=/api/v1/login status=200")),
        "{label}: the access log must show the logins:\n{log}"
    );
    assert!(
        access
            .iter()
            .any(|l| l.contains("route=/api/v1/users.info status=200")
                && l.contains(&format!("user={alice_id}"))),
        "{label}: the access log must name the authenticated caller:\n{log}"
    );
    assert!(access.iter().all(|l| !l.contains('?')), "{label}: no query string in the access log:\n{log}");
    let leaks = secrets.found_in(log.as_bytes());
    assert!(leaks.is_empty(), "{label}: the log leaks {leaks:?}:\n{log}");
}

/// Checks the SQLite files; returns whether they hold the stored data at all (a control).
fn check_sqlite_files(label: &str, dir: &Path, secrets: &Secrets) -> bool {
    let files = data_files(dir);
    assert!(files.iter().any(|(name, _)| name == "threadsync.db"), "{label}: no threadsync.db in {dir:?}");
    let (mut message, mut user) = (false, false);
    for (name, bytes) in &files {
        let leaks = secrets.found_in(bytes);
        assert!(leaks.is_empty(), "{label}: {name} holds {leaks:?}");
        message |= contains(bytes, MESSAGE.as_bytes());
        user |= contains(bytes, b"carol@example.com");
    }
    message && user
}

#[tokio::test]
async fn sqlite_files_and_trace_log_hold_no_secret() {
    let data = tempfile::tempdir().expect("temp dir");
    let mut cmd = serve_cmd(data.path());
    cmd.env("RUST_LOG", "trace");
    let mut server = Server::start(cmd);
    let (secrets, alice_id) = exercise(&server, "sqlite").await;

    // While the server runs, recent writes sit in the WAL.
    let running = check_sqlite_files("sqlite (running)", data.path(), &secrets);
    let status = server.terminate();
    assert_eq!(status.code(), Some(0), "{}", server.log());
    // After a clean stop, everything is checkpointed into threadsync.db.
    let stopped = check_sqlite_files("sqlite (stopped)", data.path(), &secrets);
    assert!(running && stopped, "control: the files must hold the stored message and users");
    check_log("sqlite", &server, &secrets, &alice_id);
}

#[tokio::test]
#[cfg_attr(not(postgres_tests), ignore = "TEST_DATABASE_URL is not set: PostgreSQL tests need a server")]
async fn postgres_rows_and_trace_log_hold_no_secret() {
    let db = PgSchema::create().await;
    let data = tempfile::tempdir().expect("temp dir");
    let mut cmd = pg_serve_cmd(data.path(), &db);
    cmd.env("RUST_LOG", "trace");
    let mut server = Server::start(cmd);
    let (secrets, alice_id) = exercise(&server, "postgres").await;
    let status = server.terminate();
    assert_eq!(status.code(), Some(0), "{}", server.log());
    check_log("postgres", &server, &secrets, &alice_id);

    let (client, connection) =
        tokio_postgres::connect(&db.url, tokio_postgres::NoTls).await.expect("connect to the test database");
    tokio::spawn(connection);
    let tables = client
        .query(
            "SELECT table_name::text FROM information_schema.tables \
             WHERE table_schema = $1 AND table_type = 'BASE TABLE' ORDER BY 1",
            &[&db.schema],
        )
        .await
        .expect("list tables");
    assert!(!tables.is_empty(), "no tables in schema {}", db.schema);
    let mut holds_data = false;
    for row in tables {
        let table: String = row.get(0);
        // `ROW(r.*)`, not `r`: a column of the same name as the alias would win.
        let sql = format!("SELECT ROW(r.*)::text FROM \"{}\".\"{table}\" r", db.schema);
        let rows = client.query(&sql, &[]).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
        let mut text = String::new();
        for row in rows {
            text.push_str(&row.get::<_, String>(0));
            text.push('\n');
        }
        let leaks = secrets.found_in(text.as_bytes());
        assert!(leaks.is_empty(), "postgres: table {table} holds {leaks:?}");
        holds_data |= text.contains(MESSAGE) || text.contains("carol@example.com");
    }
    assert!(holds_data, "control: the tables must hold the stored message and users");
    db.drop().await;
}
