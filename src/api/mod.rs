//! The gRPC edge: one file per service. Each decodes and validates its request ([`validate`]), maps
//! it to the domain, calls the layer below, and maps the answer back; errors map to gRPC statuses in
//! one place ([`error::ApiError`]).

pub mod actor;
pub mod admin;
pub mod auth;
pub mod deadline;
pub mod error;
pub mod evaluations;
pub mod reviews;
pub mod sessions;
pub mod validate;
pub mod value_lists;
