//! The runtime the server runs on.

/// A multi-threaded runtime with `threads` workers (at least one).
///
/// Multi-threaded even with one worker: its worker runs the task it has just woken before anything
/// queued (the LIFO slot), so a call that arrives during an overload is admitted or refused as soon
/// as its connection reads it. A single-threaded runtime queues each new call behind every call
/// already runnable: at 2x its capacity the CPU governor's refusals came after the queue, not
/// before it, and admitted calls waited a second (BENCHMARKS.md, issue 20). Its one advantage,
/// answers leaving together, the connections get by putting each write off one turn
/// (`coalesce.rs`).
pub fn runtime(threads: usize) -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads.max(1))
        .enable_all()
        .build()
}
