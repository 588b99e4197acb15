//! Terraform JSON (`*.tf.json`) for exported objects, using the Databricks provider's
//! `databricks_*` resources, so a DR workspace can be rebuilt with `terraform apply`.
//!
//! Each object gives its own small document, a pure function of the object: an unchanged
//! object keeps its file. Resource names are derived from kind and id alone, so references
//! between objects (a group member to its group and user, grants to their catalog, permissions
//! to their job) need no global index and resolve whenever both objects are exported.
//!
//! API bodies are fitted to the provider's schema (`tf_schema.json`, extracted from the
//! provider's generated bindings by `tests/py/tf_schema.py extract`): attributes the provider
//! does not have are dropped, API list names become block names (`tasks` to `task`), single
//! nested objects become one-element block lists.

use std::sync::OnceLock;

use serde_json::{Map, Value, json};

use crate::kinds::Obj;

/// The attribute trees of the resources generated here.
fn schema() -> &'static Value {
    static SCHEMA: OnceLock<Value> = OnceLock::new();
    SCHEMA
        .get_or_init(|| serde_json::from_str(include_str!("tf_schema.json")).unwrap_or(Value::Null))
}

/// Attributes the provider computes: configuring them fails at plan time.
const COMPUTED: &[&str] = &[
    "id",
    "cluster_id",
    "default_tags",
    "cluster_source",
    "creator_user_name",
    "creator_name",
    "creator_id",
    "jdbc_url",
    "odbc_params",
    "policy_id",
    "instance_pool_id",
    "job_id",
    "metastore_id",
    "created_at",
    "created_by",
    "updated_at",
    "updated_by",
    "full_name",
    "securable_type",
    "securable_kind",
    "browse_only",
    "effective_predictive_optimization_flag",
    "global_metastore_id",
    "home",
    "repos",
    "acl_principal_id",
    "head_commit_id",
];

/// A Terraform resource name for `prefix` and an id: letters, digits and `_` only, with a
/// short hash of the id when anything had to be replaced (so distinct ids stay distinct).
pub fn name(prefix: &str, id: &str) -> String {
    let clean: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    let exact = id.chars().all(|c| c.is_ascii_alphanumeric()) && id == id.to_ascii_lowercase();
    if exact {
        format!("{prefix}_{clean}")
    } else {
        // FNV-1a, stable across runs and platforms.
        let h = id.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
        format!("{prefix}_{}_{:08x}", clean.trim_matches('_'), h as u32)
    }
}

/// Fits an API value to a schema tree: keeps known attributes, renames plural lists to their
/// block names, wraps single nested objects as blocks, drops empty results.
fn fit(value: &Value, tree: &Value, top: bool) -> Option<Value> {
    let (Value::Object(m), Value::Object(t)) = (value, tree) else {
        return None;
    };
    let mut out = Map::new();
    for (k, v) in m {
        if top && COMPUTED.contains(&k.as_str()) {
            continue;
        }
        let key = if t.contains_key(k) {
            k.clone()
        } else if let Some(singular) = [
            k.strip_suffix("ies").map(|s| format!("{s}y")),
            k.strip_suffix('s').map(str::to_owned),
        ]
        .into_iter()
        .flatten()
        .find(|s| t.get(s).is_some_and(|n| n["block"] == true))
        {
            singular
        } else {
            continue;
        };
        let node = &t[&key];
        let fitted = match (&node["children"], v) {
            (Value::Object(children), _) if children.contains_key("$recursive") => None,
            (children @ Value::Object(_), Value::Array(items)) => {
                let items: Vec<Value> = items
                    .iter()
                    .filter_map(|i| fit(i, children, false))
                    .collect();
                (!items.is_empty()).then_some(Value::Array(items))
            }
            (children @ Value::Object(_), Value::Object(_)) => {
                fit(v, children, false).map(|o| Value::Array(vec![o]))
            }
            (_, v) => match node["type"].as_str() {
                Some("map") => v.is_object().then(|| v.clone()),
                Some("list" | "set") => v
                    .as_array()
                    .filter(|a| a.iter().all(|x| !x.is_object() && !x.is_array()))
                    .map(|_| v.clone()),
                Some("simple") => {
                    (!v.is_object() && !v.is_array() && !v.is_null()).then(|| v.clone())
                }
                _ => None,
            },
        };
        if let Some(f) = fitted {
            out.insert(key, f);
        }
    }
    (!out.is_empty()).then_some(Value::Object(out))
}

fn fit_resource(ty: &str, value: &Value) -> Map<String, Value> {
    match fit(value, &schema()[ty], true) {
        Some(Value::Object(m)) => m,
        _ => Map::new(),
    }
}

/// SCIM entitlements as the provider's flags.
fn entitlements(v: &Value, into: &mut Map<String, Value>) {
    for e in v["entitlements"].as_array().into_iter().flatten() {
        let flag = match e["value"].as_str() {
            Some("allow-cluster-create") => "allow_cluster_create",
            Some("allow-instance-pool-create") => "allow_instance_pool_create",
            Some("databricks-sql-access") => "databricks_sql_access",
            Some("workspace-access") => "workspace_access",
            _ => continue,
        };
        into.insert(flag.into(), json!(true));
    }
}

/// The resource a SCIM member reference points at.
fn member_ref(r: &str, id: &str) -> Option<String> {
    let (ty, prefix) = match r.split('/').next()? {
        "Users" => ("databricks_user", "user"),
        "Groups" => ("databricks_group", "group"),
        "ServicePrincipals" => ("databricks_service_principal", "sp"),
        _ => return None,
    };
    Some(format!("${{{ty}.{}.id}}", name(prefix, id)))
}

/// A Unity Catalog object's catalog and schema as references to their resources, so that
/// Terraform creates them first.
fn parent_refs(b: &Value, m: &mut Map<String, Value>) {
    let Some(c) = b["catalog_name"].as_str() else {
        return;
    };
    m.insert(
        "catalog_name".into(),
        json!(format!(
            "${{databricks_catalog.{}.name}}",
            name("catalog", c)
        )),
    );
    if let Some(s) = b["schema_name"].as_str() {
        let schema = name("schema", &format!("{c}.{s}"));
        m.insert(
            "schema_name".into(),
            json!(format!("${{databricks_schema.{schema}.name}}")),
        );
    }
}

/// Permissions: the non-inherited levels of each principal.
fn access_control(body: &Value) -> Vec<Value> {
    let mut out = Vec::new();
    for e in body["access_control_list"].as_array().into_iter().flatten() {
        let who = ["user_name", "group_name", "service_principal_name"]
            .into_iter()
            .find_map(|k| e[k].as_str().map(|v| (k, v)));
        let Some((k, v)) = who else { continue };
        for p in e["all_permissions"].as_array().into_iter().flatten() {
            if p["inherited"] == true {
                continue;
            }
            if let Some(level) = p["permission_level"].as_str() {
                out.push(json!({ k: v, "permission_level": level }));
            }
        }
    }
    out
}

/// `(resource type, resource name, body)` for one object; empty when the object has no
/// Terraform form here.
pub fn resources(o: &Obj) -> Vec<(&'static str, String, Value)> {
    let b = &o.body;
    let one = |ty: &'static str, n: String, m: Map<String, Value>| vec![(ty, n, Value::Object(m))];
    match o.kind {
        "jobs" => one("databricks_job", name("job", &o.id), fit_resource("databricks_job", &b["settings"])),
        "clusters" => one("databricks_cluster", name("cluster", &o.id), fit_resource("databricks_cluster", b)),
        "cluster_policies" => one("databricks_cluster_policy", name("policy", &o.id), fit_resource("databricks_cluster_policy", b)),
        "instance_pools" => one("databricks_instance_pool", name("pool", &o.id), fit_resource("databricks_instance_pool", b)),
        "sql_warehouses" => one("databricks_sql_endpoint", name("warehouse", &o.id), fit_resource("databricks_sql_endpoint", b)),
        "users" => {
            let mut m = Map::new();
            m.insert("user_name".into(), b["userName"].clone());
            if let Some(d) = b["displayName"].as_str() {
                m.insert("display_name".into(), json!(d));
            }
            if let Some(a) = b["active"].as_bool() {
                m.insert("active".into(), json!(a));
            }
            entitlements(b, &mut m);
            one("databricks_user", name("user", &o.id), m)
        }
        "groups" => {
            let mut m = Map::new();
            m.insert("display_name".into(), b["displayName"].clone());
            entitlements(b, &mut m);
            one("databricks_group", name("group", &o.id), m)
        }
        "service_principals" => {
            let mut m = Map::new();
            m.insert("application_id".into(), b["applicationId"].clone());
            if let Some(d) = b["displayName"].as_str() {
                m.insert("display_name".into(), json!(d));
            }
            one("databricks_service_principal", name("sp", &o.id), m)
        }
        "group_members" => {
            let (Some(g), Some(mid), Some(r)) = (b["group_id"].as_str(), b["member_id"].as_str(), b["ref"].as_str()) else {
                return Vec::new();
            };
            let Some(member) = member_ref(r, mid) else { return Vec::new() };
            let mut m = Map::new();
            m.insert("group_id".into(), json!(format!("${{databricks_group.{}.id}}", name("group", g))));
            m.insert("member_id".into(), json!(member));
            one("databricks_group_member", name("member", &o.id), m)
        }
        "notebooks" => {
            let mut m = Map::new();
            m.insert("path".into(), b["path"].clone());
            if let Some(l) = b["language"].as_str() {
                m.insert("language".into(), json!(l));
            }
            if let Some(c) = b["content"].as_str() {
                m.insert("content_base64".into(), json!(c));
            }
            one("databricks_notebook", name("notebook", &o.id), m)
        }
        "directories" => {
            let mut m = Map::new();
            m.insert("path".into(), b["path"].clone());
            one("databricks_directory", name("directory", &o.id), m)
        }
        "repos" => {
            let mut m = fit_resource("databricks_repo", b);
            if let Some(p) = b["provider"].as_str() {
                m.insert("git_provider".into(), json!(p));
            }
            one("databricks_repo", name("repo", &o.id), m)
        }
        "metastore" => one("databricks_metastore", name("metastore", &o.id), fit_resource("databricks_metastore", b)),
        "catalogs" => one("databricks_catalog", name("catalog", &o.id), fit_resource("databricks_catalog", b)),
        "schemas" => {
            let mut m = fit_resource("databricks_schema", b);
            parent_refs(b, &mut m);
            one("databricks_schema", name("schema", &o.id), m)
        }
        "volumes" => {
            let mut m = fit_resource("databricks_volume", b);
            parent_refs(b, &mut m);
            one("databricks_volume", name("volume", &o.id), m)
        }
        "external_locations" => {
            let mut m = fit_resource("databricks_external_location", b);
            if let Some(cred) = b["credential_name"].as_str() {
                m.insert(
                    "credential_name".into(),
                    json!(format!("${{databricks_storage_credential.{}.name}}", name("credential", cred))),
                );
            }
            one("databricks_external_location", name("location", &o.id), m)
        }
        "tables" => {
            // What the resource can create; streaming tables, materialized views and foreign
            // tables come from their pipelines and connections.
            let ty = b["table_type"].as_str().unwrap_or_default();
            if !matches!(ty, "MANAGED" | "EXTERNAL" | "VIEW") {
                return Vec::new();
            }
            let mut m = fit_resource("databricks_sql_table", b);
            if ty != "EXTERNAL" {
                m.remove("storage_location"); // the DR metastore places managed tables
            }
            let columns: Vec<Value> = b["columns"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|c| {
                    let mut col = Map::new();
                    col.insert("name".into(), json!(c["name"].as_str()?));
                    col.insert("type".into(), json!(c["type_text"].as_str().or(c["type_name"].as_str())?));
                    for k in ["comment", "nullable"] {
                        if !c[k].is_null() {
                            col.insert(k.into(), c[k].clone());
                        }
                    }
                    Some(Value::Object(col))
                })
                .collect();
            m.remove("column");
            if !columns.is_empty() {
                m.insert("column".into(), Value::Array(columns));
            }
            parent_refs(b, &mut m);
            one("databricks_sql_table", name("table", &o.id), m)
        }
        "registered_models" => one("databricks_mlflow_model", name("model", &o.id), fit_resource("databricks_mlflow_model", b)),
        "experiments" => {
            // A notebook's experiment comes with its notebook; only workspace experiments are
            // resources of their own.
            let tag = |k: &str| {
                b["tags"].as_array().into_iter().flatten().find(|t| t["key"] == k).and_then(|t| t["value"].as_str())
            };
            if matches!(tag("mlflow.experimentType"), Some("NOTEBOOK" | "REPO_NOTEBOOK")) {
                return Vec::new();
            }
            let mut m = Map::new();
            m.insert("name".into(), b["name"].clone());
            // The workspace's default location names the experiment's old id: the DR workspace
            // chooses its own.
            if let Some(l) = b["artifact_location"].as_str().filter(|l| !l.starts_with("dbfs:/databricks/mlflow-tracking/")) {
                m.insert("artifact_location".into(), json!(l));
            }
            if let Some(d) = tag("mlflow.note.content") {
                m.insert("description".into(), json!(d));
            }
            one("databricks_mlflow_experiment", name("experiment", &o.id), m)
        }
        "uc_models" => {
            let mut m = fit_resource("databricks_registered_model", b);
            // Aliases name versions, which are restored with their artifacts, not by Terraform;
            // the storage location of a managed model is the DR metastore's to choose.
            m.remove("aliases");
            m.remove("storage_location");
            parent_refs(b, &mut m);
            one("databricks_registered_model", name("uc_model", &o.id), m)
        }
        "storage_credentials" => one(
            "databricks_storage_credential",
            name("credential", &o.id),
            fit_resource("databricks_storage_credential", b),
        ),
        "workspace_conf" => {
            let config: Map<String, Value> = b
                .as_object()
                .into_iter()
                .flatten()
                .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), json!(s))))
                .collect();
            if config.is_empty() {
                return Vec::new();
            }
            let mut m = Map::new();
            m.insert("custom_config".into(), Value::Object(config));
            one("databricks_workspace_conf", name("workspace_conf", &o.id), m)
        }
        "grants" => {
            let Some((securable, full)) = o.id.split_once('/') else { return Vec::new() };
            let target = match securable {
                "catalog" => json!(format!("${{databricks_catalog.{}.name}}", name("catalog", full))),
                "schema" => json!(format!("${{databricks_schema.{}.id}}", name("schema", full))),
                "volume" => json!(format!("${{databricks_volume.{}.id}}", name("volume", full))),
                "external_location" => {
                    json!(format!("${{databricks_external_location.{}.id}}", name("location", full)))
                }
                "storage_credential" => {
                    json!(format!("${{databricks_storage_credential.{}.id}}", name("credential", full)))
                }
                "table" => json!(format!("${{databricks_sql_table.{}.id}}", name("table", full))),
                "function" => json!(format!("${{databricks_registered_model.{}.id}}", name("uc_model", full))),
                _ => return Vec::new(),
            };
            // Registered models are securables of type `function`; the provider calls them `model`.
            let attr = if securable == "function" { "model" } else { securable };
            let grants: Vec<Value> = b["privilege_assignments"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|g| g["principal"].is_string())
                .map(|g| json!({"principal": g["principal"], "privileges": g["privileges"]}))
                .collect();
            if grants.is_empty() {
                return Vec::new();
            }
            let mut m = Map::new();
            m.insert(attr.into(), target);
            m.insert("grant".into(), Value::Array(grants));
            one("databricks_grants", name(&format!("grants_{securable}"), full), m)
        }
        "permissions" => {
            let split = match o.id.strip_prefix("registered-models/") {
                Some(model) => Some(("registered-models", model)), // a model name may hold `/`
                None => o.id.rsplit_once('/'),
            };
            let Some((api_kind, id)) = split else { return Vec::new() };
            let (attr, target) = match api_kind {
                "jobs" => ("job_id", format!("${{databricks_job.{}.id}}", name("job", id))),
                "clusters" => ("cluster_id", format!("${{databricks_cluster.{}.id}}", name("cluster", id))),
                "cluster-policies" => ("cluster_policy_id", format!("${{databricks_cluster_policy.{}.id}}", name("policy", id))),
                "instance-pools" => ("instance_pool_id", format!("${{databricks_instance_pool.{}.id}}", name("pool", id))),
                "sql/warehouses" => ("sql_endpoint_id", format!("${{databricks_sql_endpoint.{}.id}}", name("warehouse", id))),
                // Workspace objects get new ids in a new workspace: their permissions follow the
                // path, which the export puts beside the access list.
                "notebooks" | "directories" => {
                    let Some(path) = b["path"].as_str() else { return Vec::new() };
                    let (ty, prefix) = if api_kind == "notebooks" { ("notebook", "notebook") } else { ("directory", "directory") };
                    (
                        if api_kind == "notebooks" { "notebook_path" } else { "directory_path" },
                        format!("${{databricks_{ty}.{}.path}}", name(prefix, path)),
                    )
                }
                "repos" => ("repo_id", format!("${{databricks_repo.{}.id}}", name("repo", id))),
                "registered-models" => {
                    ("registered_model_id", format!("${{databricks_mlflow_model.{}.registered_model_id}}", name("model", id)))
                }
                "experiments" => ("experiment_id", format!("${{databricks_mlflow_experiment.{}.id}}", name("experiment", id))),
                _ => return Vec::new(),
            };
            let acl = access_control(b);
            if acl.is_empty() {
                return Vec::new();
            }
            let mut m = Map::new();
            m.insert(attr.into(), json!(target));
            m.insert("access_control".into(), Value::Array(acl));
            one("databricks_permissions", name(&format!("perms_{}", api_kind.replace('/', "_")), id), m)
        }
        "secret_scopes" => {
            let mut m = Map::new();
            m.insert("name".into(), json!(o.id));
            one("databricks_secret_scope", name("scope", &o.id), m)
        }
        "secret_acls" => b["items"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|a| {
                let (p, perm) = (a["principal"].as_str()?, a["permission"].as_str()?);
                Some((
                    "databricks_secret_acl",
                    name("secret_acl", &format!("{}/{p}", o.id)),
                    json!({"scope": format!("${{databricks_secret_scope.{}.name}}", name("scope", &o.id)),
                           "principal": p, "permission": perm}),
                ))
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// The Terraform JSON document of one object, or `None` when it has no Terraform form.
pub fn document(o: &Obj) -> Option<Value> {
    let rs = resources(o);
    if rs.is_empty() {
        return None;
    }
    let mut by_type: Map<String, Value> = Map::new();
    for (ty, n, body) in rs {
        by_type
            .entry(ty.to_string())
            .or_insert_with(|| Value::Object(Map::new()))
            .as_object_mut()
            .map(|m| m.insert(n, body));
    }
    Some(json!({ "resource": by_type }))
}

/// The provider requirement that goes beside the generated files.
pub fn provider_document() -> Value {
    json!({"terraform": {"required_providers": {"databricks": {"source": "databricks/databricks"}}},
           "provider": {"databricks": {}}})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_valid_and_distinct() {
        assert_eq!(name("job", "123"), "job_123");
        let a = name("user", "Alice@example.com");
        let b = name("user", "alice@example.com");
        assert_ne!(a, b);
        for n in [a, b, name("notebook", "/Shared/report über")] {
            assert!(
                n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
                "{n}"
            );
        }
    }

    #[test]
    fn api_shapes_become_blocks() {
        let job = Obj {
            kind: "jobs",
            id: "7".into(),
            body: json!({"job_id": 7, "settings": {"name": "n", "tasks": [{"task_key": "a",
                "notebook_task": {"notebook_path": "/x"}, "libraries": [{"pypi": {"package": "spacy"}}]}],
                "email_notifications": {}, "not_a_field": 1}}),
        };
        let d = document(&job).unwrap();
        let r = &d["resource"]["databricks_job"]["job_7"];
        assert_eq!(r["name"], "n");
        assert_eq!(r["task"][0]["notebook_task"][0]["notebook_path"], "/x");
        assert_eq!(r["task"][0]["library"][0]["pypi"][0]["package"], "spacy");
        assert!(r.get("not_a_field").is_none() && r.get("email_notifications").is_none());
    }
}
