//! Group commit of a room's sends.
//!
//! Every write of a room holds the room's lock from its first statement to
//! the end of its commit (clock.rs, docs/sync.md): that is what keeps
//! stamps in commit order. Each send therefore costs its room one serial
//! section of one round trip plus a WAL flush, and many writers of one
//! room queue for it, one send at a time. Here the sends of one room that
//! arrive while that room's previous transaction is under way wait in this
//! process instead, and go together in the room's next transaction: one
//! lock, one round trip, one commit and one WAL flush for all of them
//! (messages::insert applies them one after the other, with the stamps and
//! documents separate transactions would have given them). The serial
//! section per room stays as long; it carries many sends.
//!
//! Per room, at most one task of this process writes at a time (the room's
//! *writer*): the first send to find no writer starts one; it takes every
//! send waiting (up to [`MAX_BATCH`]), writes them in one transaction,
//! answers each, and goes on while sends keep arriving. A send alone in
//! its room waits for nothing: its writer starts at once. Other instances'
//! writers of the room still queue for its lock in PostgreSQL, as before.
//!
//! The writer is a task of its own, not the future of one request: a
//! client that goes away must not cancel the other sends of its batch.
//! A send whose caller went away before its batch was formed is not
//! written; one already in a batch is (as a single send whose client went
//! away after its commit had begun).

use crate::{db, messages, Core};
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};
use threadsync_domain::Message;
use threadsync_storage::{rules, NewMessage, StorageError, StorageResult};
use tokio::sync::oneshot;

/// The most sends one transaction carries. Larger batches amortise the
/// lock and the flush further, but every send of a batch waits for the
/// whole batch's statements and commit; the sends beyond it go in the
/// next one (64 writers of one room fill two).
const MAX_BATCH: usize = 32;

/// The sends waiting for each room that has a writer running.
#[derive(Default)]
pub(crate) struct Queues {
    rooms: Mutex<HashMap<String, VecDeque<Waiting>>>,
}

struct Waiting {
    new: NewMessage,
    answer: oneshot::Sender<StorageResult<Message>>,
}

impl Queues {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, VecDeque<Waiting>>> {
        // The map is consistent after every statement that holds the lock.
        self.rooms.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Writes `new` in its room's next transaction (the module docs).
pub(crate) async fn send(core: &Arc<Core>, new: NewMessage) -> StorageResult<Message> {
    let (answer, answered) = oneshot::channel();
    let rid = new.message.rid.clone();
    let start = {
        let mut rooms = core.sends.lock();
        let waiting = Waiting { new, answer };
        match rooms.get_mut(&rid) {
            Some(queue) => {
                queue.push_back(waiting);
                false
            }
            None => {
                rooms.insert(rid.clone(), VecDeque::from([waiting]));
                true
            }
        }
    };
    if start {
        tokio::spawn(write_room(core.clone(), rid));
    }
    answered
        .await
        .unwrap_or_else(|_| Err(StorageError::Backend("postgres: the room's writer stopped".into())))
}

/// The room's writer: batches until nobody waits.
async fn write_room(core: Arc<Core>, rid: String) {
    let mut running = Running { core: &core, rid: &rid, done: false };
    loop {
        let batch = {
            let mut rooms = core.sends.lock();
            let batch = rooms.get_mut(&rid).map(next_batch).unwrap_or_default();
            if batch.is_empty() {
                // Under the map's lock: a send arriving after this starts
                // a new writer.
                rooms.remove(&rid);
                running.done = true;
                return;
            }
            batch
        };
        write_batch(&core, &rid, batch).await;
    }
}

/// Ends a writer that did not end normally (a panic): its room's waiting
/// sends are dropped (their callers get an error) and the room is free for
/// a new writer.
struct Running<'a> {
    core: &'a Core,
    rid: &'a str,
    done: bool,
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        if !self.done {
            self.core.sends.lock().remove(self.rid);
        }
    }
}

/// The next batch from the front of a room's queue, in order. It stops
/// before a send that could not be applied as if it were alone: one whose
/// id is the id or the thread of an earlier send of the batch (it must see
/// that send committed: a conflict, or its parent), and one that joins the
/// room (rooms::join writes at once, before the batch's other statements),
/// which goes alone. Sends whose caller went away are dropped unwritten.
fn next_batch(queue: &mut VecDeque<Waiting>) -> Vec<Waiting> {
    let mut batch: Vec<Waiting> = Vec::new();
    let mut ids: HashSet<String> = HashSet::new();
    while batch.len() < MAX_BATCH {
        let Some(next) = queue.front() else { break };
        if next.answer.is_closed() {
            queue.pop_front();
            continue;
        }
        let message = &next.new.message;
        let depends = ids.contains(&message.id) || message.tmid.as_ref().is_some_and(|t| ids.contains(t));
        let joins = next.new.join.is_some();
        if depends || (joins && !batch.is_empty()) {
            break;
        }
        ids.insert(message.id.clone());
        batch.extend(queue.pop_front());
        if joins {
            break;
        }
    }
    batch
}

/// Writes a batch in one transaction and answers each send. If the
/// database refused a statement of a batch of several (the rules' own
/// refusals are answered per send by messages::insert: this is what they
/// could not see, say an id another instance took in the meantime), each
/// send is written again alone, so that one bad send does not fail the
/// others.
async fn write_batch(core: &Core, rid: &str, batch: Vec<Waiting>) {
    let news: Vec<NewMessage> = batch.iter().map(|w| w.new.clone()).collect();
    match write_all(core, rid, news).await {
        Ok(results) => {
            for (waiting, result) in batch.into_iter().zip(results) {
                // A caller that went away needs no answer.
                let _ = waiting.answer.send(result);
            }
        }
        // Alone, or the database unusable: smaller parts would not fare
        // better, and retrying each send alone would make every one wait
        // for the pool again in turn.
        Err(e) if batch.len() == 1 || db::unavailable(&e) => {
            for waiting in batch {
                let _ = waiting.answer.send(Err(e.clone()));
            }
        }
        Err(e) => {
            tracing::debug!(target = %core.target, error = %e, sends = batch.len(), "a batch of sends failed; writing each alone");
            for waiting in batch {
                let result = match write_all(core, rid, vec![waiting.new.clone()]).await {
                    Ok(mut results) => results.pop().unwrap_or_else(|| {
                        Err(StorageError::Backend("postgres: a send got no answer".into()))
                    }),
                    Err(e) => Err(e),
                };
                let _ = waiting.answer.send(result);
            }
        }
    }
}

/// One transaction writing `news` (messages::insert), run again whole after
/// a deadlock or serialization failure (`write!`); its event announced
/// once after the commit if any send was written ("the room's messages
/// changed" says it for all of them).
async fn write_all(
    core: &Core,
    rid: &str,
    news: Vec<NewMessage>,
) -> StorageResult<Vec<StorageResult<Message>>> {
    write!(
        core,
        |results: &Vec<StorageResult<Message>>| results
            .iter()
            .any(Result::is_ok)
            .then(|| rules::message_event(rid)),
        last | c | messages::insert(c, news.clone()).await
    )
}
