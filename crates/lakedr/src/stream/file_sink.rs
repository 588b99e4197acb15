//! A file sink's log (`<output>/_spark_metadata/<N>[.compact]`): each entry is published in DR
//! only after every output file it lists, so a reader of the DR copy never finds an entry whose
//! files are missing. The log names its files by absolute URI of the primary: files under a
//! replication rule are found through it; a URI under no rule (a local path) makes the copy not
//! portable, which the report says.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use crate::config::{Config, Rule};
use crate::error::{Error, Result};
use crate::store::{CopySource, ObjectUrl, Stores};

/// What one run did to one file sink.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct FileSinkReport {
    /// Output root relative to the rule source.
    pub sink: String,
    pub rule: String,
    pub entries_published: u64,
    pub files_copied: u64,
    pub warnings: Vec<String>,
}

#[derive(Debug)]
pub struct FileSinkSync<'a> {
    pub stores: &'a Stores,
    pub config: &'a Config,
    pub rule: &'a Rule,
    /// Output root relative to the rule source, `""` or ending in `/`.
    pub root: &'a str,
}

/// The location a file sink's log entry names (`s3://`, `s3a://`, `file:/`).
fn location(uri: &str) -> Option<ObjectUrl> {
    let uri = uri
        .strip_prefix("s3a://")
        .or_else(|| uri.strip_prefix("s3n://"))
        .map_or_else(|| uri.to_string(), |r| format!("s3://{r}"));
    let decoded = percent_encoding::percent_decode_str(&uri)
        .decode_utf8_lossy()
        .into_owned();
    if decoded.starts_with("s3://") {
        return ObjectUrl::parse(&decoded).ok();
    }
    let path = decoded.strip_prefix("file:").map(|p| {
        // file:///a/b and file:/a/b
        format!("/{}", p.trim_start_matches('/'))
    })?;
    Some(ObjectUrl::local("/", path.trim_start_matches('/')))
}

impl FileSinkSync<'_> {
    /// The rule covering a location, and the key relative to it.
    fn under_rule(&self, u: &ObjectUrl) -> Option<(&Rule, String)> {
        if let Some((r, rel)) = self.config.rule_for(u) {
            return Some((r, rel.to_string()));
        }
        // A local path: under a rule whose source is a local directory that holds it.
        let path = format!("/{}", u.key);
        self.config
            .rules
            .iter()
            .filter(|r| r.source.scheme == crate::store::Scheme::Local)
            .filter_map(|r| {
                let dir = std::path::Path::new(&r.source.bucket).join(&r.source.key);
                let dir = format!("{}/", dir.display().to_string().trim_end_matches('/'));
                path.strip_prefix(&dir).map(|rel| (r, rel.to_string()))
            })
            .max_by_key(|(r, _)| r.source.bucket.len() + r.source.key.len())
    }

    pub async fn run(&self) -> Result<FileSinkReport> {
        let mut report = FileSinkReport {
            sink: self.root.to_string(),
            rule: self.rule.name.clone(),
            ..FileSinkReport::default()
        };
        let rel = format!("{}_spark_metadata/", self.root);
        let (src_dir, dst_dir) = (self.rule.src_url(&rel), self.rule.dr_url(&rel));
        let src_listing: BTreeMap<String, u64> = self
            .stores
            .list_dir(&src_dir, None)
            .await?
            .into_iter()
            .map(|m| (m.key[src_dir.key.len()..].to_string(), m.size))
            .collect();
        let in_dr: BTreeMap<String, u64> = self
            .stores
            .list_dir(&dst_dir, None)
            .await?
            .into_iter()
            .map(|m| (m.key[dst_dir.key.len()..].to_string(), m.size))
            .collect();
        let mut entries: Vec<(u64, String, u64)> = src_listing
            .iter()
            .filter_map(|(name, size)| {
                let n = super::split_file_sink(&format!("_spark_metadata/{name}"))?.1;
                Some((n, name.clone(), *size))
            })
            .collect();
        entries.sort();
        for (n, name, size) in entries {
            // The entry's checksum file (Hadoop file systems) only after the entry: a stale one
            // beside no entry stops a restart from writing it.
            let crc = super::crc_of(&name);
            let crc_todo = src_listing
                .get(&crc)
                .filter(|s| in_dr.get(&crc) != Some(s))
                .copied();
            if in_dr.get(&name) == Some(&size) {
                if let Some(crc_size) = crc_todo {
                    self.copy_log(&src_dir, &dst_dir, &crc, crc_size).await?;
                }
                continue;
            }
            let body = match self.stores.get(&src_dir.join(&name)).await {
                Ok(g) => g.body,
                Err(Error::NotFound { .. }) => continue, // compacted away meanwhile
                Err(e) => return Err(e),
            };
            let text = String::from_utf8_lossy(&body).into_owned();
            for line in text.lines().skip(1) {
                let Ok(v) = serde_json::from_str::<Value>(line) else {
                    return Err(Error::InvalidLogFile {
                        table: self.rule.src_url(self.root).to_string(),
                        version: n,
                        key: src_dir.join(&name).key,
                        message: format!("not a JSON line: `{line}`"),
                    });
                };
                if v["action"] != "add" {
                    continue;
                }
                let uri = v["path"].as_str().unwrap_or_default();
                let Some((rule, rel)) = location(uri).and_then(|u| self.under_rule(&u)) else {
                    let w = format!(
                        "not portable: the log names {uri}, which no replication rule covers"
                    );
                    if !report.warnings.contains(&w) {
                        report.warnings.push(w);
                    }
                    continue;
                };
                let dst = rule.dr_url(&rel);
                let want = v["size"].as_u64();
                if let Some(m) = self.stores.head(&dst).await?
                    && want.is_none_or(|s| s == m.size)
                {
                    continue;
                }
                let source = CopySource {
                    size: want,
                    ..CopySource::latest(rule.src_url(&rel))
                };
                match self.stores.copy(&source, &dst).await {
                    Ok(()) => report.files_copied += 1,
                    Err(Error::NotFound { .. }) => {
                        return Err(Error::MissingSourceFile {
                            table: self.rule.src_url(self.root).to_string(),
                            version: n,
                            key: rule.src_url(&rel).key,
                        });
                    }
                    Err(e) => return Err(e),
                }
            }
            self.copy_log(&src_dir, &dst_dir, &name, size).await?;
            if let Some(crc_size) = crc_todo {
                self.copy_log(&src_dir, &dst_dir, &crc, crc_size).await?;
            }
            report.entries_published += 1;
        }
        Ok(report)
    }

    async fn copy_log(
        &self,
        src_dir: &ObjectUrl,
        dst_dir: &ObjectUrl,
        name: &str,
        size: u64,
    ) -> Result<()> {
        let source = CopySource {
            size: Some(size),
            ..CopySource::latest(src_dir.join(name))
        };
        self.stores.copy(&source, &dst_dir.join(name)).await
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn log_uris_become_locations() {
        assert_eq!(
            super::location("s3a://b/out/part-0.parquet")
                .unwrap()
                .to_string(),
            "s3://b/out/part-0.parquet"
        );
        let l = super::location("file:///data/out/part%200.parquet").unwrap();
        assert_eq!(l.key, "data/out/part 0.parquet");
        assert!(super::location("hdfs://nn/x").is_none());
    }
}
