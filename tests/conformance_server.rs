//! The Radar rules conformance suite (`tests/conformance/`) through the real server on 127.0.0.1:0
//! with real clients: each case's saved lists are created with ValueListService, its rules written
//! to the rules file and loaded with AdminService/ReloadRules (a case that must be refused gets
//! FAILED_PRECONDITION naming the problem), and its payment evaluated with CreatePaymentEvaluation;
//! the suite's GeoIP databases are configured. Cases that assume riskgate's state or score run
//! in-process and through the command line; here the state is produced for real instead: earlier
//! payments and reported outcomes, then the rule that reads them.

use riskgate_testkit as testkit;

use riskgate::proto::v1::{
    self as pb, Action, CreatePaymentEvaluationRequest, admin_service_client::AdminServiceClient,
    payment_evaluation_service_client::PaymentEvaluationServiceClient,
    value_list_service_client::ValueListServiceClient,
};
use testkit::{
    TempDir,
    conformance::{self, Case, Expect},
};
use tonic::{Code, Request, transport::Channel};

const TOKEN: &str = "test-admin-token-conformance-0123";

fn authed<T>(msg: T) -> Request<T> {
    let mut r = Request::new(msg);
    r.metadata_mut()
        .insert("authorization", format!("Bearer {TOKEN}").parse().unwrap());
    r
}

/// A server with a rules file and, unless `geoip` is false, the suite's GeoIP databases.
struct Gateway {
    _server: riskgate::server::Running,
    rules: std::path::PathBuf,
    eval: PaymentEvaluationServiceClient<Channel>,
    admin: AdminServiceClient<Channel>,
    lists: ValueListServiceClient<Channel>,
}

impl Gateway {
    async fn start(dir: &TempDir, geoip: bool) -> Self {
        let name = if geoip { "geoip" } else { "plain" };
        let rules = dir.file(&format!("{name}-rules.txt"), "");
        let mut config = testkit::test_config();
        if geoip {
            let geo = dir.path().join("mmdb");
            std::fs::create_dir_all(&geo).unwrap();
            config.enrichment = conformance::geoip_config(&geo);
        }
        config.rules.path = Some(rules.clone());
        config.admin_token = Some(TOKEN.into());
        let server = testkit::start(config).await;
        let channel = testkit::channel(server.grpc_addr).await;
        Self {
            eval: PaymentEvaluationServiceClient::new(channel.clone()),
            admin: AdminServiceClient::new(channel.clone()),
            lists: ValueListServiceClient::new(channel),
            rules,
            _server: server,
        }
    }

    /// Loads `rules`; `Err` is the refusal's message.
    async fn load(&mut self, rules: &str) -> Result<(), String> {
        std::fs::write(&self.rules, rules).unwrap();
        match self
            .admin
            .reload_rules(authed(pb::ReloadRulesRequest {}))
            .await
        {
            Ok(_) => Ok(()),
            Err(s) => {
                assert_eq!(s.code(), Code::FailedPrecondition, "{s:?}");
                Err(s.message().to_owned())
            }
        }
    }

    async fn decide(&mut self, req: CreatePaymentEvaluationRequest) -> pb::Decision {
        self.eval
            .create_payment_evaluation(req)
            .await
            .unwrap()
            .into_inner()
            .decision
            .unwrap()
    }

    /// Runs one case; `Err` says what went wrong.
    async fn run(&mut self, case: &Case) -> Result<(), String> {
        let mut created = Vec::new();
        for l in case.lists.iter().flatten() {
            let list = self
                .lists
                .create_value_list(authed(pb::CreateValueListRequest {
                    alias: l.alias.clone(),
                    name: l.alias.clone(),
                    item_type: l.item_type.clone(),
                    metadata: Default::default(),
                }))
                .await
                .map_err(|s| format!("create list {}: {s:?}", l.alias))?
                .into_inner();
            for item in &l.items {
                self.lists
                    .create_value_list_item(authed(pb::CreateValueListItemRequest {
                        value_list: list.id.clone(),
                        value: item.clone(),
                    }))
                    .await
                    .map_err(|s| format!("add {item}: {s:?}"))?;
            }
            created.push(list.id);
        }
        let result = self.check(case).await;
        for id in created {
            self.lists
                .delete_value_list(authed(pb::DeleteValueListRequest { id }))
                .await
                .unwrap();
        }
        result
    }

    async fn check(&mut self, case: &Case) -> Result<(), String> {
        match (self.load(&case.rules).await, &case.expect) {
            (Err(message), Expect::Refused(fragment)) => {
                return if message.contains(fragment.as_str()) {
                    Ok(())
                } else {
                    Err(format!("refused, but not with `{fragment}`:\n{message}"))
                };
            }
            (Ok(()), Expect::Refused(_)) => return Err("loads; expected it refused".into()),
            (Err(message), _) => return Err(format!("does not load:\n{message}")),
            (Ok(()), _) => {}
        }
        let decision = self.decide(case.request()).await;
        let rule = decision.matched_rule.as_ref();
        let ok = match &case.expect {
            Expect::Match => rule.is_some(),
            Expect::NoMatch => rule.is_none(),
            Expect::Action(a) => {
                decision
                    .action()
                    .as_str_name()
                    .trim_start_matches("ACTION_")
                    .to_ascii_lowercase()
                    == *a
            }
            Expect::Refused(_) => unreachable!(),
        } && case
            .decided_by
            .as_ref()
            .is_none_or(|id| rule.is_some_and(|r| &r.id == id));
        if ok {
            Ok(())
        } else {
            Err(format!(
                "expected {:?} {:?}, got {:?} by {:?}",
                case.expect,
                case.decided_by,
                decision.action(),
                rule.map(|r| &r.id)
            ))
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_case_decides_as_expected_through_the_server() {
    let dir = TempDir::new("conformance-server");
    let mut with_geoip = Gateway::start(&dir, true).await;
    let mut without = Gateway::start(&dir, false).await;
    let base = conformance::base_request();
    let cases: Vec<Case> = conformance::cases()
        .into_iter()
        .filter(|c| c.assume.is_empty() && !c.needs_no_state(&base))
        .collect();
    assert!(cases.len() > 350, "{} cases", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        let gateway = if case.geoip {
            &mut with_geoip
        } else {
            &mut without
        };
        if let Err(e) = gateway.run(case).await {
            failures.push(format!("{}: {e}", case.id));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

fn payment(
    customer: &str,
    fingerprint: &str,
    email: &str,
    ip: &str,
) -> CreatePaymentEvaluationRequest {
    let mut req = testkit::minimal_request();
    let c = req.customer_details.as_mut().unwrap();
    c.customer = customer.into();
    c.email = email.into();
    let method = req
        .payment_details
        .as_mut()
        .unwrap()
        .payment_method_details
        .as_mut()
        .unwrap();
    method.payment_method = format!("pm_{fingerprint}");
    method.card = Some(pb::CardDetails {
        fingerprint: fingerprint.into(),
        country: "US".into(),
        ..Default::default()
    });
    req.client_device_metadata_details = Some(pb::ClientDeviceMetadataDetails {
        ip: ip.into(),
        ..Default::default()
    });
    req
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_attributes_come_from_earlier_payments_and_outcomes() {
    let dir = TempDir::new("conformance-server-state");
    let mut g = Gateway::start(&dir, true).await;

    // is_new_card_on_customer (https://docs.stripe.com/radar/rules#request-3d-secure): the
    // customer's first card is new, the same card again is not, another card is.
    g.load("new_card: Request 3D Secure if :is_new_card_on_customer:\n")
        .await
        .unwrap();
    let d = g
        .decide(payment(
            "cus_Kept1",
            "fpA1",
            "k@example.com",
            "198.51.100.30",
        ))
        .await;
    assert_eq!(d.action(), Action::RequestThreeDSecure);
    let d = g
        .decide(payment(
            "cus_Kept1",
            "fpA1",
            "k@example.com",
            "198.51.100.30",
        ))
        .await;
    assert_eq!(d.action(), Action::Continue, "{d:?}");
    let d = g
        .decide(payment(
            "cus_Kept1",
            "fpB2",
            "k@example.com",
            "198.51.100.30",
        ))
        .await;
    assert_eq!(d.action(), Action::RequestThreeDSecure);
    let d = g
        .decide(payment("", "fpC3", "k@example.com", "198.51.100.30"))
        .await;
    assert_eq!(d.action(), Action::Continue, "no customer: false");

    // Velocity (counts exclude this payment; REF#numeric-attributes), under Radar's
    // `_transactions_` name, and the first-seen age that is missing for a new card.
    g.load(
        "cards_per_ip: Block if :card_count_for_ip_address_hourly: >= 3\n\
         seen_email: Review if :total_transactions_per_email_hourly: >= 2\n\
         new_card: Request 3D Secure if is_missing(:seconds_since_card_first_seen:)\n",
    )
    .await
    .unwrap();
    let ip = "203.0.113.77";
    for (i, fp) in ["fpV1", "fpV2", "fpV3"].iter().enumerate() {
        let d = g
            .decide(payment("", fp, &format!("v{i}@example.com"), ip))
            .await;
        assert_eq!(d.action(), Action::RequestThreeDSecure, "new card {fp}");
    }
    let d = g.decide(payment("", "fpV4", "v9@example.com", ip)).await;
    assert_eq!(
        d.matched_rule.unwrap().id,
        "cards_per_ip",
        "3 cards before it"
    );
    let d = g
        .decide(payment("", "fpV1", "w@example.com", "198.51.100.31"))
        .await;
    assert_eq!(d.action(), Action::Continue, "a known card, a new email");
    let d = g
        .decide(payment("", "fpV1", "w@example.com", "198.51.100.32"))
        .await;
    assert_eq!(
        d.action(),
        Action::Continue,
        "one earlier payment with the email"
    );
    let d = g
        .decide(payment("", "fpV1", "w@example.com", "198.51.100.33"))
        .await;
    assert_eq!(d.matched_rule.unwrap().id, "seen_email");

    // Outcomes (ReportPaymentOutcome) reach the counters rules read.
    g.load("declined: Review if :declined_charges_per_email_daily: >= 2\n")
        .await
        .unwrap();
    for _ in 0..2 {
        let answer = g
            .eval
            .create_payment_evaluation(payment("", "fpD1", "d@example.com", "198.51.100.40"))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(answer.decision.unwrap().action(), Action::Continue);
        g.eval
            .report_payment_outcome(pb::ReportPaymentOutcomeRequest {
                evaluation: answer.evaluation.unwrap().id,
                outcome: pb::PaymentOutcome::Declined as i32,
                decline_reason: "insufficient_funds".into(),
                ..Default::default()
            })
            .await
            .unwrap();
    }
    let d = g
        .decide(payment("", "fpD1", "d@example.com", "198.51.100.40"))
        .await;
    assert_eq!(d.matched_rule.unwrap().id, "declined");
}
