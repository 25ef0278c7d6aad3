//! Every attribute Stripe Radar documents, and what riskgate does with it (`radar_attributes.tsv`):
//! in the catalog, the same value under another name, always missing on card payments, not computed
//! yet (refused, saying what it needs), or not applicable before authorization (refused, saying
//! why and what to write instead). The compiler reads it for names the catalog does not have, and
//! `docs/attributes.md` shows it.

use std::{collections::HashMap, sync::OnceLock};

use super::types::{RuleType, rule_type_of_stripe};

/// The table, as committed.
const TABLE: &str = include_str!("radar_attributes.tsv");

/// What riskgate does with a Radar attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// A catalog attribute of the same name; the text notes where riskgate's value differs from
    /// Radar's (empty when it does not).
    Catalog(&'static str),
    /// The same value as the catalog attribute named here.
    Alias(&'static str),
    /// Loads; always missing, because riskgate evaluates card payments.
    CardOnly(&'static str),
    /// Written another way (the text says how).
    Special(&'static str),
    /// Refused at load: not computed yet (the text says what it needs).
    Planned(&'static str),
    /// Refused at load: cannot apply before authorization in riskgate (why, and what instead).
    Refused(&'static str),
}

/// One attribute of Stripe's supported-attributes page.
#[derive(Debug, Clone, Copy)]
pub struct RadarAttribute {
    /// The section of Stripe's page it is listed under.
    pub section: &'static str,
    pub name: &'static str,
    /// Stripe's type, as printed ("Case-insensitive string").
    pub stripe_type: &'static str,
    /// The research memo's class: A request, B request field riskgate added, C GeoIP, D riskgate's
    /// state, E Stripe-only.
    pub class: &'static str,
    pub status: Status,
}

impl RadarAttribute {
    /// The rule type Stripe gives it.
    pub fn rule_type(&self) -> RuleType {
        rule_type_of_stripe(self.stripe_type)
    }
}

/// Every Radar attribute, in the order of Stripe's page.
pub fn radar_attributes() -> &'static [RadarAttribute] {
    static ALL: OnceLock<Vec<RadarAttribute>> = OnceLock::new();
    ALL.get_or_init(|| {
        TABLE
            .lines()
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(|l| {
                let f: Vec<&'static str> = l.split('\t').collect();
                assert!(
                    f.len() == 6,
                    "radar_attributes.tsv: 6 columns expected: {l}"
                );
                let detail = f[5];
                let status = match f[4] {
                    "catalog" => Status::Catalog(detail),
                    "alias" => Status::Alias(detail),
                    "card_only" => Status::CardOnly(detail),
                    "special" => Status::Special(detail),
                    "planned" => Status::Planned(detail),
                    "refused" => Status::Refused(detail),
                    other => panic!("radar_attributes.tsv: unknown status `{other}`: {l}"),
                };
                RadarAttribute {
                    section: f[0],
                    name: f[1],
                    stripe_type: f[2],
                    class: f[3],
                    status,
                }
            })
            .collect()
    })
}

/// The Radar attribute named `name`, if Stripe documents one.
pub fn radar_attribute(name: &str) -> Option<&'static RadarAttribute> {
    static BY_NAME: OnceLock<HashMap<&'static str, usize>> = OnceLock::new();
    let all = radar_attributes();
    let by_name =
        BY_NAME.get_or_init(|| all.iter().enumerate().map(|(i, a)| (a.name, i)).collect());
    by_name.get(name).map(|&i| &all[i])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{attributes::Attr, rules::compile::attr_by_name};

    #[test]
    fn table_and_catalog_agree() {
        let all = radar_attributes();
        // 471 names on Stripe's page + 3 risk-settings scores.
        assert_eq!(all.len(), 474);
        for a in all {
            match a.status {
                Status::Catalog(_) => assert!(
                    attr_by_name(a.name).is_some(),
                    "{} is marked catalog but the catalog lacks it",
                    a.name
                ),
                Status::Alias(target) => {
                    assert!(
                        attr_by_name(a.name).is_none(),
                        "{} is in the catalog",
                        a.name
                    );
                    let t = attr_by_name(target)
                        .unwrap_or_else(|| panic!("{}: alias of unknown {target}", a.name));
                    assert_eq!(
                        crate::rules::types::rule_type(t) == RuleType::Number,
                        a.rule_type() == RuleType::Number,
                        "{}: alias of another type",
                        a.name
                    );
                }
                // An attribute added to the catalog must be marked so here.
                _ => assert!(
                    attr_by_name(a.name).is_none(),
                    "{} is in the catalog now: mark it `catalog` in radar_attributes.tsv",
                    a.name
                ),
            }
        }
        assert!(radar_attribute("ip_state").is_some());
        assert!(radar_attribute("nope").is_none());
        // Every catalog attribute Stripe does not name says it is riskgate's own.
        for a in Attr::ALL {
            if radar_attribute(a.name()).is_none() && !a.name().starts_with("amount_in_") {
                assert!(
                    a.description().contains("riskgate extension"),
                    "{} is not a Radar attribute; its description must say `riskgate extension`",
                    a.name()
                );
            }
        }
    }
}
