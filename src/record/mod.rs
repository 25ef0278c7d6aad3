//! What an evaluation leaves behind once it is answered: the audit log of decisions (and of
//! review changes).

pub mod audit;
pub mod reviews;
