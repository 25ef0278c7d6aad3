//! The attribute catalog: every fact about a payment that rules, the model and the answer can see,
//! named as Stripe Radar names it (`amount_in_usd`, `card_country`, `ip_address` …). Attributes that
//! Radar has no name for are riskgate extensions and say so in their description.
//!
//! An [`Attributes`] set is a fixed array indexed by [`Attr`], filled once per evaluation; reading an
//! attribute is an index, and a missing attribute is `None` (Radar: any comparison with it is false).

mod catalog;
pub mod derive;
pub mod extract;
pub mod outcomes;
pub mod radar;
pub mod scratch;
pub mod windows;

pub use catalog::Attr;
pub use scratch::{Pieces, Scratch};
use std::{borrow::Cow, collections::BTreeMap};

/// The type of an attribute's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Number,
    Text,
    Bool,
}

/// One attribute value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value<'a> {
    Number(f64),
    Text(Cow<'a, str>),
    Bool(bool),
}

impl Value<'_> {
    /// The number, if this is a number.
    pub fn as_number(&self) -> Option<f64> {
        match self {
            Value::Number(n) => Some(*n),
            _ => None,
        }
    }

    /// The text, if this is text.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Value::Text(t) => Some(t),
            _ => None,
        }
    }

    /// The flag, if this is a boolean.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }
}

/// Whose metadata a rule's `::key::` reads: the payment's (`::key::`), or, as in Radar, the
/// Customer object's (`::customer:key::`), the destination account's (`::destination:key::`) or the
/// connected account's (`::account:key::`), which the request carries in
/// `customer_details.metadata`, `payment_details.transfer_data.destination_metadata` and
/// `account_details.metadata`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MetadataScope {
    Payment,
    Customer,
    Destination,
    Account,
}

impl MetadataScope {
    pub const ALL: [MetadataScope; 4] = [
        MetadataScope::Payment,
        MetadataScope::Customer,
        MetadataScope::Destination,
        MetadataScope::Account,
    ];

    /// The namespace written before the key (`customer` in `::customer:key::`); none for the
    /// payment's own metadata.
    pub const fn prefix(self) -> Option<&'static str> {
        match self {
            MetadataScope::Payment => None,
            MetadataScope::Customer => Some("customer"),
            MetadataScope::Destination => Some("destination"),
            MetadataScope::Account => Some("account"),
        }
    }
}

/// The attributes of one evaluation.
#[derive(Debug, Clone)]
pub struct Attributes<'a> {
    values: [Option<Value<'a>>; Attr::COUNT],
    /// Metadata maps by [`MetadataScope`], which rules read as `::key::`, `::customer:key::` …
    metadata: [Option<&'a BTreeMap<String, String>>; 4],
    /// Where texts built from parts are kept ([`Attributes::set_joined`]).
    scratch: Scratch<'a>,
}

impl Default for Attributes<'_> {
    fn default() -> Self {
        Self {
            values: std::array::from_fn(|_| None),
            metadata: [None; 4],
            scratch: Scratch::none(),
        }
    }
}

/// Bytes of scratch that hold the texts an ordinary payment builds (a browser and an operating
/// system of ~20 bytes each, two addresses of up to ~150).
pub const SCRATCH_BYTES: usize = 384;

impl<'a> Attributes<'a> {
    /// An empty set whose texts built from parts are cut from `scratch` (then allocated only when
    /// it is full): with it an evaluation allocates nothing.
    pub fn with_scratch(scratch: &'a mut [u8]) -> Self {
        Self {
            scratch: Scratch::new(scratch),
            ..Self::default()
        }
    }

    /// The value of `attr`, if known.
    #[inline]
    pub fn get(&self, attr: Attr) -> Option<&Value<'a>> {
        self.values[attr as usize].as_ref()
    }

    /// A numeric attribute.
    #[inline]
    pub fn number(&self, attr: Attr) -> Option<f64> {
        self.get(attr).and_then(Value::as_number)
    }

    /// A text attribute.
    #[inline]
    pub fn text(&self, attr: Attr) -> Option<&str> {
        self.get(attr).and_then(Value::as_text)
    }

    /// A boolean attribute.
    #[inline]
    pub fn flag(&self, attr: Attr) -> Option<bool> {
        self.get(attr).and_then(Value::as_bool)
    }

    /// Sets `attr`; `debug_assert`s that the value has the attribute's kind.
    pub fn set(&mut self, attr: Attr, value: Value<'a>) {
        debug_assert_eq!(
            attr.kind(),
            match value {
                Value::Number(_) => Kind::Number,
                Value::Text(_) => Kind::Text,
                Value::Bool(_) => Kind::Bool,
            },
            "{}",
            attr.name()
        );
        self.values[attr as usize] = Some(value);
    }

    /// Sets a numeric attribute when `value` is known.
    pub fn set_number(&mut self, attr: Attr, value: Option<f64>) {
        if let Some(v) = value {
            self.set(attr, Value::Number(v));
        }
    }

    /// Sets a text attribute when `value` is known.
    pub fn set_text(&mut self, attr: Attr, value: Option<impl Into<Cow<'a, str>>>) {
        if let Some(v) = value {
            self.set(attr, Value::Text(v.into()));
        }
    }

    /// Sets a text attribute to `pieces` joined (nothing when they are empty): kept in the set's
    /// scratch while it has room, else allocated.
    pub fn set_joined(&mut self, attr: Attr, pieces: &Pieces<'_>) {
        if pieces.is_empty() {
            return;
        }
        let text = match self.scratch.join(pieces) {
            Some(t) => Cow::Borrowed(t),
            None => Cow::Owned(pieces.concat()),
        };
        self.set(attr, Value::Text(text));
    }

    /// Sets a boolean attribute when `value` is known.
    pub fn set_flag(&mut self, attr: Attr, value: Option<bool>) {
        if let Some(v) = value {
            self.set(attr, Value::Bool(v));
        }
    }

    /// Attaches the request's metadata (read by rules as `::key::`).
    pub fn set_metadata(&mut self, metadata: &'a BTreeMap<String, String>) {
        self.metadata[MetadataScope::Payment as usize] = Some(metadata);
    }

    /// A metadata value of the request.
    #[inline]
    pub fn metadata(&self, key: &str) -> Option<&str> {
        self.scoped_metadata(MetadataScope::Payment, key)
    }

    /// Attaches the metadata of `scope` (the customer's, the destination's, the account's).
    pub fn set_scoped_metadata(
        &mut self,
        scope: MetadataScope,
        metadata: Option<&'a BTreeMap<String, String>>,
    ) {
        self.metadata[scope as usize] = metadata;
    }

    /// A metadata value of `scope`; missing when the request has no such map or key.
    #[inline]
    pub fn scoped_metadata(&self, scope: MetadataScope, key: &str) -> Option<&str> {
        self.metadata[scope as usize]?.get(key).map(String::as_str)
    }

    /// The known attributes, in catalog order.
    pub fn iter(&self) -> impl Iterator<Item = (Attr, &Value<'a>)> {
        Attr::ALL
            .iter()
            .filter_map(|&a| self.get(a).map(|v| (a, v)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_snake_case() {
        let mut names: Vec<_> = Attr::ALL.iter().map(|a| a.name()).collect();
        assert!(names.iter().all(|n| {
            n.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        }));
        names.sort();
        names.dedup();
        assert_eq!(names.len(), Attr::COUNT);
    }

    #[test]
    fn missing_until_set() {
        let mut a = Attributes::default();
        assert_eq!(a.number(Attr::AmountInUsd), None);
        a.set_number(Attr::AmountInUsd, Some(12.5));
        a.set_text(Attr::Currency, Some("usd"));
        a.set_flag(Attr::IsOffSession, None);
        assert_eq!(a.number(Attr::AmountInUsd), Some(12.5));
        assert_eq!(a.text(Attr::Currency), Some("usd"));
        assert_eq!(a.flag(Attr::IsOffSession), None);
        assert_eq!(a.text(Attr::AmountInUsd), None);
        assert_eq!(a.iter().count(), 2);
    }
}
