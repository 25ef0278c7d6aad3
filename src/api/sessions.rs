//! `riskgate.v1.RadarSessionService`: records the device snapshot a merchant collected at checkout,
//! for the evaluation that names it.

use std::sync::Arc;

use tonic::{Request, Response, Status};

use crate::api::{error::ApiError, validate};
use crate::{
    enrich::Enricher,
    proto::v1::{
        self as pb, GetRadarSessionRequest, GetRadarSessionResponse, RecordRadarSessionRequest,
        RecordRadarSessionResponse, radar_session_service_server::RadarSessionService,
    },
    stores::state::RadarSession,
};
use riskgate_core::signals::SessionFacts;

/// The Radar Session service, sharing the evaluation service's [`Enricher`].
#[derive(Clone)]
pub struct SessionService {
    enricher: Arc<Enricher>,
}

impl SessionService {
    pub fn new(enricher: Arc<Enricher>) -> Self {
        Self { enricher }
    }

    pub async fn record(
        &self,
        req: &RecordRadarSessionRequest,
    ) -> Result<RecordRadarSessionResponse, ApiError> {
        let session = validate::radar_session(req.session.as_ref(), self.enricher.clock().now())
            .map_err(ApiError::InvalidArgument)?;
        let answer = session_pb(&session);
        self.enricher
            .record_session(session)
            .await
            .map_err(ApiError::from)?;
        Ok(RecordRadarSessionResponse {
            session: Some(answer),
        })
    }

    pub async fn get(
        &self,
        req: &GetRadarSessionRequest,
    ) -> Result<GetRadarSessionResponse, ApiError> {
        let id = validate::radar_session_id(&req.id).map_err(ApiError::InvalidArgument)?;
        match self.enricher.get_session(id).await {
            Ok(Some(s)) => Ok(GetRadarSessionResponse {
                session: Some(session_pb(&s)),
            }),
            // Never recorded, or expired.
            Ok(None) => Err(ApiError::NotFound {
                kind: "Radar Session",
                id: id.to_owned(),
            }),
            Err(e) => Err(ApiError::Unavailable(e.to_string())),
        }
    }
}

fn session_pb(s: &RadarSession) -> pb::RadarSession {
    let SessionFacts {
        ip,
        user_agent,
        accept_language,
        referrer,
        screen,
        timezone,
        device_id,
        time_on_page_ms,
        pasted_fields,
        created_at,
    } = &s.facts;
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    pb::RadarSession {
        id: s.id.clone(),
        ip: ip.map(|ip| ip.to_string()).unwrap_or_default(),
        user_agent: text(user_agent),
        accept_language: text(accept_language),
        referrer: text(referrer),
        screen: text(screen),
        timezone: text(timezone),
        device_id: text(device_id),
        time_on_page_ms: *time_on_page_ms,
        pasted_fields: pasted_fields.clone(),
        created_at: *created_at,
        payment_method: s.payment_method.clone().unwrap_or_default(),
    }
}

#[tonic::async_trait]
impl RadarSessionService for SessionService {
    async fn record_radar_session(
        &self,
        request: Request<RecordRadarSessionRequest>,
    ) -> Result<Response<RecordRadarSessionResponse>, Status> {
        Ok(Response::new(self.record(request.get_ref()).await?))
    }

    async fn get_radar_session(
        &self,
        request: Request<GetRadarSessionRequest>,
    ) -> Result<Response<GetRadarSessionResponse>, Status> {
        Ok(Response::new(self.get(request.get_ref()).await?))
    }
}
