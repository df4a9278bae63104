//! Packs records into queue message bodies of the delivery-file shape the detector reads,
//! `{"Records":[...]}`, each as full as SQS's size limit allows: one message (and one SQS
//! request) carries hundreds of records instead of one.

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
        assert!(!packer.fits_alone(100));
    }
}
