//! Postal addresses, of the billing details and of the shipping details.

use riskgate_core::input::Address;

use super::check::{Checker, Path};
use crate::proto::v1 as pb;

/// Stripe's length limits, in characters.
const MAX_CITY: usize = 200;
const MAX_LINE: usize = 200;
const MAX_POSTAL_CODE: usize = 20;
const MAX_STATE: usize = 100;

impl Checker {
    pub(super) fn address<'a>(
        &mut self,
        parent: &str,
        a: Option<&'a pb::Address>,
    ) -> Option<Address<'a>> {
        let a = a?;
        Some(Address {
            city: self.text(Path::Field(parent, "city"), &a.city, MAX_CITY),
            country: self.country(Path::Field(parent, "country"), &a.country),
            line1: self.text(Path::Field(parent, "line1"), &a.line1, MAX_LINE),
            line2: self.text(Path::Field(parent, "line2"), &a.line2, MAX_LINE),
            postal_code: self.text(
                Path::Field(parent, "postal_code"),
                &a.postal_code,
                MAX_POSTAL_CODE,
            ),
            state: self.text(Path::Field(parent, "state"), &a.state, MAX_STATE),
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::api::validate::fixtures::*;

    #[test]
    fn address_lengths() {
        let mut req = valid();
        let a = billing(&mut req).address.as_mut().unwrap();
        a.city = "c".repeat(201);
        a.line1 = "l".repeat(201);
        a.line2 = "l".repeat(201);
        a.postal_code = "9".repeat(21);
        a.state = "s".repeat(101);
        let prefix = "payment_details.payment_method_details.billing_details.address";
        assert_eq!(
            fields(&req),
            ["city", "line1", "line2", "postal_code", "state"].map(|f| format!("{prefix}.{f}"))
        );
    }
}
