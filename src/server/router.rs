//! The gRPC router: every service (evaluations behind the evaluation token, value lists, Radar
//! Sessions, reviews, admin, health, reflection v1 and v1alpha) behind the observe/shed layer.

use std::{sync::Arc, time::Duration};

use tonic::{service::interceptor::InterceptedService, transport::server::Router};
use tonic_health::pb::health_server::{Health, HealthServer};

use super::{
    ServeError, governor, layer,
    parts::{Decision, State, StripeParts},
};
use crate::{
    api::{
        admin::AdminApi,
        auth::{AdminAuth, EvaluationAuth},
        evaluations::EvaluationService,
        sessions::SessionService,
        value_lists::ValueListsService,
    },
    clock::Clock,
    config::{Config, Secret},
    proto::{
        self,
        v1::{
            admin_service_server::AdminServiceServer,
            payment_evaluation_service_server::PaymentEvaluationServiceServer,
            radar_session_service_server::RadarSessionServiceServer,
            value_list_service_server::ValueListServiceServer,
        },
    },
};

/// The router of the gRPC listeners (TCP, TLS, Unix socket).
pub(super) fn grpc<H: Health>(
    config: &Config,
    service: EvaluationService,
    (decision, state, stripe): (&Decision, &State, &StripeParts),
    health: HealthServer<H>,
    cpu_gate: Option<Arc<governor::CpuAdmission>>,
    clock: &Clock,
    desk: &crate::pipeline::reviews::ReviewDesk,
) -> Result<Router<tower_layer::Stack<layer::ObserveLayer, tower_layer::Identity>>, ServeError> {
    let admin_token = config
        .admin_token()
        .map_err(|e| ServeError::Config(e.to_string()))?;
    let auth = AdminAuth::new(admin_token.as_ref().map(Secret::expose));
    let token = config
        .auth
        .evaluation_token()
        .map_err(|e| ServeError::Config(e.to_string()))?;
    let evaluations = InterceptedService::new(
        PaymentEvaluationServiceServer::new(service)
            .max_decoding_message_size(config.grpc.max_request_bytes),
        EvaluationAuth::new(token.as_ref().map(|t| t.expose())),
    );
    let reflection_v1 = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()?;
    let reflection_v1alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1alpha()?;
    let keepalive = match config.grpc.http2_keepalive_interval_secs {
        0 => None,
        secs => Some(Duration::from_secs(secs)),
    };
    Ok(tonic::transport::Server::builder()
        .max_concurrent_streams(config.grpc.max_concurrent_streams)
        .http2_keepalive_interval(keepalive)
        .layer(
            layer::ObserveLayer::new(
                config.grpc.concurrency_limit,
                Duration::from_millis(config.grpc.deadline_margin_ms),
            )
            .with_cpu_admission(cpu_gate),
        )
        .add_service(evaluations)
        .add_service(
            ValueListServiceServer::new(
                ValueListsService::new(decision.lists.clone(), auth.clone(), config.livemode)
                    .with_synced(stripe.synced.clone())
                    .with_clock(clock.clone()),
            )
            .max_decoding_message_size(config.grpc.max_request_bytes),
        )
        .add_service(
            RadarSessionServiceServer::new(SessionService::new(state.enricher.clone()))
                .max_decoding_message_size(config.grpc.max_request_bytes),
        )
        .add_service(
            crate::proto::v1::review_service_server::ReviewServiceServer::new(
                crate::api::reviews::ReviewsService::new(
                    desk.clone(),
                    auth.clone(),
                    config.livemode,
                ),
            )
            .max_decoding_message_size(config.grpc.max_request_bytes),
        )
        .add_service(AdminServiceServer::new(AdminApi::new(
            decision.reloader.clone(),
            auth,
        )))
        .add_service(health)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha))
}
