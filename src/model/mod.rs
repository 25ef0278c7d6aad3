//! Offline model tooling (moving to the tools crate).

pub mod rows;
pub mod training;
