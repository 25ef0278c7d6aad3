//! Assembly: a [`Payment`] being put together by a traffic pattern becomes a labelled [`Event`]
//! carrying a `CreatePaymentEvaluationRequest`, the Radar Session recorded before it, and its
//! [`Outcome`]s.

use riskgate::proto::v1::{
    self as pb, CreatePaymentEvaluationRequest, CustomerPresence as PbPresence, MoneyMovementType,
    PaymentType as PbPaymentType,
};

use super::{
    event::{Event, Label, Outcome, OutcomeKind, Pattern},
    identity::{Addr, Card, Device},
    random::Gen,
};

/// A request being put together.
#[derive(Clone, Default)]
pub(super) struct Payment {
    pub(super) customer: Option<String>,
    pub(super) email: Option<String>,
    pub(super) name: Option<String>,
    pub(super) phone: Option<String>,
    pub(super) amount: i64,
    pub(super) currency: String,
    pub(super) description: Option<String>,
    pub(super) card: Option<Card>,
    /// A saved card's payment method id; `None` = the card is entered for this payment (a fresh
    /// `pm_…`).
    pub(super) payment_method: Option<String>,
    pub(super) wallet: Option<&'static str>,
    pub(super) billing: Option<Addr>,
    pub(super) shipping: Option<Addr>,
    pub(super) presence: Option<PbPresence>,
    pub(super) payment_type: Option<PbPaymentType>,
    /// The device Radar.js saw: recorded as a Radar Session (with its device id) before the
    /// payment, which names it. `None` = no session (an app without the Radar SDK, a bot, a
    /// merchant-initiated charge).
    pub(super) session: Option<Device>,
    /// The session sets the payment method up for later payments (the two-session check's
    /// reference): a card being saved.
    pub(super) saves_card: bool,
    /// Inline device data in the request.
    pub(super) ip: Option<String>,
    pub(super) user_agent: Option<&'static str>,
    pub(super) time_on_page_ms: Option<u64>,
    pub(super) pasted: Vec<&'static str>,
}

impl Payment {
    /// Inline device data from `device` (its IP and browser), as a web checkout sends beside the
    /// session.
    pub(super) fn inline(mut self, device: &Device) -> Self {
        self.ip = Some(device.ip.clone());
        self.user_agent = Some(device.user_agent);
        self
    }
}

impl Gen {
    pub(super) fn minor(&mut self, major: f64) -> i64 {
        (major * 100.0).round().max(50.0) as i64
    }

    /// The issuer's answer a second after the payment at `at`.
    pub(super) fn authorized(at: i64) -> Outcome {
        Outcome {
            kind: OutcomeKind::Authorized,
            reason: None,
            occurred_at: at + 1,
        }
    }

    /// Declined by the issuer with `code`, a second after the payment at `at`.
    pub(super) fn declined(at: i64, code: &str) -> Outcome {
        Outcome {
            kind: OutcomeKind::Declined,
            reason: Some(code.to_owned()),
            occurred_at: at + 1,
        }
    }

    /// `kind` (with `reason`) learned at `at`.
    pub(super) fn learned(kind: OutcomeKind, reason: &str, at: i64) -> Outcome {
        Outcome {
            kind,
            reason: Some(reason.to_owned()),
            occurred_at: at,
        }
    }

    pub(super) fn event(
        &mut self,
        at: i64,
        p: Payment,
        pattern: Pattern,
        mut outcomes: Vec<Outcome>,
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
        let payment_method = match p.payment_method {
            Some(pm) => pm,
            None => self.payment_method(),
        };
        let session = p.session.as_ref().map(|d| {
            let page_secs = p.time_on_page_ms.map_or(30, |ms| (ms / 1000) as i64);
            pb::RadarSession {
                id: format!("rse_{}", self.token(16)),
                ip: d.ip.clone(),
                user_agent: d.user_agent.to_owned(),
                accept_language: d.language.to_owned(),
                screen: d.screen.to_owned(),
                timezone: d.timezone.to_owned(),
                device_id: d.id.clone(),
                time_on_page_ms: p.time_on_page_ms,
                pasted_fields: p.pasted.iter().map(|s| (*s).to_owned()).collect(),
                created_at: at - page_secs.max(1),
                payment_method: if p.saves_card {
                    payment_method.clone()
                } else {
                    String::new()
                },
                ..Default::default()
            }
        });
        let has_device = session.is_some() || p.ip.is_some() || p.user_agent.is_some();
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
                    payment_method,
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
                radar_session: session.as_ref().map(|s| s.id.clone()).unwrap_or_default(),
                ip: p.ip.unwrap_or_default(),
                user_agent: p.user_agent.unwrap_or_default().to_owned(),
                time_on_page_ms: p.time_on_page_ms,
                pasted_fields: p.pasted.iter().map(|s| (*s).to_owned()).collect(),
                ..Default::default()
            }),
            ..Default::default()
        };
        outcomes.sort_by_key(|o| o.occurred_at);
        Event {
            occurred_at: at,
            session,
            request,
            label: Label {
                fraud: pattern != Pattern::Legitimate,
                pattern,
            },
            outcomes,
        }
    }
}
