//! SQLite's single writer: one connection, one thread, a first-come,
//! first-served queue, and group commit.
//!
//! SQLite lets one transaction write at a time. With a pool, every writer
//! opens `BEGIN IMMEDIATE` on its own connection and, when the lock is
//! taken, SQLite's busy handler sleeps and polls in growing steps: writers
//! do not queue, so under a burst a few wait seconds while later ones pass
//! (16 concurrent creators: p99 1.3–1.6 s). And with `synchronous = FULL`
//! every commit costs an fsync, which caps writes at the disk's fsync rate.
//!
//! Here every write of the server goes to one thread that owns one
//! connection. The thread takes the jobs in the order they arrived, opens
//! one transaction, runs each queued job in a savepoint of its own (a job
//! that fails rolls back to its savepoint, so it undoes only itself), then
//! commits them together: one fsync for the whole batch. No job is answered
//! before that commit returns, so an acknowledged write is durable, and a
//! job whose answer depended on a batch-mate's write never outlives that
//! write: when the commit fails, every job of the batch gets the error.
//!
//! Readers are untouched: they keep their pooled connections and, under
//! WAL, run beside the writer.
//!
//! PostgreSQL needs none of this (it has row locks and its own group
//! commit); its writes stay on the pool.

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::thread;

use crate::db::{self, AnyConnection, DatabaseUrl};
use crate::error::StoreError;

/// The most jobs committed together. A bound keeps the first job of a
/// batch from waiting behind an unbounded stream of later ones.
const MAX_BATCH: usize = 64;

/// A queued write: run it on the writer's connection, or refuse it when no
/// transaction could be opened.
trait Job: Send {
    /// Runs the job in its own savepoint of the open transaction; returns
    /// how to answer it once the batch's commit is known.
    fn run(self: Box<Self>, conn: &mut AnyConnection) -> Box<dyn Answer>;
    /// Answers the job without running it.
    fn refuse(self: Box<Self>, error: StoreError);
}

/// A job that ran, waiting for its batch's commit.
trait Answer: Send {
    /// `committed` is the batch's outcome: `Ok` when it is durable.
    fn send(self: Box<Self>, committed: Result<(), &str>);
}

/// A write closure with the channel its result goes back on.
struct Queued<F, T, E> {
    work: F,
    reply: tokio::sync::oneshot::Sender<Result<T, E>>,
}

impl<F, T, E> Job for Queued<F, T, E>
where
    F: FnOnce(&mut AnyConnection) -> Result<T, E> + Send + 'static,
    T: Send + 'static,
    E: From<StoreError> + Send + 'static,
{
    fn run(self: Box<Self>, conn: &mut AnyConnection) -> Box<dyn Answer> {
        let Queued { work, reply } = *self;
        let outcome = in_savepoint(conn, work);
        Box::new(Ran { outcome, reply })
    }

    fn refuse(self: Box<Self>, error: StoreError) {
        let _ = self.reply.send(Err(error.into()));
    }
}

struct Ran<T, E> {
    outcome: Result<T, E>,
    reply: tokio::sync::oneshot::Sender<Result<T, E>>,
}

impl<T: Send, E: From<StoreError> + Send> Answer for Ran<T, E> {
    fn send(self: Box<Self>, committed: Result<(), &str>) {
        let answer = match committed {
            Ok(()) => self.outcome,
            // The batch is gone, this job's work with it, whatever it returned.
            Err(reason) => {
                Err(StoreError::Unavailable(format!("the write was not committed: {reason}")).into())
            }
        };
        // A caller that stopped waiting (its request was dropped) needs no answer.
        let _ = self.reply.send(answer);
    }
}

/// Runs `work` in a savepoint: released when it succeeds, rolled back when it
/// fails or panics, so a failed job leaves nothing behind for its batch.
fn in_savepoint<T, E: From<StoreError>>(
    conn: &mut AnyConnection,
    work: impl FnOnce(&mut AnyConnection) -> Result<T, E>,
) -> Result<T, E> {
    savepoint::open(conn)?;
    // A panicking job must not take the writer, and every later write, down.
    let outcome = catch_unwind(AssertUnwindSafe(|| work(conn))).unwrap_or_else(|panic| {
        Err(StoreError::Other(format!("a write panicked: {}", panic_text(&panic))).into())
    });
    match outcome {
        Ok(value) => match savepoint::release(conn) {
            Ok(()) => Ok(value),
            Err(error) => {
                let _ = savepoint::roll_back(conn);
                Err(error.into())
            }
        },
        Err(error) => {
            let _ = savepoint::roll_back(conn);
            Err(error)
        }
    }
}

/// The job's savepoint, in statements SQLite prepares once for the
/// writer's connection: diesel's own savepoints write their SQL afresh
/// and prepare it on every use, which cost about a tenth of a create.
///
/// One name serves every job: a job's savepoint is released or rolled
/// back before the next one opens. Savepoints a job opens itself (through
/// `Connection::transaction`) nest inside it under diesel's own names.
mod savepoint {
    use diesel::RunQueryDsl;
    use diesel::query_builder::{AstPass, QueryFragment, QueryId};
    use diesel::sqlite::{Sqlite, SqliteConnection};

    use crate::db::AnyConnection;
    use crate::error::StoreError;

    macro_rules! fixed_statement {
        ($name:ident, $sql:literal) => {
            #[derive(Debug, Clone, Copy, QueryId)]
            struct $name;

            impl QueryFragment<Sqlite> for $name {
                fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Sqlite>) -> diesel::QueryResult<()> {
                    out.push_sql($sql);
                    Ok(())
                }
            }

            impl RunQueryDsl<SqliteConnection> for $name {}
        };
    }

    fixed_statement!(Open, "SAVEPOINT job");
    fixed_statement!(Release, "RELEASE job");
    fixed_statement!(RollBackTo, "ROLLBACK TO job");

    fn sqlite(conn: &mut AnyConnection) -> Result<&mut SqliteConnection, StoreError> {
        match conn {
            AnyConnection::Sqlite(c) => Ok(c),
            AnyConnection::Postgres(_) => Err(StoreError::Other("the writer runs on SQLite only".into())),
        }
    }

    pub(super) fn open(conn: &mut AnyConnection) -> Result<(), StoreError> {
        Open.execute(sqlite(conn)?)?;
        Ok(())
    }

    pub(super) fn release(conn: &mut AnyConnection) -> Result<(), StoreError> {
        Release.execute(sqlite(conn)?)?;
        Ok(())
    }

    /// Undoes the job's work and ends its savepoint (`ROLLBACK TO` alone
    /// would leave it open).
    pub(super) fn roll_back(conn: &mut AnyConnection) -> Result<(), StoreError> {
        let conn = sqlite(conn)?;
        RollBackTo.execute(conn)?;
        Release.execute(conn)?;
        Ok(())
    }
}

fn panic_text(panic: &Box<dyn Any + Send>) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("")
}

/// The handle every clone of a SQLite [`crate::Store`] shares; the writer
/// thread ends when the last handle is dropped.
#[derive(Debug)]
pub(crate) struct Writer {
    queue: mpsc::Sender<Box<dyn Job>>,
    counts: Arc<Counts>,
}

/// What the writer has done so far: how many writes it was given and ran,
/// in how many committed transactions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WriterCounts {
    /// Writes run (their own outcome aside).
    pub writes: u64,
    /// Transactions committed or failed, each holding one or more writes.
    pub batches: u64,
    /// Writes queued, run or not yet (less any refused unrun when a
    /// transaction could not begin): `queued - writes` are waiting or in
    /// the batch being committed.
    pub queued: u64,
}

#[derive(Debug, Default)]
struct Counts {
    writes: AtomicU64,
    batches: AtomicU64,
    queued: AtomicU64,
}

impl Writer {
    /// Opens the writer's connection to `url` and starts its thread.
    pub(crate) fn start(url: &DatabaseUrl) -> Result<Self, StoreError> {
        let conn = db::establish(url)?;
        let (queue, jobs) = mpsc::channel::<Box<dyn Job>>();
        let url = url.clone();
        let counts = Arc::new(Counts::default());
        let thread_counts = Arc::clone(&counts);
        thread::Builder::new()
            .name("sigil-sqlite-writer".into())
            .spawn(move || serve(conn, &url, &jobs, &thread_counts))
            .map_err(|e| StoreError::Other(format!("cannot start the SQLite writer: {e}")))?;
        Ok(Self { queue, counts })
    }

    /// The writes run and batches committed so far.
    pub(crate) fn counts(&self) -> WriterCounts {
        WriterCounts {
            writes: self.counts.writes.load(Ordering::Relaxed),
            batches: self.counts.batches.load(Ordering::Relaxed),
            queued: self.counts.queued.load(Ordering::Relaxed),
        }
    }

    /// Queues `work` and waits for its answer, given after the commit of
    /// its batch.
    pub(crate) async fn write<T, E, F>(&self, work: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
        F: FnOnce(&mut AnyConnection) -> Result<T, E> + Send + 'static,
    {
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.counts.queued.fetch_add(1, Ordering::Relaxed);
        self.queue.send(Box::new(Queued { work, reply })).map_err(|_| {
            self.counts.queued.fetch_sub(1, Ordering::Relaxed);
            StoreError::Unavailable("the SQLite writer has stopped".into())
        })?;
        answer.await.map_err(|_| StoreError::Unavailable("the SQLite writer dropped a write".into()))?
    }
}

/// The writer thread: batches until every handle is gone.
fn serve(mut conn: AnyConnection, url: &DatabaseUrl, jobs: &mpsc::Receiver<Box<dyn Job>>, counts: &Counts) {
    while let Ok(first) = jobs.recv() {
        if let Err(error) = db::begin_immediate(&mut conn) {
            tracing::error!(%error, "the SQLite writer cannot open a transaction");
            first.refuse(error);
            // Never run: no longer waiting either.
            counts.queued.fetch_sub(1, Ordering::Relaxed);
            reconnect(&mut conn, url);
            continue;
        }
        let mut ran = vec![first.run(&mut conn)];
        while ran.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(job) => ran.push(job.run(&mut conn)),
                Err(_) => break,
            }
        }
        let committed = db::commit(&mut conn).map_err(|e| e.to_string());
        counts.writes.fetch_add(ran.len() as u64, Ordering::Relaxed);
        counts.batches.fetch_add(1, Ordering::Relaxed);
        if let Err(reason) = &committed {
            tracing::error!(%reason, jobs = ran.len(), "the SQLite writer could not commit a batch");
        }
        for answer in ran {
            answer.send(committed.as_ref().map(|_| ()).map_err(String::as_str));
        }
        if committed.is_err() {
            reconnect(&mut conn, url);
        }
    }
}

/// After a failure the connection may be unusable (a broken transaction
/// state, a file that went away): start the next batch on a fresh one.
fn reconnect(conn: &mut AnyConnection, url: &DatabaseUrl) {
    match db::establish(url) {
        Ok(fresh) => *conn = fresh,
        Err(error) => tracing::error!(%error, "the SQLite writer cannot reopen its connection"),
    }
}
