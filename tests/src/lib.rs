//! Support for the end-to-end tests: `template.yaml` read as data, its queues and tables
//! created at a local AWS endpoint (moto or LocalStack) through the real SDK, and the
//! harness each test uses.

pub mod alerting;
pub mod harness;
pub mod records;
pub mod resources;
pub mod scenarios;
pub mod simulation;
pub mod template;

pub type Error = Box<dyn std::error::Error + Send + Sync>;
