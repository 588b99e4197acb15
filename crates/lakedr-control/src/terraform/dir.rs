//! The Terraform of an export as a directory `terraform apply` takes: one `.tf.json` per
//! object, the variables they use (`variables.tf.json`, defaults from the `[dr]` settings) and
//! the provider (`provider.tf.json`, with the account-level alias when the workspace twin is in).
//!
//! Every reference must name a resource, data source or local the directory declares. A
//! dependent resource (permissions, grants, a group member, a library, a secret or its ACL)
//! whose object is not restored (a built-in, a foreign catalog, a managed table no rule
//! replicates) is left out and listed; any other reference that resolves to nothing is a
//! problem of the export.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::Serialize;
use serde_json::{Value, json};

use crate::error::{Error, Result};
use crate::export::{Destination, safe_segment};
use crate::terraform::{declared, provider_document, references, variables_document};

/// Resource types that only hang on another object: left out with it.
const DEPENDENT: &[&str] = &[
    "databricks_permissions",
    "databricks_grants",
    "databricks_group_member",
    "databricks_library",
    "databricks_secret_acl",
    "databricks_secret",
];

/// What [`terraform_dir`] wrote.
#[derive(Clone, Debug, Default, Serialize)]
pub struct TfReport {
    /// Object files written.
    pub files: usize,
    pub resources: usize,
    /// Dependent resources left out: `file: type.name: why`.
    pub left_out: Vec<String>,
    /// References that resolve to nothing (none in a sound export).
    pub problems: Vec<String>,
    /// Variables the files use, and those without a default (to give at apply).
    pub variables: Vec<String>,
    pub variables_without_default: Vec<String>,
    /// The objects' notes: `kind/id: note`.
    pub notes: Vec<String>,
}

/// Writes the Terraform of the latest export into `out`.
pub async fn terraform_dir(
    dest: &Destination,
    out: &Path,
    dr: &lakedr::config::DrSettings,
) -> Result<TfReport> {
    let mut report = TfReport::default();
    let Some((m, _)) = dest.latest().await? else {
        return Ok(report);
    };
    let io = |e: std::io::Error| Error::Config(format!("writing {}: {e}", out.display()));
    std::fs::create_dir_all(out).map_err(io)?;
    let mut docs: BTreeMap<String, Value> = BTreeMap::new();
    for (key, e) in &m.objects {
        for n in &e.notes {
            report.notes.push(format!("{key}: {n}"));
        }
        let Some(tf) = &e.terraform else { continue };
        let (kind, id) = key.split_once('/').unwrap_or((key.as_str(), ""));
        let body = dest.read(tf).await?;
        let doc: Value = serde_json::from_slice(&body).map_err(|err| Error::Corrupt {
            key: tf.clone(),
            detail: err.to_string(),
        })?;
        docs.insert(format!("{kind}__{}.tf.json", safe_segment(id)), doc);
    }
    // A resource two objects declare (the replica location of a managed storage root shared by
    // two catalogs, or by a catalog and the metastore): declared once when the two agree.
    let mut seen: BTreeMap<(String, String), (String, Value)> = BTreeMap::new();
    for (file, doc) in docs.iter_mut() {
        let Some(res) = doc.get_mut("resource").and_then(Value::as_object_mut) else {
            continue;
        };
        for (ty, by_name) in res.iter_mut() {
            let Some(by_name) = by_name.as_object_mut() else {
                continue;
            };
            by_name.retain(|n, body| match seen.get(&(ty.clone(), n.clone())) {
                Some((_, first)) if first == body => false,
                Some((other, _)) => {
                    report.problems.push(format!(
                        "{file}: {ty}.{n} is declared in {other} too, differently"
                    ));
                    true
                }
                None => {
                    seen.insert((ty.clone(), n.clone()), (file.clone(), body.clone()));
                    true
                }
            });
        }
        res.retain(|_, v| v.as_object().is_some_and(|m| !m.is_empty()));
        if res.is_empty() {
            doc.as_object_mut().map(|d| d.remove("resource"));
        }
    }
    // Left out, until nothing more is: a dependent whose object is missing.
    loop {
        let all: BTreeSet<(bool, String, String)> = docs.values().flat_map(declared).collect();
        let mut removed = false;
        for (file, doc) in docs.iter_mut() {
            let Some(res) = doc.get_mut("resource").and_then(Value::as_object_mut) else {
                continue;
            };
            for (ty, by_name) in res.iter_mut() {
                if !DEPENDENT.contains(&ty.as_str()) {
                    continue;
                }
                let Some(by_name) = by_name.as_object_mut() else {
                    continue;
                };
                let missing: Vec<(String, String)> = by_name
                    .iter()
                    .filter_map(|(n, body)| {
                        let (refs, _) = references(body);
                        let m = refs.into_iter().find(|r| !all.contains(r))?;
                        Some((
                            n.clone(),
                            format!(
                                "{}{}.{} is not restored",
                                if m.0 { "data." } else { "" },
                                m.1,
                                m.2
                            ),
                        ))
                    })
                    .collect();
                for (n, why) in missing {
                    by_name.remove(&n);
                    report.left_out.push(format!("{file}: {ty}.{n}: {why}"));
                    removed = true;
                }
            }
            res.retain(|_, v| v.as_object().is_some_and(|m| !m.is_empty()));
            if res.is_empty() {
                doc.as_object_mut().map(|d| d.remove("resource"));
            }
        }
        if !removed {
            break;
        }
    }
    docs.retain(|_, d| d.as_object().is_some_and(|m| !m.is_empty()));
    let all: BTreeSet<(bool, String, String)> = docs.values().flat_map(declared).collect();
    let mut used_vars = BTreeSet::new();
    let mut account_level = false;
    for (file, doc) in &docs {
        let (refs, vars) = references(doc);
        for r in refs.into_iter().filter(|r| !all.contains(r)) {
            report.problems.push(format!(
                "{file}: {}{}.{} is not declared",
                if r.0 { "data." } else { "" },
                r.1,
                r.2
            ));
        }
        used_vars.extend(vars);
        account_level |= doc
            .to_string()
            .contains(crate::kinds::account_workspaces::PROVIDER);
        report.resources += doc["resource"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(_, b)| b.as_object().map_or(0, |m| m.len()))
            .sum::<usize>();
        let text = serde_json::to_vec_pretty(doc).unwrap_or_default();
        std::fs::write(out.join(file), text).map_err(io)?;
        report.files += 1;
    }
    if account_level {
        used_vars.insert("databricks_account_id".into());
    }
    let vars = variables_document(&used_vars, dr);
    for (v, decl) in vars["variable"].as_object().into_iter().flatten() {
        report.variables.push(v.clone());
        if decl.get("default").is_none() {
            report.variables_without_default.push(v.clone());
        }
    }
    std::fs::write(
        out.join("variables.tf.json"),
        serde_json::to_vec_pretty(&vars).unwrap_or_default(),
    )
    .map_err(io)?;
    let mut provider = provider_document();
    if account_level {
        provider["provider"]["databricks"] = json!([
            {},
            {"alias": "account", "host": "https://accounts.cloud.databricks.com", "account_id": "${var.databricks_account_id}"}
        ]);
    }
    std::fs::write(
        out.join("provider.tf.json"),
        serde_json::to_vec_pretty(&provider).unwrap_or_default(),
    )
    .map_err(io)?;
    Ok(report)
}
