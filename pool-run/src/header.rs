//! `--header`: the first value of each input source is its name, usable in
//! the command as `{name}` (and `{name.}`, `{name/}`, ... like `{1}`), as in
//! GNU parallel: `pool-run --header : echo {x} {y} ::: x 1 2 ::: y a b`.
//! With `--colsep`, a file's first line names its columns. Names become
//! positions here, once; the template never sees them.

use std::io::{BufRead, BufReader};

use bstr::{BString, ByteSlice};

use crate::input::{RecordSyntax, Source, SourceSpec};

/// Takes the names off the sources (the first value of each `:::` source;
/// the first record of each file, split at `colsep`) and returns each with
/// its position (1 for the first value of a job).
pub fn take_names(
    sources: &mut [SourceSpec],
    colsep: Option<&regex::bytes::Regex>,
    syntax: &RecordSyntax,
) -> Result<Vec<(BString, usize)>, String> {
    let mut names = Vec::new();
    let mut position = 1;
    for spec in sources.iter_mut() {
        let first: BString = match &mut spec.source {
            Source::Args(values) => {
                if values.is_empty() {
                    return Err("--header: a ::: source has no value to name it".to_string());
                }
                values.remove(0)
            }
            Source::File(path) => {
                if path.as_os_str() == "-" {
                    return Err(
                        "--header: names cannot be read from stdin here; give the file with ::::"
                            .to_string(),
                    );
                }
                spec.skip_header = true;
                first_record(path, syntax)
                    .map_err(|e| format!("--header: reading '{}': {e}", path.display()))?
            }
        };
        let columns: Vec<BString> = match colsep {
            Some(colsep) => colsep.split(&first).map(BString::from).collect(),
            None => vec![first],
        };
        for name in columns {
            names.push((name, position));
            position += 1;
        }
    }
    Ok(names)
}

fn first_record(path: &std::path::Path, syntax: &RecordSyntax) -> std::io::Result<BString> {
    let mut reader = BufReader::new(std::fs::File::open(path)?);
    let mut bytes = Vec::new();
    reader.read_until(syntax.delimiter, &mut bytes)?;
    if bytes.last() == Some(&syntax.delimiter) {
        bytes.pop();
    }
    Ok(BString::from(bytes))
}

/// `word` with every `{name}`, `{name.}`, `{name/}`, `{name//}` and
/// `{name/.}` written as its position (`{2}`, `{2.}`, ...).
pub fn rename(word: &[u8], names: &[(BString, usize)]) -> BString {
    let mut out = BString::from(word);
    for (name, position) in names {
        if name.is_empty() {
            continue;
        }
        for suffix in ["", ".", "/", "//", "/."] {
            let mut from = BString::from("{");
            from.extend_from_slice(name);
            from.extend_from_slice(suffix.as_bytes());
            from.push(b'}');
            let to = format!("{{{position}{suffix}}}");
            out = BString::from(out.replace(from.as_slice(), to.as_bytes()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_come_off_the_sources_and_become_positions() {
        let mut sources = vec![
            SourceSpec {
                source: Source::Args(vec!["x".into(), "1".into()]),
                linked: crate::input::Link::Product,
                skip_header: false,
            },
            SourceSpec {
                source: Source::Args(vec!["y".into(), "a".into()]),
                linked: crate::input::Link::Product,
                skip_header: false,
            },
        ];
        let names = take_names(&mut sources, None, &RecordSyntax::default()).unwrap();
        assert_eq!(names, [("x".into(), 1), ("y".into(), 2)]);
        assert_eq!(sources[0].source, Source::Args(vec!["1".into()]));
        assert_eq!(rename(b"{y}-{x.}/{z}", &names), "{2}-{1.}/{z}");
    }
}
