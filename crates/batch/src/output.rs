//! The output file: one line per input row, appended and flushed as soon as the row is
//! answered, so that a run killed at any point resumes where it stopped.

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use anyhow::{bail, Context};
use serde_json::Value;

/// The columns after the input's own.
pub const RESULT_COLUMNS: [&str; 5] = ["status", "request_id", "error_code", "error_detail", "data"];

/// What one row got.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The HTTP status, or empty when the row could not be called (a bad row).
    pub status: Option<u16>,
    pub request_id: String,
    pub error_code: String,
    pub error_detail: String,
    /// The answer's `data`, as compact JSON.
    pub data: Option<Value>,
}

pub struct Output {
    writer: csv::Writer<File>,
}

/// The output's header: `row`, the input's columns, then the results.
pub fn header(input: &[String]) -> Vec<String> {
    std::iter::once("row".to_string())
        .chain(input.iter().cloned())
        .chain(RESULT_COLUMNS.iter().map(|c| c.to_string()))
        .collect()
}

impl Output {
    /// Opens `path` for appending, writing the header when it is new, and returns the
    /// row numbers already answered. A last line cut by a kill is dropped (its row is
    /// called again).
    pub fn open(path: &Path, header: &[String]) -> anyhow::Result<(Output, HashSet<u64>)> {
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(path)
            .with_context(|| format!("opening the output {}", path.display()))?;
        drop_cut_line(&mut file)?;
        let done = if file.metadata()?.len() == 0 {
            let mut writer = csv::Writer::from_writer(&file);
            writer.write_record(header)?;
            writer.flush()?;
            HashSet::new()
        } else {
            answered_rows(path, header)?
        };
        let writer = csv::WriterBuilder::new().has_headers(false).from_writer(file);
        Ok((Output { writer }, done))
    }

    pub fn write(&mut self, row: u64, input: &[String], outcome: &Outcome) -> anyhow::Result<()> {
        let status = outcome.status.map(|s| s.to_string()).unwrap_or_default();
        let data = outcome.data.as_ref().map(Value::to_string).unwrap_or_default();
        let record = std::iter::once(row.to_string()).chain(input.iter().cloned()).chain([
            status,
            outcome.request_id.clone(),
            outcome.error_code.clone(),
            outcome.error_detail.clone(),
            data,
        ]);
        self.writer.write_record(record)?;
        self.writer.flush()?;
        Ok(())
    }
}

/// Truncates the file after its last complete line.
fn drop_cut_line(file: &mut File) -> anyhow::Result<()> {
    let mut content = Vec::new();
    file.seek(SeekFrom::Start(0))?;
    file.read_to_end(&mut content)?;
    if content.is_empty() || content.ends_with(b"\n") {
        return Ok(());
    }
    let keep = content.iter().rposition(|b| *b == b'\n').map(|i| i + 1).unwrap_or(0);
    file.set_len(keep as u64)?;
    Ok(())
}

fn answered_rows(path: &Path, header: &[String]) -> anyhow::Result<HashSet<u64>> {
    let mut reader = csv::Reader::from_path(path)?;
    let existing: Vec<String> = reader.headers()?.iter().map(str::to_string).collect();
    if existing != header {
        bail!(
            "the output {} has other columns than this input's: choose another output file",
            path.display()
        );
    }
    let mut done = HashSet::new();
    for record in reader.records() {
        let record = record?;
        let row = record.get(0).and_then(|r| r.parse().ok());
        match row {
            Some(row) => done.insert(row),
            None => bail!("the output {} has a line without a row number", path.display()),
        };
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn outcome(status: u16) -> Outcome {
        Outcome {
            status: Some(status),
            request_id: "id".into(),
            error_code: String::new(),
            error_detail: String::new(),
            data: Some(serde_json::json!({"a": {"b": [1, "x,y"]}})),
        }
    }

    #[test]
    fn rows_written_are_known_on_reopening_and_a_cut_line_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.csv");
        let header = header(&["nom".to_string()]);
        let (mut output, done) = Output::open(&path, &header).unwrap();
        assert!(done.is_empty());
        output.write(1, &["A".into()], &outcome(200)).unwrap();
        output.write(3, &["C, D".into()], &outcome(404)).unwrap();
        drop(output);
        // A kill in the middle of a line.
        let mut file = OpenOptions::new().append(true).open(&path).unwrap();
        file.write_all(b"4,E,20").unwrap();
        drop(file);
        let (mut output, done) = Output::open(&path, &header).unwrap();
        assert_eq!(done, HashSet::from([1, 3]));
        output.write(4, &["E".into()], &outcome(200)).unwrap();
        drop(output);
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 4, "{text}");
        assert!(text.starts_with("row,nom,status,request_id,error_code,error_detail,data\n"));
        assert!(
            text.contains("3,\"C, D\",404,id,,,\"{\"\"a\"\":{\"\"b\"\":[1,\"\"x,y\"\"]}}\"\n"),
            "{text}"
        );
    }

    #[test]
    fn an_output_of_another_input_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.csv");
        drop(Output::open(&path, &header(&["nom".to_string()])).unwrap());
        assert!(Output::open(&path, &header(&["siren".to_string()])).is_err());
    }
}
