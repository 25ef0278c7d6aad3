//! A real local Redis Cluster for tests: 3 primaries and 3 replicas (`redis-server
//! --cluster-enabled yes`, joined with `redis-cli --cluster create`), on free loopback ports of at
//! most 55535 (a node's cluster bus is its port + 10000). Killed on drop.

use std::{
    net::TcpListener,
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::Duration,
};

use crate::TempDir;

/// One node of the cluster.
pub struct Node {
    pub port: u16,
    child: Option<Child>,
}

pub struct RedisCluster {
    pub nodes: Vec<Node>,
    dir: TempDir,
}

/// A port p with p and p + 10000 free, p ≤ 55535.
fn cluster_port(taken: &[u16]) -> u16 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let seed = std::process::id() * 7919 + NEXT.fetch_add(1, Ordering::Relaxed) * 131;
    for i in 0..20_000u32 {
        let port = 20_000 + ((seed + i * 17) % 35_000) as u16;
        if taken.contains(&port) {
            continue;
        }
        let free = |p: u16| TcpListener::bind(("127.0.0.1", p)).is_ok();
        if free(port) && free(port + 10_000) {
            return port;
        }
    }
    panic!("no free port pair for a Redis Cluster node");
}

fn spawn_node(port: u16, dir: &std::path::Path) -> Child {
    let node_dir: PathBuf = dir.join(port.to_string());
    std::fs::create_dir_all(&node_dir).unwrap();
    Command::new("redis-server")
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--cluster-enabled", "yes", "--cluster-node-timeout", "1000"])
        .args(["--cluster-config-file", "nodes.conf"])
        .args(["--save", "", "--appendonly", "no", "--protected-mode", "no"])
        // Replicas sync at once (the default waits 5 s), so a primary killed early has a replica
        // with its data that may take over.
        .args(["--repl-diskless-sync-delay", "0"])
        .current_dir(&node_dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("cannot start redis-server ({e}); scripts/test installs it when missing")
        })
}

fn cli(port: u16, args: &[&str]) -> String {
    let out = Command::new("redis-cli")
        .args(["-p", &port.to_string()])
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run redis-cli ({e})"));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

impl RedisCluster {
    /// Starts 6 nodes, makes them a cluster with one replica per primary, and waits until every
    /// node reports `cluster_state:ok`.
    pub async fn start() -> Self {
        let dir = TempDir::new("redis-cluster");
        let mut ports = Vec::new();
        for _ in 0..6 {
            let p = cluster_port(&ports);
            ports.push(p);
        }
        let nodes: Vec<Node> = ports
            .iter()
            .map(|&port| Node {
                port,
                child: Some(spawn_node(port, dir.path())),
            })
            .collect();
        for n in &nodes {
            wait_for_port(n.port).await;
        }
        let addrs: Vec<String> = ports.iter().map(|p| format!("127.0.0.1:{p}")).collect();
        let out = Command::new("redis-cli")
            .args(["--cluster", "create"])
            .args(&addrs)
            .args(["--cluster-replicas", "1", "--cluster-yes"])
            .output()
            .expect("redis-cli --cluster create");
        assert!(
            out.status.success(),
            "redis-cli --cluster create failed: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        let cluster = Self { nodes, dir };
        cluster.wait_until_ok().await;
        cluster
    }

    /// The seed list riskgate is given: every node, comma-separated.
    pub fn url(&self) -> String {
        self.nodes
            .iter()
            .map(|n| format!("redis://127.0.0.1:{}", n.port))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Waits (bounded) until every running node says the cluster is ok and agrees on 3 primaries,
    /// and every replica is in sync with its primary.
    pub async fn wait_until_ok(&self) {
        for _ in 0..600 {
            let ok = self.nodes.iter().filter(|n| n.child.is_some()).all(|n| {
                let replication = cli(n.port, &["INFO", "replication"]);
                cli(n.port, &["CLUSTER", "INFO"]).contains("cluster_state:ok")
                    && self.primaries_seen_by(n.port).len() == 3
                    && (!replication.contains("role:slave")
                        || replication.contains("master_link_status:up"))
            });
            if ok {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the Redis Cluster did not become ok");
    }

    /// Waits (bounded) until a replica has replaced the killed primary `victim` and the cluster is
    /// ok again.
    pub async fn wait_for_failover(&self, victim: u16) {
        for _ in 0..1200 {
            let promoted = self.nodes.iter().filter(|n| n.child.is_some()).all(|n| {
                let primaries = self.primaries_seen_by(n.port);
                cli(n.port, &["CLUSTER", "INFO"]).contains("cluster_state:ok")
                    && primaries.len() == 3
                    && !primaries.contains(&victim)
            });
            if promoted {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("no replica took over from primary {victim}");
    }

    /// Ports of the live primaries that node `port` knows of.
    fn primaries_seen_by(&self, port: u16) -> Vec<u16> {
        cli(port, &["CLUSTER", "NODES"])
            .lines()
            .filter(|l| l.contains("master") && !l.contains("fail"))
            .filter_map(|l| {
                let addr = l.split_whitespace().nth(1)?;
                addr.split(['@', ':']).nth(1)?.parse().ok()
            })
            .collect()
    }

    /// Ports of the primaries, as a live node sees them.
    pub fn primaries(&self) -> Vec<u16> {
        let live = self.nodes.iter().find(|n| n.child.is_some()).unwrap();
        self.primaries_seen_by(live.port)
    }

    /// The port of the primary serving `key`'s slot.
    pub fn primary_of(&self, key: &str) -> u16 {
        let live = self.nodes.iter().find(|n| n.child.is_some()).unwrap();
        let slot: u16 = cli(live.port, &["CLUSTER", "KEYSLOT", key])
            .trim()
            .parse()
            .unwrap();
        for l in cli(live.port, &["CLUSTER", "NODES"]).lines() {
            let fields: Vec<&str> = l.split_whitespace().collect();
            if !fields.get(2).is_some_and(|f| f.contains("master")) {
                continue;
            }
            for range in &fields[8.min(fields.len())..] {
                let (a, b) = range.split_once('-').unwrap_or((range, range));
                if let (Ok(a), Ok(b)) = (a.parse::<u16>(), b.parse::<u16>())
                    && (a..=b).contains(&slot)
                {
                    return fields[1].split(['@', ':']).nth(1).unwrap().parse().unwrap();
                }
            }
        }
        panic!("no primary serves slot {slot}");
    }

    /// Kills node `port` abruptly (SIGKILL), as a crash would.
    pub fn kill(&mut self, port: u16) {
        let node = self.nodes.iter_mut().find(|n| n.port == port).unwrap();
        if let Some(mut child) = node.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// The sum of a field of `INFO commandstats` over the primaries (e.g. the CPU microseconds of
    /// every command: `usec`), and the calls.
    pub fn commandstats(&self) -> (u64, u64) {
        let mut usec = 0;
        let mut calls = 0;
        for port in self.primaries() {
            let (u, c) = commandstats(port);
            usec += u;
            calls += c;
        }
        (usec, calls)
    }

    /// Resets `INFO commandstats` on every live node.
    pub fn reset_stats(&self) {
        for n in self.nodes.iter().filter(|n| n.child.is_some()) {
            cli(n.port, &["CONFIG", "RESETSTAT"]);
        }
    }

    /// Where the nodes keep their files.
    pub fn dir(&self) -> &std::path::Path {
        self.dir.path()
    }
}

/// Total `usec` and `calls` of every command in `INFO commandstats` of the server on `port`.
pub fn commandstats(port: u16) -> (u64, u64) {
    let mut usec = 0;
    let mut calls = 0;
    for line in cli(port, &["INFO", "commandstats"]).lines() {
        let Some((_, fields)) = line.split_once(':') else {
            continue;
        };
        for f in fields.split(',') {
            if let Some(v) = f.strip_prefix("usec=") {
                usec += v.trim().parse::<u64>().unwrap_or(0);
            } else if let Some(v) = f.strip_prefix("calls=") {
                calls += v.trim().parse::<u64>().unwrap_or(0);
            }
        }
    }
    (usec, calls)
}

async fn wait_for_port(port: u16) {
    for _ in 0..400 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("redis-server did not start on port {port}");
}

impl Drop for RedisCluster {
    fn drop(&mut self) {
        for n in &mut self.nodes {
            if let Some(mut child) = n.child.take() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}
