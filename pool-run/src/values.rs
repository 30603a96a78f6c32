//! What a record's values are: columns split at --colsep, CSV fields
//! (quoted separators and newlines, as RFC 4180 and GNU parallel read
//! them), and --hostgroups' `@group` suffixes cut off.

use std::collections::VecDeque;

use bstr::BString;

/// --csv: one CSV line's fields (RFC 4180: a field in double quotes may
/// hold the separator, and "" in it is one quote).
pub fn csv_fields(line: &[u8], sep: u8) -> Vec<BString> {
    let mut fields = Vec::new();
    let mut field = Vec::new();
    let mut quoted = false;
    let mut bytes = line.iter().copied().peekable();
    while let Some(b) = bytes.next() {
        match (quoted, b) {
            (true, b'"') if bytes.peek() == Some(&b'"') => {
                field.push(b'"');
                bytes.next();
            }
            (true, b'"') => quoted = false,
            (false, b'"') if field.is_empty() => quoted = true,
            (false, b) if b == sep => fields.push(BString::from(std::mem::take(&mut field))),
            (_, b) => field.push(b),
        }
    }
    fields.push(BString::from(field));
    fields
}

/// --csv: a line that ends inside a quoted field (an odd number of quotes
/// so far) goes on over the next lines, newlines kept, as RFC 4180 allows
/// and GNU parallel reads it.
pub fn join_quoted_newlines(lines: VecDeque<Vec<BString>>) -> VecDeque<Vec<BString>> {
    let open = |text: &BString| text.iter().filter(|&&b| b == b'"').count() % 2 == 1;
    let mut records = VecDeque::with_capacity(lines.len());
    let mut lines = lines.into_iter();
    while let Some(mut record) = lines.next() {
        while record.len() == 1 && open(&record[0]) {
            let Some(next) = lines.next() else { break };
            if next.len() != 1 {
                records.push_back(record);
                record = next;
                continue;
            }
            record[0].push(b'\n');
            record[0].extend_from_slice(&next[0]);
        }
        records.push_back(record);
    }
    records
}

/// --hostgroups: every value loses its `@group+group` suffix (from its
/// first `@` on, as GNU parallel cuts it); the first value's groups are the
/// job's (None: it may run anywhere).
pub fn cut_host_groups(values: &mut [BString]) -> Option<Vec<String>> {
    let mut groups = None;
    for (i, value) in values.iter_mut().enumerate() {
        let Some(at) = value
            .iter()
            .position(|&b| b == b'@')
            .filter(|&at| at + 1 < value.len())
        else {
            continue;
        };
        let named: Vec<String> = String::from_utf8_lossy(&value[at + 1..])
            .split('+')
            .map(str::to_string)
            .collect();
        value.truncate(at);
        if i == 0 {
            groups = Some(named);
        }
    }
    groups
}

/// --colsep: a record's values cut into columns.
pub fn split_columns(colsep: Option<&regex::bytes::Regex>, record: Vec<BString>) -> Vec<BString> {
    match colsep {
        Some(colsep) => record
            .iter()
            .flat_map(|value| colsep.split(value).map(BString::from))
            .collect(),
        None => record,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_groups_are_cut_off_every_value_and_the_first_ones_count() {
        let mut values: Vec<BString> = vec!["a@g1+g2".into(), "b@g3".into(), "c@".into()];
        let groups = cut_host_groups(&mut values);
        assert_eq!(groups, Some(vec!["g1".to_string(), "g2".to_string()]));
        assert_eq!(values, ["a", "b", "c@"]);
        let mut plain: Vec<BString> = vec!["x".into(), "y@z".into()];
        assert_eq!(
            cut_host_groups(&mut plain),
            None,
            "the first value has none"
        );
        assert_eq!(plain, ["x", "y"]);
    }

    #[test]
    fn csv_lines_open_in_a_quote_go_on_over_the_next() {
        let lines = ["a,\"b", "c\",d", "e,\"\"\"x\"\"\"", "f,\"1", "2", "3\""];
        let joined = join_quoted_newlines(lines.iter().map(|l| vec![BString::from(*l)]).collect());
        let joined: Vec<String> = joined.iter().map(|r| r[0].to_string()).collect();
        assert_eq!(joined, ["a,\"b\nc\",d", "e,\"\"\"x\"\"\"", "f,\"1\n2\n3\""]);
        assert_eq!(csv_fields(joined[0].as_bytes(), b','), ["a", "b\nc", "d"]);
    }

    #[test]
    fn csv_fields_keep_quoted_separators_and_doubled_quotes() {
        let fields = |line: &str| -> Vec<String> {
            csv_fields(line.as_bytes(), b',')
                .iter()
                .map(|f| f.to_string())
                .collect()
        };
        assert_eq!(fields(r#"a,"b,c",d"#), ["a", "b,c", "d"]);
        assert_eq!(fields(r#""x ""q""",,z"#), [r#"x "q""#, "", "z"]);
        assert_eq!(fields(r#"""#), [""]);
        assert_eq!(fields("plain"), ["plain"]);
    }
}
