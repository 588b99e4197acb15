//! The SAM template's parameters, derived from a configuration file: every bucket and prefix
//! the rules name becomes the EventBridge pattern and the IAM resources of the deployment, so
//! the template cannot grant more (or less) than the rules need.

use std::collections::BTreeMap;

use crate::config::{Config, DeletePolicy};
use crate::error::{Error, Result};
use crate::store::Scheme;

/// The largest configuration the template takes. Lambda allows 4 KiB for all the environment
/// variables of a function together (names and values); the template's others (queue URLs, the
/// KMS key, the log level, the control-plane export's settings) take up to about 1 KiB.
pub const MAX_CONFIG_BYTES: usize = 4096 - 1024;

/// `{parameter: value}` for `sam deploy --parameter-overrides file://...`: `ReplicationConfig`
/// (the file as one line of JSON), `SourceBuckets`, `SourceBucketArns`, `SourceObjectArns`,
/// `DrBucketName`, `DrObjectArns` and `MirrorDeleteArns` (lists as comma-separated text).
///
/// `text` is the configuration file as written (TOML or JSON), `config` the same validated;
/// `partition` the AWS partition of the ARNs (`aws`, `aws-us-gov`, `aws-cn`).
pub fn parameters(
    text: &str,
    config: &Config,
    partition: &str,
) -> Result<BTreeMap<String, String>> {
    let mut sources: Vec<String> = Vec::new();
    let mut source_objects: Vec<String> = Vec::new();
    let mut dr_objects: Vec<String> = Vec::new();
    let mut deletes: Vec<String> = Vec::new();
    let mut dr_bucket: Option<&str> = None;
    for (i, r) in config.rules.iter().enumerate() {
        for (field, url) in [("source", &r.source), ("destination", &r.destination)] {
            if url.scheme != Scheme::S3 {
                return Err(Error::config(
                    format!("rule[{i}].{field}"),
                    format!("`{url}`: a deployment replicates between S3 buckets"),
                ));
            }
        }
        match dr_bucket {
            Some(b) if b != r.destination.bucket => {
                return Err(Error::config(
                    format!("rule[{i}].destination"),
                    format!(
                        "every rule must replicate into one DR bucket (`{b}`), not `{}`",
                        r.destination.bucket
                    ),
                ));
            }
            _ => dr_bucket = Some(&r.destination.bucket),
        }
        if !sources.contains(&r.source.bucket) {
            sources.push(r.source.bucket.clone());
        }
        let arn = |bucket: &str, key: &str| format!("arn:{partition}:s3:::{bucket}/{key}*");
        source_objects.push(arn(&r.source.bucket, &r.source.key));
        let dr = arn(&r.destination.bucket, &r.destination.key);
        match r.delete_policy {
            DeletePolicy::Retain => {}
            DeletePolicy::MirrorNonTable => deletes.push(dr.clone()),
        }
        dr_objects.push(dr);
    }
    let Some(dr_bucket) = dr_bucket else {
        return Err(Error::config("rule", "at least one [[rule]] is required"));
    };
    let one_line = one_line_json(text)?;
    if one_line.len() > MAX_CONFIG_BYTES {
        return Err(Error::config(
            "(file)",
            format!(
                "{} bytes as one line of JSON; the template takes at most {MAX_CONFIG_BYTES} \
                 (Lambda's 4 KiB of environment, less the template's other variables)",
                one_line.len()
            ),
        ));
    }
    let join = |v: &[String]| v.join(",");
    let bucket_arns: Vec<String> = sources
        .iter()
        .map(|b| format!("arn:{partition}:s3:::{b}"))
        .collect();
    Ok(BTreeMap::from([
        ("ReplicationConfig".to_string(), one_line),
        ("SourceBuckets".to_string(), join(&sources)),
        ("SourceBucketArns".to_string(), join(&bucket_arns)),
        ("SourceObjectArns".to_string(), join(&source_objects)),
        ("DrBucketName".to_string(), dr_bucket.to_string()),
        ("DrObjectArns".to_string(), join(&dr_objects)),
        ("MirrorDeleteArns".to_string(), join(&deletes)),
    ]))
}

/// The configuration file as one line of JSON (which the functions read as well as TOML),
/// without `[queues]`: the template gives the functions their queues.
fn one_line_json(text: &str) -> Result<String> {
    let mut v: serde_json::Value = if text.trim_start().starts_with('{') {
        serde_json::from_str(text).map_err(|e| Error::config("(file)", e))?
    } else {
        let t: toml::Value =
            toml::from_str(text).map_err(|e| crate::config::toml_error(text, &e))?;
        serde_json::to_value(t).map_err(|e| Error::config("(file)", e))?
    };
    if let Some(m) = v.as_object_mut() {
        m.remove("queues");
    }
    serde_json::to_string(&v).map_err(|e| Error::config("(file)", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = r#"
[[rule]]
name = "root"
source = "s3://root-bucket/oregon-prod/123/"
destination = "s3://dr/root/"
[[rule]]
name = "logs"
source = "s3://logs/cluster-logs/"
destination = "s3://dr/logs/"
delete_policy = "mirror-non-table"
destination_region = "us-west-2"
[queues]
ordered_url = "https://sqs.example/q.fifo"
"#;

    #[test]
    fn every_bucket_and_prefix_of_the_rules_and_nothing_else() {
        let config = Config::from_text(TEXT).unwrap();
        let p = parameters(TEXT, &config, "aws").unwrap();
        assert_eq!(p["SourceBuckets"], "root-bucket,logs");
        assert_eq!(
            p["SourceBucketArns"],
            "arn:aws:s3:::root-bucket,arn:aws:s3:::logs"
        );
        assert_eq!(
            p["SourceObjectArns"],
            "arn:aws:s3:::root-bucket/oregon-prod/123/*,arn:aws:s3:::logs/cluster-logs/*"
        );
        assert_eq!(
            p["DrObjectArns"],
            "arn:aws:s3:::dr/root/*,arn:aws:s3:::dr/logs/*"
        );
        assert_eq!(p["MirrorDeleteArns"], "arn:aws:s3:::dr/logs/*");
        assert_eq!(p["DrBucketName"], "dr");
        // The functions read the one-line form back to the same rules, regions included.
        let back = Config::from_text(&p["ReplicationConfig"]).unwrap();
        assert_eq!(back.rules.len(), 2);
        assert_eq!(back.bucket_regions(), config.bucket_regions());
        assert!(
            back.queues.ordered_url.is_none(),
            "queues come from the template"
        );
        assert!(!p["ReplicationConfig"].contains('\n'));
    }

    #[test]
    fn refuses_what_a_deployment_cannot_do() {
        let two_dr = "[[rule]]\nname='a'\nsource='s3://a/'\ndestination='s3://dr1/'\n[[rule]]\nname='b'\nsource='s3://b/'\ndestination='s3://dr2/'\n";
        let e = parameters(two_dr, &Config::from_text(two_dr).unwrap(), "aws").unwrap_err();
        assert!(e.to_string().contains("rule[1].destination"), "{e}");
        let local = "[[rule]]\nname='a'\nsource='/tmp/a'\ndestination='s3://dr/'\n";
        let e = parameters(local, &Config::from_text(local).unwrap(), "aws").unwrap_err();
        assert!(e.to_string().contains("rule[0].source"), "{e}");
    }
}
