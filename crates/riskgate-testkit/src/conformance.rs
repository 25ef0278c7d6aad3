//! The Radar rules conformance suite's data (`tests/conformance/`), read the same way by its three
//! runners: in-process (`tests/conformance.rs`), the `riskgate rules check|explain` command
//! (`crates/riskgate-cli/tests/conformance.rs`) and the real server
//! (`tests/conformance_server.rs`).
//!
//! A case file holds `[[case]]` tables: `id`, `basis` (the Stripe page, or "decided"), `rules` (a
//! rules file), `payment` (a patch on `base.json`, the JSON `riskgate eval` reads), `assume`
//! (attribute values from riskgate's state or score, which only the in-process and command-line runs
//! can set), `lists` (saved lists the rules read), `geoip` (false: no GeoIP databases), `expect`
//! (`match`, `no_match` — for one rule —, `refused`, or the decided action: `block`, `review`,
//! `request_three_d_secure`, `continue`), `decided_by` (the rule the answer names), `error` (part
//! of the load error), `warning` (part of a load warning).

use std::{
    net::Ipv4Addr,
    path::{Path, PathBuf},
};

use riskgate::{config::EnrichmentConfig, proto::v1::CreatePaymentEvaluationRequest};
use riskgate_core::{
    attributes::{Attr, Kind, Value},
    lists::{ItemType, StaticLists},
    rules::compile::attr_by_name,
};

use crate::mmdb::{self, Value as Mmdb};

/// What a case expects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expect {
    /// The (single) rule matches.
    Match,
    NoMatch,
    /// The rules file does not load; the error contains this.
    Refused(String),
    /// The decided action (`block`, `review`, `request_three_d_secure`, `continue`).
    Action(String),
}

/// A saved list a case's rules read.
#[derive(Debug, Clone)]
pub struct CaseList {
    pub alias: String,
    pub item_type: String,
    pub items: Vec<String>,
}

/// One case.
#[derive(Debug, Clone)]
pub struct Case {
    /// `file.toml#ID`.
    pub id: String,
    pub rules: String,
    /// The request, as JSON.
    pub request: serde_json::Value,
    /// `(attribute, value)` as written.
    pub assume: Vec<(String, toml::Value)>,
    /// `None`: no saved lists; `Some(…)`: exactly these exist.
    pub lists: Option<Vec<CaseList>>,
    pub geoip: bool,
    pub expect: Expect,
    pub decided_by: Option<String>,
    pub warning: Option<String>,
}

/// The conformance directory.
pub fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/conformance")
}

/// `base.json`, the payment every case patches.
pub fn base_request() -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir().join("base.json")).unwrap()).unwrap()
}

fn merge(base: &mut serde_json::Value, patch: serde_json::Value) {
    match (base, patch) {
        (serde_json::Value::Object(b), serde_json::Value::Object(p)) => {
            for (k, v) in p {
                merge(b.entry(k).or_insert(serde_json::Value::Null), v);
            }
        }
        (b, p) => *b = p,
    }
}

/// Every case of every `*.toml` file, in file and case order.
pub fn cases() -> Vec<Case> {
    let base: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir().join("base.json")).unwrap()).unwrap();
    let mut files: Vec<_> = std::fs::read_dir(dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    let mut out = Vec::new();
    for file in files {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let doc: toml::Table = toml::from_str(&std::fs::read_to_string(&file).unwrap())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        for c in doc["case"].as_array().unwrap() {
            let c = c.as_table().unwrap();
            let id = format!("{name}#{}", c["id"].as_str().unwrap());
            let get = |k: &str| c.get(k).and_then(toml::Value::as_str).map(str::to_owned);
            let known = [
                "id",
                "basis",
                "note",
                "rules",
                "payment",
                "assume",
                "lists",
                "geoip",
                "expect",
                "decided_by",
                "error",
                "warning",
            ];
            for k in c.keys() {
                assert!(known.contains(&k.as_str()), "{id}: unknown key `{k}`");
            }
            assert!(c.contains_key("basis"), "{id}: every case names its basis");
            let mut request = base.clone();
            if let Some(p) = c.get("payment") {
                merge(&mut request, serde_json::to_value(p).unwrap());
            }
            let expect = match get("expect")
                .unwrap_or_else(|| panic!("{id}: expect"))
                .as_str()
            {
                "match" => Expect::Match,
                "no_match" => Expect::NoMatch,
                "refused" => Expect::Refused(get("error").unwrap_or_else(|| panic!("{id}: error"))),
                a @ ("block" | "review" | "request_three_d_secure" | "continue") => {
                    Expect::Action(a.to_owned())
                }
                other => panic!("{id}: unknown expect `{other}`"),
            };
            let lists = c.get("lists").map(|l| {
                l.as_array()
                    .unwrap()
                    .iter()
                    .map(|l| CaseList {
                        alias: l["alias"].as_str().unwrap().to_owned(),
                        item_type: l["item_type"].as_str().unwrap().to_owned(),
                        items: l["items"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .map(|i| i.as_str().unwrap().to_owned())
                            .collect(),
                    })
                    .collect()
            });
            out.push(Case {
                assume: c
                    .get("assume")
                    .map(|a| {
                        a.as_table()
                            .unwrap()
                            .iter()
                            .map(|(k, v)| (k.clone(), v.clone()))
                            .collect()
                    })
                    .unwrap_or_default(),
                rules: get("rules").unwrap_or_else(|| panic!("{id}: rules")),
                request,
                lists,
                geoip: c
                    .get("geoip")
                    .and_then(toml::Value::as_bool)
                    .unwrap_or(true),
                expect,
                decided_by: get("decided_by"),
                warning: get("warning"),
                id,
            });
        }
    }
    out
}

impl Case {
    /// Whether the case is a state attribute's "missing without riskgate's state: no match" twin
    /// (`attributes.toml`, `-b`, the base payment, nothing assumed): it holds offline, where
    /// riskgate's state is not read; a server that evaluated earlier payments has the state.
    pub fn needs_no_state(&self, base: &serde_json::Value) -> bool {
        self.id.starts_with("attributes.toml#")
            && self.id.ends_with("-b")
            && self.request == *base
            && self.assume.is_empty()
    }

    /// The request, parsed.
    pub fn request(&self) -> CreatePaymentEvaluationRequest {
        serde_json::from_value(self.request.clone())
            .unwrap_or_else(|e| panic!("{}: not a request: {e}", self.id))
    }

    /// The saved lists, for the in-process compiler.
    pub fn static_lists(&self) -> StaticLists {
        let mut lists = StaticLists::default();
        for l in self.lists.iter().flatten() {
            let t = ItemType::parse(&l.item_type).unwrap();
            let items: Vec<&str> = l.items.iter().map(String::as_str).collect();
            lists = lists.with(&l.alias, t, &items);
        }
        lists
    }

    /// `NAME=VALUE` for `riskgate rules explain --set`.
    pub fn assume_args(&self) -> Vec<String> {
        self.assume
            .iter()
            .map(|(k, v)| match v {
                toml::Value::String(s) => format!("{k}={s}"),
                other => format!("{k}={other}"),
            })
            .collect()
    }

    /// The assumed values, typed by the catalog.
    pub fn assumed(&self) -> Vec<(Attr, Value<'static>)> {
        self.assume
            .iter()
            .map(|(k, v)| {
                let attr = attr_by_name(k).unwrap_or_else(|| panic!("{}: assume {k}", self.id));
                let value = match (attr.kind(), v) {
                    (Kind::Number, toml::Value::Integer(n)) => Value::Number(*n as f64),
                    (Kind::Number, toml::Value::Float(n)) => Value::Number(*n),
                    (Kind::Bool, toml::Value::Boolean(b)) => Value::Bool(*b),
                    (Kind::Text, toml::Value::String(s)) => Value::Text(s.clone().into()),
                    _ => panic!("{}: assume {k}: wrong type", self.id),
                };
                (attr, value)
            })
            .collect()
    }
}

/// One of Stripe's published rules (`stripe_examples.txt`).
#[derive(Debug, Clone)]
pub struct Example {
    pub source: String,
    pub rule: String,
    /// `None`: loads; `Some(part of the error)`: refused.
    pub refused: Option<String>,
}

/// Every example, in file order.
pub fn stripe_examples() -> Vec<Example> {
    let text = std::fs::read_to_string(dir().join("stripe_examples.txt")).unwrap();
    let mut out = Vec::new();
    let mut source = None;
    let mut rule: Option<String> = None;
    for line in text.lines() {
        if let Some(s) = line.strip_prefix("# source: ") {
            source = Some(s.to_owned());
        } else if let Some(e) = line.strip_prefix("# expect: ") {
            let rule = rule.take().expect("a rule before its expectation");
            out.push(Example {
                source: source.take().expect("a source for every rule"),
                rule,
                refused: e.strip_prefix("refused: ").map(str::to_owned),
            });
        } else if !line.starts_with('#') && !line.trim().is_empty() {
            assert!(rule.is_none(), "two rules without an expectation: {line}");
            rule = Some(line.to_owned());
        }
    }
    out
}

/// The lists Stripe's examples name.
pub fn example_lists() -> StaticLists {
    StaticLists::default()
        .with("card_countries_to_block", ItemType::Country, &["NG"])
        .with("enforce_3ds_list", ItemType::Country, &["GB", "IE"])
}

/// Writes the suite's GeoIP databases into `dir` and returns the enrichment configuration that
/// names them:
///
/// | network | country | state | anonymous | connection | ISP |
/// | --- | --- | --- | --- | --- | --- |
/// | 198.51.100.0/24 | US | CA | — | Cable/DSL | Example Cable |
/// | 203.0.113.0/24 | GB | ENG | public proxy, hosting | Corporate | Example Hosting |
/// | 192.0.2.0/24 | NG | LA | Tor exit, VPN | Cellular | Example Mobile |
pub fn geoip_config(dir: &Path) -> EnrichmentConfig {
    let us: Ipv4Addr = "198.51.100.0".parse().unwrap();
    let gb: Ipv4Addr = "203.0.113.0".parse().unwrap();
    let ng: Ipv4Addr = "192.0.2.0".parse().unwrap();
    let s = |v: &str| Mmdb::Str(v.to_owned());
    let city = |country: &str, state: &str| {
        Mmdb::Map(vec![
            ("country", Mmdb::Map(vec![("iso_code", s(country))])),
            (
                "subdivisions",
                Mmdb::Array(vec![Mmdb::Map(vec![("iso_code", s(state))])]),
            ),
        ])
    };
    let write = |name: &str, bytes: Vec<u8>| {
        let p = dir.join(name);
        std::fs::write(&p, bytes).unwrap();
        Some(p)
    };
    let kind = |k: &str| Mmdb::Map(vec![("connection_type", s(k))]);
    let isp = |n: &str| Mmdb::Map(vec![("isp", s(n))]);
    EnrichmentConfig {
        geoip_mmdb_path: write(
            "country.mmdb",
            mmdb::country_db(&[(us, 24, "US"), (gb, 24, "GB"), (ng, 24, "NG")]),
        ),
        geoip_city_mmdb_path: write(
            "city.mmdb",
            mmdb::database(&[
                (us, 24, city("US", "CA")),
                (gb, 24, city("GB", "ENG")),
                (ng, 24, city("NG", "LA")),
            ]),
        ),
        geoip_anonymous_ip_mmdb_path: write(
            "anonymous.mmdb",
            mmdb::database(&[
                (
                    gb,
                    24,
                    Mmdb::Map(vec![
                        ("is_anonymous", Mmdb::Bool(true)),
                        ("is_public_proxy", Mmdb::Bool(true)),
                        ("is_hosting_provider", Mmdb::Bool(true)),
                    ]),
                ),
                (
                    ng,
                    24,
                    Mmdb::Map(vec![
                        ("is_anonymous", Mmdb::Bool(true)),
                        ("is_tor_exit_node", Mmdb::Bool(true)),
                        ("is_anonymous_vpn", Mmdb::Bool(true)),
                    ]),
                ),
            ]),
        ),
        geoip_connection_type_mmdb_path: write(
            "connection.mmdb",
            mmdb::database(&[
                (us, 24, kind("Cable/DSL")),
                (gb, 24, kind("Corporate")),
                (ng, 24, kind("Cellular")),
            ]),
        ),
        geoip_isp_mmdb_path: write(
            "isp.mmdb",
            mmdb::database(&[
                (us, 24, isp("Example Cable")),
                (gb, 24, isp("Example Hosting")),
                (ng, 24, isp("Example Mobile")),
            ]),
        ),
        ..EnrichmentConfig::default()
    }
}
