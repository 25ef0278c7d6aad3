//! State that outlives one evaluation, behind small traits, each with an in-process and a Redis
//! backend.

pub mod lists;
