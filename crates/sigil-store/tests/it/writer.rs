//! The write path as the server uses it (`Store::write`): on SQLite the
//! single writer, which runs queued writes each in its own savepoint and
//! commits them together; on PostgreSQL the pool. A failed or panicking
//! write undoes only itself, no write is answered before its commit, and a
//! burst of writers all land.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use sigil_store::users::{self, User};
use sigil_store::{AnyConnection, Store, StoreError, Unique};
use sigil_testkit::{TestDb, backend_tests};

use crate::support;

backend_tests!(a_burst_of_writers_all_land_and_conflicts_are_told_apart);

type Write<T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send>>;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

/// Starts `work` through `Store::write` and polls it once, which queues it
/// for the writer; returns the pending answer.
fn queue<T: Send + 'static>(
    store: &Store,
    work: impl FnOnce(&mut AnyConnection) -> Result<T, StoreError> + Send + 'static,
) -> Write<T> {
    let store = store.clone();
    let mut write: Write<T> = Box::pin(async move { store.write(work).await });
    assert!(poll_once(&mut write).is_pending(), "a queued write cannot be answered before it runs");
    write
}

fn poll_once<T>(write: &mut Write<T>) -> Poll<Result<T, StoreError>> {
    write.as_mut().poll(&mut Context::from_waker(Waker::noop()))
}

/// A write that holds the writer until `release` is sent to.
fn gate(store: &Store) -> (Write<()>, mpsc::Sender<()>) {
    let (release, wait) = mpsc::channel::<()>();
    let write = queue(store, move |_| {
        wait.recv().expect("the test releases the gate");
        Ok(())
    });
    (write, release)
}

fn insert(name: String) -> impl FnOnce(&mut AnyConnection) -> Result<String, StoreError> + Send + 'static {
    move |c| Ok(users::insert(c, User::new(name), chrono::Utc::now().naive_utc())?.id)
}

fn exists(store: &Store, name: &str) -> bool {
    store.read_blocking(|c| users::find_by_user_name(c, name)).unwrap().is_some()
}

#[test]
fn writes_queued_together_commit_together_and_a_failure_undoes_only_itself() {
    let db = TestDb::sqlite();
    let store = support::open(&db);
    let rt = runtime();
    let before = store.writer_counts().expect("SQLite has a single writer");
    let (gate, release) = gate(&store);
    // Forty writes queue behind the gate: the even ones insert a user and
    // succeed, the odd ones insert one and then fail, one panics.
    let writes: Vec<Write<String>> = (0..40)
        .map(|i| {
            let name = format!("user{i}");
            queue(&store, move |c| {
                let id = insert(name)(c)?;
                match i {
                    13 => panic!("a bug in one request"),
                    i if i % 2 == 1 => Err(StoreError::Invalid(format!("refused {i}"))),
                    _ => Ok(id),
                }
            })
        })
        .collect();
    release.send(()).unwrap();
    rt.block_on(gate).unwrap();
    let answers: Vec<_> = writes.into_iter().map(|w| rt.block_on(w)).collect();

    for (i, answer) in answers.iter().enumerate() {
        match i {
            13 => {
                assert!(matches!(answer, Err(StoreError::Other(m)) if m.contains("panicked")), "{answer:?}");
            }
            i if i % 2 == 1 => assert!(matches!(answer, Err(StoreError::Invalid(_))), "{i}: {answer:?}"),
            _ => assert!(answer.is_ok(), "{i}: {answer:?}"),
        }
        assert_eq!(exists(&store, &format!("user{i}")), i % 2 == 0, "user{i}");
    }
    let after = store.writer_counts().unwrap();
    assert_eq!(after.writes - before.writes, 41, "{before:?} {after:?}");
    assert_eq!(after.batches - before.batches, 1, "the gate and the forty behind it form one batch");
    assert_eq!(after.queued - before.queued, 41, "every write was counted as it queued");
    assert_eq!(after.queued, after.writes, "none is waiting now");

    // The writer lives on after the panic.
    rt.block_on(store.write(insert("later".into()))).unwrap();
    assert!(exists(&store, "later"));
}

#[test]
fn no_write_is_answered_or_seen_before_its_batch_commits() {
    let db = TestDb::sqlite();
    let store = support::open(&db);
    let rt = runtime();
    let (gate, release_gate) = gate(&store);
    let ran = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&ran);
    let mut first = queue(&store, move |c| {
        let id = insert("first".into())(c)?;
        flag.store(true, Ordering::SeqCst);
        Ok(id)
    });
    // The second write of the batch waits, so the batch cannot commit.
    let (release_second, wait) = mpsc::channel::<()>();
    let second = queue(&store, move |c| {
        wait.recv().unwrap();
        insert("second".into())(c)
    });
    // The gate, the first and the second write form one batch, so the gate
    // too is answered only at the end.
    release_gate.send(()).unwrap();

    let deadline = Instant::now() + Duration::from_secs(10);
    while !ran.load(Ordering::SeqCst) {
        assert!(Instant::now() < deadline, "the first write never ran");
        std::thread::sleep(Duration::from_millis(5));
    }
    // Its work is done, but not committed: no answer yet, and no reader sees it.
    std::thread::sleep(Duration::from_millis(50));
    assert!(poll_once(&mut first).is_pending(), "answered before its commit");
    assert!(!exists(&store, "first"), "seen before its commit");

    release_second.send(()).unwrap();
    rt.block_on(gate).unwrap();
    rt.block_on(first).unwrap();
    rt.block_on(second).unwrap();
    assert!(exists(&store, "first") && exists(&store, "second"));
}

#[test]
fn a_write_lands_while_another_process_holds_the_write_lock() {
    // The CLI writes from another process, through its own connection; the
    // writer waits for the lock instead of failing.
    let db = TestDb::sqlite();
    let store = support::open(&db);
    let other = support::open(&db);
    let rt = runtime();
    let (locked, holding) = mpsc::channel::<()>();
    let (release, wait) = mpsc::channel::<()>();
    let cli = std::thread::spawn(move || {
        other.write_blocking(|c| {
            insert("from-cli".into())(c)?;
            locked.send(()).unwrap();
            wait.recv().unwrap();
            Ok::<_, StoreError>(())
        })
    });
    holding.recv().unwrap();
    let write = queue(&store, insert("from-server".into()));
    std::thread::sleep(Duration::from_millis(100));
    release.send(()).unwrap();
    cli.join().unwrap().unwrap();
    rt.block_on(write).unwrap();
    assert!(exists(&store, "from-cli") && exists(&store, "from-server"));
}

fn a_burst_of_writers_all_land_and_conflicts_are_told_apart(db: &TestDb) {
    let store = support::open(db);
    let rt = runtime();
    // 200 writers at once; every fourth name is taken twice.
    let names: Vec<String> =
        (0..200).map(|i| if i % 4 == 3 { format!("u{}", i - 1) } else { format!("u{i}") }).collect();
    let answers: Vec<Result<String, StoreError>> = rt.block_on(async {
        let tasks: Vec<_> = names
            .iter()
            .map(|name| {
                let (store, name) = (store.clone(), name.clone());
                tokio::spawn(async move { store.write(insert(name)).await })
            })
            .collect();
        let mut answers = Vec::new();
        for task in tasks {
            answers.push(task.await.unwrap());
        }
        answers
    });
    let landed = answers.iter().filter(|a| a.is_ok()).count();
    let conflicts =
        answers.iter().filter(|a| matches!(a, Err(StoreError::Conflict(Unique::UserName)))).count();
    assert_eq!((landed, conflicts), (150, 50), "{:?}", answers.iter().find(|a| a.is_err()));
    assert_eq!(store.read_blocking(users::count).unwrap(), 150);
    if let Some(counts) = store.writer_counts() {
        assert_eq!(counts.writes, 200, "{counts:?}");
    }
}
