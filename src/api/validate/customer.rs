//! `customer_details`: who pays.

use crate::proto::v1 as pb;

use super::{
    check::{Checker, IdRule, Path},
    formats::MAX_NAME,
};

/// The path of the message.
pub(super) const CUSTOMER: &str = "customer_details";

const CUSTOMER_ID: IdRule = IdRule {
    prefix: "cus_",
    underscore: false,
    what: "a customer id",
};
const ACCOUNT_ID: IdRule = IdRule {
    prefix: "acct_",
    underscore: false,
    what: "an account id",
};

/// The customer fields of a valid request.
pub(super) struct CustomerFields<'a> {
    pub(super) customer: Option<&'a str>,
    pub(super) customer_account: Option<&'a str>,
    pub(super) email: Option<&'a str>,
    pub(super) name: Option<&'a str>,
    pub(super) phone: Option<&'a str>,
}

impl Checker {
    pub(super) fn customer_details<'a>(
        &mut self,
        d: Option<&'a pb::CustomerDetails>,
    ) -> Option<CustomerFields<'a>> {
        let Some(d) = d else {
            self.violation(
                Path::Field("", CUSTOMER),
                "required (its fields may all be empty)",
            );
            return None;
        };
        Some(CustomerFields {
            customer: self.id(Path::Field(CUSTOMER, "customer"), &d.customer, &CUSTOMER_ID),
            customer_account: self.id(
                Path::Field(CUSTOMER, "customer_account"),
                &d.customer_account,
                &ACCOUNT_ID,
            ),
            email: self.email(Path::Field(CUSTOMER, "email"), &d.email),
            name: self.text(Path::Field(CUSTOMER, "name"), &d.name, MAX_NAME),
            phone: self.phone(Path::Field(CUSTOMER, "phone"), &d.phone),
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::api::validate::{fixtures::*, payment_evaluation};

    #[test]
    fn customer_ids() {
        let mut req = valid();
        customer(&mut req).customer = "cust_123".into();
        customer(&mut req).customer_account = "acct_12_3".into();
        assert_eq!(
            fields(&req),
            [
                "customer_details.customer",
                "customer_details.customer_account"
            ]
        );

        customer(&mut req).customer = "cus_".into();
        customer(&mut req).customer_account = format!("acct_{}", "a".repeat(251));
        assert_eq!(
            fields(&req),
            [
                "customer_details.customer",
                "customer_details.customer_account"
            ]
        );

        customer(&mut req).customer = format!("cus_{}", "a".repeat(250));
        customer(&mut req).customer_account = "acct_x".into();
        assert!(payment_evaluation(&req).is_ok());
    }
}
