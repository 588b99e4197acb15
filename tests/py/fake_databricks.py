"""A fake Databricks workspace, and its account, for the control-plane tests and benchmark.

    python tests/py/fake_databricks.py --port P --fixtures DIR [--jobs N --notebooks N --tables N]
        [--mlflow URL] [--uc-model-root s3://bucket/prefix] [--account-id ID]

Answers the REST endpoints the exporter calls with the shapes of the real API: the response
bodies of `shared/fixtures/databricks-api/exporter-test-data` where they exist (served byte for
byte, the invalid `get-job-16.json` included), the documented examples otherwise (SCIM, Unity
Catalog, feature store, pipelines, Lakeview, serving, IP access lists, the account API). The
workspace model registry and experiments (`/api/2.0/mlflow/`) are
those of a real MLflow tracking server given by `--mlflow`, proxied with the fake's authentication
and faults (the registry REST API is the one Databricks serves); the fake adds what only
Databricks serves (`mlflow/databricks/registered-models/get`, with the model's workspace id).
Without `--mlflow` the registry is empty. Each API pages the way the real one does (jobs and Unity Catalog by page token,
clusters by page token, SCIM by startIndex/count, pipelines by `max_results`/`page_token`,
warehouses, queries, alerts and dashboards by `page_size`/`page_token`, Git folders by
`next_page_token` as the request parameter), and jobs with more than 100 tasks page their
tasks. The workspace holds what a real one has and an export must not recreate: the `admins`
and `users` groups, the default cluster policies, the `system` and `__databricks_internal`
catalogs, foreign and Delta Sharing catalogs. Authentication: a personal access token, or OAuth
machine-to-machine at `/oidc/v1/token` (client credentials, tokens that expire); the account API
(`/api/2.0/accounts/<--account-id>/...`) takes only tokens of `/oidc/accounts/<id>/v1/token`
(the same client, the same expiry). A secret value is planted behind `/api/2.0/secrets/get`
so the tests can show it never leaves.

Control endpoints (under `/_fake/`, no authentication): `POST /_fake/faults` sets throttling
(429 with Retry-After), server errors (503, or 500 always for some paths), slow responses
and token lifetime; `POST
/_fake/expire-tokens` (workspace and account tokens); `POST /_fake/jobs/<id>` replaces a job's settings; `DELETE
/_fake/jobs/<id>` deletes it; `GET /_fake/stats` counts calls, throttled calls, retries that came
before their Retry-After, token requests (workspace and account) and secret reads.
"""
import argparse
import base64
import copy
import json
import os
import threading
import time
import hashlib
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PAT = "dapi-test-token"
CLIENT_ID, CLIENT_SECRET = "sp-client", "sp-secret"
PLANTED_SECRET = "PLANTED-SECRET-VALUE-7f3e"
WORKSPACE_ID = 1234  # the workspace, as the account API and the audit logs name it


def load(fixtures, name):
    with open(os.path.join(fixtures, name), "rb") as f:
        return f.read()


class Workspace:
    def __init__(self, fixtures, n_jobs, n_notebooks, n_tables, mlflow=None, uc_model_root="s3://uc-root/metastore/models",
                 account_id="acct-1234"):
        j = lambda name: json.loads(load(fixtures, name))  # noqa: E731
        self.lock = threading.Lock()
        self.raw = {}  # path -> bytes served as is (including invalid JSON)
        # Jobs: the fixture jobs (API 2.0 and 2.2 shapes), one with 150 tasks, and N generated.
        self.jobs = {}
        for n in (12, 14, 15, 17):
            job = j(f"get-job-{n}.json")
            self.jobs[job["job_id"]] = job
        for name in ("run-job-main.json", "run-job-child.json"):
            job = j(name)
            self.jobs[job["job_id"]] = job
        self.jobs[16] = {"job_id": 16, "settings": {"name": "upstream invalid body"}}
        self.raw[("job", 16)] = load(fixtures, "get-job-16.json")
        many = {"job_id": 900, "created_time": 1700000000000, "creator_user_name": "a@example.com",
                "settings": {"name": "wide", "format": "MULTI_TASK", "max_concurrent_runs": 1,
                             "tasks": [{"task_key": f"t{i:03}", "notebook_task": {"notebook_path": f"/Shared/n{i}"},
                                        "existing_cluster_id": "test1"} for i in range(150)]}}
        self.jobs[900] = many
        for i in range(n_jobs):
            jid = 100000 + i
            self.jobs[jid] = {"job_id": jid, "created_time": 1700000000000 + i, "creator_user_name": "gen@example.com",
                              "settings": {"name": f"generated job {i}", "format": "MULTI_TASK", "max_concurrent_runs": 1,
                                           "tasks": [{"task_key": "main", "notebook_task": {"notebook_path": f"/Shared/gen/{i}"},
                                                      "new_cluster": {"spark_version": "15.4.x-scala2.12", "node_type_id": "i3.xlarge", "num_workers": 2}}]}}
        self.job_acl = {}
        for n in (12, 14, 15, 16, 17):
            self.job_acl[n] = j(f"get-job-permissions-{n}.json")
        # Clusters: the list (its first element is a two-field stub), full bodies where known.
        self.cluster_list = j("clusters-list-response.json")["clusters"]
        self.cluster_get = {}
        for cid, name in (("test1", "get-cluster-test1-response.json"), ("test2", "get-cluster-test2-response.json"),
                          ("awscluster", "get-cluster-awscluster-response.json")):
            self.cluster_get[cid] = j(name)
        self.cluster_acl = {cid: j(f"get-cluster-permissions-{cid}-response.json") for cid in ("test1", "test2", "awscluster")}
        # SQL warehouses: the list uses the legacy `endpoints` key.
        self.warehouses = j("get-sql-endpoints.json")
        self.warehouse_acl = {"f562046bc1272886": j("get-sql-endpoint-permissions.json")}
        self.policies = [j("get-cluster-policy.json")]
        self.policy_acl = {"123": j("get-cluster-policy-permissions.json")}
        self.pools = [j("get-instance-pool1.json") | {"instance_pool_id": "pool1"}]
        self.pool_acl = {"pool1": j("get-instance-pool1-permissions.json")}
        self.scopes = j("secret-scopes-response.json")
        self.scope_acls = j("secret-scopes-list-scope-acls-response.json")
        self.notebook_acl = j("get-notebook-permissions.json")
        self.directory_acl = j("get-directory-permissions.json")
        self.repo_acl = j("get-repo-permissions.json")
        # SCIM (documented example shapes).
        self.users = [
            {"id": "1001", "userName": "alice@example.com", "displayName": "Alice", "active": True,
             "emails": [{"value": "alice@example.com", "primary": True, "type": "work"}],
             "entitlements": [{"value": "allow-cluster-create"}], "groups": [{"value": "2001", "display": "data-eng"}]},
            {"id": "1002", "userName": "bob@example.com", "displayName": "Bob", "active": True,
             "emails": [{"value": "bob@example.com", "primary": True, "type": "work"}], "groups": []},
            {"id": "1003", "userName": "zoë+ops@example.com", "displayName": "Zoë", "active": False, "emails": []},
        ] + [{"id": str(5000 + i), "userName": f"user{i}@example.com", "displayName": f"User {i}", "active": True}
             for i in range(120)]
        self.groups = [
            {"id": "2001", "displayName": "data-eng", "members": [
                {"value": "1001", "display": "Alice", "$ref": "Users/1001"},
                {"value": "3001", "display": "etl-sp", "$ref": "ServicePrincipals/3001"}],
             "entitlements": [{"value": "databricks-sql-access"}]},
            {"id": "2002", "displayName": "admins", "members": [{"value": "1002", "display": "Bob", "$ref": "Users/1002"},
                                                                 {"value": "2001", "display": "data-eng", "$ref": "Groups/2001"}]},
        ]
        self.sps = [{"id": "3001", "applicationId": "9b2e4a70-5d0c-4a8e-9e36-7c8a2b1d3f00", "displayName": "etl-sp", "active": True}]
        # Notebooks and directories: /Shared/gen/<i> (generated) and a few by hand.
        self.objects = [
            {"object_type": "DIRECTORY", "path": "/Shared", "object_id": 4451965692354143},
            {"object_type": "NOTEBOOK", "path": "/Shared/etl", "language": "PYTHON", "object_id": 123},
            {"object_type": "NOTEBOOK", "path": "/Shared/report über", "language": "SQL", "object_id": 124},
        ]
        if n_notebooks:
            self.objects.append({"object_type": "DIRECTORY", "path": "/Shared/gen", "object_id": 4000})
            self.objects += [{"object_type": "NOTEBOOK", "path": f"/Shared/gen/{i}", "language": "PYTHON",
                              "object_id": 10_000_000 + i} for i in range(n_notebooks)]
        self.repos = [{"id": 121232342, "path": "/Repos/alice@example.com/etl", "url": "https://github.com/example/etl.git",
                       "provider": "gitHub", "branch": "main", "head_commit_id": "7e0847ede61f07adede22e2bcce6050216489171"}]
        # Unity Catalog (documented example shapes).
        self.metastore = {"metastore_id": "11111111-2222-3333-4444-555555555555", "name": "primary", "region": "us-east-1",
                          "storage_root": "s3://uc-root/metastore", "owner": "admins", "delta_sharing_scope": "INTERNAL"}
        self.catalogs = [{"name": "main", "owner": "admins", "comment": "default", "catalog_type": "MANAGED_CATALOG",
                          "metastore_id": self.metastore["metastore_id"]},
                         {"name": "sales", "owner": "data-eng", "catalog_type": "MANAGED_CATALOG",
                          "storage_root": "s3://sales-lake/uc", "properties": {"team": "sales"},
                          "metastore_id": self.metastore["metastore_id"]}]
        self.schemas = [{"name": "default", "catalog_name": "main", "full_name": "main.default", "owner": "admins"},
                        {"name": "orders", "catalog_name": "sales", "full_name": "sales.orders", "owner": "data-eng",
                         "comment": "order facts"}]
        self.volumes = [
            {"name": "landing", "catalog_name": "sales", "schema_name": "orders", "full_name": "sales.orders.landing",
             "volume_type": "MANAGED", "owner": "data-eng", "comment": "files as they arrive",
             "volume_id": "0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b", "created_at": 1700000000000, "created_by": "alice@example.com"},
            {"name": "raw", "catalog_name": "sales", "schema_name": "orders", "full_name": "sales.orders.raw",
             "volume_type": "EXTERNAL", "storage_location": "s3://sales-lake/raw/volume", "owner": "data-eng"},
        ]
        self.external_locations = [
            {"name": "sales_raw", "url": "s3://sales-lake/raw", "credential_name": "sales_cred", "owner": "data-eng",
             "read_only": False, "comment": "raw drops", "metastore_id": self.metastore["metastore_id"],
             "created_at": 1700000000000, "created_by": "alice@example.com"},
        ]
        self.storage_credentials = [
            {"name": "sales_cred", "owner": "admins", "read_only": False,
             "aws_iam_role": {"role_arn": "arn:aws:iam::123456789012:role/uc-sales",
                              "unity_catalog_iam_arn": "arn:aws:iam::414351767826:role/unity-catalog-prod-UCMasterRole",
                              "external_id": "11111111-2222-3333-4444-555555555555"},
             "id": "cred-1", "metastore_id": self.metastore["metastore_id"], "created_at": 1700000000000},
        ]
        self.workspace_conf = {"enableIpAccessLists": "true", "enableTokensConfig": "true", "maxTokenLifetimeDays": "90",
                               "enableResultsDownloading": "false", "enableNotebookTableClipboard": "true",
                               "enableExportNotebook": "false", "enableWebTerminal": None, "enableDbfsFileBrowser": "false",
                               "enableVerboseAuditLogs": "true"}
        self.n_tables = n_tables  # tables t00000... of sales.orders, made up when listed
        self.tables = [
            {"name": "customers", "catalog_name": "main", "schema_name": "default", "full_name": "main.default.customers",
             "table_type": "MANAGED", "data_source_format": "DELTA", "owner": "data-eng", "comment": "one row a customer",
             "storage_location": "s3://uc-root/metastore/tables/5a1b", "properties": {"delta.enableChangeDataFeed": "true"},
             "columns": [{"name": "id", "type_text": "bigint", "type_name": "LONG", "position": 0, "nullable": False},
                         {"name": "name", "type_text": "string", "type_name": "STRING", "position": 1, "nullable": True,
                          "comment": "display name"}],
             "created_at": 1700000000000, "updated_at": 1700000000000, "table_id": "5a1b"},
            {"name": "events", "catalog_name": "main", "schema_name": "default", "full_name": "main.default.events",
             "table_type": "EXTERNAL", "data_source_format": "DELTA", "owner": "data-eng",
             "storage_location": "s3://sales-lake/raw/events",
             "columns": [{"name": "at", "type_text": "timestamp", "type_name": "TIMESTAMP", "position": 0, "nullable": True}],
             "table_id": "6c2d"},
        ]
        self.grants = {
            ("catalog", "main"): [{"principal": "account users", "privileges": ["USE_CATALOG"]}],
            ("catalog", "sales"): [{"principal": "data-eng", "privileges": ["USE_CATALOG", "CREATE_SCHEMA"]},
                                   {"principal": "alice@example.com", "privileges": ["USE_CATALOG"]}],
            ("schema", "sales.orders"): [{"principal": "data-eng", "privileges": ["USE_SCHEMA", "SELECT", "MODIFY"]}],
            ("volume", "sales.orders.landing"): [{"principal": "data-eng", "privileges": ["READ_VOLUME", "WRITE_VOLUME"]}],
            ("external_location", "sales_raw"): [{"principal": "data-eng", "privileges": ["READ_FILES", "CREATE_EXTERNAL_TABLE"]}],
            ("storage_credential", "sales_cred"): [{"principal": "admins", "privileges": ["CREATE_EXTERNAL_LOCATION"]}],
        }
        # Machine learning: the registry is MLflow's (proxied); Unity Catalog models and feature
        # tables are here (documented example shapes).
        self.mlflow = mlflow.rstrip("/") if mlflow else None
        model_id = "7c2e9f1a-3b4d-4e5f-8a6b-9c0d1e2f3a4b"
        self.uc_models = [{"name": "churn_uc", "catalog_name": "main", "schema_name": "default",
                           "full_name": "main.default.churn_uc", "owner": "data-eng", "comment": "churn, governed",
                           "storage_location": f"{uc_model_root}/{model_id}", "metastore_id": self.metastore["metastore_id"],
                           "created_at": 1700000000000, "created_by": "alice@example.com",
                           "updated_at": 1700000000000, "updated_by": "alice@example.com"}]
        self.uc_model_versions = {"main.default.churn_uc": [
            {"model_name": "churn_uc", "catalog_name": "main", "schema_name": "default", "version": 1,
             "source": "dbfs:/databricks/mlflow-tracking/1/abc/artifacts/model", "run_id": "abc",
             "storage_location": f"{uc_model_root}/{model_id}/versions/1", "status": "READY",
             "created_at": 1700000000000, "created_by": "alice@example.com", "id": "v-1"}]}
        self.feature_tables = [
            {"name": "main.features.customer", "id": "ft-1", "description": "customer features",
             "primary_keys": [{"name": "customer_id", "data_type": "LONG"}], "timestamp_keys": [],
             "partition_keys": [], "features": [{"name": "spend_30d", "data_type": "DOUBLE"},
                                                 {"name": "visits_30d", "data_type": "INTEGER"}],
             "creation_timestamp": 1700000000000, "creator_id": "alice@example.com",
             "notebook_producers": [{"notebook_id": "123", "notebook_path": "/Shared/etl"}]}]
        self.grants[("function", "main.default.churn_uc")] = [{"principal": "data-eng", "privileges": ["EXECUTE"]}]
        # Faults and statistics.
        self.faults = {"throttle_every": 0, "error_every": 0, "slow_every": 0, "slow_ms": 0, "token_ttl": 3600,
                       "retry_after": 1, "fail_paths": []}
        self.tokens = {}
        self.stats = {"calls": 0, "throttled": 0, "errors": 0, "early_retries": 0, "token_requests": 0,
                      "secret_reads": 0, "unauthorized": 0}
        self.not_before = {}  # request line -> time before which a retry is early
        self.extend(fixtures, account_id)

    def extend(self, fixtures, account_id):
        """Pipelines, SQL objects, dashboards, Git folders, init scripts, serving, IP lists, the
        built-in objects and the account level (documented example shapes, fixtures byte for byte)."""
        j = lambda name: json.loads(load(fixtures, name))  # noqa: E731
        raw = lambda name: load(fixtures, name)  # noqa: E731
        ms = self.metastore["metastore_id"]
        profile = j("list-instance-profiles.json")["instance_profiles"][0]["instance_profile_arn"]
        self.workspace_id = WORKSPACE_ID
        self.account_id = account_id
        # Storage as Unity Catalog gives it (docs.databricks.com/api/workspace/metastores/summary,
        # /catalogs/get, /tables/get, /volumes/get, /externallocations/get): the metastore root,
        # catalogs with their own managed root, `__unitystorage/catalogs/<id>/tables/<id>` under the
        # root that holds a managed table, external objects under an external location.
        root = "s3://uc-metastore-us-east-1/metastore"
        lake = "s3://acme-datalake-us-east-1"
        self.metastore.update({"storage_root": root, "region": "us-east-1", "cloud": "aws",
                               "global_metastore_id": f"aws:us-east-1:{ms}", "created_at": 1690000000000,
                               "created_by": "admin@example.com", "privilege_model_version": "1.0",
                               "storage_root_credential_name": "metastore_root", "updated_at": 1700000000000})
        cat_ids = {"main": "0c6f9a3e-1d2b-4c5a-8e7f-9a0b1c2d3e4f", "sales": "5e8d7c6b-4a39-4281-9f0e-1d2c3b4a5968"}
        main, sales = self.catalogs
        main.update({"comment": "default catalog", "owner": "admins", "properties": {"domain": "shared"},
                     "isolation_mode": "OPEN", "full_name": "main", "securable_type": "CATALOG",
                     "created_at": 1690000000000, "created_by": "admin@example.com"})
        sales.update({"comment": "sales domain", "storage_root": f"{lake}/uc/sales",
                      "storage_location": f"{lake}/uc/sales/__unitystorage/catalogs/{cat_ids['sales']}",
                      "isolation_mode": "OPEN", "full_name": "sales", "securable_type": "CATALOG",
                      "created_at": 1695000000000, "created_by": "alice@example.com"})
        managed = {"main": f"{root}/__unitystorage/catalogs/{cat_ids['main']}",
                   "sales": f"{lake}/uc/sales/__unitystorage/catalogs/{cat_ids['sales']}"}
        customers, events = self.tables
        customers["table_id"] = "3f2a1b0c-9d8e-4f7a-b6c5-d4e3f2a1b0c9"
        customers["storage_location"] = f"{managed['main']}/tables/{customers['table_id']}"
        customers["metastore_id"] = ms
        events["table_id"] = "8b7a6c5d-4e3f-4a2b-9c1d-0e9f8a7b6c5d"
        events["storage_location"] = f"{lake}/raw/events"
        events["metastore_id"] = ms
        self.tables += [
            {"name": "orders_daily", "catalog_name": "sales", "schema_name": "orders", "full_name": "sales.orders.orders_daily",
             "table_type": "MANAGED", "data_source_format": "DELTA", "owner": "data-eng", "comment": "one row a day",
             "table_id": "c1d2e3f4-a5b6-4c7d-8e9f-0a1b2c3d4e5f", "metastore_id": ms,
             "storage_location": f"{managed['sales']}/tables/c1d2e3f4-a5b6-4c7d-8e9f-0a1b2c3d4e5f",
             "columns": [{"name": "day", "type_text": "date", "type_name": "DATE", "position": 0, "nullable": False}],
             "created_at": 1700000000000, "created_by": "alice@example.com"},
            {"name": "clicks", "catalog_name": "sales", "schema_name": "orders", "full_name": "sales.orders.clicks",
             "table_type": "EXTERNAL", "data_source_format": "PARQUET", "owner": "data-eng",
             "table_id": "d4c3b2a1-0f9e-4d8c-b7a6-5f4e3d2c1b0a", "metastore_id": ms,
             "storage_location": f"{lake}/raw/clicks/", "storage_credential_name": "sales_cred",
             "columns": [{"name": "at", "type_text": "timestamp", "type_name": "TIMESTAMP", "position": 0, "nullable": True}],
             "created_at": 1700000000000, "created_by": "alice@example.com"},
        ]
        landing, rawvol = self.volumes
        landing["storage_location"] = f"{managed['sales']}/volumes/{landing['volume_id']}"
        rawvol.update({"storage_location": f"{lake}/raw/volume", "volume_id": "6a5b4c3d-2e1f-4a0b-9c8d-7e6f5a4b3c2d"})
        loc = self.external_locations[0]
        loc["url"] = f"{lake}/raw/"
        loc["credential_id"] = self.storage_credentials[0]["id"] = "2b3c4d5e-6f70-4182-93a4-b5c6d7e8f901"
        for s in self.schemas:
            s.setdefault("metastore_id", ms)
        # A schema with a managed location of its own, and a managed table under it
        # (`__unitystorage/schemas/<schema id>/tables/<table id>`).
        orders = next(s for s in self.schemas if s["full_name"] == "sales.orders")
        orders.update({"schema_id": "7d6c5b4a-3f2e-4d1c-8b0a-9f8e7d6c5b4a", "storage_root": f"{lake}/uc/orders",
                       "storage_location": f"{lake}/uc/orders/__unitystorage/schemas/7d6c5b4a-3f2e-4d1c-8b0a-9f8e7d6c5b4a"})
        self.tables.append(
            {"name": "returns", "catalog_name": "sales", "schema_name": "orders", "full_name": "sales.orders.returns",
             "table_type": "MANAGED", "data_source_format": "DELTA", "owner": "data-eng",
             "table_id": "e5f6a7b8-c9d0-4e1f-a2b3-c4d5e6f7a8b9", "metastore_id": ms,
             "storage_location": f"{orders['storage_location']}/tables/e5f6a7b8-c9d0-4e1f-a2b3-c4d5e6f7a8b9",
             "columns": [{"name": "id", "type_text": "bigint", "type_name": "LONG", "position": 0, "nullable": False}],
             "created_at": 1700000000000, "created_by": "alice@example.com"})
        # Built-in and non-managed catalogs (docs.databricks.com/api/workspace/catalogs/list:
        # `catalog_type` is MANAGED_CATALOG, FOREIGN_CATALOG with `connection_name`,
        # DELTASHARING_CATALOG with `provider_name` and `share_name`, SYSTEM_CATALOG,
        # INTERNAL_CATALOG), each with a schema.
        self.catalogs += [
            {"name": "__databricks_internal", "catalog_type": "INTERNAL_CATALOG", "owner": "System user",
             "comment": "Databricks-managed internal catalog", "full_name": "__databricks_internal",
             "securable_type": "CATALOG", "metastore_id": ms, "isolation_mode": "OPEN", "created_at": 1690000000000,
             "created_by": "System user"},
            {"name": "system", "catalog_type": "SYSTEM_CATALOG", "owner": "System user",
             "comment": "System catalog (auto-created)", "full_name": "system", "securable_type": "CATALOG",
             "metastore_id": ms, "isolation_mode": "OPEN", "created_at": 1690000000000, "created_by": "System user"},
            {"name": "pg_erp", "catalog_type": "FOREIGN_CATALOG", "connection_name": "erp_postgres",
             "options": {"database": "erp"}, "owner": "data-eng", "comment": "ERP database, federated",
             "full_name": "pg_erp", "securable_type": "CATALOG", "metastore_id": ms, "isolation_mode": "OPEN",
             "created_at": 1698000000000, "created_by": "alice@example.com"},
            {"name": "partner_prices", "catalog_type": "DELTASHARING_CATALOG", "provider_name": "acme-partner",
             "share_name": "daily_prices", "owner": "data-eng", "comment": "prices shared by a partner",
             "full_name": "partner_prices", "securable_type": "CATALOG", "metastore_id": ms,
             "isolation_mode": "OPEN", "created_at": 1698000000000, "created_by": "alice@example.com"},
        ]
        self.schemas += [
            {"name": "__dlt_materialization_schema_9e1c4f3a6b2d4c8ea7f03d5b1e2c4a6f", "catalog_name": "__databricks_internal",
             "full_name": "__databricks_internal.__dlt_materialization_schema_9e1c4f3a6b2d4c8ea7f03d5b1e2c4a6f",
             "owner": "System user", "catalog_type": "INTERNAL_CATALOG", "metastore_id": ms},
            {"name": "access", "catalog_name": "system", "full_name": "system.access", "owner": "System user",
             "catalog_type": "SYSTEM_CATALOG", "comment": "audit and lineage", "metastore_id": ms},
            {"name": "public", "catalog_name": "pg_erp", "full_name": "pg_erp.public", "owner": "data-eng",
             "catalog_type": "FOREIGN_CATALOG", "metastore_id": ms},
            {"name": "prices", "catalog_name": "partner_prices", "full_name": "partner_prices.prices", "owner": "data-eng",
             "catalog_type": "DELTASHARING_CATALOG", "metastore_id": ms},
        ]
        # Grants with a direct `admins` entry (docs.databricks.com/api/workspace/grants/get).
        self.grants[("catalog", "pg_erp")] = [{"principal": "admins", "privileges": ["ALL_PRIVILEGES"]},
                                              {"principal": "data-eng", "privileges": ["USE_CATALOG", "SELECT"]}]
        self.grants[("catalog", "partner_prices")] = [{"principal": "admins", "privileges": ["ALL_PRIVILEGES"]}]
        self.grants[("table", "sales.orders.orders_daily")] = [{"principal": "admins", "privileges": ["ALL_PRIVILEGES"]},
                                                               {"principal": "analysts", "privileges": ["SELECT"]}]
        # Clusters and pools in us-east-1 with the fixture instance profile
        # (docs.databricks.com/api/workspace/clusters/get, /instancepools/get: aws_attributes).
        east = {"cluster_id": "0101-120000-etl01east", "cluster_name": "etl-east", "spark_version": "15.4.x-scala2.12",
                "node_type_id": "i3.xlarge", "driver_node_type_id": "i3.xlarge", "num_workers": 2,
                "autotermination_minutes": 60, "cluster_source": "UI", "state": "TERMINATED",
                "creator_user_name": "alice@example.com", "data_security_mode": "USER_ISOLATION",
                "aws_attributes": {"availability": "SPOT_WITH_FALLBACK", "zone_id": "us-east-1a", "first_on_demand": 1,
                                   "spot_bid_price_percent": 100, "instance_profile_arn": profile,
                                   "ebs_volume_count": 0},
                "spark_conf": {"spark.databricks.delta.preview.enabled": "true"},
                # Shell syntax in an environment variable, which Terraform must not evaluate.
                "spark_env_vars": {"JAVA_OPTS": "${JAVA_OPTS} -Dlakedr.probe=1"},
                "default_tags": {"Vendor": "Databricks", "Creator": "alice@example.com", "ClusterName": "etl-east",
                                 "ClusterId": "0101-120000-etl01east"}}
        self.cluster_list.append(east)
        self.cluster_get[east["cluster_id"]] = east
        self.cluster_acl[east["cluster_id"]] = acl_with_admins("clusters", east["cluster_id"], "CAN_RESTART")
        self.pools.append({"instance_pool_id": "0101-120000-pool-east", "instance_pool_name": "east pool",
                           "node_type_id": "i3.xlarge", "min_idle_instances": 0, "idle_instance_autotermination_minutes": 30,
                           "enable_elastic_disk": True, "preloaded_spark_versions": ["15.4.x-scala2.12"],
                           "aws_attributes": {"availability": "SPOT", "zone_id": "us-east-1a", "spot_bid_price_percent": 100,
                                              "instance_profile_arn": profile},
                           "default_tags": {"Vendor": "Databricks", "DatabricksInstancePoolId": "0101-120000-pool-east"},
                           "state": "ACTIVE"})
        # Built-in cluster policies (docs.databricks.com/api/workspace/clusterpolicies/list:
        # `is_default` true, created and managed by Databricks, with their `policy_family_id`;
        # the families: docs.databricks.com/aws/en/admin/clusters/policy-families).
        single = {"spark_conf.spark.databricks.cluster.profile": {"type": "fixed", "value": "singleNode", "hidden": True},
                  "num_workers": {"type": "fixed", "value": 0, "hidden": True}}
        families = [
            ("personal-vm", "Personal Compute", "001D2A3B4C5D6E7F", "Use with small-to-medium data or libraries like pandas and scikit-learn.",
             single | {"data_security_mode": {"type": "allowlist", "values": ["SINGLE_USER", "NONE"]}}),
            ("shared-compute", "Shared Compute", "0027B1C2D3E4F5A6", "Share compute across users in Unity Catalog shared access mode.",
             {"data_security_mode": {"type": "fixed", "value": "USER_ISOLATION", "hidden": True}}),
            ("power-user", "Power User Compute", "0031C2D3E4F5A6B7", "Multi-node compute for a single power user.",
             {"data_security_mode": {"type": "fixed", "value": "SINGLE_USER", "hidden": True}}),
            ("job-cluster", "Job Compute", "0042D3E4F5A6B7C8", "General-purpose compute for jobs.",
             {"cluster_type": {"type": "fixed", "value": "job"}}),
            ("shared-data-science", "Legacy Shared Compute", "0053E4F5A6B7C8D9", "Shared compute without Unity Catalog.",
             {"spark_conf.spark.databricks.cluster.profile": {"type": "forbidden", "hidden": True}}),
        ]
        self.policy_families = []
        for fam, name, pid, desc, definition in families:
            text = json.dumps(definition, separators=(",", ":"))
            self.policy_families.append({"policy_family_id": fam, "name": name, "description": desc, "definition": text})
            self.policies.append({"policy_id": pid, "name": name, "definition": text, "description": desc,
                                  "policy_family_id": fam, "policy_family_definition_overrides": "{}",
                                  "is_default": True, "created_at_timestamp": 1690000000000})
        self.policy_get = {"123": raw("get-cluster-policy.json")}
        # Pipelines (docs.databricks.com/api/workspace/pipelines/get): the fixture (id 123) and two
        # made here, one continuous writing to catalog.schema, one triggered with catalog.target.
        self.raw[("pipeline", "123")] = raw("get-dlt-pipeline.json")
        self.pipelines = {"123": j("get-dlt-pipeline.json")}
        stream_id, nightly_id = "9e1c4f3a-6b2d-4c8e-a7f0-3d5b1e2c4a6f", "4b2d6f80-1a3c-4e5f-9a7b-c8d9e0f1a2b3"
        cluster = {"label": "default", "node_type_id": "i3.xlarge", "num_workers": 2,
                   "aws_attributes": {"instance_profile_arn": profile, "zone_id": "us-east-1a", "availability": "ON_DEMAND"}}
        for pid, name, continuous, where, nb in (
                (stream_id, "orders-stream", True, {"catalog": "sales", "schema": "orders"}, "/Shared/etl"),
                (nightly_id, "nightly-dims", False, {"catalog": "main", "target": "default"}, "/Shared/report über")):
            self.pipelines[pid] = {
                "pipeline_id": pid, "name": name, "state": "RUNNING" if continuous else "IDLE", "health": "HEALTHY",
                "creator_user_name": "alice@example.com", "run_as_user_name": "alice@example.com",
                "last_modified": 1700000000000, "cluster_id": "0101-130000-dltx1a2b" if continuous else None,
                "latest_updates": [{"update_id": "7f1e2d3c-4b5a-4968-8776-655443322110", "state": "RUNNING" if continuous else "COMPLETED",
                                    "creation_time": "2026-01-05T10:00:00.000Z"}],
                "spec": {"id": pid, "name": name, "continuous": continuous, "development": False, "photon": True,
                         "edition": "ADVANCED", "channel": "CURRENT", "clusters": [copy.deepcopy(cluster)],
                         "libraries": [{"notebook": {"path": nb}}],
                         "configuration": {"source": f"{lake}/raw/"}, **where}}
            if not continuous:
                del self.pipelines[pid]["cluster_id"]
        self.raw_acl_pipelines = {"123": raw("get-pipeline-permissions.json")}
        self.legacy_sql = {"dashboards": raw("get-sql-dashboards.json"), "dashboard": raw("get-sql-dashboard.json"),
                           "query": raw("get-sql-query.json")}
        # A job with the tasks that name other objects (docs.databricks.com/api/workspace/jobs/get:
        # pipeline_task.pipeline_id, sql_task.warehouse_id, existing_cluster_id).
        self.jobs[1100] = {"job_id": 1100, "created_time": 1700000000000, "creator_user_name": "alice@example.com",
                           "run_as_user_name": "alice@example.com",
                           "settings": {"name": "orchestrate", "format": "MULTI_TASK", "max_concurrent_runs": 1,
                                        "tasks": [
                                            {"task_key": "dims", "pipeline_task": {"pipeline_id": nightly_id, "full_refresh": False}},
                                            {"task_key": "report", "depends_on": [{"task_key": "dims"}],
                                             "sql_task": {"warehouse_id": "f562046bc1272886",
                                                          "query": {"query_id": "16c4f969-eea0-4aad-8f82-03d79b078dcc"}}},
                                            {"task_key": "adhoc", "depends_on": [{"task_key": "dims"}],
                                             "existing_cluster_id": "awscluster",
                                             "notebook_task": {"notebook_path": "/Shared/etl", "source": "WORKSPACE"}}]}}
        self.job_acl[1100] = acl_with_admins("jobs", "1100", "CAN_MANAGE_RUN")
        # Secret keys (names and timestamps only) and cluster libraries: fixtures.
        self.secret_keys = {"some-kv-scope": raw("secret-scopes-list-scope-response.json")}
        self.libraries = {"test1": raw("libraries-cluster-status-test1.json"),
                          "test2": raw("libraries-cluster-status-test2.json"),
                          "awscluster": raw("libraries-cluster-status-test2.json"),
                          east["cluster_id"]: {"cluster_id": east["cluster_id"], "library_statuses": [
                              {"library": {"pypi": {"package": "great-expectations==0.18.8"}}, "status": "INSTALLED",
                               "is_library_for_all_clusters": False},
                              {"library": {"whl": "/Volumes/sales/orders/landing/libs/etl_helpers-1.2.0-py3-none-any.whl"},
                               "status": "INSTALLED", "is_library_for_all_clusters": False}]}}
        self.instance_profiles = raw("list-instance-profiles.json")
        # SQL queries and alerts (the current API): fixtures, and one of each made here.
        self.queries = [j("get-queries.json")["results"][0],
                        {"id": "7b3e5f1a-2c4d-4e6f-8a9b-0c1d2e3f4a5b", "display_name": "Orders by day",
                         "query_text": "SELECT day, count(*) FROM sales.orders.orders_daily GROUP BY day",
                         "warehouse_id": "9a8b7c6d5e4f3a2b", "parent_path": "/Users/alice@example.com",
                         "owner_user_name": "alice@example.com", "last_modifier_user_name": "alice@example.com",
                         "run_as_mode": "VIEWER", "lifecycle_state": "ACTIVE", "catalog": "sales", "schema": "orders",
                         "apply_auto_limit": True, "tags": ["sales"], "description": "daily order counts",
                         "create_time": "2025-11-02T09:00:00Z", "update_time": "2025-11-03T09:00:00Z"}]
        self.query_raw = {"16c4f969-eea0-4aad-8f82-03d79b078dcc": raw("get-query.json")}
        self.alerts = [j("get-alerts.json")["results"][0],
                       {"id": "e5d4c3b2-a190-4f8e-8d7c-6b5a49382716", "display_name": "No orders today",
                        "query_id": "7b3e5f1a-2c4d-4e6f-8a9b-0c1d2e3f4a5b", "parent_path": "/Users/alice@example.com",
                        "condition": {"op": "LESS_THAN", "operand": {"column": {"name": "count(1)"}},
                                      "threshold": {"value": {"double_value": 1}}, "empty_result_state": "TRIGGERED"},
                        "owner_user_name": "alice@example.com", "notify_on_ok": False, "seconds_to_retrigger": 0,
                        "lifecycle_state": "ACTIVE", "state": "UNKNOWN",
                        "create_time": "2025-11-03T09:00:00Z", "update_time": "2025-11-03T09:00:00Z"}]
        self.alert_raw = {"3cf91a42-6217-4f3c-a6f0-345d489051b9": raw("get-alert.json")}
        self.query_acl = {"16c4f969-eea0-4aad-8f82-03d79b078dcc": raw("get-sql-query-permissions.json")}
        self.alert_acl = {"3cf91a42-6217-4f3c-a6f0-345d489051b9": raw("get-sql-alert-permissions.json")}
        # SQL warehouses, paged (docs.databricks.com/api/workspace/warehouses/list): the fixture's
        # warehouse and a serverless one.
        self.warehouse_items = list(self.warehouses["endpoints"]) + [
            {"id": "9a8b7c6d5e4f3a2b", "name": "analytics-serverless", "cluster_size": "Small", "min_num_clusters": 1,
             "max_num_clusters": 2, "auto_stop_mins": 10, "enable_serverless_compute": True, "enable_photon": True,
             "warehouse_type": "PRO", "spot_instance_policy": "COST_OPTIMIZED", "channel": {"name": "CHANNEL_NAME_CURRENT"},
             "creator_name": "alice@example.com", "state": "STOPPED", "num_clusters": 0, "num_active_sessions": 0,
             "tags": {"custom_tags": [{"key": "team", "value": "analytics"}]},
             "odbc_params": {"hostname": "dbc-1234.cloud.databricks.com", "path": "/sql/1.0/warehouses/9a8b7c6d5e4f3a2b",
                             "port": 443, "protocol": "https"}}]
        self.warehouse_acl["9a8b7c6d5e4f3a2b"] = acl_with_admins("warehouses", "9a8b7c6d5e4f3a2b", "CAN_USE")
        # Lakeview dashboards (docs.databricks.com/api/workspace/lakeview/get).
        sdash = {"datasets": [{"name": "d1", "displayName": "orders", "query": "SELECT * FROM sales.orders.orders_daily"}],
                 "pages": [{"name": "p1", "displayName": "Overview", "layout": []}]}
        self.dashboards = [
            {"dashboard_id": "01ef2b1c3d4e5f60a7b8c9d0e1f2a3b4", "display_name": "Sales overview",
             "parent_path": "/Users/alice@example.com", "path": "/Users/alice@example.com/Sales overview.lvdash.json",
             "warehouse_id": "f562046bc1272886", "lifecycle_state": "ACTIVE", "etag": "80611980",
             "create_time": "2025-10-01T08:00:00.000Z", "update_time": "2025-10-02T08:00:00.000Z",
             "serialized_dashboard": json.dumps(sdash)},
            {"dashboard_id": "01ef2b1c3d4e5f60a7b8c9d0e1f2a3b5", "display_name": "Ops",
             "parent_path": "/Shared", "path": "/Shared/Ops.lvdash.json",
             "warehouse_id": "f562046bc1272886", "lifecycle_state": "ACTIVE", "etag": "1240021",
             "create_time": "2025-10-05T08:00:00.000Z", "update_time": "2025-10-05T08:00:00.000Z",
             "serialized_dashboard": json.dumps({"datasets": [], "pages": [{"name": "p1", "displayName": "Jobs"}]})},
        ]
        # Git folders: 45 under /Repos (so that 20 a page takes three), one outside it, and the
        # workspace objects that show them (docs.databricks.com/api/workspace/repos/list).
        self.repos[0]["sparse_checkout"] = {"patterns": ["src"]}
        self.repos += [{"id": 4100000000000000 + i, "path": f"/Repos/ci@example.com/svc-{i:02}",
                        "url": f"https://github.com/example/svc-{i:02}.git", "provider": "gitHub", "branch": "main",
                        "head_commit_id": hashlib.sha1(f"svc-{i}".encode()).hexdigest()} for i in range(44)]
        self.repos.append({"id": 3340021112223334, "path": "/Users/alice@example.com/project",
                           "url": "https://gitlab.com/example/project.git", "provider": "gitLab", "branch": "develop",
                           "head_commit_id": "3b18e512dba79e4c8300dd08aeb37f8e728b8dad"})
        self.objects += [
            {"object_type": "DIRECTORY", "path": "/Users", "object_id": 900001},
            {"object_type": "DIRECTORY", "path": "/Users/alice@example.com", "object_id": 900002},
            {"object_type": "DIRECTORY", "path": "/Repos", "object_id": 900003},
            {"object_type": "DIRECTORY", "path": "/Repos/alice@example.com", "object_id": 900004},
            {"object_type": "DIRECTORY", "path": "/Repos/ci@example.com", "object_id": 900005},
            {"object_type": "FILE", "path": "/Users/alice@example.com/helpers.py", "object_id": 900010,
             "size": 63, "created_at": 1700000000000, "modified_at": 1700000100000,
             "resource_id": "900010"},
        ] + [{"object_type": "REPO", "path": r["path"], "object_id": r["id"], "resource_id": str(r["id"])} for r in self.repos] + [
            {"object_type": "DASHBOARD", "path": d["path"], "object_id": 900020 + i, "resource_id": d["dashboard_id"]}
            for i, d in enumerate(self.dashboards)]
        self.file_content = {"/Users/alice@example.com/helpers.py":
                             b"def greet(name):\n    return f\"hello {name}\"\n\nprint(greet('x'))\n"}
        # Global init scripts: fixtures.
        self.init_scripts = raw("global-init-scripts-list.json")
        self.init_script_get = {"C39FD6BAC8088BBC": raw("global-init-script-get1.json"),
                                "F931E63C248C1D8C": raw("global-init-script-get2.json")}
        # Model serving (docs.databricks.com/api/workspace/servingendpoints/get): an endpoint
        # serving version 1 of the Unity Catalog model main.default.churn_uc.
        self.serving = [{
            "name": "churn-scoring", "id": "b6f2a9c4d81e4e0f9a3b5c7d2e1f0a98", "creator": "alice@example.com",
            "creation_timestamp": 1700000000000, "last_updated_timestamp": 1700000500000, "permission_level": "CAN_MANAGE",
            "state": {"ready": "READY", "config_update": "NOT_UPDATING"},
            "tags": [{"key": "team", "value": "ml"}], "route_optimized": False,
            "config": {"config_version": 2,
                       "served_entities": [{"name": "churn_uc-1", "entity_name": "main.default.churn_uc", "entity_version": "1",
                                            "workload_size": "Small", "workload_type": "CPU", "scale_to_zero_enabled": True,
                                            "creator": "alice@example.com", "creation_timestamp": 1700000000000,
                                            "state": {"deployment": "DEPLOYMENT_READY",
                                                      "deployment_state_message": "Served entity is ready."}}],
                       "traffic_config": {"routes": [{"served_model_name": "churn_uc-1", "traffic_percentage": 100}]}}}]
        self.serving_acl = {"b6f2a9c4d81e4e0f9a3b5c7d2e1f0a98": acl_with_admins("serving-endpoints",
                                                                                 "b6f2a9c4d81e4e0f9a3b5c7d2e1f0a98", "CAN_QUERY")}
        # IP access lists (docs.databricks.com/api/workspace/ipaccesslists/list).
        self.ip_lists = [
            {"list_id": "5a0c7e0e-2b3d-4c8f-9e1a-6f7b8c9d0e1f", "label": "office", "list_type": "ALLOW",
             "ip_addresses": ["192.0.2.0/24", "198.51.100.7"], "address_count": 257, "enabled": True,
             "created_at": 1690000000000, "created_by": 1001, "updated_at": 1690000000000, "updated_by": 1001},
            {"list_id": "0f9e8d7c-6b5a-4948-8372-615049382716", "label": "blocked", "list_type": "BLOCK",
             "ip_addresses": ["203.0.113.0/24"], "address_count": 256, "enabled": True,
             "created_at": 1695000000000, "created_by": 1002, "updated_at": 1696000000000, "updated_by": 1002}]
        # SCIM (docs.databricks.com/api/workspace/groups/list, /groups/get, /currentuser/me):
        # workspace-local groups are `WorkspaceGroup`, account groups `Group`; the two large groups
        # come without `members` in the list and with them when read one at a time.
        group_schema = ["urn:ietf:params:scim:schemas:core:2.0:Group"]
        data_eng, admins = self.groups
        data_eng.update({"meta": {"resourceType": "WorkspaceGroup"}, "schemas": group_schema})
        admins.update({"meta": {"resourceType": "WorkspaceGroup"}, "schemas": group_schema,
                       "entitlements": [{"value": "workspace-access"}, {"value": "databricks-sql-access"},
                                        {"value": "allow-cluster-create"}, {"value": "allow-instance-pool-create"}]})
        member = lambda u: {"value": u["id"], "display": u.get("displayName", u["userName"]), "$ref": f"Users/{u['id']}"}  # noqa: E731
        sp_member = {"value": "3001", "display": "etl-sp", "$ref": "ServicePrincipals/3001"}
        self.groups += [
            {"id": "2003", "displayName": "users", "meta": {"resourceType": "WorkspaceGroup"}, "schemas": group_schema,
             "members": [member(u) for u in self.users] + [sp_member],
             "entitlements": [{"value": "workspace-access"}, {"value": "databricks-sql-access"}]},
            {"id": "2004", "displayName": "analysts", "meta": {"resourceType": "Group"}, "schemas": group_schema,
             "externalId": "a7c3e9f1-0b2d-4e6f-8a1c-3e5f7a9b1d2f",
             "members": [member(u) for u in self.users[:2]] + [member(u) for u in self.users[3:63]],
             "entitlements": [{"value": "databricks-sql-access"}]},
        ]
        self.large_groups = {"2003", "2004"}
        self.me = {"id": "3001", "userName": self.sps[0]["applicationId"], "displayName": "etl-sp", "active": True,
                   "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:workspace:2.0:User"],
                   "emails": [], "groups": [{"display": "data-eng", "type": "direct", "value": "2001", "$ref": "Groups/2001"},
                                            {"display": "users", "type": "direct", "value": "2003", "$ref": "Groups/2003"},
                                            {"display": "admins", "type": "indirect", "value": "2002", "$ref": "Groups/2002"}],
                   "entitlements": [{"value": "workspace-access"}]}
        self.sps[0]["groups"] = [{"display": "data-eng", "value": "2001", "type": "direct"}]
        # The account (docs.databricks.com/api/account/workspaces/get, /networks/get,
        # /storage/get, /credentials/get, /accountusers, /accountgroups, /accountserviceprincipals,
        # /accountmetastores, /accountmetastoreassignments).
        aid = account_id
        self.account_workspaces = [{
            "workspace_id": WORKSPACE_ID, "workspace_name": "prod-ws", "deployment_name": "acme-prod",
            "account_id": aid, "aws_region": "us-east-1", "cloud": "aws", "pricing_tier": "PREMIUM",
            "credentials_id": "c1a2b3d4-e5f6-4789-a0b1-c2d3e4f5a6b7", "storage_configuration_id": "s1a2b3d4-e5f6-4789-a0b1-c2d3e4f5a6b7",
            "network_id": "n1a2b3d4-e5f6-4789-a0b1-c2d3e4f5a6b7", "workspace_status": "RUNNING",
            "workspace_status_message": "Workspace is running.", "creation_time": 1680000000000, "compute_mode": "HYBRID"}]
        self.account_networks = [{
            "network_id": "n1a2b3d4-e5f6-4789-a0b1-c2d3e4f5a6b7", "network_name": "prod-vpc", "account_id": aid,
            "vpc_id": "vpc-0a1b2c3d4e5f60718", "subnet_ids": ["subnet-0a1b2c3d4e5f60001", "subnet-0a1b2c3d4e5f60002"],
            "security_group_ids": ["sg-0a1b2c3d4e5f60718"], "vpc_status": "VALID", "workspace_id": WORKSPACE_ID,
            "vpc_endpoints": {"rest_api": ["ve-rest-0001"], "dataplane_relay": ["ve-relay-0001"]},
            "creation_time": 1680000000000}]
        self.account_storage = [{
            "storage_configuration_id": "s1a2b3d4-e5f6-4789-a0b1-c2d3e4f5a6b7", "storage_configuration_name": "prod-root",
            "account_id": aid, "root_bucket_info": {"bucket_name": "acme-dbx-root-us-east-1"}, "creation_time": 1680000000000}]
        self.account_credentials = [{
            "credentials_id": "c1a2b3d4-e5f6-4789-a0b1-c2d3e4f5a6b7", "credentials_name": "prod-cross-account",
            "account_id": aid, "creation_time": 1680000000000,
            "aws_credentials": {"sts_role": {"role_arn": "arn:aws:iam::123456789012:role/databricks-cross-account",
                                             "external_id": aid}}}]
        user_schema = ["urn:ietf:params:scim:schemas:core:2.0:User"]
        self.account_users = [{k: u[k] for k in ("id", "userName", "displayName", "active", "emails") if k in u}
                              | {"schemas": user_schema, "name": {"givenName": u.get("displayName", "")}}
                              for u in self.users]
        self.account_groups = [{"id": "2004", "displayName": "analysts", "schemas": group_schema,
                                "externalId": "a7c3e9f1-0b2d-4e6f-8a1c-3e5f7a9b1d2f",
                                "members": self.groups[3]["members"], "meta": {"resourceType": "Group"}},
                               {"id": "2006", "displayName": "platform-admins", "schemas": group_schema,
                                "members": [member(self.users[1]), sp_member], "meta": {"resourceType": "Group"}}]
        self.account_sps = [{"id": "3001", "applicationId": self.sps[0]["applicationId"], "displayName": "etl-sp",
                             "active": True, "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServicePrincipal"]}]
        self.account_metastores = [dict(self.metastore)]
        self.account_assignment = {"workspace_id": WORKSPACE_ID, "metastore_id": ms, "default_catalog_name": "main"}
        self.account_tokens = {}
        self.stats["account_token_requests"] = 0


def _delete(ws, coll, oid):
    """Removes one object of a collection (the workspace's own delete)."""
    by_key = {
        "pipelines": lambda: ws.pipelines.pop(oid, None) is not None,
        "queries": lambda: _drop(ws.queries, "id", oid),
        "alerts": lambda: _drop(ws.alerts, "id", oid),
        "dashboards": lambda: _drop(ws.dashboards, "dashboard_id", oid),
        "repos": lambda: _drop(ws.repos, "id", int(oid)) and (_drop(ws.objects, "object_id", int(oid)) or True),
        "global-init-scripts": lambda: _drop_script(ws, oid),
        "serving-endpoints": lambda: _drop(ws.serving, "name", oid),
        "ip-access-lists": lambda: _drop(ws.ip_lists, "list_id", oid),
        "workspace": lambda: _drop(ws.objects, "path", oid),
        "libraries": lambda: ws.libraries.pop(oid, None) is not None,
        "secret-scopes": lambda: _drop_scope(ws, oid),
        "instance-profiles": lambda: _drop_profile(ws, oid),
    }
    f = by_key.get(coll)
    return bool(f and f())


def _drop(items, key, value):
    n = len(items)
    items[:] = [x for x in items if x.get(key) != value]
    return len(items) < n


def _drop_script(ws, sid):
    body = json.loads(ws.init_scripts)
    n = len(body["scripts"])
    body["scripts"] = [x for x in body["scripts"] if x["script_id"] != sid]
    ws.init_scripts = json.dumps(body).encode()
    ws.init_script_get.pop(sid, None)
    return len(body["scripts"]) < n


def _drop_scope(ws, name):
    body = json.loads(ws.scopes) if isinstance(ws.scopes, bytes) else ws.scopes
    n = len(body["scopes"])
    body["scopes"] = [x for x in body["scopes"] if x["name"] != name]
    ws.scopes = body
    return len(body["scopes"]) < n


def _drop_profile(ws, arn):
    body = json.loads(ws.instance_profiles)
    n = len(body["instance_profiles"])
    body["instance_profiles"] = [x for x in body["instance_profiles"] if x["instance_profile_arn"] != arn]
    ws.instance_profiles = json.dumps(body).encode()
    return len(body["instance_profiles"]) < n


def page(items, key, token, size, next_key="next_page_token", has_more=False):
    start = int(token or 0)
    chunk = items[start:start + size]
    out = {key: chunk} if chunk or key else {}
    if start + size < len(items):
        out[next_key] = str(start + size)
        if has_more:
            out["has_more"] = True
    elif has_more:
        out["has_more"] = False
    return out


def default_acl(kind, oid):
    return {"object_id": f"/{kind}/{oid}", "object_type": kind.rstrip("s"),
            "access_control_list": [{"user_name": "alice@example.com",
                                     "all_permissions": [{"permission_level": "CAN_MANAGE", "inherited": False}]}]}


def offset(token):
    """A page token of this fake (an offset), or None when it is not one."""
    try:
        return int(token or 0)
    except ValueError:
        return None


BAD_TOKEN = (400, {"error_code": "INVALID_PARAMETER_VALUE", "message": "Invalid page token."})


def paged(items, key, q, size_param, default, maximum=None):
    """A page of `items` under `key`, by `page_token` -> `next_page_token` (an offset here)."""
    start = offset(q.get("page_token"))
    if start is None:
        return BAD_TOKEN
    size = int(q.get(size_param) or default)
    if maximum is not None and size > maximum:
        return 400, {"error_code": "INVALID_PARAMETER_VALUE",
                     "message": f"{size_param} must be at most {maximum}, got {size}."}
    size = max(size, 1)
    out = {key: items[start:start + size]}
    if start + size < len(items):
        out["next_page_token"] = str(start + size)
    return 200, out


def not_found(what):
    return 404, {"error_code": "RESOURCE_DOES_NOT_EXIST", "message": f"{what} does not exist."}


def acl_with_admins(kind, oid, level):
    """An access list as the Permissions API gives it, with a direct (not inherited) `admins` entry."""
    owner = "IS_OWNER" if kind in ("jobs", "pipelines") else "CAN_MANAGE"
    # object_type as the fixtures spell it (job, cluster, pipelines, warehouses, ...).
    object_type = {"jobs": "job", "clusters": "cluster", "pipelines": "pipelines", "warehouses": "warehouses",
                   "queries": "query", "alerts": "alert", "dashboards": "dashboard",
                   "serving-endpoints": "serving-endpoint"}[kind]
    return {"object_id": f"/{kind}/{oid}", "object_type": object_type,
            "access_control_list": [
                {"user_name": "alice@example.com", "display_name": "Alice",
                 "all_permissions": [{"permission_level": owner, "inherited": False}]},
                {"group_name": "admins", "all_permissions": [{"permission_level": "CAN_MANAGE", "inherited": False}]},
                {"group_name": "data-eng", "all_permissions": [{"permission_level": level, "inherited": False}]}]}


def ws_path(p):
    """A workspace path without the `/Workspace` prefix the file system view adds."""
    if p == "/Workspace":
        return "/"
    return p[len("/Workspace"):] if p.startswith("/Workspace/") else p


def repo_token(repo_id):
    # Opaque, like the documented example (base64 of the last repo's tree node id).
    return base64.b64encode(json.dumps({"repo_treenode_id": repo_id}, separators=(",", ":")).encode()).decode().rstrip("=")


def repo_after(token):
    try:
        return json.loads(base64.b64decode(token + "=" * (-len(token) % 4)))["repo_treenode_id"]
    except (ValueError, KeyError, TypeError):
        return None


def scim_page(items, q):
    start, count = int(q.get("startIndex", 1)), min(int(q.get("count", 100)), 100)
    chunk = items[start - 1:start - 1 + count]
    return 200, {"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"], "totalResults": len(items),
                 "startIndex": start, "itemsPerPage": len(chunk), "Resources": chunk}


def permissions_more(ws, kind, oid):
    """Access lists of the kinds added with pipelines, SQL objects, dashboards and serving
    (docs.databricks.com/api/workspace/permissions/get: `/api/2.0/permissions/{request_object_type}/{id}`
    with request_object_type `pipelines`, `queries`, `alerts`, `dashboards`, `serving-endpoints`,
    `warehouses`; the fixtures' `sql/queries` and `sql/alerts` paths answer the same)."""
    if kind == "pipelines":
        if oid in ws.raw_acl_pipelines:
            return 200, ws.raw_acl_pipelines[oid]
        return (200, acl_with_admins("pipelines", oid, "CAN_RUN")) if oid in ws.pipelines else not_found(f"Pipeline {oid}")
    if kind in ("queries", "sql/queries"):
        if oid in ws.query_acl:
            return 200, ws.query_acl[oid]
        return (200, acl_with_admins("queries", oid, "CAN_RUN")) if any(x["id"] == oid for x in ws.queries) else not_found(f"Query {oid}")
    if kind in ("alerts", "sql/alerts"):
        if oid in ws.alert_acl:
            return 200, ws.alert_acl[oid]
        return (200, acl_with_admins("alerts", oid, "CAN_RUN")) if any(x["id"] == oid for x in ws.alerts) else not_found(f"Alert {oid}")
    if kind == "dashboards":
        if any(d["dashboard_id"] == oid for d in ws.dashboards):
            return 200, acl_with_admins("dashboards", oid, "CAN_RUN")
        return not_found(f"Dashboard {oid}")
    if kind == "serving-endpoints":
        return (200, ws.serving_acl[oid]) if oid in ws.serving_acl else not_found(f"Serving endpoint {oid}")
    if kind == "warehouses":
        if oid in ws.warehouse_acl:
            return 200, ws.warehouse_acl[oid]
    return None


def api_more(path, q, ws):
    """The endpoints added for pipelines, secrets' keys, libraries, instance profiles, SQL objects,
    dashboards, Git folders, init scripts, serving, IP access lists and SCIM reads one at a time."""
    # Pipelines (docs.databricks.com/api/workspace/pipelines/listpipelines): `max_results`
    # (default 25, at most 100, more is an error) and `page_token` -> `next_page_token`; the
    # page is `statuses`.
    if path == "/api/2.0/pipelines":
        items = []
        for pid, p in ws.pipelines.items():
            items.append({k: p[k] for k in ("pipeline_id", "name", "state", "cluster_id", "creator_user_name",
                                            "run_as_user_name", "health", "latest_updates") if k in p})
        return paged(items, "statuses", q, "max_results", 25, maximum=100)
    if path.startswith("/api/2.0/pipelines/"):
        pid = path.rsplit("/", 1)[1]
        if ("pipeline", pid) in ws.raw:
            return 200, ws.raw[("pipeline", pid)]
        return (200, ws.pipelines[pid]) if pid in ws.pipelines else not_found(f"Pipeline {pid}")
    # Secret keys (docs.databricks.com/api/workspace/secrets/listsecrets): names and last
    # update times, never values; not paged.
    if path == "/api/2.0/secrets/list":
        scope = q.get("scope", "")
        return (200, ws.secret_keys[scope]) if scope in ws.secret_keys else not_found(f"Scope {scope}")
    # Cluster libraries (docs.databricks.com/api/workspace/libraries/clusterstatus,
    # /allclusterlibrarystatuses); not paged.
    if path == "/api/2.0/libraries/cluster-status":
        cid = q.get("cluster_id", "")
        if cid in ws.libraries:
            return 200, ws.libraries[cid]
        if any(c["cluster_id"] == cid for c in ws.cluster_list):
            return 200, {"cluster_id": cid}
        return 400, {"error_code": "INVALID_PARAMETER_VALUE", "message": f"Cluster {cid} does not exist"}
    if path == "/api/2.0/libraries/all-cluster-statuses":
        statuses = []
        for cid, body in ws.libraries.items():
            body = json.loads(body) if isinstance(body, bytes) else body
            if body.get("library_statuses") and body.get("cluster_id") == cid:
                statuses.append(body)
        return 200, {"statuses": statuses}
    # Instance profiles (docs.databricks.com/api/workspace/instanceprofiles/list); not paged.
    if path == "/api/2.0/instance-profiles/list":
        return 200, ws.instance_profiles
    # Queries and alerts, the current API (docs.databricks.com/api/workspace/queries/list,
    # /queries/get, /alerts/list, /alerts/get): `page_size` and `page_token` ->
    # `next_page_token`, the page under `results`.
    for base, items, raw, what in (("/api/2.0/sql/queries", ws.queries, ws.query_raw, "Query"),
                                   ("/api/2.0/sql/alerts", ws.alerts, ws.alert_raw, "Alert")):
        if path == base:
            return paged(items, "results", q, "page_size", 20)
        if path.startswith(base + "/"):
            oid = path.rsplit("/", 1)[1]
            if oid in raw:
                return 200, raw[oid]
            found = next((x for x in items if x["id"] == oid), None)
            return (200, found) if found else not_found(f"{what} {oid}")
    # The legacy SQL objects, kept reachable (fixtures).
    if path == "/api/2.0/preview/sql/dashboards":
        return 200, ws.legacy_sql["dashboards"]
    if path.startswith("/api/2.0/preview/sql/dashboards/"):
        return 200, ws.legacy_sql["dashboard"]
    if path.startswith("/api/2.0/preview/sql/queries/"):
        return 200, ws.legacy_sql["query"]
    # Lakeview dashboards (docs.databricks.com/api/workspace/lakeview/list, /lakeview/get):
    # `page_size` and `page_token` -> `next_page_token`; the list gives summaries (no
    # `serialized_dashboard`), trashed ones only with `show_trashed=true`.
    if path == "/api/2.0/lakeview/dashboards":
        show = q.get("show_trashed") == "true"
        items = [{k: v for k, v in d.items() if k != "serialized_dashboard"} for d in ws.dashboards
                 if show or d["lifecycle_state"] == "ACTIVE"]
        return paged(items, "dashboards", q, "page_size", 100)
    if path.startswith("/api/2.0/lakeview/dashboards/"):
        did = path[len("/api/2.0/lakeview/dashboards/"):]
        found = next((d for d in ws.dashboards if d["dashboard_id"] == did), None)
        return (200, found) if found else not_found(f"Dashboard {did}")
    # Git folders (docs.databricks.com/api/workspace/repos/list): 20 a page; the request
    # parameter is `next_page_token` (a `page_token` is not one: the first page comes again);
    # without `path_prefix`, or with `/` or `/Workspace`, only the folders under /Repos.
    if path == "/api/2.0/repos":
        prefix = ws_path(q.get("path_prefix") or "/")
        if prefix == "/":
            items = [r for r in ws.repos if r["path"].startswith("/Repos/")]
        else:
            items = [r for r in ws.repos if r["path"].startswith(prefix)]
        items.sort(key=lambda r: r["id"])
        token = q.get("next_page_token")
        if token:
            after = repo_after(token)
            if after is None:
                return BAD_TOKEN
            items = [r for r in items if r["id"] > after]
        out = {"repos": items[:20]}
        if len(items) > 20:
            out["next_page_token"] = repo_token(items[19]["id"])
        return 200, out
    if path.startswith("/api/2.0/repos/"):
        rid = path.rsplit("/", 1)[1]
        found = next((r for r in ws.repos if str(r["id"]) == rid), None)
        return (200, found) if found else not_found(f"Repo {rid}")
    # Global init scripts (docs.databricks.com/api/workspace/globalinitscripts/list, /get):
    # fixtures; the list has no script bodies and is not paged.
    if path == "/api/2.0/global-init-scripts":
        return 200, ws.init_scripts
    if path.startswith("/api/2.0/global-init-scripts/"):
        sid = path.rsplit("/", 1)[1]
        return (200, ws.init_script_get[sid]) if sid in ws.init_script_get else not_found(f"Global init script {sid}")
    # Model serving (docs.databricks.com/api/workspace/servingendpoints/list, /get): by name;
    # the list is not paged.
    if path == "/api/2.0/serving-endpoints":
        return 200, {"endpoints": [{k: v for k, v in e.items() if k != "permission_level"} for e in ws.serving]}
    if path.startswith("/api/2.0/serving-endpoints/"):
        name = urllib.parse.unquote(path.rsplit("/", 1)[1])
        found = next((e for e in ws.serving if e["name"] == name), None)
        return (200, found) if found else not_found(f"Serving endpoint {name}")
    # IP access lists (docs.databricks.com/api/workspace/ipaccesslists/list, /get); not paged.
    if path == "/api/2.0/ip-access-lists":
        return 200, {"ip_access_lists": ws.ip_lists}
    if path.startswith("/api/2.0/ip-access-lists/"):
        lid = path.rsplit("/", 1)[1]
        found = next((x for x in ws.ip_lists if x["list_id"] == lid), None)
        return (200, {"ip_access_list": found}) if found else not_found(f"IP access list {lid}")
    # Cluster policies one at a time and their families (docs.databricks.com/api/workspace/
    # clusterpolicies/get, /policyfamilies/list, /policyfamilies/get).
    if path == "/api/2.0/policies/clusters/get":
        pid = q.get("policy_id", "")
        if pid in ws.policy_get:
            return 200, ws.policy_get[pid]
        found = next((p for p in ws.policies if p.get("policy_id") == pid), None)
        return (200, found) if found else not_found(f"Policy {pid}")
    if path == "/api/2.0/policy-families":
        return paged(ws.policy_families, "policy_families", q, "max_results", 20)
    if path.startswith("/api/2.0/policy-families/"):
        fid = path.rsplit("/", 1)[1]
        found = next((f for f in ws.policy_families if f["policy_family_id"] == fid), None)
        return (200, found) if found else not_found(f"Policy family {fid}")
    # SCIM, one at a time (docs.databricks.com/api/workspace/groups/get, /users/get,
    # /serviceprincipals/get, /currentuser/me).
    if path == "/api/2.0/preview/scim/v2/Me":
        return 200, ws.me
    for coll, items in (("Users", ws.users), ("Groups", ws.groups), ("ServicePrincipals", ws.sps)):
        base = f"/api/2.0/preview/scim/v2/{coll}/"
        if path.startswith(base):
            oid = path[len(base):]
            found = next((x for x in items if x["id"] == oid), None)
            if found is None:
                return 404, {"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"], "status": "404",
                             "detail": f"{coll[:-1]} with id {oid} not found."}
            return 200, found
    return 404, {"error_code": "ENDPOINT_NOT_FOUND", "message": f"No API found for 'GET {path}'"}


def account_api(path, q, ws):
    """The account API for one account (docs.databricks.com/api/account/...)."""
    rest = path[len("/api/2.0/accounts/"):]
    aid, _, rest = rest.partition("/")
    if aid != ws.account_id:
        return 404, {"error_code": "RESOURCE_DOES_NOT_EXIST", "message": f"Account {aid} does not exist."}
    parts = rest.split("/") if rest else []
    # Workspaces, networks, storage and credentials configurations
    # (docs.databricks.com/api/account/workspaces/get, /networks/get, /storage/get,
    # /credentials/get): the lists are JSON arrays, not paged.
    for coll, items, key in (("workspaces", ws.account_workspaces, "workspace_id"),
                             ("networks", ws.account_networks, "network_id"),
                             ("storage-configurations", ws.account_storage, "storage_configuration_id"),
                             ("credentials", ws.account_credentials, "credentials_id")):
        if parts[:1] == [coll]:
            if len(parts) == 1:
                return 200, items
            found = next((x for x in items if str(x[key]) == parts[1]), None)
            if found is None:
                return not_found(f"{coll} {parts[1]}")
            if len(parts) == 2:
                return 200, found
            # docs.databricks.com/api/account/metastoreassignments/get
            if coll == "workspaces" and parts[2:] == ["metastore"]:
                return 200, {"metastore_assignment": ws.account_assignment}
    # Account SCIM (docs.databricks.com/api/account/accountusers/list, /accountgroups/list,
    # /accountserviceprincipals/list): startIndex (from 1) and count.
    if parts[:2] in (["scim", "v2"],) and len(parts) >= 3:
        items = {"Users": ws.account_users, "Groups": ws.account_groups,
                 "ServicePrincipals": ws.account_sps}.get(parts[2])
        if items is not None:
            if len(parts) == 3:
                return scim_page(items, q)
            found = next((x for x in items if x["id"] == parts[3]), None)
            return (200, found) if found else (404, {"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
                                                     "status": "404", "detail": f"{parts[2]} {parts[3]} not found."})
    # Metastores (docs.databricks.com/api/account/accountmetastores/list, /get).
    if parts == ["metastores"]:
        return 200, {"metastores": ws.account_metastores}
    if len(parts) == 2 and parts[0] == "metastores":
        found = next((m for m in ws.account_metastores if m["metastore_id"] == parts[1]), None)
        return (200, {"metastore_info": found}) if found else not_found(f"Metastore {parts[1]}")
    return 404, {"error_code": "ENDPOINT_NOT_FOUND", "message": f"No API found for 'GET {path}'"}


Workspace.delete = _delete


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    ws: Workspace = None

    def log_message(self, *args):
        pass

    def send(self, status, body, headers=None):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def do_GET(self):
        self.route("GET")

    def do_POST(self):
        self.route("POST")

    def do_DELETE(self):
        self.route("DELETE")

    def route(self, method):
        url = urllib.parse.urlsplit(self.path)
        q = {k: v[-1] for k, v in urllib.parse.parse_qs(url.query).items()}
        ws = self.ws
        if url.path.startswith("/_fake/"):
            return self.control(method, url.path, ws)
        if url.path == "/oidc/v1/token":
            return self.token(ws)
        if url.path.startswith("/oidc/accounts/"):
            return self.account_oidc(url.path, ws)
        with ws.lock:
            if not self.authorized(ws, url.path.startswith("/api/2.0/accounts/")):
                ws.stats["unauthorized"] += 1
                return self.send(401, {"error_code": "UNAUTHENTICATED", "message": "Invalid access token."})
            ws.stats["calls"] += 1
            n = ws.stats["calls"]
            f = ws.faults
            now = time.monotonic()
            if self.path in ws.not_before and now < ws.not_before[self.path]:
                ws.stats["early_retries"] += 1
            if any(self.path.startswith(p) for p in f["fail_paths"]):
                ws.stats["errors"] += 1
                return self.send(500, {"error_code": "INTERNAL_ERROR", "message": "Failing on purpose."})
            if f["throttle_every"] and n % f["throttle_every"] == 0:
                ws.stats["throttled"] += 1
                ws.not_before[self.path] = now + f["retry_after"] - 0.05
                return self.send(429, {"error_code": "REQUEST_LIMIT_EXCEEDED", "message": "Too many requests."},
                                 {"Retry-After": str(f["retry_after"])})
            if f["error_every"] and n % f["error_every"] == 0:
                ws.stats["errors"] += 1
                return self.send(503, {"error_code": "TEMPORARILY_UNAVAILABLE", "message": "Try again."})
            slow = f["slow_every"] and n % f["slow_every"] == 0
        if slow:
            time.sleep(ws.faults["slow_ms"] / 1000)
        if url.path.startswith("/api/2.0/mlflow/") and ws.mlflow:
            return self.send(*self.mlflow(method, url, ws))
        with ws.lock:
            status, body = self.api(url.path, q, ws)
        self.send(status, body)

    def upstream(self, ws, method, path, query="", body=b""):
        req = urllib.request.Request(f"{ws.mlflow}{path}" + (f"?{query}" if query else ""), data=body or None,
                                     method=method, headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    def mlflow(self, method, url, ws):
        """The registry of the MLflow server, and what Databricks adds to it."""
        if url.path == "/api/2.0/mlflow/databricks/registered-models/get":
            status, body = self.upstream(ws, "GET", "/api/2.0/mlflow/registered-models/get", url.query)
            if status != 200:
                return status, body
            model = json.loads(body)["registered_model"]
            model.pop("latest_versions", None)
            model["id"] = hashlib.md5(model["name"].encode()).hexdigest()
            return 200, {"registered_model_databricks": model | {"permission_level": "CAN_MANAGE"}}
        return self.upstream(ws, method, url.path, url.query, self.body())

    def authorized(self, ws, account=False):
        auth = self.headers.get("Authorization", "")
        if not auth.startswith("Bearer "):
            return False
        tok = auth[7:]
        if account:
            # The account API takes only tokens of the account's own OAuth endpoint.
            exp = ws.account_tokens.get(tok)
            return exp is not None and time.monotonic() < exp
        if tok == PAT:
            return True
        exp = ws.tokens.get(tok)
        return exp is not None and time.monotonic() < exp

    def token(self, ws):
        form = urllib.parse.parse_qs(self.body().decode())
        auth = self.headers.get("Authorization", "")
        ok = auth == "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        if not ok or form.get("grant_type") != ["client_credentials"]:
            return self.send(401, {"error": "invalid_client"})
        with ws.lock:
            ws.stats["token_requests"] += 1
            tok = f"oauth-{ws.stats['token_requests']}"
            ws.tokens[tok] = time.monotonic() + ws.faults["token_ttl"]
        self.send(200, {"access_token": tok, "token_type": "Bearer", "scope": "all-apis",
                        "expires_in": ws.faults["token_ttl"]})

    def account_oidc(self, path, ws):
        """OAuth machine-to-machine for the account (docs.databricks.com/aws/en/dev-tools/auth/oauth-m2m:
        `POST /oidc/accounts/<account-id>/v1/token`, client credentials, scope `all-apis`), the
        workspace's client and secret, tokens that expire like the workspace's; and the discovery
        document the SDKs read first."""
        rest = path[len("/oidc/accounts/"):]
        aid, _, tail = rest.partition("/")
        if aid != ws.account_id:
            return self.send(404, {"error": "invalid_request", "error_description": f"unknown account {aid}"})
        host = f"http://{self.headers.get('Host', '127.0.0.1')}"
        if tail == ".well-known/oauth-authorization-server":
            base = f"{host}/oidc/accounts/{aid}"
            return self.send(200, {"issuer": base, "token_endpoint": f"{base}/v1/token",
                                   "authorization_endpoint": f"{base}/v1/authorize",
                                   "grant_types_supported": ["client_credentials", "authorization_code", "refresh_token"],
                                   "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"]})
        if tail != "v1/token":
            return self.send(404, {"error": "invalid_request"})
        form = urllib.parse.parse_qs(self.body().decode())
        auth = self.headers.get("Authorization", "")
        basic = auth == "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        posted = form.get("client_id") == [CLIENT_ID] and form.get("client_secret") == [CLIENT_SECRET]
        if not (basic or posted) or form.get("grant_type") != ["client_credentials"]:
            return self.send(401, {"error": "invalid_client"})
        with ws.lock:
            ws.stats["account_token_requests"] += 1
            tok = f"oauth-acct-{ws.stats['account_token_requests']}"
            ws.account_tokens[tok] = time.monotonic() + ws.faults["token_ttl"]
        self.send(200, {"access_token": tok, "token_type": "Bearer", "scope": "all-apis",
                        "expires_in": ws.faults["token_ttl"]})

    def control(self, method, path, ws):
        parts = path.strip("/").split("/")
        with ws.lock:
            if path == "/_fake/stats":
                return self.send(200, ws.stats)
            if path == "/_fake/faults" and method == "POST":
                ws.faults.update(json.loads(self.body()))
                return self.send(200, ws.faults)
            if path == "/_fake/expire-tokens":
                ws.tokens.clear()
                ws.account_tokens.clear()
                return self.send(200, {})
            if method == "DELETE" and len(parts) >= 3 and parts[1] == "objects":
                # DELETE /_fake/objects/<collection>/<id>: the object is gone from the workspace.
                coll, oid = parts[2], urllib.parse.unquote("/".join(parts[3:]))
                removed = ws.delete(coll, oid)
                return self.send(200 if removed else 404, {"removed": removed})
            if len(parts) == 3 and parts[1] == "jobs":
                jid = int(parts[2])
                if method == "DELETE":
                    ws.jobs.pop(jid, None)
                else:
                    ws.jobs[jid]["settings"] = json.loads(self.body())
                return self.send(200, {})
        self.send(404, {"error_code": "NOT_FOUND"})

    def api(self, path, q, ws):
        size = lambda default, key: min(int(q.get(key, default)), default)  # noqa: E731
        if path.startswith("/api/2.0/accounts/"):
            return account_api(path, q, ws)
        if path == "/api/2.2/jobs/list":
            jobs = sorted(ws.jobs.values(), key=lambda j: j["job_id"])
            if q.get("expand_tasks") == "true":
                # Whole settings, tasks and job clusters cut at 100 with has_more on the job.
                items = []
                for j in jobs:
                    if ("job", j["job_id"]) in ws.raw:
                        items.append({"job_id": j["job_id"], "settings": {"name": j["settings"]["name"]}, "has_more": True})
                        continue
                    j = copy.deepcopy(j)
                    tasks = j["settings"].get("tasks", [])
                    if len(tasks) > 100:
                        j["settings"]["tasks"] = tasks[:100]
                        j["has_more"] = True
                    items.append(j)
            else:
                items = [{"job_id": j["job_id"], "created_time": j.get("created_time"),
                          "settings": {"name": j["settings"].get("name")}} for j in jobs]
            return 200, page(items, "jobs", q.get("page_token"), size(100, "limit"), has_more=True)
        if path == "/api/2.2/jobs/get":
            jid = int(q["job_id"])
            if ("job", jid) in ws.raw:
                return 200, ws.raw[("job", jid)]
            if jid not in ws.jobs:
                return 404, {"error_code": "RESOURCE_DOES_NOT_EXIST", "message": f"Job {jid} does not exist."}
            job = copy.deepcopy(ws.jobs[jid])
            tasks = job["settings"].get("tasks", [])
            start = int(q.get("page_token", 0))
            job["settings"]["tasks"] = tasks[start:start + 100]
            if start + 100 < len(tasks):
                job["next_page_token"] = str(start + 100)
                job["has_more"] = True
            return 200, job
        if path.startswith("/api/2.0/permissions/"):
            kind, oid = path[len("/api/2.0/permissions/"):].rsplit("/", 1)
            more = permissions_more(ws, kind, oid)
            if more is not None:
                return more
            table = {"jobs": ws.job_acl, "clusters": ws.cluster_acl, "sql/warehouses": ws.warehouse_acl,
                     "cluster-policies": ws.policy_acl, "instance-pools": ws.pool_acl}.get(kind)
            if kind == "jobs" and int(oid) not in ws.jobs:
                return 404, {"error_code": "RESOURCE_DOES_NOT_EXIST", "message": f"Job {oid} does not exist."}
            if kind == "notebooks" and oid == "123":
                return 200, ws.notebook_acl
            if kind == "directories":
                return 200, ws.directory_acl
            if kind == "repos":
                return 200, ws.repo_acl
            if table is not None and (oid in table or (oid.isdigit() and int(oid) in table)):
                return 200, table.get(oid) or table[int(oid)]
            return 200, default_acl(kind, oid)
        if path == "/api/2.1/clusters/list":
            return 200, page(ws.cluster_list, "clusters", q.get("page_token"), size(100, "page_size"))
        if path == "/api/2.1/clusters/get":
            cid = q["cluster_id"]
            if cid in ws.cluster_get:
                return 200, ws.cluster_get[cid]
            stub = next((c for c in ws.cluster_list if c["cluster_id"] == cid), None)
            if stub is None:
                return 404, {"error_code": "INVALID_PARAMETER_VALUE", "message": f"Cluster {cid} does not exist"}
            return 200, stub | {"spark_version": "15.4.x-scala2.12", "node_type_id": "i3.xlarge", "num_workers": 1,
                                "cluster_source": "UI", "state": "TERMINATED"}
        if path == "/api/2.0/policies/clusters/list":
            return 200, {"policies": ws.policies, "total_count": len(ws.policies)}
        if path == "/api/2.0/instance-pools/list":
            return 200, {"instance_pools": ws.pools}
        if path == "/api/2.0/sql/warehouses":
            # docs.databricks.com/api/workspace/warehouses/list: `page_size` and `page_token` ->
            # `next_page_token`, the page under `warehouses` (the fixture's older `endpoints` key
            # is not in the reference).
            return paged(ws.warehouse_items, "warehouses", q, "page_size", 100)
        if path in ("/api/2.0/preview/scim/v2/Users", "/api/2.0/preview/scim/v2/Groups",
                    "/api/2.0/preview/scim/v2/ServicePrincipals"):
            items = {"Users": ws.users, "Groups": ws.groups, "ServicePrincipals": ws.sps}[path.rsplit("/", 1)[1]]
            # Large groups come without their members: a client reads them one group at a time.
            if path.endswith("/Groups"):
                items = [{k: v for k, v in x.items() if k != "members"} if x["id"] in ws.large_groups else x
                         for x in items]
            start, count = int(q.get("startIndex", 1)), min(int(q.get("count", 100)), 100)
            chunk = items[start - 1:start - 1 + count]
            return 200, {"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"], "totalResults": len(items),
                         "startIndex": start, "itemsPerPage": len(chunk), "Resources": chunk}
        if path == "/api/2.0/workspace/list":
            # docs.databricks.com/api/workspace/workspace/list: NOTEBOOK, DIRECTORY, FILE, REPO
            # (a Git folder, wherever it is), DASHBOARD (Lakeview), LIBRARY.
            prefix = ws_path(q["path"]).rstrip("/") + "/"
            children = [o for o in ws.objects if o["path"].startswith(prefix) and "/" not in o["path"][len(prefix):]]
            return 200, {"objects": children} if children else {}
        if path == "/api/2.0/workspace/get-status":
            # docs.databricks.com/api/workspace/workspace/getstatus: the object at a path.
            obj = next((o for o in ws.objects if o["path"] == ws_path(q.get("path", ""))), None)
            if obj is None:
                return 404, {"error_code": "RESOURCE_DOES_NOT_EXIST", "message": f"Path ({q.get('path')}) doesn't exist."}
            return 200, obj
        if path == "/api/2.0/workspace/export":
            obj = next((o for o in ws.objects if o["path"] == ws_path(q["path"])), None)
            fmt = q.get("format", "SOURCE")
            # docs.databricks.com/api/workspace/workspace/export: SOURCE exports a notebook as source
            # (and leaves out non-notebook entries); AUTO exports "depending on the object's type",
            # which is how a workspace file or a Lakeview dashboard comes out.
            if obj is not None and obj["object_type"] in ("FILE", "DASHBOARD"):
                if obj["object_type"] == "FILE" and fmt in ("AUTO", "RAW"):
                    src, ext = ws.file_content[obj["path"]], obj["path"].rsplit(".", 1)[-1]
                elif obj["object_type"] == "DASHBOARD" and fmt in ("AUTO", "SOURCE"):
                    d = next(d for d in ws.dashboards if d["dashboard_id"] == obj["resource_id"])
                    src, ext = d["serialized_dashboard"].encode(), "lvdash.json"
                else:
                    return 400, {"error_code": "INVALID_PARAMETER_VALUE",
                                 "message": f"Export format {fmt} is not supported for {obj['object_type'].lower()} {obj['path']}."}
                return 200, {"content": base64.b64encode(src).decode(), "file_type": ext}
            if obj is None or obj["object_type"] != "NOTEBOOK":
                return 404, {"error_code": "RESOURCE_DOES_NOT_EXIST", "message": f"Path ({q['path']}) doesn't exist."}
            src = f"# Databricks notebook source\nprint({obj['path']!r})\n".encode()
            return 200, {"content": base64.b64encode(src).decode(), "file_type": "py"}
        if path == "/api/2.1/unity-catalog/metastore_summary":
            return 200, ws.metastore
        if path.startswith("/api/2.1/unity-catalog/catalogs/"):
            name = urllib.parse.unquote(path.rsplit("/", 1)[1])
            found = next((c for c in ws.catalogs if c["name"] == name), None)
            return (200, found) if found else (404, {"error_code": "CATALOG_DOES_NOT_EXIST", "message": f"Catalog '{name}' does not exist."})
        if path.startswith("/api/2.1/unity-catalog/schemas/"):
            name = urllib.parse.unquote(path.rsplit("/", 1)[1])
            found = next((x for x in ws.schemas if x["full_name"] == name), None)
            return (200, found) if found else (404, {"error_code": "SCHEMA_DOES_NOT_EXIST", "message": f"Schema '{name}' does not exist."})
        if path.startswith("/api/2.0/sql/warehouses/"):
            wid = path.rsplit("/", 1)[1]
            found = next((w for w in ws.warehouse_items if w["id"] == wid), None)
            return (200, found) if found else (404, {"error_code": "RESOURCE_DOES_NOT_EXIST", "message": f"Warehouse {wid} does not exist."})
        if path == "/api/2.0/workspace-conf":
            keys = q.get("keys", "").split(",")
            unknown = [k for k in keys if k not in ws.workspace_conf]
            if unknown:
                return 400, {"error_code": "INVALID_PARAMETER_VALUE", "message": f"Invalid keys: {unknown}"}
            return 200, {k: ws.workspace_conf[k] for k in keys}
        for coll, attr, code in (("volumes", "full_name", "VOLUME"), ("external-locations", "name", "EXTERNAL_LOCATION"),
                                 ("storage-credentials", "name", "STORAGE_CREDENTIAL")):
            base = f"/api/2.1/unity-catalog/{coll}"
            items = getattr(ws, coll.replace("-", "_"))
            if path == base:
                if coll == "volumes":
                    items = [v for v in items if v["catalog_name"] == q.get("catalog_name") and v["schema_name"] == q.get("schema_name")]
                return 200, page(items, coll.replace("-", "_"), q.get("page_token"), size(1000, "max_results"))
            if path.startswith(base + "/"):
                name = urllib.parse.unquote(path[len(base) + 1:])
                found = next((x for x in items if x[attr] == name), None)
                return (200, found) if found else (404, {"error_code": f"{code}_DOES_NOT_EXIST", "message": f"{name} does not exist."})
        if path == "/api/2.1/unity-catalog/catalogs":
            return 200, page(ws.catalogs, "catalogs", q.get("page_token"), size(1000, "max_results"))
        if path == "/api/2.1/unity-catalog/schemas":
            items = [s for s in ws.schemas if s["catalog_name"] == q["catalog_name"]]
            return 200, page(items, "schemas", q.get("page_token"), size(1000, "max_results"))
        if path.startswith("/api/2.1/unity-catalog/tables/"):
            name = urllib.parse.unquote(path.rsplit("/", 1)[1])
            found = next((t for t in ws.tables if t["full_name"] == name), None)
            return (200, found) if found else (404, {"error_code": "TABLE_DOES_NOT_EXIST", "message": f"Table '{name}' does not exist."})
        if path == "/api/2.1/unity-catalog/tables":
            full = f"{q['catalog_name']}.{q['schema_name']}"
            items = [t for t in ws.tables if t["full_name"].startswith(full + ".")]
            if full == "sales.orders":
                items += [{"name": f"t{i:05}", "catalog_name": "sales", "schema_name": "orders",
                          "full_name": f"sales.orders.t{i:05}", "table_type": "MANAGED", "data_source_format": "DELTA",
                          "owner": "data-eng", "columns": [{"name": "id", "type_name": "LONG", "position": 0}]}
                         for i in range(ws.n_tables)]
            return 200, page(items, "tables", q.get("page_token"), size(50, "max_results"))
        if path.startswith("/api/2.1/unity-catalog/permissions/"):
            kind, name = path[len("/api/2.1/unity-catalog/permissions/"):].split("/", 1)
            name = urllib.parse.unquote(name)
            if kind == "table" and name.startswith("sales.orders.t"):
                return 200, {"privilege_assignments": [{"principal": "data-eng", "privileges": ["SELECT"]}]}
            return 200, {"privilege_assignments": ws.grants.get((kind, name), [])}
        if path == "/api/2.0/mlflow/registered-models/search":
            return 200, {}  # no registry server: an empty registry
        if path == "/api/2.0/mlflow/experiments/search":
            return 200, {"experiments": []}
        if path == "/api/2.1/unity-catalog/models":
            return 200, page(ws.uc_models, "registered_models", q.get("page_token"), size(1000, "max_results"))
        if path.startswith("/api/2.1/unity-catalog/models/"):
            rest = urllib.parse.unquote(path[len("/api/2.1/unity-catalog/models/"):])
            full, _, tail = rest.partition("/")
            found = next((m for m in ws.uc_models if m["full_name"] == full), None)
            if found is None:
                return 404, {"error_code": "RESOURCE_DOES_NOT_EXIST", "message": f"Registered model '{full}' does not exist."}
            if tail == "versions":
                return 200, page(ws.uc_model_versions.get(full, []), "model_versions", q.get("page_token"), size(1000, "max_results"))
            return 200, found
        if path == "/api/2.0/feature-store/feature-tables/search":
            return 200, page(ws.feature_tables, "feature_tables", q.get("page_token"), size(200, "max_results"))
        if path == "/api/2.0/feature-store/feature-tables/get":
            found = next((t for t in ws.feature_tables if t["name"] == q.get("name")), None)
            if found is None:
                return 404, {"error_code": "RESOURCE_DOES_NOT_EXIST", "message": f"Feature table {q.get('name')} does not exist."}
            return 200, {"feature_table": found}
        if path == "/api/2.0/secrets/scopes/list":
            return 200, ws.scopes
        if path == "/api/2.0/secrets/acls/list":
            return 200, ws.scope_acls
        if path == "/api/2.0/secrets/get":
            ws.stats["secret_reads"] += 1
            return 200, {"key": q.get("key"), "value": base64.b64encode(PLANTED_SECRET.encode()).decode()}
        return api_more(path, q, ws)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--fixtures", required=True)
    ap.add_argument("--jobs", type=int, default=0)
    ap.add_argument("--notebooks", type=int, default=0)
    ap.add_argument("--tables", type=int, default=0)
    ap.add_argument("--mlflow")
    ap.add_argument("--uc-model-root", default="s3://uc-root/metastore/models")
    ap.add_argument("--account-id", default="acct-1234")
    args = ap.parse_args()
    Handler.ws = Workspace(args.fixtures, args.jobs, args.notebooks, args.tables, args.mlflow, args.uc_model_root,
                           args.account_id)
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    main()
