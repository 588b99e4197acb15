//! Control-plane export against a fake workspace on loopback that answers with the real API's
//! shapes (the exporter fixtures), pages, throttles, fails and expires tokens.

use std::collections::BTreeMap;
use std::path::Path;

use lakedr::store::{ObjectUrl, Stores};
use lakedr_control::export::{Destination, Manifest, RunOptions, export_full, export_one};
use lakedr_control::{Auth, ClientConfig, DatabricksClient, Kind};
use lakedr_tests::fake_workspace::{CLIENT_ID, CLIENT_SECRET, FakeWorkspace, PAT, PLANTED_SECRET};
use serde_json::{Value, json};

fn client(fake: &FakeWorkspace, auth: Auth) -> DatabricksClient {
    let mut cfg = ClientConfig::new(&fake.url, auth);
    cfg.requests_per_second = 0.0;
    cfg.max_backoff = std::time::Duration::from_millis(200);
    DatabricksClient::new(cfg).unwrap()
}

fn local_dest(dir: &Path) -> Destination {
    Destination::new(
        Stores::new(None),
        &ObjectUrl::local(dir.to_str().unwrap(), ""),
        "prod-ws",
    )
}

/// Every file under `dir`, relative, sorted.
fn files(dir: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                out.push(p.strip_prefix(root).unwrap().to_string_lossy().into_owned());
            }
        }
    }
    let mut out = Vec::new();
    if dir.exists() {
        walk(dir, dir, &mut out);
    }
    out.sort();
    out
}

async fn object(dest: &Destination, m: &Manifest, key: &str) -> Value {
    let e = m
        .objects
        .get(key)
        .unwrap_or_else(|| panic!("{key} not exported"));
    serde_json::from_slice(&dest.read(&e.file).await.unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_export_then_unchanged_changed_and_deleted_objects() {
    let fake = FakeWorkspace::start(&[]);
    let c = client(&fake, Auth::Token(PAT.into()));
    let dir = tempfile::tempdir().unwrap();
    let dest = local_dest(dir.path());
    let opts = RunOptions::default();

    // 1. Everything is captured, with the shapes the API returns.
    let first = export_full(&c, &dest, &opts).await.unwrap();
    let jobs: Vec<&str> = first
        .objects
        .keys()
        .filter_map(|k| k.strip_prefix("jobs/"))
        .collect();
    let mut want_jobs = vec![
        "1100",
        "12",
        "14",
        "15",
        "17",
        "900",
        "1047501313827425",
        "932035899730845",
    ];
    want_jobs.sort();
    assert_eq!(jobs, want_jobs, "{:?}", first.errors);
    // The fixture job whose body is invalid JSON is an error naming it; nothing else failed.
    assert_eq!(first.errors.len(), 1, "{:#?}", first.errors);
    let e = &first.errors[0];
    assert!(
        e.kind == "jobs"
            && e.id == "16"
            && e.error.contains("job_id=16")
            && e.error.contains("not JSON"),
        "{e:?}"
    );
    for (kind, at_least) in [
        ("users", 123),
        ("groups", 2),
        ("group_members", 4),
        ("service_principals", 1),
        ("clusters", 4),
        ("cluster_policies", 1),
        ("instance_pools", 1),
        ("sql_warehouses", 1),
        ("notebooks", 2),
        ("directories", 1),
        ("repos", 1),
        ("metastore", 1),
        ("catalogs", 2),
        ("schemas", 2),
        ("volumes", 2),
        ("external_locations", 1),
        ("storage_credentials", 1),
        ("workspace_conf", 1),
        ("grants", 7),
        ("secret_scopes", 1),
        ("secret_acls", 1),
        ("tables", 2),
        ("uc_models", 1),
        ("uc_model_versions", 1),
        ("feature_tables", 1),
    ] {
        let n = first.counts.get(kind).copied().unwrap_or(0);
        assert!(
            n >= at_least,
            "{kind}: {n} exported, expected {at_least}: {:?}",
            first.counts
        );
    }
    // Job 900 has 150 tasks, served 100 per page.
    let wide = object(&dest, &first, "jobs/900").await;
    assert_eq!(wide["settings"]["tasks"].as_array().unwrap().len(), 150);
    // Permissions of every job, grants of every catalog, run state stripped from clusters.
    for id in &want_jobs {
        assert!(
            first
                .objects
                .contains_key(&format!("permissions/jobs/{id}")),
            "{id}"
        );
    }
    let grants = object(&dest, &first, "grants/catalog/sales").await;
    assert_eq!(grants["privilege_assignments"][0]["principal"], "data-eng");
    let cluster = object(&dest, &first, "clusters/test1").await;
    assert!(cluster.get("state").is_none() && cluster.get("driver").is_none());
    assert!(cluster["cluster_name"].is_string());
    // The unicode notebook is there with its source.
    let nb = object(&dest, &first, "notebooks//Shared/report über").await;
    assert_eq!(nb["language"], "SQL");
    assert!(nb["content"].as_str().unwrap().len() > 10);
    // Canonical JSON: keys sorted at every depth, so a byte comparison is a content comparison.
    let bytes = dest.read(&first.objects["jobs/14"].file).await.unwrap();
    let text = String::from_utf8(bytes.to_vec()).unwrap();
    assert!(text.find("\"created_time\"").unwrap() < text.find("\"settings\"").unwrap());
    assert_eq!(
        lakedr_control::obj::canonical(&serde_json::from_str(&text).unwrap()),
        text.as_bytes()
    );
    assert_eq!(first.written as usize, first.objects.len());
    // Every request is counted: the fake saw as many.
    assert_eq!(Some(first.api_calls), fake.stats()["calls"].as_u64());

    // The Terraform of the export: every resource type, attribute and block exists in the
    // provider's schema, and every reference names a declared resource.
    let tf = tempfile::tempdir().unwrap();
    let written = lakedr_control::terraform_dir(&dest, tf.path(), &Default::default())
        .await
        .unwrap();
    assert!(written.files > 150, "{} Terraform files", written.files);
    assert!(written.problems.is_empty(), "{:?}", written.problems);
    let report = terraform_report(tf.path());
    assert_eq!(report["ok"], true, "{report:#}");
    for (ty, at_least) in [
        ("databricks_job", 7),
        ("databricks_cluster", 4),
        ("databricks_sql_endpoint", 1),
        ("databricks_user", 123),
        ("databricks_group", 1), // admins and users are built in: data sources
        ("databricks_group_member", 4),
        ("databricks_notebook", 2),
        ("databricks_catalog", 2),
        ("databricks_schema", 2),
        ("databricks_grants", 3),
        ("databricks_permissions", 7),
        ("databricks_secret_scope", 1),
        ("databricks_secret_acl", 1),
        ("databricks_volume", 2),
        ("databricks_external_location", 1),
        ("databricks_storage_credential", 1),
        ("databricks_workspace_conf", 1),
        ("databricks_sql_table", 2),
        ("databricks_registered_model", 1),
    ] {
        let got = report["resources"][ty].as_u64().unwrap_or(0);
        assert!(
            got >= at_least,
            "{ty}: {got} of at least {at_least}: {report}"
        );
    }
    assert!(report["references"].as_u64().unwrap() >= 20, "{report}");
    // The service principal running the export (`/Me`) is whoever applies in DR: a data source.
    let me: Value = serde_json::from_slice(
        &std::fs::read(tf.path().join("service_principals__3001.tf.json")).unwrap(),
    )
    .unwrap();
    assert!(me.get("resource").is_none(), "{me}");
    assert!(
        me["data"]["databricks_service_principal"].is_object(),
        "{me}"
    );
    // Notebook permissions follow the notebook's path (a new workspace gives it a new id).
    // (Notebook 123's fixture grants only inherited levels: it has no resource of its own.)
    assert!(
        !tf.path()
            .join("permissions__notebooks%2F123.tf.json")
            .exists()
    );
    let nb_acl = tf_resource(
        tf.path(),
        "permissions__notebooks%2F124.tf.json",
        "databricks_permissions",
    );
    assert_eq!(
        nb_acl["notebook_path"],
        format!(
            "${{databricks_notebook.{}.path}}",
            lakedr_control::terraform::name("notebook", "/Shared/report über")
        ),
        "{nb_acl}"
    );
    let job: Value =
        serde_json::from_slice(&std::fs::read(tf.path().join("jobs__900.tf.json")).unwrap())
            .unwrap();
    assert_eq!(
        job["resource"]["databricks_job"]["job_900"]["task"]
            .as_array()
            .unwrap()
            .len(),
        150
    );

    // 2. Nothing changed: nothing is written but the run's manifest.
    let before = files(dir.path());
    let second = export_full(&c, &dest, &opts).await.unwrap();
    assert_eq!(second.written, 0);
    assert_eq!(second.unchanged as usize, first.objects.len());
    assert_eq!(second.objects, first.objects);
    let new: Vec<String> = files(dir.path())
        .into_iter()
        .filter(|f| !before.contains(f))
        .collect();
    assert_eq!(
        new,
        vec![format!(
            "prod-ws/snapshots/{}/manifest.json",
            second.snapshot
        )]
    );

    // 3. A changed job rewrites that job only.
    let mut settings = wide_settings(&dest, &first, "jobs/14").await;
    settings["max_concurrent_runs"] = json!(4);
    fake.control("POST", "/_fake/jobs/14", &settings);
    let third = export_full(&c, &dest, &opts).await.unwrap();
    assert_eq!(third.written, 1, "{third:#?}");
    assert!(third.objects["jobs/14"].file.contains(&third.snapshot));
    assert_eq!(
        object(&dest, &third, "jobs/14").await["settings"]["max_concurrent_runs"],
        4
    );
    let moved: Vec<&String> = third
        .objects
        .iter()
        .filter(|(k, e)| first.objects[*k] != **e)
        .map(|(k, _)| k)
        .collect();
    assert_eq!(moved, vec!["jobs/14"]);

    // 4. A deleted job becomes a tombstone, with its permissions, never silently dropped.
    fake.control("DELETE", "/_fake/jobs/15", &Value::Null);
    let fourth = export_full(&c, &dest, &opts).await.unwrap();
    assert_eq!(fourth.deleted, 2, "{:?}", fourth.tombstones);
    for key in ["jobs/15", "permissions/jobs/15"] {
        assert!(!fourth.objects.contains_key(key));
        let t = &fourth.tombstones[key];
        assert!(t.deleted_seen_at.starts_with("20"), "{t:?}");
        assert_eq!(t.last_file, first.objects[key].file);
    }
    assert!(
        dir.path()
            .join(format!(
                "prod-ws/snapshots/{}/jobs/15.tombstone.json",
                fourth.snapshot
            ))
            .exists()
    );

    // An object that cannot be read (its permissions fail every attempt) is an error, never a
    // tombstone.
    fake.control(
        "POST",
        "/_fake/faults",
        &json!({"fail_paths": ["/api/2.0/permissions/jobs/14"]}),
    );
    let failing = export_full(&c, &dest, &opts).await.unwrap();
    fake.control("POST", "/_fake/faults", &json!({"fail_paths": []}));
    assert!(
        failing
            .errors
            .iter()
            .any(|e| e.kind == "jobs" && e.id == "14"),
        "{:?}",
        failing.errors
    );
    assert_eq!(failing.deleted, 0, "{:?}", failing.tombstones);
    assert!(
        failing.objects.contains_key("jobs/14")
            && failing.objects.contains_key("permissions/jobs/14")
    );

    // 5. Incremental: a job read alone has the bytes the full export (from the list) gave it;
    // one job after a change event; one deleted since.
    let same = export_one(&c, &dest, Kind::parse("jobs").unwrap(), "12", &opts)
        .await
        .unwrap();
    assert_eq!((same.written, same.unchanged), (0, 2), "{same:#?}");
    let same = export_one(&c, &dest, Kind::parse("jobs").unwrap(), "900", &opts)
        .await
        .unwrap();
    assert_eq!(same.written, 0, "the 150-task job, paged both ways");
    settings["name"] = json!("renamed by an event");
    fake.control("POST", "/_fake/jobs/14", &settings);
    fake.control("DELETE", "/_fake/jobs/17", &Value::Null);
    let one = export_one(&c, &dest, Kind::parse("jobs").unwrap(), "14", &opts)
        .await
        .unwrap();
    assert_eq!(
        (one.written, one.unchanged),
        (1, 1),
        "job changed, permissions did not"
    );
    assert_eq!(
        object(&dest, &one, "jobs/14").await["settings"]["name"],
        "renamed by an event"
    );
    assert_eq!(
        one.objects.len(),
        fourth.objects.len(),
        "the rest is carried over"
    );
    let gone = export_one(&c, &dest, Kind::parse("jobs").unwrap(), "17", &opts)
        .await
        .unwrap();
    assert!(
        gone.tombstones.contains_key("jobs/17")
            && gone.tombstones.contains_key("permissions/jobs/17")
    );
    assert_eq!(
        dest.latest().await.unwrap().unwrap().0.snapshot,
        gone.snapshot
    );

    // No output holds the planted secret, and the export never asked for it.
    for f in files(dir.path()) {
        let text = std::fs::read(dir.path().join(&f)).unwrap();
        assert!(
            !String::from_utf8_lossy(&text).contains(PLANTED_SECRET),
            "{f}"
        );
    }
    assert_eq!(fake.stats()["secret_reads"], 0);
}

/// The one resource of type `ty` in the Terraform file `file` of `dir`.
pub(crate) fn tf_resource(dir: &Path, file: &str, ty: &str) -> Value {
    let doc: Value = serde_json::from_slice(
        &std::fs::read(dir.join(file)).unwrap_or_else(|e| panic!("{file}: {e}")),
    )
    .unwrap();
    let by_name = doc["resource"][ty].as_object().unwrap();
    assert_eq!(by_name.len(), 1, "{file}: {doc}");
    by_name.values().next().unwrap().clone()
}

/// The embedded schema of the provider's resources (the generator's), which the validator reads
/// too; `the_embedded_terraform_schema_is_the_providers` holds it to the provider's package.
pub(crate) fn embedded_schema() -> std::path::PathBuf {
    lakedr_tests::repo_root().join("crates/lakedr-control/src/tf_schema.json")
}

/// `tests/py/tf_provider_schema.py validate` on a directory of Terraform JSON: required
/// attributes at every level, computed-only ones, blocks against attributes, the provider's
/// ConflictsWith, ExactlyOneOf, AtLeastOneOf and RequiredWith, references, variables.
pub(crate) fn terraform_report(dir: &Path) -> Value {
    let out = std::process::Command::new(lakedr_tests::python())
        .arg(lakedr_tests::repo_root().join("tests/py/tf_provider_schema.py"))
        .arg("validate")
        .arg(embedded_schema())
        .arg(dir)
        .output()
        .unwrap();
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// The attribute trees the generator and the validator use are the provider's, read afresh
/// from its generated bindings (the npm package of the pinned provider version): resources
/// only, never the data sources of the same name.
#[test]
fn the_embedded_terraform_schema_is_the_providers() {
    let out = std::process::Command::new(lakedr_tests::python())
        .arg(lakedr_tests::repo_root().join("tests/py/tf_provider_schema.py"))
        .arg("check-attrs")
        .arg(embedded_schema())
        .arg("--pkg")
        .arg(lakedr_tests::terraform_schema_package())
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(
        report["ok"], true,
        "crates/lakedr-control/src/tf_schema.json is stale: {report:#}"
    );
    assert!(report["compared"].as_u64().unwrap() >= 40, "{report}");
    // The cluster resource, which the data source of the same name used to overwrite.
    let schema: Value =
        serde_json::from_str(&std::fs::read_to_string(embedded_schema()).unwrap()).unwrap();
    let cluster = &schema["resources"]["databricks_cluster"];
    assert_eq!(cluster["attrs"]["spark_version"]["required"], true);
    assert!(
        cluster["conflicts"]
            .as_array()
            .unwrap()
            .contains(&json!(["instance_pool_id", "node_type_id"]))
    );
}

async fn wide_settings(dest: &Destination, m: &Manifest, key: &str) -> Value {
    object(dest, m, key).await["settings"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oauth_throttling_errors_and_expired_tokens_change_nothing_exported() {
    // Reference: a clean export with a personal access token.
    let clean_fake = FakeWorkspace::start(&[]);
    let clean_dir = tempfile::tempdir().unwrap();
    let clean = export_full(
        &client(&clean_fake, Auth::Token(PAT.into())),
        &local_dest(clean_dir.path()),
        &RunOptions::default(),
    )
    .await
    .unwrap();

    let fake = FakeWorkspace::start(&[]);
    fake.control(
        "POST",
        "/_fake/faults",
        &json!({"throttle_every": 25, "error_every": 11, "slow_every": 23, "slow_ms": 150, "retry_after": 1}),
    );
    let c = client(
        &fake,
        Auth::OAuth {
            client_id: CLIENT_ID.into(),
            client_secret: CLIENT_SECRET.into(),
        },
    );
    // A moto S3 bucket as the DR destination.
    let moto = lakedr_tests::stack::Moto::start();
    moto.create_bucket("dr-control").await;
    let stores = lakedr_aws::s3_stores(&moto.sdk(), true);
    let dest = Destination::new(
        stores,
        &ObjectUrl::s3("dr-control", "control-plane/"),
        "prod-ws",
    );
    let opts = RunOptions::default();
    let faulty = export_full(&c, &dest, &opts).await.unwrap();
    let sha = |m: &Manifest| -> BTreeMap<String, String> {
        m.objects
            .iter()
            .map(|(k, e)| (k.clone(), e.sha256.clone()))
            .collect()
    };
    assert_eq!(
        sha(&faulty),
        sha(&clean),
        "faults changed what was exported"
    );
    assert_eq!(faulty.errors, clean.errors);
    let stats = fake.stats();
    assert!(stats["throttled"].as_u64().unwrap() >= 2, "{stats}");
    assert!(stats["errors"].as_u64().unwrap() >= 5, "{stats}");
    assert_eq!(
        stats["early_retries"], 0,
        "a retry came before its Retry-After: {stats}"
    );
    assert_eq!(stats["token_requests"], 1, "the token is cached: {stats}");

    // Tokens expire (revoked at the server): the client fetches a new one and goes on.
    fake.control("POST", "/_fake/expire-tokens", &Value::Null);
    let again = export_full(&c, &dest, &opts).await.unwrap();
    assert_eq!(again.written, 0);
    assert_eq!(sha(&again), sha(&clean));
    let stats = fake.stats();
    assert_eq!(stats["token_requests"], 2, "{stats}");
    assert!(stats["unauthorized"].as_u64().unwrap() >= 1, "{stats}");

    // The DR bucket holds the snapshots and the pointer; no object holds the secret.
    let listed = dest
        .stores
        .list(&ObjectUrl::s3("dr-control", "control-plane/prod-ws/"))
        .await
        .unwrap();
    assert!(listed.iter().any(|m| m.key.ends_with("/latest")));
    assert!(listed.len() > clean.objects.len());
    for m in &listed {
        let body = dest
            .stores
            .get(&ObjectUrl::s3("dr-control", m.key.clone()))
            .await
            .unwrap();
        assert!(
            !String::from_utf8_lossy(&body.body).contains(PLANTED_SECRET),
            "{}",
            m.key
        );
    }
}

/// Change events that reached the queue (EventBridge envelopes).
async fn received(moto: &lakedr_tests::stack::Moto, queue: &str) -> Vec<Value> {
    moto.drain(queue)
        .await
        .into_iter()
        .map(|m| serde_json::from_str::<Value>(m.body().unwrap()).unwrap())
        .collect()
}

/// One audit record, shaped like Databricks' delivered audit logs.
fn audit_line(service: &str, action: &str, request: &str, params: Value, status: u16) -> String {
    json!({"version": "2.0", "auditLevel": "WORKSPACE_LEVEL", "timestamp": 1764597782000u64,
           "orgId": "1234", "shardName": "prod-ws", "accountId": "acc-1",
           "sourceIPAddress": "10.1.2.3", "userAgent": "databricks-cli", "sessionId": null,
           "userIdentity": {"email": "alice@example.com"}, "serviceName": service,
           "actionName": action, "requestId": request, "requestParams": params,
           "response": {"statusCode": status, "errorMessage": null, "result": null}})
    .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_logs_become_change_events_that_drive_incremental_exports() {
    use lakedr_aws::control::ChangePublisher;
    use lakedr_control::audit::ManifestIndex;
    use lakedr_control::functions::{DETAIL_TYPE, SOURCE, handle_audit, handle_export};
    let fake = FakeWorkspace::start(&[]);
    let c = client(&fake, Auth::Token(PAT.into()));
    let moto = lakedr_tests::stack::Moto::start();
    for b in ["audit-logs", "dr-control"] {
        moto.create_bucket(b).await;
    }
    // A real event bus whose rule sends change events to a queue the test reads.
    let sdk = moto.sdk();
    let eb = aws_sdk_eventbridge::Client::new(&sdk);
    eb.create_event_bus().name("lakedr").send().await.unwrap();
    let queue = moto.create_queue("changes").await;
    let arn = moto.queue_arn(&queue).await;
    eb.put_rule()
        .name("changes")
        .event_bus_name("lakedr")
        .event_pattern(json!({"source": [SOURCE]}).to_string())
        .send()
        .await
        .unwrap();
    eb.put_targets()
        .rule("changes")
        .event_bus_name("lakedr")
        .targets(
            aws_sdk_eventbridge::types::Target::builder()
                .id("q")
                .arn(arn)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let publisher = ChangePublisher {
        client: eb,
        bus: "lakedr".into(),
    };
    let stores = lakedr_aws::s3_stores(&sdk, true);
    let dest = Destination::new(
        stores.clone(),
        &ObjectUrl::s3("dr-control", "control-plane/"),
        "prod-ws",
    );
    let state = ObjectUrl::s3("dr-control", "control-plane/_state/");
    let opts = RunOptions::default();
    export_full(&c, &dest, &opts).await.unwrap();

    // Job 14 changes; the audit log says so (twice: a duplicate), along with a new catalog, a
    // failed edit, a read, a secret write and an action nobody knows.
    let mut settings = serde_json::from_slice::<Value>(
        &dest
            .read(&dest.latest().await.unwrap().unwrap().0.objects["jobs/14"].file)
            .await
            .unwrap(),
    )
    .unwrap()["settings"]
        .clone();
    settings["timeout_seconds"] = json!(3600);
    fake.control("POST", "/_fake/jobs/14", &settings);
    let mut lines = vec![
        audit_line(
            "jobs",
            "update",
            "req-1",
            json!({"job_id": "14", "new_settings": "{...}"}),
            200,
        ),
        audit_line(
            "jobs",
            "update",
            "req-1",
            json!({"job_id": "14", "new_settings": "{...}"}),
            200,
        ),
        audit_line(
            "unityCatalog",
            "createCatalog",
            "req-2",
            json!({"name": "sales"}),
            200,
        ),
        audit_line(
            "clusters",
            "edit",
            "req-3",
            json!({"cluster_id": "test1"}),
            400,
        ),
        audit_line("jobs", "get", "req-4", json!({"job_id": "14"}), 200),
        audit_line(
            "secrets",
            "putSecret",
            "req-5",
            json!({"scope": "some-kv-scope", "key": "k"}),
            200,
        ),
        audit_line("someNewService", "frobnicate", "req-6", json!({}), 200),
    ];
    let key = "workspaceId=1234/date=2026-12-01/auditlogs_0b1c.json";
    let put = |text: String| {
        let s3 = moto.s3();
        async move {
            s3.put_object()
                .bucket("audit-logs")
                .key(key)
                .body(text.into_bytes().into())
                .send()
                .await
                .unwrap();
        }
    };
    put(lines.join("\n")).await;
    let s3_event = json!({"Records": [{"eventVersion": "2.1", "eventSource": "aws:s3",
        "eventName": "ObjectCreated:Put", "awsRegion": "us-east-1",
        "s3": {"bucket": {"name": "audit-logs"}, "object": {"key": key, "size": 1}}}]});
    let report = handle_audit(
        &s3_event,
        &stores,
        &state,
        &publisher,
        &ManifestIndex::default(),
    )
    .await
    .unwrap();
    assert_eq!(report["files"][0]["published"], 2, "{report}");
    assert_eq!(report["files"][0]["duplicates"], 1, "{report}");
    let events = received(&moto, &queue).await;
    let mut got: Vec<(String, String)> = events
        .iter()
        .map(|e| {
            (
                e["detail"]["kind"].as_str().unwrap().into(),
                e["detail"]["id"].as_str().unwrap().into(),
            )
        })
        .collect();
    got.sort();
    assert_eq!(
        got,
        vec![
            ("catalogs".into(), "sales".into()),
            ("jobs".into(), "14".into())
        ]
    );
    assert!(events.iter().all(|e| e["detail-type"] == DETAIL_TYPE));

    // The export function on those events: job 14 rewritten, the catalog found unchanged.
    for e in &events {
        let out = handle_export(e, &c, &dest, &opts).await.unwrap();
        let expect = if e["detail"]["kind"] == "jobs" { 1 } else { 0 };
        assert_eq!(out["written"], expect, "{e}: {out}");
    }
    let latest = dest.latest().await.unwrap().unwrap().0;
    let job: Value =
        serde_json::from_slice(&dest.read(&latest.objects["jobs/14"].file).await.unwrap()).unwrap();
    assert_eq!(job["settings"]["timeout_seconds"], 3600);

    // The file is overwritten in place with one more record: only that one is published, and
    // the job it deletes becomes a tombstone.
    lines.push(audit_line(
        "jobs",
        "delete",
        "req-7",
        json!({"job_id": "12"}),
        200,
    ));
    put(lines.join("\n")).await;
    fake.control("DELETE", "/_fake/jobs/12", &Value::Null);
    // This time the file arrives as the EventBridge "Object Created" sample of events/.
    let sample = |name: &str| -> Value {
        serde_json::from_str(
            &std::fs::read_to_string(lakedr_tests::repo_root().join("events").join(name)).unwrap(),
        )
        .unwrap()
    };
    let object_created = sample("audit-events-eventbridge-object-created.json");
    assert_eq!(object_created["detail"]["object"]["key"], key);
    let report = handle_audit(
        &object_created,
        &stores,
        &state,
        &publisher,
        &ManifestIndex::default(),
    )
    .await
    .unwrap();
    assert_eq!(report["files"][0]["published"], 1, "{report}");
    let events = received(&moto, &queue).await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["detail"]["id"], "12");
    let out = handle_export(&events[0], &c, &dest, &opts).await.unwrap();
    assert_eq!(out["deleted"], 2, "{out}");
    assert!(
        dest.latest()
            .await
            .unwrap()
            .unwrap()
            .0
            .tombstones
            .contains_key("jobs/12")
    );
    // The change-event sample names the same deletion: nothing more to do.
    let out = handle_export(
        &sample("control-plane-export-change.json"),
        &c,
        &dest,
        &opts,
    )
    .await
    .unwrap();
    assert_eq!(
        (out["written"].as_u64(), out["deleted"].as_u64()),
        (Some(0), Some(0)),
        "{out}"
    );

    // The schedule's input (the sample) runs a full export, which finds nothing new.
    let out = handle_export(
        &sample("control-plane-export-schedule.json"),
        &c,
        &dest,
        &opts,
    )
    .await
    .unwrap();
    assert_eq!(
        (out["mode"].as_str(), out["written"].as_u64()),
        (Some("full"), Some(0)),
        "{out}"
    );
}
