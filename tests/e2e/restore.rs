//! The control plane as a restore in the DR region: the Terraform of the fake workspace (the
//! exporter fixtures, the documented shapes, the built-ins a workspace has, the account level)
//! checked against the provider's own schema, every reference declared, nothing of the primary
//! region left (its buckets, its region, the ids it gave), every field of every exported object
//! carried or left out with a reason; new kinds exported and tombstoned; an audit-log corpus
//! followed object by object.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use lakedr::store::{ObjectUrl, Stores};
use lakedr_control::audit::parse;
use lakedr_control::export::{AccountApi, Destination, Manifest, RunOptions, export_full};
use lakedr_control::{Auth, ClientConfig, DatabricksClient, Kind, TfConfig};
use lakedr_tests::fake_workspace::{CLIENT_ID, CLIENT_SECRET, FakeWorkspace, PAT};
use serde_json::{Value, json};

use crate::control::terraform_report;

/// The rules the data plane would have for the fake's buckets, and the DR workspace.
const CONFIG: &str = r#"
[[rule]]
name = "metastore"
source = "s3://uc-metastore-us-east-1/"
destination = "s3://acme-dr-us-west-2/uc-metastore/"

[[rule]]
name = "lake"
source = "s3://acme-datalake-us-east-1/"
destination = "s3://acme-dr-us-west-2/datalake/"

[[rule]]
name = "models"
source = "s3://uc-root/"
destination = "s3://acme-dr-us-west-2/uc-root/"

[[rule]]
name = "sales"
source = "s3://sales-lake/"
destination = "s3://acme-dr-us-west-2/sales-lake/"

[dr]
region = "us-west-2"
zone_id = "us-west-2a"
metastore_storage_root = "s3://acme-dr-uc-us-west-2/metastore"
workspace_id = "5678"
credentials_role_arn = "arn:aws:iam::123456789012:role/databricks-cross-account-dr"
root_bucket = "acme-dbx-root-us-west-2"
vpc_id = "vpc-0dr"
subnet_ids = ["subnet-0dr1", "subnet-0dr2"]
security_group_ids = ["sg-0dr"]

[dr.instance_profiles]
"arn:aws:iam::12345:instance-profile/shard-s3-access" = "arn:aws:iam::12345:instance-profile/shard-s3-access-dr"
"123" = "arn:aws:iam::12345:instance-profile/pipelines-dr"

[dr.storage_credential_roles]
sales_cred = "arn:aws:iam::123456789012:role/uc-sales-dr"
lakedr-replicas = "arn:aws:iam::123456789012:role/uc-replicas-dr"
"#;

/// The primary's buckets and region.
const PRIMARY: &[&str] = &[
    "uc-metastore-us-east-1",
    "acme-datalake-us-east-1",
    "sales-lake",
    "uc-root",
    "us-east-1",
];

fn client(fake: &FakeWorkspace) -> DatabricksClient {
    let mut cfg = ClientConfig::new(&fake.url, Auth::Token(PAT.into()));
    cfg.requests_per_second = 0.0;
    cfg.max_backoff = std::time::Duration::from_millis(200);
    DatabricksClient::new(cfg).unwrap()
}

/// The account API of the fake (only OAuth tokens of the account's token endpoint pass).
fn account(fake: &FakeWorkspace) -> AccountApi {
    let mut cfg = ClientConfig::new(
        &fake.url,
        Auth::OAuth {
            client_id: CLIENT_ID.into(),
            client_secret: CLIENT_SECRET.into(),
        },
    );
    cfg.requests_per_second = 0.0;
    AccountApi {
        api: std::sync::Arc::new(
            DatabricksClient::new(cfg.for_account(&fake.url, "acct-1234")).unwrap(),
        ),
        account_id: "acct-1234".into(),
        workspace_id: "1234".into(),
    }
}

fn options(config: &lakedr::Config, fake: &FakeWorkspace) -> RunOptions {
    RunOptions {
        terraform: TfConfig::new(config),
        account: Some(account(fake)),
        ..RunOptions::default()
    }
}

fn dest(dir: &Path) -> Destination {
    Destination::new(
        Stores::new(None),
        &ObjectUrl::local(dir.to_str().unwrap(), ""),
        "prod-ws",
    )
}

/// Every `*.tf.json` of a directory, by file name.
fn documents(dir: &Path) -> BTreeMap<String, Value> {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| {
            let p = e.unwrap().path();
            let n = p.file_name()?.to_str()?.to_string();
            n.ends_with(".tf.json").then(|| {
                (
                    n,
                    serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap(),
                )
            })
        })
        .collect()
}

/// Every string of a value, and whether it is inside a `${...}` expression as a whole.
fn strings<'v>(v: &'v Value, out: &mut Vec<&'v str>) {
    match v {
        Value::String(s) => out.push(s),
        Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
        Value::Object(m) => m.values().for_each(|x| strings(x, out)),
        _ => {}
    }
}

/// A string with its `${...}` expressions removed: what Terraform takes literally.
fn literal(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find("${") {
        out.push_str(&rest[..i]);
        rest = rest[i..].find('}').map_or("", |j| &rest[i + j + 1..]);
    }
    out.push_str(rest);
    out
}

/// The scalar leaves of a value: `(path with [] for arrays, value)`.
fn leaves(v: &Value, path: String, out: &mut Vec<(String, Value)>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                leaves(
                    x,
                    if path.is_empty() {
                        k.clone()
                    } else {
                        format!("{path}.{k}")
                    },
                    out,
                );
            }
        }
        Value::Array(a) => a.iter().for_each(|x| leaves(x, format!("{path}[]"), out)),
        Value::Null => {}
        Value::String(s) if s.is_empty() => {}
        other => out.push((path, other.clone())),
    }
}

/// The DR copy of a location by the rules' prefixes (the test's own reading of the rules).
fn dr_of(config: &lakedr::Config, s: &str) -> Option<String> {
    let s = s
        .strip_prefix("s3a://")
        .map_or(s.to_string(), |r| format!("s3://{r}"));
    config
        .rules
        .iter()
        .filter_map(|r| {
            let src = r.source.to_string();
            let dir = if s.ends_with('/') {
                s.clone()
            } else {
                format!("{s}/")
            };
            dir.strip_prefix(&src)
                .map(|rel| (src.len(), format!("{}{rel}", r.destination)))
        })
        .max()
        .map(|(_, d)| {
            if s.ends_with('/') {
                d
            } else {
                d.trim_end_matches('/').to_string()
            }
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_terraform_restores_the_workspace_in_the_dr_region() {
    let fake = FakeWorkspace::start(&[]);
    let config = lakedr::Config::from_text(CONFIG).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let d = dest(dir.path());
    let opts = options(&config, &fake);
    let m = export_full(&client(&fake), &d, &opts).await.unwrap();
    assert_eq!(
        m.errors.len(),
        1,
        "only the fixture job that is not JSON: {:?}",
        m.errors
    );
    for kind in [
        "pipelines",
        "queries",
        "alerts",
        "dashboards",
        "global_init_scripts",
        "serving_endpoints",
        "ip_access_lists",
        "instance_profiles",
        "libraries",
        "secrets",
        "workspace_files",
        "account_workspaces",
        "account_users",
        "account_groups",
        "account_service_principals",
    ] {
        assert!(
            m.counts.get(kind).copied().unwrap_or(0) >= 1,
            "{kind}: {:?}",
            m.counts
        );
    }
    // Git folders: 45 under /Repos (three pages of 20 by next_page_token) and one elsewhere.
    assert_eq!(m.counts["repos"], 46, "{:?}", m.counts);
    assert!(m.objects.contains_key("repos/3340021112223334"));
    // Members of a large group, which the list leaves out, are read with the group.
    assert!(
        m.objects
            .keys()
            .filter(|k| k.starts_with("group_members/2003/"))
            .count()
            > 100
    );

    let tf = tempfile::tempdir().unwrap();
    let written = lakedr_control::terraform_dir(&d, tf.path(), &config.dr)
        .await
        .unwrap();
    assert!(written.problems.is_empty(), "{:#?}", written.problems);
    // Left out: only what hangs on objects that are not restored (grants of the foreign and
    // shared catalogs, of the managed table no rule covers...).
    for l in &written.left_out {
        assert!(
            [
                "databricks_grants",
                "databricks_permissions",
                "databricks_group_member",
                "databricks_library",
                "databricks_secret"
            ]
            .iter()
            .any(|t| l.contains(t)),
            "{l}"
        );
    }
    // Variables: all have defaults from [dr], but the secrets' values and the account id.
    for v in &written.variables_without_default {
        assert!(
            v.starts_with("secret_") || v == "databricks_account_id",
            "{v} has no default: {written:?}"
        );
    }
    let vars: Value =
        serde_json::from_slice(&std::fs::read(tf.path().join("variables.tf.json")).unwrap())
            .unwrap();
    assert_eq!(vars["variable"]["dr_region"]["default"], "us-west-2");
    assert_eq!(vars["variable"]["dr_unpause"]["default"], false);

    // 1. The provider's checks: 0 problems.
    let report = terraform_report(tf.path());
    assert_eq!(report["ok"], true, "{report:#}");
    for (ty, at_least) in [
        ("databricks_pipeline", 3),
        ("databricks_query", 2),
        ("databricks_alert", 2),
        ("databricks_dashboard", 2),
        ("databricks_global_init_script", 2),
        ("databricks_model_serving", 1),
        ("databricks_ip_access_list", 2),
        ("databricks_instance_profile", 1),
        ("databricks_library", 4),
        ("databricks_secret", 1),
        ("databricks_workspace_file", 1),
        ("databricks_repo", 46),
        ("databricks_mws_workspaces", 1),
        ("databricks_mws_networks", 1),
        ("databricks_metastore_assignment", 1),
        ("databricks_permission_assignment", 1),
        ("databricks_sql_table", 4),
    ] {
        let got = report["resources"][ty].as_u64().unwrap_or(0);
        assert!(
            got >= at_least,
            "{ty}: {got} of at least {at_least}: {report}"
        );
    }

    let docs = documents(tf.path());
    let resource = |file: &str, ty: &str| -> Value {
        let doc = docs
            .get(file)
            .unwrap_or_else(|| panic!("{file} not written: {:?}", docs.keys()));
        let by_name = doc["resource"][ty]
            .as_object()
            .unwrap_or_else(|| panic!("{file}: no {ty}: {doc}"));
        by_name.values().next().unwrap().clone()
    };

    // 2. Nothing of the primary region: no bucket, no region; no id the primary gave to an
    // object the export restores (those are references now).
    let restored_ids: BTreeSet<String> = m
        .objects
        .keys()
        .filter_map(|k| {
            let (kind, id) = k.split_once('/')?;
            matches!(
                kind,
                "clusters"
                    | "instance_pools"
                    | "cluster_policies"
                    | "sql_warehouses"
                    | "pipelines"
                    | "jobs"
                    | "queries"
                    | "alerts"
                    | "dashboards"
                    | "repos"
                    | "global_init_scripts"
                    | "ip_access_lists"
            )
            .then(|| id.to_string())
        })
        .collect();
    // Ids the primary names of objects it does not have stay as they are (noted).
    let dangling: BTreeSet<String> = written
        .notes
        .iter()
        .filter(|n| n.contains("which the workspace does not have"))
        .filter_map(|n| n.split('`').nth(1).map(str::to_owned))
        .collect();
    for (file, doc) in &docs {
        if file == "variables.tf.json" || file == "provider.tf.json" {
            continue;
        }
        let mut all = Vec::new();
        strings(doc, &mut all);
        for s in all {
            let lit = literal(s);
            for p in PRIMARY {
                assert!(!lit.contains(p), "{file}: `{s}` names the primary's {p}");
            }
            assert!(
                !restored_ids.contains(lit.as_str()) || dangling.contains(lit.as_str()),
                "{file}: `{s}` is a primary id"
            );
        }
    }

    // 3. Built-ins are not resources: the admins and users groups, the default policies, the
    // internal, system, foreign and shared catalogs; the principal running the export.
    for (file, ty) in [
        ("groups__2002.tf.json", "databricks_group"),
        ("groups__2003.tf.json", "databricks_group"),
        (
            "cluster_policies__001D2A3B4C5D6E7F.tf.json",
            "databricks_cluster_policy",
        ),
        (
            "service_principals__3001.tf.json",
            "databricks_service_principal",
        ),
    ] {
        assert!(docs[file]["resource"].is_null(), "{file}: {}", docs[file]);
        assert!(docs[file]["data"][ty].is_object(), "{file}: {}", docs[file]);
    }
    for c in ["__databricks_internal", "pg_erp", "partner_prices"] {
        assert!(!docs.contains_key(&format!("catalogs__{c}.tf.json")), "{c}");
    }
    assert!(
        m.objects.contains_key("catalogs/pg_erp"),
        "exported as a snapshot still"
    );
    // An account group is given to the workspace, not created in it.
    assert!(
        resource("groups__2004.tf.json", "databricks_permission_assignment")["principal_id"]
            == "2004"
    );
    // No direct admins entry in any access list or grant.
    for (file, doc) in &docs {
        for ty in ["databricks_permissions", "databricks_grants"] {
            for (_, r) in doc["resource"][ty].as_object().into_iter().flatten() {
                let text = r.to_string();
                assert!(!text.contains("\"admins\""), "{file}: {text}");
            }
        }
    }

    // 4. Ids become references; storage becomes its DR copy.
    let job = resource("jobs__1100.tf.json", "databricks_job");
    let tasks: BTreeMap<&str, &Value> = job["task"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["task_key"].as_str().unwrap(), t))
        .collect();
    assert_eq!(
        tasks["dims"]["pipeline_task"][0]["pipeline_id"],
        format!(
            "${{databricks_pipeline.{}.id}}",
            lakedr_control::terraform::name("pipeline", "4b2d6f80-1a3c-4e5f-9a7b-c8d9e0f1a2b3")
        )
    );
    assert!(
        tasks["report"]["sql_task"][0]["warehouse_id"]
            .as_str()
            .unwrap()
            .starts_with("${databricks_sql_endpoint.")
    );
    assert!(
        tasks["report"]["sql_task"][0]["query"][0]["query_id"]
            .as_str()
            .unwrap()
            .starts_with("${databricks_query.")
    );
    assert_eq!(
        tasks["adhoc"]["existing_cluster_id"],
        "${databricks_cluster.cluster_awscluster.id}"
    );
    let sched = resource("jobs__14.tf.json", "databricks_job");
    assert_eq!(
        sched["schedule"][0]["pause_status"],
        "${var.dr_unpause ? \"UNPAUSED\" : \"PAUSED\"}"
    );
    let east = resource(
        "clusters__0101-120000-etl01east.tf.json",
        "databricks_cluster",
    );
    assert_eq!(
        east["spark_version"], "15.4.x-scala2.12",
        "required by the provider"
    );
    assert_eq!(east["aws_attributes"][0]["zone_id"], "${var.dr_zone_id}");
    assert!(
        east["aws_attributes"][0]["instance_profile_arn"]
            .as_str()
            .unwrap()
            .contains("var.dr_instance_profiles")
    );
    let aws = resource("clusters__awscluster.tf.json", "databricks_cluster");
    assert!(
        aws["autoscale"].is_array() && aws.get("num_workers").is_none(),
        "autoscale, not both: {aws}"
    );
    let policy = resource("cluster_policies__123.tf.json", "databricks_cluster_policy");
    let def: Value = serde_json::from_str(policy["definition"].as_str().unwrap()).unwrap();
    assert!(
        def["instance_pool_id"]["value"]
            .as_str()
            .unwrap()
            .starts_with("${databricks_instance_pool."),
        "{def}"
    );
    let loc = resource(
        "external_locations__sales_raw.tf.json",
        "databricks_external_location",
    );
    assert_eq!(loc["url"], "s3://acme-dr-us-west-2/datalake/raw/");
    let customers = resource(
        "tables__main.default.customers.tf.json",
        "databricks_sql_table",
    );
    assert_eq!(
        customers["table_type"], "EXTERNAL",
        "a managed table is declared over its DR copy, never recreated empty"
    );
    assert!(
        customers["storage_location"]
            .as_str()
            .unwrap()
            .starts_with("s3://acme-dr-us-west-2/uc-metastore/metastore/__unitystorage/")
    );
    let replica = customers["depends_on"][0]
        .as_str()
        .unwrap()
        .split('.')
        .nth(1)
        .unwrap()
        .to_string();
    let replicas: Vec<&Value> = docs
        .values()
        .filter_map(|d| d["resource"]["databricks_external_location"].get(&replica))
        .collect();
    assert_eq!(
        replicas.len(),
        1,
        "the replica location {replica} is declared once"
    );
    assert_eq!(
        replicas[0]["url"],
        "s3://acme-dr-us-west-2/uc-metastore/metastore"
    );
    let metastore = resource(
        "metastore__11111111-2222-3333-4444-555555555555.tf.json",
        "databricks_metastore",
    );
    assert_eq!(
        (&metastore["region"], &metastore["storage_root"]),
        (
            &json!("${var.dr_region}"),
            &json!("${var.dr_metastore_storage_root}")
        )
    );
    let twin = resource(
        "account_workspaces__1234.tf.json",
        "databricks_mws_workspaces",
    );
    assert_eq!(
        (&twin["aws_region"], &twin["provider"]),
        (&json!("${var.dr_region}"), &json!("databricks.account"))
    );
    let secret = resource("secrets__some-kv-scope.tf.json", "databricks_secret");
    assert!(
        secret["string_value"]
            .as_str()
            .unwrap()
            .starts_with("${var.secret_"),
        "values are variables: {secret}"
    );

    // 5. Fidelity: every field of every exported object its resource can carry is carried, or
    // the kind says why not.
    fidelity(&d, &m, &config).await;
}

/// Each scalar of an exported object appears in its Terraform (as a value, inside a string,
/// or as its DR copy), unless its field (or a field above it) is one the kind leaves out with a
/// reason.
async fn fidelity(d: &Destination, m: &Manifest, config: &lakedr::Config) {
    let mut dropped = Vec::new();
    let mut checked = 0;
    for (key, e) in &m.objects {
        let Some(tf_file) = &e.terraform else {
            continue;
        };
        let (kind, _) = key.split_once('/').unwrap();
        let kind = Kind::parse(kind).unwrap();
        let body: Value = serde_json::from_slice(&d.read(&e.file).await.unwrap()).unwrap();
        let doc: Value = serde_json::from_slice(&d.read(tf_file).await.unwrap()).unwrap();
        if doc["resource"].is_null() {
            continue; // a data source: the DR workspace has it
        }
        let mut tf_strings = Vec::new();
        strings(&doc["resource"], &mut tf_strings);
        let mut tf_leaves = Vec::new();
        leaves(&doc["resource"], String::new(), &mut tf_leaves);
        let omitted = kind.spec().omitted();
        // The documented rules of access lists and grants: the admins group's entries and
        // inherited levels are never restored.
        let mut body = body;
        for list in ["access_control_list", "privilege_assignments"] {
            if let Some(a) = body[list].as_array_mut() {
                a.retain(|e| e["group_name"] != "admins" && e["principal"] != "admins");
                for e in a.iter_mut() {
                    if let Some(p) = e["all_permissions"].as_array_mut() {
                        p.retain(|p| p["inherited"] != true);
                    }
                }
            }
        }
        // JSON held in a string (a policy definition) is compared value by value.
        let mut api = Vec::new();
        let mut expanded = Vec::new();
        leaves(&body, String::new(), &mut expanded);
        for (path, v) in expanded {
            match v
                .as_str()
                .and_then(|s| serde_json::from_str::<Value>(s).ok())
                .filter(Value::is_object)
            {
                Some(inner) => leaves(&inner, path, &mut api),
                None => api.push((path, v)),
            }
        }
        // A value the DR variables give (a zone, an instance profile, a role): carried at the
        // same place, as a variable.
        let normal = |p: &str| -> String {
            p.replace("[]", "")
                .split('.')
                .map(|s| s.trim_end_matches('s').to_string())
                .collect::<Vec<_>>()
                .join(".")
        };
        let by_variable: BTreeSet<String> = tf_leaves
            .iter()
            .filter(|(_, x)| x.as_str().is_some_and(|s| s.contains("var.")))
            .map(|(p, _)| {
                // Resource paths start with the type and the name.
                let p: Vec<&str> = p.splitn(3, '.').collect();
                normal(p.get(2).copied().unwrap_or_default())
            })
            .collect();
        for (path, v) in api {
            checked += 1;
            let bare = path.replace("[]", "");
            if omitted
                .iter()
                .any(|(f, _)| bare == *f || bare.starts_with(&format!("{f}.")))
            {
                continue;
            }
            let text = match &v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            let dr = dr_of(config, &text);
            let clean: String = text
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() {
                        c.to_ascii_lowercase()
                    } else {
                        '_'
                    }
                })
                .collect();
            let tail = |p: &str| -> String {
                // The API object's path may sit under a wrapper (a job's settings, a spec).
                let n = normal(p);
                n.split_once('.').map(|(_, t)| t.to_string()).unwrap_or(n)
            };
            let carried = tf_leaves.iter().any(|(_, x)| x == &v)
                || by_variable.contains(&normal(&path))
                || by_variable.contains(&tail(&path))
                || tf_strings.iter().any(|s| s.contains(&text) || dr.as_ref().is_some_and(|d| s.contains(d.as_str())))
                // an id referenced by its resource's name
                || (clean.len() > 3 && tf_strings.iter().any(|s| s.starts_with("${") && s.contains(&clean)));
            if !carried {
                dropped.push(format!("{key}: {path} = {text}"));
            }
        }
    }
    assert!(checked > 2000, "{checked} fields checked");
    assert!(
        dropped.is_empty(),
        "{} fields dropped without a reason:\n{}",
        dropped.len(),
        dropped.join("\n")
    );
}

/// An audit-log corpus (`tests/py/audit_corpus.jsonl`: every action the issue of following
/// objects by id lists, with their documented parameters, failures, reads, other workspaces)
/// gives, record by record, the changes `tests/py/audit_corpus_expected.json` names (written
/// from the audit-log reference, each with why). The ids records give another way (a workspace
/// object's number, a serving endpoint's id) are resolved through the latest export. The same
/// from the command line (`lakedr audit`), one JSON line per change.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_corpus_gives_every_changed_object_by_id() {
    let fake = FakeWorkspace::start(&[]);
    let config = lakedr::Config::from_text(CONFIG).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let d = dest(dir.path());
    export_full(&client(&fake), &d, &options(&config, &fake))
        .await
        .unwrap();
    let index = lakedr_control::functions::index_of(&d).await.unwrap();

    let corpus_path = lakedr_tests::repo_root().join("tests/py/audit_corpus.jsonl");
    let corpus = std::fs::read_to_string(&corpus_path).unwrap();
    let expected: BTreeMap<String, Value> = serde_json::from_str(
        &std::fs::read_to_string(
            lakedr_tests::repo_root().join("tests/py/audit_corpus_expected.json"),
        )
        .unwrap(),
    )
    .unwrap();
    // Each record alone (the dedup of one file would merge the same object's records).
    let mut records: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for line in corpus.lines().filter(|l| !l.trim().is_empty()) {
        let v: Value = serde_json::from_str(line).unwrap();
        records
            .entry(v["requestId"].as_str().unwrap().to_string())
            .or_default()
            .push(line);
    }
    assert_eq!(
        records.keys().collect::<BTreeSet<_>>(),
        expected.keys().collect::<BTreeSet<_>>(),
        "the corpus and its expectations name the same records"
    );
    let mut by_id = 0;
    let mut wrong = Vec::new();
    for (label, lines) in &records {
        let mut seen = BTreeSet::new();
        let parsed = parse("1234", &lines.join("\n"), &mut seen, &index);
        let got: BTreeSet<(String, String, String)> = parsed
            .changes
            .iter()
            .map(|c| (c.workspace_id.clone(), c.kind.clone(), c.id.clone()))
            .collect();
        let e = &expected[label];
        let want: BTreeSet<(String, String, String)> = e["changes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    e["workspace_id"].as_str().unwrap().to_string(),
                    c[0].as_str().unwrap().to_string(),
                    c[1].as_str().unwrap().to_string(),
                )
            })
            .collect();
        if got != want {
            wrong.push(format!(
                "{label}: got {got:?}, want {want:?} ({})",
                e["why"]
            ));
        }
        by_id += got.iter().filter(|(_, _, id)| !id.is_empty()).count();
    }
    assert!(
        wrong.is_empty(),
        "{} records:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    assert!(by_id >= 120, "{by_id} changes by id");

    // The command line: the corpus as one delivered file of workspace 1234.
    let logs = tempfile::tempdir().unwrap();
    let file = logs
        .path()
        .join("workspaceId=1234/date=2026-01-01/auditlogs_corpus.json");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::copy(&corpus_path, &file).unwrap();
    let out = std::process::Command::new(lakedr_tests::workspace_binary("lakedr"))
        .args(["--json", "audit"])
        .arg(&file)
        .args([
            "--export",
            dir.path().to_str().unwrap(),
            "--workspace",
            "prod-ws",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let cli: BTreeSet<(String, String)> = lines
        .iter()
        .map(|l| {
            (
                l["kind"].as_str().unwrap().to_string(),
                l["id"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let all: BTreeSet<(String, String)> = expected
        .values()
        .flat_map(|e| e["changes"].as_array().unwrap().iter())
        .map(|c| {
            (
                c[0].as_str().unwrap().to_string(),
                c[1].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(cli, all, "the file's changes, one per object");
    for l in &lines {
        assert!(
            l["workspace_id"].is_string() && l["action"].as_str().unwrap().contains('.'),
            "{l}"
        );
    }
    // As text: one readable line per change, no Debug dump.
    let text = std::process::Command::new(lakedr_tests::workspace_binary("lakedr"))
        .arg("audit")
        .arg(&file)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("1234 jobs/14 (jobs."), "{text}");
    assert!(!text.contains("Some(") && !text.contains("{ "), "{text}");
}

/// Each kind the export gained is exported with its permissions where it has them, becomes a
/// tombstone when the workspace deletes it, and is followed alone after a change; and the
/// Terraform of a workspace of the benchmark's shape (generated jobs, notebooks and tables)
/// passes the provider's checks as well.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_kinds_are_exported_tombstoned_and_read_alone() {
    let fake = FakeWorkspace::start(&["--jobs", "40", "--notebooks", "40", "--tables", "40"]);
    let config = lakedr::Config::from_text(CONFIG).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let d = dest(dir.path());
    let opts = options(&config, &fake);
    let c = client(&fake);
    let first = export_full(&c, &d, &opts).await.unwrap();
    let gone: [(&str, &str, &str); 11] = [
        (
            "pipelines",
            "pipelines",
            "9e1c4f3a-6b2d-4c8e-a7f0-3d5b1e2c4a6f",
        ),
        ("queries", "queries", "7b3e5f1a-2c4d-4e6f-8a9b-0c1d2e3f4a5b"),
        ("alerts", "alerts", "e5d4c3b2-a190-4f8e-8d7c-6b5a49382716"),
        (
            "dashboards",
            "dashboards",
            "01ef2b1c3d4e5f60a7b8c9d0e1f2a3b5",
        ),
        ("repos", "repos", "3340021112223334"),
        (
            "global-init-scripts",
            "global_init_scripts",
            "F931E63C248C1D8C",
        ),
        ("serving-endpoints", "serving_endpoints", "churn-scoring"),
        (
            "ip-access-lists",
            "ip_access_lists",
            "0f9e8d7c-6b5a-4948-8372-615049382716",
        ),
        (
            "workspace",
            "workspace_files",
            "/Users/alice@example.com/helpers.py",
        ),
        ("libraries", "libraries", "0101-120000-etl01east"),
        (
            "instance-profiles",
            "instance_profiles",
            "arn:aws:iam::12345:instance-profile/shard-s3-access",
        ),
    ];
    for (_, kind, id) in gone {
        assert!(
            first.objects.contains_key(&format!("{kind}/{id}")),
            "{kind}/{id} not exported"
        );
    }
    for (kind, acl) in [
        ("pipelines", "pipelines"),
        ("queries", "queries"),
        ("serving_endpoints", "serving-endpoints"),
    ] {
        let id = gone.iter().find(|g| g.1 == kind).unwrap().2;
        assert!(
            first
                .objects
                .contains_key(&format!("permissions/{acl}/{id}")),
            "{kind}: no permissions"
        );
    }
    // Secret scopes: the key names, never a value.
    let keys: Value = serde_json::from_slice(
        &d.read(&first.objects["secrets/some-kv-scope"].file)
            .await
            .unwrap(),
    )
    .unwrap();
    assert_eq!(keys["keys"], json!(["some-secret"]));

    // The benchmark's shape passes the checks too.
    let tf = tempfile::tempdir().unwrap();
    let written = lakedr_control::terraform_dir(&d, tf.path(), &config.dr)
        .await
        .unwrap();
    assert!(written.problems.is_empty(), "{:?}", written.problems);
    let report = terraform_report(tf.path());
    assert_eq!(report["ok"], true, "{report:#}");
    assert!(
        report["resources"]["databricks_job"].as_u64().unwrap() >= 40,
        "{report}"
    );

    // Read alone after a change: the same bytes as the full export's.
    for (_, kind, id) in gone {
        let one = lakedr_control::export_one(&c, &d, Kind::parse(kind).unwrap(), id, &opts)
            .await
            .unwrap();
        assert_eq!(
            one.written,
            0,
            "{kind}/{id} read alone differs from the full export's: {:?}",
            one.objects.get(&format!("{kind}/{id}"))
        );
    }

    for (coll, _, id) in gone {
        let path = format!("/_fake/objects/{coll}/{}", lakedr_control::obj::enc(id));
        assert_eq!(
            fake.control("DELETE", &path, &Value::Null)["removed"],
            true,
            "{coll}/{id}"
        );
    }
    let after = export_full(&c, &d, &opts).await.unwrap();
    for (_, kind, id) in gone {
        let key = format!("{kind}/{id}");
        assert!(!after.objects.contains_key(&key), "{key} still there");
        assert!(after.tombstones.contains_key(&key), "{key}: no tombstone");
    }
    // The permissions of a deleted pipeline go with it.
    assert!(
        after
            .tombstones
            .contains_key("permissions/pipelines/9e1c4f3a-6b2d-4c8e-a7f0-3d5b1e2c4a6f")
    );
    assert!(after.errors.len() <= 1, "{:?}", after.errors);
}
