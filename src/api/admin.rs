//! `riskgate.v1.AdminService`: operator calls (rules reload). Needs the admin token.

use std::sync::Arc;

use tonic::{Request, Response, Status};

use crate::api::{auth::AdminAuth, error::ApiError};
use crate::proto::v1::{self as pb, admin_service_server::AdminService};

/// The result of a successful reload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reloaded {
    pub path: String,
    pub rules: usize,
    pub generation: u64,
}

/// Why a reload was refused; the rules in use keep serving.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ReloadError {
    #[error("no rules file is configured (start with --rules FILE or set rules.path)")]
    NoRulesFile,
    #[error("{0}")]
    Read(String),
    #[error("the rules file does not compile; the rules in use keep serving:\n{0}")]
    Compile(String),
    #[error("the model does not load; the model in use keeps serving: {0}")]
    Model(String),
}

/// What can reload the rules (the server's reloader).
pub trait RulesReloader: Send + Sync + 'static {
    /// Reloads now; `trigger` labels the metric (`rpc`, `signal`, `file`).
    fn reload(&self, trigger: &'static str) -> Result<Reloaded, ReloadError>;
}

/// The admin service.
#[derive(Clone)]
pub struct AdminApi {
    reloader: Arc<dyn RulesReloader>,
    auth: AdminAuth,
}

impl AdminApi {
    pub fn new(reloader: Arc<dyn RulesReloader>, auth: AdminAuth) -> Self {
        Self { reloader, auth }
    }
}

#[tonic::async_trait]
impl AdminService for AdminApi {
    async fn reload_rules(
        &self,
        request: Request<pb::ReloadRulesRequest>,
    ) -> Result<Response<pb::ReloadRulesResponse>, Status> {
        self.auth.check(request.metadata())?;
        let reloader = self.reloader.clone();
        let outcome = tokio::task::spawn_blocking(move || reloader.reload("rpc"))
            .await
            .map_err(|e| Status::from(ApiError::Internal(e.to_string())))?;
        match outcome {
            Ok(r) => Ok(Response::new(pb::ReloadRulesResponse {
                path: r.path,
                rules: r.rules as u32,
                generation: r.generation,
            })),
            Err(e) => Err(ApiError::FailedPrecondition(e.to_string()).into()),
        }
    }
}
