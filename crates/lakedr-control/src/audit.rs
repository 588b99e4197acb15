//! Databricks audit logs (JSON lines, as delivered to
//! `workspaceId=<id>/date=<day>/auditlogs_*.json`) to control-plane changes: which object of
//! which kind a successful mutating request changed. Reads, failed requests and actions this
//! export does not follow are counted, not published; duplicates (one `requestId` seen twice,
//! as when a delivered file is overwritten in place) are dropped.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One changed object. `id` is empty when the change is known only by kind (the next full
/// export captures it: the kind cannot be read one object at a time).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Change {
    pub workspace_id: String,
    pub kind: String,
    pub id: String,
    pub service: String,
    pub action: String,
    pub request_id: String,
    /// Milliseconds since the epoch, from the audit record.
    pub timestamp: u64,
}

/// What a file gave.
#[derive(Debug, Default)]
pub struct Parsed {
    pub changes: Vec<Change>,
    /// Lines that are not audit records, with their line numbers (1-based).
    pub malformed: Vec<(usize, String)>,
    /// Records of services or actions not followed (by `service.action`).
    pub ignored: BTreeMap<String, u64>,
    /// Failed requests (nothing changed).
    pub failed: u64,
    /// Records whose `requestId` was seen before.
    pub duplicates: u64,
}

/// `workspaceId=<id>` from an audit-log key.
pub fn workspace_of(key: &str) -> Option<&str> {
    key.split('/').find_map(|s| s.strip_prefix("workspaceId="))
}

fn param(r: &Value, names: &[&str]) -> Option<String> {
    for n in names {
        match &r["requestParams"][*n] {
            Value::String(s) if !s.is_empty() => return Some(s.clone()),
            Value::Number(x) => return Some(x.to_string()),
            _ => {}
        }
    }
    None
}

/// A field of the response's `result`, which the audit log carries as a JSON string.
fn result_field(r: &Value, name: &str) -> Option<String> {
    let result = &r["response"]["result"];
    let v: Value = match result {
        Value::String(s) => serde_json::from_str(s).ok()?,
        other => other.clone(),
    };
    match &v[name] {
        Value::String(s) => Some(s.clone()),
        Value::Number(x) => Some(x.to_string()),
        _ => None,
    }
}

/// `(kind, id)` changed by a successful request, or `None` when the action changes nothing
/// exported (a read) or is not followed.
pub fn classify(r: &Value) -> Option<(&'static str, String)> {
    let service = r["serviceName"].as_str()?;
    let action = r["actionName"].as_str()?;
    let id = |names: &[&str]| param(r, names);
    Some(match (service, action) {
        ("jobs", "create") => ("jobs", result_field(r, "job_id")?),
        ("jobs", "update" | "reset" | "delete" | "changeJobAcl" | "resetJobAcl") => {
            ("jobs", id(&["job_id", "jobId"])?)
        }
        ("clusters", "create") => ("clusters", result_field(r, "cluster_id")?),
        (
            "clusters",
            "edit" | "delete" | "permanentDelete" | "changeClusterAcl" | "pin" | "unpin" | "rename",
        ) => ("clusters", id(&["cluster_id", "clusterId"])?),
        ("clusterPolicies", "create" | "edit" | "delete" | "changeClusterPolicyAcl") => {
            ("cluster_policies", String::new())
        }
        ("instancePools", "create" | "edit" | "delete" | "changeInstancePoolAcl") => {
            ("instance_pools", String::new())
        }
        (
            "databrickssql",
            "createWarehouse"
            | "editWarehouse"
            | "deleteWarehouse"
            | "createEndpoint"
            | "editEndpoint"
            | "deleteEndpoint"
            | "changeWarehouseAcls"
            | "changeEndpointAcls",
        ) => match id(&["id", "warehouseId", "endpointId"]) {
            Some(i) => ("sql_warehouses", i),
            None => ("sql_warehouses", String::new()),
        },
        ("unityCatalog", "createCatalog") => ("catalogs", id(&["name"])?),
        ("unityCatalog", "updateCatalog" | "deleteCatalog") => {
            ("catalogs", id(&["name_arg", "name"])?)
        }
        ("unityCatalog", "createSchema") => (
            "schemas",
            format!("{}.{}", id(&["catalog_name"])?, id(&["name"])?),
        ),
        ("unityCatalog", "updateSchema" | "deleteSchema") => {
            ("schemas", id(&["full_name_arg", "full_name"])?)
        }
        ("unityCatalog", "createTable") => (
            "tables",
            format!(
                "{}.{}.{}",
                id(&["catalog_name"])?,
                id(&["schema_name"])?,
                id(&["name"])?
            ),
        ),
        ("unityCatalog", "updateTables" | "deleteTable" | "updateTable") => {
            ("tables", id(&["full_name_arg", "full_name"])?)
        }
        ("unityCatalog", "updatePermissions") => {
            let full = id(&["securable_full_name", "full_name_arg"])?;
            let kind = match id(&["securable_type"])?.to_ascii_lowercase().as_str() {
                "catalog" => "catalogs",
                "schema" => "schemas",
                "table" => "tables",
                "volume" => "volumes",
                "external_location" => "external_locations",
                "storage_credential" => "storage_credentials",
                "function" => "uc_models", // registered models are `function` securables
                _ => "grants",
            };
            (
                kind,
                if kind == "grants" {
                    String::new()
                } else {
                    full
                },
            )
        }
        ("unityCatalog", "createVolume") => (
            "volumes",
            format!(
                "{}.{}.{}",
                id(&["catalog_name"])?,
                id(&["schema_name"])?,
                id(&["name"])?
            ),
        ),
        ("unityCatalog", "updateVolume" | "deleteVolume") => {
            ("volumes", id(&["full_name_arg", "name_arg", "full_name"])?)
        }
        ("unityCatalog", "createExternalLocation") => ("external_locations", id(&["name"])?),
        ("unityCatalog", "updateExternalLocation" | "deleteExternalLocation") => {
            ("external_locations", id(&["name_arg", "name"])?)
        }
        ("unityCatalog", "createStorageCredential") => ("storage_credentials", id(&["name"])?),
        ("unityCatalog", "updateStorageCredential" | "deleteStorageCredential") => {
            ("storage_credentials", id(&["name_arg", "name"])?)
        }
        ("workspace", "workspaceConfEdit") => ("workspace_conf", String::new()),
        ("unityCatalog", "createMetastore" | "updateMetastore" | "deleteMetastore") => {
            ("metastore", String::new())
        }
        (
            "accounts",
            "add"
            | "addPrincipalToGroup"
            | "removePrincipalFromGroup"
            | "createGroup"
            | "removeGroup"
            | "delete"
            | "setAdmin"
            | "removeAdmin",
        ) => ("group_members", String::new()),
        (
            "workspace" | "notebook",
            "createNotebook" | "deleteNotebook" | "renameNotebook" | "moveNotebook"
            | "importNotebook" | "restoreNotebook" | "mkdirs" | "delete" | "import"
            | "changeNotebookAcl",
        ) => ("notebooks", String::new()),
        ("repos", "createRepo" | "updateRepo" | "deleteRepo" | "changeRepoAcl") => {
            ("repos", String::new())
        }
        ("secrets", "createScope" | "deleteScope" | "putAcl" | "deleteAcl") => {
            ("secret_scopes", String::new())
        }
        (
            "modelRegistry",
            "createRegisteredModel"
            | "renameRegisteredModel"
            | "deleteRegisteredModel"
            | "createModelVersion"
            | "updateModelVersion"
            | "deleteModelVersion"
            | "transitionModelVersionStage"
            | "setRegisteredModelTag"
            | "deleteRegisteredModelTag"
            | "setModelVersionTag"
            | "deleteModelVersionTag"
            | "updateRegisteredModel"
            | "setRegisteredModelAlias"
            | "deleteRegisteredModelAlias"
            | "changeRegisteredModelAcl",
        ) => ("registered_models", id(&["name"]).unwrap_or_default()),
        (
            "mlflowExperiment",
            "createMlflowExperiment"
            | "deleteMlflowExperiment"
            | "restoreMlflowExperiment"
            | "renameMlflowExperiment"
            | "setExperimentTag"
            | "changeExperimentAcl",
        ) => (
            "experiments",
            id(&["experimentId", "experiment_id"])
                .or_else(|| result_field(r, "experiment_id"))
                .unwrap_or_default(),
        ),
        (
            "unityCatalog",
            "createRegisteredModel"
            | "updateRegisteredModel"
            | "deleteRegisteredModel"
            | "createModelVersion"
            | "updateModelVersion"
            | "deleteModelVersion"
            | "finalizeModelVersion"
            | "setRegisteredModelAlias"
            | "deleteRegisteredModelAlias",
        ) => (
            "uc_models",
            id(&["full_name_arg", "full_name"]).or_else(|| {
                Some(format!(
                    "{}.{}.{}",
                    id(&["catalog_name"])?,
                    id(&["schema_name"])?,
                    id(&["name", "model_name"])?
                ))
            })?,
        ),
        ("featureStore", "createFeatureTable" | "deleteFeatureTable" | "addProducer") => {
            ("feature_tables", id(&["name"]).unwrap_or_default())
        }
        _ => return None,
    })
}

/// Parses one audit-log file. `seen` holds request ids already published for it (or for
/// earlier files); new ones are added.
pub fn parse(workspace_id: &str, text: &str, seen: &mut BTreeSet<String>) -> Parsed {
    let mut out = Parsed::default();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let r: Value = match serde_json::from_str(line) {
            Ok(v @ Value::Object(_)) => v,
            Ok(_) => {
                out.malformed.push((i + 1, "not a JSON object".into()));
                continue;
            }
            Err(e) => {
                out.malformed.push((i + 1, e.to_string()));
                continue;
            }
        };
        let (Some(service), Some(action)) = (r["serviceName"].as_str(), r["actionName"].as_str())
        else {
            out.malformed
                .push((i + 1, "no serviceName or actionName".into()));
            continue;
        };
        let status = r["response"]["statusCode"].as_u64().unwrap_or(200);
        if status >= 400 {
            out.failed += 1;
            continue;
        }
        let Some((kind, id)) = classify(&r) else {
            *out.ignored
                .entry(format!("{service}.{action}"))
                .or_default() += 1;
            continue;
        };
        let request_id = r["requestId"].as_str().unwrap_or_default().to_string();
        if !request_id.is_empty() && !seen.insert(request_id.clone()) {
            out.duplicates += 1;
            continue;
        }
        out.changes.push(Change {
            workspace_id: workspace_id.to_string(),
            kind: kind.to_string(),
            id,
            service: service.to_string(),
            action: action.to_string(),
            request_id,
            timestamp: r["timestamp"].as_u64().unwrap_or_default(),
        });
    }
    // One event per object: the export reads its current state, whatever the number of edits.
    let mut last: BTreeMap<(String, String), Change> = BTreeMap::new();
    for c in out.changes.drain(..) {
        last.insert((c.kind.clone(), c.id.clone()), c);
    }
    out.changes = last.into_values().collect();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(service: &str, action: &str, req: &str, params: Value, status: u64) -> String {
        serde_json::json!({"version": "2.0", "auditLevel": "WORKSPACE_LEVEL", "timestamp": 1764597782000u64,
            "orgId": "1234567890", "serviceName": service, "actionName": action, "requestId": req,
            "userIdentity": {"email": "alice@example.com"}, "sourceIPAddress": "10.0.0.1",
            "requestParams": params, "response": {"statusCode": status, "errorMessage": null,
            "result": if action == "create" && service == "jobs" { Value::String("{\"job_id\":77}".into()) } else { Value::Null }}})
        .to_string()
    }

    #[test]
    fn maps_mutations_drops_reads_failures_duplicates_and_unknowns() {
        let text = [
            rec("jobs", "create", "r1", serde_json::json!({"name": "n"}), 200),
            rec("jobs", "update", "r2", serde_json::json!({"job_id": "12"}), 200),
            rec("jobs", "update", "r2", serde_json::json!({"job_id": "12"}), 200), // duplicate
            rec("jobs", "update", "r3", serde_json::json!({"job_id": "12"}), 200), // same object
            rec("jobs", "get", "r4", serde_json::json!({"job_id": "12"}), 200),    // a read
            rec("clusters", "edit", "r5", serde_json::json!({"cluster_id": "c-1"}), 403), // failed
            rec("unityCatalog", "updatePermissions", "r6",
                serde_json::json!({"securable_type": "SCHEMA", "securable_full_name": "sales.orders"}), 200),
            rec("unityCatalog", "createTable", "r7",
                serde_json::json!({"catalog_name": "sales", "schema_name": "orders", "name": "t1"}), 200),
            rec("unityCatalog", "createVolume", "r10",
                serde_json::json!({"catalog_name": "sales", "schema_name": "orders", "name": "landing"}), 200),
            rec("unityCatalog", "updatePermissions", "r11",
                serde_json::json!({"securable_type": "EXTERNAL_LOCATION", "securable_full_name": "sales_raw"}), 200),
            rec("modelRegistry", "createModelVersion", "r12", serde_json::json!({"name": "churn", "source": "s3://x"}), 200),
            rec("mlflowExperiment", "renameMlflowExperiment", "r13",
                serde_json::json!({"experimentId": "42", "newName": "/Shared/e"}), 200),
            rec("unityCatalog", "createRegisteredModel", "r14",
                serde_json::json!({"catalog_name": "main", "schema_name": "default", "name": "churn_uc"}), 200),
            rec("featureStore", "createFeatureTable", "r15", serde_json::json!({"name": "main.features.customer"}), 200),
            rec("secrets", "putSecret", "r8", serde_json::json!({"scope": "s", "key": "k"}), 200),
            rec("brandNewService", "doThing", "r9", serde_json::json!({}), 200),
            "{not json".to_string(),
        ]
        .join("\n");
        let mut seen = BTreeSet::new();
        let p = parse("1234567890", &text, &mut seen);
        let got: Vec<(String, String)> = p
            .changes
            .iter()
            .map(|c| (c.kind.clone(), c.id.clone()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("experiments".into(), "42".into()),
                ("external_locations".into(), "sales_raw".into()),
                ("feature_tables".into(), "main.features.customer".into()),
                ("jobs".into(), "12".into()),
                ("jobs".into(), "77".into()),
                ("registered_models".into(), "churn".into()),
                ("schemas".into(), "sales.orders".into()),
                ("tables".into(), "sales.orders.t1".into()),
                ("uc_models".into(), "main.default.churn_uc".into()),
                ("volumes".into(), "sales.orders.landing".into()),
            ]
        );
        assert_eq!((p.duplicates, p.failed), (1, 1));
        assert_eq!(p.malformed.len(), 1);
        assert_eq!(p.malformed[0].0, 17);
        assert_eq!(p.ignored["jobs.get"], 1);
        assert_eq!(
            p.ignored["secrets.putSecret"], 1,
            "a secret value change is never followed"
        );
        assert_eq!(p.ignored["brandNewService.doThing"], 1);
        // The same file again (overwritten in place): nothing new.
        let again = parse("1234567890", &text, &mut seen);
        assert!(
            again.changes.is_empty() && again.duplicates == 12,
            "{again:?}"
        );
        assert_eq!(
            workspace_of("logs/workspaceId=42/date=2026-12-01/auditlogs_x.json"),
            Some("42")
        );
    }
}
