//! The change feed: committed changes, in revision order, to every in-process subscriber —
//! whichever replica committed them.
//!
//! A store stamps every change with the next revision of a one-row counter inside the write
//! transaction. That row lock serialises writers (across processes too), so revision order is
//! commit order. One task per store (the *pump*) decides what to broadcast:
//!
//! * **Local writes** are handed over after commit ([`ChangeFeed::committed`]) with the item in
//!   memory. Writers in one process hold [`ChangeFeed::write_lock`] from the start of their
//!   transaction until then, so they arrive in commit order; each is broadcast as soon as every
//!   revision before it has been.
//! * **PostgreSQL**: every write also runs [`NOTIFY_SQL`] on the service's channel inside its
//!   transaction; PostgreSQL delivers notifications at commit, to every listening replica, in
//!   commit order. The pump listens (`LISTEN`): a notification for a revision it has not
//!   broadcast means another replica wrote, so it reads the database back ([`Replay::after`]).
//!   A missed revision (a dropped connection, a restarted server) is read back the same way:
//!   when `LISTEN` (re)connects, and every `catch_up_every` as a safety net.
//! * **SQLite** (one replica): local items are broadcast as they come; a jump in revision (a
//!   second process wrote to the file) is read back from the database.
//!
//! A read-back holds the write lock, so no local write is between its commit and
//! [`ChangeFeed::committed`] while the database is read: every local change is broadcast itself,
//! never only as the later state the database may hold by then. Another replica's changes are
//! what the database still has: where the store keeps only each item's latest state (the SMP's
//! exchanges), an item another replica changed twice between two reads is broadcast once, at its
//! later revision. Revisions are then not contiguous; they are always increasing, and the last
//! one broadcast for an item is what the database holds.
//!
//! Items older than the pump's start are never broadcast: subscribers take a snapshot or replay
//! from the database for history (subscribe first, then read, so nothing falls between).
//! Delivery follows the commit by a moment, so a new subscriber may also receive a few changes
//! committed just before it subscribed: consumers skip revisions they already have.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::PgListener;
use tokio::sync::{Mutex, MutexGuard, broadcast, mpsc};

use crate::connect::Database;

/// `$1` channel, `$2` revision (text): run inside every write transaction on PostgreSQL.
pub const NOTIFY_SQL: &str = "SELECT pg_notify($1, $2)";

/// Local items kept while a revision before them is missing; past this the pump reads from the
/// database instead of remembering more.
const MAX_PENDING: usize = 4096;

/// A change with its revision.
pub trait Revisioned {
    /// The revision the change was committed with.
    fn revision(&self) -> u64;
}

/// What [`Replay::after`] found.
#[derive(Debug)]
pub enum Replayed<T> {
    /// Committed items after the revision asked for, oldest first.
    Items(Vec<T>),
    /// They can no longer be read (a pruned change log): the feed continues from `current`, and
    /// subscribers see the jump in revision and take a fresh snapshot.
    Pruned {
        /// The store's current revision.
        current: u64,
    },
}

/// Reads committed changes back from the database (for changes another replica made, or that a
/// lost connection hid).
pub trait Replay: Send + Sync + 'static {
    /// What the feed carries.
    type Item: Revisioned + Clone + Send + Sync + 'static;
    /// Items committed after `revision`, oldest first, at most `limit` (fewer means "that was
    /// all").
    fn after(
        &self,
        revision: u64,
        limit: usize,
    ) -> impl Future<Output = Result<Replayed<Self::Item>, String>> + Send;
}

/// Feed settings.
#[derive(Debug, Clone, Copy)]
pub struct FeedOptions {
    /// Broadcast buffer per subscriber; one that falls further behind is told it lagged.
    pub capacity: usize,
    /// PostgreSQL: read back missed changes this often even when no notification came (and
    /// retry a lost `LISTEN` connection).
    pub catch_up_every: Duration,
    /// Items read back per query.
    pub batch: usize,
}

impl Default for FeedOptions {
    fn default() -> Self {
        Self {
            capacity: 1024,
            catch_up_every: Duration::from_secs(5),
            batch: 256,
        }
    }
}

/// The feed's handle, owned by the store. Dropping it stops the pump.
#[derive(Debug)]
pub struct ChangeFeed<T> {
    sender: broadcast::Sender<T>,
    local: mpsc::UnboundedSender<T>,
    /// Shared with the pump, which holds it while it reads the database back.
    write_lock: Arc<Mutex<()>>,
    channel: Option<String>,
}

impl<T: Revisioned + Clone + Send + Sync + 'static> ChangeFeed<T> {
    /// Starts the pump for `db` (must be called inside a Tokio runtime). `start_revision` is the
    /// store's revision now: later changes are broadcast.
    pub fn start<R: Replay<Item = T>>(
        db: &Database,
        replay: R,
        start_revision: u64,
        options: FeedOptions,
    ) -> Self {
        let (sender, _) = broadcast::channel(options.capacity.max(1));
        let (local, local_rx) = mpsc::unbounded_channel();
        let channel = db.notify_channel();
        let listen = match db {
            Database::Postgres { pool, .. } => channel.clone().map(|c| (pool.clone(), c)),
            Database::Sqlite(_) => None,
        };
        let write_lock = Arc::new(Mutex::new(()));
        let pump = Pump {
            replay,
            last: start_revision,
            sender: sender.clone(),
            pending: BTreeMap::new(),
            options,
            write_lock: Arc::clone(&write_lock),
        };
        tokio::spawn(pump.run(local_rx, listen));
        Self {
            sender,
            local,
            write_lock,
            channel,
        }
    }

    /// Held by a writer from the start of its transaction until it has called
    /// [`ChangeFeed::committed`], so local changes reach the pump in commit order.
    pub async fn write_lock(&self) -> MutexGuard<'_, ()> {
        self.write_lock.lock().await
    }

    /// A local write committed `item` (call with the write lock held).
    pub fn committed(&self, item: T) {
        tracing::debug!(revision = item.revision(), "change committed");
        // The pump ends only when this handle is dropped.
        let _ = self.local.send(item);
    }

    /// Every change committed from now on, in revision order.
    pub fn subscribe(&self) -> broadcast::Receiver<T> {
        self.sender.subscribe()
    }

    /// PostgreSQL: the channel to pass to [`NOTIFY_SQL`] in every write transaction.
    pub fn notify_channel(&self) -> Option<&str> {
        self.channel.as_deref()
    }
}

struct Pump<R: Replay> {
    replay: R,
    /// The last revision broadcast (or skipped over).
    last: u64,
    sender: broadcast::Sender<R::Item>,
    /// Local items waiting for a revision before them (another replica's, or one still being
    /// read back).
    pending: BTreeMap<u64, R::Item>,
    options: FeedOptions,
    /// The writers' lock ([`ChangeFeed::write_lock`]), held while reading back.
    write_lock: Arc<Mutex<()>>,
}

impl<R: Replay> Pump<R> {
    async fn run(
        mut self,
        mut local: mpsc::UnboundedReceiver<R::Item>,
        listen: Option<(PgPool, String)>,
    ) {
        let mut listener: Option<PgListener> = None;
        // A lost LISTEN connection is retried soon (doubling from RECONNECT_FIRST up to
        // `catch_up_every`), not only at the next safety tick: until it is back, this replica's
        // watchers miss the other replicas' writes (a key rotation published right after a
        // database restart would reach only half the watchers for up to `catch_up_every`).
        let mut retry = RECONNECT_FIRST;
        let mut tick = tokio::time::interval(self.options.catch_up_every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        if let Some((pool, channel)) = &listen {
            listener = connect_listener(pool, channel).await;
            // What another replica committed before LISTEN took effect sent no notification here.
            self.catch_up(&mut local).await;
        }
        loop {
            tokio::select! {
                item = local.recv() => {
                    let Some(item) = item else { return };
                    self.remember(item);
                    self.flush();
                    // Without a listener no notification will say who wrote the missing
                    // revision: read it now.
                    if listener.is_none() && !self.pending.is_empty() {
                        self.catch_up(&mut local).await;
                    }
                }
                notification = next_notification(&mut listener) => match notification {
                    Ok(Some(revision)) => self.notified(revision, &mut local).await,
                    Ok(None) => {
                        tracing::warn!("change feed: the LISTEN connection was lost; reading back what it missed");
                        listener = None;
                        self.catch_up(&mut local).await;
                        retry = RECONNECT_FIRST;
                        tick.reset_after(retry);
                    }
                    Err(error) => {
                        tracing::warn!(%error, "change feed: LISTEN failed; reading back what it missed");
                        listener = None;
                        self.catch_up(&mut local).await;
                        retry = RECONNECT_FIRST;
                        tick.reset_after(retry);
                    }
                },
                _ = tick.tick(), if listen.is_some() => {
                    if listener.is_none()
                        && let Some((pool, channel)) = &listen
                    {
                        listener = connect_listener(pool, channel).await;
                        if listener.is_none() {
                            retry = (retry * 2).min(self.options.catch_up_every);
                            tick.reset_after(retry);
                        }
                    }
                    // After a reconnect, and as a safety net for a notification that never came.
                    self.catch_up(&mut local).await;
                }
            }
        }
    }

    /// Keeps a local item until every revision before it has been broadcast.
    fn remember(&mut self, item: R::Item) {
        let revision = item.revision();
        if revision > self.last && self.pending.len() < MAX_PENDING {
            self.pending.insert(revision, item);
        }
    }

    /// Broadcasts the local items that are next in revision order.
    fn flush(&mut self) {
        while let Some(entry) = self.pending.first_entry() {
            let revision = *entry.key();
            if revision <= self.last {
                entry.remove();
            } else if revision == self.last + 1 {
                let item = entry.remove();
                self.broadcast(item);
            } else {
                break;
            }
        }
    }

    /// Broadcasts the local items committed before `revision`. Used while reading back: the
    /// database lists revisions in order, and one missing below `revision` was superseded
    /// (another replica's item changed again), so the local items there are next.
    fn flush_below(&mut self, revision: u64) {
        while let Some(entry) = self.pending.first_entry() {
            if *entry.key() >= revision {
                break;
            }
            let item = entry.remove();
            if item.revision() > self.last {
                self.broadcast(item);
            }
        }
    }

    /// A notification for `revision` (commit order).
    async fn notified(&mut self, revision: u64, local: &mut mpsc::UnboundedReceiver<R::Item>) {
        if revision <= self.last {
            // Ours, already broadcast (the usual case), or an old one.
            return;
        }
        // Another replica's change, or ours with its item not handed over yet (the read-back
        // waits for it under the write lock).
        self.catch_up(local).await;
    }

    /// Reads back and broadcasts everything committed after `last`, local items merged in.
    ///
    /// Holds the write lock: every local write that has committed has then also handed its item
    /// over, so each is broadcast as itself rather than as whatever later state the database
    /// holds, and none can commit under the read.
    async fn catch_up(&mut self, local: &mut mpsc::UnboundedReceiver<R::Item>) {
        let write_lock = Arc::clone(&self.write_lock);
        let _writers = write_lock.lock().await;
        while let Ok(item) = local.try_recv() {
            self.remember(item);
        }
        self.flush();
        loop {
            match self.replay.after(self.last, self.options.batch).await {
                Ok(Replayed::Items(items)) => {
                    let full = items.len() >= self.options.batch;
                    for item in items {
                        let revision = item.revision();
                        self.flush_below(revision);
                        if revision > self.last {
                            self.pending.remove(&revision);
                            self.broadcast(item);
                        }
                    }
                    if !full {
                        break;
                    }
                }
                Ok(Replayed::Pruned { current }) => {
                    tracing::warn!(
                        from = self.last,
                        to = current,
                        "change feed: changes were pruned before they could be read; skipping ahead"
                    );
                    self.last = self.last.max(current);
                    break;
                }
                Err(error) => {
                    // The next notification, reconnect or tick tries again; local items after
                    // the gap wait for it.
                    tracing::warn!(%error, "change feed: cannot read back changes");
                    break;
                }
            }
        }
        self.flush();
    }

    fn broadcast(&mut self, item: R::Item) {
        self.last = item.revision();
        self.pending.remove(&self.last);
        // No subscribers is fine.
        let _ = self.sender.send(item);
    }
}

async fn connect_listener(pool: &PgPool, channel: &str) -> Option<PgListener> {
    let result = async {
        let mut listener = PgListener::connect_with(pool).await?;
        listener.listen(channel).await?;
        Ok::<_, sqlx::Error>(listener)
    }
    .await;
    match result {
        Ok(listener) => {
            tracing::debug!(channel, "change feed listening");
            Some(listener)
        }
        Err(error) => {
            tracing::warn!(%error, channel, "change feed: cannot LISTEN yet; polling until it can");
            None
        }
    }
}

/// The next notification's revision; `Ok(None)` when the connection was lost; pending forever
/// without a listener. A payload that is not a revision counts as "something changed, read it
/// back" (`u64::MAX`).
/// The first retry after a lost LISTEN connection (see [`Pump::run`]).
const RECONNECT_FIRST: Duration = Duration::from_millis(100);

async fn next_notification(listener: &mut Option<PgListener>) -> Result<Option<u64>, sqlx::Error> {
    match listener {
        None => std::future::pending().await,
        Some(listener) => Ok(listener
            .try_recv()
            .await?
            .map(|n| n.payload().parse::<u64>().unwrap_or(u64::MAX))),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex as StdMutex};

    use super::*;

    #[derive(Debug, Clone, PartialEq, Eq)]
    struct Item(u64);

    impl Revisioned for Item {
        fn revision(&self) -> u64 {
            self.0
        }
    }

    /// A database stand-in: the committed items, and how often the pump read them back.
    #[derive(Clone, Default)]
    struct Log {
        items: Arc<StdMutex<Vec<Item>>>,
        reads: Arc<StdMutex<usize>>,
        pruned_below: Arc<StdMutex<u64>>,
    }

    impl Replay for Log {
        type Item = Item;
        async fn after(&self, revision: u64, limit: usize) -> Result<Replayed<Item>, String> {
            *self.reads.lock().expect("lock") += 1;
            let current = self.items.lock().expect("lock").last().map_or(0, |i| i.0);
            if revision < *self.pruned_below.lock().expect("lock") {
                return Ok(Replayed::Pruned { current });
            }
            Ok(Replayed::Items(
                self.items
                    .lock()
                    .expect("lock")
                    .iter()
                    .filter(|i| i.0 > revision)
                    .take(limit)
                    .cloned()
                    .collect(),
            ))
        }
    }

    async fn sqlite_feed(log: &Log, start: u64) -> ChangeFeed<Item> {
        let pool = sqlx::SqlitePool::connect_lazy("sqlite::memory:").expect("lazy pool");
        ChangeFeed::start(
            &Database::Sqlite(pool),
            log.clone(),
            start,
            FeedOptions {
                batch: 2,
                ..FeedOptions::default()
            },
        )
    }

    async fn next(rx: &mut broadcast::Receiver<Item>) -> Item {
        tokio::time::timeout(Duration::from_secs(5), rx.recv())
            .await
            .expect("an item in time")
            .expect("open")
    }

    #[tokio::test]
    async fn local_items_in_order_are_broadcast_without_reading_back() {
        let log = Log::default();
        let feed = sqlite_feed(&log, 10).await;
        let mut rx = feed.subscribe();
        for r in 11..=13 {
            feed.committed(Item(r));
        }
        // A replay of an old one changes nothing.
        feed.committed(Item(12));
        feed.committed(Item(14));
        for r in 11..=14 {
            assert_eq!(next(&mut rx).await, Item(r));
        }
        assert_eq!(*log.reads.lock().expect("lock"), 0);
        assert!(rx.try_recv().is_err(), "no duplicate");
    }

    #[tokio::test]
    async fn a_jump_reads_back_what_another_writer_committed_in_batches() {
        let log = Log::default();
        let feed = sqlite_feed(&log, 0).await;
        let mut rx = feed.subscribe();
        feed.committed(Item(1));
        assert_eq!(next(&mut rx).await, Item(1));
        // Revisions 2..=4 were committed by another process; 5 by us.
        *log.items.lock().expect("lock") = (1..=5).map(Item).collect();
        feed.committed(Item(5));
        for r in 2..=5 {
            assert_eq!(next(&mut rx).await, Item(r));
        }
        // Batches of 2: 2-3, 4-5, then an empty read that ends the catch-up.
        assert_eq!(*log.reads.lock().expect("lock"), 3);
        feed.committed(Item(6));
        assert_eq!(next(&mut rx).await, Item(6));
    }

    #[tokio::test]
    async fn a_read_back_keeps_every_local_change_the_database_has_superseded() {
        let log = Log::default();
        // Another process committed 1; we committed 2 and then 3 on the same item, so the
        // database (latest state per item) holds 1 and 3 only.
        *log.items.lock().expect("lock") = vec![Item(1), Item(3)];
        let feed = sqlite_feed(&log, 0).await;
        let mut rx = feed.subscribe();
        feed.committed(Item(2));
        feed.committed(Item(3));
        for r in 1..=3 {
            assert_eq!(next(&mut rx).await, Item(r));
        }
        assert!(rx.try_recv().is_err(), "no duplicate");
    }

    #[tokio::test]
    async fn a_read_back_waits_for_a_writer_between_commit_and_hand_over() {
        let log = Log::default();
        let feed = sqlite_feed(&log, 0).await;
        let mut rx = feed.subscribe();
        // A writer holds the lock: it has committed 2 (superseded by its 3 in the database) but
        // not handed it over yet, when 3 arrives after another process's 1.
        let writer = feed.write_lock().await;
        *log.items.lock().expect("lock") = vec![Item(1), Item(3)];
        feed.committed(Item(3));
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(rx.try_recv().is_err(), "nothing read back under a writer");
        feed.committed(Item(2));
        drop(writer);
        for r in 1..=3 {
            assert_eq!(next(&mut rx).await, Item(r));
        }
    }

    #[tokio::test]
    async fn pruned_history_skips_ahead_and_later_items_still_flow() {
        let log = Log::default();
        *log.items.lock().expect("lock") = (1..=9).map(Item).collect();
        *log.pruned_below.lock().expect("lock") = 5;
        let feed = sqlite_feed(&log, 0).await;
        let mut rx = feed.subscribe();
        // 1..=8 happened elsewhere and 0..5 is gone: the feed jumps to 9 without sending 9
        // from the log (subscribers see the jump and resynchronise)…
        feed.committed(Item(9));
        feed.committed(Item(10));
        // …and continues.
        assert_eq!(next(&mut rx).await, Item(10));
    }

    #[tokio::test]
    async fn dropping_the_feed_stops_the_pump() {
        let log = Log::default();
        let feed = sqlite_feed(&log, 0).await;
        let mut rx = feed.subscribe();
        drop(feed);
        let closed = tokio::time::timeout(Duration::from_secs(5), rx.recv())
            .await
            .expect("closed in time");
        assert!(matches!(closed, Err(broadcast::error::RecvError::Closed)));
    }
}
