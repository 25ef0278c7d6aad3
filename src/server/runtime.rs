//! The runtime the server runs on.

/// A runtime with `threads` workers, or with one, a single-threaded runtime.
///
/// On one CPU a multi-threaded runtime's one worker runs a task it has just woken before anything
/// queued (its LIFO slot): each finished call wakes its connection, which then writes that call's
/// answer alone. A single-threaded runtime queues the connection behind the calls already
/// runnable, so the answers that finish together leave in one write (with [`super::coalesce`]);
/// BENCHMARKS.md, issue 20, has the figures.
pub fn runtime(threads: usize) -> std::io::Result<tokio::runtime::Runtime> {
    let mut builder = if threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
    } else {
        let mut b = tokio::runtime::Builder::new_multi_thread();
        b.worker_threads(threads);
        b
    };
    builder.enable_all().build()
}
