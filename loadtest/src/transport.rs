//! The wire: one HTTP/2 channel per connection and unary calls of pre-encoded protobuf bytes whose
//! answers are not decoded, only their gRPC status checked.

use std::time::Duration;

use bytes::{Buf, BufMut, Bytes};
use tonic::{
    Request, Status,
    codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder},
    transport::{Channel, Endpoint},
};

use crate::{LoadError, Target};

/// The gRPC method every call goes to.
pub const METHOD: &str = "/riskgate.v1.PaymentEvaluationService/CreatePaymentEvaluation";

/// Sends pre-encoded protobuf bytes and hands back the answer's bytes undecoded.
#[derive(Debug, Clone, Copy, Default)]
struct RawCodec;

impl Codec for RawCodec {
    type Encode = Bytes;
    type Decode = Bytes;
    type Encoder = RawCodec;
    type Decoder = RawCodec;

    fn encoder(&mut self) -> RawCodec {
        RawCodec
    }

    fn decoder(&mut self) -> RawCodec {
        RawCodec
    }
}

impl Encoder for RawCodec {
    type Item = Bytes;
    type Error = Status;

    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put(item);
        Ok(())
    }
}

impl Decoder for RawCodec {
    type Item = Bytes;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Bytes>, Status> {
        Ok(Some(src.copy_to_bytes(src.remaining())))
    }
}

pub(crate) async fn connect(target: &Target) -> Result<Channel, LoadError> {
    match target {
        Target::Tcp(uri) => Endpoint::from_shared(uri.clone())
            .map_err(|source| LoadError::BadTarget {
                uri: uri.clone(),
                source,
            })?
            .tcp_nodelay(true)
            .connect()
            .await
            .map_err(|source| LoadError::Connect {
                target: uri.clone(),
                source,
            }),
        Target::Uds(path) => {
            riskgate::server::uds_channel(path)
                .await
                .map_err(|source| LoadError::Connect {
                    target: path.display().to_string(),
                    source,
                })
        }
    }
}

/// How long a closed-loop caller waits after `status`: RESOURCE_EXHAUSTED's RetryInfo delay (50 ms
/// when it has none, at most 1 s); `None` for any other answer.
pub(crate) fn refusal_backoff(status: &Status) -> Option<Duration> {
    use tonic_types::StatusExt;
    (status.code() == tonic::Code::ResourceExhausted).then(|| {
        status
            .get_details_retry_info()
            .and_then(|info| info.retry_delay)
            .unwrap_or(Duration::from_millis(50))
            .min(Duration::from_secs(1))
    })
}

/// One unary call with pre-encoded `body`.
pub(crate) async fn call(
    channel: Channel,
    body: Bytes,
    timeout: Duration,
) -> Result<Bytes, Status> {
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready()
        .await
        .map_err(|e| Status::unavailable(format!("connection not ready: {e}")))?;
    let mut request = Request::new(body);
    request.set_timeout(timeout);
    let path = tonic::codegen::http::uri::PathAndQuery::from_static(METHOD);
    grpc.unary(request, path, RawCodec)
        .await
        .map(tonic::Response::into_inner)
}

/// Canonical upper-case code names: the same words as riskgate's metric labels.
pub use riskgate::server::layer::code_label as code_name;
