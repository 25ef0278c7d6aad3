//! A connection that lets HTTP/2 gather several answers into one write.
//!
//! h2 keeps a DATA frame's payload out of its write buffer when the payload is at least 256 bytes
//! and the connection can write vectored, and must then write before it takes the next frame: one
//! `writev` per answer, however many answers are ready. A connection that says it cannot write
//! vectored raises that threshold to 1,024 bytes, so an answer (~600 bytes) is copied into the
//! 16 KiB buffer beside the others ready on the same connection, and they leave in one write.
//! An answer over 1 KiB (one with `expand: ["attributes"]`) still leaves from its own buffer, in
//! a second `write` after the buffered frames rather than in one `writev` with them.
//!
//! That gathers only what is ready when the connection's task runs, and with tokio's multi-thread
//! scheduler that is usually one answer: a call's task wakes the connection's task as it finishes,
//! and the woken task runs next (the worker's LIFO slot), before the other calls ready on the
//! connection. So each write is put off by one turn of the scheduler: the first attempt wakes the
//! task and returns `Pending`, which sends the task to the back of the run queue; the calls queued
//! ahead of it finish meanwhile, and the next attempt writes their answers with it. An idle
//! gateway pays one extra poll per write (its queue is empty, the task runs again at once); a busy
//! one makes a tenth of the `write` calls, each of which also wakes the reader on loopback.

use std::{
    io,
    pin::Pin,
    task::{Context, Poll},
};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_stream::{Stream, StreamExt};

/// The connections of `incoming` (a listener's stream for tonic's `serve_with_incoming`), each
/// [`Coalesced`].
pub fn coalesced<C>(
    incoming: impl Stream<Item = io::Result<C>>,
) -> impl Stream<Item = io::Result<Coalesced<C>>> {
    incoming.map(|conn| conn.map(Coalesced::new))
}

pin_project_lite::pin_project! {
    /// `inner`, reporting that it cannot write vectored, each write put off by one turn.
    pub struct Coalesced<T> {
        #[pin]
        inner: T,
        // A write was put off once; the next attempt goes through.
        deferred: bool,
    }
}

impl<T> Coalesced<T> {
    pub fn new(inner: T) -> Self {
        Self {
            inner,
            deferred: false,
        }
    }
}

impl<T: AsyncRead> AsyncRead for Coalesced<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.project().inner.poll_read(cx, buf)
    }
}

impl<T: AsyncWrite> AsyncWrite for Coalesced<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.project();
        if !*this.deferred {
            *this.deferred = true;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        let written = this.inner.poll_write(cx, buf);
        // A write the socket was not ready for is retried at once when it is: it has waited.
        if written.is_ready() {
            *this.deferred = false;
        }
        written
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().inner.poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().inner.poll_shutdown(cx)
    }

    fn is_write_vectored(&self) -> bool {
        false
    }
}

impl<T: tonic::transport::server::Connected> tonic::transport::server::Connected for Coalesced<T> {
    type ConnectInfo = T::ConnectInfo;

    fn connect_info(&self) -> Self::ConnectInfo {
        self.inner.connect_info()
    }
}

#[cfg(test)]
mod tests {
    use std::{
        sync::{
            Arc,
            atomic::{AtomicUsize, Ordering},
        },
        task::{Wake, Waker},
    };

    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    #[tokio::test]
    async fn passes_bytes_both_ways_and_asks_for_one_buffer() {
        let (ours, theirs) = tokio::io::duplex(64);
        let (mut ours, mut theirs) = (Coalesced::new(ours), theirs);
        assert!(!ours.is_write_vectored());
        ours.write_all(b"answer").await.unwrap();
        ours.flush().await.unwrap();
        let mut got = [0u8; 6];
        theirs.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"answer");
        theirs.write_all(b"call").await.unwrap();
        let mut got = [0u8; 4];
        ours.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"call");
        ours.shutdown().await.unwrap();
        assert_eq!(theirs.read(&mut got).await.unwrap(), 0);
    }

    /// Counts its wakes.
    struct Wakes(AtomicUsize);

    impl Wake for Wakes {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn a_write_waits_one_turn_and_wakes_its_task() {
        let (ours, _theirs) = tokio::io::duplex(64);
        let mut ours = Coalesced::new(ours);
        let wakes = Arc::new(Wakes(AtomicUsize::new(0)));
        let waker = Waker::from(wakes.clone());
        let mut cx = Context::from_waker(&waker);
        for _ in 0..3 {
            let before = wakes.0.load(Ordering::SeqCst);
            assert!(Pin::new(&mut ours).poll_write(&mut cx, b"ab").is_pending());
            assert_eq!(
                wakes.0.load(Ordering::SeqCst),
                before + 1,
                "woken to try again"
            );
            match Pin::new(&mut ours).poll_write(&mut cx, b"ab") {
                Poll::Ready(Ok(2)) => {}
                other => panic!("the second attempt writes, got {other:?}"),
            }
        }
    }
}
