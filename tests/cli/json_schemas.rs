//! Every `--json` record validates against its JSON Schema in `schemas/`,
//! exactly: the schemas list every field (no others allowed), so a renamed
//! or added field fails here until the schema, and the README, say so too.

use std::path::Path;

use crate::support::tool;

fn schema(name: &str) -> jsonschema::Validator {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("schemas")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap();
    let schema: serde_json::Value = serde_json::from_str(&text).unwrap();
    jsonschema::validator_for(&schema).unwrap()
}

/// The JSON lines a run wrote to stdout (or stderr, for subproc's report,
/// where a command that cannot start also gets its one error line).
fn json_lines(name: &str, args: &[&str], on_stderr: bool) -> Vec<serde_json::Value> {
    let out = tool(name).args(args).output().unwrap();
    let bytes = if on_stderr { out.stderr } else { out.stdout };
    String::from_utf8(bytes)
        .unwrap()
        .lines()
        .filter(|line| !on_stderr || line.starts_with('{'))
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{line}: {e}")))
        .collect()
}

fn assert_valid(schema_name: &str, records: &[serde_json::Value]) {
    let validator = schema(schema_name);
    assert!(!records.is_empty(), "{schema_name}: no records");
    for record in records {
        let errors: Vec<String> = validator
            .iter_errors(record)
            .map(|e| format!("{e} at {}", e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{schema_name}: {record}: {errors:?}");
    }
}

#[test]
fn every_tools_json_validates_against_its_schema() {
    let mut subproc = json_lines("subproc", &["--json", "sh", "-c", "exit 3"], true);
    subproc.extend(json_lines(
        "subproc",
        &["--json", "--retries", "2", "false"],
        true,
    ));
    subproc.extend(json_lines(
        "subproc",
        &["--json", "-t", "0.1", "sleep", "5"],
        true,
    ));
    subproc.extend(json_lines(
        "subproc",
        &["--json", "no-such-command-here"],
        true,
    ));
    // 1 + 3 attempts (--retries 2: two more) + 1 timed out + 1 not started.
    assert_eq!(subproc.len(), 6);
    assert_eq!(subproc[4]["timed_out"], true);
    assert_valid("subproc.schema.json", &subproc);

    let bench = json_lines("fork-demo", &["bench", "-i", "20", "--json"], false);
    assert_valid("fork-demo-bench.schema.json", &bench);

    let pingpong = json_lines("pingpong", &["bench", "-i", "200", "--json"], false);
    assert_eq!(pingpong.len(), 4);
    assert_valid("pingpong-bench.schema.json", &pingpong);

    let mut lock = json_lines("lock-demo", &["--json", "-i", "1000"], false);
    lock.extend(json_lines(
        "lock-demo",
        &["bank", "--json", "-n", "5", "--work", "1ms"],
        false,
    ));
    lock.extend(json_lines(
        "lock-demo",
        &["bench", "--json", "-n", "2", "-i", "1000"],
        false,
    ));
    assert_valid("lock-demo.schema.json", &lock);

    let mut spin = json_lines(
        "spin-cores",
        &["-n", "1", "-t", "0.3", "--interval", "100ms", "--json"],
        false,
    );
    spin.extend(json_lines(
        "spin-cores",
        &[
            "-n",
            "2",
            "--mode",
            "processes",
            "-t",
            "0.2",
            "--interval",
            "100ms",
            "--json",
        ],
        false,
    ));
    let kinds: Vec<&str> = spin.iter().map(|r| r["type"].as_str().unwrap()).collect();
    assert!(kinds.contains(&"start") && kinds.contains(&"sample") && kinds.contains(&"summary"));
    assert_valid("spin-cores.schema.json", &spin);

    let compare = json_lines(
        "spin-cores",
        &[
            "compare", "--json", "-n", "1", "--work", "1000", "--io", "1ms",
        ],
        false,
    );
    assert_valid("spin-cores-compare.schema.json", &compare);

    let mut pool = json_lines(
        "pool-run",
        &["--json", "-k", "echo {}; exit {}", ":::", "0", "3"],
        false,
    );
    pool.extend(json_lines(
        "pool-run",
        &["--json", "--timeout", "0.2", "sleep", "5", ":::", "1"],
        false,
    ));
    assert_eq!(pool[1]["exit_code"], 3);
    assert_eq!(
        (pool[2]["timed_out"].as_bool(), pool[2]["signal"].as_str()),
        (Some(true), Some("SIGTERM"))
    );
    assert_valid("pool-run.schema.json", &pool);
}

/// The schemas are exact: a record with a field renamed fails.
#[test]
fn a_schema_rejects_a_renamed_field() {
    let mut record = json_lines("pool-run", &["--json", "true", ":::", "a"], false).remove(0);
    assert!(schema("pool-run.schema.json").is_valid(&record));
    let object = record.as_object_mut().unwrap();
    let wall = object.remove("wall_s").unwrap();
    object.insert("runtime".to_string(), wall);
    assert!(!schema("pool-run.schema.json").is_valid(&record));
}

/// Every tool names the same things the same way.
#[test]
fn shared_names_mean_the_same_in_every_schema() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas");
    fn property_names(value: &serde_json::Value, names: &mut std::collections::BTreeSet<String>) {
        match value {
            serde_json::Value::Object(map) => {
                if let Some(serde_json::Value::Object(properties)) = map.get("properties") {
                    names.extend(properties.keys().cloned());
                }
                map.values().for_each(|v| property_names(v, names));
            }
            serde_json::Value::Array(items) => items.iter().for_each(|v| property_names(v, names)),
            _ => {}
        }
    }
    let mut names = std::collections::BTreeSet::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        property_names(&serde_json::from_str(&text).unwrap(), &mut names);
    }
    for old in ["exit", "runtime", "elapsed_s", "rounds", "start", "t_s"] {
        assert!(!names.contains(old), "a schema still names {old}");
    }
    for shared in ["exit_code", "signal", "timed_out", "wall_s"] {
        assert!(names.contains(shared), "no schema names {shared}");
    }
}
