//! The fake's answer bodies: whole, or stalled after a first chunk.

use std::{
    convert::Infallible,
    pin::Pin,
    task::{Context, Poll},
};

use bytes::Bytes;
use http::{Response, StatusCode, header};
use http_body_util::Full;
use hyper::body::{Body, Frame};

pub(super) fn raw_json(
    status: StatusCode,
    body: String,
    should_retry: Option<bool>,
) -> Response<FakeBody> {
    let mut b = Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json")
        .header("request-id", format!("req_fake{}", fastrand::u32(..)));
    if let Some(retry) = should_retry {
        b = b.header("stripe-should-retry", if retry { "true" } else { "false" });
    }
    b.body(FakeBody::Full(Full::new(Bytes::from(body))))
        .expect("static response parts are valid")
}

/// A whole body, or one that sends a first chunk and then never ends.
pub enum FakeBody {
    Full(Full<Bytes>),
    Stalled(Option<Bytes>),
}

impl Body for FakeBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        match self.get_mut() {
            FakeBody::Full(full) => Pin::new(full).poll_frame(cx),
            FakeBody::Stalled(first) => match first.take() {
                Some(chunk) => Poll::Ready(Some(Ok(Frame::data(chunk)))),
                // Never woken: the body stalls until the connection is dropped.
                None => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            FakeBody::Full(full) => full.is_end_stream(),
            FakeBody::Stalled(_) => false,
        }
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        match self {
            FakeBody::Full(full) => full.size_hint(),
            FakeBody::Stalled(_) => hyper::body::SizeHint::default(),
        }
    }
}
