//! Terraform JSON (`*.tf.json`) for exported objects, with the Databricks provider's
//! `databricks_*` resources, written to restore the workspace **in the DR region**.
//!
//! Each object gives its own small document, a pure function of the object and of the
//! [`TfConfig`] (the replication rules and the `[dr]` settings): an unchanged object keeps its
//! file. Resource names are derived from kind and id alone, so references between objects (a
//! job's task to its cluster, grants to their catalog) need no global index; the export checks
//! that each reference names a resource it wrote.
//!
//! What would tie the restore to the primary region does not stay: storage locations become
//! their DR copies through the replication rules (a location no rule covers is a note of the
//! object, and of the export); ids of other exported objects become references; the region,
//! zones, instance profiles, node types and the DR metastore come from variables
//! ([`variables_document`]) whose defaults are the `[dr]` settings; schedules start paused.
//!
//! API bodies are fitted to the provider's schema (`tf_schema.json`: the provider's resource
//! schemas with their `ConflictsWith`, `ExactlyOneOf` and `RequiredWith`, extracted by
//! `tests/py/tf_provider_schema.py`): attributes the provider does not have, or computes, are
//! dropped; API list names become block names (`tasks` to `task`), nested objects blocks.

use std::collections::BTreeSet;
use std::sync::OnceLock;

use lakedr::config::{DrSettings, Rule};
use lakedr::store::ObjectUrl;
use serde_json::{Map, Value, json};

use crate::kind::Kind;
use crate::obj::Obj;

pub mod dir;
pub mod vars;

pub use dir::{TfReport, terraform_dir};
pub use vars::variables_document;

/// The provider the documents are written for: the release the embedded schema was read from
/// (`$meta.provider_version`), or a later 1.x.
pub const PROVIDER_VERSION: &str = "~> 1.99";

/// The resource schemas the generator writes.
pub fn schema() -> &'static Value {
    static SCHEMA: OnceLock<Value> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        serde_json::from_str::<Value>(include_str!("../tf_schema.json"))
            .map(|mut v| v["resources"].take())
            .unwrap_or(Value::Null)
    })
}

/// What the Terraform of an export is written for.
#[derive(Clone, Debug, Default)]
pub struct TfConfig {
    /// The data plane's rules: a storage location becomes its DR copy through them.
    pub rules: Vec<Rule>,
    /// The DR workspace's settings (variable defaults).
    pub dr: DrSettings,
    /// The principal running the export (`/Me`): it exists in DR as whoever applies, never a
    /// resource.
    pub me: Option<String>,
    /// The objects of the export (`kind/id`), once known: a reference to one it does not have
    /// keeps the primary's id.
    pub exists: Option<std::sync::Arc<BTreeSet<String>>>,
}

impl TfConfig {
    pub fn new(config: &lakedr::Config) -> Self {
        Self {
            rules: config.rules.clone(),
            dr: config.dr.clone(),
            me: None,
            exists: None,
        }
    }

    /// The DR copy of a storage location (`s3://`, `s3a://`), through the rule with the longest
    /// source prefix that covers it (the one the replicator uses). `None` when no rule does.
    pub fn remap(&self, url: &str) -> Option<String> {
        let norm = url
            .strip_prefix("s3a://")
            .or_else(|| url.strip_prefix("s3n://"))
            .map_or_else(|| url.to_string(), |r| format!("s3://{r}"));
        let u = ObjectUrl::parse(&norm).ok()?;
        // A location is a directory: `s3://b/raw` is the rule of `s3://b/raw/`, if there is one.
        let dir = if u.key.is_empty() || u.key.ends_with('/') {
            u.clone()
        } else {
            u.with_key(format!("{}/", u.key))
        };
        let (rule, rel) = self
            .rules
            .iter()
            .filter_map(|r| r.relative(&dir).map(|rel| (r, rel)))
            .max_by_key(|(r, _)| r.source.key.len())?;
        let dr = rule.dr_url(rel).to_string();
        // Keep the source's trailing-slash style.
        Some(match (url.ends_with('/'), dr.ends_with('/')) {
            (true, false) => format!("{dr}/"),
            (false, true) => dr.trim_end_matches('/').to_string(),
            _ => dr,
        })
    }
}

/// One object's Terraform, being built.
#[derive(Debug)]
pub struct Tf<'a> {
    pub cfg: &'a TfConfig,
    /// The kind of the object written: the fields it leaves out are never fitted.
    kind: Option<Kind>,
    resources: Vec<(&'static str, String, Value)>,
    data: Vec<(&'static str, String, Value)>,
    locals: Map<String, Value>,
    pub notes: Vec<String>,
}

impl<'a> Tf<'a> {
    pub fn new(cfg: &'a TfConfig) -> Self {
        Self {
            cfg,
            kind: None,
            resources: Vec::new(),
            data: Vec::new(),
            locals: Map::new(),
            notes: Vec::new(),
        }
    }

    /// Adds a resource.
    pub fn resource(&mut self, ty: &'static str, name: String, body: Map<String, Value>) {
        let mut body = Value::Object(body);
        self.check_required(ty, &body, &name);
        drop_empty(&mut body);
        self.resources.push((ty, name, body));
    }

    /// Adds a data source (a built-in object the DR workspace already has).
    pub fn data(&mut self, ty: &'static str, name: String, body: Value) {
        self.data.push((ty, name, body));
    }

    /// Declares a local value: how other objects refer to this one, whatever it is in DR (a
    /// resource, a built-in's data source).
    pub fn local(&mut self, name: String, value: Value) {
        self.locals.insert(name, value);
    }

    pub fn note(&mut self, n: impl Into<String>) {
        let n = n.into();
        if !self.notes.contains(&n) {
            self.notes.push(n);
        }
    }

    /// Whether the export has the object `kind/id` (always, when the export's objects are not
    /// known: one object read alone).
    pub fn knows(&self, kind: Kind, id: &str) -> bool {
        self.cfg
            .exists
            .as_ref()
            .is_none_or(|e| e.contains(&format!("{kind}/{id}")))
    }

    /// A reference to the object `kind/id` (its resource's `attr`), or its primary id with a
    /// note when the export has no such object (the primary names something that is gone).
    pub fn refer(&mut self, kind: Kind, id: &str, attr: &str) -> Value {
        let known = self.knows(kind, id);
        let target = kind
            .spec()
            .acl()
            .map(|a| (a.resource, a.prefix))
            .or_else(|| kind.spec().securable().map(|s| (s.resource, s.prefix)));
        match target {
            Some((ty, prefix)) if known => json!(reference(ty, prefix, id, attr)),
            _ => {
                self.note(format!(
                    "names {kind} `{id}`, which the workspace does not have: kept as it is"
                ));
                json!(id)
            }
        }
    }

    /// A cluster policy by id, through the local its document declares (a resource, or the
    /// data source of a built-in policy); the id itself, with a note, when it is not exported.
    pub fn policy(&mut self, id: &str) -> Value {
        let known = self
            .cfg
            .exists
            .as_ref()
            .is_none_or(|e| e.contains(&format!("{}/{id}", Kind::ClusterPolicies)));
        if known {
            json!(shapes::policy_ref(id))
        } else {
            self.note(format!(
                "names cluster policy `{id}`, which the workspace does not have: kept as it is"
            ));
            json!(id)
        }
    }

    /// The id at `key` of `m` becomes a reference to that object of `kind`.
    pub fn refer_at(&mut self, m: &mut Map<String, Value>, key: &str, kind: Kind, attr: &str) {
        if let Some(id) = m.get(key).and_then(crate::kind::as_id) {
            let r = self.refer(kind, &id, attr);
            m.insert(key.into(), r);
        }
    }

    /// The API value fitted to resource `ty`, without the fields the object's kind leaves out
    /// (the provider may accept an id or a time the DR workspace gives: never the primary's).
    pub fn fit(&self, ty: &str, value: &Value) -> Map<String, Value> {
        let mut m = match fit(value, &schema()[ty]["attrs"], true) {
            Some(Value::Object(m)) => m,
            _ => Map::new(),
        };
        if let Some(k) = self.kind {
            for (field, _) in k.spec().omitted() {
                m.remove(*field);
            }
        }
        m
    }

    /// The DR copy of a location; the location itself, with a note, when no rule covers it.
    pub fn remap(&mut self, what: &str, url: &str) -> String {
        match self.cfg.remap(url) {
            Some(dr) => dr,
            None => {
                self.note(format!(
                    "{what} `{url}` is under no replication rule: DR would read the primary's \
                     storage"
                ));
                url.to_string()
            }
        }
    }

    /// A required attribute the object cannot give: noted (the plan names it too).
    fn check_required(&mut self, ty: &str, body: &Value, name: &str) {
        let attrs = &schema()[ty]["attrs"];
        let Some(attrs) = attrs.as_object() else {
            self.note(format!("{ty} is not a resource of the provider"));
            return;
        };
        for (k, node) in attrs {
            let missing = body.get(k).is_none_or(|v| v.is_null() || v == &json!([]));
            if node["required"] == true && missing {
                self.note(format!(
                    "{ty}.{name}: required `{k}` is not in the API object"
                ));
            }
        }
    }

    /// `(document, notes)`.
    fn finish(self) -> (Option<Value>, Vec<String>) {
        if self.resources.is_empty() && self.data.is_empty() && self.locals.is_empty() {
            return (None, self.notes);
        }
        let group = |items: Vec<(&'static str, String, Value)>| {
            let mut by_type: Map<String, Value> = Map::new();
            for (ty, n, body) in items {
                if let Value::Object(m) = by_type
                    .entry(ty.to_string())
                    .or_insert_with(|| Value::Object(Map::new()))
                {
                    m.insert(n, body);
                }
            }
            Value::Object(by_type)
        };
        let mut doc = Map::new();
        if !self.resources.is_empty() {
            doc.insert("resource".into(), group(self.resources));
        }
        if !self.data.is_empty() {
            doc.insert("data".into(), group(self.data));
        }
        if !self.locals.is_empty() {
            doc.insert("locals".into(), Value::Object(self.locals));
        }
        let mut doc = Value::Object(doc);
        escape_literals(&mut doc);
        (Some(doc), self.notes)
    }
}

/// What this generator writes inside `${...}`: references, variables, locals, `lookup(`.
const OURS: &[&str] = &[
    "databricks_",
    "data.databricks_",
    "var.",
    "local.",
    "lookup(",
];

/// Escapes, in every string of a document, the template sequences that come from the API
/// (`${JAVA_OPTS}` in an environment variable, `%{` in SQL text): Terraform would read them as
/// interpolations or directives. The generator's own `${...}` are left as they are.
pub fn escape_literals(v: &mut Value) {
    match v {
        Value::String(s) if s.contains("${") || s.contains("%{") => {
            let mut out = String::with_capacity(s.len() + 4);
            let mut rest = s.as_str();
            while let Some(i) = rest.find(['$', '%']) {
                out.push_str(&rest[..i]);
                let tail = &rest[i..];
                if let Some(after) = tail.strip_prefix("${")
                    && !OURS.iter().any(|p| after.starts_with(p))
                {
                    out.push_str("$${");
                    rest = after;
                } else if let Some(after) = tail.strip_prefix("%{") {
                    out.push_str("%%{");
                    rest = after;
                } else if tail.starts_with("$${") || tail.starts_with("%%{") {
                    // Already escaped (a document escaped twice stays the same).
                    out.push_str(&tail[..3]);
                    rest = &tail[3..];
                } else {
                    out.push_str(&tail[..1]);
                    rest = &tail[1..];
                }
            }
            out.push_str(rest);
            *s = out;
        }
        Value::Array(a) => a.iter_mut().for_each(escape_literals),
        Value::Object(m) => m.values_mut().for_each(escape_literals),
        _ => {}
    }
}

/// The Terraform JSON of one object (`None` when it has no Terraform form), and its notes.
pub fn document(o: &Obj, cfg: &TfConfig) -> (Option<Value>, Vec<String>) {
    let mut tf = Tf::new(cfg);
    tf.kind = Some(o.kind);
    o.kind.spec().terraform(o, &mut tf);
    tf.finish()
}

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
    if exact && !id.is_empty() {
        format!("{prefix}_{clean}")
    } else {
        // FNV-1a, stable across runs and platforms.
        let h = id.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
        let clean = clean.trim_matches('_');
        let clean: String = clean.chars().take(48).collect();
        format!("{prefix}_{clean}_{:08x}", h as u32)
    }
}

/// `${<ty>.<name of prefix and id>.<attr>}`.
pub fn reference(ty: &str, prefix: &str, id: &str, attr: &str) -> String {
    format!("${{{ty}.{}.{attr}}}", name(prefix, id))
}

/// Removes empty blocks and lists the fitting left (an object with nothing configurable).
fn drop_empty(v: &mut Value) {
    if let Value::Object(m) = v {
        m.retain(|_, x| {
            drop_empty(x);
            !(x.is_null() || x == &json!([]) || x == &json!({}))
        });
    }
    if let Value::Array(a) = v {
        for x in a.iter_mut() {
            drop_empty(x);
        }
    }
}

/// Fits an API value to a schema tree: keeps configurable attributes, renames plural lists to
/// their block names, wraps nested objects as blocks, drops what the provider computes.
pub fn fit(value: &Value, tree: &Value, top: bool) -> Option<Value> {
    let (Value::Object(m), Value::Object(t)) = (value, tree) else {
        return None;
    };
    let mut out = Map::new();
    for (k, v) in m {
        if top && k == "id" {
            continue;
        }
        let Some(key) = schema_key(k, t) else {
            continue;
        };
        let node = &t[&key];
        if node["computed_only"] == true {
            continue;
        }
        let fitted = if node["block"] == true {
            let children = &node["children"];
            match v {
                Value::Array(items) => {
                    let items: Vec<Value> = items
                        .iter()
                        .filter_map(|i| fit(i, children, false))
                        .collect();
                    (!items.is_empty()).then_some(Value::Array(items))
                }
                Value::Object(_) => fit(v, children, false).map(|o| Value::Array(vec![o])),
                _ => None,
            }
        } else if node.get("children").is_some_and(Value::is_object) {
            // A nested attribute (objects, not blocks).
            match (node["type"].as_str(), v) {
                (Some("struct"), Value::Object(_)) => fit(v, &node["children"], false),
                (_, Value::Array(items)) => Some(Value::Array(
                    items
                        .iter()
                        .filter_map(|i| fit(i, &node["children"], false))
                        .collect(),
                )),
                _ => None,
            }
        } else {
            match node["type"].as_str() {
                Some("map") => v
                    .as_object()
                    .filter(|o| o.values().all(|x| !x.is_object() && !x.is_array()))
                    .map(|_| v.clone()),
                Some("list" | "set") => v
                    .as_array()
                    .filter(|a| a.iter().all(|x| !x.is_object() && !x.is_array()))
                    .map(|_| v.clone()),
                Some("simple") => {
                    (!v.is_object() && !v.is_array() && !v.is_null()).then(|| v.clone())
                }
                _ => None,
            }
        };
        if let Some(f) = fitted {
            out.insert(key, f);
        }
    }
    (!out.is_empty()).then_some(Value::Object(out))
}

/// The schema's name for an API field: itself, or its singular when that is a block.
fn schema_key(k: &str, t: &Map<String, Value>) -> Option<String> {
    if t.contains_key(k) {
        return Some(k.to_string());
    }
    [
        k.strip_suffix("ies").map(|s| format!("{s}y")),
        k.strip_suffix('s').map(str::to_owned),
    ]
    .into_iter()
    .flatten()
    .find(|s| t.get(s).is_some_and(|n| n["block"] == true))
}

/// The objects at a dotted path of a fitted body, through every item of each block.
fn holders<'v>(v: &'v mut Value, path: &[&str]) -> Vec<&'v mut Map<String, Value>> {
    match v {
        Value::Array(items) => items.iter_mut().flat_map(|i| holders(i, path)).collect(),
        Value::Object(m) => match path.split_first() {
            None => vec![m],
            Some((first, rest)) => match m.get_mut(*first) {
                Some(x) => holders(x, rest),
                None => Vec::new(),
            },
        },
        _ => Vec::new(),
    }
}

/// Where the provider says two attributes conflict and the API gave both, keeps `prefer`'s
/// side (the first of `prefer` found in the pair), or the first of the pair, and notes it.
pub fn resolve_conflicts(
    ty: &str,
    body: &mut Map<String, Value>,
    prefer: &[&str],
    tf: &mut Tf<'_>,
) {
    let pairs: Vec<(String, String)> = schema()[ty]["conflicts"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| Some((p[0].as_str()?.to_string(), p[1].as_str()?.to_string())))
        .collect();
    let mut whole = Value::Object(std::mem::take(body));
    for (a, b) in pairs {
        let (pa, pb): (Vec<&str>, Vec<&str>) = (a.split('.').collect(), b.split('.').collect());
        if pa[..pa.len() - 1] != pb[..pb.len() - 1] {
            continue; // across blocks: not a pair of siblings
        }
        let (la, lb) = (pa[pa.len() - 1], pb[pb.len() - 1]);
        let rank = |x: &str| prefer.iter().position(|p| *p == x).unwrap_or(usize::MAX);
        let drop = if rank(lb) < rank(la) { la } else { lb };
        let parent: Vec<&str> = pa[..pa.len() - 1].to_vec();
        for m in holders(&mut whole, &parent) {
            if m.contains_key(la) && m.contains_key(lb) {
                m.remove(drop);
                if !prefer.contains(&la) && !prefer.contains(&lb) {
                    tf.note(format!("{ty}: `{a}` and `{b}` conflict; `{drop}` left out"));
                }
            }
        }
    }
    if let Value::Object(m) = whole {
        *body = m;
    }
}

/// An S3 destination's region, endpoint and KMS key are the DR region's: the region a
/// variable, the primary's regional endpoint and key left out.
fn s3_in_dr(d: &mut Map<String, Value>, tf: &mut Tf<'_>) {
    d.insert("region".into(), json!("${var.dr_region}"));
    d.remove("endpoint");
    if d.remove("kms_key").is_some() {
        tf.note("an S3 destination's KMS key is the primary region's: left out (the DR bucket's default encryption applies)");
    }
}

/// The provider requirement that goes beside the generated files.
pub fn provider_document() -> Value {
    // The provider whose schema the documents are checked against, or a later 1.x.
    json!({"terraform": {"required_providers": {"databricks": {"source": "databricks/databricks", "version": PROVIDER_VERSION}}},
           "provider": {"databricks": {}}})
}

/// Every `${...}` reference of a document: `(data?, type, name)` of resources and data sources,
/// and variables.
pub fn references(doc: &Value) -> (BTreeSet<(bool, String, String)>, BTreeSet<String>) {
    fn strings<'v>(v: &'v Value, out: &mut Vec<&'v str>, deps: &mut Vec<&'v str>) {
        match v {
            Value::String(s) => out.push(s),
            Value::Array(a) => a.iter().for_each(|x| strings(x, out, deps)),
            Value::Object(m) => {
                for (k, x) in m {
                    match (k.as_str(), x) {
                        // `depends_on`: addresses, not interpolations.
                        ("depends_on", Value::Array(a)) => {
                            deps.extend(a.iter().filter_map(Value::as_str));
                        }
                        _ => strings(x, out, deps),
                    }
                }
            }
            _ => {}
        }
    }
    let (mut all, mut deps) = (Vec::new(), Vec::new());
    strings(doc, &mut all, &mut deps);
    let (mut refs, mut vars) = (BTreeSet::new(), BTreeSet::new());
    for d in deps {
        match d.split('.').collect::<Vec<_>>().as_slice() {
            ["data", ty, n] => refs.insert((true, (*ty).to_string(), (*n).to_string())),
            [ty, n] => refs.insert((false, (*ty).to_string(), (*n).to_string())),
            _ => false,
        };
    }
    // A local is recorded as a reference of type `local`.
    for s in all {
        let mut rest = s;
        while let Some(i) = rest.find("${") {
            if rest[..i].ends_with('$') {
                // `$${`: a literal, not an interpolation.
                rest = &rest[i + 2..];
                continue;
            }
            let tail = &rest[i + 2..];
            let end = tail.find('}').unwrap_or(tail.len());
            let expr = &tail[..end];
            for word in expr
                .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '-'))
            {
                let parts: Vec<&str> = word.split('.').collect();
                match parts.as_slice() {
                    ["var", v, ..] => {
                        vars.insert((*v).to_string());
                    }
                    ["local", l, ..] => {
                        refs.insert((false, "local".to_string(), (*l).to_string()));
                    }
                    ["data", ty, n, ..] if ty.starts_with("databricks_") => {
                        refs.insert((true, (*ty).to_string(), (*n).to_string()));
                    }
                    [ty, n, _, ..] if ty.starts_with("databricks_") => {
                        refs.insert((false, (*ty).to_string(), (*n).to_string()));
                    }
                    _ => {}
                }
            }
            rest = &tail[end..];
        }
    }
    (refs, vars)
}

/// Resources, data sources and locals a document declares: `(data?, type, name)` (a local's
/// type is `local`).
pub fn declared(doc: &Value) -> BTreeSet<(bool, String, String)> {
    let mut out = BTreeSet::new();
    for n in doc["locals"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(n, _)| n)
    {
        out.insert((false, "local".to_string(), n.clone()));
    }
    for (section, data) in [("resource", false), ("data", true)] {
        for (ty, by_name) in doc[section].as_object().into_iter().flatten() {
            for n in by_name.as_object().into_iter().flatten().map(|(n, _)| n) {
                out.insert((data, ty.clone(), n.clone()));
            }
        }
    }
    out
}

/// Shared shapes of several kinds.
pub mod shapes {
    use super::*;

    /// The `databricks_permissions` access control of an access list: the non-inherited
    /// levels of each principal; the `admins` group's are left out (the provider refuses to
    /// manage them: admins keep CAN_MANAGE on everything).
    pub fn access_control(body: &Value) -> Vec<Value> {
        let mut out = Vec::new();
        for e in body["access_control_list"].as_array().into_iter().flatten() {
            let who = ["user_name", "group_name", "service_principal_name"]
                .into_iter()
                .find_map(|k| e[k].as_str().map(|v| (k, v)));
            let Some((k, v)) = who else { continue };
            if k == "group_name" && v == "admins" {
                continue;
            }
            // The SQL objects' access lists give the level directly.
            if let Some(level) = e["permission_level"].as_str() {
                out.push(json!({ k: v, "permission_level": level }));
                continue;
            }
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

    /// A Unity Catalog object's catalog and schema as references to their resources, so that
    /// Terraform creates them first.
    pub fn parent_refs(b: &Value, m: &mut Map<String, Value>) {
        let Some(c) = b["catalog_name"].as_str() else {
            return;
        };
        m.insert(
            "catalog_name".into(),
            json!(reference("databricks_catalog", "catalog", c, "name")),
        );
        if let Some(s) = b["schema_name"].as_str() {
            m.insert(
                "schema_name".into(),
                json!(reference(
                    "databricks_schema",
                    "schema",
                    &format!("{c}.{s}"),
                    "name"
                )),
            );
        }
    }

    /// SCIM entitlements as the provider's flags.
    pub fn entitlements(v: &Value, into: &mut Map<String, Value>) {
        for e in v["entitlements"].as_array().into_iter().flatten() {
            let flag = match e["value"].as_str() {
                Some("allow-cluster-create") => "allow_cluster_create",
                Some("allow-instance-pool-create") => "allow_instance_pool_create",
                Some("databricks-sql-access") => "databricks_sql_access",
                Some("workspace-access") => "workspace_access",
                Some("workspace-consume") => "workspace_consume",
                _ => continue,
            };
            into.insert(flag.into(), json!(true));
        }
    }

    /// A cluster specification (a cluster, a job's or pipeline's cluster) for DR: the pool
    /// decides the node types when there is one, autoscale decides the size, the policy and
    /// pools become references, node types, zone and instance profile come from variables.
    pub fn cluster_spec(m: &mut Map<String, Value>, tf: &mut Tf<'_>) {
        if m.contains_key("instance_pool_id") {
            m.remove("node_type_id");
        }
        if m.contains_key("driver_instance_pool_id") || m.contains_key("instance_pool_id") {
            m.remove("driver_node_type_id");
        }
        if m.contains_key("autoscale") {
            m.remove("num_workers");
        }
        remap_values(m, "spark_conf", tf);
        remap_values(m, "spark_env_vars", tf);
        for k in ["instance_pool_id", "driver_instance_pool_id"] {
            tf.refer_at(m, k, Kind::InstancePools, "id");
        }
        if let Some(id) = m
            .get("policy_id")
            .and_then(Value::as_str)
            .map(str::to_owned)
        {
            let r = tf.policy(&id);
            m.insert("policy_id".into(), r);
        }
        for k in ["node_type_id", "driver_node_type_id"] {
            if let Some(t) = m.get(k).and_then(Value::as_str).map(str::to_owned) {
                m.insert(k.into(), json!(vars::node_type(&t)));
            }
        }
        if let Some(Value::Array(aws)) = m.get_mut("aws_attributes") {
            for a in aws.iter_mut().filter_map(Value::as_object_mut) {
                aws_attributes(a, tf);
            }
        }
        for script in m
            .get_mut("init_scripts")
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
        {
            if let Some(Value::Array(s3)) = script.get_mut("s3") {
                for d in s3.iter_mut().filter_map(Value::as_object_mut) {
                    if let Some(dest) = d
                        .get("destination")
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                    {
                        let dr = tf.remap("an init script", &dest);
                        d.insert("destination".into(), json!(dr));
                        s3_in_dr(d, tf);
                    }
                }
            }
        }
        if let Some(Value::Array(logs)) = m.get_mut("cluster_log_conf") {
            for l in logs.iter_mut() {
                if let Some(Value::Array(s3)) = l.get_mut("s3") {
                    for d in s3.iter_mut().filter_map(Value::as_object_mut) {
                        if let Some(dest) = d
                            .get("destination")
                            .and_then(Value::as_str)
                            .map(str::to_owned)
                        {
                            let dr = tf.remap("a cluster log destination", &dest);
                            d.insert("destination".into(), json!(dr));
                            s3_in_dr(d, tf);
                        }
                    }
                }
            }
        }
    }

    /// The values at `keys` of `m` that are on S3 (a library, a task's file, a trigger's
    /// URL) become their DR copies.
    pub fn remap_s3(m: &mut Map<String, Value>, keys: &[&str], what: &str, tf: &mut Tf<'_>) {
        for key in keys {
            if let Some(p) = m.get(*key).and_then(Value::as_str).map(str::to_owned)
                && p.starts_with("s3")
            {
                let dr = tf.remap(what, &p);
                m.insert((*key).into(), Value::String(dr));
            }
        }
    }

    /// The values of the map at `key` (Spark configuration, a pipeline's configuration) that
    /// are storage locations become their DR copies.
    pub fn remap_values(m: &mut Map<String, Value>, key: &str, tf: &mut Tf<'_>) {
        if let Some(Value::Object(conf)) = m.get_mut(key) {
            for (k, v) in conf.iter_mut() {
                if let Some(s) = v
                    .as_str()
                    .filter(|s| s.starts_with("s3://") || s.starts_with("s3a://"))
                {
                    let dr = tf.remap(&format!("`{k}`"), s);
                    *v = json!(dr);
                }
            }
        }
    }

    /// An `aws_attributes` block for DR: the zone and the instance profile from variables.
    pub fn aws_attributes(a: &mut Map<String, Value>, _tf: &mut Tf<'_>) {
        if a.contains_key("zone_id") {
            a.insert("zone_id".into(), json!("${var.dr_zone_id}"));
        }
        if let Some(arn) = a
            .get("instance_profile_arn")
            .and_then(Value::as_str)
            .map(str::to_owned)
        {
            a.insert(
                "instance_profile_arn".into(),
                json!(vars::instance_profile(&arn)),
            );
        }
    }

    /// A cluster policy by id, through the local its document declares (a resource, or the
    /// data source of a built-in policy).
    pub fn policy_ref(id: &str) -> String {
        format!("${{local.{}}}", name("policy", id))
    }

    /// `PAUSED` unless `var.dr_unpause`.
    pub fn pause_status() -> Value {
        json!("${var.dr_unpause ? \"UNPAUSED\" : \"PAUSED\"}")
    }

    /// The Terraform of an object's Unity Catalog grants, on `target` (`attr` = its reference).
    pub fn grant_list(body: &Value, tf: &mut Tf<'_>) -> Vec<Value> {
        let mut out = Vec::new();
        for g in body["privilege_assignments"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let Some(p) = g["principal"].as_str() else {
                continue;
            };
            if p == "admins" {
                // A workspace-local group: Unity Catalog grants name account principals.
                tf.note("a grant to the workspace group `admins` is left out");
                continue;
            }
            out.push(json!({"principal": p, "privileges": g["privileges"]}));
        }
        out
    }

    /// The id at `key` becomes a reference to the `ty` resource of that id.
    pub fn ref_at(m: &mut Map<String, Value>, key: &str, ty: &str, prefix: &str, attr: &str) {
        if let Some(id) = m.get(key).and_then(crate::kind::as_id) {
            m.insert(key.into(), json!(reference(ty, prefix, &id, attr)));
        }
    }
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
    fn api_shapes_become_blocks_and_computed_fields_go() {
        let fitted = fit(
            &json!({"name": "n", "url": "https://x", "tasks": [{"task_key": "a",
                "notebook_task": {"notebook_path": "/x"}, "libraries": [{"pypi": {"package": "spacy"}}]}],
                "not_a_field": 1}),
            &schema()["databricks_job"]["attrs"],
            true,
        )
        .unwrap();
        assert_eq!(fitted["name"], "n");
        assert!(fitted.get("url").is_none(), "computed by the provider");
        assert_eq!(fitted["task"][0]["notebook_task"][0]["notebook_path"], "/x");
        assert_eq!(
            fitted["task"][0]["library"][0]["pypi"][0]["package"],
            "spacy"
        );
        assert!(fitted.get("not_a_field").is_none());
    }

    #[test]
    fn references_and_variables_are_found() {
        let doc = json!({"resource": {"databricks_job": {"j": {"x": "${databricks_cluster.c_1.id}",
            "y": "${var.dr_unpause ? \"UNPAUSED\" : \"PAUSED\"}", "z": "${lookup(var.dr_node_types, \"i3\", \"i3\")}",
            "w": "${data.databricks_group.g.id}"}}}});
        let (refs, vars) = references(&doc);
        assert!(refs.contains(&(false, "databricks_cluster".into(), "c_1".into())));
        assert!(refs.contains(&(true, "databricks_group".into(), "g".into())));
        assert_eq!(
            vars,
            ["dr_node_types", "dr_unpause"].map(String::from).into()
        );
        assert_eq!(declared(&doc).len(), 1);
    }

    #[test]
    fn the_provider_pin_is_the_embedded_schema_s_release() {
        let meta: Value = serde_json::from_str(include_str!("../tf_schema.json")).unwrap();
        let read = meta["$meta"]["provider_version"].as_str().unwrap();
        let pinned = PROVIDER_VERSION.trim_start_matches("~> ");
        assert!(
            read.starts_with(&format!("{pinned}.")),
            "{read} vs {PROVIDER_VERSION}"
        );
        assert_eq!(
            provider_document()["terraform"]["required_providers"]["databricks"]["version"],
            PROVIDER_VERSION
        );
    }

    #[test]
    fn template_sequences_from_the_api_are_escaped_and_ours_kept() {
        let mut doc = json!({"resource": {"databricks_cluster": {"c": {
            "spark_env_vars": {"JAVA_OPTS": "${JAVA_OPTS} -Xmx1g", "T": "%{ if x }"},
            "policy_id": "${databricks_cluster_policy.p.id}",
            "n": "${lookup(var.dr_node_types, \"i3\", \"i3\")}", "plain": "a $ b % c"}}}});
        escape_literals(&mut doc);
        let c = &doc["resource"]["databricks_cluster"]["c"];
        assert_eq!(c["spark_env_vars"]["JAVA_OPTS"], "$${JAVA_OPTS} -Xmx1g");
        assert_eq!(c["spark_env_vars"]["T"], "%%{ if x }");
        assert_eq!(c["policy_id"], "${databricks_cluster_policy.p.id}");
        assert_eq!(c["plain"], "a $ b % c");
        let once = doc.clone();
        escape_literals(&mut doc);
        assert_eq!(doc, once, "escaping twice changes nothing");
        // An escaped sequence is not a reference.
        let (refs, vars) = references(&json!({"x": "$${databricks_job.j.id} ${var.v}"}));
        assert!(refs.is_empty(), "{refs:?}");
        assert_eq!(vars, ["v".to_string()].into());
    }

    #[test]
    fn locations_map_through_the_longest_rule() {
        let config = lakedr::Config::from_text(
            "[[rule]]\nname = \"lake\"\nsource = \"s3://lake/\"\ndestination = \"s3://dr/lake/\"\n\
             [[rule]]\nname = \"raw\"\nsource = \"s3://lake/raw/\"\ndestination = \"s3://dr-raw/\"\n",
        )
        .unwrap();
        let cfg = TfConfig::new(&config);
        assert_eq!(
            cfg.remap("s3://lake/t/x").as_deref(),
            Some("s3://dr/lake/t/x")
        );
        assert_eq!(
            cfg.remap("s3://lake/raw/y/").as_deref(),
            Some("s3://dr-raw/y/")
        );
        assert_eq!(
            cfg.remap("s3a://lake/raw/y").as_deref(),
            Some("s3://dr-raw/y")
        );
        assert_eq!(cfg.remap("s3://lake/raw").as_deref(), Some("s3://dr-raw"));
        assert_eq!(cfg.remap("s3://other/y"), None);
    }
}
