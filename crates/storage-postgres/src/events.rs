//! Events of committed writes across server instances (`Store::subscribe`).
//!
//! Every write transaction ends with `SELECT pg_notify(channel, payload)`,
//! payload `{"rid": ..., "kind": "message" | "room" | "user" | "settings"}`.
//! PostgreSQL delivers a notification only when (and if) its transaction
//! commits, in commit order, to every session listening on the channel —
//! in this process and in every other instance sharing the database. A
//! rolled-back write announces nothing. The exception is a hint
//! ([`is_hint`]: "messages of room R changed"), sent right after its
//! write's commit, in the same round trip, as its own short transaction.
//!
//! Each store runs one listener task on a dedicated connection (not from
//! the pool: `LISTEN` belongs to a session) that forwards other instances'
//! notifications into the store's broadcast channel. The store's own
//! events do not make that round trip: a write announces its event locally
//! right after its commit returned, as the SQLite backend does, so that
//! when a write call returns its event is already in the channel (a
//! subscriber never receives the events of writes that returned before it
//! subscribed). Each payload names its `origin` (a random id per store) so
//! the listener can skip the store's own notifications. If the listener's
//! connection drops, the task reconnects with backoff and listens again;
//! notifications sent while it was away are lost (listeners treat events as
//! hints and re-read, and `RecvError::Lagged` already tells them events can
//! be missed).
//!
//! The channel is `threadsync_events`, or `threadsync_events_<schema>` when
//! the store lives in a schema, so that stores of different schemas in one
//! database (parallel tests) do not hear each other.

use futures_util::future::poll_fn;
use std::sync::Arc;
use std::time::Duration;
use threadsync_storage::cache::ReadCache;
use threadsync_storage::{EventKind, StorageResult, StoreEvent};
use tokio::sync::broadcast;
use tokio_postgres::tls::MakeTlsConnect;
use tokio_postgres::{AsyncMessage, Client, Connection, Socket};
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::db::Conn;

const CHANNEL: &str = "threadsync_events";
/// PostgreSQL's identifier limit (NAMEDATALEN - 1).
const MAX_IDENTIFIER: usize = 63;

/// The notification channel of a store in `schema`.
pub(crate) fn channel_name(schema: Option<&str>) -> String {
    match schema {
        None => CHANNEL.to_owned(),
        Some(schema) => {
            let name = format!("{CHANNEL}_{schema}");
            if name.len() <= MAX_IDENTIFIER {
                name
            } else {
                // Long schema names: a stable digest keeps the name unique
                // enough and within the limit.
                let digest = fnv1a(schema.as_bytes());
                format!("{CHANNEL}_{digest:016x}")
            }
        }
    }
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3))
}

/// A random id for a store, naming the origin of its notifications.
pub(crate) fn new_origin() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u32(std::process::id());
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    hasher.write_u128(nanos);
    format!("{:016x}", hasher.finish())
}

pub(crate) fn payload(event: &StoreEvent, origin: &str) -> String {
    let mut payload = serde_json::json!({"rid": event.rid, "kind": event.kind.as_str(), "origin": origin});
    if let Some(user) = &event.user {
        payload["user"] = serde_json::json!(user);
    }
    if let Some(data) = &event.data {
        payload["data"] = serde_json::json!(data);
    }
    payload.to_string()
}

/// The event of a payload, and the store it comes from (if named).
pub(crate) fn parse(payload: &str) -> Option<(StoreEvent, Option<String>)> {
    let value: serde_json::Value = serde_json::from_str(payload).ok()?;
    let kind = EventKind::parse(value.get("kind")?.as_str()?)?;
    let rid = match value.get("rid") {
        None | Some(serde_json::Value::Null) => None,
        Some(rid) => Some(rid.as_str()?.to_owned()),
    };
    let origin = value.get("origin").and_then(|o| o.as_str()).map(str::to_owned);
    let text = |key: &str| value.get(key).and_then(|v| v.as_str()).map(str::to_owned);
    Some((StoreEvent { rid, kind, user: text("user"), data: text("data") }, origin))
}

/// Whether an event may be sent right after its write's commit instead of
/// inside the write's transaction. A plain "messages of room R changed"
/// (a send, an edit, a reaction, a placeholder) invalidates no cache and
/// changes nobody's access: it only tells other instances' realtime relays
/// to read the room's feed from their cursor again, which they do at the
/// room's next event anyway. Every other event (a removal, which frees an
/// id; users, rooms, memberships, read states, settings, the tombstone
/// horizon) travels in the write's transaction, so that it reaches the
/// other instances if and only if the write commits.
///
/// Why not everything in the transaction: a transaction that has issued a
/// `NOTIFY` takes a database-wide lock at commit and holds it until its
/// commit record is flushed (PostgreSQL orders the notification queue by
/// commit this way). Every sending transaction of every room would queue
/// for that one lock, one WAL flush at a time.
pub(crate) fn is_hint(event: &StoreEvent) -> bool {
    event.kind == EventKind::Message && event.data.is_none() && event.user.is_none()
}

/// The statement that sends a hint ([`is_hint`]) after its write has
/// committed: its own implicit transaction (one simple-protocol query)
/// with `synchronous_commit` off, so it holds PostgreSQL's notification
/// lock only for an instant (a notification is never durable anyway). Lost
/// if this instance dies between the two; see [`is_hint`] for why that
/// costs only latency.
pub(crate) fn hint_sql(channel: &str, event: &StoreEvent, origin: &str) -> String {
    format!(
        "SET LOCAL synchronous_commit TO OFF; SELECT pg_notify({}, {})",
        crate::db::literal(channel),
        crate::db::literal(&payload(event, origin))
    )
}

/// `$1` the channel, `$2` the payload.
pub(crate) const NOTIFY_SQL: &str = "SELECT pg_notify($1, $2)";

/// Queues the event in the current transaction: sent on commit.
pub(crate) async fn notify(
    c: &dyn Conn,
    channel: &str,
    event: &StoreEvent,
    origin: &str,
) -> StorageResult<()> {
    c.exec(NOTIFY_SQL, &[&channel, &payload(event, origin)]).await?;
    Ok(())
}

type Session = (Client, Connection<Socket, <MakeRustlsConnect as MakeTlsConnect<Socket>>::Stream>);

/// Opens a session and `LISTEN`s on the channel. The connection must be
/// polled for the `LISTEN` to complete, so both run together here.
pub(crate) async fn listen(
    config: &tokio_postgres::Config,
    tls: &MakeRustlsConnect,
    channel: &str,
) -> Result<Session, String> {
    let (client, mut connection) = config.connect(tls.clone()).await.map_err(|e| e.to_string())?;
    {
        let sql = format!("LISTEN \"{channel}\"");
        let mut listening = std::pin::pin!(client.batch_execute(&sql));
        loop {
            tokio::select! {
                done = &mut listening => {
                    done.map_err(|e| e.to_string())?;
                    break;
                }
                message = poll_fn(|cx| connection.poll_message(cx)) => match message {
                    // A notice, or a notification that beat the LISTEN's reply.
                    Some(Ok(_)) => {}
                    Some(Err(e)) => return Err(e.to_string()),
                    None => return Err("the connection closed".to_owned()),
                },
            }
        }
    }
    Ok((client, connection))
}

/// Backoff between reconnection attempts: doubling up to a cap.
pub(crate) fn next_backoff(current: Duration, initial: Duration) -> Duration {
    const CAP: Duration = Duration::from_secs(5);
    current.saturating_mul(2).min(CAP.max(initial))
}

/// The listener task: forwards notifications from `session` (already
/// listening) into `sender`, except those of `origin` (the store's own,
/// announced locally), each first through `cache`; suspends the cache
/// while the session is down and reconnects.
pub(crate) async fn run(
    (config, tls): (tokio_postgres::Config, MakeRustlsConnect),
    channel: String,
    (sender, cache): (broadcast::Sender<Arc<StoreEvent>>, Arc<ReadCache>),
    origin: String,
    target: String,
    session: Session,
    initial_backoff: Duration,
) {
    let mut session = Some(session);
    let mut backoff = initial_backoff;
    loop {
        let (client, mut connection) = match session.take() {
            Some(session) => session,
            None => match listen(&config, &tls, &channel).await {
                Ok(session) => {
                    tracing::info!(target = %target, channel = %channel, "event listener reconnected");
                    backoff = initial_backoff;
                    // Listening again: from here on no notification is
                    // missed, so the caches may fill again.
                    cache.resume();
                    // Whatever was announced while the listener was away is
                    // lost: tell listeners to re-read from their positions.
                    let _ = sender.send(Arc::new(StoreEvent {
                        rid: None,
                        kind: EventKind::Resync,
                        user: None,
                        data: None,
                    }));
                    session
                }
                Err(e) => {
                    tracing::warn!(target = %target, error = %e, retry_in = ?backoff, "event listener cannot reconnect");
                    tokio::time::sleep(backoff).await;
                    backoff = next_backoff(backoff, initial_backoff);
                    continue;
                }
            },
        };
        loop {
            match poll_fn(|cx| connection.poll_message(cx)).await {
                Some(Ok(AsyncMessage::Notification(n))) => match parse(n.payload()) {
                    Some((_, Some(from))) if from == origin => {}
                    // No receiver is not an error: nobody needs the event.
                    Some((event, _)) => {
                        cache.on_event(&event);
                        let _ = sender.send(Arc::new(event));
                    }
                    None => tracing::warn!(payload = n.payload(), "ignoring a malformed event notification"),
                },
                Some(Ok(_)) => {}
                Some(Err(e)) => {
                    tracing::warn!(target = %target, error = %e, "event listener connection failed");
                    break;
                }
                None => {
                    tracing::warn!(target = %target, "event listener connection closed");
                    break;
                }
            }
        }
        // Notifications may be lost from here until the LISTEN is back:
        // nothing cached may be trusted, or cached, meanwhile.
        cache.suspend();
        // The client lives as long as the connection is polled.
        drop(client);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_round_trip() {
        for event in [
            StoreEvent { rid: Some("ROOM".into()), kind: EventKind::Message, user: None, data: None },
            StoreEvent { rid: None, kind: EventKind::Settings, user: None, data: None },
            StoreEvent { rid: Some("r\"x".into()), kind: EventKind::Room, user: None, data: None },
        ] {
            assert_eq!(parse(&payload(&event, "me")), Some((event, Some("me".to_owned()))));
        }
        assert_eq!(
            parse("{\"kind\": \"user\"}"),
            Some((StoreEvent { rid: None, kind: EventKind::User, user: None, data: None }, None))
        );
        assert_eq!(parse("{\"kind\": \"nope\"}"), None);
        assert_eq!(parse("nope"), None);
    }

    #[test]
    fn channel_names_fit_postgres_identifiers() {
        assert_eq!(channel_name(None), "threadsync_events");
        assert_eq!(channel_name(Some("ts_test_ab12")), "threadsync_events_ts_test_ab12");
        let long = "s".repeat(63);
        let name = channel_name(Some(&long));
        assert!(name.len() <= MAX_IDENTIFIER, "{name}");
        assert_ne!(name, channel_name(Some(&"t".repeat(63))));
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let initial = Duration::from_millis(250);
        let mut b = initial;
        let mut seen = Vec::new();
        for _ in 0..6 {
            seen.push(b.as_millis());
            b = next_backoff(b, initial);
        }
        assert_eq!(seen, vec![250, 500, 1000, 2000, 4000, 5000]);
    }
}
