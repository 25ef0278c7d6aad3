//! A minimal MaxMind DB (MMDB v2) writer for tests: an IPv4 database whose networks map to records
//! of any shape ([`Value`]): `{"country_code": "XX"}` (the CC0 `geo-whois-asn-country` layout,
//! [`country_db`]), MaxMind's City, Anonymous IP, Connection-Type and ASN layouts, ip-location-db's
//! City layout. Shared by unit tests (`src/enrich/geoip.rs` includes it by path) and integration
//! tests.

#![allow(dead_code)]

use std::net::Ipv4Addr;

/// A value of the MMDB data section.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Str(String),
    Uint(u64),
    Bool(bool),
    Double(f64),
    Map(Vec<(&'static str, Value)>),
    Array(Vec<Value>),
}

#[derive(Clone, Copy)]
enum Rec {
    Empty,
    Node(usize),
    Data(usize),
}

/// A control byte (and the extended-type and size bytes after it).
fn control(out: &mut Vec<u8>, ty: u8, size: usize) {
    let (head, extra): (u8, Vec<u8>) = match size {
        0..=28 => (size as u8, vec![]),
        29..=284 => (29, vec![(size - 29) as u8]),
        285..=65_820 => (30, ((size - 285) as u16).to_be_bytes().to_vec()),
        _ => panic!("the test writer only writes values up to 65,820 bytes"),
    };
    if ty <= 7 {
        out.push((ty << 5) | head);
    } else {
        out.push(head);
        out.push(ty - 7);
    }
    out.extend_from_slice(&extra);
}

fn string(out: &mut Vec<u8>, s: &str) {
    control(out, 2, s.len());
    out.extend_from_slice(s.as_bytes());
}

fn uint(out: &mut Vec<u8>, ty: u8, v: u64) {
    let bytes = v.to_be_bytes();
    let skip = bytes.iter().take_while(|b| **b == 0).count();
    control(out, ty, 8 - skip);
    out.extend_from_slice(&bytes[skip..]);
}

fn value(out: &mut Vec<u8>, v: &Value) {
    match v {
        Value::Str(s) => string(out, s),
        Value::Uint(n) => uint(out, 9, *n),
        Value::Bool(b) => control(out, 14, usize::from(*b)),
        Value::Double(d) => {
            control(out, 3, 8);
            out.extend_from_slice(&d.to_be_bytes());
        }
        Value::Map(entries) => {
            control(out, 7, entries.len());
            for (k, v) in entries {
                string(out, k);
                value(out, v);
            }
        }
        Value::Array(items) => {
            control(out, 11, items.len());
            for v in items {
                value(out, v);
            }
        }
    }
}

/// An MMDB file mapping each `(network, prefix length)` to its country code.
pub fn country_db(networks: &[(Ipv4Addr, u8, &str)]) -> Vec<u8> {
    let records: Vec<_> = networks
        .iter()
        .map(|(net, len, country)| {
            (
                *net,
                *len,
                Value::Map(vec![("country_code", Value::Str((*country).to_owned()))]),
            )
        })
        .collect();
    database(&records)
}

/// An MMDB file mapping each `(network, prefix length)` to its record.
pub fn database(networks: &[(Ipv4Addr, u8, Value)]) -> Vec<u8> {
    let mut data = Vec::new();
    let mut nodes: Vec<[Rec; 2]> = vec![[Rec::Empty, Rec::Empty]];
    for (net, len, record) in networks {
        let offset = data.len();
        value(&mut data, record);
        let bits = u32::from(*net);
        let mut node = 0;
        for depth in 0..*len {
            let bit = ((bits >> (31 - depth)) & 1) as usize;
            if depth + 1 == *len {
                nodes[node][bit] = Rec::Data(offset);
                break;
            }
            node = match nodes[node][bit] {
                Rec::Node(n) => n,
                _ => {
                    nodes.push([Rec::Empty, Rec::Empty]);
                    let n = nodes.len() - 1;
                    nodes[node][bit] = Rec::Node(n);
                    n
                }
            };
        }
    }
    let count = nodes.len();
    let mut out = Vec::new();
    for node in &nodes {
        for rec in node {
            let v = match rec {
                Rec::Empty => count,
                Rec::Node(n) => *n,
                Rec::Data(off) => count + 16 + off,
            } as u32;
            out.extend_from_slice(&v.to_be_bytes()[1..]);
        }
    }
    out.extend_from_slice(&[0; 16]);
    out.extend_from_slice(&data);
    out.extend_from_slice(b"\xAB\xCD\xEFMaxMind.com");
    control(&mut out, 7, 9);
    string(&mut out, "node_count");
    uint(&mut out, 6, count as u64);
    string(&mut out, "record_size");
    uint(&mut out, 5, 24);
    string(&mut out, "ip_version");
    uint(&mut out, 5, 4);
    string(&mut out, "database_type");
    string(&mut out, "riskgate-test");
    string(&mut out, "languages");
    control(&mut out, 11, 0);
    string(&mut out, "binary_format_major_version");
    uint(&mut out, 5, 2);
    string(&mut out, "binary_format_minor_version");
    uint(&mut out, 5, 0);
    string(&mut out, "build_epoch");
    uint(&mut out, 9, 1_795_219_200);
    string(&mut out, "description");
    control(&mut out, 7, 0);
    out
}
