//! Assembly: a [`Payment`] being put together by a traffic pattern becomes a labelled [`Event`]
//! carrying a `CreatePaymentEvaluationRequest`, with its [`Outcome`].

use riskgate::proto::v1::{
    self as pb, CreatePaymentEvaluationRequest, CustomerPresence as PbPresence, MoneyMovementType,
    PaymentType as PbPaymentType,
};

use super::{
    event::{Event, Label, Outcome, OutcomeKind, Pattern},
    identity::{Addr, Card},
    random::Gen,
};

/// A request being put together.
#[derive(Default)]
pub(super) struct Payment {
    pub(super) customer: Option<String>,
    pub(super) email: Option<String>,
    pub(super) name: Option<String>,
    pub(super) phone: Option<String>,
    pub(super) amount: i64,
    pub(super) currency: String,
    pub(super) description: Option<String>,
    pub(super) card: Option<Card>,
    pub(super) wallet: Option<&'static str>,
    pub(super) billing: Option<Addr>,
    pub(super) shipping: Option<Addr>,
    pub(super) presence: Option<PbPresence>,
    pub(super) payment_type: Option<PbPaymentType>,
    pub(super) radar_session: bool,
    pub(super) ip: Option<String>,
    pub(super) user_agent: Option<&'static str>,
    pub(super) time_on_page_ms: Option<u64>,
    pub(super) pasted: Vec<&'static str>,
}

impl Gen {
    pub(super) fn minor(&mut self, major: f64) -> i64 {
        (major * 100.0).round().max(50.0) as i64
    }

    pub(super) fn outcome(kind: OutcomeKind, reason: Option<&str>, at: i64) -> Option<Outcome> {
        Some(Outcome {
            kind,
            reason: reason.map(str::to_owned),
            occurred_at: if kind == OutcomeKind::Authorized || kind == OutcomeKind::Declined {
                at + 1
            } else {
                at
            },
        })
    }

    pub(super) fn event(
        &mut self,
        at: i64,
        p: Payment,
        pattern: Pattern,
        outcome: Option<Outcome>,
    ) -> Event {
        let address = |a: &Addr| pb::Address {
            city: a.city.to_owned(),
            country: a.country.clone(),
            line1: a.line1.clone(),
            postal_code: a.postal.clone(),
            state: a.state.to_owned(),
            ..Default::default()
        };
        let card = p.card.as_ref().map(|c| pb::CardDetails {
            bin: c.bin.clone(),
            last4: c.last4.clone(),
            brand: c.brand.to_owned(),
            country: c.country.clone(),
            funding: c.funding.to_owned(),
            fingerprint: c.fingerprint.clone(),
            exp_month: c.exp_month,
            exp_year: c.exp_year,
            wallet: p.wallet.unwrap_or_default().to_owned(),
            three_d_secure_supported: Some(c.three_ds),
            ..Default::default()
        });
        let has_device = p.radar_session || p.ip.is_some() || p.user_agent.is_some();
        let request = CreatePaymentEvaluationRequest {
            customer_details: Some(pb::CustomerDetails {
                customer: p.customer.unwrap_or_default(),
                email: p.email.clone().unwrap_or_default(),
                name: p.name.clone().unwrap_or_default(),
                phone: p.phone.unwrap_or_default(),
                ..Default::default()
            }),
            payment_details: Some(pb::PaymentDetails {
                amount: p.amount,
                currency: p.currency,
                description: p.description.unwrap_or_default(),
                payment_method_details: Some(pb::PaymentMethodDetails {
                    payment_method: format!("pm_{}", self.token(14)),
                    billing_details: p.billing.as_ref().map(|a| pb::BillingDetails {
                        address: Some(address(a)),
                        email: p.email.clone().unwrap_or_default(),
                        name: p.name.clone().unwrap_or_default(),
                        ..Default::default()
                    }),
                    card,
                    ..Default::default()
                }),
                money_movement_details: (p.presence.is_some() || p.payment_type.is_some()).then(
                    || pb::MoneyMovementDetails {
                        money_movement_type: MoneyMovementType::Card as i32,
                        card: Some(pb::MoneyMovementCardDetails {
                            customer_presence: p.presence.map_or(0, |v| v as i32),
                            payment_type: p.payment_type.map_or(0, |v| v as i32),
                        }),
                    },
                ),
                shipping_details: p.shipping.as_ref().map(|a| pb::ShippingDetails {
                    address: Some(address(a)),
                    name: p.name.clone().unwrap_or_default(),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            client_device_metadata_details: has_device.then(|| pb::ClientDeviceMetadataDetails {
                radar_session: if p.radar_session {
                    format!("rse_{}", self.token(16))
                } else {
                    String::new()
                },
                ip: p.ip.unwrap_or_default(),
                user_agent: p.user_agent.unwrap_or_default().to_owned(),
                time_on_page_ms: p.time_on_page_ms,
                pasted_fields: p.pasted.iter().map(|s| (*s).to_owned()).collect(),
                ..Default::default()
            }),
            ..Default::default()
        };
        Event {
            occurred_at: at,
            request,
            label: Label {
                fraud: pattern != Pattern::Legitimate,
                pattern,
            },
            outcome,
        }
    }
}
