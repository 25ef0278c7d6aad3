//! A real headless Chromium for page tests: Debian's `chromium` driven through its
//! `chromedriver` (WebDriver) on a free loopback port, killed on drop. `scripts/test` installs
//! both when they are missing; without them the test fails (never skips), as CI requires.
//!
//! Where they are: `RISKGATE_CHROMIUM` / `RISKGATE_CHROMEDRIVER` when set, else the first of
//! [`CHROMIUM_NAMES`] / `chromedriver` on `PATH` (Debian installs `/usr/bin/chromium` and
//! `/usr/bin/chromedriver`; other distributions name the browser `chromium-browser`).

use std::{
    net::TcpListener,
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::Duration,
};

/// Names the browser goes by, in the order they are looked for on `PATH`.
pub const CHROMIUM_NAMES: &[&str] = &["chromium", "chromium-browser", "google-chrome"];

/// The browser binary (see the module docs); `None` when none is installed.
pub fn chromium() -> Option<PathBuf> {
    locate("RISKGATE_CHROMIUM", CHROMIUM_NAMES)
}

/// The WebDriver binary (see the module docs); `None` when none is installed.
pub fn chromedriver() -> Option<PathBuf> {
    locate("RISKGATE_CHROMEDRIVER", &["chromedriver"])
}

/// `$var` when set, else the first of `names` that is an executable file on `PATH`.
fn locate(var: &str, names: &[&str]) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(var).filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(path));
    }
    let path = std::env::var_os("PATH")?;
    names.iter().find_map(|name| {
        std::env::split_paths(&path)
            .map(|dir| dir.join(name))
            .find(|candidate| is_executable(candidate))
    })
}

fn is_executable(path: &std::path::Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// A running chromedriver.
pub struct Chromedriver {
    pub port: u16,
    /// The browser chromedriver starts.
    chromium: PathBuf,
    child: Child,
    /// Chromium's profile, removed with the driver.
    profile: crate::TempDir,
}

impl Chromedriver {
    /// Starts chromedriver and waits until it accepts connections.
    pub async fn start() -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        const INSTALL: &str = "scripts/test installs Debian's chromium and chromium-driver \
            (or set RISKGATE_CHROMIUM and RISKGATE_CHROMEDRIVER)";
        let driver = chromedriver().unwrap_or_else(|| panic!("no chromedriver on PATH; {INSTALL}"));
        let chromium =
            chromium().unwrap_or_else(|| panic!("none of {CHROMIUM_NAMES:?} on PATH; {INSTALL}"));
        let mut child = Command::new(&driver)
            .args([format!("--port={port}"), "--allowed-ips=127.0.0.1".into()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {} ({e}); {INSTALL}", driver.display()));
        for _ in 0..1000 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return Self {
                    port,
                    chromium,
                    child,
                    profile: crate::TempDir::new("chromium-profile"),
                };
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("chromedriver did not start on port {port}");
    }

    /// The WebDriver URL.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Capabilities for a headless Chromium that makes no connection of its own (this machine's
    /// network is closed: background networking would only fail).
    pub fn capabilities(&self) -> serde_json::Map<String, serde_json::Value> {
        let args = [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=1280,1000",
        ]
        .iter()
        .map(|a| a.to_string())
        .chain([format!("--user-data-dir={}", self.profile.path().display())])
        .collect::<Vec<_>>();
        let caps = serde_json::json!({
            "browserName": "chrome",
            "goog:chromeOptions": { "binary": self.chromium, "args": args },
        });
        caps.as_object().unwrap().clone()
    }
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
