//! The model registry of a real MLflow server (behind the fake workspace, as Databricks serves
//! the same REST API), run artifacts logged to S3 (moto) by the MLflow client, and the DR copy
//! of those artifacts judged complete or not, version by version.

use lakedr::store::{CopySource, ObjectUrl, Stores};
use lakedr_control::export::{Destination, Manifest, RunOptions, export_full, export_one};
use lakedr_control::{ArtifactLocations, Auth, ClientConfig, DatabricksClient};
use lakedr_tests::fake_workspace::{FakeWorkspace, PAT};
use lakedr_tests::mlflow::Mlflow;
use lakedr_tests::stack::Moto;
use serde_json::{Value, json};

async fn object(dest: &Destination, m: &Manifest, key: &str) -> Value {
    let e = m
        .objects
        .get(key)
        .unwrap_or_else(|| panic!("{key} not exported: {:?}", m.objects.keys()));
    serde_json::from_slice(&dest.read(&e.file).await.unwrap()).unwrap()
}

/// Copies every source object under `prefix` to DR as the replicator does (server-side, one
/// by one), except the keys `skip` names.
async fn replicate(stores: &Stores, prefix: &str, skip: &[String]) -> usize {
    let mut n = 0;
    for o in stores
        .list(&ObjectUrl::s3("primary", prefix))
        .await
        .unwrap()
    {
        if skip.contains(&o.key) {
            continue;
        }
        let src = ObjectUrl::s3("primary", o.key.clone());
        let dst = ObjectUrl::s3("lake-dr", format!("primary/{}", o.key));
        stores.copy(&CopySource::latest(src), &dst).await.unwrap();
        n += 1;
    }
    n
}

fn artifacts(v: &Value) -> &Value {
    &v["dr_artifacts"]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn model_versions_say_whether_their_artifacts_are_complete_in_dr() {
    let moto = Moto::start();
    for b in ["primary", "lake-dr"] {
        moto.create_bucket(b).await;
    }
    let mlflow = Mlflow::start(&moto, "primary");
    // Two versions of `churn` and one of `fraud`, each from a run whose model directory the
    // MLflow client logged to S3; and a notebook's experiment.
    let logged = mlflow.client(&json!([
        ["log-model", "/Shared/churn", "churn"],
        ["log-model", "/Shared/churn", "churn"],
        ["log-model", "/Shared/fraud", "fraud"],
        ["notebook-experiment", "/Users/alice@example.com/etl"],
    ]));
    let v2_source = logged[1]["artifact_uri"].as_str().unwrap();
    assert!(v2_source.starts_with("s3://primary/mlflow/"), "{logged:?}");
    let v2_key = v2_source.strip_prefix("s3://primary/").unwrap();
    let notebook_experiment = logged[3]["experiment_id"].as_str().unwrap();

    // A Unity Catalog model whose version 1 lives under the source bucket too.
    let s3 = moto.s3();
    for (name, body) in [("MLmodel", "flavors: {}\n"), ("model.pkl", "weights")] {
        s3.put_object()
            .bucket("primary")
            .key(format!(
                "uc-models/7c2e9f1a-3b4d-4e5f-8a6b-9c0d1e2f3a4b/versions/1/{name}"
            ))
            .body(body.as_bytes().to_vec().into())
            .send()
            .await
            .unwrap();
    }
    let fake = FakeWorkspace::start(&[
        "--mlflow",
        &mlflow.url,
        "--uc-model-root",
        "s3://primary/uc-models",
    ]);

    // The data plane has copied everything but one file of churn's version 2.
    let stores = lakedr_aws::s3_stores(&moto.sdk(), true);
    let held_back = format!("{v2_key}/model.pkl");
    let copied = replicate(&stores, "", std::slice::from_ref(&held_back)).await;
    assert!(copied >= 10, "{copied} objects copied");

    let config = lakedr::Config::from_text(
        "[[rule]]\nname = 'lakehouse'\nsource = 's3://primary/'\ndestination = 's3://lake-dr/primary/'",
    )
    .unwrap();
    let opts = RunOptions {
        artifacts: ArtifactLocations::new(stores.clone(), &config, None),
        ..RunOptions::default()
    };
    let mut cfg = ClientConfig::new(&fake.url, Auth::Token(PAT.into()));
    cfg.requests_per_second = 0.0;
    let c = DatabricksClient::new(cfg).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let dest = Destination::new(
        Stores::new(None),
        &ObjectUrl::local(dir.path().to_str().unwrap(), ""),
        "prod-ws",
    );

    // 1. The registry, versions, experiments, permissions, Unity Catalog model and feature
    // table are all captured.
    let first = export_full(&c, &dest, &opts).await.unwrap();
    let unexpected: Vec<_> = first.errors.iter().filter(|e| e.kind != "jobs").collect();
    assert!(unexpected.is_empty(), "{unexpected:#?}");
    for key in [
        "registered_models/churn",
        "registered_models/fraud",
        "model_versions/churn/1",
        "model_versions/churn/2",
        "model_versions/fraud/1",
        "permissions/registered-models/churn",
        "uc_models/main.default.churn_uc",
        "uc_model_versions/main.default.churn_uc/1",
        "grants/function/main.default.churn_uc",
        "feature_tables/main.features.customer",
    ] {
        assert!(first.objects.contains_key(key), "{key}: {:?}", first.counts);
    }
    let model = object(&dest, &first, "registered_models/churn").await;
    assert!(
        model.get("latest_versions").is_none(),
        "versions are their own objects"
    );
    let acl = object(&dest, &first, "permissions/registered-models/churn").await;
    assert_eq!(
        acl["object_id"],
        format!("/registered-models/{}", model["id"].as_str().unwrap())
    );
    let experiments: Vec<Value> = objects_under(&dest, &first, "experiments/").await;
    let names: Vec<&str> = experiments
        .iter()
        .filter_map(|e| e["name"].as_str())
        .collect();
    for want in [
        "/Shared/churn",
        "/Shared/fraud",
        "/Users/alice@example.com/etl",
    ] {
        assert!(names.contains(&want), "{names:?}");
    }
    assert!(
        !first
            .objects
            .contains_key(&format!("permissions/experiments/{notebook_experiment}")),
        "a notebook's experiment has its notebook's permissions"
    );
    let churn_experiment = experiments
        .iter()
        .find(|e| e["name"] == "/Shared/churn")
        .and_then(|e| e["experiment_id"].as_str())
        .unwrap()
        .to_string();
    let exp_acl = object(
        &dest,
        &first,
        &format!("permissions/experiments/{churn_experiment}"),
    )
    .await;
    assert_eq!(
        exp_acl["object_id"],
        format!("/experiments/{churn_experiment}")
    );

    // 2. Complete versions say so, with what was compared; the one missing a file says which.
    let v1 = object(&dest, &first, "model_versions/churn/1").await;
    assert_eq!(artifacts(&v1)["complete"], true, "{v1:#}");
    assert_eq!(artifacts(&v1)["files"], 3);
    assert!(artifacts(&v1)["bytes"].as_u64().unwrap() > 50_000);
    assert_eq!(
        artifacts(&v1)["dr"],
        format!(
            "s3://lake-dr/primary/{}/",
            v1["artifact_uri"]
                .as_str()
                .unwrap()
                .strip_prefix("s3://primary/")
                .unwrap()
        )
    );
    let v2 = object(&dest, &first, "model_versions/churn/2").await;
    assert_eq!(artifacts(&v2)["complete"], false, "{v2:#}");
    assert_eq!(artifacts(&v2)["missing"], json!(["model.pkl"]));
    let uc = object(&dest, &first, "uc_model_versions/main.default.churn_uc/1").await;
    assert_eq!(artifacts(&uc)["complete"], true, "{uc:#}");
    assert_eq!(artifacts(&uc)["files"], 2);

    // A DR copy with other bytes is not complete either.
    let fraud_uri = logged[2]["artifact_uri"].as_str().unwrap();
    let fraud_key = format!(
        "primary/{}/requirements.txt",
        fraud_uri.strip_prefix("s3://primary/").unwrap()
    );
    s3.put_object()
        .bucket("lake-dr")
        .key(&fraud_key)
        .body(b"scikit-learn==1.5.1\n".to_vec().into()) // same size, other bytes
        .send()
        .await
        .unwrap();

    // 3. The held-back file arrives: re-exporting `churn` after its change event rewrites
    // version 2 only.
    replicate(&stores, v2_key, &[]).await;
    let again = export_one(
        &c,
        &dest,
        lakedr_control::Kind::parse("registered_models").unwrap(),
        "churn",
        &opts,
    )
    .await
    .unwrap();
    assert_eq!(again.written, 1, "{again:#?}");
    let v2 = object(&dest, &again, "model_versions/churn/2").await;
    assert_eq!(artifacts(&v2)["complete"], true, "{v2:#}");
    let fraud = export_one(
        &c,
        &dest,
        lakedr_control::Kind::parse("registered_models").unwrap(),
        "fraud",
        &opts,
    )
    .await
    .unwrap();
    let f1 = object(&dest, &fraud, "model_versions/fraud/1").await;
    assert_eq!(artifacts(&f1)["complete"], false, "{f1:#}");
    assert_eq!(artifacts(&f1)["different"], json!(["requirements.txt"]));

    // 4. Terraform: the models, workspace experiments (not the notebook's), the Unity Catalog
    // model with its grants, and the models' permissions by reference, all in the provider's
    // schema.
    let tf = tempfile::tempdir().unwrap();
    lakedr_control::terraform_dir(&dest, tf.path(), &Default::default())
        .await
        .unwrap();
    let report = crate::control::terraform_report(tf.path());
    assert_eq!(report["ok"], true, "{report:#}");
    for (ty, at_least) in [
        ("databricks_mlflow_model", 2),
        ("databricks_mlflow_experiment", 2),
        ("databricks_registered_model", 1),
        ("databricks_sql_table", 2),
    ] {
        let got = report["resources"][ty].as_u64().unwrap_or(0);
        assert!(got >= at_least, "{ty}: {got}: {report}");
    }
    let perms = crate::control::tf_resource(
        tf.path(),
        "permissions__registered-models%2Fchurn.tf.json",
        "databricks_permissions",
    );
    assert_eq!(
        perms["registered_model_id"],
        "${databricks_mlflow_model.model_churn.registered_model_id}"
    );
    assert!(
        !tf.path()
            .join(format!("experiments__{notebook_experiment}.tf.json"))
            .exists()
    );
    let exp_perms = crate::control::tf_resource(
        tf.path(),
        &format!("permissions__experiments%2F{churn_experiment}.tf.json"),
        "databricks_permissions",
    );
    assert_eq!(
        exp_perms["experiment_id"],
        format!("${{databricks_mlflow_experiment.experiment_{churn_experiment}.id}}")
    );

    // 5. A deleted version, a deleted model (with its permissions and versions) and a deleted
    // experiment (still readable, in the trash) become tombstones.
    let fraud_experiment = experiments
        .iter()
        .find(|e| e["name"] == "/Shared/fraud")
        .and_then(|e| e["experiment_id"].as_str())
        .unwrap()
        .to_string();
    mlflow.client(&json!([
        ["delete-version", "churn", "1"],
        ["delete-model", "fraud"],
        ["delete-experiment", fraud_experiment]
    ]));
    let exp_gone = export_one(
        &c,
        &dest,
        lakedr_control::Kind::parse("experiments").unwrap(),
        &fraud_experiment,
        &opts,
    )
    .await
    .unwrap();
    for key in [
        format!("experiments/{fraud_experiment}"),
        format!("permissions/experiments/{fraud_experiment}"),
    ] {
        assert!(exp_gone.tombstones.contains_key(&key), "{key}");
    }
    let after = export_one(
        &c,
        &dest,
        lakedr_control::Kind::parse("registered_models").unwrap(),
        "churn",
        &opts,
    )
    .await
    .unwrap();
    assert!(
        after.tombstones.contains_key("model_versions/churn/1")
            && after.objects.contains_key("model_versions/churn/2"),
        "{:?}",
        after.tombstones
    );
    let gone = export_one(
        &c,
        &dest,
        lakedr_control::Kind::parse("registered_models").unwrap(),
        "fraud",
        &opts,
    )
    .await
    .unwrap();
    for key in [
        "registered_models/fraud",
        "permissions/registered-models/fraud",
        "model_versions/fraud/1",
    ] {
        assert!(
            gone.tombstones.contains_key(key),
            "{key}: {:?}",
            gone.tombstones
        );
    }

    // 6. A full export now agrees with the incremental ones: nothing to write.
    let last = export_full(&c, &dest, &opts).await.unwrap();
    assert_eq!(last.written, 0, "{last:#?}");
}

/// Every object under a key prefix of the manifest.
async fn objects_under(dest: &Destination, m: &Manifest, prefix: &str) -> Vec<Value> {
    let mut out = Vec::new();
    for k in m.objects.keys().filter(|k| k.starts_with(prefix)) {
        out.push(object(dest, m, k).await);
    }
    out
}

/// Invariant 4 on real MLflow 3 models: the MLflow client logs pyfunc models (their weights an
/// artifact file read at load) to the source bucket, the replicator copies them from the S3
/// events and keeps each set's DR manifest; the MLflow client then loads every complete version
/// **from the DR bucket** and predicts what it predicts from the primary. A version one of whose
/// files has not reached DR is reported incomplete, by the data plane's manifest and by the
/// control-plane export's check, and does not load from DR; once the file arrives, it is both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn models_load_from_dr_once_their_manifest_says_complete() {
    use lakedr_tests::rig::{DR, PREFIX, Rig, SRC};
    let rules = format!(
        "[[rule]]\nname = \"lake\"\nsource = \"s3://{SRC}/{PREFIX}\"\ndestination = \"s3://{DR}/{PREFIX}\"\n\n\
         [[rule]]\nname = \"models\"\nsource = \"s3://{SRC}/mlflow/\"\ndestination = \"s3://{DR}/mlflow/\"\n"
    );
    let mut rig = Rig::with_config(7, None, &rules, "").await;
    let mlflow = Mlflow::start(&rig.moto, SRC);
    let logged = mlflow.client(&json!([
        ["log-pyfunc", "/Shared/churn", "churn", 0.5, 3.0],
        ["log-pyfunc", "/Shared/churn", "churn", -1.0, 2.0],
    ]));
    let half = mlflow.client(&json!([[
        "log-pyfunc",
        "/Shared/fraud",
        "fraud",
        7.0,
        -0.5
    ]]))[0]
        .clone();
    // The weights of `fraud` v1 lag: their event is held back.
    let half_root = half["artifact_uri"]
        .as_str()
        .unwrap()
        .strip_prefix(&format!("s3://{SRC}/"))
        .unwrap();
    let weights_key = format!("{}/artifacts/weights.json", half_root.trim_end_matches('/'));
    let held_key = weights_key.clone();
    assert_eq!(
        rig.withhold(move |u| u.key == held_key).await,
        1,
        "{weights_key}"
    );
    rig.settle(&[]).await;

    let xs = json!([0.0, 1.0, 2.5]);
    let dr_uri = |uri: &str| uri.replacen(&format!("s3://{SRC}/"), &format!("s3://{DR}/"), 1);
    let arts = ArtifactLocations::new(rig.clean.clone(), &rig.ctx.config, None);
    let manifest = |uri: &str| {
        let rule = &rig.ctx.config.rules[1];
        let rel = uri
            .strip_prefix(&format!("s3://{SRC}/mlflow/"))
            .unwrap()
            .trim_end_matches('/')
            .to_string()
            + "/x";
        let set = lakedr::artifacts::set_of(&rel).unwrap().to_string();
        lakedr::artifacts::manifest_url(rule, &set)
    };
    for v in &logged {
        let uri = v["artifact_uri"].as_str().unwrap();
        let m: lakedr::artifacts::Manifest =
            serde_json::from_slice(&rig.clean.get(&manifest(uri)).await.unwrap().body).unwrap();
        assert!(
            m.complete && m.missing.is_empty() && m.files.len() >= 5,
            "{m:?}"
        );
        let verdict = arts
            .check_version(&json!({"status": "READY"}), uri)
            .await
            .unwrap();
        assert_eq!(
            (&verdict["by"], &verdict["complete"]),
            (&json!("manifest"), &json!(true)),
            "{verdict}"
        );
        let answers = mlflow.client(&json!([["predict", uri, xs], ["predict", dr_uri(uri), xs]]));
        assert!(answers[0]["predictions"].is_array(), "{answers:?}");
        assert_eq!(
            answers[1], answers[0],
            "{uri}: the DR copy predicts otherwise"
        );
    }
    // Two versions of one model predict differently: the comparison can tell them apart.
    let p = |v: &Value| mlflow.client(&json!([["predict", v["artifact_uri"], xs]]))[0].clone();
    assert_ne!(p(&logged[0]), p(&logged[1]));

    // The half-copied version.
    let uri = half["artifact_uri"].as_str().unwrap();
    let m: lakedr::artifacts::Manifest =
        serde_json::from_slice(&rig.clean.get(&manifest(uri)).await.unwrap().body).unwrap();
    assert!(!m.complete, "{m:?}");
    assert!(
        m.missing
            .iter()
            .any(|k| k.ends_with("artifacts/weights.json")),
        "{m:?}"
    );
    let verdict = arts
        .check_version(&json!({"status": "READY"}), uri)
        .await
        .unwrap();
    assert_eq!(verdict["complete"], json!(false), "{verdict}");
    assert_eq!(
        verdict["missing"],
        json!(["artifacts/weights.json"]),
        "{verdict}"
    );
    let from_dr = mlflow.client(&json!([["predict", dr_uri(uri), xs]]));
    assert!(
        from_dr[0]["error"].is_string(),
        "an incomplete copy loaded: {from_dr:?}"
    );

    rig.deliver_withheld();
    rig.settle(&[]).await;
    let verdict = arts
        .check_version(&json!({"status": "READY"}), uri)
        .await
        .unwrap();
    assert_eq!(verdict["complete"], json!(true), "{verdict}");
    let answers = mlflow.client(&json!([["predict", uri, xs], ["predict", dr_uri(uri), xs]]));
    assert!(answers[0]["predictions"].is_array(), "{answers:?}");
    assert_eq!(answers[1], answers[0]);
    for url in [rig.ordered_dlq_url.clone(), rig.dlq_url.clone()] {
        assert!(rig.dead_letters(&url).await.is_empty());
    }
}
