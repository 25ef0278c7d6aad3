//! The `riskgate` binary as a child process.

use std::sync::mpsc;

/// The `riskgate` binary running as a child process; killed if the test ends without
/// [`ServerProcess::terminate`].
pub struct ServerProcess {
    child: Option<std::process::Child>,
    log: Option<std::thread::JoinHandle<String>>,
    /// `host:port` of the gRPC listener, read from the "riskgate serving" log line.
    pub grpc_addr: String,
    binary: String,
}

impl ServerProcess {
    /// Starts `BINARY serve` (the tests pass `env!("CARGO_BIN_EXE_riskgate")`) on ephemeral
    /// loopback ports with `RUST_LOG=log_level`, and waits until it serves. The log is read
    /// continuously, so the server never blocks on a full pipe. The CPU governor is off.
    pub fn spawn(binary: &str, extra_args: &[&str], log_level: &str) -> Self {
        use std::io::BufRead;
        let mut child = std::process::Command::new(binary)
            .args([
                "serve",
                "--grpc-addr",
                "127.0.0.1:0",
                "--admin-addr",
                "127.0.0.1:0",
            ])
            .args(extra_args)
            .env("RUST_LOG", log_level)
            // As in the in-process test server: on a loaded test machine the CPU governor would
            // refuse calls the test expects answered.
            .env("RISKGATE_GRPC__CPU_TARGET_PERCENT", "0")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("riskgate starts");
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = mpsc::channel();
        let log = std::thread::spawn(move || {
            let mut log = String::new();
            for line in std::io::BufReader::new(stderr)
                .lines()
                .map_while(Result::ok)
            {
                if line.contains("riskgate serving") {
                    let addr = line
                        .split_whitespace()
                        .find_map(|w| w.strip_prefix("grpc_addr="));
                    let _ = tx.send(addr.map(str::to_owned));
                }
                log.push_str(&line);
                log.push('\n');
            }
            log
        });
        let grpc_addr = match rx.recv_timeout(std::time::Duration::from_secs(60)) {
            Ok(Some(addr)) => addr,
            other => {
                let _ = child.kill();
                panic!(
                    "riskgate did not start serving ({other:?}): {}",
                    log.join().unwrap()
                );
            }
        };
        Self {
            child: Some(child),
            log: Some(log),
            grpc_addr,
            binary: binary.to_owned(),
        }
    }

    /// Runs a `riskgate` client command (`eval`, `probe` …) against this server.
    pub fn run(&self, args: &[&str]) -> std::process::Output {
        std::process::Command::new(&self.binary)
            .args(args)
            .args(["--addr", &format!("http://{}", self.grpc_addr)])
            .output()
            .unwrap()
    }

    /// Sends SIGTERM; returns the exit status and the whole log.
    pub fn terminate(mut self) -> (std::process::ExitStatus, String) {
        let mut child = self.child.take().unwrap();
        let kill = std::process::Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(kill.success());
        let status = child.wait().unwrap();
        (status, self.log.take().unwrap().join().unwrap())
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
