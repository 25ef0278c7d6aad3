//! `client_device_metadata_details`: a Radar Session id, or the device data inline.

use riskgate_core::input::{Device, PastedFields, canonical_ip_text};

use super::{
    check::{Checker, Path},
    session::RADAR_SESSION_ID,
};
use crate::proto::v1 as pb;

// Paths of the request's messages.
const DEVICE: &str = "client_device_metadata_details";
const PASTED_FIELDS: &str = "client_device_metadata_details.pasted_fields";

/// riskgate's own limits on inline device data: generous for real browsers, small enough to bound
/// the work and the memory one request can cost.
pub(super) const MAX_USER_AGENT: usize = 1024;
pub(super) const MAX_REFERRER: usize = 2048;
pub(super) use riskgate_core::input::MAX_PASTED_FIELDS;
pub(super) const MAX_PASTED_FIELD: usize = 64;

impl Checker {
    pub(super) fn device<'a>(
        &mut self,
        d: Option<&'a pb::ClientDeviceMetadataDetails>,
    ) -> Device<'a> {
        let Some(d) = d else { return Device::default() };
        let radar_path = Path::Field(DEVICE, "radar_session");
        let inline = !d.ip.is_empty()
            || !d.user_agent.is_empty()
            || !d.referrer.is_empty()
            || d.time_on_page_ms.is_some()
            || !d.pasted_fields.is_empty();
        if d.radar_session.is_empty() && !inline {
            self.violation(
                radar_path,
                "required unless inline device data (ip, user_agent, referrer, time_on_page_ms or \
                 pasted_fields) is given",
            );
        }
        let radar_session = self.id(radar_path, &d.radar_session, &RADAR_SESSION_ID);
        let ip_path = Path::Field(DEVICE, "ip");
        let ip = self.ip(ip_path, &d.ip);
        let user_agent = self.text(
            Path::Field(DEVICE, "user_agent"),
            &d.user_agent,
            MAX_USER_AGENT,
        );
        let referrer = self.text(Path::Field(DEVICE, "referrer"), &d.referrer, MAX_REFERRER);
        if d.pasted_fields.len() > MAX_PASTED_FIELDS {
            self.violation(
                Path::Field(DEVICE, "pasted_fields"),
                format!(
                    "must have at most {MAX_PASTED_FIELDS} entries (got {})",
                    d.pasted_fields.len()
                ),
            );
        }
        let mut pasted_fields = PastedFields::default();
        for (i, field) in d.pasted_fields.iter().enumerate() {
            let path = Path::Item(PASTED_FIELDS, i);
            if field.is_empty() {
                self.violation(
                    path,
                    "must not be empty: a checkout field name such as \"card_number\"",
                );
                continue;
            }
            let field = self.shaped(
                path,
                field,
                MAX_PASTED_FIELD,
                |s| s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'.'),
                |_| {
                    "must be a checkout field name of lowercase letters, digits, underscores and dots \
                     such as \"card_number\""
                        .into()
                },
            );
            if let Some(field) = field {
                pasted_fields.push(field);
            }
        }
        Device {
            radar_session,
            ip,
            ip_text: ip.and_then(|ip| canonical_ip_text(&d.ip, ip)),
            user_agent,
            referrer,
            time_on_page_ms: d.time_on_page_ms,
            pasted_fields,
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::api::validate::{fixtures::*, payment_evaluation};
    use crate::proto::v1::ClientDeviceMetadataDetails;

    #[test]
    fn radar_session_shape_and_presence() {
        let path = "client_device_metadata_details.radar_session";
        let mut req = valid();
        device(&mut req).radar_session = "sess_123".into();
        assert!(only(&req, path).contains("\"rse_\""));
        device(&mut req).radar_session = "rse_".into();
        only(&req, path);
        device(&mut req).radar_session = "rse_1Q0P_x".into();
        assert!(payment_evaluation(&req).is_ok());

        req.client_device_metadata_details = Some(ClientDeviceMetadataDetails::default());
        assert!(only(&req, path).starts_with("required unless inline device data"));

        // Inline data alone is enough.
        req.client_device_metadata_details = Some(ClientDeviceMetadataDetails {
            time_on_page_ms: Some(0),
            ..Default::default()
        });
        assert!(payment_evaluation(&req).is_ok());
        req.client_device_metadata_details = Some(ClientDeviceMetadataDetails {
            ip: "2001:db8::1".into(),
            ..Default::default()
        });
        let input = payment_evaluation(&req).unwrap();
        assert_eq!(input.device.ip, Some("2001:db8::1".parse().unwrap()));
        assert_eq!(
            input.device.ip_text,
            Some("2001:db8::1"),
            "canonical: borrowed"
        );
        assert_eq!(input.device.radar_session, None);
        // Written otherwise, the attribute gets the canonical text instead.
        req.client_device_metadata_details = Some(ClientDeviceMetadataDetails {
            ip: "2001:DB8:0::1".into(),
            ..Default::default()
        });
        let input = payment_evaluation(&req).unwrap();
        assert_eq!(input.device.ip, Some("2001:db8::1".parse().unwrap()));
        assert_eq!(input.device.ip_text, None);
    }

    #[test]
    fn inline_device_limits() {
        let mut req = valid();
        device(&mut req).user_agent = "u".repeat(1025);
        device(&mut req).referrer = "r".repeat(2049);
        assert_eq!(
            fields(&req),
            [
                "client_device_metadata_details.user_agent",
                "client_device_metadata_details.referrer"
            ]
        );

        let mut req = valid();
        device(&mut req).pasted_fields = vec![
            "email".into(),
            "Card Number".into(),
            String::new(),
            "f".repeat(65),
        ];
        assert_eq!(
            fields(&req),
            [1, 2, 3].map(|i| format!("client_device_metadata_details.pasted_fields[{i}]"))
        );

        device(&mut req).pasted_fields = (0..21).map(|i| format!("field_{i}")).collect();
        assert_eq!(
            only(&req, "client_device_metadata_details.pasted_fields"),
            "must have at most 20 entries (got 21)"
        );
    }
}
