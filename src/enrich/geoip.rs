//! IP address → country, from a MaxMind DB file (`enrichment.geoip_mmdb_path`). Reads both the
//! layout of the CC0 `geo-whois-asn-country` database (`country_code`) and GeoIP2/GeoLite2 Country
//! (`country.iso_code`). The file is read into memory once at start-up.

use std::{net::IpAddr, path::Path};

use serde::Deserialize;

use riskgate_core::reference;

#[derive(Deserialize)]
struct Country<'a> {
    #[serde(borrow)]
    iso_code: Option<&'a str>,
}

#[derive(Deserialize)]
struct Record<'a> {
    #[serde(borrow)]
    country_code: Option<&'a str>,
    #[serde(borrow)]
    country: Option<Country<'a>>,
}

/// A country database.
pub struct GeoIp {
    reader: maxminddb::Reader<Vec<u8>>,
}

impl std::fmt::Debug for GeoIp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GeoIp")
            .field("database_type", &self.reader.metadata().database_type)
            .finish()
    }
}

/// A country database that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum GeoIpError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}not a MaxMind DB file: {message}")]
    Format { path: String, message: String },
}

impl GeoIp {
    /// Opens an MMDB file.
    pub fn open(path: &Path) -> Result<Self, GeoIpError> {
        let bytes = std::fs::read(path).map_err(|source| GeoIpError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_bytes(bytes).map_err(|e| match e {
            GeoIpError::Format { message, .. } => GeoIpError::Format {
                path: format!("{}: ", path.display()),
                message,
            },
            other => other,
        })
    }

    /// A database from the bytes of an MMDB file.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Self, GeoIpError> {
        let reader = maxminddb::Reader::from_source(bytes).map_err(|e| GeoIpError::Format {
            path: String::new(),
            message: e.to_string(),
        })?;
        Ok(Self { reader })
    }

    /// The record of `ip` in the database's own layout, if it has one that decodes as `T`.
    pub fn record<'d, T: Deserialize<'d>>(&'d self, ip: IpAddr) -> Option<T> {
        self.reader.lookup(ip).ok()?.decode().ok()?
    }

    /// The ISO 3166-1 alpha-2 country of `ip`, if the database knows it.
    pub fn country(&self, ip: IpAddr) -> Option<String> {
        let found = self.reader.lookup(ip).ok()?;
        let record: Record<'_> = found.decode().ok()??;
        let code = record
            .country_code
            .or(record.country.and_then(|c| c.iso_code))?;
        let code = code.to_ascii_uppercase();
        reference::is_country(&code).then_some(code)
    }
}

#[cfg(test)]
#[path = "../../crates/riskgate-testkit/src/mmdb.rs"]
pub(crate) mod mmdb;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn looks_up_countries_in_a_written_database() {
        let db = mmdb::country_db(&[
            ("198.51.100.0".parse().unwrap(), 24, "NG"),
            ("203.0.113.0".parse().unwrap(), 25, "fr"),
        ]);
        let geo = GeoIp::from_bytes(db).unwrap();
        assert_eq!(
            geo.country("198.51.100.77".parse().unwrap()).as_deref(),
            Some("NG")
        );
        assert_eq!(
            geo.country("203.0.113.5".parse().unwrap()).as_deref(),
            Some("FR")
        );
        assert_eq!(geo.country("203.0.113.200".parse().unwrap()), None);
        assert_eq!(geo.country("192.0.2.1".parse().unwrap()), None);
    }

    #[test]
    fn refuses_other_files() {
        assert!(GeoIp::from_bytes(b"not a database".to_vec()).is_err());
    }
}
