//! What `riskgate rules check` says about the attributes a rules file reads, beyond errors and
//! warnings: those that need a GeoIP database this configuration does not set (missing on every
//! payment) and those that come from a request field the orchestrator must send; and the
//! `--set NAME=VALUE` assumptions of `riskgate rules explain`.

use std::{borrow::Cow, path::Path};

use riskgate::config::Config;
use riskgate_core::{
    attributes::{
        Attr, Kind, Value,
        radar::{GEOIP_DATABASES, REQUEST_FIELDS},
    },
    rules::{
        RuleSet,
        compile::attr_by_name,
        coverage::{Status, radar_attribute},
    },
};

use super::rules::RulesFileError;

/// The catalog attribute a name written in a rule reads (its own, or the one it is another name
/// for).
fn resolve(name: &str) -> Option<Attr> {
    attr_by_name(name).or_else(|| match radar_attribute(name)?.status {
        Status::Alias(target) => attr_by_name(target),
        _ => None,
    })
}

/// Whether this configuration sets the database behind `key`.
fn configured(config: &Config, key: &str) -> bool {
    let e = &config.enrichment;
    let set = |p: &Option<std::path::PathBuf>| {
        p.as_deref()
            .is_some_and(|p: &Path| !p.as_os_str().is_empty())
    };
    match key {
        "enrichment.geoip_mmdb_path" => set(&e.geoip_mmdb_path) || set(&e.geoip_city_mmdb_path),
        "enrichment.geoip_city_mmdb_path" => set(&e.geoip_city_mmdb_path),
        "enrichment.geoip_anonymous_ip_mmdb_path" => set(&e.geoip_anonymous_ip_mmdb_path),
        "enrichment.geoip_connection_type_mmdb_path" => set(&e.geoip_connection_type_mmdb_path),
        "enrichment.geoip_isp_mmdb_path" => set(&e.geoip_isp_mmdb_path),
        _ => true,
    }
}

/// One line per attribute the rules read that may be missing for a reason outside the rules.
pub fn notes(set: &RuleSet, config: &Config) -> Vec<String> {
    let mut names: Vec<&str> = Vec::new();
    for r in set.rules() {
        for a in &r.attributes {
            if !names.contains(&a.as_str()) {
                names.push(a);
            }
        }
    }
    let mut out = Vec::new();
    for name in names {
        let Some(attr) = resolve(name) else { continue };
        if let Some((_, key)) = GEOIP_DATABASES.iter().find(|(a, _)| *a == attr)
            && !configured(config, key)
        {
            out.push(format!(
                ":{name}: comes from the GeoIP database `{key}`, which this configuration does not set: \
                 it is missing on every payment, so a condition on it is never true (pass --config with the database)"
            ));
        }
        if let Some((_, field)) = REQUEST_FIELDS.iter().find(|(a, _)| *a == attr) {
            let absent = if attr.kind() == Kind::Bool {
                "false"
            } else {
                "missing"
            };
            out.push(format!(
                ":{name}: comes from the request field `{field}`; it is {absent} when the orchestrator does not send it"
            ));
        }
    }
    out
}

/// Parses `--set NAME=VALUE` assumptions: a number for a numeric attribute, `true`/`false` for a
/// Boolean, text otherwise.
pub fn assumptions(assume: &[String]) -> Result<Vec<(Attr, Value<'static>)>, RulesFileError> {
    assume
        .iter()
        .map(|a| {
            let bad = |why: String| RulesFileError::Assumption(format!("{a}: {why}"));
            let (name, value) = a
                .split_once('=')
                .ok_or_else(|| bad("expected NAME=VALUE".into()))?;
            let name = name.trim().trim_matches(':');
            let attr = resolve(name).ok_or_else(|| bad(format!("unknown attribute `{name}`")))?;
            let value = match attr.kind() {
                Kind::Number => Value::Number(
                    value
                        .trim()
                        .parse()
                        .map_err(|_| bad(format!(":{name}: is a number")))?,
                ),
                Kind::Bool => Value::Bool(match value.trim() {
                    "true" => true,
                    "false" => false,
                    _ => return Err(bad(format!(":{name}: is true or false"))),
                }),
                Kind::Text => Value::Text(Cow::Owned(value.to_owned())),
            };
            Ok((attr, value))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use riskgate_core::lists::OfflineLists;

    #[test]
    fn notes_name_the_database_and_the_request_field() {
        let set = RuleSet::compile(
            "Block if :ip_state: = 'CA' AND :is_anonymous_ip:\n\
             Review if :destination: = 'acct_1' AND NOT :is_3d_secure:\n\
             Review if :ip_country: = 'US'\n",
            &OfflineLists,
        )
        .unwrap();
        let config = Config::default();
        let n = notes(&set, &config);
        assert_eq!(n.len(), 5, "{n:#?}");
        assert!(
            n.iter()
                .any(|l| l.contains("`enrichment.geoip_city_mmdb_path`"))
        );
        assert!(
            n.iter()
                .any(|l| l.contains("`enrichment.geoip_anonymous_ip_mmdb_path`"))
        );
        assert!(n.iter().any(|l| l.contains(":ip_country:")));
        assert!(
            n.iter()
                .any(|l| l.contains("`payment_details.transfer_data.destination`"))
        );
        assert!(
            n.iter()
                .any(|l| l.contains(":is_3d_secure:") && l.contains("false when"))
        );
        let mut config = Config::default();
        config.enrichment.geoip_city_mmdb_path = Some("/tmp/City.mmdb".into());
        let n = notes(&set, &config);
        assert_eq!(
            n.len(),
            3,
            "the City database also gives ip_country: {n:#?}"
        );
    }

    #[test]
    fn assumptions_are_typed() {
        let a = assumptions(&[
            "risk_level=highest".into(),
            ":card_count_for_email_daily:=3".into(),
            "is_anonymous_ip=true".into(),
            "total_transactions_per_email_daily=2".into(),
        ])
        .unwrap();
        assert_eq!(a[0], (Attr::RiskLevel, Value::Text("highest".into())));
        assert_eq!(a[1], (Attr::CardCountForEmailDaily, Value::Number(3.0)));
        assert_eq!(a[2], (Attr::IsAnonymousIp, Value::Bool(true)));
        assert_eq!(a[3].0, Attr::TotalChargesPerEmailDaily);
        for bad in [
            "nope=1",
            "amount_in_usd=big",
            "is_anonymous_ip=yes",
            "risk_level",
        ] {
            assert!(assumptions(&[bad.into()]).is_err(), "{bad}");
        }
    }
}
