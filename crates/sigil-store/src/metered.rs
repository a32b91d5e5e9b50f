//! What the store reports about itself for monitoring: the time its calls
//! take, through the `metrics` facade (a no-op until the program installs
//! a recorder; the store never knows where numbers go), and the state of
//! its connection pool, read when asked.

use std::time::Instant;

/// Connections of the pool at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolState {
    /// Connections open, idle or in use.
    pub open: u32,
    /// Open connections waiting for work.
    pub idle: u32,
    /// The most the pool opens.
    pub max: u32,
}

/// Runs `work` and records how long it took, waiting for a connection or
/// for the writer's batch included, as `sigil_store_call_duration_seconds`
/// labelled with the kind of call. Two clock reads and one histogram
/// sample per call.
pub(crate) async fn timed<T>(call: &'static str, work: impl Future<Output = T>) -> T {
    let started = Instant::now();
    let out = work.await;
    metrics::histogram!("sigil_store_call_duration_seconds", "call" => call).record(started.elapsed());
    out
}
