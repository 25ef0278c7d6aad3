//! Issue 18, durable by default: the README's run command (`riskgate serve`, nothing configured)
//! keeps what it acknowledged in its default data directory (`~/.local/state/riskgate`), so a
//! `kill -9` and a restart lose nothing: value lists, idempotent answers (replayed with the same
//! id), and the admin token it generated on first run, which `riskgate rules reload` on the same
//! machine finds by itself. A second server started the same way warns and keeps its state in
//! memory; one that names the directory in use (`--data-dir`) is refused, naming it.

use riskgate_testkit as common;

use std::{
    collections::HashMap,
    io::{BufRead, BufReader},
    os::unix::fs::PermissionsExt,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex, mpsc},
    time::Duration,
};

use riskgate::proto::v1::{
    self as pb, payment_evaluation_service_client::PaymentEvaluationServiceClient,
    value_list_service_client::ValueListServiceClient,
};
use tonic::{Request, transport::Channel};

/// `riskgate serve` on ephemeral ports, as the README runs it, with `home` as its HOME (and no
/// other data directory setting), `extra` arguments after.
fn serve(home: &Path, extra: &[&str]) -> Result<(Child, String), String> {
    serve_logged(home, extra).map(|(child, addr, _)| (child, addr))
}

/// [`serve`], with the server's log so far (it keeps growing).
fn serve_logged(
    home: &Path,
    extra: &[&str],
) -> Result<(Child, String, Arc<Mutex<String>>), String> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_riskgate"))
        .args([
            "serve",
            "--grpc-addr",
            "127.0.0.1:0",
            "--admin-addr",
            "127.0.0.1:0",
        ])
        .args(extra)
        .env("HOME", home)
        .env_remove("RISKGATE_DATA_DIR")
        .env_remove("XDG_STATE_HOME")
        .env_remove("RISKGATE_STATE__DATA_DIR")
        .env_remove("RISKGATE_ADMIN_TOKEN")
        .env("RUST_LOG", "info")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let log = Arc::new(Mutex::new(String::new()));
    let (tx, rx) = mpsc::channel();
    let sink = log.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.contains("riskgate serving")
                && let Some(addr) = line
                    .split_whitespace()
                    .find_map(|w| w.strip_prefix("grpc_addr="))
            {
                let _ = tx.send(Some(addr.to_owned()));
            }
            sink.lock().unwrap().push_str(&(line + "\n"));
        }
        let _ = tx.send(None);
    });
    match rx.recv_timeout(Duration::from_secs(60)) {
        Ok(Some(addr)) => Ok((child, addr, log)),
        _ => {
            let _ = child.kill();
            let _ = child.wait();
            Err(log.lock().unwrap().clone())
        }
    }
}

async fn channel(addr: &str) -> Channel {
    Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap()
}

fn authed<T>(msg: T, token: &str) -> Request<T> {
    let mut r = Request::new(msg);
    r.metadata_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    r
}

fn kill_9(child: &mut Child) {
    let ok = Command::new("kill")
        .args(["-KILL", &child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok);
    let _ = child.wait();
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_run_command_loses_nothing_acknowledged_on_kill_9() {
    let home = common::TempDir::new("durable-home");
    let rules = home.file("rules.txt", "Review if :amount_in_usd: > 100000\n");
    let rules_arg = rules.to_str().unwrap().to_owned();
    let data_dir: PathBuf = home.path().join(".local/state/riskgate");

    let (mut first, addr) = serve(home.path(), &["--rules", &rules_arg]).expect("serves");
    // First run: the directory and the admin token exist, private to this user.
    assert_eq!(mode(&data_dir), 0o700);
    let token_file = data_dir.join("admin-token");
    assert_eq!(mode(&token_file), 0o600);
    let token = std::fs::read_to_string(&token_file)
        .unwrap()
        .trim()
        .to_owned();
    assert_eq!(token.len(), 64);

    // A second server started the same way cannot share the directory: it serves, warns (naming
    // the directory and the first server) and keeps its state in memory.
    let (mut memory_only, _, log) = serve_logged(home.path(), &[]).expect("serves in memory");
    let log = log.lock().unwrap().clone();
    assert!(
        log.contains("the default data directory is in use by another riskgate")
            && log.contains(&data_dir.display().to_string())
            && log.contains(&first.id().to_string()),
        "{log}"
    );
    kill_9(&mut memory_only);
    // Naming the same directory is an error that names it and the first server.
    let named = data_dir.to_str().unwrap();
    let err = serve(home.path(), &["--data-dir", named])
        .expect_err("a server must not share a directory it was given");
    assert!(
        err.contains(&format!(
            "data directory {named}: in use by another riskgate"
        )) && err.contains(&first.id().to_string()),
        "{err}"
    );

    // Acknowledged writes: a list, its items, idempotent evaluations; four writers, killed while
    // they write.
    let mut lists = ValueListServiceClient::new(channel(&addr).await);
    let list = lists
        .create_value_list(authed(
            pb::CreateValueListRequest {
                alias: "kept_emails".into(),
                name: "Kept across kill -9".into(),
                item_type: "email".into(),
                metadata: Default::default(),
            },
            &token,
        ))
        .await
        .unwrap()
        .into_inner();
    let items: Arc<Mutex<Vec<pb::ValueListItem>>> = Arc::default();
    let answers: Arc<Mutex<HashMap<String, String>>> = Arc::default();
    let mut writers = Vec::new();
    for w in 0..2 {
        let mut lists = ValueListServiceClient::new(channel(&addr).await);
        let (items, list, token) = (items.clone(), list.id.clone(), token.clone());
        writers.push(tokio::spawn(async move {
            for i in 0.. {
                let req = pb::CreateValueListItemRequest {
                    value_list: list.clone(),
                    value: format!("w{w}-{i}@example.com"),
                };
                match lists.create_value_list_item(authed(req, &token)).await {
                    Ok(item) => items.lock().unwrap().push(item.into_inner()),
                    Err(_) => return,
                }
            }
        }));
        let mut evals = PaymentEvaluationServiceClient::new(channel(&addr).await);
        let answers = answers.clone();
        writers.push(tokio::spawn(async move {
            for i in 0.. {
                let mut req = common::minimal_request();
                req.idempotency_key = format!("order-{w}-{i}");
                match evals.create_payment_evaluation(req).await {
                    Ok(answer) => {
                        let id = answer.into_inner().evaluation.unwrap().id;
                        answers.lock().unwrap().insert(format!("order-{w}-{i}"), id);
                    }
                    Err(_) => return,
                }
            }
        }));
    }
    while items.lock().unwrap().len() < 40 || answers.lock().unwrap().len() < 40 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    kill_9(&mut first);
    for w in writers {
        w.await.unwrap();
    }
    let items = items.lock().unwrap().clone();
    let answers = answers.lock().unwrap().clone();

    // Restart the same command: everything acknowledged is there.
    let (mut second, addr) = serve(home.path(), &["--rules", &rules_arg]).expect("restarts");
    let mut lists = ValueListServiceClient::new(channel(&addr).await);
    for item in &items {
        let got = lists
            .retrieve_value_list_item(authed(
                pb::RetrieveValueListItemRequest {
                    id: item.id.clone(),
                },
                &token,
            ))
            .await
            .unwrap_or_else(|e| panic!("acknowledged item {} lost: {e}", item.value))
            .into_inner();
        assert_eq!(got, *item);
    }
    let mut evals = PaymentEvaluationServiceClient::new(channel(&addr).await);
    for (key, id) in &answers {
        let mut req = common::minimal_request();
        req.idempotency_key = key.clone();
        let replay = evals.create_payment_evaluation(req).await.unwrap();
        assert_eq!(
            replay
                .metadata()
                .get("idempotent-replayed")
                .map(|v| v.to_str().unwrap()),
            Some("true"),
            "{key} was evaluated again after the restart"
        );
        assert_eq!(&replay.into_inner().evaluation.unwrap().id, id, "{key}");
    }
    // The generated token is the same one, and a client command on this machine finds it.
    let out = Command::new(env!("CARGO_BIN_EXE_riskgate"))
        .args(["rules", "reload", "--addr", &format!("http://{addr}")])
        .env("HOME", home.path())
        .env_remove("RISKGATE_DATA_DIR")
        .env_remove("XDG_STATE_HOME")
        .env_remove("RISKGATE_ADMIN_TOKEN")
        .env_remove("RISKGATE_CONFIG")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("reloaded"));
    kill_9(&mut second);

    // --in-memory is the explicit opt-out: nothing is read from (or written to) the directory.
    let (mut third, addr) = serve(home.path(), &["--in-memory"]).expect("serves");
    let mut lists = ValueListServiceClient::new(channel(&addr).await);
    let err = lists
        .list_value_lists(authed(pb::ListValueListsRequest::default(), &token))
        .await
        .unwrap_err();
    assert_eq!(
        err.code(),
        tonic::Code::Unauthenticated,
        "no admin token in memory mode"
    );
    kill_9(&mut third);
}
