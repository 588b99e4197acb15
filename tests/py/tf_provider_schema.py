"""The Databricks Terraform provider's resource schema, from the provider's own definitions, and a
validator of Terraform JSON against it.

    python tests/py/tf_provider_schema.py extract [--pkg PKG] --provider-repo GITDIR [--out FILE]
    python tests/py/tf_provider_schema.py trim SCHEMA --out FILE TYPE...
    python tests/py/tf_provider_schema.py check-attrs SCHEMA [--pkg PKG]
    python tests/py/tf_provider_schema.py validate SCHEMA DIR

`extract` writes `crates/lakedr-control/src/tf_schema.next.json` (or FILE) from two sources:

* Attribute trees, from the npm package `@cdktf/provider-databricks` (PKG, by default
  `.tools/cdktf/package`), which HashiCorp generates from `terraform providers schema -json` of
  the provider version it names (`package.json` `cdktf.provider.version`):
  - which types are resources: the `.jsii` assembly at the package root, whose classes extend
    `cdktf.TerraformResource` (resources) or `cdktf.TerraformDataSource` (data sources, which
    carry the same Terraform type names and are never read here);
  - required or optional: the `optional` flag of each property of the resource's config
    interface and of each nested block's struct interface in `.jsii` (the same flags as
    `readonly x?:` against `readonly x:` in the `.d.ts` files, which are compared with it);
  - computed-only: a getter of the resource class (or of a block's `OutputReference` class) that
    has no setter (`immutable` in `.jsii`) and is not in the config or struct interface: the
    generator makes only assignable attributes configurable;
  - Terraform names, block or attribute, and type (`simple`, `list`, `set`, `map`, `struct`): the
    `*ToHclTerraform` functions and `synthesizeHclAttributes()` of `lib/<resource>/index.js`
    (and its `index-structs/*.js`), and the `getXAttribute('name')` getters for computed ones;
  - `max_items: 1`: the struct interface is used as a single object, not an array (the
    generator's `isSingleItem`, from `max_items == 1`); `min_items: 1`: a required block (the
    generator makes a block required when `min_items > 0`).
  The generated constructors' comments (`// x - computed: ..., optional: ..., required: ...`,
  for blocks and complex attributes) are checked against the result.

* Constraints (`ConflictsWith`, `ExactlyOneOf`, `AtLeastOneOf`, `RequiredWith`), which the
  schema JSON does not carry, from the provider's Go sources at the commit of the tag of that
  version, read with `git show` from GITDIR (a clone of databricks/terraform-provider-databricks,
  no work tree needed). See `GO_SCOPES` for where each resource's are read, and `GoScanner`
  for what is understood.

The output: `{"$meta": {provider version, tag and commit, cdktf package version, checks},
"resources": {type: R}}`, R = `{"attrs": {name: A}, "conflicts": [[a, b]], "exactly_one_of":
[[a, b, ...]], "at_least_one_of": [[...]], "required_with": [[a, needs_b]], "constraint_sources":
[...], "scanned": [...], "source": "<Go file:line>", "cdktf_source": "<lib file:line>"}`, A =
`{"block", "type", "required", "optional", "computed_only", "children"? (nested objects),
"min_items"?, "max_items"?}`. Constraint paths are dotted (`new_cluster.node_type_id`); a nested
ExactlyOneOf/AtLeastOneOf group applies only when its enclosing block is given, as in the
provider. `min_items`/`max_items` from Go (`SetMinItems`, `MaxItems = n`, with `items_source`)
bound a block or list when it is given; `min_items: 1` from cdktf marks a required block. Resources
outside `GO_SCOPES` have `"constraints": "not extracted"`.

`trim SCHEMA --out FILE TYPE...` keeps the resources the generator writes (its embedded
`crates/lakedr-control/src/tf_schema.json`); `check-attrs SCHEMA [--pkg PKG]` compares a schema's
attribute trees with those read afresh from the package (the constraints, read from Go at a
pinned commit, are kept with their sources).

`validate` checks every `*.tf.json` in DIR and prints a JSON report; it exits 1 on any problem:
unknown top-level keys, resource types (data sources are not resources) and attributes; a block
given as a value or a value as a block; a required attribute or block missing at the top level or
in any block given; a computed-only attribute set (and `id`); more blocks or values than
`max_items`; both sides of a ConflictsWith; none or several of an ExactlyOneOf; none of an
AtLeastOneOf; a RequiredWith unmet; a `${databricks_x.y.attr}` reference to a resource not declared
or an attribute it does not have; `${data.x.y.z}` and `${var.v}` references to undeclared data
sources and variables. `variable`, `data`, `locals`, `output`, `terraform` and `provider` blocks
are allowed and not checked further.
"""
import argparse
import glob
import json
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
DEFAULT_PKG = os.path.join(ROOT, ".tools", "cdktf", "package")
DEFAULT_OUT = os.path.join(ROOT, "crates", "lakedr-control", "src", "tf_schema.next.json")
KINDS = ("conflicts", "exactly_one_of", "at_least_one_of", "required_with")


# ---------------------------------------------------------------------------------------------
# cdktf bindings


def lower_first(s):
    return s[:1].lower() + s[1:]


ENTRY = re.compile(
    r'^[ \t]+(\w+): \{\n[ \t]+value: (.*),\n[ \t]+isBlock: (true|false),\n[ \t]+type: "(\w+)",\n'
    r'[ \t]+storageClassType: "(\w+)",', re.M)
HCL_FN = re.compile(r'^function (\w+)ToHclTerraform\(struct\) \{$', re.M)
CLASS = re.compile(r'^class (\w+) extends cdktf\.(\w+) \{$', re.M)
TOP = re.compile(r'^(?:class |function )', re.M)
GETTER = re.compile(
    r"^    get (\w+)\(\) \{\n\s+return (?:cdktf\.Fn\.tolist\()?this\.get\w*Attribute\('([^']+)'\)", re.M)
COMPLEX = re.compile(r'^\s+(?:// (\w+) - computed: (true|false), optional: (true|false), required: (true|false)\n\s+)?'
                     r'this\._(\w+) = new [\w.]+\(this, "([^"]+)"', re.M)
TF_TYPE = re.compile(r'^(\w+)\.tfResourceType = "(\w+)";', re.M)


class JsModule:
    """One `lib/<dir>`: its `*ToHclTerraform` functions and classes, with file:line."""

    def __init__(self, pkg, d):
        self.dir = os.path.basename(d)
        self.fns, self.classes, self.types = {}, {}, {}
        files = [os.path.join(d, "index.js")] + sorted(glob.glob(os.path.join(d, "index-structs", "*.js")))
        for path in files:
            if not os.path.exists(path):
                continue
            rel = os.path.relpath(path, pkg)
            text = open(path, encoding="utf-8").read()
            tops = [m.start() for m in TOP.finditer(text)] + [len(text)]

            def region(start):
                return text[start:next(t for t in tops if t > start)]

            def line(pos):
                return f"{rel}:{text.count(chr(10), 0, pos) + 1}"

            for m in HCL_FN.finditer(text):
                self.fns[m.group(1)] = entries(region(m.start()))
            for m in CLASS.finditer(text):
                body = region(m.start())
                getters = {g.group(1): g.group(2) for g in GETTER.finditer(body)}
                flags = {}
                for c in COMPLEX.finditer(body):
                    getters.setdefault(c.group(5), c.group(6))
                    if c.group(1):
                        flags[c.group(1)] = {"computed": c.group(2) == "true", "optional": c.group(3) == "true",
                                             "required": c.group(4) == "true"}
                hcl = None
                pos = body.find("    synthesizeHclAttributes() {")
                if pos != -1:
                    hcl = entries(body[pos:body.find("return Object.fromEntries", pos)])
                self.classes[m.group(1)] = {"getters": getters, "flags": flags, "hcl": hcl,
                                            "source": line(m.start())}
            for m in TF_TYPE.finditer(text):
                self.types[m.group(1)] = m.group(2)


def entries(text):
    """{terraform name: {"camel", "block", "type"}} of one `attrs = {...}` literal."""
    out = {}
    for m in ENTRY.finditer(text):
        ref = re.search(r"(?:struct\??\.|this\._)(\w+)", m.group(2))
        out[m.group(1)] = {"camel": ref.group(1) if ref else None, "block": m.group(3) == "true",
                           "type": m.group(4), "storage": m.group(5)}
    return out


class Cdktf:
    def __init__(self, pkg):
        self.pkg = pkg
        self.meta = json.load(open(os.path.join(pkg, "package.json"), encoding="utf-8"))
        self.jsii = json.load(open(os.path.join(pkg, ".jsii"), encoding="utf-8"))
        self.types = self.jsii["types"]
        self.modules = {}
        self.by_dir = {}
        for fqn, t in self.types.items():
            f = t.get("locationInModule", {}).get("filename", "")
            if f.startswith("src/"):
                self.by_dir.setdefault(f.split("/")[1], {})[t["name"]] = fqn
        self.issues = []
        self.stats = {"jsii_vs_dts_optional_mismatches": 0, "jsii_vs_dts_compared": 0,
                      "comment_flags_compared": 0, "comment_flags_mismatches": 0}

    def module(self, src):
        d = src.split("/")[1]
        if d not in self.modules:
            self.modules[d] = JsModule(self.pkg, os.path.join(self.pkg, "lib", d))
        return self.modules[d]

    def provider_version(self):
        version = self.meta["cdktf"]["provider"]["version"]
        js = open(os.path.join(self.pkg, "lib", "provider", "index.js"), encoding="utf-8").read()
        found = set(re.findall(r"providerVersion: '([^']+)'", js))
        if found != {version}:
            sys.exit(f"package.json names provider {version}, lib/provider says {sorted(found)}")
        return version

    def resources(self):
        """{terraform type: (class fqn, type)} for every resource class (never a data source)."""
        out, data = {}, set()
        for fqn, t in self.types.items():
            if t["kind"] != "class" or t.get("base") not in ("cdktf.TerraformResource", "cdktf.TerraformDataSource"):
                continue
            mod = self.module(t["locationInModule"]["filename"])
            tf = mod.types.get(t["name"])
            if tf is None:
                self.issues.append(f"{fqn}: no tfResourceType")
            elif t["base"] == "cdktf.TerraformDataSource":
                data.add(tf)
            else:
                if tf in out:
                    sys.exit(f"two resource classes for {tf}")
                out[tf] = (fqn, t)
        self.stats["resources"], self.stats["data_sources_skipped"] = len(out), len(data)
        return out

    def struct_of(self, typ):
        """(struct fqn, single) when a jsii type is a nested object or a list of them."""
        if "fqn" in typ:
            return (typ["fqn"], True) if typ["fqn"] in self.types and self.types[typ["fqn"]]["kind"] == "interface" else (None, None)
        if "collection" in typ:
            fqn, _ = self.struct_of(typ["collection"]["elementtype"])
            return (fqn, False) if fqn else (None, None)
        if "union" in typ:
            for u in typ["union"]["types"]:
                fqn, single = self.struct_of(u)
                if fqn:
                    return fqn, single
        return None, None

    def tree(self, iface_fqn, hcl, out_cls, mod, where):
        """Attributes of a config or struct interface, with the computed-only getters of its
        resource or OutputReference class."""
        iface = self.types[iface_fqn]
        props = {p["name"]: p for p in iface.get("properties", [])}
        seen, out = set(), {}
        for tf, e in sorted(hcl.items()):
            p = props.get(e["camel"])
            if p is None:
                self.issues.append(f"{where}.{tf}: {e['camel']} not in {iface_fqn}")
                continue
            seen.add(e["camel"])
            node = {"block": e["block"], "type": e["type"], "required": not p.get("optional", False),
                    "computed_only": False}
            fqn, single = self.struct_of(p["type"])
            if fqn:
                name = self.types[fqn]["name"]
                fn = mod.fns.get(lower_first(name))
                if fn is None:
                    self.issues.append(f"{where}.{tf}: no {lower_first(name)}ToHclTerraform")
                else:
                    node["children"] = self.tree(fqn, fn, name + "OutputReference", mod, f"{where}.{tf}")
                if e["block"]:
                    if single:
                        node["max_items"] = 1
                    if node["required"]:
                        node["min_items"] = 1
            elif e["block"]:
                self.issues.append(f"{where}.{tf}: a block without a struct type")
            node["optional"] = not node["required"]
            out[tf] = node
        for camel in props:
            if camel not in seen:
                self.issues.append(f"{where}: {iface_fqn}.{camel} has no Terraform entry")
        self.computed(out, out_cls, props, mod, where)
        cls = mod.classes.get(out_cls)
        if cls:
            for tf, f in cls["flags"].items():
                if tf in out:
                    self.stats["comment_flags_compared"] += 1
                    n = out[tf]
                    if f["required"] and f["optional"]:
                        continue  # a nested block without attributes: vacuously both
                    if n["required"] != f["required"] or n["computed_only"] != (f["computed"] and not f["optional"] and not f["required"]):
                        self.stats["comment_flags_mismatches"] += 1
                        self.issues.append(f"{where}.{tf}: comment says {f}, bindings say required={n['required']} computed_only={n['computed_only']}")
        return out

    def computed(self, out, cls_name, config_props, mod, where):
        fqn = self.class_fqn(mod, cls_name)
        if fqn is None:
            self.issues.append(f"{where}: no class {cls_name}")
            return
        getters = mod.classes.get(cls_name, {}).get("getters", {})
        for p in self.types[fqn].get("properties", []):
            camel = p["name"]
            if p.get("static") or not p.get("immutable") or camel.endswith("Input") or camel == "internalValue" or camel in config_props:
                continue
            tf = getters.get(camel)
            if tf is None:
                self.issues.append(f"{where}: getter {cls_name}.{camel} without a Terraform name")
                continue
            out[tf] = self.computed_node(p["type"], mod, f"{where}.{tf}")

    def computed_node(self, typ, mod, where):
        node = {"block": False, "type": "simple", "required": False, "optional": False, "computed_only": True}
        fqn = typ.get("fqn")
        if "primitive" in typ or "union" in typ:
            pass
        elif "collection" in typ:
            node["type"] = "map" if typ["collection"]["kind"] == "map" else "list"
        elif fqn and fqn.startswith("cdktf."):
            node["type"] = "map" if fqn.endswith("Map") else "list"
        elif fqn:
            name = self.types[fqn]["name"]
            elem = name[:-4] + "OutputReference" if name.endswith("List") else name
            node["type"] = "list" if name.endswith("List") else "struct"
            children = {}
            self.computed(children, elem, {}, mod, where)
            node["children"] = children
        return node

    def class_fqn(self, mod, cls_name):
        fqn = self.by_dir.get(mod.dir, {}).get(cls_name)
        return fqn if fqn and self.types[fqn]["kind"] == "class" else None

    def resource_tree(self, tf, fqn, t):
        mod = self.module(t["locationInModule"]["filename"])
        cfg = next(p["type"]["fqn"] for p in t["initializer"]["parameters"] if p["name"] == "config")
        hcl = mod.classes[t["name"]]["hcl"]
        return self.tree(cfg, hcl, t["name"], mod, tf), mod.classes[t["name"]]["source"]

    def compare_dts(self, fqns):
        """`readonly x?:` of the `.d.ts` interfaces against the `.jsii` `optional` flags."""
        by_file = {}
        for fqn in fqns:
            t = self.types[fqn]
            by_file.setdefault(t["locationInModule"]["filename"].split("/")[1], []).append(t)
        for d, ts in by_file.items():
            text = ""
            for path in [os.path.join(self.pkg, "lib", d, "index.d.ts")] + sorted(
                    glob.glob(os.path.join(self.pkg, "lib", d, "index-structs", "*.d.ts"))):
                text += open(path, encoding="utf-8").read()
            for t in ts:
                m = re.search(r"^export interface " + t["name"] + r"\b[^{]*\{\n(.*?)^\}", text, re.M | re.S)
                if not m:
                    continue
                dts = dict(re.findall(r"^    readonly (\w+)(\??):", m.group(1), re.M))
                for p in t.get("properties", []):
                    if p["name"] in dts:
                        self.stats["jsii_vs_dts_compared"] += 1
                        if (dts[p["name"]] == "?") != bool(p.get("optional")):
                            self.stats["jsii_vs_dts_optional_mismatches"] += 1
                            self.issues.append(f"{t['fqn']}.{p['name']}: .d.ts and .jsii disagree")


# ---------------------------------------------------------------------------------------------
# Go sources


def strip_go(text):
    """Comments blanked (newlines kept), so that commented-out code is not read."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if c == '"' or c == "'":
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            out.append(text[i:j + 1])
            i = j + 1
        elif c == "`":
            j = text.index("`", i + 1)
            out.append(text[i:j + 1])
            i = j + 1
        elif text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j == -1 else j
            out.append(" " * (j - i))
            i = j
        elif text.startswith("/*", i):
            j = text.index("*/", i) + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        else:
            out.append(c)
            i += 1
    return "".join(out)


STR_LIST = re.compile(r'\[\]string\{([^{}]*)\}', re.S)


def str_list(text):
    return re.findall(r'"([^"]*)"', text)


class GoRepo:
    def __init__(self, repo, commit):
        self.repo, self.commit, self.cache = repo, commit, {}

    def git(self, *args):
        return subprocess.run(["git", "-C", self.repo, *args], check=True, capture_output=True, text=True).stdout

    def text(self, path):
        if path not in self.cache:
            self.cache[path] = strip_go(self.git("show", f"{self.commit}:{path}"))
        return self.cache[path]

    def files(self, d):
        return [f for f in self.git("ls-tree", "--name-only", f"{self.commit}:{d}").split()
                if f.endswith(".go") and not f.endswith("_test.go")]

    def line(self, path, pos):
        return self.text(path).count("\n", 0, pos) + 1

    def region(self, path, anchor):
        """(start, end) offsets of the declaration whose first line matches `anchor`: a `func` to
        its closing `}` at column 0, a `var` to the next top-level line."""
        text = self.text(path)
        m = re.search(anchor, text, re.M)
        if not m:
            raise LookupError(f"{path}: no {anchor!r} at {self.commit}")
        start = text.rfind("\n", 0, m.start()) + 1
        pos = text.find("\n", m.start()) + 1
        while pos < len(text):
            nl = text.find("\n", pos)
            nl = len(text) if nl == -1 else nl
            ln = text[pos:nl]
            if ln and not ln[0].isspace():
                if ln[0] in "})":
                    pos = nl
                break
            pos = nl + 1
        return start, pos

    def package_list(self, d, name):
        """A package-level `var name = []string{...}` or `name := ...` in directory d."""
        for f in self.files(d):
            m = re.search(r'^(?:var\s+)?' + name + r'\s*(?::=|=)\s*\[\]string\{([^{}]*)\}', self.text(f"{d}/{f}"), re.M | re.S)
            if m:
                return str_list(m.group(1)), f"{d}/{f}:{self.line(f'{d}/{f}', m.start())}"
        return None, None

    def map_keys(self, d, name):
        for f in self.files(d):
            text = self.text(f"{d}/{f}")
            m = re.search(r'^var ' + name + r' = \w+\{\n(.*?)^\}', text, re.M | re.S)
            if m:
                return re.findall(r'^\t"(\w+)":', m.group(1), re.M), f"{d}/{f}:{self.line(f'{d}/{f}', m.start())}"
        return None, None


CONSTRAINT = re.compile(r'\b(?:Set)?(ConflictsWith|ExactlyOneOf|AtLeastOneOf|RequiredWith|MinItems|MaxItems)\b')
KIND = {"ConflictsWith": "conflicts", "ExactlyOneOf": "exactly_one_of", "AtLeastOneOf": "at_least_one_of",
        "RequiredWith": "required_with", "MinItems": "min_items", "MaxItems": "max_items"}
NAME = {v: k for k, v in KIND.items()}


class GoScanner:
    """Reads the constraints of one region of Go source. Understood forms:

    * `x.SchemaPath("a", "b")....SetConflictsWith(V)` and `common.CustomizeSchemaPath(m, "a", ...)....`
      (values prefixed with the scope's context path, as `getPrefixedValue` does);
    * `m["a"].ConflictsWith = V` and `"a": {... ConflictsWith: V ...}` / `m["a"] = &schema.Schema{...}`
      (values taken as written: absolute `a.0.b` paths);
    * V a `[]string{...}` literal or a name bound to one in the region, the file or the package;
    * paths and keys bound by enclosing `for _, v := range L {` loops, filtered by enclosing
      `if strings.HasSuffix(v, "...") {`, and `strings.TrimPrefix(v, "...")` arguments.
    Anything else that names a constraint is reported as unresolved (and handled by a resolver in
    `SPECIAL`, or explained)."""

    def __init__(self, go, path, span, attach="", ctx=""):
        self.go, self.path, self.attach, self.ctx = go, path, attach, ctx
        self.text = go.text(path)
        self.start, self.end = span
        self.found, self.unresolved = [], []

    def where(self, pos):
        return f"{self.path}:{self.go.line(self.path, pos)}"

    def lookup(self, name, pos):
        body = self.text[self.start:pos]
        ms = list(re.finditer(r'\b' + name + r'\s*(?::=|=)\s*\[\]string\{([^{}]*)\}', body, re.S))
        if ms:
            return str_list(ms[-1].group(1))
        m = re.search(r'^(?:var\s+)?' + name + r'\s*(?::=|=)\s*\[\]string\{([^{}]*)\}', self.text, re.M | re.S)
        if m:
            return str_list(m.group(1))
        vals, _ = self.go.package_list(os.path.dirname(self.path), name)
        return vals

    def enclosing(self, pos):
        """Headers of the `{` blocks open at pos, outermost first."""
        stack = []
        for m in re.finditer(r'[{}]', self.text[self.start:pos]):
            if m.group() == "{":
                stack.append(self.start + m.start())
            elif stack:
                stack.pop()
        out = []
        for p in stack:
            ln = self.text[self.text.rfind("\n", 0, p) + 1:p + 1].strip()
            out.append((p, ln))
        return out

    def bindings(self, pos):
        """[(env, note)] for the loops around pos, or None when a loop is not understood."""
        envs = [{}]
        for p, ln in self.enclosing(pos):
            m = re.match(r'for _, (\w+) := range (.+) \{$', ln)
            if m:
                src = m.group(2)
                lit = STR_LIST.fullmatch(src)
                vals = str_list(lit.group(1)) if lit else (self.lookup(src, p) if re.fullmatch(r"\w+", src) else None)
                if vals is None:
                    return None
                envs = [dict(e, **{m.group(1): v}) for e in envs for v in vals]
                continue
            m = re.match(r'if strings\.HasSuffix\((\w+), "([^"]*)"\) \{$', ln)
            if m:
                envs = [e for e in envs if e.get(m.group(1), "").endswith(m.group(2))]
                continue
            if ln.startswith(("for ", "if ", "switch ", "case ")):
                return None
        return envs

    def arg(self, a, env):
        a = a.strip()
        if re.fullmatch(r'"[^"]*"', a):
            return a[1:-1]
        if a in env:
            return env[a]
        m = re.fullmatch(r'strings\.TrimPrefix\((\w+), "([^"]*)"\)', a)
        if m and m.group(1) in env:
            v = env[m.group(1)]
            return v[len(m.group(2)):] if v.startswith(m.group(2)) else v
        return None

    def value(self, v, env, pos):
        v = v.strip()
        if re.fullmatch(r"\d+", v):
            return int(v)
        lit = STR_LIST.fullmatch(v)
        if lit:
            return str_list(lit.group(1))
        if re.fullmatch(r"\w+", v):
            return env[v] if isinstance(env.get(v), list) else self.lookup(v, pos)
        return None

    def scan(self, skip=()):
        region = self.text[self.start:self.end]
        for m in CONSTRAINT.finditer(region):
            pos = self.start + m.start()
            if any(a <= pos < b for a, b in skip):
                continue
            kind = KIND[m.group(1)]
            stmt_start = self.text.rfind("\n", 0, pos) + 1
            # a statement may continue an argument list from the line before
            while not re.match(r'\s*(\w+\.SchemaPath|common\.CustomizeSchemaPath|\w+\[|\w+:|"\w+":)', self.text[stmt_start:pos]) and stmt_start > self.start:
                stmt_start = self.text.rfind("\n", 0, stmt_start - 1) + 1
            stmt = self.text[stmt_start:self.text.find("\n", pos)]
            envs = self.bindings(pos)
            if envs is None:
                self.unresolved.append(f"{self.where(pos)}: {stmt.strip()}")
                continue
            for env in envs:
                got = self.one(stmt, kind, env, pos)
                if got is None:
                    self.unresolved.append(f"{self.where(pos)}: {stmt.strip()}")
                    break
                self.found.append(got)
        return self

    def one(self, stmt, kind, env, pos):
        name = NAME[kind]
        m = re.search(r'(?:\w+\.SchemaPath|common\.CustomizeSchemaPath)\(([^()]*(?:\([^()]*\)[^()]*)*)\)'
                      r'(?:\s*\.\w+\([^()]*(?:\([^()]*\)[^()]*)*\))*\s*\.Set' + name + r'\((\[\]string\{[^{}]*\}|\w+)\)', stmt, re.S)
        if m:
            args = split_args(m.group(1))
            if stmt.lstrip().startswith("common.CustomizeSchemaPath"):
                args = args[1:]
            path = [self.arg(a, env) for a in args]
            vals = self.value(m.group(2), env, pos)
            if None in path or vals is None:
                return None
            if isinstance(vals, list):
                vals = [self.ctx + v for v in vals]
            return (kind, join(self.attach, *path), vals, self.where(pos))
        m = re.search(r'\w+\[("\w+"|\w+)\]\.' + name + r'\s*=\s*(.*)$', stmt)
        if m:
            key = self.arg(m.group(1), env)
            vals = self.value(m.group(2), env, pos)
            if key is None or vals is None:
                return None
            return (kind, join(self.attach, key), vals, self.where(pos))
        m = re.search(r'\b' + name + r':\s*(.*?),?\s*$', stmt)
        if m:
            vals = self.value(m.group(1), env, pos)
            field = None
            for p, ln in reversed(self.enclosing(pos)):
                f = re.match(r'(?:"(\w+)":\s*(?:&schema\.Schema)?\{|\w+\["(\w+)"\]\s*=\s*&schema\.Schema\{)$', ln)
                if f:
                    field = f.group(1) or f.group(2)
                    break
            if vals is None or field is None:
                return None
            return (kind, join(self.attach, field), vals, self.where(pos))
        return None


def split_args(s):
    out, depth, cur = [], 0, ""
    for c in s:
        if c == "," and depth == 0:
            out.append(cur)
            cur = ""
            continue
        depth += c in "([{"
        depth -= c in ")]}"
        cur += c
    if cur.strip():
        out.append(cur)
    return out


def join(*parts):
    return ".".join(p for p in parts if p)


def dotted(path):
    """`task.0.new_cluster.0.num_workers` as `task.new_cluster.num_workers`."""
    return ".".join(p for p in path.split(".") if not p.isdigit())


def special_permissions(go):
    """databricks_permissions: every object id field conflicts with every other
    (resource_permissions.go: a loop over `allResourcePermissions()`, appending each other
    mapping's `field`)."""
    path = "permissions/resource_permissions.go"
    text = go.text(path)
    anchor = "s[mapping.field].ConflictsWith = append(s[mapping.field].ConflictsWith, m.field)"
    pos = text.index(anchor)
    loop = text.rfind("for _, m := range allResourcePermissions()", 0, pos)
    outer = text.rfind("for _, mapping := range allResourcePermissions()", 0, pos)
    cont = text.find("if m.field == mapping.field {", loop, pos)
    if min(loop, outer, cont) == -1:
        raise LookupError(f"{path}: the permissions loop is not as expected at {go.commit}")
    dpath = "permissions/permission_definitions.go"
    s, e = go.region(dpath, r"^func allResourcePermissions\(\)")
    fields = list(dict.fromkeys(re.findall(r'^\t\t\tfield:\s+"(\w+)"', go.text(dpath)[s:e], re.M)))
    src = f"{path}:{go.line(path, pos)}"
    out = [("conflicts", f, [o for o in fields if o != f], src) for f in fields]
    # The provider also fails the plan when none is set (CustomizeDiff), so exactly one is needed.
    cd = go.text(dpath).index("at least one type of resource identifier must be set")
    out.append(("at_least_one_of", "", fields, f"{dpath}:{go.line(dpath, cd)} (plan-time CustomizeDiff, not a schema flag)"))
    return out, [(path, pos - 200, pos + len(anchor))], f"fields from {dpath}:{go.line(dpath, s)}"


def special_grants(go):
    """databricks_grants: AtLeastOneOf over the keys of `permissions.Mappings`."""
    path = "catalog/resource_grants.go"
    text = go.text(path)
    a = text.index("for field := range permissions.Mappings {")
    b = text.index("s[field].AtLeastOneOf = alof", a)
    keys, src = go.map_keys("catalog/permissions", "Mappings")
    if not keys:
        raise LookupError("catalog/permissions: no Mappings")
    return [("at_least_one_of", "", keys, f"{path}:{go.line(path, b)}")], [(path, a, b + 40)], f"keys from {src}"


def special_external_location(go):
    """databricks_external_location: each file_event_queue kind conflicts with the others (a
    loop over `supportedQueues`, appending `"file_event_queue.0."+otherKey` for every other key)."""
    path = "catalog/resource_external_location.go"
    text = go.text(path)
    anchor = 'common.CustomizeSchemaPath(m, "file_event_queue", key).SetConflictsWith(conflicts)'
    pos = text.index(anchor)
    if 'conflicts = append(conflicts, "file_event_queue.0."+otherKey)' not in text[pos - 400:pos]:
        raise LookupError(f"{path}: the file_event_queue loop is not as expected at {go.commit}")
    queues = str_list(re.search(r'supportedQueues := \[\]string\{([^{}]*)\}', text).group(1))
    src = f"{path}:{go.line(path, pos)}"
    return ([("conflicts", f"file_event_queue.{q}", [f"file_event_queue.0.{o}" for o in queues if o != q], src) for q in queues],
            [(path, pos, pos + len(anchor))], None)


SPECIAL = {"databricks_permissions": special_permissions, "databricks_grants": special_grants,
           "databricks_external_location": special_external_location}

F = "func "
# Where each resource's constraints are read: (file, anchor of the declaration or None for the
# whole file, attach prefix, context prefix). `embed` entries are registered ResourceProviders
# (common.RegisterResourceProvider) reached from a nested path: their Set* constraints apply only
# when no list block with MaxItems != 1 is on that path (customizable_schema.go
# pathContainsMultipleItemsList), with values prefixed by the path (getPrefixedValue).
CLUSTER_SPEC = ("clusters/resource_cluster.go", r"^func \(ClusterSpec\) CustomizeSchema\(")
FILE_CONTENT = ("workspace/file_resource.go", r"^func FileContentSchemaWithoutPath\(", "", "FileContentSchemaWithoutPath(|FileContentSchema(")
ENTITLEMENTS = ("scim/scim.go", r"^func addEntitlementsToSchema\(", "", "addEntitlementsToSchema(")
GO_SCOPES = {
    "databricks_cluster": {"scopes": [CLUSTER_SPEC, ("clusters/resource_cluster.go", r"^func \(ClusterSpec\) CustomizeSchemaResourceSpecific\(")]},
    "databricks_job": {
        "scopes": [("jobs/resource_job.go", r"^func \(JobSettingsResource\) CustomizeSchema\("),
                   ("jobs/resource_job.go", r"^func gitSourceSchema\(", "git_source",
                    'gitSourceSchema(common.MustSchemaMap(s.GetSchemaMap(), "git_source"), "")'),
                   ("jobs/resource_job.go", r"^func jobSettingsSchema\(")],
        "embed": [(CLUSTER_SPEC, p) for p in ("new_cluster", "task.new_cluster", "job_cluster.new_cluster",
                                              "task.for_each_task.task.new_cluster")]},
    "databricks_cluster_policy": {"scopes": [("policies/resource_cluster_policy.go", r"^var rcpSchema = ")]},
    "databricks_instance_pool": {"scopes": [("pools/resource_instance_pool.go", r"^func ResourceInstancePool\(")]},
    "databricks_sql_endpoint": {"scopes": [("sql/resource_sql_endpoint.go", None)]},
    "databricks_permissions": {"scopes": [("permissions/resource_permissions.go", r"^func ResourcePermissions\(")]},
    "databricks_grants": {"scopes": [("catalog/resource_grants.go", r"^func ResourceGrants\(")]},
    "databricks_catalog": {"scopes": [("catalog/resource_catalog.go", r"^func ResourceCatalog\(")]},
    "databricks_schema": {"scopes": [("catalog/resource_schema.go", None)]},
    "databricks_external_location": {"scopes": [("catalog/resource_external_location.go", r"^func ResourceExternalLocation\(")]},
    "databricks_storage_credential": {"scopes": [("catalog/resource_storage_credential.go", None),
                                                 ("catalog/resource_metastore_data_access.go", r"^func adjustDataAccessSchema\(", "", "adjustDataAccessSchema(")]},
    "databricks_volume": {"scopes": [("catalog/resource_volume.go", None)]},
    "databricks_sql_table": {"scopes": [("catalog/resource_sql_table.go", r"^func \(ti SqlTableInfo\) CustomizeSchema\(")]},
    "databricks_pipeline": {"scopes": [("pipelines/resource_pipeline.go", r"^func \(Pipeline\) CustomizeSchema\(")]},
    "databricks_secret": {"scopes": [("secrets/resource_secret.go", None)]},
    "databricks_library": {"scopes": [("internal/providers/pluginfw/products/library/resource_library.go", None)]},
    "databricks_instance_profile": {"scopes": [("aws/resource_instance_profile.go", None)]},
    "databricks_query": {"scopes": [("sql/resource_query.go", None)]},
    "databricks_alert": {"scopes": [("sql/resource_alert.go", None)]},
    "databricks_dashboard": {"scopes": [("dashboards/resource_dashboard.go", None)]},
    "databricks_workspace_file": {"scopes": [("workspace/resource_workspace_file.go", None), FILE_CONTENT]},
    "databricks_global_init_script": {"scopes": [("workspace/resource_global_init_script.go", None), FILE_CONTENT]},
    "databricks_notebook": {"scopes": [("workspace/resource_notebook.go", r"^func ResourceNotebook\("), FILE_CONTENT]},
    "databricks_model_serving": {"scopes": [("serving/resource_model_serving.go", r"^func ResourceModelServing\(")]},
    "databricks_ip_access_list": {"scopes": [("access/resource_ip_access_list.go", None)]},
    "databricks_mws_workspaces": {"scopes": [("mws/resource_mws_workspaces.go", r"^func ResourceMwsWorkspaces\(")]},
    "databricks_permission_assignment": {"scopes": [("access/resource_permission_assignment.go", None)]},
    "databricks_metastore": {"scopes": [("catalog/resource_metastore.go", r"^func ResourceMetastore\(")]},
    "databricks_metastore_assignment": {"scopes": [("catalog/resource_metastore_assignment.go", None)]},
    "databricks_user": {"scopes": [("scim/resource_user.go", None), ENTITLEMENTS]},
    "databricks_group": {"scopes": [("scim/resource_group.go", None), ENTITLEMENTS]},
    "databricks_group_member": {"scopes": [("scim/resource_group_member.go", None)]},
    "databricks_service_principal": {"scopes": [("scim/resource_service_principal.go", None), ENTITLEMENTS]},
    "databricks_repo": {"scopes": [("repos/resource_repo.go", None)]},
    "databricks_git_credential": {"scopes": [("repos/resource_git_credential.go", None)]},
    "databricks_directory": {"scopes": [("workspace/resource_directory.go", None)]},
    "databricks_mlflow_model": {"scopes": [("mlflow/resource_mlflow_model.go", None)]},
    "databricks_mlflow_experiment": {"scopes": [("mlflow/resource_mlflow_experiment.go", None)]},
    "databricks_registered_model": {"scopes": [("catalog/resource_registered_model.go", None)]},
    "databricks_workspace_conf": {"scopes": [("workspace/resource_workspace_conf.go", None)]},
    "databricks_secret_scope": {"scopes": [("secrets/resource_secret_scope.go", None)]},
    "databricks_secret_acl": {"scopes": [("secrets/resource_secret_acl.go", None)]},
}


def go_definitions(go):
    """{terraform type: "file:line"} of each resource's Go definition."""
    out = {}
    sdk = "internal/providers/sdkv2/sdkv2.go"
    text = go.text(sdk)
    body = text[text.index("resourceMap := map[string]*schema.Resource{"):]
    body = body[:body.index("\n\t}\n")]
    for tf, pkg, fn in re.findall(r'"(databricks_\w+)":\s+(\w+)\.(\w+)\(\)\.ToResource\(\)', body):
        for d in sorted({p.rsplit("/", 1)[0] for p in go.git("ls-tree", "-r", "--name-only", go.commit).split()
                         if p.endswith(".go") and p.rsplit("/", 1)[0].endswith(pkg) and p.count("/") == pkg.count("/") + 1}):
            for f in go.files(d):
                m = re.search(r'^func ' + fn + r'\(', go.text(f"{d}/{f}"), re.M)
                if m:
                    out[tf] = f"{d}/{f}:{go.line(f'{d}/{f}', m.start())}"
    # plugin framework resources name themselves with `resourceName = "x"`; those migrated from
    # SDKv2 (`migratedResources`) replace their SDKv2 definitions
    roll = "internal/providers/pluginfw/pluginfw_rollout_utils.go"
    rtext = go.text(roll)
    migrated = set(re.findall(r"^\t(\w+)\.Resource\w+,", rtext[rtext.index("var migratedResources"):rtext.index("var migratedDataSources")], re.M))
    for p in go.git("ls-tree", "-r", "--name-only", go.commit, "internal/providers/pluginfw/products").split():
        if os.path.basename(p).startswith("resource_") and p.endswith(".go") and not p.endswith("_test.go"):
            m = re.search(r'^const resourceName = "(\w+)"', go.text(p), re.M)
            if m:
                tf = "databricks_" + m.group(1)
                if tf not in out or p.split("/")[-2] in migrated:
                    out[tf] = f"{p}:{go.line(p, m.start())}"
    return out


def go_constraints(go, tf, tree):
    spec = GO_SCOPES.get(tf)
    if spec is None:
        return None
    found, unresolved, notes, scanned = [], [], [], []
    skip = []
    if tf in SPECIAL:
        f, skip, note = SPECIAL[tf](go)
        found += f
        if note:
            notes.append(note)
    own = spec["scopes"][0][0]
    for scope in spec["scopes"]:
        path, anchor = scope[0], scope[1]
        attach = scope[2] if len(scope) > 2 else ""
        if len(scope) > 3 and not any(c in go.text(own) for c in scope[3].split("|")):
            raise LookupError(f"{tf}: {own} does not call {scope[3]}")
        span = go.region(path, anchor) if anchor else (0, len(go.text(path)))
        scanned.append(f"{path}:{go.line(path, span[0])}-{go.line(path, span[1])}")
        s = GoScanner(go, path, span, attach).scan([(x, y) for f, x, y in skip if f == path])
        found += s.found
        unresolved += s.unresolved
    for (path, anchor), at in spec.get("embed", []):
        chain = at.split(".")
        multi = [".".join(chain[:i + 1]) for i in range(len(chain)) if node_at(tree, chain[:i + 1]).get("max_items") != 1]
        span = go.region(path, anchor)
        where = f"{path}:{go.line(path, span[0])}"
        s = GoScanner(go, path, span, at, ".0.".join(chain) + ".0.").scan()
        scanned.append(f"{where} at {at}")
        if multi:
            notes.append(f"{where} at {at}: its constraints are skipped by the provider ({multi[0]} is a list "
                         "without max_items 1: common/customizable_schema.go pathContainsMultipleItemsList); "
                         "its item counts apply")
            s.found = [f for f in s.found if f[0] in ("min_items", "max_items")]
            s.unresolved = [u for u in s.unresolved if "Items" in u]
        found += s.found
        unresolved += s.unresolved
    return found, unresolved, notes, scanned


def node_at(tree, chain):
    node = {"children": tree}
    for c in chain:
        node = (node.get("children") or {}).get(c)
        if node is None:
            return {}
    return node


def normalize(found, tree, tf):
    """Raw (kind, key, values, source) as the schema's constraint lists, checked against the tree."""
    out = {k: [] for k in KINDS}
    sources, ineffective = [], []
    for kind, key, vals, src in found:
        if kind in ("min_items", "max_items"):
            node = node_at(tree, key.split("."))
            if not node:
                ineffective.append({"kind": kind, "key": key, "values": vals, "source": src, "reason": f"{key} not in the schema"})
            elif kind == "max_items" and vals == 0:
                continue  # no limit
            else:
                if node.get(kind) not in (None, vals):
                    node.setdefault("items_differ", {})[kind] = {"cdktf": node[kind], "go": vals}
                node[kind] = vals
                node.setdefault("items_source", []).append(src)
            continue
        raw = [v for v in vals]
        paths = [dotted(v) for v in vals]
        bad = [v for v in raw if not re.fullmatch(r"\w+(\.0\.\w+)*", v)]
        unknown = [p for p in paths + ([key] if key else []) if not node_at(tree, p.split("."))]
        entry = {"kind": kind, "key": key or None, "values": paths, "source": src}
        if bad or unknown:
            entry["reason"] = (f"{bad} not `a.0.b` paths: the provider's config lookup never finds them" if bad
                               else f"{unknown} not in the schema")
            ineffective.append(entry)
            continue
        sources.append(entry)
        if kind == "conflicts":
            for p in paths:
                pair = sorted([key, p])
                if pair[0] != pair[1] and pair not in out["conflicts"]:
                    out["conflicts"].append(pair)
        elif kind == "required_with":
            for p in paths:
                if [key, p] not in out["required_with"]:
                    out["required_with"].append([key, p])
        else:
            group = sorted(set(paths))
            if group not in out[kind]:
                out[kind].append(group)
    for k in out:
        out[k].sort()
    return out, sources, ineffective


# ---------------------------------------------------------------------------------------------
# extract


def extract(args):
    cd = Cdktf(args.pkg)
    version = cd.provider_version()
    go = GoRepo(args.provider_repo, None)
    tag = f"v{version}"
    commit = go.git("rev-parse", f"{tag}^{{commit}}").strip()
    go.commit = commit
    m = re.search(r'var version = "([^"]+)"', go.text("common/version.go"))
    if not m or m.group(1) != version:
        sys.exit(f"{tag} ({commit}): common/version.go says {m and m.group(1)}")
    defs = go_definitions(go)
    resources = cd.resources()
    out, constraint_report = {}, {}
    for tf, (fqn, t) in sorted(resources.items()):
        tree, cdk_src = cd.resource_tree(tf, fqn, t)
        entry = {"attrs": tree, "conflicts": [], "exactly_one_of": [], "at_least_one_of": [], "required_with": [],
                 "source": defs.get(tf) or cdk_src, "cdktf_source": cdk_src}
        got = go_constraints(go, tf, tree)
        if got is None:
            entry["constraints"] = "not extracted"
        else:
            found, unresolved, notes, scanned = got
            lists, sources, ineffective = normalize(found, tree, tf)
            entry.update(lists)
            entry["constraint_sources"] = sources
            entry["scanned"] = scanned
            if ineffective:
                entry["ineffective"] = ineffective
            if notes:
                entry["notes"] = notes
            if unresolved:
                entry["unresolved"] = unresolved
                constraint_report[tf] = unresolved
        out[tf] = entry
    dirs = {t["locationInModule"]["filename"].split("/")[1] for _, t in resources.values()}
    cd.compare_dts([f for f, t in cd.types.items() if t["kind"] == "interface"
                    and t.get("locationInModule", {}).get("filename", "/").split("/")[1] in dirs])
    doc = {"$meta": {
        "cdktf_package": cd.meta["name"], "cdktf_version": cd.meta["version"],
        "jsii_fingerprint": cd.jsii.get("fingerprint"), "provider_version": version,
        "provider_tag": tag, "provider_commit": commit,
        "provider_repository": "github.com/databricks/terraform-provider-databricks",
        "checks": dict(cd.stats, binding_issues=len(cd.issues), unresolved_constraints=sum(len(v) for v in constraint_report.values())),
        "binding_issues": cd.issues[:200],
        "constraints_read_for": sorted(GO_SCOPES),
    }, "resources": out}
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(doc, f, sort_keys=True, indent=1)
        f.write("\n")
    print(json.dumps({"out": args.out, "resources": len(out), "checks": doc["$meta"]["checks"],
                      "unresolved": constraint_report}, indent=1))


# ---------------------------------------------------------------------------------------------
# validate

META_ARGS = {"depends_on", "lifecycle", "provider", "count", "for_each", "provisioner", "connection"}
TOP_KEYS = {"resource", "data", "variable", "locals", "output", "terraform", "provider", "module",
            "moved", "import", "check", "removed"}
INTERP = re.compile(r"(?<!\$)\$\{(.*?)\}")
# What Terraform reads as an interpolation or a directive: `${` or `%{` not escaped (`$${`, `%%{`).
TEMPLATE = re.compile(r"(?<![$%])[$%]\{")
# The expressions a generated document may hold: references, variables, locals, and functions
# of those. Anything else inside `${...}` is text from the API that Terraform would evaluate.
EXPR_WORD = re.compile(r"(?:data\.)?databricks_\w+\.[A-Za-z_][\w-]*\.\w+|var\.\w+|local\.\w+|lookup|\w+")
REF = re.compile(r"(?<![\w.])(data\.)?(databricks_\w+)\.([A-Za-z_][\w-]*)\.(\w+)")
VAR = re.compile(r"(?<![\w.])var\.(\w+)")


def strings(v):
    if isinstance(v, str):
        yield v
    elif isinstance(v, dict):
        for x in v.values():
            yield from strings(x)
    elif isinstance(v, list):
        for x in v:
            yield from strings(x)


def given(v):
    return v is not None and v != [] and v != {}


def items(v):
    return v if isinstance(v, list) else [v]


def get(body, path):
    """The value at a dotted path, through the first item of each block (the provider's `.0.`)."""
    v = body
    for p in path.split("."):
        if isinstance(v, list):
            v = v[0] if v else None
        if not isinstance(v, dict):
            return None
        v = v.get(p)
    return v


class Checker:
    def __init__(self, schema):
        self.schema = schema["resources"]
        self.problems = []

    def add(self, kind, where, msg):
        self.problems.append({"kind": kind, "at": where, "problem": msg})

    def body(self, tree, value, where, top):
        if not isinstance(value, dict):
            self.add("shape", where, f"expected an object, got {type(value).__name__}")
            return
        for k, v in value.items():
            if top and k in META_ARGS:
                continue
            node = tree.get(k)
            if node is None:
                self.add("unknown_attribute", f"{where}.{k}", "no such attribute or block")
                continue
            if node["computed_only"] and given(v):
                self.add("computed_only_set", f"{where}.{k}", "computed by the provider: a config must not set it")
                continue
            if top and k == "id" and given(v):
                self.add("id_set", f"{where}.{k}", "the provider sets the id: a config value is ignored")
            if node["block"]:
                if not (isinstance(v, dict) or (isinstance(v, list) and all(isinstance(i, dict) for i in v))):
                    self.add("block_as_attribute", f"{where}.{k}", f"a block, given as {type(v).__name__}")
                    continue
                its = items(v)
                if "max_items" in node and len(its) > node["max_items"]:
                    self.add("max_items", f"{where}.{k}", f"{len(its)} blocks, at most {node['max_items']}")
                for i, item in enumerate(its):
                    self.body(node.get("children", {}), item, f"{where}.{k}[{i}]", False)
                continue
            if v is None or (isinstance(v, str) and INTERP.fullmatch(v)):
                continue
            t = node["type"]
            if node.get("children") is not None:  # a nested attribute (list/set/struct of objects)
                if t == "struct" and not isinstance(v, dict) or t != "struct" and not isinstance(v, list):
                    self.add("attribute_shape", f"{where}.{k}", f"expected {t} of objects")
                continue
            if t == "map" and not (isinstance(v, dict) and all(not isinstance(x, (dict, list)) for x in v.values())):
                self.add("attribute_as_block" if isinstance(v, list) else "attribute_shape", f"{where}.{k}", "expected a map of values")
            elif t in ("list", "set") and not (isinstance(v, list) and all(not isinstance(x, (dict, list)) for x in v)):
                self.add("attribute_as_block" if isinstance(v, (dict, list)) else "attribute_shape", f"{where}.{k}", f"expected a {t} of values")
            elif t in ("list", "set") and "max_items" in node and len(v) > node["max_items"]:
                self.add("max_items", f"{where}.{k}", f"{len(v)} values, at most {node['max_items']}")
            elif t == "simple" and isinstance(v, (dict, list)):
                self.add("attribute_as_block", f"{where}.{k}", "an attribute, given as a block or list")
        for k, node in tree.items():
            if node["required"] and not given(value.get(k)):
                self.add("required_missing", f"{where}.{k}", "required " + ("block" if node["block"] else "attribute") + " missing")

    def constraints(self, spec, body, where):
        for a, b in spec.get("conflicts", []):
            if given(get(body, a)) and given(get(body, b)):
                self.add("conflict", where, f"{a} and {b} conflict: give one")
        for kind in ("exactly_one_of", "at_least_one_of"):
            for group in spec.get(kind, []):
                parent = common_parent(group)
                if parent and not given(get(body, parent)):
                    continue  # nested: checked only when the block is given
                n = sum(given(get(body, p)) for p in group)
                if n == 0 or (kind == "exactly_one_of" and n > 1):
                    self.add(kind, where, f"{n} of {group} given: " + ("exactly one" if kind == "exactly_one_of" else "at least one") + " is needed")
        for a, b in spec.get("required_with", []):
            if given(get(body, a)) and not given(get(body, b)):
                self.add("required_with", where, f"{a} needs {b}")


def common_parent(paths):
    parts = [p.split(".")[:-1] for p in paths]
    out = []
    for xs in zip(*parts):
        if len(set(xs)) != 1:
            break
        out.append(xs[0])
    return ".".join(out)


def validate(schema_path, directory):
    schema = json.load(open(schema_path, encoding="utf-8"))
    ch = Checker(schema)
    declared, data, variables, refs, counts, deps = set(), set(), set(), [], {}, []
    files = sorted(glob.glob(os.path.join(directory, "*.tf.json")))
    docs = []
    for path in files:
        name = os.path.basename(path)
        try:
            doc = json.load(open(path, encoding="utf-8"))
        except ValueError as e:
            ch.add("json", name, str(e))
            continue
        if not isinstance(doc, dict):
            ch.add("json", name, "not an object")
            continue
        docs.append((name, doc))
        for k in doc:
            if k not in TOP_KEYS:
                ch.add("unknown_top_level", name, f"unknown top-level key {k}")
        for v in items(doc.get("variable", {})):
            variables |= set(v) if isinstance(v, dict) else set()
        for d in items(doc.get("data", {})):
            for typ, by_name in (d.items() if isinstance(d, dict) else []):
                data |= {(typ, n) for n in by_name}
    for name, doc in docs:
        for res in items(doc.get("resource", {})):
            for typ, by_name in res.items():
                if typ not in ch.schema:
                    ch.add("unknown_resource_type", f"{name}: {typ}", "no such resource type in the provider")
                    continue
                for rn, body in by_name.items():
                    where = f"{typ}.{rn}"
                    if not re.fullmatch(r"[A-Za-z_][\w-]*", rn):
                        ch.add("resource_name", where, "not a valid resource name")
                    if (typ, rn) in declared:
                        ch.add("duplicate_resource", f"{name}: {where}", "declared in another file too")
                    declared.add((typ, rn))
                    counts[typ] = counts.get(typ, 0) + 1
                    for b in items(body):
                        ch.body(ch.schema[typ]["attrs"], b, where, True)
                        if isinstance(b, dict):
                            ch.constraints(ch.schema[typ], b, where)
                            refs += [(where, s) for s in strings(b)]
                            deps.append((where, b.get("depends_on", [])))
    for where, ds in deps:
        for d in ds if isinstance(ds, list) else [ds]:
            parts = d.split(".") if isinstance(d, str) else []
            target = tuple(parts[1:3]) if parts[:1] == ["data"] else tuple(parts[:2])
            if len(target) != 2 or target not in (data if parts[:1] == ["data"] else declared):
                ch.add("undeclared_dependency", where, f"depends_on {d!r}: not declared")
    nrefs = 0
    for where, s in refs:
        # A template sequence must be one of ours: a literal `${` from the API must be `$${`.
        for m in TEMPLATE.finditer(s):
            if s[m.start()] == "%":
                ch.add("template_directive", where, f"`%{{` in {s[:60]!r}: Terraform reads a directive")
        for expr in INTERP.findall(s):
            stripped = re.sub(r'"[^"]*"', "", expr)
            words = [w for w in re.findall(r"[A-Za-z_][\w.-]*", stripped)
                     if w not in ("true", "false", "null")]
            for w in words:
                if not EXPR_WORD.fullmatch(w) or ("." not in w and w not in ("lookup", "try", "coalesce")):
                    ch.add("literal_interpolation", where, f"`${{{expr[:40]}}}` is not a reference: escape it as `$${{`")
                    break
            for m in REF.finditer(expr):
                nrefs += 1
                is_data, rt, rn, attr = m.groups()
                if is_data:
                    if (rt, rn) not in data:
                        ch.add("undeclared_reference", where, f"data.{rt}.{rn} is not declared")
                    continue
                if (rt, rn) not in declared:
                    ch.add("undeclared_reference", where, f"{rt}.{rn} is not declared")
                elif attr not in ch.schema[rt]["attrs"] and attr != "id":
                    ch.add("unknown_reference_attribute", where, f"{rt}.{rn}.{attr}: {rt} has no attribute {attr}")
            for m in VAR.finditer(expr):
                nrefs += 1
                if m.group(1) not in variables:
                    ch.add("undeclared_variable", where, f"var.{m.group(1)} is not declared")
    by_type = {}
    for p in ch.problems:
        t = p["at"].split(".")[0].split(":")[-1].strip()
        by_type.setdefault(t, {}).setdefault(p["kind"], 0)
        by_type[t][p["kind"]] += 1
    return {"ok": not ch.problems, "problems": ch.problems, "problem_count": len(ch.problems),
            "by_kind": count_by(ch.problems, "kind"), "by_resource_type": by_type,
            "files": len(files), "resources": counts, "references": nrefs,
            "schema": {k: schema["$meta"].get(k) for k in ("provider_version", "provider_commit", "cdktf_version")}}


def count_by(ps, k):
    out = {}
    for p in ps:
        out[p[k]] = out.get(p[k], 0) + 1
    return out


def trim(args):
    """The resources `types` of an extracted schema, for the generator to embed."""
    doc = json.load(open(args.schema, encoding="utf-8"))
    missing = [t for t in args.types if t not in doc["resources"]]
    if missing:
        sys.exit(f"not in the provider's resources: {missing}")
    out = {"$meta": dict(doc["$meta"], trimmed_to=sorted(args.types)),
           "resources": {t: doc["resources"][t] for t in sorted(args.types)}}
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(out, f, sort_keys=True, indent=1)
        f.write("\n")


def without_go_bounds(attrs, fresh):
    """`attrs` with the item bounds read from Go replaced by the package's own (`fresh`)."""
    out = {}
    for k, node in attrs.items():
        node = dict(node)
        f = (fresh or {}).get(k) or {}
        if "items_source" in node:
            for bound in ("max_items", "min_items"):
                node.pop(bound, None)
                if bound in f:
                    node[bound] = f[bound]
            node.pop("items_source", None)
            node.pop("items_differ", None)
        if "children" in node:
            node["children"] = without_go_bounds(node["children"], f.get("children"))
        out[k] = node
    return out


def check_attrs(args):
    """The attribute trees of a (trimmed) schema against those read afresh from the cdktf
    package: prints the resource types that differ, exits 1 if any."""
    doc = json.load(open(args.schema, encoding="utf-8"))
    cd = Cdktf(args.pkg)
    resources = cd.resources()
    differ = {}
    for tf, entry in doc["resources"].items():
        if tf not in resources:
            differ[tf] = "not a resource of the package"
            continue
        fqn, t = resources[tf]
        tree, _ = cd.resource_tree(tf, fqn, t)
        ours = without_go_bounds(entry["attrs"], tree)
        if tree != ours:
            differ[tf] = sorted(k for k in set(tree) | set(ours) if tree.get(k) != ours.get(k))
    meta = doc["$meta"]
    if meta.get("cdktf_version") != cd.meta["version"]:
        differ["$meta"] = f"extracted from cdktf {meta.get('cdktf_version')}, the package is {cd.meta['version']}"
    print(json.dumps({"ok": not differ, "compared": len(doc["resources"]), "differ": differ}, indent=1))
    sys.exit(0 if not differ else 1)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    e = sub.add_parser("extract")
    e.add_argument("--pkg", default=DEFAULT_PKG)
    e.add_argument("--provider-repo", required=True)
    e.add_argument("--out", default=DEFAULT_OUT)
    t = sub.add_parser("trim")
    t.add_argument("schema")
    t.add_argument("--out", required=True)
    t.add_argument("types", nargs="+")
    c = sub.add_parser("check-attrs")
    c.add_argument("schema")
    c.add_argument("--pkg", default=DEFAULT_PKG)
    v = sub.add_parser("validate")
    v.add_argument("schema")
    v.add_argument("dir")
    args = ap.parse_args()
    if args.cmd == "extract":
        extract(args)
    elif args.cmd == "trim":
        trim(args)
    elif args.cmd == "check-attrs":
        check_attrs(args)
    else:
        report = validate(args.schema, args.dir)
        print(json.dumps(report, indent=1))
        sys.exit(0 if report["ok"] else 1)


if __name__ == "__main__":
    main()
