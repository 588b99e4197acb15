//! Configuration: replication rules, queues and copy tuning, validated once at start.
//!
//! The file is TOML (or JSON, chosen by extension or by the first character of inline text).
//! Every error names the field that is wrong, e.g. `rule[1].destination`.

use std::path::Path;

use globset::{Glob, GlobSet, GlobSetBuilder};
use serde::Deserialize;

use crate::error::{Error, Result};
use crate::store::{ObjectUrl, Scheme};

/// What to do in DR when an object is deleted at the source.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum DeletePolicy {
    /// Never delete in DR (the default): every version DR holds stays readable.
    #[default]
    Retain,
    /// Delete in DR objects that are not part of a Delta table (plain files, artifacts).
    /// Objects under a Delta table are always retained: a DR version may still need them.
    MirrorNonTable,
}

/// The file as written.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default, rename = "rule")]
    rules: Vec<RawRule>,
    #[serde(default)]
    queues: Queues,
    #[serde(default)]
    copy: CopySettings,
    #[serde(default)]
    s3: S3Settings,
    #[serde(default, rename = "stream")]
    streams: Vec<RawStream>,
    #[serde(default)]
    dr: DrSettings,
}

/// What the DR region's workspace is, for the Terraform the control-plane export writes: the
/// defaults of its variables (`dr_region`, `dr_zone_id`...). Every field is optional: a
/// variable without a default must be given at `terraform apply`.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct DrSettings {
    /// The DR region (`us-west-2`): the DR metastore's region.
    #[serde(default)]
    pub region: Option<String>,
    /// The availability zone clusters and pools use in DR (`auto` lets Databricks choose).
    #[serde(default)]
    pub zone_id: Option<String>,
    /// Primary instance profile ARN to the DR one.
    #[serde(default)]
    pub instance_profiles: std::collections::BTreeMap<String, String>,
    /// Primary node type to the DR one, where they differ.
    #[serde(default)]
    pub node_types: std::collections::BTreeMap<String, String>,
    /// Storage credential name to the IAM role ARN that reaches the DR copies.
    #[serde(default)]
    pub storage_credential_roles: std::collections::BTreeMap<String, String>,
    /// The DR metastore's root storage (`s3://...`), distinct from the replicated data.
    #[serde(default)]
    pub metastore_storage_root: Option<String>,
    /// The DR workspace's id (for the metastore assignment).
    #[serde(default)]
    pub workspace_id: Option<String>,
    /// Start schedules, continuous jobs and triggers unpaused in DR (paused by default).
    #[serde(default)]
    pub unpause: bool,
    /// The DR twin workspace (account level): its cross-account role, root bucket and network.
    #[serde(default)]
    pub credentials_role_arn: Option<String>,
    #[serde(default)]
    pub root_bucket: Option<String>,
    #[serde(default)]
    pub vpc_id: Option<String>,
    #[serde(default)]
    pub subnet_ids: Vec<String>,
    #[serde(default)]
    pub security_group_ids: Vec<String>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStream {
    checkpoint: String,
    #[serde(default)]
    sink_table: Option<String>,
    #[serde(default)]
    sink_app_id: Option<String>,
    #[serde(default)]
    file_sink: Option<String>,
}

/// A streaming query declared to the ordered stage: its checkpoint, and the sink whose DR copy
/// its `commits/N` must wait for (found through the app id of the sink's transactions when not
/// declared).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamDecl {
    /// The checkpoint root at the source (ends in `/`).
    pub checkpoint: ObjectUrl,
    /// The Delta table the query writes (its root at the source).
    pub sink_table: Option<ObjectUrl>,
    /// The app id the sink's `txn` actions carry; the query id by default (Delta's own sink).
    pub sink_app_id: Option<String>,
    /// A file sink's output root at the source (its `_spark_metadata/N` comes before
    /// `commits/N`).
    pub file_sink: Option<ObjectUrl>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    name: String,
    source: String,
    destination: String,
    #[serde(default)]
    include: Vec<String>,
    #[serde(default)]
    exclude: Vec<String>,
    #[serde(default)]
    delete_policy: DeletePolicy,
    #[serde(default)]
    source_region: Option<String>,
    #[serde(default)]
    destination_region: Option<String>,
}

/// Queue addresses. Environment variables override them (see [`Config::apply_env`]).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Queues {
    /// Standard queue of S3 / EventBridge events feeding the replicator (used by `run`).
    pub events_url: Option<String>,
    /// FIFO queue of ordered units (Delta logs), one message group per table.
    /// Without it, ordered units are brought up to date inline by the replicator.
    pub ordered_url: Option<String>,
    /// Dead-letter queue of the replicator: messages that can never succeed, with the error.
    pub dead_letter_url: Option<String>,
    /// Dead-letter queue of the ordered stage (FIFO); defaults to `dead_letter_url`.
    pub ordered_dead_letter_url: Option<String>,
}

/// Copy tuning.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CopySettings {
    /// Objects larger than this are copied with parallel multipart UploadPartCopy.
    pub multipart_threshold_bytes: u64,
    /// Part size of multipart copies (5 MiB to 5 GiB).
    pub multipart_part_size_bytes: u64,
    /// Most copies in flight at once, per invocation.
    pub max_concurrency: usize,
    /// KMS key for objects written in DR (SSE-KMS); the bucket default when absent.
    pub kms_key_id: Option<String>,
    /// Whether entity tags are content hashes (MD5) on both sides, so that two objects of the
    /// same size with different tags differ. Not with SSE-KMS on either side (a KMS object's
    /// tag is not its MD5): set `false` when a source bucket or the DR bucket's default
    /// encryption is KMS; with `kms_key_id` set, tags are never compared.
    pub compare_etags: bool,
}

impl CopySettings {
    /// Whether listings' entity tags say whether two objects differ.
    pub fn etags_are_hashes(&self) -> bool {
        self.compare_etags && self.kms_key_id.is_none()
    }
}

impl Default for CopySettings {
    fn default() -> Self {
        Self {
            multipart_threshold_bytes: 256 * 1024 * 1024,
            multipart_part_size_bytes: 128 * 1024 * 1024,
            max_concurrency: 32,
            kms_key_id: None,
            compare_etags: true,
        }
    }
}

/// S3 client settings. The endpoint comes from the standard `AWS_ENDPOINT_URL` variables.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct S3Settings {
    /// Path-style addressing (`http://host/bucket/key`), for S3-compatible servers.
    #[serde(default)]
    pub force_path_style: bool,
}

/// One validated replication rule: everything under `source` goes to `destination`.
#[derive(Clone, Debug)]
pub struct Rule {
    pub name: String,
    pub source: ObjectUrl,
    pub destination: ObjectUrl,
    include: Option<GlobSet>,
    exclude: GlobSet,
    pub delete_policy: DeletePolicy,
    /// The source bucket's region, when given (found by asking S3 otherwise).
    pub source_region: Option<String>,
    /// The destination bucket's region, when given (found by asking S3 otherwise).
    pub destination_region: Option<String>,
}

impl Rule {
    /// True when `rel` (a key relative to the source prefix) passes the include/exclude patterns.
    pub fn selects(&self, rel: &str) -> bool {
        self.include.as_ref().is_none_or(|s| s.is_match(rel)) && !self.exclude.is_match(rel)
    }

    /// The key relative to the source prefix, if `url` is under this rule's source.
    pub fn relative<'a>(&self, url: &'a ObjectUrl) -> Option<&'a str> {
        if url.scheme != self.source.scheme || url.bucket != self.source.bucket {
            return None;
        }
        url.key.strip_prefix(self.source.key.as_str())
    }

    /// DR address of a source-relative key.
    pub fn dr_url(&self, rel: &str) -> ObjectUrl {
        self.destination.join(rel)
    }

    /// Source address of a source-relative key.
    pub fn src_url(&self, rel: &str) -> ObjectUrl {
        self.source.join(rel)
    }

    /// (bucket, region) of the rule's ends whose region the rule gives.
    pub fn bucket_regions(&self) -> Vec<(String, String)> {
        [
            (&self.source, &self.source_region),
            (&self.destination, &self.destination_region),
        ]
        .into_iter()
        .filter_map(|(url, region)| Some((url.bucket.clone(), region.clone()?)))
        .collect()
    }
}

/// The validated configuration.
#[derive(Clone, Debug)]
pub struct Config {
    pub rules: Vec<Rule>,
    pub queues: Queues,
    pub copy: CopySettings,
    pub s3: S3Settings,
    /// Streaming queries declared in `[[stream]]`.
    pub streams: Vec<StreamDecl>,
    /// The DR workspace, for the control-plane export's Terraform.
    pub dr: DrSettings,
}

impl Config {
    /// Reads and validates a configuration file (`.toml` or `.json`).
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path.display(), e))?;
        let json = path.extension().is_some_and(|e| e == "json");
        Self::parse(&text, json, path.parent())
    }

    /// Parses inline text: JSON if it starts with `{`, TOML otherwise.
    pub fn from_text(text: &str) -> Result<Self> {
        Self::parse(text, text.trim_start().starts_with('{'), None)
    }

    fn parse(text: &str, json: bool, base: Option<&Path>) -> Result<Self> {
        let raw: RawConfig = if json {
            serde_json::from_str(text).map_err(|e| Error::config("(file)", e))?
        } else {
            toml::from_str(text).map_err(|e| toml_error(text, &e))?
        };
        Self::validate(raw, base)
    }

    fn validate(raw: RawConfig, base: Option<&Path>) -> Result<Self> {
        if raw.rules.is_empty() {
            return Err(Error::config("rule", "at least one [[rule]] is required"));
        }
        let mut rules: Vec<Rule> = Vec::with_capacity(raw.rules.len());
        for (i, r) in raw.rules.into_iter().enumerate() {
            let field = |f: &str| format!("rule[{i}].{f}");
            if r.name.trim().is_empty() {
                return Err(Error::config(field("name"), "must not be empty"));
            }
            if rules.iter().any(|o| o.name == r.name) {
                return Err(Error::config(
                    field("name"),
                    format!("`{}` is used twice", r.name),
                ));
            }
            let source =
                parse_location(&r.source, base).map_err(|m| Error::config(field("source"), m))?;
            let destination = parse_location(&r.destination, base)
                .map_err(|m| Error::config(field("destination"), m))?;
            if overlaps(&source, &destination) {
                return Err(Error::config(
                    field("destination"),
                    format!(
                        "`{destination}` overlaps the source `{source}`: it would replicate itself"
                    ),
                ));
            }
            let include = if r.include.is_empty() {
                None
            } else {
                Some(globs(&r.include, &field("include"))?)
            };
            let exclude = globs(&r.exclude, &field("exclude"))?;
            for (name, region, url) in [
                ("source_region", &r.source_region, &source),
                ("destination_region", &r.destination_region, &destination),
            ] {
                if let Some(region) = region {
                    let valid = !region.is_empty()
                        && region
                            .chars()
                            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
                    if !valid {
                        return Err(Error::config(
                            field(name),
                            format!("`{region}` is not an AWS region name (like us-west-2)"),
                        ));
                    }
                    if url.scheme != Scheme::S3 {
                        return Err(Error::config(
                            field(name),
                            "only an s3:// location has a region",
                        ));
                    }
                    if let Some((other, prev)) = rules.iter().find_map(|o| {
                        o.bucket_regions()
                            .into_iter()
                            .find(|(b, reg)| b == &url.bucket && reg != region)
                            .map(|(_, reg)| (o.name.clone(), reg))
                    }) {
                        return Err(Error::config(
                            field(name),
                            format!(
                                "bucket `{}` is in {prev} according to rule `{other}`, not {region}",
                                url.bucket
                            ),
                        ));
                    }
                }
            }
            rules.push(Rule {
                name: r.name,
                source,
                destination,
                include,
                exclude,
                delete_policy: r.delete_policy,
                source_region: r.source_region,
                destination_region: r.destination_region,
            });
        }
        let c = &raw.copy;
        const MIB: u64 = 1024 * 1024;
        if !(5 * MIB..=5 * 1024 * MIB).contains(&c.multipart_part_size_bytes) {
            return Err(Error::config(
                "copy.multipart_part_size_bytes",
                format!("{} is outside 5 MiB..=5 GiB", c.multipart_part_size_bytes),
            ));
        }
        if c.multipart_threshold_bytes > 5 * 1024 * MIB {
            return Err(Error::config(
                "copy.multipart_threshold_bytes",
                "must be at most 5 GiB, the largest single CopyObject",
            ));
        }
        if !(1..=1024).contains(&c.max_concurrency) {
            return Err(Error::config(
                "copy.max_concurrency",
                "must be within 1..=1024",
            ));
        }
        let mut streams = Vec::with_capacity(raw.streams.len());
        for (i, st) in raw.streams.into_iter().enumerate() {
            let field = |f: &str| format!("stream[{i}].{f}");
            let dir = |name: &str, v: &str| -> Result<ObjectUrl> {
                let mut u = parse_location(v, base).map_err(|m| Error::config(field(name), m))?;
                if u.scheme == Scheme::Local {
                    // A directory under a rule's local source: addressed as that rule addresses it.
                    let path = Path::new(&u.bucket).to_path_buf();
                    if let Some((r, rel)) = rules.iter().find_map(|r| {
                        let base = Path::new(&r.source.bucket).join(&r.source.key);
                        let rel = path.strip_prefix(&base).ok()?;
                        (r.source.scheme == Scheme::Local).then(|| (r, rel.to_path_buf()))
                    }) {
                        let rel = rel.to_string_lossy().into_owned();
                        let rel = if rel.is_empty() {
                            rel
                        } else {
                            format!("{rel}/")
                        };
                        u = r.source.join(&rel);
                    }
                }
                if !rules.iter().any(|r| r.relative(&u).is_some()) {
                    return Err(Error::config(
                        field(name),
                        format!("`{v}` is under no rule's source"),
                    ));
                }
                Ok(u)
            };
            streams.push(StreamDecl {
                checkpoint: dir("checkpoint", &st.checkpoint)?,
                sink_table: st
                    .sink_table
                    .as_deref()
                    .map(|v| dir("sink_table", v))
                    .transpose()?,
                sink_app_id: st.sink_app_id,
                file_sink: st
                    .file_sink
                    .as_deref()
                    .map(|v| dir("file_sink", v))
                    .transpose()?,
            });
        }
        let dr = raw.dr;
        if let Some(root) = &dr.metastore_storage_root
            && !root.starts_with("s3://")
        {
            return Err(Error::config(
                "dr.metastore_storage_root",
                format!("`{root}` is not an s3:// location"),
            ));
        }
        if let Some(region) = &dr.region
            && (region.is_empty()
                || !region
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'))
        {
            return Err(Error::config(
                "dr.region",
                format!("`{region}` is not an AWS region name (like us-west-2)"),
            ));
        }
        let mut config = Config {
            rules,
            queues: raw.queues,
            copy: raw.copy,
            s3: raw.s3,
            streams,
            dr,
        };
        config.apply_env(|k| std::env::var(k).ok());
        Ok(config)
    }

    /// Lets `LAKEDR_EVENTS_QUEUE_URL`, `LAKEDR_ORDERED_QUEUE_URL`, `LAKEDR_DLQ_URL` and
    /// `LAKEDR_ORDERED_DLQ_URL` override the queue addresses, `LAKEDR_KMS_KEY_ID` the DR
    /// KMS key (the SAM template injects them this way), and `LAKEDR_S3_FORCE_PATH_STYLE`
    /// turn on path-style addressing (S3-compatible servers).
    pub fn apply_env(&mut self, var: impl Fn(&str) -> Option<String>) {
        let non_empty = |k: &str| var(k).filter(|v| !v.trim().is_empty());
        if let Some(v) = non_empty("LAKEDR_EVENTS_QUEUE_URL") {
            self.queues.events_url = Some(v);
        }
        if let Some(v) = non_empty("LAKEDR_ORDERED_QUEUE_URL") {
            self.queues.ordered_url = Some(v);
        }
        if let Some(v) = non_empty("LAKEDR_DLQ_URL") {
            self.queues.dead_letter_url = Some(v);
        }
        if let Some(v) = non_empty("LAKEDR_ORDERED_DLQ_URL") {
            self.queues.ordered_dead_letter_url = Some(v);
        }
        if let Some(v) = non_empty("LAKEDR_KMS_KEY_ID") {
            self.copy.kms_key_id = Some(v);
        }
        if let Some(v) = non_empty("LAKEDR_COMPARE_ETAGS") {
            match v.trim() {
                "true" | "1" | "yes" => self.copy.compare_etags = true,
                "false" | "0" | "no" => self.copy.compare_etags = false,
                other => tracing::warn!(
                    value = other,
                    "LAKEDR_COMPARE_ETAGS is neither true nor false: the configuration's value is kept"
                ),
            }
        }
        if non_empty("LAKEDR_S3_FORCE_PATH_STYLE")
            .is_some_and(|v| matches!(v.trim(), "1" | "true" | "TRUE" | "True" | "yes"))
        {
            self.s3.force_path_style = true;
        }
    }

    /// True if any rule reads or writes S3.
    pub fn uses_s3(&self) -> bool {
        self.rules
            .iter()
            .any(|r| r.source.scheme == Scheme::S3 || r.destination.scheme == Scheme::S3)
    }

    /// The rule covering `url` (longest source prefix wins), with the relative key.
    pub fn rule_for<'a, 'u>(&'a self, url: &'u ObjectUrl) -> Option<(&'a Rule, &'u str)> {
        self.rules
            .iter()
            .filter_map(|r| r.relative(url).map(|rel| (r, rel)))
            .max_by_key(|(r, _)| r.source.key.len())
    }

    /// Every bucket whose region a rule gives, with that region.
    pub fn bucket_regions(&self) -> Vec<(String, String)> {
        self.rules.iter().flat_map(Rule::bucket_regions).collect()
    }

    /// The rule with this name.
    pub fn rule_named(&self, name: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.name == name)
    }
}

/// A TOML error as one line, at its line and column (toml's own text is a multi-line excerpt).
pub(crate) fn toml_error(text: &str, e: &toml::de::Error) -> Error {
    let message = e.message().split_whitespace().collect::<Vec<_>>().join(" ");
    match e.span() {
        Some(span) => {
            let before = &text[..span.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            Error::config("(file)", format!("line {line}, column {column}: {message}"))
        }
        None => Error::config("(file)", message),
    }
}

fn parse_location(s: &str, base: Option<&Path>) -> std::result::Result<ObjectUrl, String> {
    let mut url = ObjectUrl::parse(s).map_err(|e| match e {
        Error::Config { message, .. } => message,
        other => other.to_string(),
    })?;
    match url.scheme {
        Scheme::S3 => {
            if !url.key.is_empty() && !url.key.ends_with('/') {
                return Err(format!("`{s}`: a prefix must end with `/`"));
            }
        }
        Scheme::Local => {
            let p = Path::new(&url.bucket);
            if p.is_relative()
                && let Some(b) = base
            {
                url.bucket = b.join(p).to_string_lossy().into_owned();
            }
        }
    }
    Ok(url)
}

fn overlaps(a: &ObjectUrl, b: &ObjectUrl) -> bool {
    if a.scheme != b.scheme {
        return false;
    }
    match a.scheme {
        Scheme::S3 => {
            a.bucket == b.bucket && (a.key.starts_with(&b.key) || b.key.starts_with(&a.key))
        }
        Scheme::Local => {
            let (pa, pb) = (Path::new(&a.bucket), Path::new(&b.bucket));
            pa.starts_with(pb) || pb.starts_with(pa)
        }
    }
}

fn globs(patterns: &[String], field: &str) -> Result<GlobSet> {
    let mut b = GlobSetBuilder::new();
    for (i, p) in patterns.iter().enumerate() {
        let g = Glob::new(p).map_err(|e| Error::config(format!("{field}[{i}]"), e))?;
        b.add(g);
    }
    b.build().map_err(|e| Error::config(field, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        Config::from_text(text).unwrap_err().to_string()
    }

    #[test]
    fn valid_config_and_rule_lookup() {
        let c = Config::from_text(
            r#"
            [[rule]]
            name = "lake"
            source = "s3://prod/lake/"
            destination = "s3://dr/lake/"
            exclude = ["**/_temporary/**"]
            [[rule]]
            name = "lake-gold"
            source = "s3://prod/lake/gold/"
            destination = "s3://dr/gold/"
            "#,
        )
        .unwrap();
        let url = ObjectUrl::s3("prod", "lake/gold/t/a.parquet");
        let (rule, rel) = c.rule_for(&url).unwrap();
        assert_eq!((rule.name.as_str(), rel), ("lake-gold", "t/a.parquet"));
        assert_eq!(rule.dr_url(rel).to_string(), "s3://dr/gold/t/a.parquet");
        assert!(c.rule_for(&ObjectUrl::s3("prod", "other/x")).is_none());
        assert!(c.rule_for(&ObjectUrl::s3("elsewhere", "lake/x")).is_none());
        let lake = c.rule_named("lake").unwrap();
        assert!(!lake.selects("t/_temporary/0/x"));
        assert!(lake.selects("t/part-0.parquet"));
    }

    #[test]
    fn errors_name_the_field() {
        assert!(
            err("[[rule]]\nname='a'\nsource='s3://a/x'\ndestination='s3://b/'")
                .contains("rule[0].source")
        );
        assert!(
            err("[[rule]]\nname='a'\nsource='s3://a/x/'\ndestination='s3://a/x/dr/'")
                .contains("rule[0].destination")
        );
        assert!(
            err("[[rule]]\nname='a'\nsource='s3://a/'\ndestination='s3://b/'\nexclude=['a[']")
                .contains("rule[0].exclude[0]")
        );
        assert!(err("[[rule]]\nname='a'\nsource='s3://a/'\ndestination='s3://b/'\n[copy]\nmax_concurrency=0").contains("copy.max_concurrency"));
        assert!(
            err("[[rule]]\nname='a'\nsource='s3://a/'\ndestination='s3://b/'\nbogus=1")
                .contains("bogus")
        );
        assert!(err("").contains("rule"));
        // TOML syntax: one line, at the line and column.
        let e = err("[[rule]]\nname='a'\nsource = \n");
        assert!(
            e.starts_with("invalid configuration: (file): line 3, column ") && !e.contains('\n'),
            "{e}"
        );
        assert!(err(r#"{"rule":[{"name":"a","source":"s3://a/","destination":"s3://b/","delete_policy":"sometimes"}]}"#).contains("sometimes"));
    }

    #[test]
    fn regions_are_optional_checked_and_consistent() {
        let base = "[[rule]]\nname='a'\nsource='s3://a/'\ndestination='s3://dr/a/'\n";
        assert!(Config::from_text(base).unwrap().bucket_regions().is_empty());
        let c = Config::from_text(&format!("{base}destination_region='us-west-2'")).unwrap();
        assert_eq!(
            c.bucket_regions(),
            vec![("dr".to_string(), "us-west-2".to_string())]
        );
        assert!(err(&format!("{base}source_region='US West'")).contains("rule[0].source_region"));
        let clash = format!(
            "{base}destination_region='us-west-2'\n[[rule]]\nname='b'\nsource='s3://b/'\ndestination='s3://dr/b/'\ndestination_region='eu-west-1'"
        );
        let e = err(&clash);
        assert!(
            e.contains("rule[1].destination_region") && e.contains("us-west-2"),
            "{e}"
        );
        assert!(
            err("[[rule]]\nname='l'\nsource='/tmp/a'\ndestination='/tmp/b'\nsource_region='us-east-1'")
                .contains("only an s3://")
        );
    }

    #[test]
    fn env_overrides_queues() {
        let mut c =
            Config::from_text("[[rule]]\nname='a'\nsource='s3://a/'\ndestination='s3://b/'")
                .unwrap();
        c.apply_env(|k| (k == "LAKEDR_ORDERED_QUEUE_URL").then(|| "q".to_string()));
        assert_eq!(c.queues.ordered_url.as_deref(), Some("q"));
    }

    #[test]
    fn entity_tags_are_compared_only_without_kms() {
        let base = "[[rule]]\nname='a'\nsource='s3://a/'\ndestination='s3://b/'\n";
        let c = Config::from_text(base).unwrap();
        assert!(c.copy.etags_are_hashes());
        let kms = Config::from_text(&format!("{base}[copy]\nkms_key_id = 'k'\n")).unwrap();
        assert!(!kms.copy.etags_are_hashes());
        let off = Config::from_text(&format!("{base}[copy]\ncompare_etags = false\n")).unwrap();
        assert!(!off.copy.etags_are_hashes());
        // The template turns it off when a source bucket has a KMS key.
        let mut env = c.clone();
        env.apply_env(|k| (k == "LAKEDR_COMPARE_ETAGS").then(|| "false".to_string()));
        assert!(!env.copy.etags_are_hashes());
    }
}
