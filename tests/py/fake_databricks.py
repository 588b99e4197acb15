"""A fake Databricks workspace for the control-plane tests and benchmark.

    python tests/py/fake_databricks.py --port P --fixtures DIR [--jobs N --notebooks N --tables N]
        [--mlflow URL] [--uc-model-root s3://bucket/prefix]

Answers the REST endpoints the exporter calls with the shapes of the real API: the response
bodies of `shared/fixtures/databricks-api/exporter-test-data` where they exist (served byte for
byte, the invalid `get-job-16.json` included), the documented examples otherwise (SCIM, Unity
Catalog, feature store). The workspace model registry and experiments (`/api/2.0/mlflow/`) are
those of a real MLflow tracking server given by `--mlflow`, proxied with the fake's authentication
and faults (the registry REST API is the one Databricks serves); the fake adds what only
Databricks serves (`mlflow/databricks/registered-models/get`, with the model's workspace id).
Without `--mlflow` the registry is empty. Each API pages the way the real one does (jobs and Unity Catalog by page token,
clusters by page token, SCIM by startIndex/count), and jobs with more than 100 tasks page their
tasks. Authentication: a personal access token, or OAuth machine-to-machine at `/oidc/v1/token`
(client credentials, tokens that expire). A secret value is planted behind `/api/2.0/secrets/get`
so the tests can show it never leaves.

Control endpoints (under `/_fake/`, no authentication): `POST /_fake/faults` sets throttling
(429 with Retry-After), server errors (503, or 500 always for some paths), slow responses
and token lifetime; `POST
/_fake/expire-tokens`; `POST /_fake/jobs/<id>` replaces a job's settings; `DELETE
/_fake/jobs/<id>` deletes it; `GET /_fake/stats` counts calls, throttled calls, retries that came
before their Retry-After, token requests and secret reads.
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


def load(fixtures, name):
    with open(os.path.join(fixtures, name), "rb") as f:
        return f.read()


class Workspace:
    def __init__(self, fixtures, n_jobs, n_notebooks, n_tables, mlflow=None, uc_model_root="s3://uc-root/metastore/models"):
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
        with ws.lock:
            if not self.authorized(ws):
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

    def authorized(self, ws):
        auth = self.headers.get("Authorization", "")
        if not auth.startswith("Bearer "):
            return False
        tok = auth[7:]
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
                return self.send(200, {})
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
            return 200, ws.warehouses
        if path in ("/api/2.0/preview/scim/v2/Users", "/api/2.0/preview/scim/v2/Groups",
                    "/api/2.0/preview/scim/v2/ServicePrincipals"):
            items = {"Users": ws.users, "Groups": ws.groups, "ServicePrincipals": ws.sps}[path.rsplit("/", 1)[1]]
            start, count = int(q.get("startIndex", 1)), min(int(q.get("count", 100)), 100)
            chunk = items[start - 1:start - 1 + count]
            return 200, {"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"], "totalResults": len(items),
                         "startIndex": start, "itemsPerPage": len(chunk), "Resources": chunk}
        if path == "/api/2.0/workspace/list":
            prefix = q["path"].rstrip("/") + "/"
            children = [o for o in ws.objects if o["path"].startswith(prefix) and "/" not in o["path"][len(prefix):]]
            return 200, {"objects": children} if children else {}
        if path == "/api/2.0/workspace/export":
            obj = next((o for o in ws.objects if o["path"] == q["path"]), None)
            if obj is None or obj["object_type"] != "NOTEBOOK":
                return 404, {"error_code": "RESOURCE_DOES_NOT_EXIST", "message": f"Path ({q['path']}) doesn't exist."}
            src = f"# Databricks notebook source\nprint({obj['path']!r})\n".encode()
            return 200, {"content": base64.b64encode(src).decode(), "file_type": "py"}
        if path == "/api/2.0/repos":
            return 200, {"repos": ws.repos}
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
            found = next((w for w in ws.warehouses.get("endpoints", []) if w["id"] == wid), None)
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
        return 404, {"error_code": "ENDPOINT_NOT_FOUND", "message": f"No API found for 'GET {path}'"}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--fixtures", required=True)
    ap.add_argument("--jobs", type=int, default=0)
    ap.add_argument("--notebooks", type=int, default=0)
    ap.add_argument("--tables", type=int, default=0)
    ap.add_argument("--mlflow")
    ap.add_argument("--uc-model-root", default="s3://uc-root/metastore/models")
    args = ap.parse_args()
    Handler.ws = Workspace(args.fixtures, args.jobs, args.notebooks, args.tables, args.mlflow, args.uc_model_root)
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    main()
