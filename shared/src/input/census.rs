//! Counting a body's events before any of them is built: a 5 MiB body of `[{},{},…]` holds
//! over two million elements, and building (and validating) each would take gigabytes. The
//! census walks the JSON once without keeping anything and stops past the limit.

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::BodyError;

/// What the census found, up to its limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Census {
    /// Events counted (records of delivery files counted one by one); past the limit,
    /// counting stopped at `limit + 1`.
    pub events: usize,
    /// The first element that is not an object, and what it is.
    pub first_non_object: Option<(usize, &'static str)>,
}

impl Census {
    pub fn over(&self, limit: usize) -> bool {
        self.events > limit
    }
}

/// Counts the events of a body, stopping once there are more than `limit`. Bodies that are
/// not JSON, or neither an object nor an array, are the parser's to report.
pub fn census(body: &[u8], limit: usize) -> Result<Census, BodyError> {
    let mut census = Census {
        events: 0,
        first_non_object: None,
    };
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let counted = Body {
        census: &mut census,
        limit,
    }
    .deserialize(&mut deserializer);
    match counted {
        Ok(()) => Ok(census),
        // Stopped on purpose: the census is what it needs to be.
        Err(_) if census.over(limit) => Ok(census),
        Err(error) => Err(BodyError::NotJson(error.to_string())),
    }
}

struct Body<'a> {
    census: &'a mut Census,
    limit: usize,
}

impl Body<'_> {
    fn add<E: serde::de::Error>(&mut self, events: usize) -> Result<(), E> {
        self.census.events += events;
        if self.census.over(self.limit) {
            return Err(E::custom("over the limit"));
        }
        Ok(())
    }
}

impl<'de> DeserializeSeed<'de> for Body<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Body<'_> {
    type Value = ();

    fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
        formatter.write_str("a JSON object or array of events")
    }

    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<(), A::Error> {
        let mut index = 0;
        while let Some(element) = seq.next_element::<Element>()? {
            match element {
                Element::Object { records } => self.add(records.unwrap_or(1))?,
                Element::Array(_) => {
                    self.census
                        .first_non_object
                        .get_or_insert((index, "an array"));
                    self.add(1)?;
                }
                Element::Other(kind) => {
                    self.census.first_non_object.get_or_insert((index, kind));
                    self.add(1)?;
                }
            }
            index += 1;
        }
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(mut self, map: A) -> Result<(), A::Error> {
        let records = ElementVisitor.visit_map(map)?;
        match records {
            Element::Object { records } => self.add(records.unwrap_or(1)),
            Element::Array(_) | Element::Other(_) => Ok(()),
        }
    }

    // Anything else is not a body of events; the parser says so.
    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
}

/// One element of a body: an object (with the length of its `Records` array, if it is a
/// delivery file), an array (its length), or something else.
enum Element {
    Object { records: Option<usize> },
    Array(usize),
    Other(&'static str),
}

impl<'de> serde::Deserialize<'de> for Element {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ElementVisitor)
    }
}

struct ElementVisitor;

impl<'de> Visitor<'de> for ElementVisitor {
    type Value = Element;

    fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
        formatter.write_str("an event")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Element, A::Error> {
        let mut records = None;
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            if key == "Records" {
                if let Element::Array(count) = map.next_value::<Element>()? {
                    records = Some(count);
                }
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(Element::Object { records })
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Element, A::Error> {
        let mut count = 0;
        while seq.next_element::<IgnoredAny>()?.is_some() {
            count += 1;
        }
        Ok(Element::Array(count))
    }
    fn visit_bool<E>(self, _: bool) -> Result<Element, E> {
        Ok(Element::Other("a boolean"))
    }
    fn visit_i64<E>(self, _: i64) -> Result<Element, E> {
        Ok(Element::Other("a number"))
    }
    fn visit_u64<E>(self, _: u64) -> Result<Element, E> {
        Ok(Element::Other("a number"))
    }
    fn visit_f64<E>(self, _: f64) -> Result<Element, E> {
        Ok(Element::Other("a number"))
    }
    fn visit_str<E>(self, _: &str) -> Result<Element, E> {
        Ok(Element::Other("a string"))
    }
    fn visit_unit<E>(self) -> Result<Element, E> {
        Ok(Element::Other("null"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_counted_with_delivery_files_record_by_record() {
        let body = br#"[{"a":1}, {"Records":[{}, {}, {}]}, {"b":[1,2]}]"#;
        assert_eq!(
            census(body, 500).unwrap(),
            Census {
                events: 5,
                first_non_object: None
            }
        );
        assert_eq!(census(br#"{"Records":[{},{}]}"#, 500).unwrap().events, 2);
        assert_eq!(census(br#"{"EventID":"x"}"#, 500).unwrap().events, 1);
    }

    #[test]
    fn counting_stops_past_the_limit_and_names_what_is_not_an_object() {
        let many = format!("[{}{{}}]", "{},".repeat(10_000));
        let counted = census(many.as_bytes(), 500).unwrap();
        assert!(counted.over(500));
        assert_eq!(counted.events, 501);
        let numbers = format!("[{}1]", "1,".repeat(10_000));
        let counted = census(numbers.as_bytes(), 500).unwrap();
        assert!(counted.over(500));
        assert_eq!(counted.first_non_object, Some((0, "a number")));
        assert!(matches!(census(b"[1, 2", 500), Err(BodyError::NotJson(_))));
    }
}
