//! Fuzzes configuration loading: the input is a config file (TOML), then `RISKGATE_…=value` lines
//! after a line holding only `---`, as the environment. No input may panic; every refusal is a
//! `ConfigError`, and a config that loads prints (`config show`) without its secrets.
//!
//! `cargo +nightly fuzz run config_load` (from the repository root; needs cargo-fuzz).

#![no_main]

use std::io::Write;

use libfuzzer_sys::fuzz_target;
use riskgate::config::{Config, Overrides};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (file, env) = text.split_once("\n---\n").unwrap_or((text, ""));
    let vars: Vec<(String, String)> = env
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    let path = std::env::temp_dir().join(format!("riskgate-fuzz-config-{}.toml", std::process::id()));
    let mut f = std::fs::File::create(&path).expect("temp file");
    f.write_all(file.as_bytes()).expect("temp file");
    drop(f);
    if let Ok(config) = Config::load(Some(&path), vars, Overrides::default()) {
        let shown = toml::to_string(&config).expect("a loaded config prints");
        if config.admin_token.is_some() {
            assert!(shown.contains("admin_token = \"[redacted]\""), "{shown}");
        }
    }
});
