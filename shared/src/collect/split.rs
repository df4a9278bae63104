//! A JSON document's top level read from a stream, one value's bytes at a time: each record
//! is then parsed from a slice (several times faster than parsing from a reader) and the
//! file is never held whole. Only nesting and strings are tracked here; the JSON inside a
//! value is checked when it is parsed.

use std::io::BufRead;

/// Why the stream is not a readable document.
#[derive(Debug)]
pub enum SplitError {
    Io(std::io::Error),
    Syntax(String),
}

/// A stream's bytes, taken one value at a time.
pub struct Splitter<'s> {
    source: &'s mut dyn BufRead,
    /// Bytes consumed, for error messages.
    offset: u64,
}

impl<'s> Splitter<'s> {
    pub fn new(source: &'s mut dyn BufRead) -> Self {
        Splitter { source, offset: 0 }
    }

    fn consume(&mut self, count: usize) {
        self.source.consume(count);
        self.offset += count as u64;
    }

    /// The next byte that is not whitespace, taken; `None` at the end.
    pub fn next_token(&mut self) -> Result<Option<u8>, SplitError> {
        loop {
            let buffer = self.source.fill_buf().map_err(SplitError::Io)?;
            let Some(&first) = buffer.first() else {
                return Ok(None);
            };
            let blank = buffer
                .iter()
                .take_while(|b| b.is_ascii_whitespace())
                .count();
            if blank == 0 {
                self.consume(1);
                return Ok(Some(first));
            }
            self.consume(blank);
        }
    }

    /// The next token, which must be one of `wanted`.
    pub fn expect(&mut self, wanted: &[u8]) -> Result<u8, SplitError> {
        match self.next_token()? {
            Some(token) if wanted.contains(&token) => Ok(token),
            found => Err(self.unexpected(found, wanted)),
        }
    }

    pub fn unexpected(&self, found: Option<u8>, wanted: &[u8]) -> SplitError {
        let wanted: Vec<String> = wanted.iter().map(|b| format!("`{}`", *b as char)).collect();
        let found = match found {
            Some(byte) if byte.is_ascii_graphic() => format!("`{}`", byte as char),
            Some(byte) => format!("byte {byte:#04x}"),
            None => "the end of the file".to_string(),
        };
        let at = self.offset.saturating_sub(1);
        SplitError::Syntax(if wanted.is_empty() {
            format!("{found} at byte {at}, after the document's end")
        } else {
            format!(
                "expected {} at byte {at}, found {found}",
                wanted.join(" or ")
            )
        })
    }

    /// Copies into `out` the value whose first byte, `first`, was just taken.
    pub fn value(&mut self, first: u8, out: &mut Vec<u8>) -> Result<(), SplitError> {
        out.clear();
        out.push(first);
        match first {
            b'{' | b'[' => self.copy_through(out, 1, false),
            b'"' => self.copy_through(out, 0, true),
            _ => self.copy_scalar(out),
        }
    }

    /// Copies bytes until the nesting opened before them closes (or, at depth 0, the string
    /// they are in ends).
    fn copy_through(
        &mut self,
        out: &mut Vec<u8>,
        mut depth: usize,
        mut in_string: bool,
    ) -> Result<(), SplitError> {
        let mut escaped = false;
        loop {
            let buffer = self.source.fill_buf().map_err(SplitError::Io)?;
            if buffer.is_empty() {
                return Err(SplitError::Syntax(format!(
                    "the file ends inside a value (byte {})",
                    self.offset
                )));
            }
            let mut end = None;
            let mut at = 0;
            while at < buffer.len() {
                let byte = buffer[at];
                if in_string {
                    if escaped {
                        escaped = false;
                    } else if byte == b'\\' {
                        escaped = true;
                    } else if byte == b'"' {
                        in_string = false;
                        if depth == 0 {
                            end = Some(at);
                            break;
                        }
                    } else {
                        // Most of a record is string text: jump to its next quote or escape.
                        match memchr::memchr2(b'"', b'\\', &buffer[at..]) {
                            Some(offset) => at += offset,
                            None => at = buffer.len(),
                        }
                        continue;
                    }
                } else {
                    match byte {
                        b'"' => in_string = true,
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' => {
                            depth -= 1;
                            if depth == 0 {
                                end = Some(at);
                                break;
                            }
                        }
                        _ => {}
                    }
                }
                at += 1;
            }
            let taken = end.map_or(buffer.len(), |at| at + 1);
            out.extend_from_slice(&buffer[..taken]);
            self.consume(taken);
            if end.is_some() {
                return Ok(());
            }
        }
    }

    /// A number, `true`, `false` or `null`: bytes up to the next delimiter, left in place.
    fn copy_scalar(&mut self, out: &mut Vec<u8>) -> Result<(), SplitError> {
        loop {
            let buffer = self.source.fill_buf().map_err(SplitError::Io)?;
            if buffer.is_empty() {
                return Ok(());
            }
            let taken = buffer
                .iter()
                .take_while(|b| !matches!(b, b',' | b'}' | b']') && !b.is_ascii_whitespace())
                .count();
            out.extend_from_slice(&buffer[..taken]);
            let more = taken == buffer.len();
            self.consume(taken);
            if !more {
                return Ok(());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(text: &str) -> Vec<String> {
        let mut bytes = text.as_bytes();
        let mut split = Splitter::new(&mut bytes);
        let mut out = Vec::new();
        let mut values = Vec::new();
        while let Some(first) = split.next_token().unwrap() {
            if first == b',' {
                continue;
            }
            split.value(first, &mut out).unwrap();
            values.push(String::from_utf8(out.clone()).unwrap());
        }
        values
    }

    #[test]
    fn values_end_where_their_nesting_or_string_ends() {
        assert_eq!(
            values(r#" {"a": "}\"]", "b": [1, {"c": null}]} , [ "[" ] ,"x\\" , 12.5e3,true "#),
            [
                r#"{"a": "}\"]", "b": [1, {"c": null}]}"#,
                r#"[ "[" ]"#,
                r#""x\\""#,
                "12.5e3",
                "true",
            ]
        );
    }

    #[test]
    fn a_value_cut_short_is_named() {
        let mut bytes = &br#"{"a": [1, 2"#[..];
        let mut split = Splitter::new(&mut bytes);
        let first = split.next_token().unwrap().unwrap();
        let error = split.value(first, &mut Vec::new()).unwrap_err();
        assert!(
            matches!(&error, SplitError::Syntax(text) if text.contains("ends inside a value")),
            "{error:?}"
        );
    }
}
