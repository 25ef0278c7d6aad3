//! The model file reloads like the rules: a new model is loaded aside and swapped in, a broken one
//! is refused and the model in use keeps serving.

use riskgate_testkit as common;

use std::time::Duration;

use common::*;
use riskgate::proto::v1::{self as pb, Action, admin_service_client::AdminServiceClient};
use tonic::{Code, Request};

const TOKEN: &str = "model-reload-admin-token";

/// The default model with its first tree's leaves raised by `shift` log-odds.
fn shifted_default_model(shift: f64) -> String {
    let text = riskgate_core::model::DEFAULT_MODEL;
    let mut done = false;
    text.lines()
        .map(|line| match line.strip_prefix("leaf_value=") {
            Some(values) if !done => {
                done = true;
                let shifted: Vec<String> = values
                    .split(' ')
                    .map(|v| (v.parse::<f64>().unwrap() + shift).to_string())
                    .collect();
                format!("leaf_value={}", shifted.join(" "))
            }
            _ => line.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

async fn reload(
    admin: &mut AdminServiceClient<tonic::transport::Channel>,
) -> Result<(), tonic::Status> {
    let mut call = Request::new(pb::ReloadRulesRequest {});
    call.metadata_mut()
        .insert("authorization", format!("Bearer {TOKEN}").parse().unwrap());
    admin.reload_rules(call).await.map(drop)
}

#[tokio::test]
async fn a_new_model_is_swapped_in_and_a_broken_one_refused() {
    let dir = TempDir::new("model-reload");
    let model = dir.file("model.txt", riskgate_core::model::DEFAULT_MODEL);

    let mut config = test_config();
    config.model.path = Some(model.clone());
    config.rules.watch_interval_ms = 0;
    config.admin_token = Some(TOKEN.into());
    let server = start(config).await;
    let mut eval = client(server.grpc_addr).await;
    let mut admin = AdminServiceClient::new(channel(server.grpc_addr).await);
    let action = |d: pb::CreatePaymentEvaluationResponse| d.decision.unwrap().action();

    let before = eval
        .create_payment_evaluation(example_request())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(action(before), Action::Continue);

    // A model that thinks everything is fraud: after the reload, the same payment is blocked.
    std::fs::write(&model, shifted_default_model(12.0)).unwrap();
    reload(&mut admin).await.unwrap();
    let after = eval
        .create_payment_evaluation(example_request())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(action(after), Action::Block);

    // A broken file is refused; the model in use keeps serving.
    std::fs::write(&model, "tree\nversion=v4\nnot a model\n").unwrap();
    let err = reload(&mut admin).await.unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition, "{err:?}");
    assert!(
        err.message().contains("model does not load"),
        "{}",
        err.message()
    );
    let still = eval
        .create_payment_evaluation(example_request())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(action(still), Action::Block);

    let (_, metrics) = http_get(server.admin_addr, "/metrics").await;
    assert!(
        metrics.contains("riskgate_rules_reloads_total{trigger=\"rpc\",outcome=\"error\"} 1"),
        "{metrics}"
    );
    server.shutdown(Duration::from_secs(5)).await.unwrap();
}
