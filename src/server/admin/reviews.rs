//! The review page on the admin port (`/reviews`): the open queue, each review with its
//! evidence, and approve / reject / note — server-rendered HTML behind the admin token (a login
//! form that sets a session cookie, or `Authorization: Bearer` for scripts), keyboard friendly,
//! every value escaped, every POST checked for its CSRF token.
//!
//! | route | what |
//! | --- | --- |
//! | `GET /reviews` | the queue (open, oldest first; `state`, `reason`, `min_age_minutes`, `amount_gte`, `starting_after` filter and page it) |
//! | `GET /reviews/rev_…` | one review |
//! | `POST /reviews/rev_…/approve`, `…/reject`, `…/note` | the verdicts and notes; a verdict goes on to the next open review |
//! | `GET /reviews/login`, `POST /reviews/login`, `POST /reviews/logout` | the session |

mod html;
mod session;
mod views;

use std::{collections::HashMap, sync::Arc};

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use sha2::{Digest, Sha256};

use self::session::{Sessions, Visitor, post_allowed};
use crate::{
    config::Config,
    pipeline::reviews::ReviewDesk,
    server::ServeError,
    stores::{
        StoreError,
        reviews::{FraudType, Query, StateFilter},
    },
};

/// Largest form body accepted (a note is at most 2,000 characters).
const MAX_FORM_BYTES: usize = 16 * 1024;

/// The review page (see the module docs).
pub struct ReviewPage {
    desk: ReviewDesk,
    sessions: Sessions,
    /// The Content-Security-Policy: nothing but the page's own script and style.
    csp: HeaderValue,
}

impl std::fmt::Debug for ReviewPage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReviewPage").finish_non_exhaustive()
    }
}

type Reply = Response<Full<Bytes>>;

impl ReviewPage {
    /// The page on `desk`, behind the configured admin token (without one every login fails
    /// and the page says why).
    pub fn new(config: &Config, desk: ReviewDesk) -> Result<Self, ServeError> {
        let token = config
            .admin_token()
            .map_err(|e| ServeError::Config(e.to_string()))?;
        let hash = |text: &str| {
            use base64::Engine as _;
            format!(
                "'sha256-{}'",
                base64::engine::general_purpose::STANDARD.encode(Sha256::digest(text.as_bytes()))
            )
        };
        let csp = format!(
            "default-src 'none'; script-src {}; style-src {}; form-action 'self'; \
             frame-ancestors 'none'; base-uri 'none'",
            hash(html::SCRIPT),
            hash(html::STYLE)
        );
        Ok(Self {
            sessions: Sessions::new(
                token.as_ref().map(|t| t.expose()),
                config.reviews.session_ttl_secs,
            ),
            desk,
            csp: HeaderValue::from_str(&csp).expect("the policy is ASCII"),
        })
    }

    fn reply(&self, status: StatusCode, body: String) -> Reply {
        Response::builder()
            .status(status)
            .header(header::CONTENT_TYPE, "text/html; charset=utf-8")
            .header(header::CONTENT_SECURITY_POLICY, self.csp.clone())
            .header(header::CACHE_CONTROL, "no-store")
            .header(header::X_FRAME_OPTIONS, "DENY")
            .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff")
            // `same-origin`: with `no-referrer`, browsers send `Origin: null` on the page's own POSTs.
            .header(header::REFERRER_POLICY, "same-origin")
            .body(Full::new(Bytes::from(body)))
            .expect("static response parts are valid")
    }

    fn redirect(&self, to: &str, set_cookie: Option<String>) -> Reply {
        let mut r = Response::builder()
            .status(StatusCode::SEE_OTHER)
            .header(header::LOCATION, to)
            .header(header::CACHE_CONTROL, "no-store");
        if let Some(c) = set_cookie {
            r = r.header(header::SET_COOKIE, c);
        }
        r.body(Full::new(Bytes::new()))
            .expect("static response parts are valid")
    }

    fn error(&self, visitor: &Visitor, status: StatusCode, message: &str) -> Reply {
        let body = format!(
            "<h1>{}</h1><p class=\"error\" role=\"alert\">{}</p><p><a href=\"/reviews\">Back to the queue</a></p>",
            status.as_u16(),
            html::esc(message)
        );
        self.reply(
            status,
            html::page(
                "Error",
                Some(&visitor.actor),
                visitor.csrf.as_deref(),
                &body,
            ),
        )
    }

    fn store_error(&self, visitor: &Visitor, e: &StoreError) -> Reply {
        let status = match e {
            StoreError::NotFound { .. } => StatusCode::NOT_FOUND,
            StoreError::Invalid { .. } => StatusCode::BAD_REQUEST,
            StoreError::Refused(_) | StoreError::AlreadyExists { .. } => StatusCode::CONFLICT,
            StoreError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        if status == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::error!(error = %e, "review page: store failed");
        }
        self.error(visitor, status, &e.to_string())
    }

    /// Answers one request under `/reviews`.
    pub async fn handle(&self, req: Request<Incoming>) -> Reply {
        let now = self.desk.clock().now();
        let path = req.uri().path().trim_end_matches('/').to_owned();
        let query: HashMap<String, String> = req
            .uri()
            .query()
            .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
            .unwrap_or_default();
        let method = req.method().clone();
        match (&method, path.as_str()) {
            (&Method::GET, "/reviews/login") => {
                return self.reply(StatusCode::OK, html::login(None));
            }
            (&Method::POST, "/reviews/login") => {
                let form = match read_form(req).await {
                    Ok(f) => f,
                    Err(m) => return self.reply(StatusCode::BAD_REQUEST, html::login(Some(&m))),
                };
                let token = form.get("token").map_or("", String::as_str);
                let analyst = form.get("analyst").map_or("", String::as_str);
                return match self.sessions.login(token, analyst, now) {
                    Some(cookie) => self.redirect("/reviews", Some(cookie)),
                    None => {
                        let why = if self.sessions.configured() {
                            "That is not the admin token."
                        } else {
                            "The review page is off: no admin token is configured."
                        };
                        self.reply(StatusCode::UNAUTHORIZED, html::login(Some(why)))
                    }
                };
            }
            _ => {}
        }
        let Some(visitor) = self.sessions.visitor(req.headers(), now) else {
            return if method == Method::GET {
                self.redirect("/reviews/login", None)
            } else {
                self.reply(StatusCode::UNAUTHORIZED, html::login(Some("Log in first.")))
            };
        };
        if method == Method::POST {
            let headers = req.headers().clone();
            let form = match read_form(req).await {
                Ok(f) => f,
                Err(m) => return self.error(&visitor, StatusCode::BAD_REQUEST, &m),
            };
            if !post_allowed(&visitor, form.get("csrf").map(String::as_str), &headers) {
                return self.error(
                    &visitor,
                    StatusCode::FORBIDDEN,
                    "The form is stale or came from another site; reload the page and try again.",
                );
            }
            return self.post(&visitor, &path, &form).await;
        }
        if method != Method::GET && method != Method::HEAD {
            return self.error(&visitor, StatusCode::METHOD_NOT_ALLOWED, "GET or POST only");
        }
        match path.strip_prefix("/reviews") {
            Some("") => self.list(&visitor, &query, now).await,
            Some(rest) => match review_id(rest.trim_start_matches('/')) {
                Some(id) => self.detail(&visitor, id, &query, now).await,
                None => self.error(&visitor, StatusCode::NOT_FOUND, "no such page"),
            },
            None => self.error(&visitor, StatusCode::NOT_FOUND, "no such page"),
        }
    }

    async fn list(&self, visitor: &Visitor, q: &HashMap<String, String>, now: i64) -> Reply {
        let get = |k: &str| q.get(k).map(String::as_str).filter(|v| !v.is_empty());
        let Some(state) = StateFilter::parse(get("state").unwrap_or("open")) else {
            return self.error(
                visitor,
                StatusCode::BAD_REQUEST,
                "state: open, closed or all",
            );
        };
        let query = Query {
            state,
            reason: get("reason"),
            min_age_secs: get("min_age_minutes")
                .and_then(|m| m.parse::<u64>().ok())
                .map(|m| m * 60),
            amount_gte: get("amount_gte").and_then(|a| a.parse().ok()),
            limit: 50,
            starting_after: get("starting_after"),
            oldest_first: get("order") != Some("newest"),
            ..Query::default()
        };
        match self.desk.list(&query).await {
            Ok((reviews, more)) => self.reply(
                StatusCode::OK,
                views::list(visitor, &reviews, more, q, now, self.desk.config().sla_secs),
            ),
            Err(e) => self.store_error(visitor, &e),
        }
    }

    async fn detail(
        &self,
        visitor: &Visitor,
        id: &str,
        q: &HashMap<String, String>,
        now: i64,
    ) -> Reply {
        let found = match self.desk.get(id).await {
            Ok(f) => f,
            Err(e) => return self.store_error(visitor, &e),
        };
        // The neighbours in the open queue (oldest first), for j/k.
        let (prev, next) = self.neighbours(&found.review).await;
        self.reply(
            StatusCode::OK,
            views::detail(
                visitor,
                &found,
                (prev.as_deref(), next.as_deref()),
                q.get("done").map(String::as_str),
                now,
                self.desk.config().sla_secs,
            ),
        )
    }

    /// The open reviews just before and after `review` in the oldest-first queue.
    async fn neighbours(
        &self,
        review: &crate::stores::reviews::Review,
    ) -> (Option<String>, Option<String>) {
        let after = Query {
            limit: 1,
            oldest_first: true,
            starting_after: Some(&review.id),
            ..Query::default()
        };
        let before = Query {
            oldest_first: false,
            ..after.clone()
        };
        let first = |r: Result<(Vec<crate::stores::reviews::Review>, bool), StoreError>| {
            r.ok().and_then(|(p, _)| p.into_iter().next()).map(|r| r.id)
        };
        (
            first(self.desk.list(&before).await),
            first(self.desk.list(&after).await),
        )
    }

    async fn post(&self, visitor: &Visitor, path: &str, form: &HashMap<String, String>) -> Reply {
        if path == "/reviews/logout" {
            return self.redirect("/reviews/login", Some(Sessions::logout()));
        }
        let Some((id, action)) = path
            .strip_prefix("/reviews/")
            .and_then(|rest| rest.split_once('/'))
            .and_then(|(id, action)| Some((review_id(id)?, action)))
        else {
            return self.error(visitor, StatusCode::NOT_FOUND, "no such action");
        };
        let note = match crate::api::reviews::note(
            "note",
            form.get("note").map_or("", String::as_str),
            action == "note",
        ) {
            Ok(n) => n,
            Err(status) => return self.error(visitor, StatusCode::BAD_REQUEST, status.message()),
        };
        let result = match action {
            "approve" => self.desk.approve(id, &visitor.actor, note).await,
            "reject" => {
                let kind = form.get("fraud_type").map_or("", String::as_str);
                let Some(kind) = FraudType::parse(kind) else {
                    return self.error(
                        visitor,
                        StatusCode::BAD_REQUEST,
                        "Choose the kind of fraud to reject a review.",
                    );
                };
                self.desk.reject(id, &visitor.actor, kind, note).await
            }
            "note" => {
                self.desk
                    .note(id, &visitor.actor, note.unwrap_or_default())
                    .await
            }
            _ => return self.error(visitor, StatusCode::NOT_FOUND, "no such action"),
        };
        let review = match result {
            Ok(r) => r,
            Err(e) => return self.store_error(visitor, &e),
        };
        if action == "note" {
            return self.redirect(&format!("/reviews/{}", review.id), None);
        }
        // On to the next open review, oldest first; else back to the queue.
        let done = html::url(&format!("{} {}", review.id, review.reason()));
        let next = Query {
            limit: 1,
            oldest_first: true,
            ..Query::default()
        };
        match self.desk.list(&next).await {
            Ok((page, _)) if !page.is_empty() => {
                self.redirect(&format!("/reviews/{}?done={done}", page[0].id), None)
            }
            _ => self.redirect(&format!("/reviews?done={done}"), None),
        }
    }
}

/// `rev_…` with only letters and digits after the prefix (ids are never echoed unchecked).
fn review_id(s: &str) -> Option<&str> {
    let rest = s.strip_prefix("rev_")?;
    (!rest.is_empty() && rest.len() <= 64 && rest.bytes().all(|b| b.is_ascii_alphanumeric()))
        .then_some(s)
}

/// The request's `application/x-www-form-urlencoded` body.
async fn read_form(req: Request<Incoming>) -> Result<HashMap<String, String>, String> {
    let body = Limited::new(req.into_body(), MAX_FORM_BYTES)
        .collect()
        .await
        .map_err(|e| format!("cannot read the form: {e}"))?
        .to_bytes();
    Ok(form_urlencoded::parse(&body).into_owned().collect())
}

/// Whether `path` is the review page's.
pub fn is_page(path: &str) -> bool {
    path == "/reviews" || path.starts_with("/reviews/")
}

/// The page, shared by the admin server's connections.
pub type Shared = Arc<ReviewPage>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_well_formed_ids_route() {
        assert_eq!(review_id("rev_abc123"), Some("rev_abc123"));
        for bad in ["rev_", "rev_a/b", "rev_<x>", "peval_1", "rev_a b"] {
            assert_eq!(review_id(bad), None, "{bad}");
        }
        assert!(is_page("/reviews") && is_page("/reviews/rev_1") && !is_page("/reviewsx"));
    }
}
