//! trailwatch's domain, free of Lambda types: the inputs we accept and their normalisation
//! to one [`Event`], the detection engine, the [`Anomaly`] record, and the ports (queue,
//! anomaly store) with their AWS and in-memory adapters.

pub mod adapters;
pub mod alert;
pub mod anomaly;
pub mod api;
pub mod baseline;
pub mod casebook;
pub mod collect;
#[cfg(any(test, feature = "contract-tests"))]
pub mod contract;
#[cfg(any(test, feature = "contract-tests"))]
pub mod contract_cases;
pub mod dead_letter;
pub mod detect;
pub mod engine;
pub mod enqueue;
pub mod event;
pub mod export;
pub mod finding;
pub mod incident;
pub mod ingest;
pub mod input;
pub mod pack;
pub mod ports;
pub mod publish;
pub mod query;
pub mod rules;
pub mod sigma;
pub mod suppress;

pub use anomaly::{Anomaly, Detection, Severity};
pub use engine::Engine;
pub use event::Event;
pub use input::{Problem, parse_body, parse_value};
