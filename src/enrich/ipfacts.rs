//! IP facts beyond the country, for Radar's `ip_state`, `is_anonymous_ip`,
//! `ip_address_connection_type` and `isp` (issue 17), each from a MaxMind DB file the operator
//! installs:
//!
//! - `enrichment.geoip_city_mmdb_path`: a City database. The MaxMind layout (GeoIP2/GeoLite2 City:
//!   `subdivisions[0].iso_code`, exactly Radar's state format), or ip-location-db's City layout
//!   (`state1`, a name), whose US states and territories, Canadian provinces and Australian states
//!   are turned into their codes (other names give no state). Its country also serves `ip_country`
//!   when `enrichment.geoip_mmdb_path` is unset.
//! - `enrichment.geoip_anonymous_ip_mmdb_path`: MaxMind's Anonymous IP layout (`is_public_proxy`,
//!   `is_tor_exit_node`, `is_anonymous_vpn`, `is_hosting_provider`).
//! - `enrichment.geoip_connection_type_mmdb_path`: MaxMind's Connection-Type layout
//!   (`connection_type`: Cable/DSL, Cellular, Corporate, Dialup, Satellite; lower-cased).
//! - `enrichment.geoip_isp_mmdb_path`: an ISP database (`isp`) or an ASN database
//!   (`autonomous_system_organization`: GeoLite2-ASN, ip-location-db's `asn`).
//!
//! A database that is not configured leaves its attributes missing (rules on them do not match,
//! and `riskgate rules check --config` says so); a configured one answers for every payment, an
//! address it does not list reading as "not anonymous", no state, no ISP.

use std::{net::IpAddr, path::Path};

use serde::Deserialize;

use super::geoip::{GeoIp, GeoIpError};
use crate::config::EnrichmentConfig;
use riskgate_core::{
    reference,
    signals::{AnonymousIp, GeoFacts},
};

/// The optional databases.
#[derive(Debug, Default)]
pub struct IpFactsDatabases {
    city: Option<GeoIp>,
    anonymous: Option<GeoIp>,
    connection_type: Option<GeoIp>,
    isp: Option<GeoIp>,
}

/// Why a database of [`IpFactsDatabases`] cannot be used: its config key and the error.
#[derive(Debug, thiserror::Error)]
#[error("enrichment.{key}: {source}")]
pub struct IpFactsError {
    pub key: &'static str,
    #[source]
    pub source: GeoIpError,
}

#[derive(Deserialize)]
struct Named<'a> {
    #[serde(borrow)]
    iso_code: Option<&'a str>,
}

#[derive(Deserialize)]
struct CityRecord<'a> {
    #[serde(borrow)]
    subdivisions: Option<Vec<Named<'a>>>,
    #[serde(borrow)]
    country: Option<Named<'a>>,
    // ip-location-db's layout.
    #[serde(borrow)]
    country_code: Option<&'a str>,
    #[serde(borrow)]
    state1: Option<&'a str>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct AnonymousRecord {
    is_public_proxy: bool,
    is_tor_exit_node: bool,
    is_anonymous_vpn: bool,
    is_hosting_provider: bool,
}

#[derive(Deserialize)]
struct ConnectionTypeRecord<'a> {
    #[serde(borrow)]
    connection_type: Option<&'a str>,
}

#[derive(Deserialize)]
struct IspRecord<'a> {
    #[serde(borrow)]
    isp: Option<&'a str>,
    #[serde(borrow)]
    autonomous_system_organization: Option<&'a str>,
}

impl IpFactsDatabases {
    /// Opens the configured databases.
    pub fn from_config(config: &EnrichmentConfig) -> Result<Self, IpFactsError> {
        let open = |key: &'static str, path: &Option<std::path::PathBuf>| {
            path.as_deref()
                .map(|p: &Path| GeoIp::open(p))
                .transpose()
                .map_err(|source| IpFactsError { key, source })
        };
        Ok(Self {
            city: open("geoip_city_mmdb_path", &config.geoip_city_mmdb_path)?,
            anonymous: open(
                "geoip_anonymous_ip_mmdb_path",
                &config.geoip_anonymous_ip_mmdb_path,
            )?,
            connection_type: open(
                "geoip_connection_type_mmdb_path",
                &config.geoip_connection_type_mmdb_path,
            )?,
            isp: open("geoip_isp_mmdb_path", &config.geoip_isp_mmdb_path)?,
        })
    }

    /// Databases from their bytes (tests).
    pub fn from_databases(
        city: Option<GeoIp>,
        anonymous: Option<GeoIp>,
        connection_type: Option<GeoIp>,
        isp: Option<GeoIp>,
    ) -> Self {
        Self {
            city,
            anonymous,
            connection_type,
            isp,
        }
    }

    /// The country of `ip` from the City database.
    pub fn country(&self, ip: IpAddr) -> Option<String> {
        let r: CityRecord<'_> = self.city.as_ref()?.record(ip)?;
        let code = r
            .country
            .and_then(|c| c.iso_code)
            .or(r.country_code)?
            .to_ascii_uppercase();
        reference::is_country(&code).then_some(code)
    }

    /// What the configured databases know of `ip` (`None`: the payment has no IP address).
    pub fn facts(&self, ip: Option<IpAddr>) -> GeoFacts {
        GeoFacts {
            state: self.city.as_ref().map(|db| ip.and_then(|ip| state(db, ip))),
            anonymous: self.anonymous.as_ref().map(|db| {
                let r: AnonymousRecord = ip.and_then(|ip| db.record(ip)).unwrap_or_default();
                AnonymousIp {
                    public_proxy: r.is_public_proxy,
                    tor_exit_node: r.is_tor_exit_node,
                    vpn: r.is_anonymous_vpn,
                    hosting_provider: r.is_hosting_provider,
                }
            }),
            connection_type: self.connection_type.as_ref().map(|db| {
                ip.and_then(|ip| db.record::<ConnectionTypeRecord<'_>>(ip))
                    .and_then(|r| r.connection_type)
                    .map(str::to_ascii_lowercase)
            }),
            isp: self.isp.as_ref().map(|db| {
                ip.and_then(|ip| db.record::<IspRecord<'_>>(ip))
                    .and_then(|r| r.isp.or(r.autonomous_system_organization))
                    .map(str::to_owned)
            }),
        }
    }
}

/// The subdivision code of `ip`: MaxMind's `subdivisions[0].iso_code`, or ip-location-db's
/// `state1` name turned into its code.
fn state(db: &GeoIp, ip: IpAddr) -> Option<String> {
    let r: CityRecord<'_> = db.record(ip)?;
    let code = match r.subdivisions.as_ref().and_then(|s| s.first()) {
        Some(sub) => sub.iso_code.map(str::to_owned),
        None => {
            let country = r.country.and_then(|c| c.iso_code).or(r.country_code)?;
            subdivision_code(country, r.state1?).map(str::to_owned)
        }
    }?;
    let code = code.to_ascii_uppercase();
    riskgate_core::rules::types::is_state_code(&code).then_some(code)
}

/// ISO 3166-2 subdivision codes (without the country) by English name, for the countries whose
/// states rules name most: the United States (states, DC, territories), Canada, Australia.
const SUBDIVISIONS: &[(&str, &[(&str, &str)])] = &[
    (
        "US",
        &[
            ("Alabama", "AL"),
            ("Alaska", "AK"),
            ("Arizona", "AZ"),
            ("Arkansas", "AR"),
            ("California", "CA"),
            ("Colorado", "CO"),
            ("Connecticut", "CT"),
            ("Delaware", "DE"),
            ("District of Columbia", "DC"),
            ("Florida", "FL"),
            ("Georgia", "GA"),
            ("Hawaii", "HI"),
            ("Idaho", "ID"),
            ("Illinois", "IL"),
            ("Indiana", "IN"),
            ("Iowa", "IA"),
            ("Kansas", "KS"),
            ("Kentucky", "KY"),
            ("Louisiana", "LA"),
            ("Maine", "ME"),
            ("Maryland", "MD"),
            ("Massachusetts", "MA"),
            ("Michigan", "MI"),
            ("Minnesota", "MN"),
            ("Mississippi", "MS"),
            ("Missouri", "MO"),
            ("Montana", "MT"),
            ("Nebraska", "NE"),
            ("Nevada", "NV"),
            ("New Hampshire", "NH"),
            ("New Jersey", "NJ"),
            ("New Mexico", "NM"),
            ("New York", "NY"),
            ("North Carolina", "NC"),
            ("North Dakota", "ND"),
            ("Ohio", "OH"),
            ("Oklahoma", "OK"),
            ("Oregon", "OR"),
            ("Pennsylvania", "PA"),
            ("Rhode Island", "RI"),
            ("South Carolina", "SC"),
            ("South Dakota", "SD"),
            ("Tennessee", "TN"),
            ("Texas", "TX"),
            ("Utah", "UT"),
            ("Vermont", "VT"),
            ("Virginia", "VA"),
            ("Washington", "WA"),
            ("West Virginia", "WV"),
            ("Wisconsin", "WI"),
            ("Wyoming", "WY"),
            ("American Samoa", "AS"),
            ("Guam", "GU"),
            ("Northern Mariana Islands", "MP"),
            ("Puerto Rico", "PR"),
            ("U.S. Virgin Islands", "VI"),
        ],
    ),
    (
        "CA",
        &[
            ("Alberta", "AB"),
            ("British Columbia", "BC"),
            ("Manitoba", "MB"),
            ("New Brunswick", "NB"),
            ("Newfoundland and Labrador", "NL"),
            ("Northwest Territories", "NT"),
            ("Nova Scotia", "NS"),
            ("Nunavut", "NU"),
            ("Ontario", "ON"),
            ("Prince Edward Island", "PE"),
            ("Quebec", "QC"),
            ("Saskatchewan", "SK"),
            ("Yukon", "YT"),
        ],
    ),
    (
        "AU",
        &[
            ("Australian Capital Territory", "ACT"),
            ("New South Wales", "NSW"),
            ("Northern Territory", "NT"),
            ("Queensland", "QLD"),
            ("South Australia", "SA"),
            ("Tasmania", "TAS"),
            ("Victoria", "VIC"),
            ("Western Australia", "WA"),
        ],
    ),
];

/// The subdivision code of a state named `name` in `country`, if the table has it.
pub fn subdivision_code(country: &str, name: &str) -> Option<&'static str> {
    let (_, states) = SUBDIVISIONS
        .iter()
        .find(|(c, _)| c.eq_ignore_ascii_case(country))?;
    let name = name.trim();
    states
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, code)| *code)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::enrich::geoip::mmdb::{self, Value};

    fn db(records: &[(&str, u8, Value)]) -> GeoIp {
        let nets: Vec<_> = records
            .iter()
            .map(|(net, len, v)| (net.parse().unwrap(), *len, v.clone()))
            .collect();
        GeoIp::from_bytes(mmdb::database(&nets)).unwrap()
    }

    #[test]
    fn reads_each_layout() {
        use Value::*;
        let city = db(&[
            (
                "198.51.100.0",
                24,
                Map(vec![
                    ("country", Map(vec![("iso_code", Str("US".into()))])),
                    (
                        "subdivisions",
                        Array(vec![Map(vec![("iso_code", Str("CA".into()))])]),
                    ),
                ]),
            ),
            (
                "203.0.113.0",
                24,
                Map(vec![
                    ("country_code", Str("CA".into())),
                    ("state1", Str("Quebec".into())),
                ]),
            ),
            (
                "192.0.2.0",
                24,
                Map(vec![
                    ("country_code", Str("FR".into())),
                    ("state1", Str("Île-de-France".into())),
                ]),
            ),
        ]);
        let anon = db(&[(
            "198.51.100.0",
            25,
            Map(vec![
                ("is_anonymous", Bool(true)),
                ("is_tor_exit_node", Bool(true)),
            ]),
        )]);
        let conn = db(&[(
            "198.51.100.0",
            24,
            Map(vec![("connection_type", Str("Cable/DSL".into()))]),
        )]);
        let isp = db(&[(
            "198.51.100.0",
            24,
            Map(vec![
                ("autonomous_system_number", Uint(64_500)),
                ("autonomous_system_organization", Str("Example Net".into())),
            ]),
        )]);
        let dbs = IpFactsDatabases::from_databases(Some(city), Some(anon), Some(conn), Some(isp));
        let f = dbs.facts(Some("198.51.100.7".parse().unwrap()));
        assert_eq!(f.state, Some(Some("CA".into())));
        assert_eq!(
            f.anonymous,
            Some(AnonymousIp {
                tor_exit_node: true,
                ..Default::default()
            })
        );
        assert_eq!(f.connection_type, Some(Some("cable/dsl".into())));
        assert_eq!(f.isp, Some(Some("Example Net".into())));
        assert_eq!(
            dbs.country("198.51.100.7".parse().unwrap()).as_deref(),
            Some("US")
        );

        let f = dbs.facts(Some("203.0.113.9".parse().unwrap()));
        assert_eq!(f.state, Some(Some("QC".into())));
        assert_eq!(f.anonymous, Some(AnonymousIp::default()));
        assert_eq!(f.isp, Some(None));
        let f = dbs.facts(Some("192.0.2.1".parse().unwrap()));
        assert_eq!(
            f.state,
            Some(None),
            "a name outside the table gives no state"
        );
        let f = dbs.facts(None);
        assert_eq!(f.anonymous, Some(AnonymousIp::default()));
        assert_eq!(f.state, Some(None));

        let none = IpFactsDatabases::default().facts(Some("198.51.100.7".parse().unwrap()));
        assert_eq!(none, GeoFacts::default());
    }

    #[test]
    fn state_names_to_codes() {
        assert_eq!(subdivision_code("US", "california"), Some("CA"));
        assert_eq!(subdivision_code("us", "District of Columbia"), Some("DC"));
        assert_eq!(subdivision_code("AU", "Victoria"), Some("VIC"));
        assert_eq!(subdivision_code("FR", "Bretagne"), None);
    }
}
