//! Checks against Apache Kafka itself (jars fetched by `tests/kafka-ref/kafka.sh`). These need
//! Java and Maven, so they are ignored by a plain `cargo test`; `.ci/run` runs them with
//! `--include-ignored`.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

fn tool(name: &str, data: &Path, args: &[&str], stdin: &str) -> String {
    let mut child = Command::new(assert_cmd::cargo::cargo_bin(name))
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write");
    let out = child.wait_with_output().expect("wait");
    assert!(
        out.status.success(),
        "{name} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf8")
}

/// One record as DumpLogSegments prints it.
#[derive(Debug, PartialEq, Eq)]
struct Dumped {
    offset: i64,
    header_keys: Vec<String>,
    key: Option<String>,
    value: Option<String>,
}

/// Parses `| offset: N CreateTime: T keySize: K valueSize: V sequence: S headerKeys: [a,b] key: k payload: v`,
/// cutting key and value by their printed sizes.
fn parse_dump(text: &str) -> Vec<Dumped> {
    let mut out = Vec::new();
    for line in text.lines().filter(|l| l.starts_with("| offset: ")) {
        let field = |name: &str| -> &str {
            let at = line
                .find(&format!(" {name}: "))
                .unwrap_or_else(|| panic!("{name} in {line}"));
            let rest = &line[at + name.len() + 3..];
            rest.split(' ').next().unwrap_or_default()
        };
        let offset = line["| offset: ".len()..]
            .split(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        let key_size: i64 = field("keySize").parse().unwrap();
        let value_size: i64 = field("valueSize").parse().unwrap();
        let hk_start = line.find("headerKeys: [").unwrap() + "headerKeys: [".len();
        let hk_end = hk_start + line[hk_start..].find(']').unwrap();
        let header_keys = line[hk_start..hk_end]
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        let mut rest = &line[hk_end + 1..];
        let key = (key_size >= 0).then(|| {
            rest = &rest[" key: ".len()..];
            let k = rest[..key_size as usize].to_string();
            rest = &rest[key_size as usize..];
            k
        });
        let value = (value_size >= 0).then(|| {
            rest = &rest[" payload: ".len()..];
            rest[..value_size as usize].to_string()
        });
        out.push(Dumped {
            offset,
            header_keys,
            key,
            value,
        });
    }
    out
}

#[test]
#[ignore = "needs Java 17 and Maven (Kafka's jars); run with --include-ignored, as .ci/run does"]
fn kafkas_dump_log_segments_reads_our_segments_record_for_record() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    // Small segments so several files are written and rolled.
    tool(
        "topics",
        data,
        &[
            "--create",
            "--topic",
            "dump",
            "--config",
            "segment.bytes=4096",
        ],
        "",
    );
    let mut expected = Vec::new();
    let mut input = String::new();
    for i in 0..300 {
        let headers = match i % 3 {
            0 => "NULL".to_string(),
            1 => format!("trace:{i}"),
            _ => format!("trace:{i},origin:test,empty:"),
        };
        let key = if i % 5 == 0 {
            "NULL".to_string()
        } else {
            format!("key-{i}")
        };
        let value = format!("value {i} with spaces and ünïcode {}", "z".repeat(i % 40));
        input.push_str(&format!("{headers}|{key}\t{value}\n"));
        expected.push(Dumped {
            offset: i as i64,
            header_keys: match i % 3 {
                0 => vec![],
                1 => vec!["trace".into()],
                _ => vec!["trace".into(), "origin".into(), "empty".into()],
            },
            key: (i % 5 != 0).then(|| key.clone()),
            value: Some(value),
        });
    }
    // Half uncompressed, half gzip: both are batches Kafka must read.
    let lines: Vec<&str> = input.lines().collect();
    for (chunk, codec) in lines.chunks(150).zip(["none", "gzip"]) {
        tool(
            "console-producer",
            data,
            &[
                "--topic",
                "dump",
                "--compression-codec",
                codec,
                "--batch-size",
                "2000",
                "--property",
                "parse.key=true",
                "--property",
                "parse.headers=true",
                "--property",
                "headers.delimiter=|",
                "--property",
                "null.marker=NULL",
            ],
            &(chunk.join("\n") + "\n"),
        );
    }
    let mut segments: Vec<_> = std::fs::read_dir(data.join("dump-0"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .collect();
    segments.sort();
    assert!(segments.len() > 3, "rolled into several segments");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/kafka-ref/kafka.sh");
    let files: Vec<String> = segments.iter().map(|p| p.display().to_string()).collect();
    let out = Command::new(&script)
        .arg("dump-log")
        .args(&files)
        .output()
        .expect("run kafka.sh");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        !text.contains("isvalid: false"),
        "Kafka found an invalid batch:\n{text}"
    );
    assert!(text.contains("compresscodec: gzip"));
    assert_eq!(parse_dump(&text), expected);
}
