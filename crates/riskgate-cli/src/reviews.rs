//! `riskgate reviews list|show|approve|reject|note`: the analyst review queue of a running
//! gateway, over ReviewService. Needs the admin token: `RISKGATE_ADMIN_TOKEN`, or
//! `--admin-token-file` (never a command-line value: the process list would show it). Changes
//! are recorded as made by the analyst `--as` names (default: `$USER`) with the admin credential.

use std::{path::PathBuf, time::Duration};

use clap::{Args, Subcommand};
use riskgate::proto::v1::{self as pb, review_service_client::ReviewServiceClient};
use tonic_types::StatusExt;

use crate::{runtime, target::Target};

/// Work through the analyst review queue of a running gateway: list reviews, show one with its
/// evidence, approve or reject it, add a note.
#[derive(Args)]
pub struct ReviewsArgs {
    #[command(subcommand)]
    command: ReviewsCommand,
}

/// What every `reviews` subcommand takes.
#[derive(Args)]
struct Common {
    #[command(flatten)]
    target: Target,
    /// File holding the admin token [default: $RISKGATE_ADMIN_TOKEN].
    #[arg(long, value_name = "FILE")]
    admin_token_file: Option<PathBuf>,
    /// The analyst recorded with each change [default: $USER].
    #[arg(long = "as", value_name = "NAME")]
    analyst: Option<String>,
    /// Print the answer as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Subcommand)]
enum ReviewsCommand {
    /// List reviews (open ones, oldest first, by default).
    List {
        /// open, closed or all.
        #[arg(long, default_value = "open")]
        state: String,
        /// Only this reason: rule, model, manual, approved, refunded_as_fraud …
        #[arg(long)]
        reason: Option<String>,
        /// Only reviews waiting at least this many seconds.
        #[arg(long, value_name = "SECS")]
        min_age: Option<u64>,
        /// Only amounts of at least this (smallest currency unit).
        #[arg(long, value_name = "MINOR")]
        amount_gte: Option<i64>,
        /// 1 to 100.
        #[arg(long, default_value_t = 20)]
        limit: u32,
        /// The id of the last review of the previous page.
        #[arg(long, value_name = "ID")]
        starting_after: Option<String>,
        /// Newest first (Stripe's order) instead of oldest first.
        #[arg(long)]
        newest_first: bool,
        #[command(flatten)]
        common: Common,
    },
    /// Show one review with its evidence, history and related reviews.
    Show {
        id: String,
        #[command(flatten)]
        common: Common,
    },
    /// Approve the payment: close the review as approved.
    Approve {
        id: String,
        #[arg(long)]
        note: Option<String>,
        #[command(flatten)]
        common: Common,
    },
    /// Reject the payment as fraud: close the review as refunded_as_fraud.
    Reject {
        id: String,
        /// made_with_stolen_card, card_testing, account_takeover, friendly_fraud, misc …
        #[arg(long, value_name = "TYPE")]
        fraud_type: String,
        #[arg(long)]
        note: Option<String>,
        #[command(flatten)]
        common: Common,
    },
    /// Add a note to a review.
    Note {
        id: String,
        text: String,
        #[command(flatten)]
        common: Common,
    },
}

pub fn run(args: ReviewsArgs) -> Result<(), String> {
    let common = match &args.command {
        ReviewsCommand::List { common, .. }
        | ReviewsCommand::Show { common, .. }
        | ReviewsCommand::Approve { common, .. }
        | ReviewsCommand::Reject { common, .. }
        | ReviewsCommand::Note { common, .. } => common,
    };
    let token = admin_token(common.admin_token_file.as_deref())?;
    let analyst = common
        .analyst
        .clone()
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or_default();
    let json = common.json;
    runtime::multi_thread()?.block_on(async {
        let mut client = ReviewServiceClient::new(common.target.connect().await?);
        let call = Call {
            token: &token,
            analyst: &analyst,
        };
        match &args.command {
            ReviewsCommand::List {
                state,
                reason,
                min_age,
                amount_gte,
                limit,
                starting_after,
                newest_first,
                common: _,
            } => {
                let request = pb::ListReviewsRequest {
                    limit: *limit,
                    starting_after: starting_after.clone().unwrap_or_default(),
                    state: state.clone(),
                    reason: reason.clone().unwrap_or_default(),
                    min_age_seconds: *min_age,
                    amount_gte: *amount_gte,
                    oldest_first: !newest_first,
                    ..Default::default()
                };
                let page = client
                    .list_reviews(call.request(request)?)
                    .await
                    .map_err(status)?
                    .into_inner();
                if json {
                    return print_json(serde_json::to_string_pretty(&page));
                }
                print_list(&page);
                Ok(())
            }
            ReviewsCommand::Show { id, common: _ } => {
                let r = client
                    .retrieve_review(call.request(pb::RetrieveReviewRequest { id: id.clone() })?)
                    .await
                    .map_err(status)?
                    .into_inner();
                show(&r, json)
            }
            ReviewsCommand::Approve {
                id,
                note,
                common: _,
            } => {
                let r = client
                    .approve_review(call.request(pb::ApproveReviewRequest {
                        id: id.clone(),
                        note: note.clone().unwrap_or_default(),
                    })?)
                    .await
                    .map_err(status)?
                    .into_inner();
                done(&r, json)
            }
            ReviewsCommand::Reject {
                id,
                fraud_type,
                note,
                common: _,
            } => {
                let r = client
                    .reject_review(call.request(pb::RejectReviewRequest {
                        id: id.clone(),
                        fraud_type: fraud_type.clone(),
                        note: note.clone().unwrap_or_default(),
                    })?)
                    .await
                    .map_err(status)?
                    .into_inner();
                done(&r, json)
            }
            ReviewsCommand::Note {
                id,
                text,
                common: _,
            } => {
                let r = client
                    .add_review_note(call.request(pb::AddReviewNoteRequest {
                        id: id.clone(),
                        note: text.clone(),
                    })?)
                    .await
                    .map_err(status)?
                    .into_inner();
                done(&r, json)
            }
        }
    })
}

/// The admin token: from `file`, else `RISKGATE_ADMIN_TOKEN`.
fn admin_token(file: Option<&std::path::Path>) -> Result<String, String> {
    let token = match file {
        Some(path) => std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?
            .trim_end_matches(['\n', '\r'])
            .to_owned(),
        None => std::env::var("RISKGATE_ADMIN_TOKEN").map_err(|_| {
            "reviews need the admin token: set RISKGATE_ADMIN_TOKEN or pass --admin-token-file"
                .to_owned()
        })?,
    };
    if token.trim().is_empty() {
        return Err("the admin token is empty".into());
    }
    Ok(token)
}

/// What every call carries.
struct Call<'a> {
    token: &'a str,
    analyst: &'a str,
}

impl Call<'_> {
    fn request<T>(&self, message: T) -> Result<tonic::Request<T>, String> {
        let mut r = tonic::Request::new(message);
        r.set_timeout(Duration::from_secs(10));
        r.metadata_mut().insert(
            "authorization",
            format!("Bearer {}", self.token)
                .parse()
                .map_err(|_| "the token has characters a header cannot carry")?,
        );
        if !self.analyst.is_empty()
            && let Ok(v) = self.analyst.parse()
        {
            r.metadata_mut().insert("riskgate-analyst", v);
        }
        Ok(r)
    }
}

fn status(s: tonic::Status) -> String {
    let mut message = format!("{:?}: {}", s.code(), s.message());
    if let Some(bad) = s.get_error_details().bad_request() {
        for v in &bad.field_violations {
            message.push_str(&format!("\n  {}: {}", v.field, v.description));
        }
    }
    message
}

fn print_json(text: serde_json::Result<String>) -> Result<(), String> {
    println!("{}", text.map_err(|e| e.to_string())?);
    Ok(())
}

fn amount(r: &pb::Review) -> String {
    r.evidence.as_ref().map_or(String::new(), |e| {
        format!("{} {}", e.amount, e.currency.to_ascii_uppercase())
    })
}

fn age(secs: i64) -> String {
    match secs {
        ..60 => format!("{secs}s"),
        60..3600 => format!("{}m", secs / 60),
        3600..86_400 => format!("{}h{:02}m", secs / 3600, secs % 3600 / 60),
        _ => format!("{}d{:02}h", secs / 86_400, secs % 86_400 / 3600),
    }
}

fn print_list(page: &pb::ListReviewsResponse) {
    println!(
        "{:<28} {:>8} {:>16} {:<6} {:<18} {:<30}",
        "ID", "WAITING", "AMOUNT", "SCORE", "REASON", "EMAIL"
    );
    for r in &page.data {
        let e = r.evidence.clone().unwrap_or_default();
        println!(
            "{:<28} {:>8} {:>16} {:<6} {:<18} {:<30}",
            r.id,
            age(r.age_seconds),
            amount(r),
            e.risk_score,
            r.reason,
            e.email
        );
    }
    if page.has_more
        && let Some(last) = page.data.last()
    {
        println!("… more: --starting-after {}", last.id);
    }
}

fn show(r: &pb::Review, json: bool) -> Result<(), String> {
    if json {
        return print_json(serde_json::to_string_pretty(r));
    }
    let e = r.evidence.clone().unwrap_or_default();
    let card = e.card.clone().unwrap_or_default();
    let device = e.device.clone().unwrap_or_default();
    println!(
        "{} ({}), evaluation {}",
        r.id,
        if r.open { "open" } else { &r.reason },
        r.payment_evaluation
    );
    println!(
        "  opened: {}, waiting {}",
        r.opened_reason,
        age(r.age_seconds)
    );
    println!("  amount: {}", amount(r));
    println!(
        "  card: {} •••• {} ({} {}), fingerprint {}",
        card.brand, card.last4, card.country, card.funding, card.fingerprint
    );
    println!("  customer: {} {}", e.customer, e.email);
    println!(
        "  device: {} ({}) {} {}",
        device.ip_address, device.ip_country, device.browser, device.operating_system
    );
    println!(
        "  score: {} ({}), by {}",
        e.risk_score, e.risk_level, e.score_source
    );
    if let Some(m) = &e.matched_rule {
        println!("  rule: {} — {}", m.id, m.predicate);
    }
    for reason in &e.reasons {
        println!("  reason: {}", reason.message);
    }
    for f in e.outcomes.iter().chain(&e.velocity) {
        println!("  {}: {}", f.name, f.value);
    }
    for rel in &r.related {
        println!("  related: {} {} {}", rel.id, rel.reason, rel.fraud_type);
    }
    for h in &r.history {
        println!(
            "  history: {} {} by {}{}",
            h.at,
            h.action,
            h.actor,
            if h.note.is_empty() {
                String::new()
            } else {
                format!(": {}", h.note)
            }
        );
    }
    Ok(())
}

fn done(r: &pb::Review, json: bool) -> Result<(), String> {
    if json {
        return print_json(serde_json::to_string_pretty(r));
    }
    let last = r.history.last();
    println!(
        "{} {}{}",
        r.id,
        last.map_or("", |h| h.action.as_str()),
        last.map_or(String::new(), |h| format!(" by {}", h.actor))
    );
    Ok(())
}
