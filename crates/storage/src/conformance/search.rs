//! Conformance of [`crate::SearchStore`]: what `chat.search` finds, on
//! every backend.

use super::{channel, message, plain, subscription, user, World, ROOM};
use crate::search::terms;
use crate::{ImportBatch, MessageEdit, MessageMark, SearchOrder, SearchQuery, Store};
use threadsync_domain::query::Filter;
use threadsync_domain::{Message, Timestamp};

fn query(rid: &str, text: &str) -> SearchQuery {
    SearchQuery {
        rid: rid.to_owned(),
        terms: terms(text),
        filter: Filter::True,
        order: SearchOrder::Newest,
        offset: 0,
        count: 100,
    }
}

async fn found(store: &dyn Store, q: &SearchQuery) -> Vec<String> {
    let messages: Vec<Message> =
        store.search_messages(q).await.unwrap_or_else(|e| panic!("search {q:?}: {e}"));
    messages.into_iter().map(|m| m.id).collect()
}

async fn find(store: &dyn Store, text: &str) -> Vec<String> {
    found(store, &query(ROOM, text)).await
}

async fn post(
    store: &dyn Store,
    id: &str,
    rid: &str,
    author: &threadsync_domain::User,
    text: &str,
) -> Message {
    store.insert_message(plain(message(id, rid, author, text))).await.expect("insert message")
}

fn ids(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

pub async fn search_words_prefixes_phrases_and_folding(store: &dyn Store) {
    let w = World::new(store).await;
    post(store, "m1", ROOM, &w.alice, "Deploy the CAFÉ release").await;
    post(store, "m2", ROOM, &w.bob, "déploiement du café, ce soir").await;
    post(store, "m3", ROOM, &w.carol, "rollback tonight").await;
    store
        .insert_message(super::reply(message("r1", ROOM, &w.bob, "deploy the hotfix"), "m1", &[&w.bob]))
        .await
        .expect("reply");

    // Case and diacritics are folded on both sides; replies are found;
    // newest first.
    assert_eq!(find(store, "cafe").await, ids(&["m2", "m1"]));
    assert_eq!(find(store, "CAFÉ").await, ids(&["m2", "m1"]));
    assert_eq!(find(store, "deploy").await, ids(&["r1", "m1"]), "a whole word, not a prefix");
    assert_eq!(find(store, "DEPLOIEMENT").await, ids(&["m2"]));
    // Every word must be there.
    assert_eq!(find(store, "deploy release").await, ids(&["m1"]));
    assert_eq!(find(store, "deploy tonight").await, Vec::<String>::new());
    // A prefix, a phrase, an exclusion.
    assert_eq!(find(store, "depl*").await, ids(&["r1", "m2", "m1"]));
    assert_eq!(find(store, "\"the cafe\"").await, ids(&["m1"]));
    assert_eq!(find(store, "\"cafe the\"").await, Vec::<String>::new(), "a phrase keeps its order");
    assert_eq!(find(store, "deploy -hotfix").await, ids(&["m1"]));
    assert_eq!(find(store, "-hotfix").await, Vec::<String>::new(), "only exclusions find nothing");
    // Index syntax in the text is only separators.
    assert_eq!(find(store, "rollback OR NOT (deploy) NEAR* ^x:y").await, Vec::<String>::new());
    assert_eq!(find(store, "rollback \"").await, ids(&["m3"]));
    // Oldest first, and the page.
    let mut q = query(ROOM, "depl*");
    q.order = SearchOrder::Oldest;
    assert_eq!(found(store, &q).await, ids(&["m1", "m2", "r1"]));
    q.offset = 1;
    q.count = 1;
    assert_eq!(found(store, &q).await, ids(&["m2"]));
    // The operators' filter is ANDed in; without words it selects alone.
    let mut q = query(ROOM, "deploy");
    q.filter = Filter::parse(Some(r#"{"u._id": "u-alice"}"#)).expect("filter");
    assert_eq!(found(store, &q).await, ids(&["m1"]));
    q.terms.clear();
    assert_eq!(found(store, &q).await, ids(&["m1"]));
}

pub async fn search_follows_edits_and_deletions(store: &dyn Store) {
    let w = World::new(store).await;
    post(store, "m1", ROOM, &w.alice, "original wording").await;
    post(store, "m2", ROOM, &w.alice, "plain words to delete").await;
    post(store, "m3", ROOM, &w.alice, "placeholder words").await;
    post(store, "p", ROOM, &w.alice, "parent words").await;
    store
        .insert_message(super::reply(message("r", ROOM, &w.bob, "reply words"), "p", &[&w.bob]))
        .await
        .expect("reply");

    let edit = MessageEdit {
        msg: "revised phrasing".into(),
        md: None,
        mentions: Vec::new(),
        channels: Vec::new(),
        edited_by: super::user_ref(&w.alice),
    };
    store.edit_message("m1", edit).await.expect("edit");
    assert_eq!(find(store, "original").await, Vec::<String>::new(), "the old text is gone from the index");
    assert_eq!(find(store, "revised").await, ids(&["m1"]));

    // Rewrites that keep the text (a star, a reaction, thread counters)
    // keep the message findable, once.
    store.set_mark("m1", MessageMark::Star { user_id: w.alice.id.clone(), on: true }).await.expect("star");
    store.set_reaction("m1", ":smile:", "alice", None).await.expect("react");
    assert_eq!(find(store, "revised").await, ids(&["m1"]));
    assert_eq!(find(store, "words").await, ids(&["r", "p", "m3", "m2"]));

    store.delete_message("m2", false).await.expect("delete");
    store.delete_message("m3", true).await.expect("placeholder");
    // A parent with replies stays as a placeholder.
    store.delete_message("p", false).await.expect("delete parent");
    assert_eq!(find(store, "words").await, ids(&["r"]));
    assert_eq!(find(store, "plain").await, Vec::<String>::new());
    // Placeholders are not found by the operators alone either.
    let mut q = query(ROOM, "");
    q.filter = Filter::parse(Some(r#"{"u._id": "u-alice"}"#)).expect("filter");
    assert_eq!(found(store, &q).await, ids(&["m1"]));

    // A deleted room takes its messages out of the index: a new room with
    // the same id finds nothing of the old one.
    assert!(store.delete_room(ROOM).await.expect("delete room"));
    let room = channel(ROOM, "again");
    store.create_room(&room, &[subscription(&room, &w.alice)]).await.expect("recreate");
    assert_eq!(find(store, "words").await, Vec::<String>::new());
    post(store, "n", ROOM, &w.alice, "fresh words").await;
    assert_eq!(find(store, "words").await, ids(&["n"]));
}

pub async fn search_is_scoped_to_the_room(store: &dyn Store) {
    let w = World::new(store).await;
    // Ids differ only by case: the index folds case, the room check must not.
    for (id, name) in [("CaseRoom", "first"), ("caseroom", "second")] {
        let room = channel(id, name);
        store.create_room(&room, &[subscription(&room, &w.alice)]).await.expect("room");
        post(store, &format!("in-{id}"), id, &w.alice, "shared secret").await;
    }
    post(store, "mine", ROOM, &w.alice, "shared secret").await;
    assert_eq!(find(store, "secret").await, ids(&["mine"]));
    assert_eq!(found(store, &query("CaseRoom", "secret")).await, ids(&["in-CaseRoom"]));
    assert_eq!(found(store, &query("caseroom", "secret")).await, ids(&["in-caseroom"]));
    assert_eq!(found(store, &query("nowhere", "secret")).await, Vec::<String>::new());
    // A room id is not text of the room's messages.
    assert_eq!(found(store, &query("CaseRoom", "caseroom")).await, Vec::<String>::new());
    assert_eq!(found(store, &query("CaseRoom", "case*")).await, Vec::<String>::new());
    // Any id is matched as itself, whatever its characters (PostgreSQL
    // matches the room inside its text index: quotes, backslashes, spaces
    // and query operators must not change what the id means), and one id
    // that begins another is still another room; nor does its length (a
    // PostgreSQL lexeme holds at most 2,047 bytes).
    let long = "r".repeat(3_000);
    let odd = ["o'd\\ r:* & !x | (y)", "o'd", "o", "o'd\\ r", long.as_str()];
    for (i, id) in odd.iter().enumerate() {
        let room = channel(id, &format!("odd{i}"));
        store.create_room(&room, &[subscription(&room, &w.alice)]).await.expect("odd room");
        post(store, &format!("odd-{i}"), id, &w.alice, "shared secret").await;
    }
    for (i, id) in odd.iter().enumerate() {
        let want = format!("odd-{i}");
        for text in ["secret", "\"shared secret\" -nothing", "sec*"] {
            assert_eq!(found(store, &query(id, text)).await, ids(&[want.as_str()]), "{id:?} {text:?}");
        }
    }
}

pub async fn search_pages_are_stable_and_ranked(store: &dyn Store) {
    let w = World::new(store).await;
    for i in 0..30 {
        post(store, &format!("m{i:02}"), ROOM, &w.alice, &format!("alpha number {i}")).await;
    }
    post(store, "noise", ROOM, &w.bob, "beta only").await;
    let all = found(store, &query(ROOM, "alpha")).await;
    let expected: Vec<String> = (0..30).rev().map(|i| format!("m{i:02}")).collect();
    assert_eq!(all, expected, "newest first");
    let mut paged = Vec::new();
    for offset in (0..35).step_by(7) {
        let mut q = query(ROOM, "alpha");
        q.offset = offset;
        q.count = 7;
        paged.extend(found(store, &q).await);
    }
    assert_eq!(paged, expected, "pages neither skip nor repeat");

    // Relevance: more occurrences in a shorter text rank first, whatever
    // their age; equal ranks fall back to newest first.
    post(store, "late", ROOM, &w.bob, "gamma delta epsilon zeta eta theta").await;
    post(store, "best", ROOM, &w.bob, "gamma gamma gamma").await;
    let mut q = query(ROOM, "gamma");
    q.order = SearchOrder::Relevance;
    assert_eq!(found(store, &q).await, ids(&["best", "late"]));
    let mut q = query(ROOM, "");
    q.order = SearchOrder::Relevance;
    q.filter = Filter::parse(Some(r#"{"u._id": "u-bob"}"#)).expect("filter");
    assert_eq!(found(store, &q).await, ids(&["best", "late", "noise"]), "no words: newest first");
}

pub async fn search_finds_imported_messages(store: &dyn Store) {
    let alice = user("u1", "alice", "alice@example.com");
    let room = channel("R1", "imported");
    let mut old = message("old", "R1", &alice, "imported Grüße");
    old.ts = Timestamp(1_000);
    old.updated_at = Timestamp(1_000);
    let mut newer = message("new", "R1", &alice, "imported again");
    newer.ts = Timestamp(2_000);
    newer.updated_at = Timestamp(2_000);
    let batch = ImportBatch {
        users: vec![alice.clone()],
        rooms: vec![(room.clone(), vec![subscription(&room, &alice)])],
        // Out of time order on purpose: the order is by `ts`, not by insertion.
        messages: vec![newer, old],
        tombstones: Vec::new(),
    };
    store.import(batch).await.expect("import");
    assert_eq!(found(store, &query("R1", "imported")).await, ids(&["new", "old"]));
    assert_eq!(found(store, &query("R1", "grusse")).await, Vec::<String>::new(), "ß is not ss");
    assert_eq!(found(store, &query("R1", "GRÜSSE")).await, Vec::<String>::new());
    assert_eq!(found(store, &query("R1", "grüße")).await, ids(&["old"]));
}
