//! The `riskgate serve` binary as a process: acknowledged value-list writes survive `kill -9`, and
//! SIGHUP reloads the rules.

use riskgate_testkit as common;

use std::{
    io::{BufRead, BufReader},
    path::Path,
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex, mpsc},
    time::Duration,
};

use riskgate::proto::v1::{
    self as pb, Action, payment_evaluation_service_client::PaymentEvaluationServiceClient,
    value_list_service_client::ValueListServiceClient,
};
use tonic::{Code, Request, transport::Channel};

const TOKEN: &str = "durability-test-token-42";

struct Served {
    child: Child,
    grpc: String,
    /// Every log line, drained by a thread so the child never blocks on a full pipe.
    log: Arc<Mutex<Vec<String>>>,
}

fn serve(args: &[&str], envs: &[(&str, &str)]) -> Served {
    let mut child = Command::new(env!("CARGO_BIN_EXE_riskgate"))
        .args([
            "serve",
            "--grpc-addr",
            "127.0.0.1:0",
            "--admin-addr",
            "127.0.0.1:0",
            "--admin-token",
            TOKEN,
        ])
        .args(args)
        .envs(envs.iter().copied())
        .env("RUST_LOG", "info")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let log = Arc::new(Mutex::new(Vec::new()));
    let (tx, rx) = mpsc::channel();
    let sink = log.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.contains("riskgate serving")
                && let Some(addr) = line
                    .split_whitespace()
                    .find_map(|w| w.strip_prefix("grpc_addr="))
            {
                let _ = tx.send(addr.to_owned());
            }
            sink.lock().unwrap().push(line);
        }
    });
    let grpc = rx
        .recv_timeout(Duration::from_secs(60))
        .unwrap_or_else(|_| panic!("server did not start: {:?}", log.lock().unwrap()));
    Served { child, grpc, log }
}

impl Served {
    async fn channel(&self) -> Channel {
        Channel::from_shared(format!("http://{}", self.grpc))
            .unwrap()
            .connect()
            .await
            .unwrap()
    }

    fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .args([sig, &self.child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok);
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn authed<T>(msg: T) -> Request<T> {
    let mut r = Request::new(msg);
    r.metadata_mut()
        .insert("authorization", format!("Bearer {TOKEN}").parse().unwrap());
    r
}

async fn create_item(
    client: &mut ValueListServiceClient<Channel>,
    list: &str,
    value: &str,
) -> Result<pb::ValueListItem, tonic::Status> {
    client
        .create_value_list_item(authed(pb::CreateValueListItemRequest {
            value_list: list.into(),
            value: value.into(),
        }))
        .await
        .map(|r| r.into_inner())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_list_writes_survive_kill_9() {
    let dir = common::TempDir::new("kill9");
    let journal = dir.path().join("lists.journal");
    let journal_env = journal.to_str().unwrap().to_owned();
    let env = [("RISKGATE_LISTS__PATH", journal_env.as_str())];

    let first = serve(&[], &env);
    let mut client = ValueListServiceClient::new(first.channel().await);
    let list = client
        .create_value_list(authed(pb::CreateValueListRequest {
            alias: "kill_test".into(),
            name: "Written while killed".into(),
            item_type: "string".into(),
            metadata: Default::default(),
        }))
        .await
        .unwrap()
        .into_inner();
    let mut deleted = Vec::new();
    for i in 0..10 {
        let item = create_item(&mut client, &list.id, &format!("gone-{i}"))
            .await
            .unwrap();
        client
            .delete_value_list_item(authed(pb::DeleteValueListItemRequest {
                id: item.id.clone(),
            }))
            .await
            .unwrap();
        deleted.push(item.id);
    }

    // Four writers create items as fast as they are acknowledged; the process is killed while
    // they are still writing.
    let acked: Arc<Mutex<Vec<pb::ValueListItem>>> = Arc::default();
    let mut writers = Vec::new();
    for w in 0..4 {
        let mut client = ValueListServiceClient::new(first.channel().await);
        let acked = acked.clone();
        let list = list.id.clone();
        writers.push(tokio::spawn(async move {
            for i in 0.. {
                match create_item(&mut client, &list, &format!("w{w}-item-{i}")).await {
                    Ok(item) => acked.lock().unwrap().push(item),
                    Err(_) => return,
                }
            }
        }));
    }
    while acked.lock().unwrap().len() < 60 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    first.signal("-KILL");
    for w in writers {
        w.await.unwrap();
    }
    drop(first);
    let acked = acked.lock().unwrap().clone();
    assert!(acked.len() >= 60);

    let second = serve(&[], &env);
    let mut client = ValueListServiceClient::new(second.channel().await);
    for item in &acked {
        let got = client
            .retrieve_value_list_item(authed(pb::RetrieveValueListItemRequest {
                id: item.id.clone(),
            }))
            .await
            .unwrap_or_else(|e| panic!("acknowledged item {} lost: {e}", item.value))
            .into_inner();
        assert_eq!(got, *item);
    }
    for id in &deleted {
        let err = client
            .retrieve_value_list_item(authed(pb::RetrieveValueListItemRequest { id: id.clone() }))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::NotFound, "deleted item {id} came back");
    }
    // The store still takes writes after recovery.
    create_item(&mut client, &list.id, "after-restart")
        .await
        .unwrap();
    drop(second);
}

async fn action(client: &mut PaymentEvaluationServiceClient<Channel>) -> Action {
    let mut req = common::minimal_request();
    req.payment_details.as_mut().unwrap().amount = 5000;
    client
        .create_payment_evaluation(req)
        .await
        .unwrap()
        .into_inner()
        .decision
        .unwrap()
        .action()
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_reloads_the_rules_and_a_broken_file_keeps_the_old_ones() {
    let dir = common::TempDir::new("sighup");
    let rules = dir.path().join("rules.txt");
    write(&rules, "Review if :amount_in_usd: > 10\n");
    let served = serve(
        &["--rules", rules.to_str().unwrap()],
        &[("RISKGATE_RULES__WATCH_INTERVAL_MS", "0")],
    );
    let mut client = PaymentEvaluationServiceClient::new(served.channel().await);
    assert_eq!(action(&mut client).await, Action::Review);

    let reloads = |log: &Arc<Mutex<Vec<String>>>, what: &str| {
        log.lock()
            .unwrap()
            .iter()
            .filter(|l| l.contains(what))
            .count()
    };
    write(&rules, "Review if :amount_in_usd: > 'ten'\n");
    served.signal("-HUP");
    for _ in 0..2000 {
        if reloads(&served.log, "rules reload refused") > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(reloads(&served.log, "rules reload refused"), 1);
    assert_eq!(action(&mut client).await, Action::Review);

    write(&rules, "Block if :amount_in_usd: > 10\n");
    served.signal("-HUP");
    let mut got = Action::Review;
    for _ in 0..2000 {
        got = action(&mut client).await;
        if got == Action::Block {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(got, Action::Block);
    // The new rules are swapped in before the reload is logged: wait for the line, too.
    for _ in 0..2000 {
        if reloads(&served.log, "rules reloaded") > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(reloads(&served.log, "rules reloaded"), 1);
    drop(served);
}
