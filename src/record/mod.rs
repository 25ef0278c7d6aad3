//! What an evaluation leaves behind once it is answered: the audit log of decisions.

pub mod audit;
