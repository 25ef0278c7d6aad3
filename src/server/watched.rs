//! A request body that remembers whether reading it failed.
//!
//! A read fails when the client goes away before it has sent the whole request: it closed the
//! connection (a crashed client, a load generator at the end of its run) or reset the stream.
//! tonic answers such a call UNKNOWN (the body's I/O error), which nobody receives; the
//! metrics layer ([`super::layer`]) counts it CANCELLED instead — the client's doing, not an
//! error of the gateway's that an error-rate alert should see.

use std::{
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    task::{Context, Poll},
};

use http_body::{Body, Frame, SizeHint};

pin_project_lite::pin_project! {
    /// `B`, and a flag raised when reading it fails.
    pub struct Watched<B> {
        #[pin]
        inner: B,
        failed: Arc<AtomicBool>,
    }
}

impl<B> Watched<B> {
    /// `inner`, raising `failed` when a read of it fails.
    pub fn new(inner: B, failed: Arc<AtomicBool>) -> Self {
        Watched { inner, failed }
    }
}

impl<B: Body> Body for Watched<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.project();
        let polled = this.inner.poll_frame(cx);
        if let Poll::Ready(Some(Err(_))) = &polled {
            this.failed.store(true, Ordering::Relaxed);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use http_body_util::{BodyExt, StreamBody};

    use super::*;

    #[tokio::test]
    async fn a_failed_read_raises_the_flag_and_a_whole_body_does_not() {
        let whole = http_body_util::Full::new(Bytes::from_static(b"abc"));
        let failed = Arc::new(AtomicBool::new(false));
        let body = Watched::new(whole, failed.clone());
        assert_eq!(body.collect().await.unwrap().to_bytes(), "abc");
        assert!(!failed.load(Ordering::Relaxed));

        let cut = StreamBody::new(futures_util::stream::iter([
            Ok(Frame::data(Bytes::from_static(b"ab"))),
            Err("connection closed"),
        ]));
        let body = Watched::new(cut, failed.clone());
        assert!(body.collect().await.is_err());
        assert!(failed.load(Ordering::Relaxed));
    }
}
