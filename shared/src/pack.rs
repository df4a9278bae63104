//! Packs records into queue message bodies of the delivery-file shape the detector reads,
//! `{"Records":[...]}`, each as full as SQS's size limit allows: one message (and one SQS
//! request) carries hundreds of records instead of one. The ingest API and the S3 collector
//! both pack; a message is retried whole, which the detector's idempotency by event id
//! makes safe.

use crate::input::Problem;

const HEAD: &str = r#"{"Records":["#;
const TAIL: &str = "]}";

pub struct Packer {
    limit: usize,
    body: String,
    records: usize,
}

impl Packer {
    /// A packer of bodies of at most `limit` bytes.
    pub fn new(limit: usize) -> Self {
        Self {
            limit,
            body: String::from(HEAD),
            records: 0,
        }
    }

    /// Whether a record of this many bytes fits in a body at all.
    pub fn fits_alone(&self, record_bytes: usize) -> bool {
        HEAD.len() + record_bytes + TAIL.len() <= self.limit
    }

    /// Why the event at `index`, of `record_bytes`, cannot be queued, if it fits in no body.
    pub fn refusal(&self, index: usize, record_bytes: usize) -> Option<Problem> {
        (!self.fits_alone(record_bytes)).then(|| Problem {
            index,
            field: String::new(),
            problem: format!(
                "the event is {record_bytes} bytes; at most {} fit in one queue message",
                self.limit - HEAD.len() - TAIL.len()
            ),
        })
    }

    /// Adds one record's JSON (which must fit alone); returns the body it completed when it
    /// did not fit in the current one.
    pub fn push(&mut self, record: &str) -> Option<String> {
        let separator = usize::from(self.records > 0);
        let full = self.body.len() + separator + record.len() + TAIL.len() > self.limit;
        let completed = if full { self.take() } else { None };
        if self.records > 0 {
            self.body.push(',');
        }
        self.body.push_str(record);
        self.records += 1;
        completed
    }

    /// The last body, if it holds any record.
    pub fn finish(mut self) -> Option<String> {
        self.take()
    }

    /// Packs every record (each of which must fit alone), in order, naming the members of
    /// each body: `(body, members)`.
    pub fn pack_all<T>(
        mut self,
        records: impl IntoIterator<Item = (T, String)>,
    ) -> Vec<(String, Vec<T>)> {
        let mut packed = Vec::new();
        let mut members = Vec::new();
        for (member, record) in records {
            if let Some(body) = self.push(&record) {
                packed.push((body, std::mem::take(&mut members)));
            }
            members.push(member);
        }
        if let Some(body) = self.finish() {
            packed.push((body, members));
        }
        packed
    }

    fn take(&mut self) -> Option<String> {
        if self.records == 0 {
            return None;
        }
        self.records = 0;
        let mut body = std::mem::replace(&mut self.body, String::from(HEAD));
        body.push_str(TAIL);
        Some(body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_delivery_files_within_the_limit() {
        let record = format!(r#"{{"eventID":"{}"}}"#, "x".repeat(80));
        let mut packer = Packer::new(1000);
        let mut bodies: Vec<String> = (0..25).filter_map(|_| packer.push(&record)).collect();
        bodies.extend(packer.finish());
        let mut total = 0;
        for body in &bodies {
            assert!(body.len() <= 1000, "{} bytes", body.len());
            let parsed: serde_json::Value = serde_json::from_str(body).unwrap();
            total += parsed["Records"].as_array().unwrap().len();
        }
        assert_eq!(total, 25);
        assert_eq!(bodies.len(), 3, "ten records of ~100 bytes a body");
        assert!(packer_is_empty_when_nothing_was_pushed());
    }

    fn packer_is_empty_when_nothing_was_pushed() -> bool {
        Packer::new(1000).finish().is_none()
    }

    #[test]
    fn a_record_too_big_for_any_body_is_recognised() {
        let packer = Packer::new(100);
        assert!(packer.fits_alone(100 - HEAD.len() - TAIL.len()));
        assert!(packer.refusal(0, 100 - HEAD.len() - TAIL.len()).is_none());
        assert!(!packer.fits_alone(100));
        let refusal = packer.refusal(3, 100).unwrap();
        assert_eq!(refusal.index, 3);
        assert_eq!(
            refusal.problem,
            "the event is 100 bytes; at most 86 fit in one queue message"
        );
    }

    #[test]
    fn pack_all_names_the_members_of_each_body_in_order() {
        let records = (0..7).map(|i| (i, format!(r#"{{"eventID":"{i:0>30}"}}"#)));
        let packed = Packer::new(120).pack_all(records);
        let members: Vec<Vec<i32>> = packed.iter().map(|(_, m)| m.clone()).collect();
        assert_eq!(members, vec![vec![0, 1], vec![2, 3], vec![4, 5], vec![6]]);
        for (body, members) in &packed {
            let parsed: serde_json::Value = serde_json::from_str(body).unwrap();
            let ids: Vec<String> = members.iter().map(|i| format!("{i:0>30}")).collect();
            let read: Vec<&str> = parsed["Records"]
                .as_array()
                .unwrap()
                .iter()
                .map(|record| record["eventID"].as_str().unwrap())
                .collect();
            assert_eq!(read, ids);
        }
        assert!(
            Packer::new(120)
                .pack_all(Vec::<(i32, String)>::new())
                .is_empty()
        );
    }
}
